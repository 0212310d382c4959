"""itk.KMeansSegmentationImageFilter from Python: object and functional API, NumPy, optimum, masks, results."""
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import itk
from conftest import (brute_force_kmeans, itk_image, phantom, phantom_labels, within_class_sum_of_squares)

SHAPE_3D = (6, 10, 15)  # z, y, x (NumPy order)
SHAPE_2D = (20, 30)


def test_object_api_labels_geometry_and_results():
    array, truth = phantom(SHAPE_3D)
    image = itk_image(array, spacing=(0.5, 0.75, 2.0), origin=(1.0, -2.0, 3.0))
    segmenter = itk.KMeansSegmentationImageFilter.New(image, NumberOfClasses=3)
    segmenter.Update()
    labels = itk.array_from_image(segmenter.GetOutput())
    np.testing.assert_array_equal(labels, truth)
    assert tuple(segmenter.GetOutput().GetSpacing()) == (0.5, 0.75, 2.0)
    assert tuple(segmenter.GetOutput().GetOrigin()) == (1.0, -2.0, 3.0)

    # Results are plain Python values.
    means = [float(m) for m in segmenter.GetClassMeans()]
    counts = [int(c) for c in segmenter.GetClassCounts()]
    thresholds = [float(t) for t in segmenter.GetThresholds()]
    for label, (mean, count) in enumerate(zip(means, counts), start=1):
        assert count == int(np.sum(truth == label))
        assert mean == pytest.approx(float(array[truth == label].astype(np.float64).mean()), rel=1e-12)
    assert len(thresholds) == 2
    assert means[0] < thresholds[0] < means[1] < thresholds[1] < means[2]
    assert segmenter.GetNumberOfClassifiedPixels() == array.size
    wcss = segmenter.GetWithinClassSumOfSquares()
    assert isinstance(wcss, float)
    assert wcss == pytest.approx(within_class_sum_of_squares(array, truth), rel=1e-9)
    assert sum(segmenter.GetClassSumsOfSquares()) == pytest.approx(wcss, rel=1e-12)


def test_functional_api():
    array, truth = phantom(SHAPE_3D, seed=1)
    image = itk_image(array, spacing=(1.0, 1.0, 3.0))
    labels = itk.k_means_segmentation_image_filter(image, number_of_classes=3)
    assert isinstance(labels, itk.Image)
    assert tuple(labels.GetSpacing()) == (1.0, 1.0, 3.0)
    np.testing.assert_array_equal(itk.array_view_from_image(labels), truth)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
@pytest.mark.parametrize("shape", [SHAPE_2D, SHAPE_3D])
def test_every_wrapped_pixel_type_and_dimension(dtype, shape):
    array, truth = phantom(shape, dtype=dtype, seed=2)
    labels = itk.k_means_segmentation_image_filter(itk.image_view_from_array(array), number_of_classes=3)
    np.testing.assert_array_equal(itk.array_view_from_image(labels), truth)
    assert itk.template(labels)[1][1] == len(shape)


def test_numpy_in_and_out():
    array, truth = phantom(SHAPE_2D, seed=3)
    image = itk.image_view_from_array(array)  # no copy
    segmenter = itk.KMeansSegmentationImageFilter.New(image, NumberOfClasses=3)
    segmenter.Update()
    view = itk.array_view_from_image(segmenter.GetOutput())
    assert view.shape == array.shape
    assert view.dtype in (np.uint8, np.int16)
    np.testing.assert_array_equal(view, truth)


def test_numpy_array_straight_into_the_functional_api():
    array, truth = phantom(SHAPE_3D, seed=4)
    labels = itk.k_means_segmentation_image_filter(array, number_of_classes=3)
    # ITK 5.3's functional calls take array-likes and give back NumPy arrays.
    assert isinstance(labels, np.ndarray)
    np.testing.assert_array_equal(labels, truth)


