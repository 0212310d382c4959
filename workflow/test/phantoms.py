"""Skull-stripped brain phantoms with known tissue classes, and small BIDS datasets of them (written with
nibabel), for the cohort tests and the cohort benchmark."""
import gzip
import json
import os

import nibabel
import numpy

INTENSITY = {1: 30.0, 2: 70.0, 3: 110.0}  # CSF, GM, WM on the T1 scale


def phantom_labels(shape, ventricles=0.25, white=0.72):
    """Labels of an ellipsoidal brain: outer CSF, folded grey-matter ribbon, white matter within `white` of the
    brain's radius, CSF ventricles whose radius is `ventricles` of the brain's."""
    axes = [numpy.linspace(-1.15, 1.15, n) for n in shape]
    x, y, z = numpy.meshgrid(*axes, indexing="ij")
    r = numpy.sqrt(x ** 2 + (y / 1.1) ** 2 + z ** 2)
    fold = 0.04 * numpy.sin(9 * numpy.arctan2(y, x)) * numpy.cos(7 * z)
    labels = numpy.zeros(shape, numpy.uint8)
    labels[r < 1.0] = 1
    labels[r < 0.92 + fold] = 2
    labels[r < white + fold] = 3
    labels[numpy.sqrt((x / 1.6) ** 2 + y ** 2 + (z / 0.8) ** 2) < ventricles] = 1
    return labels


def white_radius(seed):
    """Each subject's own white-matter extent (0.68 to 0.76 of the brain's radius), so that tissue fractions vary
    between subjects as in a real cohort."""
    return 0.68 + 0.08 * numpy.random.default_rng(1000 + seed).random()


def phantom_image(shape, noise=0.03, ventricles=0.25, seed=0):
    """(int16 T1 image, labels): class intensities plus Gaussian noise of `noise` x the WM intensity."""
    labels = phantom_labels(shape, ventricles, white_radius(seed))
    rng = numpy.random.default_rng(seed)
    image = numpy.zeros(shape, numpy.float64)
    for label, value in INTENSITY.items():
        image[labels == label] = value
    image += rng.normal(0.0, noise * INTENSITY[3], shape) * (labels > 0)
    return numpy.clip(numpy.rint(image), 1, None).astype(numpy.int16) * (labels > 0), labels


def save_nifti(path, data, spacing):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    affine = numpy.diag(list(spacing) + [1.0])
    affine[:3, 3] = [-s * (n - 1) / 2 for s, n in zip(spacing, data.shape)]
    image = nibabel.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm")
    nibabel.save(image, path)


def truncate(path):
    """Cut a .nii.gz file to half its compressed length (a download cut short)."""
    with open(path, "rb") as handle:
        content = handle.read()
    with open(path, "wb") as handle:
        handle.write(content[: len(content) // 2])


def write_description(root, name="phantom study"):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "dataset_description.json"), "w") as handle:
        json.dump({"Name": name, "BIDSVersion": "1.8.0", "DatasetType": "raw"}, handle)


def add_scan(root, sub, ses=None, shape=(40, 48, 40), extent_mm=180.0, noise=0.03, ventricles=0.25, seed=0,
             mask=False):
    """Writes sub-<sub>[/ses-<ses>]/anat/<name>_T1w.nii.gz (and a _desc-brain_mask); returns the T1w path."""
    folder = os.path.join(root, f"sub-{sub}", *([f"ses-{ses}"] if ses else []), "anat")
    stem = f"sub-{sub}" + (f"_ses-{ses}" if ses else "")
    spacing = [extent_mm / n for n in shape]
    image, labels = phantom_image(shape, noise, ventricles, seed)
    t1w = os.path.join(folder, f"{stem}_T1w.nii.gz")
    save_nifti(t1w, image, spacing)
    if mask:
        save_nifti(os.path.join(folder, f"{stem}_desc-brain_mask.nii.gz"), (labels > 0).astype(numpy.uint8),
                   spacing)
    return t1w


def is_gzip_complete(path):
    try:
        with gzip.open(path) as handle:
            while handle.read(1 << 20):
                pass
        return True
    except (OSError, EOFError):
        return False
