"""kmeans-segment streamed (--pieces, --max-memory), fit once / apply many (--save-model, --apply-model) and merged
histograms (--save-histogram, --fit-histograms): the labels and models equal those of the whole-image run.

Run by ctest (programs/test/CMakeLists.txt) with KMEANS_SEGMENT set to the program; outputs go to pytest's
temporary directory under the build tree (--basetemp)."""
import json
import os
import subprocess
import zlib

import numpy as np
import pytest

PROGRAM = os.environ.get("KMEANS_SEGMENT", "kmeans-segment")
ELEMENT_TYPES = {np.dtype("<i2"): "MET_SHORT", np.dtype("<f4"): "MET_FLOAT", np.dtype("u1"): "MET_UCHAR"}
NUMPY_TYPES = {v: k for k, v in ELEMENT_TYPES.items()}


def write_mha(path, array, spacing=0.5):
    """A MetaImage with its data in the same file (array in z, y, x order, uncompressed)."""
    dims = " ".join(str(n) for n in reversed(array.shape))
    header = (
        f"ObjectType = Image\nNDims = {array.ndim}\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        f"DimSize = {dims}\nElementSpacing = {' '.join([str(spacing)] * array.ndim)}\n"
        f"ElementType = {ELEMENT_TYPES[array.dtype]}\nElementDataFile = LOCAL\n"
    )
    with open(path, "wb") as f:
        f.write(header.encode() + np.ascontiguousarray(array).tobytes())


def read_mha(path):
    data = open(path, "rb").read()
    end = data.index(b"ElementDataFile = LOCAL\n") + len(b"ElementDataFile = LOCAL\n")
    fields = dict(line.split(" = ", 1) for line in data[:end].decode().splitlines())
    raw = data[end:]
    if fields.get("CompressedData") == "True":
        raw = zlib.decompress(raw)
    shape = tuple(int(n) for n in reversed(fields["DimSize"].split()))
    return np.frombuffer(raw, dtype=NUMPY_TYPES[fields["ElementType"]]).reshape(shape)


