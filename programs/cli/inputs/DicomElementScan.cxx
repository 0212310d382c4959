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
#include "cli/inputs/DicomElementScan.h"

#include "cli/run/ErrorReporting.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace kmeans_cli
{
namespace
{
constexpr uint32_t UndefinedLength = 0xffffffffu;
constexpr uint64_t UndefinedEnd = ~uint64_t(0);
constexpr unsigned MaximumDepth = 64; // sequences nested in items of sequences; real files have a handful
/** Lengths past the end of the file that GDCM may allocate: in its fallback reading (it then reads the file
 * otherwise), and of pixel data (a file cut short, which the caller reports). */
constexpr uint64_t LargestFallbackLength = uint64_t(16) << 20;

/** Random access to a file's bytes through a 64 KiB window (element headers are read one after another). */
class ByteWindow
{
public:
  explicit ByteWindow(const std::string & fileName)
    : m_Stream(fileName, std::ios::binary)
  {
    m_Stream.seekg(0, std::ios::end);
    const std::streamoff size = m_Stream ? static_cast<std::streamoff>(m_Stream.tellg()) : std::streamoff(-1);
    m_Size = size > 0 ? static_cast<uint64_t>(size) : 0;
  }

  uint64_t
  Size() const
  {
    return m_Size;
  }

  /** Copies \a count bytes at \a position; false when they are not all in the file. */
  bool
  Read(uint64_t position, unsigned char * bytes, std::size_t count)
  {
    if (position > m_Size || count > m_Size - position)
    {
      return false;
    }
    if (count == 0)
    {
      return true;
    }
    if (position < m_Start || position + count > m_Start + m_Buffer.size())
    {
      m_Start = position;
      m_Buffer.resize(static_cast<std::size_t>(std::min<uint64_t>(std::max<std::size_t>(count, 1 << 16), m_Size - position)));
      m_Stream.clear();
      m_Stream.seekg(static_cast<std::streamoff>(position));
      m_Stream.read(reinterpret_cast<char *>(m_Buffer.data()), static_cast<std::streamsize>(m_Buffer.size()));
      if (m_Stream.gcount() != static_cast<std::streamsize>(m_Buffer.size()))
      {
        m_Buffer.clear();
        return false;
      }
    }
    std::memcpy(bytes, m_Buffer.data() + (position - m_Start), count);
    return true;
  }

private:
  std::ifstream              m_Stream;
  uint64_t                   m_Size{ 0 };
  uint64_t                   m_Start{ 0 };
  std::vector<unsigned char> m_Buffer;
};

struct Encoding
{
  bool Explicit{ true };
  bool BigEndian{ false };
};

/** One element header: tag, VR (explicit VR only), value length and where the value starts. */
struct ElementHeader
{
  uint16_t Group{ 0 };
  uint16_t Element{ 0 };
  char     VR[3]{ 0, 0, 0 };
  uint32_t Length{ 0 };
  uint64_t ValueStart{ 0 };

  bool
  Is(uint16_t group, uint16_t element) const
  {
    return Group == group && Element == element;
  }
  bool
  HasVR(const char * vr) const
  {
    return std::strcmp(VR, vr) == 0;
  }
};

/** The VRs of PS3.5 table 7.1-1 whose explicit-VR header has a 4-byte length (12 bytes in all). */
bool
HasLongLength(const char * vr)
{
  static const char * const vrs[] = { "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV" };
  return std::any_of(std::begin(vrs), std::end(vrs), [vr](const char * v) { return std::strcmp(v, vr) == 0; });
}

bool
IsKnownVR(const char * vr)
{
  static const char * const vrs[] = { "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO",
                                      "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US" };
  return HasLongLength(vr) ||
         std::any_of(std::begin(vrs), std::end(vrs), [vr](const char * v) { return std::strcmp(v, vr) == 0; });
}

/** Two printable characters that are not a VR PS3.5 defines: GDCM 3.0 reads such a VR as UN (a newer VR, whose
 * explicit-VR header has a 4-byte length); other bytes make it give up the explicit VR reading. */
bool
IsUnknownPrintableVR(const char * vr)
{
  auto printable = [](char c) { return c >= ' ' && c <= '~'; };
  return printable(vr[0]) && printable(vr[1]) && !IsKnownVR(vr);
}

uint16_t
Read16(const unsigned char * p, bool bigEndian)
{
  return bigEndian ? static_cast<uint16_t>(p[0] << 8 | p[1]) : static_cast<uint16_t>(p[1] << 8 | p[0]);
}

uint32_t
Read32(const unsigned char * p, bool bigEndian)
{
  return bigEndian ? (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]))
                   : (uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | uint32_t(p[0]));
}

