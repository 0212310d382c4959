"""Nipype interface to kmeans-segment, named like FSL FAST's (`nipype.interfaces.fsl.FAST`) for pipelines that
use it: in_files, number_classes, out_basename; outputs tissue_class_map, tissue_class_files,
probability_maps, report_file, preview_file, class_volumes, class_means.

    from kmeans_cohort.nipype_interface import KMeansSegment
    seg = pe.Node(KMeansSegment(number_classes=3, model="gmm", probability_maps=True), name="segment")
"""
import json
import os

from nipype.interfaces.base import (CommandLine, CommandLineInputSpec, File, InputMultiObject, OutputMultiObject,
                                    TraitedSpec, traits)


class KMeansSegmentInputSpec(CommandLineInputSpec):
    in_files = InputMultiObject(File(exists=True), argstr="%s", position=0, mandatory=True, copyfile=False,
                                desc="image to segment; several co-registered channels (T1, T2, ...) for "
                                     "multi-channel K-means")
    number_classes = traits.Range(low=1, high=255, value=3, usedefault=True, argstr="-k %d",
                                  desc="number of tissue classes (3: CSF, GM, WM)")
    out_basename = traits.Str("kmeans", usedefault=True, desc="base name of the outputs (in the working folder)")
    model = traits.Enum("kmeans", "gmm", argstr="--model %s", desc="exact K-means or Gaussian mixture")
    mrf_beta = traits.Float(argstr="--mrf %g", requires=["model"], desc="Potts MRF prior weight (with gmm)")
    common_variance = traits.Bool(argstr="--common-variance", desc="one variance for all classes (gmm)")
    bias_correction = traits.Bool(argstr="--n4", desc="N4 bias-field correction first")
    mask_file = File(exists=True, argstr="--mask %s", xor=["nonzero", "auto_mask"], desc="classify inside it")
    nonzero = traits.Bool(argstr="--nonzero", xor=["mask_file", "auto_mask"],
                          desc="classify voxels above 0 (skull-stripped input)")
    auto_mask = traits.Bool(argstr="--auto-mask", xor=["mask_file", "nonzero"], desc="Otsu head mask")
    tissues = traits.Bool(argstr="--tissues", desc="name the 3 classes CSF, Grey matter, White matter")
    probability_maps = traits.Bool(desc="write one posterior probability map per class (gmm)")
    segments = traits.Bool(desc="write one binary image per class (like FAST's -g)")
    preview = traits.Bool(desc="write the preview picture (needs an X display)")
    num_threads = traits.Int(1, usedefault=True, argstr="--threads %d", desc="threads")


class KMeansSegmentOutputSpec(TraitedSpec):
    tissue_class_map = File(exists=True, desc="label map: 0 not classified, 1..K by ascending mean")
    tissue_class_files = OutputMultiObject(File(exists=True), desc="binary image of each class (segments)")
    probability_maps = OutputMultiObject(File(exists=True), desc="posterior probability of each class")
    report_file = File(exists=True, desc="kmeans-segment's JSON report")
    preview_file = File(desc="preview picture")
    class_volumes = traits.List(traits.Float, desc="volume of each class in mL")
    class_means = traits.List(traits.Float, desc="mean intensity of each class")


class KMeansSegment(CommandLine):
    """Tissue classes of brain MRI with kmeans-segment (exact K-means, Gaussian mixture, Potts MRF)."""

    _cmd = "kmeans-segment"
    input_spec = KMeansSegmentInputSpec
    output_spec = KMeansSegmentOutputSpec

    def _path(self, suffix):
        return os.path.abspath(f"{self.inputs.out_basename}_{suffix}")

    def _format_arg(self, name, spec, value):
        if name == "in_files":
            return " ".join(value)
        return super()._format_arg(name, spec, value)

    def _parse_inputs(self, skip=None):
        args = super()._parse_inputs(skip)
        args += ["-o", self._path("seg.nii.gz"), "--report", self._path("report.json"), "--quiet"]
        if self.inputs.probability_maps:
            args += ["--posteriors", self._path("posteriors.nii.gz")]
        if self.inputs.preview:
            args += ["--preview", self._path("preview.png")]
        return args

    def _run_interface(self, runtime):
        runtime = super()._run_interface(runtime)
        if runtime.returncode == 0:
            self._split_outputs()
        return runtime

    def _split_outputs(self):
        import nibabel
        import numpy
        k = self.inputs.number_classes
        if self.inputs.segments:
            labels = nibabel.load(self._path("seg.nii.gz"))
            data = numpy.asanyarray(labels.dataobj)
            for c in range(1, k + 1):
                image = nibabel.Nifti1Image((data == c).astype(numpy.uint8), labels.affine, labels.header)
                nibabel.save(image, self._path(f"seg_{c - 1}.nii.gz"))
        if self.inputs.probability_maps and os.path.isfile(self._path("posteriors.nii.gz")):
            posteriors = nibabel.load(self._path("posteriors.nii.gz"))
            data = numpy.asanyarray(posteriors.dataobj)
            data = data.reshape(data.shape[:3] + (-1,))
            for c in range(data.shape[3]):
                image = nibabel.Nifti1Image(data[..., c].astype(numpy.float32), posteriors.affine)
                nibabel.save(image, self._path(f"prob_{c}.nii.gz"))

    def _list_outputs(self):
        outputs = self._outputs().get()
        k = self.inputs.number_classes
        outputs["tissue_class_map"] = self._path("seg.nii.gz")
        outputs["report_file"] = self._path("report.json")
        if self.inputs.segments:
            outputs["tissue_class_files"] = [self._path(f"seg_{c}.nii.gz") for c in range(k)]
        if self.inputs.probability_maps:
            outputs["probability_maps"] = [self._path(f"prob_{c}.nii.gz") for c in range(k)]
        if self.inputs.preview:
            outputs["preview_file"] = self._path("preview.png")
        if os.path.isfile(outputs["report_file"]):
            with open(outputs["report_file"]) as handle:
                classes = json.load(handle).get("classes", [])
            outputs["class_volumes"] = [c.get("volume_ml", 0.0) for c in classes]
            outputs["class_means"] = [c["mean"] for c in classes]
        return outputs
