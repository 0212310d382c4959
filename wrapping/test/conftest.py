"""Shared helpers of the Python tests of the wrapping: phantoms with known labels, an output directory."""
import itertools
import os
import pathlib

import numpy as np
import pytest

import itk

# Tissue-like intensities of three classes, well apart compared with the noise (sd 3 % of the largest).
CLASS_INTENSITIES = (100.0, 400.0, 800.0)


def phantom_labels(shape):
    """Labels 1..3 in slabs along the last axis (thirds), the truth of phantom()."""
    labels = np.empty(shape, dtype=np.uint8)
    thirds = np.array_split(np.arange(shape[-1]), 3)
    for label, columns in enumerate(thirds, start=1):
        labels[..., columns] = label
    return labels


def phantom(shape, dtype=np.int16, noise=0.03, seed=0):
    """(array, truth): three classes with Gaussian noise (sd = noise * largest intensity), cast to dtype."""
    truth = phantom_labels(shape)
    rng = np.random.default_rng(seed)
    values = np.asarray(CLASS_INTENSITIES)[truth - 1]
    values = values + rng.normal(0.0, noise * CLASS_INTENSITIES[-1], size=shape)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values * (info.max / 1000.0 if info.max < 1000 else 1.0)), info.min, info.max)
    return values.astype(dtype), truth


def itk_image(array, spacing=None, origin=None):
    """An itk.Image over a copy of array with the given spacing/origin (x, y[, z] order)."""
    image = itk.image_from_array(np.ascontiguousarray(array))
    if spacing is not None:
        image.SetSpacing(spacing)
    if origin is not None:
        image.SetOrigin(origin)
    return image


def brute_force_kmeans(values, k):
    """Minimum within-class sum of squares over every assignment of the distinct values to k non-empty classes."""
    levels, counts = np.unique(values, return_counts=True)
    best = np.inf
    for assignment in itertools.product(range(k), repeat=len(levels)):
        assignment = np.asarray(assignment)
        if len(np.unique(assignment)) != k:
            continue
        wcss = 0.0
        for c in range(k):
            member = assignment == c
            mean = np.average(levels[member], weights=counts[member])
            wcss += float(np.sum(counts[member] * (levels[member] - mean) ** 2))
        best = min(best, wcss)
    return best


def within_class_sum_of_squares(values, labels):
    """WCSS of a labeling (label 0 excluded), computed in double precision."""
    values = values.astype(np.float64)
    total = 0.0
    for label in np.unique(labels[labels > 0]):
        member = values[labels == label]
        total += float(np.sum((member - member.mean()) ** 2))
    return total


@pytest.fixture
def output_dir(tmp_path):
    """KMEANS_PYTHON_TEST_OUTPUT_DIR (under the build tree, set by ctest), else pytest's temporary directory."""
    root = os.environ.get("KMEANS_PYTHON_TEST_OUTPUT_DIR")
    path = pathlib.Path(root) if root else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path