std::string
TagText(uint16_t group, uint16_t element)
{
  char text[16];
  std::snprintf(text, sizeof(text), "(%04x,%04x)", group, element);
  return text;
}

/** Where GDCM's explicit VR big endian reading of a data set meets bytes that are not a VR (it then gives up). */
struct BigEndianPassFails
{
  uint64_t Position;
};

class DicomElementScanner
{
public:
  explicit DicomElementScanner(const std::string & fileName)
    : m_FileName(fileName)
    , m_Bytes(fileName)
  {}

  DicomElementScanResult
  Scan()
  {
    unsigned char start[132] = {};
    const bool    preamble = m_Bytes.Read(0, start, 132) && std::memcmp(start + 128, "DICM", 4) == 0;
    if (!preamble && !m_Bytes.Read(0, start, 8))
    {
      return DicomElementScanResult::NotDicom;
    }
    uint64_t    position = preamble ? 132 : 0;
    std::string transferSyntax;
    bool        metaGroup = false;
    if (preamble || Read16(start, false) == 0x0002)
    {
      const uint64_t metaStart = position;
      position = ScanMetaGroup(position, transferSyntax);
      metaGroup = position != metaStart;
      if (position >= m_Bytes.Size())
      {
        Damaged("the file ends after its meta group, with no data set"); // GDCM 3.0 asserts on it
      }
    }
    else if (bool bigEndian = false; !StartsDataSet(start, bigEndian))
    {
      return DicomElementScanResult::NotDicom;
    }
    if (transferSyntax == "1.2.840.10008.1.2.1.99")
    {
      return DicomElementScanResult::Deflated;
    }
    Encoding      encoding;
    unsigned char first[8];
    if (m_Bytes.Read(position, first, 8))
    {
      // The transfer syntax decides the byte order; whether VRs are written is read from the first element, as
      // GDCM does for files whose meta group misstates it.
      const char vr[3] = { static_cast<char>(first[4]), static_cast<char>(first[5]), 0 };
      encoding.Explicit = IsKnownVR(vr);
      encoding.BigEndian = transferSyntax == "1.2.840.10008.1.2.2" ||
                           (transferSyntax.empty() && GuessesBigEndian(first, encoding.Explicit, metaGroup));
    }
    m_DataSetStart = position;
    if (encoding.Explicit && encoding.BigEndian)
    {
      try
      {
        m_BigEndianPass = true;
        ScanDataSet(position, m_Bytes.Size(), encoding, 0);
        return DicomElementScanResult::Valid;
      }
      catch (const BigEndianPassFails & failure)
      {
        // GDCM 3.0 reads on little endian whatever the transfer syntax: with 16-bit lengths from that element, then
        // as explicit and implicit VR mixed from the start of the data set.
        m_BigEndianPass = false;
        m_PixelDataSeen = false;
        m_StopPosition = UndefinedEnd;
        m_VR16Checked = true;
        CheckVR16Reading(failure.Position, false);
        encoding.BigEndian = false;
      }
    }
    ScanDataSet(position, m_Bytes.Size(), encoding, 0);
    return DicomElementScanResult::Valid;
  }

private:
  /** A file without preamble and meta group that GDCM 3.0 takes for a data set (ACR-NEMA; gdcm::Reader::CanRead):
   * a first group number up to 00ff in the byte order its first bytes suggest, followed by a known VR, or by an
   * implicit VR length under 255 (little endian); but not a NIfTI or Analyze header, whose sizeof_hdr (348 or
   * 540) stored big endian also starts so. Sets \a bigEndian to that byte order (GDCM's check only). */
  static bool
  StartsDataSet(const unsigned char * start, bool & bigEndian)
  {
    for (const bool swapped : { false, true })
    {
      const uint32_t sizeofHdr = Read32(start, swapped);
      if (sizeofHdr == 348 || sizeofHdr == 540)
      {
        return false;
      }
    }
    const auto signedByte = [start](int i) { return static_cast<signed char>(start[i]); }; // GDCM compares chars
    bigEndian = signedByte(0) < signedByte(1) || (start[0] == 0 && start[1] == 0 && signedByte(4) < signedByte(7));
    if (Read16(start, bigEndian) > 0xff)
    {
      return false;
    }
    const char vr[3] = { static_cast<char>(start[4]), static_cast<char>(start[5]), 0 };
    if (vr[0] >= 'A' && vr[0] <= 'Z' && vr[1] >= 'A' && vr[1] <= 'Z')
    {
      return IsKnownVR(vr);
    }
    return !bigEndian && Read32(start + 4, false) < 0xff;
  }

