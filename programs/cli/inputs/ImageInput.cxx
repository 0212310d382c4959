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
#include "cli/inputs/ImageInput.h"

#include "cli/inputs/PngChunks.h"

#include "itkGDCMImageIO.h"
#include "itkImageIOFactory.h"
#include "itkMetaImageIO.h"
#include "metaImage.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/stat.h>

namespace kmeans_cli
{
namespace
{
std::string
Directory(const std::string & path)
{
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
}

std::uint64_t
FileSize(const std::string & path)
{
  struct stat info;
  if (stat(path.c_str(), &info) != 0)
  {
    throw FileError(path, std::string("cannot read: ") + std::strerror(errno));
  }
  return static_cast<std::uint64_t>(info.st_size);
}

std::string
ByteCount(std::uint64_t bytes)
{
  return std::to_string(bytes) + " byte" + (bytes == 1 ? "" : "s");
}

/** The decompressed length of a file read through zlib (which reads uncompressed files as they are). Throws
 * FileError when the stream is damaged or ends early. */
std::uint64_t
InflatedLength(const std::string & path)
{
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
  {
    throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  }
  gzbuffer(file, 1 << 17);
  std::uint64_t     length = 0;
  std::vector<char> buffer(1 << 18);
  int               n = 0;
  while ((n = gzread(file, buffer.data(), static_cast<unsigned int>(buffer.size()))) > 0)
  {
    length += static_cast<std::uint64_t>(n);
  }
  // gzread reports a stream cut short as end of file; gzerror tells it apart (Z_BUF_ERROR).
  int         code = Z_OK;
  std::string message = gzerror(file, &code);
  gzclose(file);
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END))
  {
    if (message.rfind(path + ": ", 0) == 0)
    {
      message.erase(0, path.size() + 2); // zlib names the file, as the error does already
    }
    throw FileError(path, "compressed data are damaged or cut short (zlib: " + message + ")");
  }
  return length;
}

/** The last four bytes of a gzip file, little-endian: the ISIZE field of a whole stream. */
std::uint32_t
GzipTrailerLength(const std::string & path)
{
  std::ifstream stream(path, std::ios::binary | std::ios::ate);
  if (!stream || stream.tellg() < 18)
  {
    return 0;
  }
  stream.seekg(-4, std::ios::end);
  unsigned char bytes[4] = { 0, 0, 0, 0 };
  stream.read(reinterpret_cast<char *>(bytes), 4);
  return static_cast<std::uint32_t>(bytes[0]) | (static_cast<std::uint32_t>(bytes[1]) << 8) |
         (static_cast<std::uint32_t>(bytes[2]) << 16) | (static_cast<std::uint32_t>(bytes[3]) << 24);
}

/** NIfTI and Analyze: the (decompressed) data file must reach the header's pixel data offset plus the size of the
 * stored datatype times the voxel count; not the size of the float type ITK returns for a scaled file. */
void
CheckNiftiData(const NiftiHeader & header)
{
  const std::string & path = header.DataPath;
  struct stat         info;
  if (stat(path.c_str(), &info) != 0)
  {
    throw FileError(header.HeaderPath, "its image file " + path + " is missing");
  }
  const bool          compressed = header.DataCompressed;
  const std::uint64_t needed = header.DataOffset() + header.DataBytes();
  // Fast path: a gzip stream ends with its decompressed length modulo 2^32 (RFC 1952, ISIZE). When it announces
  // exactly the size needed the stream is whole; otherwise decompress and count (a cut stream ends early).
  if (compressed && GzipTrailerLength(path) == static_cast<std::uint32_t>(needed))
  {
    return;
  }
  const std::uint64_t length = compressed ? InflatedLength(path) : static_cast<std::uint64_t>(info.st_size);
  if (length < needed)
  {
    throw FileError(path, "file cut short: the header " + (header.SingleFile ? "" : header.HeaderPath + " ") +
                            "announces " + ByteCount(header.DataBytes()) + " of pixel data from byte " +
                            std::to_string(header.DataOffset()) + ", the " + (compressed ? "decompressed " : "") +
                            "file has " + ByteCount(length) + " in all");
  }
}

/** The ElementDataFile values MetaIO 5.2 takes for data after the header (found by fuzzing: "Local"). */
bool
IsMetaIOLocal(const std::string & name)
{
  return name == "LOCAL" || name == "Local" || name == "local";
}

