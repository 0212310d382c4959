"""itk.GaussianMixtureSegmentationImageFilter from Python: the functional call returns the labels, posteriors."""
import numpy as np
import pytest

import itk
from conftest import itk_image, phantom

SHAPE = (6, 12, 15)


def test_functional_call_returns_the_label_map():
    array, truth = phantom(SHAPE, seed=11)
    labels = itk.gaussian_mixture_segmentation_image_filter(itk_image(array), number_of_classes=3)
    assert labels is not None
    assert isinstance(labels, itk.Image)
    np.testing.assert_array_equal(itk.array_view_from_image(labels), truth)


def test_posteriors_sum_to_one_and_agree_with_the_labels():
    array, truth = phantom(SHAPE, noise=0.09, seed=12)
    image = itk_image(array, spacing=(2.0, 1.0, 1.0))
    mixture = itk.GaussianMixtureSegmentationImageFilter.New(image, NumberOfClasses=3)
    mixture.Update()
    labels = itk.array_from_image(mixture.GetOutput())
    posteriors_image = mixture.GetPosteriorsOutput()
    assert posteriors_image.GetNumberOfComponentsPerPixel() == 3
    assert tuple(posteriors_image.GetSpacing()) == (2.0, 1.0, 1.0)
    posteriors = itk.array_from_image(posteriors_image)
    assert posteriors.shape == SHAPE + (3,)
    np.testing.assert_allclose(posteriors.sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(np.argmax(posteriors, axis=-1) + 1, labels)
    assert np.mean(labels == truth) > 0.95

    means = [float(m) for m in mixture.GetClassMeans()]
    assert means == sorted(means)
    assert sum(mixture.GetClassProportions()) == pytest.approx(1.0, abs=1e-9)
    assert all(v > 0 for v in mixture.GetClassVariances())
    assert mixture.GetNumberOfClassesUsed() == 3


def test_mask_and_posteriors_outside_it():
    array, truth = phantom(SHAPE, seed=13)
    mask_array = np.zeros(SHAPE, dtype=np.uint8)
    mask_array[:, 3:9] = 1
    mixture = itk.GaussianMixtureSegmentationImageFilter.New(
        itk_image(array), NumberOfClasses=3, MaskImage=itk_image(mask_array))
    mixture.Update()
    labels = itk.array_from_image(mixture.GetOutput())
    posteriors = itk.array_from_image(mixture.GetPosteriorsOutput())
    np.testing.assert_array_equal(labels[mask_array == 0], 0)
    np.testing.assert_array_equal(posteriors[mask_array == 0], 0.0)
    np.testing.assert_allclose(posteriors[mask_array == 1].sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(labels[mask_array == 1], truth[mask_array == 1])