  /** The byte order GDCM 3.0 gives a data set without a transfer syntax, from its first element \a first
   * (FileMetaInformation::ReadCompat, the tag read little endian): big endian for group 0800 (0008 big endian)
   * and, without a meta group, for a tag of another group whose group or element number is above 00ff followed
   * by a VR (found by fuzzing: GDCM read a length of 41 big endian and allocated 688 MB); little endian for groups
   * 0002 and 0008 and private creator elements (xxxx,0010). */
  static bool
  GuessesBigEndian(const unsigned char * first, bool knownVR, bool metaGroup)
  {
    const uint16_t group = Read16(first, false), element = Read16(first + 2, false);
    if (group == 0x0800)
    {
      return true;
    }
    if (metaGroup || group == 0x0002 || group == 0x0008 || element == 0x0010)
    {
      return false;
    }
    return knownVR && (group > 0xff || element > 0xff);
  }

  [[noreturn]] void
  Damaged(const std::string & problem) const
  {
    throw FileError(m_FileName, "damaged DICOM file: " + problem + " (the file has " + std::to_string(m_Bytes.Size()) +
                                  " bytes); not read");
  }

  /** Samples per Pixel (0028,0002) as this reading of the data set finds it: GDCM 3.0 aborts on an assertion when
   * it reads an image with a value other than 1, 3 or 4 (found by fuzzing, in a reading where GDCM's own header
   * reading up to the pixel data had seen another value). */
  void
  CheckSamplesPerPixel(const ElementHeader & header, const Encoding & encoding)
  {
    unsigned char value[2];
    if (header.Length != 2 || !m_Bytes.Read(header.ValueStart, value, 2))
    {
      return;
    }
    const uint16_t samples = Read16(value, encoding.BigEndian);
    if (samples != 1 && samples != 3 && samples != 4)
    {
      Damaged("Samples per Pixel (0028,0002) is " + std::to_string(samples) + " (DICOM allows 1, 3 or 4)");
    }
  }

  /** GDCM 3.0's reading of the header up to the pixel data (ReadDicomSliceHeader) stops at the first data set
   * element whose tag is at or above (7fe0,0010), whatever it is; its reading of the whole file (ITK's) reads on
   * and sorts the elements. An element after that first one with a lower tag (out of the ascending order PS3.5
   * section 7.1 requires) would reach GDCM's image reading unchecked (a PALETTE COLOR Photometric Interpretation
   * after a private element of group ff1f made it abort on an assertion, found by fuzzing): refused. */
  void
  CheckTopLevelOrder(const ElementHeader & header, uint64_t position)
  {
    const uint32_t tag = uint32_t(header.Group) << 16 | header.Element;
    if (m_StopPosition == UndefinedEnd)
    {
      if (tag >= 0x7fe00010u)
      {
        m_StopTag = tag;
        m_StopPosition = position;
      }
      return;
    }
    if (tag < m_StopTag)
    {
      Damaged("element " + TagText(header.Group, header.Element) + " at byte " + std::to_string(position) +
              " comes after element " + TagText(m_StopTag >> 16, m_StopTag & 0xffffu) + " at byte " +
              std::to_string(m_StopPosition) + " (data set elements must be in ascending tag order)");
    }
  }