/** A MetaImage header field name as MetaIO 5.2 compares it, from the text of a line before its separator: white
 * space before it skipped, up to a carriage return, blanks (space, tab) after it stripped, then read as a C string
 * (up to a NUL byte). */
std::string
MetaIOName(const std::string & text)
{
  const auto first = text.find_first_not_of(" \t\r\v\f\n");
  if (first == std::string::npos)
  {
    return {};
  }
  std::string name = text.substr(first, text.find('\r', first) - first);
  name.erase(name.find_last_not_of(" \t") + 1);
  return name.substr(0, name.find('\0'));
}

/** MetaImage (.mha, .mhd): ITK 5.2's MetaIO copies every field name of the header into a 255-byte buffer
 * (MET_InitReadField, strcpy), so a longer name overflows it (the program aborts where the C library checks the
 * copy). Refuses a header line (up to ElementDataFile) whose name, the text before '=' or ':', has 255 or more
 * characters, and an NDims outside 1 to 10 (MetaIO reads that many numbers for fields of 10: it never returned
 * for 10^12). A name without '=' makes MetaIO read on to the next separator for its value, past a line break and
 * past an ElementDataFile line (found by fuzzing); for an NDims line without '=', that value is checked. */
void
CheckMetaImageFieldNames(const std::string & path)
{
  std::ifstream stream(path, std::ios::binary);
  std::string   line;
  bool          swallowed = false;
  bool          pendingNDims = false; // an NDims name without '=': its value follows the next separator
  const auto    checkNDims = [&path](const char * value, std::size_t number) {
    // MetaIO then reads NDims numbers for each of DimSize, ElementSpacing..., into arrays of 10.
    const double dimensions = std::strtod(value, nullptr);
    if (!(dimensions >= 1 && dimensions <= 10))
    {
      throw FileError(path, "invalid MetaImage header: line " + std::to_string(number) + " gives NDims " +
                              std::to_string(dimensions) + " (MetaIO reads 1 to 10)");
    }
  };
  for (std::size_t number = 1; std::getline(stream, line); ++number)
  {
    const auto separator = line.find_first_of("=:");
    if (swallowed)
    {
      // The line before named a field without '=': MetaIO took the text up to the next separator, here, as part of
      // its value, and goes on reading names after it (so this line does not end the header either).
      swallowed = separator == std::string::npos;
      if (pendingNDims && !swallowed)
      {
        checkNDims(line.c_str() + separator + 1, number); // a second NDims line after "NDims" alone (fuzzing)
      }
      pendingNDims = pendingNDims && swallowed;
      continue;
    }
    const std::string name = line.substr(0, separator);
    const auto        first = name.find_first_not_of(" \t\r\v\f");
    // MetaIO skips white space before a name but strips only blanks (space, tab) after it: a name ending in form
    // feeds is copied with them (found by fuzzing).
    const auto        last = name.find_last_not_of(" \t");
    const std::size_t length = first == std::string::npos ? 0 : last - first + 1;
    if (length >= 255)
    {
      throw FileError(path, "invalid MetaImage header: line " + std::to_string(number) + " has a field name of " +
                              std::to_string(length) + " characters (MetaIO reads at most 254)");
    }
    // MetaIO compares the name as a C string: "NDims" followed by a NUL byte and anything is NDims (found by fuzzing).
    const std::string cName = name.substr(0, name.find('\0'));
    const bool nDims = length >= 5 && cName.compare(first, 5, "NDims") == 0 &&
                       cName.find_first_not_of(" \t\r\v\f", first + 5) == std::string::npos;
    if (nDims && separator != std::string::npos)
    {
      checkNDims(line.c_str() + separator + 1, number);
    }
    if (separator == std::string::npos)
    {
      swallowed = length > 0;
      pendingNDims = nDims;
      continue;
    }
    if (MetaIOName(name) == "ElementDataFile") // the whole name ("ElementDataFileDataFile" is not it: fuzzing)
    {
      return; // the data follow
    }
  }
}

/** MetaImage slice files named by a pattern ("slice%03d.raw 1 40 1": first, last, step): MetaIO 5.2 passes the
 * pattern to sprintf and splits the value into words with an overflow on some malformed ones (found by fuzzing):
 * MET_StringToWordArray copies each word, split at single spaces, into a buffer of 80 bytes. Accepts words of at
 * most 79 characters separated by one space, one %d conversion (with flags and width) and up to three integers
 * after the pattern. */