def phantom(shape, dtype, seed=3):
    """Shells of 0, 300, 650 and 1000 with 5 % noise and a bias along x (integers for int16)."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r2 = sum(g * g for g in grids)
    tissue = np.select([r2 > 0.8, r2 > 0.45, r2 > 0.15], [0.0, 300.0, 650.0], 1000.0)
    values = tissue * (1 + 0.1 * (grids[-1] + 1) / 2) * (1 + 0.05 * rng.standard_normal(shape))
    return values.round().astype(dtype) if np.dtype(dtype).kind == "i" else values.astype(dtype)


def run(*args, ok=True):
    result = subprocess.run([PROGRAM, *map(str, args), "-q"], capture_output=True, text=True, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    d = tmp_path_factory.mktemp("scans")
    paths = {}
    for name, shape, dtype in [("s3", (30, 40, 36), "<i2"), ("f3", (24, 32, 28), "<f4"), ("s2", (90, 80), "<i2")]:
        paths[name] = d / f"{name}.mha"
        write_mha(paths[name], phantom(shape, dtype))
        mask = np.ones(shape, dtype="u1")
        mask[..., ::5, :] = 0
        paths[name + "-mask"] = d / f"{name}-mask.mha"
        write_mha(paths[name + "-mask"], mask)
    return paths


@pytest.mark.parametrize("scan", ["s3", "f3", "s2"])
@pytest.mark.parametrize("variant", [[], ["--mask"], ["--foreground-threshold", "400.5"]])
def test_streamed_labels_and_classes_equal_the_whole_image_run(scans, tmp_path, scan, variant):
    options = [scans[scan + "-mask"] if v == "--mask" else v for v in variant]
    options = [o for v in variant for o in ((v, scans[scan + "-mask"]) if v == "--mask" else (v,))]
    run(scans[scan], "-o", tmp_path / "whole.mha", "-k", 3, "--report", tmp_path / "whole.json", *options)
    whole = read_mha(tmp_path / "whole.mha")
    whole_report = json.load(open(tmp_path / "whole.json"))
    assert whole_report["memory"]["streamed"] is False
    for pieces in (1, 3, 7, 64):
        out = tmp_path / f"streamed{pieces}.mha"
        run(scans[scan], "-o", out, "-k", 3, "--pieces", pieces, "--report", tmp_path / "s.json", *options)
        assert np.array_equal(read_mha(out), whole), f"{pieces} pieces"
        report = json.load(open(tmp_path / "s.json"))
        assert report["memory"]["streamed"] is True and report["memory"]["pieces"] == pieces
        assert report["memory"]["input_passes"] == (2 if scan != "f3" else 3)
        assert report["memory"]["peak_resident_bytes"] > 0
        assert report["classes"] == whole_report["classes"] and report["thresholds"] == whole_report["thresholds"]


def test_saved_model_applied_to_its_own_scan_gives_the_same_labels(scans, tmp_path):
    for scan in ("s3", "f3"):
        run(scans[scan], "-o", tmp_path / "whole.mha", "-k", 4, "--nonzero", "--save-model", tmp_path / "m.json")
        model = json.load(open(tmp_path / "m.json"))
        assert model["number_of_classes"] == 4 and model["pixel_type"] == ("short" if scan == "s3" else "float")
        assert len(model["intensity_lookup"]["class_first_bins"]) == 4 and model["foreground_threshold"] == 0
        assert np.allclose(model["class_variances"], np.array(model["class_sums_of_squares"]) / model["class_counts"])
        run(scans[scan], "-o", tmp_path / "applied.mha", "-k", 4, "--nonzero", "--apply-model", tmp_path / "m.json",
            "--pieces", 5)
        assert np.array_equal(read_mha(tmp_path / "applied.mha"), read_mha(tmp_path / "whole.mha")), scan


def test_merged_histograms_give_the_model_of_the_union(tmp_path):
    for dtype in ("<i2", "<f4"):
        volume = phantom((30, 32, 32), dtype)
        if dtype == "<f4":
            volume = volume.round()  # integer-valued floats: exact bins, realigned when merged
        write_mha(tmp_path / "all.mha", volume)
        run(tmp_path / "all.mha", "-o", tmp_path / "all-labels.mha", "-k", 3, "--mask", tmp_path / "all.mha",
            "--save-model", tmp_path / "union.json")
        histograms = []
        for i, (a, b) in enumerate([(0, 11), (11, 30)]):
            write_mha(tmp_path / f"chunk{i}.mha", volume[a:b])
            histograms.append(tmp_path / f"h{i}.json")
            run(tmp_path / f"chunk{i}.mha", "-k", 3, "--mask", tmp_path / f"chunk{i}.mha", "--save-histogram",
                histograms[-1])
            assert not (tmp_path / f"chunk{i}-labels.mha").exists()
        run(tmp_path / "all.mha", "-o", tmp_path / "merged-labels.mha", "-k", 3, "--mask", tmp_path / "all.mha",
            "--fit-histograms", *histograms, "--save-model", tmp_path / "merged.json")
        union, merged = json.load(open(tmp_path / "union.json")), json.load(open(tmp_path / "merged.json"))
        assert merged == union, dtype
        assert np.array_equal(read_mha(tmp_path / "merged-labels.mha"), read_mha(tmp_path / "all-labels.mha"))


def one_line_error(result):
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_max_memory_too_small_for_a_format_that_cannot_stream(scans, tmp_path):
    import nibabel as nib

    volume = phantom((30, 40, 36), "<i2")
    nib.save(nib.Nifti1Image(np.transpose(volume, (2, 1, 0)), np.eye(4)), tmp_path / "scan.nii.gz")
    out = tmp_path / "labels.mha"
    error = one_line_error(run(tmp_path / "scan.nii.gz", "-o", out, "-k", 3, "--max-memory", "1M", ok=False))
    assert "scan.nii.gz" in error and ".nii.gz (NiftiImageIO) cannot be read in pieces" in error
    assert "MetaImage (.mha" in error and "more than --max-memory 1 MiB" in error
    assert not out.exists()
    error = one_line_error(run(scans["s3"], "-o", tmp_path / "l.nrrd", "-k", 3, "--max-memory", "1M", ok=False))
    assert ".nrrd" in error and "cannot be written in pieces: write a MetaImage (.mha)" in error
    assert os.listdir(tmp_path) == ["scan.nii.gz"]


def test_wrong_and_corrupt_model_files_are_refused(scans, tmp_path):
    run(scans["s3"], "-o", tmp_path / "l.mha", "-k", 4, "--save-model", tmp_path / "k4.json")
    run(scans["f3"], "-o", tmp_path / "l.mha", "-k", 3, "--save-model", tmp_path / "float.json")
    text = open(tmp_path / "k4.json").read()
    open(tmp_path / "cut.json", "w").write(text[: len(text) // 2])
    broken = json.loads(text)
    broken["intensity_lookup"]["class_first_bins"] = [0, 9, 5, 7]
    json.dump(broken, open(tmp_path / "bins.json", "w"))
    broken = json.loads(text)
    broken["class_means"] = "many"
    json.dump(broken, open(tmp_path / "type.json", "w"))
    cases = {
        "k4.json": "the model has K = 4, not -k 3",
        "float.json": "the model was fitted on float images, the input is short",
        "cut.json": "not a kmeans-segment model file: not valid JSON (damaged or cut short?)",
        "bins.json": "corrupt model file: class first bins must ascend strictly from 0 below 65536",
        "type.json": "corrupt model file: ",
    }
    for name, message in cases.items():
        out = tmp_path / "applied.mha"
        error = one_line_error(run(scans["s3"], "-o", out, "-k", 3, "--apply-model", tmp_path / name, ok=False))
        assert f"{tmp_path / name}: {message}" in error, error
        assert not out.exists()


def test_channels_that_do_not_fit_are_refused_before_reading(tmp_path):
    """Multi-channel K-means needs the whole scan: a budget it does not fit in gives one line, no output."""
    shape = (40, 50, 60)
    for c in range(2):
        write_mha(tmp_path / f"ch{c}.mha", phantom(shape, "<i2", seed=c))
    out = tmp_path / "labels.mha"
    voxels = np.prod(shape)
    error = one_line_error(run(tmp_path / "ch0.mha", tmp_path / "ch1.mha", "-o", out, "-k", 3, "--max-memory",
                               f"{48 * 2**20 + voxels * 20}", ok=False))
    assert f"{tmp_path / 'ch0.mha'}: multi-channel K-means of 2 channels needs the whole scan in memory" in error
    assert "more than --max-memory" in error and "only single-channel K-means streams" in error
    error = one_line_error(run(tmp_path / "ch0.mha", tmp_path / "ch1.mha", "-o", out, "-k", 3, "--pieces", 2,
                               ok=False))
    assert "--pieces streams one scalar INPUT" in error
    assert not out.exists()
    run(tmp_path / "ch0.mha", tmp_path / "ch1.mha", "-o", out, "-k", 3, "--max-memory", f"{48 * 2**20 + voxels * 21}")
    assert read_mha(out).shape == shape


@pytest.mark.parametrize("scan", ["s3", "f3", "s2"])
@pytest.mark.parametrize("variant", [["--mask"], ["--foreground-threshold", "400.5"]])
def test_streamed_gaussian_mixture_equals_the_whole_image_run(scans, tmp_path, scan, variant):
    options = [o for v in variant for o in ((v, scans[scan + "-mask"]) if v == "--mask" else (v,))]
    run(scans[scan], "-o", tmp_path / "whole.mha", "-k", 3, "--model", "gmm", "--report", tmp_path / "whole.json",
        *options)
    whole = read_mha(tmp_path / "whole.mha")
    whole_report = json.load(open(tmp_path / "whole.json"))
    for pieces in (1, 3, 7):
        out = tmp_path / f"streamed{pieces}.mha"
        run(scans[scan], "-o", out, "-k", 3, "--model", "gmm", "--pieces", pieces, "--report", tmp_path / "s.json",
            *options)
        assert np.array_equal(read_mha(out), whole), f"{pieces} pieces"
        report = json.load(open(tmp_path / "s.json"))
        assert report["memory"]["streamed"] is True and report["memory"]["pieces"] == pieces
        assert report["model"]["name"] == "gmm" and report["model"]["mrf"] == "none"
        assert report["model"]["log_likelihood"] == whole_report["model"]["log_likelihood"]
        assert report["classes"] == whole_report["classes"]


def test_gaussian_mixture_model_saved_applied_and_fitted_on_merged_histograms(scans, tmp_path):
    run(scans["s3"], "-o", tmp_path / "whole.mha", "-k", 3, "--model", "gmm", "--nonzero")
    run(scans["s3"], "-o", tmp_path / "fitted.mha", "-k", 3, "--model", "gmm", "--nonzero", "--save-model",
        tmp_path / "m.json")
    model = json.load(open(tmp_path / "m.json"))
    assert model["model"] == "gmm" and len(model["class_proportions"]) == 3
    lookup = model["intensity_lookup"]
    assert len(lookup["bin_labels"]) == lookup["number_of_bins"] and set(lookup["bin_labels"]) == {1, 2, 3}
    assert np.array_equal(read_mha(tmp_path / "fitted.mha"), read_mha(tmp_path / "whole.mha"))
    run(scans["s3"], "-o", tmp_path / "applied.mha", "-k", 3, "--nonzero", "--apply-model", tmp_path / "m.json",
        "--pieces", 4)
    assert np.array_equal(read_mha(tmp_path / "applied.mha"), read_mha(tmp_path / "whole.mha"))
    volume = read_mha(scans["s3"])
    histograms = []
    for i, (a, b) in enumerate([(0, 13), (13, volume.shape[0])]):
        write_mha(tmp_path / f"chunk{i}.mha", volume[a:b])
        histograms.append(tmp_path / f"h{i}.json")
        run(tmp_path / f"chunk{i}.mha", "-k", 3, "--nonzero", "--save-histogram", histograms[-1])
    run(scans["s3"], "-o", tmp_path / "merged.mha", "-k", 3, "--model", "gmm", "--nonzero", "--fit-histograms",
        *histograms)
    assert np.array_equal(read_mha(tmp_path / "merged.mha"), read_mha(tmp_path / "whole.mha"))


def test_gaussian_mixture_with_a_spatial_prior_does_not_stream(scans, tmp_path):
    out = tmp_path / "labels.mha"
    error = one_line_error(run(scans["s3"], "-o", out, "-k", 3, "--mrf", "0.6", "--pieces", 3, ok=False))
    assert "only K-means and the Gaussian mixture without --mrf" in error
    assert not out.exists()
