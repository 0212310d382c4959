"""The Nipype interface KMeansSegment in a small Nipype workflow run with the MultiProc plugin: two phantom
scans segmented in parallel, label maps, probability maps, binary class images and volumes checked."""
import os

import nibabel
import numpy
import pytest

import cohort_support as cs
import phantoms

pe = pytest.importorskip("nipype.pipeline.engine")
niu = pytest.importorskip("nipype.interfaces.utility")
from kmeans_cohort.nipype_interface import KMeansSegment  # noqa: E402


def test_kmeans_segment_in_a_multiproc_workflow():
    root = cs.fresh_dir("nipype")
    files = [phantoms.add_scan(os.path.join(root, "bids"), sub, shape=(32, 40, 32), seed=seed)
             for sub, seed in (("01", 1), ("02", 2))]
    source = pe.Node(niu.IdentityInterface(fields=["t1"]), name="source")
    source.iterables = ("t1", files)
    segment = pe.Node(KMeansSegment(command=cs.SEGMENT, number_classes=3, model="gmm", common_variance=True,
                                    nonzero=True, tissues=True, probability_maps=True, segments=True),
                      name="segment")
    workflow = pe.Workflow(name="tissues", base_dir=os.path.join(root, "work"))
    workflow.connect(source, "t1", segment, "in_files")
    graph = workflow.run(plugin="MultiProc", plugin_args={"n_procs": 2})
    nodes = [node for node in graph.nodes() if node.name.startswith("segment")]
    assert len(nodes) == 2
    for node in nodes:
        outputs = node.result.outputs
        labels = numpy.asanyarray(nibabel.load(outputs.tissue_class_map).dataobj)
        assert sorted(numpy.unique(labels)) == [0, 1, 2, 3]
        assert len(outputs.probability_maps) == 3 and len(outputs.tissue_class_files) == 3
        probabilities = numpy.stack([numpy.asanyarray(nibabel.load(p).dataobj) for p in outputs.probability_maps])
        inside = labels > 0
        numpy.testing.assert_allclose(probabilities.sum(axis=0)[inside], 1.0, atol=1e-4)
        assert numpy.all(numpy.argmax(probabilities, axis=0)[inside] + 1 == labels[inside])
        for c, path in enumerate(outputs.tissue_class_files, start=1):
            assert numpy.array_equal(numpy.asanyarray(nibabel.load(path).dataobj) == 1, labels == c)
        volumes = outputs.class_volumes
        spacing = numpy.prod(nibabel.load(outputs.tissue_class_map).header.get_zooms()[:3])
        for c, volume in enumerate(volumes, start=1):
            assert volume == pytest.approx(numpy.sum(labels == c) * spacing / 1000.0, rel=1e-6)
        assert outputs.class_means[0] < outputs.class_means[1] < outputs.class_means[2]