  /** The header at \a position; explicit VR headers with an unknown VR are read as implicit ones. */
  ElementHeader
  ReadHeader(uint64_t position, const Encoding & encoding)
  {
    unsigned char bytes[12];
    if (!m_Bytes.Read(position, bytes, 8))
    {
      Damaged("the file ends inside the element header at byte " + std::to_string(position));
    }
    ElementHeader header;
    header.Group = Read16(bytes, encoding.BigEndian);
    header.Element = Read16(bytes + 2, encoding.BigEndian);
    header.VR[0] = static_cast<char>(bytes[4]);
    header.VR[1] = static_cast<char>(bytes[5]);
    if (encoding.Explicit && header.Group != 0xfffe && IsUnknownPrintableVR(header.VR))
    {
      header.VR[0] = 'U'; // as GDCM reads it
      header.VR[1] = 'N';
    }
    if (header.Group == 0xfffe || !encoding.Explicit || !IsKnownVR(header.VR))
    {
      if (encoding.Explicit && header.Group != 0xfffe && position >= m_DataSetStart && !m_VR16Checked)
      {
        if (m_BigEndianPass)
        {
          throw BigEndianPassFails{ position };
        }
        m_VR16Checked = true;
        CheckVR16Reading(position, encoding.BigEndian);
      }
      header.VR[0] = header.VR[1] = 0; // items and delimiters have no VR
      header.Length = Read32(bytes + 4, encoding.BigEndian);
      header.ValueStart = position + 8;
    }
    else if (!HasLongLength(header.VR))
    {
      header.Length = Read16(bytes + 6, encoding.BigEndian);
      header.ValueStart = position + 8;
    }
    else
    {
      if (!m_Bytes.Read(position, bytes, 12))
      {
        Damaged("the file ends inside the element header at byte " + std::to_string(position));
      }
      header.Length = Read32(bytes + 8, encoding.BigEndian);
      header.ValueStart = position + 12;
    }
    return header;
  }