void
CheckMetaImageSlicePattern(const std::string & path, const std::string & value)
{
  for (std::size_t start = 0; start <= value.size();)
  {
    const auto end = std::min(value.find(' ', start), value.size());
    if (end - start > 79)
    {
      throw FileError(path, "invalid MetaImage header: the ElementDataFile slice file pattern has a word of " +
                              std::to_string(end - start) + " characters (MetaIO reads at most 79)");
    }
    start = end + 1;
  }
  std::istringstream words(value);
  std::string        pattern, word;
  words >> pattern;
  int numbers = 0;
  for (; words >> word; ++numbers)
  {
    if (numbers == 3 || word.find_first_not_of("+-0123456789") != std::string::npos)
    {
      numbers = -1;
      break;
    }
  }
  const auto percent = pattern.find('%');
  const auto conversion = pattern.find_first_not_of("0123456789-+ #", percent + 1);
  if (numbers < 0 || percent == std::string::npos || conversion == std::string::npos || pattern[conversion] != 'd' ||
      pattern.find('%', conversion) != std::string::npos)
  {
    throw FileError(path, "invalid MetaImage header: ElementDataFile \"" + value +
                            "\" is not a slice file pattern (one %d, then up to three integers: first, last, step)");
  }
}

/** MetaImage (.mha, .mhd): ITK 5.2's MetaIO returns without closing (and leaks) its stream when it cannot open
 * the one data file its header names; that name, as MetaIO read it, must name a file that opens. (LOCAL data,
 * LIST and %-patterns of slice files are read otherwise.) */
void
CheckMetaImageDataFile(const std::string & path, itk::ImageIOBase * io)
{
  auto * meta = dynamic_cast<itk::MetaImageIO *>(io);
  const std::string name = meta != nullptr ? meta->GetMetaImagePointer()->ElementDataFileName() : "";
  if (name.find('%') != std::string::npos)
  {
    CheckMetaImageSlicePattern(path, name);
    return;
  }
  if (meta == nullptr || IsMetaIOLocal(name) || name.rfind("LIST", 0) == 0)
  {
    return;
  }
  if (name.empty()) // MetaIO would read the header's directory as its data file
  {
    throw FileError(path, "invalid MetaImage header: ElementDataFile has no value");
  }
  const std::string dataPath = name.front() == '/' ? name : Directory(path) + "/" + name;
  const bool        opens = static_cast<bool>(std::ifstream(dataPath, std::ios::binary));
  const int         openError = errno;
  struct stat       info = {};
  if (!opens || (stat(dataPath.c_str(), &info) == 0 && S_ISDIR(info.st_mode)))
  {
    throw FileError(path, "its data file " + dataPath + " cannot be opened: " +
                            (opens ? std::string("it is a directory") : std::strerror(openError)));
  }
}

/** MetaImage compressed pixel data: ITK 5.2's MetaIO never returns from some damaged zlib streams (found by
 * fuzzing), so the stream (\a length bytes at \a offset of \a dataPath) is inflated here first and must end, with
 * exactly the \a expected bytes the header's size needs. */
void
CheckMetaImageCompressedData(const std::string & dataPath, std::uint64_t offset, std::uint64_t length,
                             std::uint64_t expected)
{
  std::ifstream in(dataPath, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 32) != Z_OK) // zlib or gzip, as MetaIO reads them
  {
    throw FileError(dataPath, "cannot start zlib to check the compressed pixel data");
  }
  std::vector<unsigned char> input(1 << 16), output(1 << 18);
  std::uint64_t              produced = 0;
  int                        status = Z_OK;
  while (status == Z_OK && produced <= expected)
  {
    if (stream.avail_in == 0 && length > 0)
    {
      const auto wanted = std::min<std::uint64_t>(input.size(), length);
      in.read(reinterpret_cast<char *>(input.data()), static_cast<std::streamsize>(wanted));
      length -= static_cast<std::uint64_t>(in.gcount());
      length = in.gcount() > 0 ? length : 0;
      stream.next_in = input.data();
      stream.avail_in = static_cast<uInt>(in.gcount());
    }
    stream.next_out = output.data();
    stream.avail_out = static_cast<uInt>(output.size());
    status = inflate(&stream, Z_NO_FLUSH);
    produced += output.size() - stream.avail_out;
  }
  const std::string message = stream.msg != nullptr     ? stream.msg
                              : status == Z_NEED_DICT ? "the stream needs a preset dictionary"
                                                      : "the stream does not end";
  inflateEnd(&stream);
  if (status != Z_STREAM_END && produced <= expected)
  {
    throw FileError(dataPath, "compressed pixel data are damaged or cut short (zlib: " + message + ")");
  }
  if (produced != expected)
  {
    throw FileError(dataPath, "compressed pixel data hold " + std::string(produced > expected ? "more than " : "") +
                                ByteCount(produced) + ", the header announces " + ByteCount(expected));
  }
}

