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
#include "cli/inputs/NiftiHeader.h"

#include "cli/run/ErrorReporting.h"
#include "cli/inputs/HeaderBytes.h"

#include "itkConfigure.h"
#include "itkVersion.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sys/stat.h>

namespace kmeans_cli
{
namespace
{
/** Bytes a voxel of a NIfTI datatype code takes (nifti1.h), 0 for codes niftilib does not read. */
unsigned int
DatatypeBytes(int datatype)
{
  switch (datatype)
  {
    case 2:    // uint8
    case 256:  // int8
      return 1;
    case 4:    // int16
    case 512:  // uint16
      return 2;
    case 128:  // rgb24
      return 3;
    case 8:    // int32
    case 16:   // float32
    case 768:  // uint32
    case 2304: // rgba32
      return 4;
    case 32:   // complex64
    case 64:   // float64
    case 1024: // int64
    case 1280: // uint64
      return 8;
    case 1536: // float128
    case 1792: // complex128
      return 16;
    case 2048: // complex256
      return 32;
    default:
      return 0;
  }
}


bool
Exists(const std::string & path)
{
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

/** The first bytes of a file, decompressed when it is gzipped (zlib reads other files as they are). */
std::string
ReadHead(const std::string & path, unsigned int length)
{
  std::string head(length, '\0');
  gzFile      file = gzopen(path.c_str(), "rb");
  const int   n = file == nullptr ? 0 : gzread(file, &head[0], length);
  if (file != nullptr)
  {
    gzclose(file);
  }
  head.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return head;
}

/** Header and data file of path: a .nii[.gz] holds both; a pair is .hdr[.gz] + .img[.gz] (the first present). */
bool
LocateFiles(const std::string & path, NiftiHeader & header)
{
  const bool gz = HasSuffix(path, ".gz");
  const auto stem = path.substr(0, path.size() - (gz ? 7 : 4));
  auto firstPresent = [](const std::string & a, const std::string & b) { return Exists(a) || !Exists(b) ? a : b; };
  if (HasSuffix(path, gz ? ".nii.gz" : ".nii"))
  {
    header.HeaderPath = header.DataPath = path;
    return true;
  }
  header.SingleFile = false;
  if (HasSuffix(path, gz ? ".hdr.gz" : ".hdr"))
  {
    header.HeaderPath = path;
    header.DataPath = firstPresent(stem + ".img", stem + ".img.gz");
    return true;
  }
  if (HasSuffix(path, gz ? ".img.gz" : ".img"))
  {
    header.HeaderPath = firstPresent(stem + ".hdr", stem + ".hdr.gz");
    header.DataPath = path;
    return Exists(header.HeaderPath);
  }
  return false;
}

/** Geometry fields (mm) above this magnitude are refused: ITK 5.2's reader computes the direction with vnl_svd
 * in single precision, which never returned for an sform offset of -2^127 (its doubles overflow). */
constexpr double MaximumGeometryMagnitude = 1e15;

/** Refuses a non-finite or huge value among the fields ITK's reader makes spacing, origin and direction of (ITK
 * 5.2 aborts in vnl_svd on a NaN): pixdim[1..] (of type T) at \a pixdim, and where qform_code or sform_code (of type
 * TCode, at \a codes) is set, the quaternion and its offsets or the srow rows from \a quaternion on. */
template <typename T, typename TCode>
void
CheckGeometryFields(const std::string & bytes, bool swap, std::size_t pixdim, std::size_t codes, std::size_t quaternion,
                    const NiftiHeader & header)
{
  std::vector<std::pair<std::string, double>> geometry;
  const std::size_t dimensions = header.Size.empty() ? 0 : static_cast<std::size_t>(header.Size.front());
  for (std::size_t d = 1; d <= std::clamp<std::size_t>(dimensions, 3, 7); ++d)
  {
    geometry.emplace_back("pixdim[" + std::to_string(d) + "]", ReadField<T>(bytes, pixdim + d * sizeof(T), swap));
  }
  const char * const names[] = { "quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z" };
  const bool nifti = header.Format != "Analyze 7.5"; // Analyze has no qform and sform
  if (nifti && ReadField<TCode>(bytes, codes, swap) > 0)
  {
    for (std::size_t i = 0; i < 6; ++i)
    {
      geometry.emplace_back(names[i], ReadField<T>(bytes, quaternion + i * sizeof(T), swap));
    }
  }
  if (nifti && ReadField<TCode>(bytes, codes + sizeof(TCode), swap) > 0)
  {
    for (std::size_t i = 0; i < 12; ++i)
    {
      const std::string name = std::string("srow_") + "xyz"[i / 4] + "[" + std::to_string(i % 4) + "]";
      geometry.emplace_back(name, ReadField<T>(bytes, quaternion + (6 + i) * sizeof(T), swap));
    }
  }
  for (const auto & [name, value] : geometry)
  {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", value);
    if (!std::isfinite(value) || std::abs(value) > MaximumGeometryMagnitude)
    {
      throw FileError(header.HeaderPath, "invalid " + header.Format + " header: " + name + " = " + text +
                                           "; voxel spacing, origin and orientation must be finite numbers of "
                                           "magnitude up to 1e15");
    }
    // niftilib keeps these in single precision, where ITK 5.2's vnl_svd never returned for a subnormal sform
    // entry (3.5e-43, beside an offset of 8.8e12 mm; found by fuzzing).
    if (value != 0.0 && std::abs(value) < std::numeric_limits<float>::min())
    {
      throw FileError(header.HeaderPath, "invalid " + header.Format + " header: " + name + " = " + text +
                                           "; voxel spacing, origin and orientation must be 0 or at least "
                                           "1.17549e-38 in magnitude (a normal single-precision number)");
    }
  }
}

void
ReadNifti2Fields(const std::string & bytes, bool swap, NiftiHeader & header)
{
  header.Format = "NIfTI-2";
  header.Swapped = swap;
  header.Datatype = ReadField<std::int16_t>(bytes, 12, swap);
  header.BitsPerPixel = ReadField<std::int16_t>(bytes, 14, swap);
  for (std::size_t d = 0; d < 8; ++d)
  {
    header.Size.push_back(ReadField<std::int64_t>(bytes, 16 + 8 * d, swap));
  }
  header.VoxOffset = static_cast<double>(ReadField<std::int64_t>(bytes, 168, swap));
  header.Slope = ReadField<double>(bytes, 176, swap);
  header.Intercept = ReadField<double>(bytes, 184, swap);
  CheckGeometryFields<double, std::int32_t>(bytes, swap, 104, 344, 352, header);
}

/** niftilib's NIFTI_VERSION: "n+N" or "niN" with N from 1 to 9 and a NUL at byte 344 makes a NIfTI header (read
 * as NIfTI-1 when sizeof_hdr is not 540), anything else Analyze 7.5. */
bool
HasNiftiMagic(const std::string & bytes)
{
  const std::string magic = bytes.substr(344, 4);
  return magic[0] == 'n' && (magic[1] == '+' || magic[1] == 'i') && magic[2] >= '1' && magic[2] <= '9' &&
         magic[3] == '\0';
}

void
ReadNifti1Fields(const std::string & bytes, bool swap, NiftiHeader & header)
{
  header.Format = HasNiftiMagic(bytes) ? "NIfTI-1" : "Analyze 7.5";
  header.Swapped = swap;
  header.Datatype = ReadField<std::int16_t>(bytes, 70, swap);
  header.BitsPerPixel = ReadField<std::int16_t>(bytes, 72, swap);
  for (std::size_t d = 0; d < 8; ++d)
  {
    header.Size.push_back(ReadField<std::int16_t>(bytes, 40 + 2 * d, swap));
  }
  header.VoxOffset = ReadField<float>(bytes, 108, swap);
  header.Slope = ReadField<float>(bytes, 112, swap);
  header.Intercept = ReadField<float>(bytes, 116, swap);
  CheckGeometryFields<float, std::int16_t>(bytes, swap, 76, 252, 256, header);
}

template <typename T>
std::vector<double>
Decode(const std::string & bytes, bool swap)
{
  std::vector<double> values(bytes.size() / sizeof(T));
  for (std::size_t i = 0; i < values.size(); ++i)
  {
    values[i] = static_cast<double>(ReadField<T>(bytes, i * sizeof(T), swap));
  }
  return values;
}

/** Refuses what niftilib would refuse with console messages of its own, and NIfTI-2 where ITK cannot read it. */
void
CheckHeader(NiftiHeader & header)
{
  const std::string & path = header.HeaderPath;
#if ITK_VERSION_MAJOR < 5 || (ITK_VERSION_MAJOR == 5 && ITK_VERSION_MINOR < 3)
  if (header.Format == "NIfTI-2")
  {
    throw FileError(path, std::string("NIfTI-2 file: ITK ") + itk::Version::GetITKVersion() +
                            ", which kmeans-segment is built with, has no NIfTI-2 reader (ITK 5.3 and later read "
                            "NIfTI-2); convert the file to NIfTI-1");
  }
#endif
  const std::int64_t dimensions = header.Size.front();
  if (dimensions < 1 || dimensions > 7)
  {
    throw FileError(path, "invalid " + header.Format + " header: dim[0] = " + std::to_string(dimensions) +
                            ", the number of dimensions must be 1 to 7");
  }
  header.Size.erase(header.Size.begin());
  header.Size.resize(static_cast<std::size_t>(dimensions));
  for (std::size_t d = 0; d < header.Size.size(); ++d)
  {
    if (header.Size[d] < 1)
    {
      throw FileError(path, "invalid " + header.Format + " header: dim[" + std::to_string(d + 1) +
                              "] = " + std::to_string(header.Size[d]) + ", every size must be at least 1");
    }
  }
  if (DatatypeBytes(header.Datatype) == 0)
  {
    throw FileError(path, "invalid " + header.Format + " header: datatype " + std::to_string(header.Datatype) +
                            " (bitpix " + std::to_string(header.BitsPerPixel) + ") is not a pixel type NIfTI reads");
  }
  // Byte counts below 2^62, so that DataOffset() + DataBytes() cannot wrap around (no file is that large).
  constexpr double limit = 4611686018427387904.0; // 2^62
  if (!(header.VoxOffset >= 0.0 && header.VoxOffset < limit))
  {
    throw FileError(path, "invalid " + header.Format + " header: vox_offset " + std::to_string(header.VoxOffset) +
                            ", the pixel data offset must be from 0 to 2^62 bytes");
  }
  double      bytes = static_cast<double>(DatatypeBytes(header.Datatype));
  std::string sizes;
  for (const std::int64_t n : header.Size)
  {
    bytes *= static_cast<double>(n);
    sizes += (sizes.empty() ? "" : " x ") + std::to_string(n);
  }
  if (bytes >= limit)
  {
    throw FileError(path, "invalid " + header.Format + " header: its dimensions " + sizes + " of " +
                            std::to_string(DatatypeBytes(header.Datatype)) +
                            "-byte voxels announce more than 2^62 bytes of pixel data");
  }
}
} // namespace

bool
HasSuffix(const std::string & name, const std::string & suffix)
{
  return name.size() >= suffix.size() &&
         std::equal(suffix.rbegin(), suffix.rend(), name.rbegin(),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                    });
}

std::uint64_t
NiftiHeader::DataBytes() const
{
  std::uint64_t voxels = 1;
  for (const std::int64_t n : Size)
  {
    voxels *= static_cast<std::uint64_t>(n);
  }
  return voxels * DatatypeBytes(Datatype);
}

std::uint64_t
NiftiHeader::DataOffset() const
{
  const double headerEnd = Format == "NIfTI-2" ? 544.0 : 352.0; // header and extension flag
  const double offset = std::max(VoxOffset, SingleFile ? headerEnd : 0.0);
  return static_cast<std::uint64_t>(offset);
}

bool
NiftiHeader::Scaled() const
{
  // ITK's reader scales NIfTI files only, not Analyze 7.5 (where bytes 112-119 may hold SPM's scale factor).
  return Format != "Analyze 7.5" && std::isfinite(Slope) && Slope != 0.0 && (Slope != 1.0 || AppliedIntercept() != 0.0);
}

double
NiftiHeader::AppliedIntercept() const
{
  return std::isfinite(Intercept) ? Intercept : 0.0;
}

bool
NiftiHeader::ReaderMisreads() const
{
  const bool interceptWithoutSlope = Format != "Analyze 7.5" && !Scaled() && AppliedIntercept() != 0.0;
  return interceptWithoutSlope || (Format == "NIfTI-1" && SingleFile && VoxOffset < 352.0);
}

std::vector<double>
ReadNiftiPixels(const NiftiHeader & header)
{
  std::string bytes(header.DataBytes(), '\0');
  gzFile      file = gzopen(header.DataPath.c_str(), "rb");
  const bool  read = file != nullptr && gzseek(file, static_cast<z_off_t>(header.DataOffset()), SEEK_SET) >= 0 &&
                    gzread(file, &bytes[0], static_cast<unsigned int>(bytes.size())) == static_cast<int>(bytes.size());
  if (file != nullptr)
  {
    gzclose(file);
  }
  if (!read)
  {
    throw FileError(header.DataPath, "cannot read its " + std::to_string(bytes.size()) + " bytes of pixel data");
  }
  std::vector<double> values;
  switch (header.Datatype)
  {
    case 2:
      values = Decode<std::uint8_t>(bytes, header.Swapped);
      break;
    case 256:
      values = Decode<std::int8_t>(bytes, header.Swapped);
      break;
    case 4:
      values = Decode<std::int16_t>(bytes, header.Swapped);
      break;
    case 512:
      values = Decode<std::uint16_t>(bytes, header.Swapped);
      break;
    case 8:
      values = Decode<std::int32_t>(bytes, header.Swapped);
      break;
    case 768:
      values = Decode<std::uint32_t>(bytes, header.Swapped);
      break;
    case 16:
      values = Decode<float>(bytes, header.Swapped);
      break;
    case 64:
      values = Decode<double>(bytes, header.Swapped);
      break;
    default:
      throw FileError(header.HeaderPath, "datatype " + std::to_string(header.Datatype) + " is not a scalar type");
  }
  if (header.Scaled())
  {
    for (double & v : values)
    {
      v = v * header.Slope + header.AppliedIntercept();
    }
  }
  return values;
}

std::optional<NiftiHeader>
ReadNiftiHeader(const std::string & path)
{
  NiftiHeader header;
  if (!LocateFiles(path, header))
  {
    return std::nullopt;
  }
  header.DataCompressed = HasSuffix(header.DataPath, ".gz");
  const std::string bytes = ReadHead(header.HeaderPath, 540);
  if (bytes.size() < 4)
  {
    return std::nullopt; // not a header: ITK says what the file is not
  }
  const auto sizeofHdr = ReadField<std::int32_t>(bytes, 0, false);
  const auto swappedSizeofHdr = ReadField<std::int32_t>(bytes, 0, true);
  for (const std::int32_t size : { 348, 540 })
  {
    if ((sizeofHdr == size || swappedSizeofHdr == size) && bytes.size() < static_cast<std::size_t>(size))
    {
      throw FileError(header.HeaderPath, "file cut short: " + std::to_string(bytes.size()) + " bytes, less than its " +
                                           std::to_string(size) + "-byte NIfTI header");
    }
  }
  if ((sizeofHdr == 540 || swappedSizeofHdr == 540 || bytes.compare(4, 3, "n+2") == 0) && bytes.size() >= 540)
  {
    ReadNifti2Fields(bytes, sizeofHdr != 540 && swappedSizeofHdr == 540, header);
  }
  else if (sizeofHdr == 348 || swappedSizeofHdr == 348)
  {
    ReadNifti1Fields(bytes, sizeofHdr != 348, header);
  }
  else if (bytes.size() >= 348 && HasNiftiMagic(bytes))
  {
    // Another sizeof_hdr with a NIfTI-1 magic: ITK 5.2's niftilib reads it anyway, in the byte order in which
    // dim[0] is 1 to 7 (and refuses it, with its own message, when there is none).
    const auto dims = ReadField<std::int16_t>(bytes, 40, false), swappedDims = ReadField<std::int16_t>(bytes, 40, true);
    if ((dims < 1 || dims > 7) && (swappedDims < 1 || swappedDims > 7))
    {
      throw FileError(header.HeaderPath, "invalid NIfTI-1 header: dim[0] = " + std::to_string(dims) +
                                           " and sizeof_hdr = " + std::to_string(sizeofHdr) +
                                           "; dim[0] must be 1 to 7, sizeof_hdr 348");
    }
    ReadNifti1Fields(bytes, dims < 1 || dims > 7, header);
  }
  else
  {
    return std::nullopt;
  }
  CheckHeader(header);
  return header;
}
} // namespace kmeans_cli