  /** GDCM 3.0 gives up reading an explicit VR data set at the first element whose VR bytes are not printable and
   * reads it again from there with VR16ExplicitDataElement: 16-bit lengths for such VRs, the usual lengths for
   * others. It allocates each length before it finds the file short; only when that reading fails does it read
   * the data set as explicit and implicit VR mixed (as ScanDataSet does). Follows that reading from the element at
   * \a position to the first failure and throws at a length that runs past the end of the file and is larger than
   * the file and LargestFallbackLength. */
  void
  CheckVR16Reading(uint64_t position, bool bigEndian)
  {
    const uint64_t start = position;
    unsigned char  bytes[12];
    const auto     asserts = [&](const std::string & what) {
      Damaged(what + " at byte " + std::to_string(position) + ", in the reading with 16-bit lengths that GDCM falls " +
              "back to at byte " + std::to_string(start) + " (GDCM 3.0 aborts on an assertion there)");
    };
    for (; position < m_Bytes.Size(); )
    {
      if (!m_Bytes.Read(position, bytes, 8))
      {
        asserts("the file ends inside an element header");
      }
      const uint16_t group = Read16(bytes, bigEndian), element = Read16(bytes + 2, bigEndian);
      const char     vr[3] = { static_cast<char>(bytes[4]), static_cast<char>(bytes[5]), 0 };
      if (group == 0xfffe)
      {
        if (element == 0xe0dd || element == 0x0000)
        {
          asserts("a sequence delimitation or item tag " + TagText(group, element));
        }
        if (element != 0xe00d)
        {
          return; // an item where a data element was expected: GDCM stops
        }
        position += 8;
        continue;
      }
      const bool     invalid = !IsKnownVR(vr) && !IsUnknownPrintableVR(vr);
      const bool     longLength = invalid ? group == 0x7fe0 && element == 0x0010 // GDCM's "OX" pixel data
                                          : HasLongLength(vr) || IsUnknownPrintableVR(vr);
      const uint64_t valueStart = position + (longLength ? 12 : 8);
      if (longLength && !m_Bytes.Read(position, bytes, 12))
      {
        asserts("the file ends inside an element header");
      }
      if (invalid && longLength && (bytes[6] != 0 || bytes[7] != 0))
      {
        asserts("pixel data whose VR bytes are not a VR and whose next two bytes are not zero");
      }
      const uint32_t length = longLength ? Read32(bytes + 8, bigEndian) : Read16(bytes + 6, bigEndian);
      if (length == UndefinedLength || (invalid && group == 0 && element == 0 && length == 0))
      {
        return; // sequences and fragments of undefined length are not followed; GDCM stops on (0000,0000)
      }
      if (length > m_Bytes.Size() - std::min(m_Bytes.Size(), valueStart))
      {
        if (length > std::max(m_Bytes.Size(), LargestFallbackLength))
        {
          Damaged("element " + TagText(group, element) + " at byte " + std::to_string(position) +
                  " declares a value of " + std::to_string(length) + " bytes, past the end of the file, in the " +
                  "reading with 16-bit lengths that GDCM falls back to at byte " + std::to_string(start) +
                  ", where the VR bytes are not a VR");
        }
        return; // GDCM allocates it, fails and reads the file as explicit and implicit VR mixed
      }
      position = valueStart + length;
    }
  }

  /** Throws when the header or the value of the element at \a position run past \a end (the file's or its item's). */
  void
  CheckValueFits(const ElementHeader & header, uint64_t position, uint64_t end) const
  {
    if (header.ValueStart > end)
    {
      Damaged("the header of element " + TagText(header.Group, header.Element) + " at byte " +
              std::to_string(position) + " runs past the end of its item at byte " + std::to_string(end));
    }
    if (header.Length > end - std::min(end, header.ValueStart))
    {
      Damaged("element " + TagText(header.Group, header.Element) + " at byte " + std::to_string(position) +
              " declares a value of " + std::to_string(header.Length) + " bytes, past the end of " +
              (end == m_Bytes.Size() ? std::string("the file") : "its item at byte " + std::to_string(end)));
    }
  }

  /** GDCM 3.0 reads a file meta group whose first VR is not a VR with implicit VRs (tag and 4-byte length), and
   * aborts on an assertion where an element of it does not fit in the file: throws then. */
  void
  CheckImplicitMetaGroup(uint64_t position)
  {
    unsigned char bytes[8];
    while (m_Bytes.Read(position, bytes, 4) && Read16(bytes, false) == 0x0002)
    {
      const std::string element = "file meta element " + TagText(0x0002, Read16(bytes + 2, false)) + " at byte " +
                                  std::to_string(position) + " (read with implicit VR, as GDCM reads a meta group " +
                                  "whose first VR is not a VR)";
      if (!m_Bytes.Read(position, bytes, 8))
      {
        Damaged("the file ends inside " + element);
      }
      const uint32_t length = Read32(bytes + 4, false);
      if (length == UndefinedLength || length > m_Bytes.Size() - (position + 8))
      {
        Damaged(element + " declares a value of " + std::to_string(length) + " bytes, past the end of the file");
      }
      position += 8 + uint64_t(length);
    }
    if (m_Bytes.Size() - position < 4)
    {
      Damaged("the file ends inside its file meta group at byte " + std::to_string(position) +
              " (read with implicit VR, as GDCM reads a meta group whose first VR is not a VR)");
    }
  }