/** Compressed pixel data after the header (ElementDataFile LOCAL) where MetaIO itself finds them: its own reading
 * of the header (as ITK's reader does, into a stream of ours) gives whether they are compressed, their declared
 * size and where they start, which a reading of the header lines here missed for damaged headers (found by
 * fuzzing, three times: MetaIO never returned from a zlib stream asking for a preset dictionary). */
void
CheckMetaImageLocalCompressedData(const std::string & path, std::uint64_t expected)
{
  struct HeaderReader : public MetaImage
  {
    std::streamoff
    DeclaredCompressedSize() const
    {
      return m_CompressedDataSize;
    }
  } meta;
  std::ifstream stream(path, std::ios::binary);
  bool          read = false;
  {
    std::ostringstream quiet; // MetaIO prints its complaints on std::cout and std::cerr
    auto * const       out = std::cout.rdbuf(quiet.rdbuf());
    auto * const       err = std::cerr.rdbuf(quiet.rdbuf());
    read = stream && meta.ReadStream(0, &stream, false);
    std::cout.rdbuf(out);
    std::cerr.rdbuf(err);
  }
  const std::streamoff position = read ? static_cast<std::streamoff>(stream.tellg()) : -1;
  const std::uint64_t  size = FileSize(path);
  if (!read || !meta.CompressedData() || !IsMetaIOLocal(meta.ElementDataFileName()) || position < 0 ||
      static_cast<std::uint64_t>(position) > size)
  {
    return;
  }
  const std::uint64_t available = size - static_cast<std::uint64_t>(position);
  const auto          declared = meta.DeclaredCompressedSize();
  if (declared > 0 && available < static_cast<std::uint64_t>(declared))
  {
    throw FileError(path, "file cut short: " + ByteCount(available) + " of compressed pixel data, the header announces " +
                            ByteCount(static_cast<std::uint64_t>(declared)));
  }
  CheckMetaImageCompressedData(path, static_cast<std::uint64_t>(position),
                               declared > 0 ? static_cast<std::uint64_t>(declared) : available, expected);
}

/** MetaImage (.mha, .mhd): the data (local after the header, or the ElementDataFile) must hold the data size,
 * or CompressedDataSize bytes when compressed. */
