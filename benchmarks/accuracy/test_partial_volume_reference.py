"""Tests of the accuracy benchmark's reference row for tissue fractions (two_tissue_reference in
run-accuracy-benchmark.py), and of the properties of the MNI152 2009a template's tissue maps that the README's
partial-volume section rests on (skipped without the data: $KMEANS_DATA_DIR, $KMEANS_DEFAULT_DATA_DIR or
../shared/data). Run with Debian's Python: /usr/bin/python3 -m pytest test_partial_volume_reference.py"""
import importlib.util
import os

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("accuracy_benchmark", os.path.join(HERE, "run-accuracy-benchmark.py"))
benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark)


def edge_phantom(means=(100.0, 300.0, 500.0), length=40):
    """A 1 x 3 x length image: CSF -> GM -> WM along the last axis with ramps of partial volume, intensity exactly
    linear in the fractions; row 0 outside the brain (all fractions 0)."""
    t = np.linspace(0.0, 2.0, length)
    csf = np.clip(1.0 - t, 0.0, 1.0)
    wm = np.clip(t - 1.0, 0.0, 1.0)
    fractions = np.zeros((3, 1, 3, length))
    fractions[:, 0, 1:, :] = np.stack([csf, 1.0 - csf - wm, wm])[:, None, :]
    image = np.tensordot(np.array(means), fractions, axes=1)
    truth = np.where(fractions.sum(axis=0) > 0, np.argmax(fractions, axis=0) + 1, 0).astype(np.uint8)
    return image, truth, fractions


def test_two_adjacent_tissues_per_voxel_are_recovered_exactly():
    image, truth, fractions = edge_phantom()
    row, mu = benchmark.two_tissue_reference(image, truth, fractions)
    np.testing.assert_allclose(mu, [100.0, 300.0, 500.0], rtol=1e-9)
    np.testing.assert_allclose(row["fractions"], fractions, atol=1e-9)
    np.testing.assert_allclose(row["fraction_sums"], fractions.reshape(3, -1).sum(axis=1), rtol=1e-9)
    assert row["dice"] == pytest.approx([1.0, 1.0, 1.0])
    assert row["method"].endswith("100 / 300 / 500")
    assert row["seconds"] is None and row["processor_seconds"] is None


def test_fractions_sum_to_one_in_the_brain_and_are_zero_outside():
    image, truth, fractions = edge_phantom()
    rng = np.random.default_rng(3)
    noisy = image + rng.normal(0.0, 20.0, image.shape)  # intensities beyond the pure ones are clamped
    row, _ = benchmark.two_tissue_reference(noisy, truth, fractions)
    total = row["fractions"].sum(axis=0)
    np.testing.assert_allclose(total[truth > 0], 1.0, atol=1e-12)
    assert np.all(row["fractions"][:, truth == 0] == 0.0)
    assert row["fractions"].min() >= 0.0 and row["fractions"].max() <= 1.0


def test_a_voxel_of_the_darkest_and_brightest_tissue_reads_as_the_middle_one():
    # Half CSF, half WM has the intensity of pure GM: no model of two adjacent tissues per voxel can tell.
    image, truth, fractions = edge_phantom()
    fractions[:, 0, 1, 5] = [0.5, 0.0, 0.5]
    image[0, 1, 5] = 300.0
    row, _ = benchmark.two_tissue_reference(image, truth, fractions)
    np.testing.assert_allclose(row["fractions"][:, 0, 1, 5], [0.0, 1.0, 0.0], atol=0.02)


def test_pure_intensities_that_do_not_ascend_are_refused():
    image, truth, fractions = edge_phantom(means=(300.0, 100.0, 500.0))
    with pytest.raises(ValueError, match="do not ascend"):
        benchmark.two_tissue_reference(image, truth, fractions)


def mni152():
    import nibabel as nib

    for directory in (os.environ.get("KMEANS_DATA_DIR"), os.environ.get("KMEANS_DEFAULT_DATA_DIR"), "../shared/data"):
        if directory and os.path.exists(os.path.join(directory, "mni152-2009a", "t1.nii.gz")):
            path = os.path.join(directory, "mni152-2009a")
            break
    else:
        pytest.skip("real scan data not found (mni152-2009a): set KMEANS_DATA_DIR to the shared data directory "
                    "(see shared/data/SOURCES.md) to run this test")

    def load(name):
        return np.asarray(nib.load(os.path.join(path, name)).dataobj).astype(np.float64)

    image, gm, wm = load("t1.nii.gz"), load("gm.nii.gz"), load("wm.nii.gz")
    brain = image > 0
    fractions = np.stack([255.0 - gm - wm, gm, wm]) / 255.0 * brain  # as the benchmark defines them
    truth = np.where(brain, np.argmax(fractions, axis=0) + 1, 0).astype(np.uint8)
    return image, truth, fractions


def test_mni152_maps_hold_tissue_that_no_two_tissue_model_of_the_intensity_can_see():
    image, truth, fractions = mni152()
    row, mu = benchmark.two_tissue_reference(image, truth, fractions)
    true_sums = fractions.reshape(3, -1).sum(axis=1)
    errors = 100.0 * (np.array(row["fraction_sums"]) / true_sums - 1.0)
    # The template's own pure intensities (least squares on its maps) are those of its nearly pure voxels ...
    brain = truth > 0
    x, csf, gm, wm = image[brain], fractions[0][brain], fractions[1][brain], fractions[2][brain]
    assert mu == pytest.approx([70.4, 168.4, 224.0], abs=0.5)
    assert x[gm > 0.95].mean() == pytest.approx(mu[1], abs=5.0)
    assert x[wm > 0.95].mean() == pytest.approx(mu[2], abs=2.0)
    # ... yet with them the fraction sums miss the maps' by more than 3 % (CSF -8.3 %, GM +5.5 %, WM -5.5 %):
    np.testing.assert_allclose(errors, [-8.3, 5.5, -5.5], atol=0.2)
    # because 7.4 % of the maps' CSF lies in voxels brighter than pure grey matter (a haze of a few per cent in
    # most grey-matter voxels: the maps average many subjects' segmentations) and 2.7 % of the white matter in
    # voxels darker than it.
    assert 100.0 * csf[x > mu[1]].sum() / csf.sum() == pytest.approx(7.4, abs=0.3)
    assert 100.0 * wm[x < mu[1]].sum() / wm.sum() == pytest.approx(2.7, abs=0.3)
