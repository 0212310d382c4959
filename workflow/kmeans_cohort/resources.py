"""Per-scan resources for a scheduler, from the image size in the NIfTI header (read without nibabel).

Memory: kmeans-segment holds the input in its own pixel type, the label map, and per model a few float images.
Peak RSS measured on a 160x192x160 int16 scan (4.9 M voxels, /usr/bin/time -f %M): K-means 46 MB, GMM 158 MB,
GMM + MRF 159 MB, N4 + K-means 124 MB, K-means with the VTK preview 325 MB. The estimate below (bytes per voxel
plus a fixed 200 MB, times the attempt number: a job Slurm killed for memory is retried with more) stays above
each of these.
"""
import gzip
import os
import struct

# pve: not measured; counted from its buffers (intensities, grid indices, 6 neighbours, 2 x 3 contents, field,
# fractions and posteriors in the model and in the outputs), about 160 bytes per voxel.
BYTES_PER_VOXEL = {"kmeans": 6, "gmm": 26, "gmm+mrf": 40, "pve": 160}
N4_BYTES_PER_VOXEL = 24
PREVIEW_BYTES_PER_VOXEL = 64
BASE_MB = 200
# Minutes per million voxels on one core (with margin), for Slurm's --time.
MINUTES_PER_MVOXEL = {"kmeans": 0.2, "gmm": 0.5, "gmm+mrf": 2.0, "pve": 3.0}
N4_MINUTES_PER_MVOXEL = 3.0


def nifti_voxels(path):
    """(voxels, bytes per voxel) from a .nii / .nii.gz header; (16 M, 2) when it cannot be read."""
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as handle:
            header = handle.read(348)
        for endian in "<>":
            if struct.unpack(endian + "i", header[:4])[0] == 348:
                dims = struct.unpack(endian + "8h", header[40:56])
                bitpix = struct.unpack(endian + "h", header[72:74])[0]
                count = 1
                for d in dims[1:1 + max(1, min(dims[0], 7))]:
                    count *= max(d, 1)
                return count, max(bitpix // 8, 1)
    except (OSError, EOFError, struct.error):
        pass
    return 16 * 1024 * 1024, 2


def scan_mem_mb(paths, model, n4, preview, attempt=1):
    voxels, pixel_bytes = nifti_voxels(paths[0])
    per_voxel = BYTES_PER_VOXEL.get(model, 40) + pixel_bytes * len(paths)
    per_voxel += N4_BYTES_PER_VOXEL if n4 else 0
    per_voxel += PREVIEW_BYTES_PER_VOXEL if preview else 0
    return int((BASE_MB + voxels * per_voxel / 2 ** 20) * attempt)


def scan_runtime_min(paths, model, n4, attempt=1):
    voxels, _ = nifti_voxels(paths[0])
    minutes = 2 + voxels / 1e6 * (MINUTES_PER_MVOXEL.get(model, 2.0) + (N4_MINUTES_PER_MVOXEL if n4 else 0))
    return int(minutes * attempt) + 1


def existing(paths):
    return [p for p in paths if p and os.path.exists(p)]
