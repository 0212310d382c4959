#!/usr/bin/env python3
"""Writes the NIfTI / Analyze test corpus of kmeansSegmentNiftiInputGTest with nibabel's header classes.

Every image holds the same stored values: a 24x20x16 phantom of three slabs along x (stored values about 50, 120
and 190, +-5; true labels 1, 2, 3). Variants differ in how they are stored: data type, byte order, intensity
scaling (scl_slope / scl_inter), vox_offset, single file or .hdr/.img pair, NIfTI-1 or Analyze 7.5, gzip. Each
valid file has a copy cut short by one byte of (decompressed) pixel data, named cut-<name>. Also written: a
NIfTI-2 file and NIfTI-1 headers with a zero and a negative dimension.

Usage: write_nifti_corpus.py DIRECTORY
"""
import gzip
import os
import sys

import nibabel as nib
import numpy as np
from nibabel.nifti1 import Nifti1PairHeader

SHAPE = (24, 20, 16)


def phantom():
    x, y, z = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    label = np.where(x < 8, 1, np.where(x < 16, 2, 3))
    return 50 + 70 * (label - 1) + (x * 7 + y * 3 + z * 5) % 11 - 5


def header(kind, dtype, slope=None, inter=None, endianness="<", shape=SHAPE):
    hdr = kind(endianness=endianness)
    hdr.set_data_shape(shape)
    hdr.set_data_dtype(dtype)
    hdr.set_zooms((1.5, 1.0, 2.0, 1.0)[: len(shape)])
    if slope is not None:
        hdr["scl_slope"] = slope
    if inter is not None:
        hdr["scl_inter"] = inter
    return hdr


def save(path, data, cut=False):
    if cut:
        data = data[:-1]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


def write_single(directory, name, hdr, values, vox_offset=352):
    """A .nii[.gz]: header, 4 bytes of extension flag, pixel data from byte 352 (vox_offset as given)."""
    hdr["vox_offset"] = vox_offset
    head = hdr.binaryblock + b"\0" * 4
    pixels = values.astype(hdr.get_data_dtype()).tobytes(order="F")
    for prefix in ("", "cut-"):
        save(os.path.join(directory, prefix + name), head + pixels, cut=prefix == "cut-")


def write_pair(directory, stem, hdr, values, image_suffix=".img"):
    hdr["vox_offset"] = 0
    pixels = values.astype(hdr.get_data_dtype()).tobytes(order="F")
    for prefix in ("", "cut-"):
        save(os.path.join(directory, prefix + stem + ".hdr"), hdr.binaryblock)
        save(os.path.join(directory, prefix + stem + image_suffix), pixels, cut=prefix == "cut-")


def main(directory):
    os.makedirs(directory, exist_ok=True)
    values = phantom()
    n1 = nib.Nifti1Header
    write_single(directory, "plain.nii", header(n1, np.int16), values)
    write_single(directory, "int16-scaled.nii", header(n1, np.int16, 2.5, -10), values)
    write_single(directory, "int16-scaled.nii.gz", header(n1, np.int16, 2.5, -10), values)
    write_single(directory, "uint8-scaled.nii.gz", header(n1, np.uint8, 0.5), values)
    write_single(directory, "uint8-nan.nii", header(n1, np.uint8, np.nan, np.nan), values, vox_offset=0)
    write_single(directory, "int16-big-endian.nii", header(n1, np.int16, 2.5, -10, ">"), values)
    write_single(directory, "int16-slope0.nii", header(n1, np.int16, 0, 7), values)
    write_single(directory, "int16-negative.nii.gz", header(n1, np.int16, -2, 500), values)
    write_single(directory, "float-scaled.nii", header(n1, np.float32, 3, 1), values)
    write_single(directory, "int16-dim4.nii", header(n1, np.int16, 2.5, -10, shape=SHAPE + (1,)), values)
    write_pair(directory, "int16-pair", header(Nifti1PairHeader, np.int16, 2.5, -10), values)
    write_pair(directory, "int16-pair-gz", header(Nifti1PairHeader, np.int16, 2.5, -10), values, ".img.gz")
    write_pair(directory, "analyze", header(nib.AnalyzeHeader, np.int16), values)
    write_pair(directory, "analyze-big-endian", header(nib.AnalyzeHeader, np.int16, endianness=">"), values)
    write_pair(directory, "analyze-spm-scaled", header(nib.Spm99AnalyzeHeader, np.int16, 2.5), values)

    nib.save(nib.Nifti2Image(values.astype(np.int16), np.eye(4)), os.path.join(directory, "nifti2.nii"))
    for name, size in (("dim-zero.nii", 0), ("dim-negative.nii", -3)):
        hdr = header(n1, np.int16)
        hdr["dim"][1] = size
        hdr["vox_offset"] = 352
        with open(os.path.join(directory, name), "wb") as f:
            f.write(hdr.binaryblock + b"\0" * 4 + b"\0" * 64)
    # Headers whose byte counts cannot be computed: a NaN vox_offset (found by the input fuzz harness) and
    # dimensions announcing more than 2^62 bytes.
    for name, vox_offset, dims in (("vox-offset-nan.nii", np.nan, (3, 4, 5)),
                                   ("dims-huge.nii", 352, (32767, 32767, 32767, 32767, 3))):
        hdr = header(n1, np.int16)
        hdr["dim"][0] = len(dims)
        hdr["dim"][1:len(dims) + 1] = dims
        hdr["vox_offset"] = vox_offset
        with open(os.path.join(directory, name), "wb") as f:
            f.write(hdr.binaryblock + b"\0" * 4 + b"\0" * 120)
    # A NaN in the sform (ITK 5.2's reader aborts in vnl_svd on it; found by the input fuzz harness).
    hdr = header(n1, np.int16)
    hdr.set_sform(np.diag([1.0, 1.0, 1.0, 1.0]), code=1)
    hdr["srow_x"][3] = np.nan
    write_single(directory, "srow-nan.nii", hdr, values)
    # An sform offset of -2^127 (ITK 5.2's reader never returned from vnl_svd; found by the input fuzz harness).
    hdr["srow_x"][3] = 0.0
    hdr["srow_z"][3] = -2.0**127
    write_single(directory, "srow-huge.nii", hdr, values)
    # The same with a sizeof_hdr other than 348, which niftilib ignores when the magic is NIfTI's (fuzzing).
    with open(os.path.join(directory, "srow-huge.nii"), "rb") as f:
        data = bytearray(f.read())
    data[0:4] = (0x6100015c).to_bytes(4, "little")
    with open(os.path.join(directory, "srow-huge-sizeof-hdr.nii"), "wb") as f:
        f.write(data)
    # A subnormal sform entry beside an sform offset of 8.8e12 mm (ITK 5.2's reader never returned from vnl_svd;
    # found by the input fuzz harness).
    hdr["srow_z"][3] = 0.0
    hdr["srow_y"][2] = np.float32(3.5e-43)
    hdr["srow_y"][3] = 8.8e12
    write_single(directory, "srow-subnormal.nii", hdr, values)
    data[40:42] = (9).to_bytes(2, "little")  # and no dim[0] from 1 to 7: refused before niftilib prints its own
    with open(os.path.join(directory, "dim0-bad-sizeof-hdr.nii"), "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