def test_optimum_on_small_inputs_by_brute_force():
    rng = np.random.default_rng(5)
    for trial in range(6):
        # At most 6 distinct levels, so that every assignment of levels to classes can be tried.
        levels = rng.choice(1000, size=6, replace=False)
        array = rng.choice(levels, size=(3, 5)).astype(np.int16)
        k = 2 + trial % 3
        assert len(np.unique(array)) >= k
        segmenter = itk.KMeansSegmentationImageFilter.New(itk.image_from_array(array), NumberOfClasses=k)
        segmenter.Update()
        labels = itk.array_from_image(segmenter.GetOutput())
        expected = brute_force_kmeans(array, k)
        assert within_class_sum_of_squares(array, labels) == pytest.approx(expected, rel=1e-12, abs=1e-9)
        assert segmenter.GetWithinClassSumOfSquares() == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert sorted(np.unique(labels)) == list(range(1, k + 1))


def test_mask():
    array, truth = phantom(SHAPE_3D, seed=6)
    mask_array = np.zeros(SHAPE_3D, dtype=np.uint8)
    mask_array[:, 2:8, :] = 1
    image = itk_image(array)
    mask = itk_image(mask_array)
    labels = itk.array_from_image(
        itk.k_means_segmentation_image_filter(image, number_of_classes=3, mask_image=mask))
    np.testing.assert_array_equal(labels[mask_array == 0], 0)
    np.testing.assert_array_equal(labels[mask_array == 1], truth[mask_array == 1])
    segmenter = itk.KMeansSegmentationImageFilter.New(image, NumberOfClasses=3, MaskImage=mask)
    segmenter.Update()
    assert segmenter.GetNumberOfClassifiedPixels() == int(mask_array.sum())
    assert sum(segmenter.GetClassCounts()) == int(mask_array.sum())


def test_errors_are_python_exceptions_naming_the_value():
    array, _ = phantom(SHAPE_2D, seed=7)
    segmenter = itk.KMeansSegmentationImageFilter.New(itk.image_from_array(array), NumberOfClasses=0)
    with pytest.raises(RuntimeError, match="NumberOfClasses"):
        segmenter.Update()


def kmeans_segment_program():
    """The C++ program: $KMEANS_SEGMENT_PROGRAM, or build/programs/kmeans-segment of this checkout."""
    path = os.environ.get("KMEANS_SEGMENT_PROGRAM")
    if path:
        return pathlib.Path(path)
    return pathlib.Path(__file__).resolve().parents[2] / "build" / "programs" / "kmeans-segment"


def test_same_labels_as_the_cpp_program(output_dir):
    nibabel = pytest.importorskip("nibabel")
    program = kmeans_segment_program()
    if not program.is_file():
        pytest.skip(f"{program} not built (./scripts/build, or set KMEANS_SEGMENT_PROGRAM)")
    # A noisier phantom (9 %) with a bias field: boundaries between classes are decided by the thresholds.
    shape = (12, 24, 30)
    array, _ = phantom(shape, noise=0.09, seed=8)
    bias = np.linspace(0.9, 1.1, shape[1])[None, :, None]
    array = np.rint(array * bias).astype(np.int16)
    input_path = output_dir / "cpp-comparison-input.nii.gz"
    output_path = output_dir / "cpp-comparison-labels.nii.gz"
    # nibabel writes the file (x, y, z order), so both sides read a file neither of them wrote.
    nibabel.save(nibabel.Nifti1Image(np.transpose(array, (2, 1, 0)), np.diag([1.5, 1.0, 2.0, 1.0])), input_path)
    subprocess.run([str(program), str(input_path), "-o", str(output_path), "-k", "4", "--quiet"], check=True)
    cpp_labels = itk.array_from_image(itk.imread(str(output_path)))
    image = itk.imread(str(input_path))
    python_labels = itk.array_from_image(itk.k_means_segmentation_image_filter(image, number_of_classes=4))
    assert len(np.unique(python_labels)) == 4
    np.testing.assert_array_equal(python_labels, cpp_labels)
