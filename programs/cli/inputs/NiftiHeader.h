/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#ifndef KMeansCLINiftiHeader_h
#define KMeansCLINiftiHeader_h

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kmeans_cli
{
/** What the header of a NIfTI-1, NIfTI-2 or Analyze 7.5 file says about the pixel data stored on disk, read from
 * the file's own bytes before ITK's reader (niftilib) reads it. ITK reports a scaled file as float; the sizes here
 * are those of the stored type, so that the completeness check does not depend on the type ITK returns. */
struct NiftiHeader
{
  std::string               HeaderPath; //!< the file holding the header (.nii[.gz] or .hdr[.gz])
  std::string               DataPath;   //!< the file holding the pixel data (the same, or the pair's .img[.gz])
  bool                      DataCompressed{ false }; //!< DataPath is gzipped (.gz)
  std::string               Format;     //!< "NIfTI-1", "NIfTI-2" or "Analyze 7.5"
  bool                      SingleFile{ true };
  bool                      Swapped{ false }; //!< the file's byte order is not the machine's
  std::vector<std::int64_t> Size;     //!< dim[1..dim[0]]
  int                       Datatype{ 0 };
  int                       BitsPerPixel{ 0 };
  double                    VoxOffset{ 0.0 };
  double                    Slope{ 0.0 };     //!< scl_slope as stored (may be 0 or NaN)
  double                    Intercept{ 0.0 }; //!< scl_inter as stored

  /** Bytes of pixel data: the voxel count times the size of the stored datatype. */
  std::uint64_t
  DataBytes() const;

  /** Where the pixel data start in DataPath: vox_offset, but in a single file at least 352 (NIfTI-2: 544), the
   * end of the header and its extension flag (a vox_offset of 0, as in SPM's older templates, means 352). */
  std::uint64_t
  DataOffset() const;

  /** Whether ITK's reader applies value * scl_slope + scl_inter: a NIfTI file (not Analyze 7.5) whose scl_slope
   * is finite and neither 0 nor (with scl_inter 0) 1. A NaN or infinite scl_inter counts as 0, as niftilib
   * reads it. */
  bool
  Scaled() const;

  /** scl_inter as applied (0 when not finite). */
  double
  AppliedIntercept() const;

  /** Whether ITK's reader (niftilib) reads the voxels otherwise than NIfTI defines them, so that they must be
   * read again with ReadNiftiPixels(): it reads a single NIfTI-1 file whose vox_offset is below 352 from byte 348
   * (every voxel shifted by the 4 bytes of the extension flag), and it adds scl_inter when scl_slope is 0 or NaN
   * (NIfTI: no scaling at all). */
  bool
  ReaderMisreads() const;
};

/** The header of path when its name is that of a NIfTI or Analyze file (.nii, .hdr or .img, each optionally
 * .gz) and it begins with a NIfTI-1, NIfTI-2 or Analyze 7.5 header; nothing otherwise (left to ITK). Throws
 * FileError, with one line, for headers that niftilib would refuse with messages of its own on the console
 * (dim[0] not 1..7, a size below 1, a datatype it does not know) and for NIfTI-2 files where the ITK in use
 * (5.2) cannot read them. */
std::optional<NiftiHeader>
ReadNiftiHeader(const std::string & path);

/** The stored voxels of a NIfTI or Analyze file from header.DataOffset(), in file order, with the scaling applied
 * as NIfTI defines it (header.Scaled()); integer and float datatypes. Throws FileError. */
std::vector<double>
ReadNiftiPixels(const NiftiHeader & header);
} // namespace kmeans_cli

#endif
