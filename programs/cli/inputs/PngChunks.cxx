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
#include "cli/inputs/PngChunks.h"

#include "cli/run/ErrorReporting.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace kmeans_cli
{
namespace
{
constexpr uint32_t Uint31Max = 0x7fffffffu;     // PNG_UINT_31_MAX: the largest chunk length
constexpr uint32_t ChunkLengthMax = 8000000u;   // libpng 1.6's PNG_USER_CHUNK_MALLOC_MAX (chunks but IDAT)
constexpr uint32_t DimensionMax = 1000000u;     // libpng 1.6's PNG_USER_WIDTH_MAX and PNG_USER_HEIGHT_MAX
constexpr uint32_t IHDR = 0x49484452u, PLTE = 0x504c5445u, IDAT = 0x49444154u, IEND = 0x49454e44u;

uint32_t
Big32(const unsigned char * p)
{
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

bool
IsLetterType(const unsigned char * type)
{
  return std::all_of(type, type + 4, [](unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

/** "chunk IHDR", or "chunk 2 (type bytes 20 00 00 00)" when its type is not four letters. */
std::string
ChunkText(unsigned int number, const unsigned char * type)
{
  if (IsLetterType(type))
  {
    return "chunk " + std::string(type, type + 4);
  }
  char text[64];
  std::snprintf(text, sizeof(text), "chunk %u (type bytes %02x %02x %02x %02x)", number, type[0], type[1], type[2],
                type[3]);
  return text;
}

/** The fields of IHDR that libpng's png_check_IHDR checks. */
struct ImageHeader
{
  uint32_t Width{ 0 };
  uint32_t Height{ 0 };
  int      BitDepth{ 0 };
  int      ColorType{ 0 };
  int      Compression{ 0 };
  int      Filter{ 0 };
  int      Interlace{ 0 };

  /** What libpng refuses in IHDR, or "" when it is valid. */
  std::string
  Problem() const
  {
    if (Width == 0 || Width > DimensionMax || Height == 0 || Height > DimensionMax)
    {
      return "image size " + std::to_string(Width) + " x " + std::to_string(Height) + " (libpng reads 1 to " +
             std::to_string(DimensionMax) + " pixels a side)";
    }
    const bool bitDepthValid = (ColorType == 0 && (BitDepth == 1 || BitDepth == 2 || BitDepth == 4 ||
                                                   BitDepth == 8 || BitDepth == 16)) ||
                               (ColorType == 3 && (BitDepth == 1 || BitDepth == 2 || BitDepth == 4 || BitDepth == 8)) ||
                               ((ColorType == 2 || ColorType == 4 || ColorType == 6) &&
                                (BitDepth == 8 || BitDepth == 16));
    if (!bitDepthValid)
    {
      return "bit depth " + std::to_string(BitDepth) + " with colour type " + std::to_string(ColorType);
    }
    if (Compression != 0 || Filter != 0 || Interlace > 1)
    {
      return "compression, filter and interlace methods " + std::to_string(Compression) + ", " +
             std::to_string(Filter) + ", " + std::to_string(Interlace) + " (0, 0 and 0 or 1 are defined)";
    }
    return {};
  }

  /** libpng's largest IDAT chunk for this image (png_check_chunk_length): the rows with their filter bytes
   * and zlib's overhead, at least the limit of other chunks. */
  uint64_t
  IdatLimit() const
  {
    static const int channels[] = { 1, 0, 3, 1, 2, 0, 4 };
    uint64_t         rowFactor =
      uint64_t(Width) * channels[ColorType] * (BitDepth > 8 ? 2 : 1) + 1 + (Interlace != 0 ? 6 : 0);
    uint64_t limit = Height > 0xffffffffu / rowFactor ? Uint31Max : Height * rowFactor;
    rowFactor = std::min<uint64_t>(rowFactor, 32566);
    limit = std::min<uint64_t>(limit + 6 + 5 * (limit / rowFactor + 1), Uint31Max);
    return std::max<uint64_t>(limit, ChunkLengthMax);
  }
};

class PngChunkWalker
{
public:
  explicit PngChunkWalker(const std::string & fileName)
    : m_FileName(fileName)
    , m_Stream(fileName, std::ios::binary | std::ios::ate)
  {
    const std::streamoff size = m_Stream ? static_cast<std::streamoff>(m_Stream.tellg()) : std::streamoff(-1);
    m_Size = size > 0 ? static_cast<uint64_t>(size) : 0;
  }

  void
  Walk()
  {
    static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char              start[8];
    if (!Read(0, start, 8) || std::memcmp(start, signature, 8) != 0)
    {
      Damaged("no PNG signature");
    }
    uint64_t position = 8;
    bool     seenPalette = false;
    for (unsigned int number = 1;; ++number)
    {
      unsigned char header[8];
      if (!Read(position, header, 8))
      {
        Damaged(position == m_Size ? "the file ends at byte " + std::to_string(position) + " before any IDAT chunk"
                                   : "the file ends inside the header of chunk " + std::to_string(number) +
                                       " at byte " + std::to_string(position));
      }
      const uint32_t    length = Big32(header), type = Big32(header + 4);
      const std::string where = ChunkText(number, header + 4) + " at byte " + std::to_string(position);
      CheckHeader(header, number, where);
      if (type == IDAT)
      {
        if (m_ImageHeader.ColorType == 3 && !seenPalette)
        {
          Damaged("a palette image without a PLTE chunk before its IDAT chunk at byte " + std::to_string(position));
        }
        if (length > m_ImageHeader.IdatLimit())
        {
          Damaged(where + " declares " + std::to_string(length) + " bytes, more than libpng reads for this image (" +
                  std::to_string(m_ImageHeader.IdatLimit()) + ")");
        }
        CheckFits(position, length, where);
        return; // libpng's png_read_info stops at the first IDAT
      }
      if (length > ChunkLengthMax)
      {
        Damaged(where + " declares " + std::to_string(length) + " bytes, more than libpng reads in a chunk (" +
                std::to_string(ChunkLengthMax) + ")");
      }
      CheckFits(position, length, where);
      if (type == IHDR || type == PLTE)
      {
        CheckCriticalChunk(position, length, type, where, seenPalette);
      }
      else if (type == IEND)
      {
        Damaged(where + " before any IDAT chunk");
      }
      else if ((header[4] & 0x20) == 0) // an upper-case first letter: a critical chunk
      {
        Damaged(where + " is a critical chunk that PNG readers do not know");
      }
      position += 12 + uint64_t(length);
    }
  }

private:
  [[noreturn]] void
  Damaged(const std::string & problem) const
  {
    throw FileError(m_FileName, "damaged PNG file: " + problem + " (the file has " + std::to_string(m_Size) +
                                  " bytes); not read");
  }

  bool
  Read(uint64_t position, unsigned char * bytes, std::size_t count)
  {
    if (position > m_Size || count > m_Size - position)
    {
      return false;
    }
    m_Stream.clear();
    m_Stream.seekg(static_cast<std::streamoff>(position));
    m_Stream.read(reinterpret_cast<char *>(bytes), static_cast<std::streamsize>(count));
    return m_Stream.gcount() == static_cast<std::streamsize>(count);
  }

  /** The length and type of chunk \a number, checked as libpng's png_read_chunk_header does; IHDR comes first. */
  void
  CheckHeader(const unsigned char * header, unsigned int number, const std::string & where) const
  {
    const uint32_t length = Big32(header);
    if (length > Uint31Max)
    {
      Damaged(where + " declares a length of " + std::to_string(length) + " bytes, over 2^31 - 1");
    }
    if (!IsLetterType(header + 4))
    {
      Damaged(where + ": a chunk type is four letters (libpng stops on others)");
    }
    if ((number == 1) != (Big32(header + 4) == IHDR))
    {
      Damaged(number == 1 ? "the first chunk is not IHDR but " + where : "a second " + where);
    }
  }

  /** Throws when the chunk's data and CRC run past the end of the file. */
  void
  CheckFits(uint64_t position, uint32_t length, const std::string & where) const
  {
    if (12 + uint64_t(length) > m_Size - position)
    {
      Damaged(where + " declares " + std::to_string(length) + " bytes of data, past the end of the file");
    }
  }

  /** IHDR and PLTE: read whole, CRC checked (libpng stops on a CRC error in a critical chunk), their fields
   * checked as libpng's png_handle_IHDR and png_handle_PLTE do. */
  void
  CheckCriticalChunk(uint64_t position, uint32_t length, uint32_t type, const std::string & where, bool & seenPalette)
  {
    std::vector<unsigned char> chunk(length + 8);
    Read(position + 4, chunk.data(), chunk.size());
    const auto computed = static_cast<uint32_t>(crc32(crc32(0, nullptr, 0), chunk.data(), length + 4));
    if (computed != Big32(chunk.data() + length + 4))
    {
      Damaged("CRC error in " + where);
    }
    const unsigned char * data = chunk.data() + 4;
    if (type == IHDR)
    {
      if (length != 13)
      {
        Damaged(where + " has " + std::to_string(length) + " bytes of data, not 13");
      }
      m_ImageHeader = ImageHeader{ Big32(data), Big32(data + 4), data[8], data[9], data[10], data[11], data[12] };
      const std::string problem = m_ImageHeader.Problem();
      if (!problem.empty())
      {
        Damaged("invalid IHDR: " + problem);
      }
      return;
    }
    if (seenPalette)
    {
      Damaged("a second " + where);
    }
    seenPalette = true;
    if ((m_ImageHeader.ColorType & 2) != 0 && (length == 0 || length > 768 || length % 3 != 0))
    {
      Damaged(where + " has " + std::to_string(length) + " bytes of data; a palette has 1 to 256 entries of 3 bytes");
    }
  }

  std::string   m_FileName;
  std::ifstream m_Stream;
  uint64_t      m_Size{ 0 };
  ImageHeader   m_ImageHeader;
};
} // namespace

void
CheckPngChunks(const std::string & fileName)
{
  PngChunkWalker(fileName).Walk();
}
} // namespace kmeans_cli
