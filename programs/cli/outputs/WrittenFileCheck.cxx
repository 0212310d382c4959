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
#include "cli/outputs/WrittenFileCheck.h"

#include "cli/run/ErrorReporting.h"
#include "cli/inputs/HeaderBytes.h"

#include "itkImageIOFactory.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace kmeans_cli
{
namespace
{
std::string
DirectoryPart(const std::string & path)
{
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, std::max<std::size_t>(slash, 1));
}

std::uint64_t
SizeOf(const std::string & path)
{
  struct stat info;
  return stat(path.c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
}

/** What a failed check says after the facts: the file system is full, and what the writer printed. */
std::string
Circumstances(const std::string & writtenPath, const std::string & writerMessages)
{
  std::string text = NoSpaceNote(writtenPath);
  std::string first = OneLine(writerMessages.substr(0, writerMessages.find('\n')));
  first.erase(0, first.find_first_not_of("* "));
  if (!first.empty())
  {
    text += " (writer says: " + first + ")";
  }
  return text;
}

struct CheckContext
{
  const std::string & WrittenPath;
  const std::string & UserPath;
  const std::string & WriterMessages;

  [[noreturn]] void
  Fail(const std::string & problem) const
  {
    throw FileError(UserPath, "cannot write: " + problem + Circumstances(WrittenPath, WriterMessages));
  }

  void
  Require(std::uint64_t length, std::uint64_t needed, const std::string & what) const
  {
    if (length < needed)
    {
      Fail("the written file is incomplete: " + what + " " + std::to_string(length) + " of the " +
           std::to_string(needed) + " bytes needed");
    }
  }
};

/** The (decompressed, when compressed) content of path from byte offset on: its length and first headBytes. */
struct Content
{
  std::uint64_t Length{ 0 };
  std::string   Head;
};

Content
Inflate(const std::string & path, std::uint64_t offset, std::size_t headBytes, const CheckContext & context)
{
  std::ifstream stream(path, std::ios::binary);
  stream.seekg(static_cast<std::streamoff>(offset));
  z_stream zs{};
  if (!stream || inflateInit2(&zs, 15 + 32) != Z_OK) // zlib or gzip header, detected
  {
    context.Fail("cannot read back the compressed data of the written file");
  }
  Content           content;
  std::vector<char> in(1 << 16), out(1 << 18);
  int               status = Z_OK;
  while (true)
  {
    if (zs.avail_in == 0)
    {
      stream.read(in.data(), static_cast<std::streamsize>(in.size()));
      zs.next_in = reinterpret_cast<Bytef *>(in.data());
      zs.avail_in = static_cast<uInt>(stream.gcount());
      if (zs.avail_in == 0)
      {
        break;
      }
    }
    zs.next_out = reinterpret_cast<Bytef *>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    status = inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = out.size() - zs.avail_out;
    content.Head.append(out.data(), std::min(produced, headBytes - std::min(headBytes, content.Head.size())));
    content.Length += produced;
    if (status == Z_STREAM_END && zs.avail_in == 0 && stream.peek() == std::char_traits<char>::eof())
    {
      break;
    }
    if (status == Z_STREAM_END)
    {
      inflateReset(&zs); // another gzip member follows
    }
    else if (status != Z_OK && status != Z_BUF_ERROR)
    {
      break;
    }
  }
  inflateEnd(&zs);
  if (status != Z_STREAM_END)
  {
    context.Fail("the written file is incomplete: its compressed data end early (" + std::to_string(content.Length) +
                 " bytes decompressed)");
  }
  return content;
}

Content
ReadContent(const std::string & path, std::uint64_t offset, std::size_t headBytes, bool compressed,
            const CheckContext & context)
{
  if (compressed)
  {
    return Inflate(path, offset, headBytes, context);
  }
  Content       content;
  const auto    size = SizeOf(path);
  content.Length = size > offset ? size - offset : 0;
  std::ifstream stream(path, std::ios::binary);
  stream.seekg(static_cast<std::streamoff>(offset));
  content.Head.resize(headBytes);
  stream.read(&content.Head[0], static_cast<std::streamsize>(headBytes));
  content.Head.resize(static_cast<std::size_t>(std::max<std::streamsize>(stream.gcount(), 0)));
  return content;
}

void
CheckNifti(const std::string & path, std::uint64_t pixelBytes, const CheckContext & context)
{
  if (HasSuffix(path, ".hdr") || HasSuffix(path, ".hdr.gz"))
  {
    const std::string stem = path.substr(0, path.size() - (HasSuffix(path, ".gz") ? 7 : 4));
    const bool        gz = SizeOf(stem + ".img.gz") > 0;
    const std::string image = gz ? stem + ".img.gz" : stem + ".img";
    context.Require(ReadContent(image, 0, 0, gz, context).Length, pixelBytes, "its image file has");
    return;
  }
  const Content content = ReadContent(path, 0, 540, HasSuffix(path, ".gz"), context);
  if (content.Head.size() < 348)
  {
    context.Require(content.Length, 348 + pixelBytes, "it has");
    return;
  }
  std::uint64_t voxOffset = 352;
  for (const bool swap : { false, true })
  {
    const auto sizeofHdr = ReadField<std::int32_t>(content.Head, 0, swap);
    if (sizeofHdr == 348)
    {
      voxOffset = static_cast<std::uint64_t>(std::max(0.0f, ReadField<float>(content.Head, 108, swap)));
    }
    else if (sizeofHdr == 540 && content.Head.size() >= 540)
    {
      voxOffset = static_cast<std::uint64_t>(std::max<std::int64_t>(0, ReadField<std::int64_t>(content.Head, 168, swap)));
    }
  }
  context.Require(content.Length, voxOffset + pixelBytes, "it has");
}

/** The fields of a text header ("key = value" for MetaImage, "key: value" for NRRD) up to the line that ends
 * it, and the offset of the data after it. */
struct TextHeader
{
  std::map<std::string, std::string> Fields;
  std::uint64_t                      End{ 0 };
};

TextHeader
ReadTextHeader(const std::string & path, char separator, const std::string & lastKey)
{
  TextHeader    header;
  std::ifstream stream(path, std::ios::binary);
  std::string   line;
  auto          trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t\r"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  while (std::getline(stream, line))
  {
    header.End += line.size() + 1;
    if (lastKey.empty() && trim(line).empty())
    {
      break;
    }
    const auto at = line.find(separator);
    if (at == std::string::npos || line[0] == '#')
    {
      continue;
    }
    std::string key = trim(line.substr(0, at));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    header.Fields[key] = trim(line.substr(at + 1 + (line.compare(at, 2, ":=") == 0 ? 1 : 0)));
    if (key == lastKey)
    {
      break;
    }
  }
  return header;
}

/** The data file a header names, in the header's directory; empty for several files or patterns. */
std::string
DataFileOf(const std::string & headerPath, const std::string & name)
{
  if (name.empty() || name == "LIST" || name.find_first_of("% ") != std::string::npos)
  {
    return {};
  }
  return name.front() == '/' ? name : DirectoryPart(headerPath) + "/" + name;
}

/** Returns false when the header is not one this check understands (the file is then read back). */
bool
CheckMetaImage(const std::string & path, std::uint64_t pixelBytes, const CheckContext & context)
{
  TextHeader  header = ReadTextHeader(path, '=', "elementdatafile");
  const auto  dataFile = header.Fields["elementdatafile"];
  const bool  local = dataFile == "LOCAL";
  std::string dataPath = local ? path : DataFileOf(path, dataFile);
  if (dataPath.empty())
  {
    return false;
  }
  const std::uint64_t offset = local ? header.End : 0;
  const auto          compressed = header.Fields["compresseddata"];
  if (compressed == "True" || compressed == "true")
  {
    const auto announced = std::strtoull(header.Fields["compresseddatasize"].c_str(), nullptr, 10);
    const auto size = SizeOf(dataPath);
    context.Require(size > offset ? size - offset : 0, announced, "its compressed data have");
  }
  context.Require(ReadContent(dataPath, offset, 0, compressed == "True" || compressed == "true", context).Length,
                  pixelBytes, "its pixel data have");
  return true;
}

bool
CheckNrrd(const std::string & path, std::uint64_t pixelBytes, const CheckContext & context)
{
  TextHeader        header = ReadTextHeader(path, ':', "");
  const std::string encoding = header.Fields["encoding"];
  const bool        gzip = encoding == "gzip" || encoding == "gz";
  if (!gzip && encoding != "raw")
  {
    return false;
  }
  std::string dataFile = header.Fields.count("data file") ? header.Fields["data file"] : header.Fields["datafile"];
  const bool  attached = dataFile.empty();
  const auto  dataPath = attached ? path : DataFileOf(path, dataFile);
  if (dataPath.empty())
  {
    return false;
  }
  context.Require(ReadContent(dataPath, attached ? header.End : 0, 0, gzip, context).Length, pixelBytes,
                  "its pixel data have");
  return true;
}

void
CheckPng(const std::string & path, const CheckContext & context)
{
  static const unsigned char iend[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82 };
  std::ifstream              stream(path, std::ios::binary);
  char                       tail[12] = {};
  if (SizeOf(path) < 12 || !stream.seekg(-12, std::ios::end) || !stream.read(tail, 12) ||
      std::memcmp(tail, iend, 12) != 0)
  {
    context.Fail("the written PNG file is incomplete (" + std::to_string(SizeOf(path)) +
                 " bytes, without its end chunk)");
  }
}

void
ReadBack(const std::string & path, const CheckContext & context)
{
  CapturedMessages captured;
  try
  {
    auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::IOFileModeEnum::ReadMode);
    if (!io)
    {
      context.Fail("the written file cannot be read back");
    }
    io->SetFileName(path);
    io->ReadImageInformation();
    std::vector<char> buffer(io->GetImageSizeInBytes());
    io->Read(buffer.data());
  }
  catch (const itk::ExceptionObject & exception)
  {
    context.Fail("the written file cannot be read back: " + OneLine(exception));
  }
  if (const std::string failure = captured.FirstFailure(); !failure.empty())
  {
    context.Fail("the written file cannot be read back (reader says: " + failure + ")");
  }
}
} // namespace