  /** The file meta group (group 0002, explicit VR little endian): returns where the data set starts. */
  uint64_t
  ScanMetaGroup(uint64_t position, std::string & transferSyntax)
  {
    unsigned char tag[2];
    unsigned char first[6];
    if (m_Bytes.Read(position, first, 6) && Read16(first, false) == 0x0002)
    {
      const char vr[3] = { static_cast<char>(first[4]), static_cast<char>(first[5]), 0 };
      if (!IsKnownVR(vr))
      {
        CheckImplicitMetaGroup(position);
      }
    }
    while (m_Bytes.Read(position, tag, 2) && Read16(tag, false) == 0x0002)
    {
      const ElementHeader header = ReadHeader(position, Encoding{});
      if (header.Length == UndefinedLength || header.HasVR("SQ"))
      {
        // GDCM 3.0 aborts on an assertion for either.
        Damaged("file meta element " + TagText(header.Group, header.Element) + " at byte " + std::to_string(position) +
                (header.HasVR("SQ") ? " is a sequence (VR SQ)" : " has an undefined length"));
      }
      CheckValueFits(header, position, m_Bytes.Size());
      unsigned char groupLength[4];
      if (header.Is(0x0002, 0x0000) && header.Length == 4 && m_Bytes.Read(header.ValueStart, groupLength, 4) &&
          Read32(groupLength, false) > m_Bytes.Size() - (header.ValueStart + 4))
      {
        // GDCM reads the meta group to the length this element gives, and aborts when the file ends first.
        Damaged("the file meta group length (0002,0000) at byte " + std::to_string(position) + " is " +
                std::to_string(Read32(groupLength, false)) + " bytes, past the end of the file");
      }
      if (header.Is(0x0002, 0x0010))
      {
        std::vector<unsigned char> value(std::min<uint32_t>(header.Length, 64));
        m_Bytes.Read(header.ValueStart, value.data(), value.size());
        transferSyntax.assign(value.begin(), value.end());
        transferSyntax.erase(transferSyntax.find_last_not_of(std::string(" \0", 2)) + 1);
      }
      position = header.ValueStart + header.Length;
    }
    return position;
  }

  /** The elements from \a position to \a end, or for an item of undefined length (\a end UndefinedEnd) to its
   * item delimitation, inside \a depth sequences; returns the position after them. */
  uint64_t
  ScanDataSet(uint64_t position, uint64_t end, const Encoding & encoding, unsigned int depth)
  {
    const uint64_t limit = end == UndefinedEnd ? m_Bytes.Size() : end;
    while (position != end)
    {
      if (depth == 0 && m_Bytes.Size() - position < 8)
      {
        if (!m_PixelDataSeen)
        {
          Damaged("the file ends inside the element header at byte " + std::to_string(position));
        }
        return m_Bytes.Size(); // a few bytes of padding after the pixel data
      }
      const ElementHeader header = ReadHeader(position, encoding);
      if (header.ValueStart > limit)
      {
        CheckValueFits(header, position, limit);
      }
      if (depth == 0)
      {
        CheckTopLevelOrder(header, position);
      }
      if (header.Group == 0xfffe && (header.Element == 0xe000 || header.Element == 0xe00d || header.Element == 0xe0dd))
      {
        if (header.Element == 0xe00d && end == UndefinedEnd)
        {
          return header.ValueStart; // item delimitation
        }
        if (header.Element == 0xe000)
        {
          Damaged("item tag (fffe,e000) outside a sequence at byte " + std::to_string(position));
        }
        position = header.ValueStart; // a stray delimiter: no value
        continue;
      }
      // Other elements of group fffe are read by GDCM as elements with a value (it allocated 3.7 GB for one, found
      // by fuzzing): checked below like any other.
      const bool pixelData = header.Is(0x7fe0, 0x0010);
      m_PixelDataSeen = m_PixelDataSeen || (pixelData && depth == 0);
      if (header.Length == UndefinedLength)
      {
        if (encoding.Explicit && !pixelData && !header.HasVR("SQ") && !header.HasVR("UN") && header.VR[0] != 0)
        {
          Damaged("element " + TagText(header.Group, header.Element) + " at byte " + std::to_string(position) +
                  " of VR " + header.VR + " has an undefined length");
        }
        // A sequence of undefined length (UN: its items are implicit VR little endian), or encapsulated pixel data.
        const Encoding inner = header.HasVR("UN") ? Encoding{ false, false } : encoding;
        position = ScanSequence(header.ValueStart, UndefinedEnd, inner, depth + 1, pixelData);
        continue;
      }
      if (pixelData && depth == 0 && header.Length > limit - std::min(limit, header.ValueStart) &&
          header.Length <= std::max(m_Bytes.Size(), LargestFallbackLength))
      {
        return m_Bytes.Size(); // pixel data cut short: reported by the caller with the bytes missing
      }
      // (GDCM allocates the declared length of pixel data before it reads them: a length larger than the file and
      // 16 MiB is refused by the check below.)
      CheckValueFits(header, position, limit);
      if (depth == 0 && header.Is(0x0028, 0x0002))
      {
        CheckSamplesPerPixel(header, encoding);
      }
      position = header.HasVR("SQ") ? ScanSequence(header.ValueStart, header.ValueStart + header.Length, encoding,
                                                   depth + 1, false)
                                    : header.ValueStart + header.Length;
    }
    return position;
  }