void
CheckMetaImage(const std::string & path, std::uint64_t expected)
{
  std::ifstream stream(path, std::ios::binary);
  std::string   line;
  bool          compressed = false;
  std::int64_t  compressedSize = -1;
  std::int64_t  headerSize = 0;
  std::string   dataFile;
  bool          swallowed = false;
  while (std::getline(stream, line))
  {
    // As MetaIO reads the header (and CheckMetaImageFieldNames): a name without a separator ('=' or ':') takes the
    // text up to the next separator as its value, so the next line with one is no field of its own (found by
    // fuzzing: an ElementDataFile line so swallowed had ended this reading before the real one).
    const auto separator = line.find_first_of("=:");
    if (swallowed || separator == std::string::npos)
    {
      const bool named = line.find_first_not_of(" \t\r\v\f") != std::string::npos;
      swallowed = separator == std::string::npos && (swallowed || named);
      continue;
    }
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t\r"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    // (A name followed by NUL bytes is that name for MetaIO: found by fuzzing, "ElementDataFile" and 119 NULs.)
    const std::string key = MetaIOName(line.substr(0, separator));
    const std::string value = trim(line.substr(separator + 1));
    if (key == "CompressedData")
    {
      // MetaIO looks at the first character only ("True\xa2" is compressed: found by fuzzing, where MetaIO then
      // never returned from a zlib stream asking for a dictionary that this check had not inflated).
      compressed = !value.empty() && (value[0] == 'T' || value[0] == 't' || value[0] == '1');
    }
    else if (key == "CompressedDataSize")
    {
      compressedSize = std::atoll(value.c_str());
    }
    else if (key == "HeaderSize")
    {
      headerSize = std::atoll(value.c_str());
    }
    else if (key == "ElementDataFile")
    {
      dataFile = value; // always the last header line
      break;
    }
  }
  // MetaIO keeps the name up to a NUL byte, and on a data file it cannot open returns without closing its stream
  // (ITK 5.2 leaks it): a name with control characters is refused here.
  const auto control = std::find_if(dataFile.begin(), dataFile.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 && c != '\t';
  });
  if (control != dataFile.end())
  {
    char byte[8];
    std::snprintf(byte, sizeof(byte), "0x%02x", static_cast<unsigned char>(*control));
    throw FileError(path, std::string("invalid MetaImage header: the ElementDataFile value has a control character (") +
                            byte + " at character " + std::to_string(control - dataFile.begin() + 1) + ")");
  }
  if (dataFile.empty() || dataFile == "LIST" || dataFile.find('%') != std::string::npos)
  {
    return; // several data files: left to the reader's own checks
  }
  std::string   dataPath = path;
  std::uint64_t available = 0;
  if (IsMetaIOLocal(dataFile))
  {
    const auto end = stream.tellg();
    if (end < 0)
    {
      return;
    }
    available = FileSize(path) - static_cast<std::uint64_t>(end);
  }
  else
  {
    dataPath = dataFile.front() == '/' ? dataFile : Directory(path) + "/" + dataFile;
    struct stat info;
    if (stat(dataPath.c_str(), &info) != 0)
    {
      throw FileError(path, "its data file " + dataPath + " is missing");
    }
    available = static_cast<std::uint64_t>(info.st_size);
    if (headerSize > 0)
    {
      available = available > static_cast<std::uint64_t>(headerSize) ? available - headerSize : 0;
    }
  }
  if (compressed)
  {
    if (compressedSize > 0 && available < static_cast<std::uint64_t>(compressedSize))
    {
      throw FileError(dataPath, "file cut short: " + ByteCount(available) + " of compressed pixel data, the header announces " +
                                  ByteCount(static_cast<std::uint64_t>(compressedSize)));
    }
    const std::uint64_t offset = IsMetaIOLocal(dataFile) ? FileSize(path) - available
                                 : static_cast<std::uint64_t>(std::max<std::int64_t>(headerSize, 0));
    CheckMetaImageCompressedData(dataPath, offset, compressedSize > 0 ? compressedSize : available, expected);
    return;
  }
  if (available < expected)
  {
    throw FileError(dataPath, "file cut short: " + ByteCount(available) + " of pixel data, the header announces " +
                                ByteCount(expected));
  }
}
} // namespace

itk::ImageIOBase::Pointer
CreateReadImageIO(const std::string & path, std::optional<NiftiHeader> * nifti)
{
  if (path.empty())
  {
    throw FileError("(empty path)", "no file name given");
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0)
  {
    throw FileError(path, errno == ENOENT ? std::string("no such file") : std::string(std::strerror(errno)));
  }
  if (S_ISDIR(info.st_mode))
  {
    throw FileError(path, "is a directory; an image file is expected");
  }
  if (!S_ISREG(info.st_mode))
  {
    throw FileError(path, "is not a regular file");
  }
  if (info.st_size == 0)
  {
    throw FileError(path, "empty file (0 bytes)");
  }
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe)
    {
      throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
    }
  }
  // NIfTI and Analyze headers are checked here, before niftilib prints its own messages about bad ones.
  const auto header = ReadNiftiHeader(path);
  if (header)
  {
    CheckNiftiData(*header);
  }
  if (nifti != nullptr)
  {
    *nifti = header;
  }
  itk::ImageIOBase::Pointer io;
  std::string               failure;
  {
    CapturedMessages captured;
    io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::IOFileModeEnum::ReadMode);
    if (io)
    {
      try
      {
        const std::string format = io->GetNameOfClass();
        if (format == "MetaImageIO")
        {
          CheckMetaImageFieldNames(path);
        }
        else if (format == "PNGImageIO")
        {
          CheckPngChunks(path); // ITK 5.2 lets libpng abort the program on a damaged chunk before IDAT
        }
        io->SetFileName(path);
        io->ReadImageInformation();
      }
      catch (const itk::ExceptionObject & exception)
      {
        throw FileError(path, "cannot read the image header: " + OneLine(exception));
      }
    }
    failure = captured.FirstFailure();
  }
  if (!io)
  {
    throw FileError(path, "not an image file that ITK can read (NIfTI, NRRD, MetaImage, PNG, JPEG, TIFF, BMP, DICOM...)");
  }
  if (!failure.empty())
  {
    throw FileError(path, "cannot read the image header (reader says: " + failure + ")");
  }
  return io;
}