void
CheckWrittenImage(const std::string & writtenPath, const std::string & userPath, std::uint64_t pixelBytes,
                  const std::string & writerMessages)
{
  const CheckContext context{ writtenPath, userPath, writerMessages };
  if (HasSuffix(writtenPath, ".nii") || HasSuffix(writtenPath, ".nii.gz") || HasSuffix(writtenPath, ".hdr") ||
      HasSuffix(writtenPath, ".hdr.gz"))
  {
    CheckNifti(writtenPath, pixelBytes, context);
  }
  else if (HasSuffix(writtenPath, ".mha") || HasSuffix(writtenPath, ".mhd"))
  {
    if (!CheckMetaImage(writtenPath, pixelBytes, context))
    {
      ReadBack(writtenPath, context);
    }
  }
  else if (HasSuffix(writtenPath, ".nrrd") || HasSuffix(writtenPath, ".nhdr"))
  {
    if (!CheckNrrd(writtenPath, pixelBytes, context))
    {
      ReadBack(writtenPath, context);
    }
  }
  else if (HasSuffix(writtenPath, ".png"))
  {
    CheckPng(writtenPath, context);
  }
  else
  {
    ReadBack(writtenPath, context);
  }
}

std::string
NoSpaceNote(const std::string & writtenPath)
{
  struct statvfs fs;
  if (statvfs(DirectoryPart(writtenPath).c_str(), &fs) == 0 &&
      static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < (std::uint64_t{ 1 } << 16))
  {
    return " (no space left on device)";
  }
  return {};
}

