"""itk.MultiChannelKMeansSegmentationImageFilter from Python on VectorImages composed from several images."""
import numpy as np
import pytest

import itk
from conftest import itk_image, phantom_labels

SHAPE = (5, 12, 18)


def two_channel_phantom(seed=0, dtype=np.float32):
    """(t1, t2, truth): class means (100, 700), (400, 300), (800, 500) with 2 % noise; label order = T1 mean."""
    truth = phantom_labels(SHAPE)
    rng = np.random.default_rng(seed)
    t1 = np.array([100.0, 400.0, 800.0])[truth - 1] + rng.normal(0, 16, SHAPE)
    t2 = np.array([700.0, 300.0, 500.0])[truth - 1] + rng.normal(0, 16, SHAPE)
    return t1.astype(dtype), t2.astype(dtype), truth


def compose(*channels):
    """A VectorImage from scalar itk.Images of one geometry, through NumPy (geometry of the first channel)."""
    arrays = [itk.array_view_from_image(c) for c in channels]
    vector = itk.image_from_array(np.stack(arrays, axis=-1), is_vector=True)
    # Not CopyInformation: it would also copy the scalar image's one component per pixel.
    vector.SetSpacing(channels[0].GetSpacing())
    vector.SetOrigin(channels[0].GetOrigin())
    vector.SetDirection(channels[0].GetDirection())
    return vector


def test_vector_image_from_several_images_object_api():
    t1, t2, truth = two_channel_phantom()
    spacing = (1.0, 1.2, 2.5)
    channels = [itk_image(a, spacing=spacing) for a in (t1, t2)]
    vector = compose(*channels)
    assert vector.GetNumberOfComponentsPerPixel() == 2
    assert tuple(vector.GetSpacing()) == spacing
    segmenter = itk.MultiChannelKMeansSegmentationImageFilter.New(vector, NumberOfClasses=3)
    segmenter.Update()
    labels = itk.array_from_image(segmenter.GetOutput())
    np.testing.assert_array_equal(labels, truth)
    assert tuple(segmenter.GetOutput().GetSpacing()) == spacing
    means = [list(m) for m in segmenter.GetClassMeans()]
    assert len(means) == 3 and all(len(m) == 2 for m in means)
    for label, mean in enumerate(means, start=1):
        assert mean[0] == pytest.approx(float(t1[truth == label].astype(np.float64).mean()), rel=1e-9)
        assert mean[1] == pytest.approx(float(t2[truth == label].astype(np.float64).mean()), rel=1e-9)
    assert [int(c) for c in segmenter.GetClassCounts()] == [int(np.sum(truth == k)) for k in (1, 2, 3)]
    assert isinstance(segmenter.GetWithinClassSumOfSquares(), float)


def test_vector_image_from_itk_compose_image_filter():
    if not hasattr(itk, "ComposeImageFilter"):
        pytest.skip("this ITK was built without ITKImageCompose")
    t1, t2, truth = two_channel_phantom(seed=3)
    channels = [itk_image(a, spacing=(0.9, 0.9, 1.5)) for a in (t1, t2)]
    composer = itk.ComposeImageFilter[itk.Image[itk.F, 3], itk.VectorImage[itk.F, 3]].New()
    for index, channel in enumerate(channels):
        composer.SetInput(index, channel)
    labels = itk.multi_channel_k_means_segmentation_image_filter(composer.GetOutput(), number_of_classes=3)
    np.testing.assert_array_equal(itk.array_view_from_image(labels), truth)
    assert tuple(labels.GetSpacing()) == (0.9, 0.9, 1.5)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_functional_api_and_mask(dtype):
    t1, t2, truth = two_channel_phantom(seed=1)
    if dtype == np.uint8:
        t1, t2 = t1 / 4.0, t2 / 4.0
    vector = itk.image_from_array(np.stack([t1, t2], axis=-1).astype(dtype), is_vector=True)
    labels = itk.multi_channel_k_means_segmentation_image_filter(vector, number_of_classes=3)
    np.testing.assert_array_equal(itk.array_view_from_image(labels), truth)

    mask_array = np.zeros(SHAPE, dtype=np.uint8)
    mask_array[1:4] = 1
    labels = itk.multi_channel_k_means_segmentation_image_filter(
        vector, number_of_classes=3, mask_image=itk.image_from_array(mask_array))
    labels = itk.array_view_from_image(labels)
    np.testing.assert_array_equal(labels[mask_array == 0], 0)
    np.testing.assert_array_equal(labels[mask_array == 1], truth[mask_array == 1])


def test_deterministic_for_a_seed():
    t1, t2, _ = two_channel_phantom(seed=2)
    vector = itk.image_from_array(np.stack([t1, t2], axis=-1), is_vector=True)
    runs = [itk.array_from_image(itk.multi_channel_k_means_segmentation_image_filter(
        vector, number_of_classes=4, seed=7, number_of_restarts=3)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