ImageInfo
ProbeImage(const std::string & path)
{
  std::optional<NiftiHeader> nifti;
  const auto                 io = CreateReadImageIO(path, &nifti);
  ImageInfo  result;
  result.Path = path;
  result.Format = io->GetNameOfClass();
  result.ComponentType = io->GetComponentType();
  result.ComponentTypeName = itk::ImageIOBase::GetComponentTypeAsString(result.ComponentType);
  result.PixelTypeName = itk::ImageIOBase::GetPixelTypeAsString(io->GetPixelType());
  result.NumberOfComponents = io->GetNumberOfComponents();
  result.FileDimension = io->GetNumberOfDimensions();
  // Trailing dimensions of size 1 (a NIfTI volume stored as 4-D with one time point) are dropped.
  unsigned int dimension = result.FileDimension;
  while (dimension > 3 && io->GetDimensions(dimension - 1) == 1)
  {
    --dimension;
  }
  result.Dimension = dimension;
  for (unsigned int d = 0; d < dimension; ++d)
  {
    result.Size.push_back(io->GetDimensions(d));
    result.Spacing.push_back(io->GetSpacing(d));
    result.Origin.push_back(io->GetOrigin(d));
  }
  if (result.Dimension < 2 || result.Dimension > 3)
  {
    throw FileError(path, std::to_string(result.FileDimension) + "-D image; only 2-D and 3-D images are supported");
  }
  const bool greyCompatible = result.NumberOfComponents == 1 ||
                              ((result.NumberOfComponents >= 2 && result.NumberOfComponents <= 4) &&
                               (result.ComponentType == itk::IOComponentEnum::UCHAR ||
                                result.ComponentType == itk::IOComponentEnum::USHORT));
  if (!greyCompatible)
  {
    throw FileError(path, result.PixelTypeName + " image of " + std::to_string(result.NumberOfComponents) +
                            " components; kmeans-segment needs a scalar (one intensity per voxel) image");
  }
  for (double s : result.Spacing)
  {
    if (!(s > 0.0) || !std::isfinite(s))
    {
      throw FileError(path, "invalid voxel spacing " + std::to_string(s));
    }
  }

  // Completeness (NIfTI and Analyze are checked in CreateReadImageIO): ITK 5.2 reads MetaImage files cut short
  // without an error. MetaImageIO reports the stored element type, so its size in bytes is that of the file.
  if (result.Format == "MetaImageIO")
  {
    CheckMetaImage(path, io->GetImageSizeInBytes());
    CheckMetaImageLocalCompressedData(path, io->GetImageSizeInBytes());
    CheckMetaImageDataFile(path, io.GetPointer());
  }
  if (nifti && nifti->ReaderMisreads() && result.NumberOfComponents != 1)
  {
    throw FileError(path, "colour NIfTI file with vox_offset " +
                            std::to_string(static_cast<long long>(nifti->VoxOffset)) +
                            " (below 352) or scl_inter without scl_slope, which ITK reads wrongly");
  }
  // The intensity scaling the reader applies to the stored values.
  result.Nifti = nifti;
  if (nifti && nifti->Scaled())
  {
    result.ScaleSlope = nifti->Slope;
    result.ScaleIntercept = nifti->AppliedIntercept();
  }
  else if (const auto * dicom = dynamic_cast<const itk::GDCMImageIO *>(io.GetPointer()))
  {
    result.ScaleSlope = dicom->GetRescaleSlope();
    result.ScaleIntercept = dicom->GetRescaleIntercept();
  }
  return result;
}
} // namespace kmeans_cli