void
CheckWrittenSize(const std::string & writtenPath, const std::string & userPath, std::uint64_t expectedBytes)
{
  const CheckContext context{ writtenPath, userPath, std::string() };
  context.Require(SizeOf(writtenPath), expectedBytes, "it has");
}

CapturedStandardError::CapturedStandardError()
{
  std::cerr.flush();
  std::fflush(stderr);
  m_CaptureDescriptor = memfd_create("kmeans-segment-stderr", MFD_CLOEXEC);
  m_SavedDescriptor = m_CaptureDescriptor < 0 ? -1 : dup(STDERR_FILENO);
  if (m_SavedDescriptor < 0 || dup2(m_CaptureDescriptor, STDERR_FILENO) < 0)
  {
    Release(); // capturing is not possible: the messages go to the standard error as before
  }
}

CapturedStandardError::~CapturedStandardError()
{
  Release();
}

std::string
CapturedStandardError::Release()
{
  std::cerr.flush();
  std::fflush(stderr);
  if (m_SavedDescriptor >= 0)
  {
    dup2(m_SavedDescriptor, STDERR_FILENO);
    close(m_SavedDescriptor);
    m_SavedDescriptor = -1;
  }
  std::string text;
  if (m_CaptureDescriptor >= 0)
  {
    char    buffer[4096];
    ssize_t n = 0;
    lseek(m_CaptureDescriptor, 0, SEEK_SET);
    while ((n = read(m_CaptureDescriptor, buffer, sizeof(buffer))) > 0)
    {
      text.append(buffer, static_cast<std::size_t>(n));
    }
    close(m_CaptureDescriptor);
    m_CaptureDescriptor = -1;
  }
  return text;
}
} // namespace kmeans_cli