  /** The items of a sequence (or the fragments of encapsulated pixel data) from \a position to \a end, or to the
   * sequence delimitation when \a end is UndefinedEnd; returns the position after them. */
  uint64_t
  ScanSequence(uint64_t position, uint64_t end, const Encoding & encoding, unsigned int depth, bool fragments)
  {
    if (depth > MaximumDepth)
    {
      Damaged("sequences nested deeper than " + std::to_string(MaximumDepth) + " levels at byte " +
              std::to_string(position));
    }
    const uint64_t limit = end == UndefinedEnd ? m_Bytes.Size() : end;
    while (position != end)
    {
      const ElementHeader item = ReadHeader(position, Encoding{ false, encoding.BigEndian });
      if (item.ValueStart > limit)
      {
        CheckValueFits(item, position, limit);
      }
      if (item.Is(0xfffe, 0xe0dd))
      {
        if (end == UndefinedEnd)
        {
          return item.ValueStart;
        }
        position = item.ValueStart;
        continue;
      }
      if (!item.Is(0xfffe, 0xe000))
      {
        Damaged(TagText(item.Group, item.Element) + " at byte " + std::to_string(position) +
                " where an item of a sequence was expected");
      }
      if (item.Length == UndefinedLength && !fragments)
      {
        position = ScanDataSet(item.ValueStart, UndefinedEnd, encoding, depth);
        continue;
      }
      if (item.Length == UndefinedLength)
      {
        Damaged("a pixel data fragment of undefined length at byte " + std::to_string(position));
      }
      CheckValueFits(item, position, limit);
      const uint64_t itemEnd = item.ValueStart + item.Length;
      position = fragments ? itemEnd : ScanDataSet(item.ValueStart, itemEnd, encoding, depth);
    }
    return position;
  }

  std::string m_FileName;
  ByteWindow  m_Bytes;
  bool        m_PixelDataSeen{ false };
  bool        m_VR16Checked{ false };
  uint64_t    m_DataSetStart{ UndefinedEnd };
  bool        m_BigEndianPass{ false }; // GDCM's first reading of an explicit VR big endian data set
  uint32_t    m_StopTag{ 0 };                 // the first data set element at or above (7fe0,0010)
  uint64_t    m_StopPosition{ UndefinedEnd }; // and where it starts
};
} // namespace

DicomElementScanResult
ScanDicomElements(const std::string & fileName)
{
  return DicomElementScanner(fileName).Scan();
}
} // namespace kmeans_cli
