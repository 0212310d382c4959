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
// The element-length scan that guards GDCM against damaged DICOM files (cli/inputs/DicomElementScan.h): files written
// by ITK and pydicom in every transfer-syntax family pass, files whose lengths run past the end are refused with
// a one-line error naming the file, the element and the byte offset, before GDCM reads them.
#include "cli/inputs/DicomElementScan.h"
#include "cli/inputs/DicomSeries.h"
#include "cli/run/ErrorReporting.h"
#include "DicomTestSeries.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace
{
namespace fs = std::filesystem;
using kmeans_cli::DicomElementScanResult;
using Bytes = std::vector<unsigned char>;

std::string
TestFile(const std::string & name)
{
  const fs::path directory = fs::current_path() / "dicom-element-scan-test"; // the build tree (ctest)
  fs::create_directories(directory);
  return (directory / name).string();
}

std::string
Write(const std::string & name, const Bytes & bytes)
{
  const std::string path = TestFile(name);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  return path;
}

/** Builds DICOM byte streams element by element. */
struct DicomBytes
{
  Bytes Data;
  bool  Explicit{ true };
  bool  BigEndian{ false };

  void
  Put(uint32_t value, int size)
  {
    for (int i = 0; i < size; ++i)
    {
      const int shift = 8 * (BigEndian ? size - 1 - i : i);
      Data.push_back(static_cast<unsigned char>(value >> shift));
    }
  }
  DicomBytes &
  Preamble(const std::string & transferSyntax)
  {
    Data.assign(128, 0);
    Data.insert(Data.end(), { 'D', 'I', 'C', 'M' });
    const bool explicitVR = Explicit, bigEndian = BigEndian;
    Explicit = true;
    BigEndian = false;
    Element(0x0002, 0x0010, "UI", transferSyntax + (transferSyntax.size() % 2 ? std::string(1, '\0') : ""));
    Explicit = explicitVR;
    BigEndian = bigEndian;
    return *this;
  }
  /** An element header with a declared length, then the value bytes given (which may be fewer). */
  DicomBytes &
  Header(uint16_t group, uint16_t element, const char * vr, uint32_t length)
  {
    Put(group, 2);
    Put(element, 2);
    const bool longLength = std::string("OB OW SQ UN UT").find(vr) != std::string::npos;
    if (Explicit && group != 0xfffe)
    {
      Data.insert(Data.end(), { static_cast<unsigned char>(vr[0]), static_cast<unsigned char>(vr[1]) });
      if (longLength)
      {
        Put(0, 2);
      }
      Put(length, longLength ? 4 : 2);
    }
    else
    {
      Put(length, 4);
    }
    return *this;
  }
  DicomBytes &
  Element(uint16_t group, uint16_t element, const char * vr, const std::string & value)
  {
    Header(group, element, vr, static_cast<uint32_t>(value.size()));
    Data.insert(Data.end(), value.begin(), value.end());
    return *this;
  }
  DicomBytes &
  Item(uint32_t length = 0xffffffffu)
  {
    return Header(0xfffe, 0xe000, "", length);
  }
  DicomBytes &
  ItemEnd()
  {
    return Header(0xfffe, 0xe00d, "", 0);
  }
  DicomBytes &
  SequenceEnd()
  {
    return Header(0xfffe, 0xe0dd, "", 0);
  }
  /** A data set with a nested sequence of undefined length and 16 bytes of native pixel data. */
  DicomBytes &
  Typical()
  {
    Element(0x0008, 0x0060, "CS", "MR");
    Header(0x0008, 0x1140, "SQ", 0xffffffffu).Item().Element(0x0008, 0x1150, "UI", std::string("1.2.3\0", 6));
    ItemEnd().Item(10).Element(0x0008, 0x1155, "UI", std::string("1\0", 2)).SequenceEnd();
    Element(0x0028, 0x0010, "US", std::string("\x02\x00", 2));
    Header(0x7fe0, 0x0010, "OW", 16);
    Data.insert(Data.end(), 16, 7);
    return *this;
  }
};

/** The one-line error of ScanDicomElements (or, with singleFile, of CheckSingleDicomFile) on path; empty when the
 * file passes. */
std::string
ScanError(const std::string & path, bool singleFile = false)
{
  try
  {
    singleFile ? kmeans_cli::CheckSingleDicomFile(path) : static_cast<void>(kmeans_cli::ScanDicomElements(path));
  }
  catch (const kmeans_cli::FileError & error)
  {
    return error.what();
  }
  return {};
}

/** A 16-bit MR image of 8 bytes of pixel data in explicit little endian with the given Photometric Interpretation
 * and nothing else of an image's description. */
DicomBytes
ImageWithPhotometric(const std::string & photometric)
{
  DicomBytes file;
  file.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "MR");
  file.Element(0x0028, 0x0004, "CS", photometric).Element(0x0028, 0x0100, "US", std::string("\x10\x00", 2));
  file.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(file.Data.end(), 8, 1);
  return file;
}

TEST(DicomElementScan, ValidFilesInEveryEncodingPass)
{
  for (const auto & [name, syntax, explicitVR, bigEndian] :
       { std::tuple<const char *, const char *, bool, bool>{ "explicit-le.dcm", "1.2.840.10008.1.2.1", true, false },
         { "implicit-le.dcm", "1.2.840.10008.1.2", false, false },
         { "explicit-be.dcm", "1.2.840.10008.1.2.2", true, true },
         { "empty-syntax.dcm", "", true, false } }) // an empty transfer syntax UID (found by fuzzing)
  {
    DicomBytes file;
    file.Explicit = explicitVR;
    file.BigEndian = bigEndian;
    file.Preamble(syntax).Typical();
    const std::string path = Write(name, file.Data);
    EXPECT_EQ(kmeans_cli::ScanDicomElements(path), DicomElementScanResult::Valid) << name << ": " << ScanError(path);
  }
}

TEST(DicomElementScan, EncapsulatedPixelDataAndDeflatedDataSets)
{
  DicomBytes jpeg;
  jpeg.Preamble("1.2.840.10008.1.2.4.70").Element(0x0008, 0x0060, "CS", "MR").Header(0x7fe0, 0x0010, "OB", 0xffffffffu);
  jpeg.Item(0);
  DicomBytes cut = jpeg;
  jpeg.Item(4).Data.insert(jpeg.Data.end(), { 0xff, 0xd8, 0xff, 0xd9 });
  jpeg.SequenceEnd();
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("jpeg.dcm", jpeg.Data)), DicomElementScanResult::Valid);
  const std::size_t fragment = cut.Data.size();
  cut.Item(400).Data.insert(cut.Data.end(), 10, 0xff);
  const std::string cutPath = Write("jpeg-fragment-cut.dcm", cut.Data);
  EXPECT_EQ(ScanError(cutPath), cutPath + ": damaged DICOM file: element (fffe,e000) at byte " +
                                  std::to_string(fragment) + " declares a value of 400 bytes, past the end of the " +
                                  "file (the file has " + std::to_string(cut.Data.size()) + " bytes); not read");
  DicomBytes deflated;
  deflated.Preamble("1.2.840.10008.1.2.1.99").Data.insert(deflated.Data.end(), 40, 0xff);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("deflated.dcm", deflated.Data)), DicomElementScanResult::Deflated);
}

TEST(DicomElementScan, OtherFilesAreNotDicom)
{
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("header.nii", Bytes{ 0x5c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 })),
            DicomElementScanResult::NotDicom);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("big-endian.nii", Bytes{ 0, 0, 0x01, 0x5c, 0, 0, 0, 0, 0, 0 })),
            DicomElementScanResult::NotDicom);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("short.dcm", Bytes{ 'D', 'I' })), DicomElementScanResult::NotDicom);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(TestFile("missing.dcm")), DicomElementScanResult::NotDicom);
}

TEST(DicomElementScan, PixelDataCutShortIsLeftToTheSeriesCheck)
{
  DicomBytes file;
  file.Preamble("1.2.840.10008.1.2.1").Typical();
  file.Data.resize(file.Data.size() - 5);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("cut-pixels.dcm", file.Data)), DicomElementScanResult::Valid);
}

std::string
PastTheEnd(const std::string & path, const std::string & element, std::size_t at, std::size_t length,
           const std::string & end, std::size_t fileSize)
{
  return path + ": damaged DICOM file: element " + element + " at byte " + std::to_string(at) + " declares a value of " +
         std::to_string(length) + " bytes, past the end of " + end + " (the file has " + std::to_string(fileSize) +
         " bytes); not read";
}

TEST(DicomElementScan, LengthsPastTheEndAreRefused)
{
  DicomBytes meta;
  meta.Preamble("1.2.840.10008.1.2");
  const std::size_t metaAt = meta.Data.size();
  meta.Header(0x0002, 0x0012, "UI", 16098).Data.resize(300, '1');
  const std::string metaPath = Write("meta-length.dcm", meta.Data);
  EXPECT_EQ(ScanError(metaPath), PastTheEnd(metaPath, "(0002,0012)", metaAt, 16098, "the file", 300));

  DicomBytes group; // a meta group length past the end of the file (GDCM 3.0 asserts; found by fuzzing)
  group.Data.assign(128, 0);
  group.Data.insert(group.Data.end(), { 'D', 'I', 'C', 'M' });
  group.Header(0x0002, 0x0000, "UL", 4).Put(258, 4);
  group.Element(0x0002, 0x0002, "UI", std::string("1.2.840.10008.5.1.4.1.1.7\0", 26));
  const std::string groupPath = Write("meta-group-length.dcm", group.Data);
  EXPECT_EQ(ScanError(groupPath), groupPath + ": damaged DICOM file: the file meta group length (0002,0000) at byte "
                                              "132 is 258 bytes, past the end of the file (the file has 178 bytes); "
                                              "not read");

  DicomBytes sequence; // a file meta element of VR SQ (GDCM 3.0 asserts; found by fuzzing)
  sequence.Preamble("1.2.840.10008.1.2.1");
  sequence.Header(0x0002, 0x0012, "SQ", 0).Element(0x0008, 0x0060, "CS", "MR");
  const std::string sequencePath = Write("meta-sequence.dcm", sequence.Data);
  EXPECT_EQ(ScanError(sequencePath), sequencePath + ": damaged DICOM file: file meta element (0002,0012) at byte 160 "
                                                    "is a sequence (VR SQ) (the file has " +
                                       std::to_string(sequence.Data.size()) + " bytes); not read");

  DicomBytes tail; // a partial element header after the meta group (GDCM 3.0 asserts; found by fuzzing)
  tail.Preamble("1.2.840.10008.1.2.1").Data.insert(tail.Data.end(), { 0x08, 0x00, 0x60 });
  const std::string tailPath = Write("partial-header.dcm", tail.Data);
  EXPECT_EQ(ScanError(tailPath), tailPath + ": damaged DICOM file: the file ends inside the element header at byte " +
                                   std::to_string(tail.Data.size() - 3) + " (the file has " +
                                   std::to_string(tail.Data.size()) + " bytes); not read");

  DicomBytes huge;
  huge.Explicit = false;
  huge.Preamble("1.2.840.10008.1.2").Element(0x0008, 0x0060, "", "MR");
  const std::size_t hugeAt = huge.Data.size();
  huge.Header(0x0018, 0x0010, "", 800000000u).Data.resize(1000, ' ');
  const std::string hugePath = Write("huge-length.dcm", huge.Data);
  EXPECT_EQ(ScanError(hugePath), PastTheEnd(hugePath, "(0018,0010)", hugeAt, 800000000u, "the file", 1000));

  DicomBytes item; // an element longer than the item that holds it
  item.Preamble("1.2.840.10008.1.2.1").Header(0x0008, 0x1140, "SQ", 0xffffffffu).Item(12);
  const std::size_t itemAt = item.Data.size();
  item.Element(0x0008, 0x1150, "UI", "1.2.3.4.5.6").SequenceEnd();
  const std::string itemPath = Write("item-overrun.dcm", item.Data);
  EXPECT_EQ(ScanError(itemPath), PastTheEnd(itemPath, "(0008,1150)", itemAt, 11,
                                            "its item at byte " + std::to_string(itemAt + 12), item.Data.size()));

  DicomBytes open; // a sequence of undefined length that never ends
  open.Preamble("1.2.840.10008.1.2.1").Header(0x0008, 0x1140, "SQ", 0xffffffffu).Item();
  open.Element(0x0008, 0x0060, "CS", "MR");
  const std::string openPath = Write("open-sequence.dcm", open.Data);
  EXPECT_EQ(ScanError(openPath), openPath + ": damaged DICOM file: the file ends inside the element header at byte " +
                                   std::to_string(open.Data.size()) + " (the file has " +
                                   std::to_string(open.Data.size()) + " bytes); not read");

  // A declared length larger than the file and 16 MiB, which GDCM would allocate (found by fuzzing: 771 MB in a
  // 1 KB file whose first bytes of pixel data were enough for its rows and columns), is refused.
  DicomBytes pixels;
  pixels.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "MR");
  const std::size_t pixelsAt = pixels.Data.size();
  pixels.Header(0x7fe0, 0x0010, "OW", 771751976u).Data.insert(pixels.Data.end(), 40, 1);
  const std::string pixelsPath = Write("huge-pixels.dcm", pixels.Data);
  EXPECT_EQ(ScanError(pixelsPath),
            PastTheEnd(pixelsPath, "(7fe0,0010)", pixelsAt, 771751976u, "the file", pixels.Data.size()));
}

TEST(DicomElementScan, DeepNestingIsRefused)
{
  DicomBytes file;
  file.Preamble("1.2.840.10008.1.2.1");
  for (int i = 0; i < 70; ++i)
  {
    file.Header(0x0008, 0x1140, "SQ", 0xffffffffu).Item();
  }
  const std::string path = Write("deep.dcm", file.Data);
  EXPECT_NE(ScanError(path).find("sequences nested deeper than 64 levels"), std::string::npos) << ScanError(path);
}

/** The inputs of the input fuzz harness that made GDCM 3.0 allocate 800 MB or abort (test/fuzz/regressions/input,
 * format byte 4: the rest is a .dcm file): refused by the scan, and by the program's single-file check. */
TEST(DicomElementScan, FuzzFoundFilesAreRefused)
{
  for (const auto & [name, expected] :
       { std::pair<const char *, const char *>{ "dicom-element-length-800MB", "declares a value of 8" },
         { "dicom-meta-header-gdcm-assertion", "element (0002,0012) at byte 290 declares a value of 16098 bytes" },
         { "dicom-meta-group-unknown-vr-gdcm-assertion", "(read with implicit VR" },
         // (its Samples per Pixel of 64257 follows a private element (a169,000d): GDCM's header reading had not
         // seen it)
         { "dicom-samples-per-pixel-gdcm-assertion-2",
           "element (0020,000e) at byte 620 comes after element (a169,000d) at byte 548" },
         { "dicom-palette-after-private-element-gdcm-assertion",
           "element (0420,0013) at byte 790 comes after element (ff1f,0011) at byte 782" } })
  {
    std::ifstream in(std::string(KMEANS_FUZZ_REGRESSIONS_DIR) + "/input/" + name, std::ios::binary);
    Bytes         bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 132u) << name;
    ASSERT_EQ(bytes[0], 4) << name; // the harness's format byte of a single DICOM file
    const std::string path = Write(std::string(name) + ".dcm", Bytes(bytes.begin() + 1, bytes.end()));
    const std::string error = ScanError(path);
    EXPECT_EQ(error.rfind(path + ": damaged DICOM file: ", 0), 0u) << error;
    EXPECT_NE(error.find(expected), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_THROW(kmeans_cli::CheckSingleDicomFile(path), kmeans_cli::FileError) << name;
  }
}

/** GDCM 3.0 reads a VR of two printable characters it does not know as UN (4-byte length); at the first VR of
 * other bytes it reads the data set again from there with 16-bit lengths for such VRs (VR16ExplicitDataElement),
 * allocating each length before it finds the file short. */
TEST(DicomElementScan, LengthsAsGdcmFallbacksReadThemAreChecked)
{
  DicomBytes unknown; // a printable VR that PS3.5 does not define: a 4-byte length, past the end
  unknown.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "MR");
  const std::size_t unknownAt = unknown.Data.size();
  unknown.Put(0x0009, 2);
  unknown.Put(0x0010, 2);
  unknown.Data.insert(unknown.Data.end(), { 'Z', 'Z', 0, 0 });
  unknown.Put(900000000u, 4);
  unknown.Data.insert(unknown.Data.end(), 20, 'x');
  const std::string unknownPath = Write("unknown-vr.dcm", unknown.Data);
  EXPECT_EQ(ScanError(unknownPath),
            PastTheEnd(unknownPath, "(0009,0010)", unknownAt, 900000000u, "the file", unknown.Data.size()));

  // VR bytes 1a 00 (an implicit VR length): GDCM reads (0008,0016) with a 16-bit length of 0, then the text of
  // its value as an element (2e31,2e32) of VR "84" (UN for GDCM) whose 4-byte length is the text "1000".
  DicomBytes fallback;
  fallback.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "MR");
  const std::size_t fallbackAt = fallback.Data.size();
  fallback.Explicit = false;
  fallback.Element(0x0008, 0x0016, "", std::string("1.2.840.10008.5.1.4.1.1.7\0", 26));
  fallback.Element(0x0028, 0x0010, "", std::string("\x02\x00", 2));
  const std::string fallbackPath = Write("vr16-fallback.dcm", fallback.Data);
  EXPECT_EQ(ScanError(fallbackPath),
            fallbackPath + ": damaged DICOM file: element (2e31,2e32) at byte " + std::to_string(fallbackAt + 8) +
              " declares a value of 808464433 bytes, past the end of the file, in the reading with 16-bit lengths "
              "that GDCM falls back to at byte " + std::to_string(fallbackAt) + ", where the VR bytes are not a VR "
              "(the file has " + std::to_string(fallback.Data.size()) + " bytes); not read");

  // An explicit data set with implicit VR elements whose fallback reading only runs a little past the end (GDCM
  // allocates a few bytes, then reads the elements as explicit and implicit VR mixed): not refused.
  DicomBytes mixed;
  mixed.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "MR");
  mixed.Explicit = false;
  mixed.Element(0x0029, 0x1010, "", std::string(8, '\x01'));
  mixed.Element(0x0028, 0x0010, "", std::string("\x02\x00", 2));
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("mixed.dcm", mixed.Data)), DicomElementScanResult::Valid)
    << ScanError(TestFile("mixed.dcm"));
}

/** A meta group whose first VR is not a VR is read by GDCM 3.0 with implicit VRs, and an element that does not
 * fit then makes it abort on an assertion (found by fuzzing: VR "]L"): such a group is checked as implicit. */
TEST(DicomElementScan, ImplicitMetaGroupsAreCheckedAsGdcmReadsThem)
{
  DicomBytes implicitMeta; // an old writer's implicit VR meta group: readable
  implicitMeta.Data.assign(128, 0);
  implicitMeta.Data.insert(implicitMeta.Data.end(), { 'D', 'I', 'C', 'M' });
  implicitMeta.Explicit = false;
  implicitMeta.Element(0x0002, 0x0010, "", std::string("1.2.840.10008.1.2\0", 18));
  implicitMeta.Element(0x0008, 0x0060, "", "MR").Header(0x7fe0, 0x0010, "", 4);
  implicitMeta.Data.insert(implicitMeta.Data.end(), 4, 1);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("implicit-meta.dcm", implicitMeta.Data)), DicomElementScanResult::Valid)
    << ScanError(TestFile("implicit-meta.dcm"));

  DicomBytes damaged; // "]L" for UL: the 4-byte length GDCM then reads is "]L" and the next two bytes
  damaged.Data.assign(128, 0);
  damaged.Data.insert(damaged.Data.end(), { 'D', 'I', 'C', 'M' });
  damaged.Header(0x0002, 0x0000, "UL", 4).Put(30, 4);
  damaged.Data[136] = ']';
  damaged.Element(0x0002, 0x0010, "UI", std::string("1.2.840.10008.1.2\0", 18)).Element(0x0008, 0x0060, "CS", "MR");
  const std::string path = Write("meta-unknown-vr.dcm", damaged.Data);
  EXPECT_EQ(ScanError(path), path + ": damaged DICOM file: file meta element (0002,0000) at byte 132 (read with "
                                    "implicit VR, as GDCM reads a meta group whose first VR is not a VR) declares a "
                                    "value of 281693 bytes, past the end of the file (the file has " +
                               std::to_string(damaged.Data.size()) + " bytes); not read");
}

/** A file without preamble and meta group that GDCM 3.0 takes for a data set (a first group up to 00ff and a
 * known VR; found by fuzzing with group 0062, on which GDCM allocated 4 GB) is scanned as one. */
TEST(DicomElementScan, DataSetsWithoutMetaGroupThatGdcmReadsAreScanned)
{
  DicomBytes raw;
  raw.Element(0x0062, 0x0000, "UL", std::string(4, '\0')).Element(0x0008, 0x0060, "CS", "MR");
  const std::size_t at = raw.Data.size();
  raw.Header(0x0029, 0x1010, "OB", 500000000u).Data.insert(raw.Data.end(), 16, 1);
  const std::string path = Write("group-0062.dcm", raw.Data);
  EXPECT_EQ(ScanError(path), PastTheEnd(path, "(0029,1010)", at, 500000000u, "the file", raw.Data.size()));
  EXPECT_THROW(kmeans_cli::CheckSingleDicomFile(path), kmeans_cli::FileError);
  raw.Data.resize(at);
  raw.Header(0x7fe0, 0x0010, "OW", 4).Data.insert(raw.Data.end(), 4, 1);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("group-0062-valid.dcm", raw.Data)), DicomElementScanResult::Valid);
  // GDCM's check takes this one for big endian, but GDCM reads it little endian, as the scan does (found by fuzzing:
  // 600 MB allocated; test/fuzz/regressions/input, format byte 5, first half of the rest).
  std::ifstream in(std::string(KMEANS_FUZZ_REGRESSIONS_DIR) + "/input/dicom-series-raw-data-set-big-endian-check-600MB",
                   std::ios::binary);
  const Bytes   series((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(series.size(), 257u);
  const std::string half = Write("big-endian-check.dcm", Bytes(series.begin() + 1, series.begin() + 129));
  EXPECT_EQ(ScanError(half), PastTheEnd(half, "(0000,0000)", 52, 603979776u, "the file", 128));
  // Text whose first bytes make a group over 00ff is not DICOM for GDCM.
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("notes.txt", Bytes{ 'N', 'o', 't', 'e', 's', ':', ' ', 'x' })),
            DicomElementScanResult::NotDicom);
}

/** The two-file series of the input fuzz harness on which GDCM 3.0 allocated 808 MB in that fallback reading
 * (test/fuzz/regressions/input, format byte 5: the rest split in two halves, the files of a series directory):
 * refused by the scan and by the series listing, with one line. */
TEST(DicomElementScan, FuzzFoundSeriesIsRefused)
{
  std::ifstream in(std::string(KMEANS_FUZZ_REGRESSIONS_DIR) + "/input/dicom-series-vr16-explicit-800MB",
                   std::ios::binary);
  const Bytes   bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 264u);
  ASSERT_EQ(bytes[0], 5);
  const fs::path directory = TestFile("fuzz-series");
  fs::remove_all(directory);
  fs::create_directories(directory);
  const std::size_t half = (bytes.size() - 1) / 2;
  const std::string first = Write("fuzz-series/1.dcm", Bytes(bytes.begin() + 1, bytes.begin() + 1 + half));
  Write("fuzz-series/2.dcm", Bytes(bytes.begin() + 1 + half, bytes.end()));
  EXPECT_EQ(ScanError(first),
            first + ": damaged DICOM file: element (2e31,2e32) at byte 410 declares a value of 808464433 bytes, past "
                    "the end of the file, in the reading with 16-bit lengths that GDCM falls back to at byte 402, "
                    "where the VR bytes are not a VR (the file has 1046 bytes); not read");
  EXPECT_THROW(kmeans_cli::ListDicomSeries(directory.string()), kmeans_cli::FileError);
}

/** A Samples per Pixel other than 1, 3 or 4 made GDCM 3.0 abort on an assertion when ITK read the image (found by
 * fuzzing, test/fuzz/regressions/input: 64257 in a file without pixel data): refused when the header is read. */
TEST(DicomElementScan, SamplesPerPixelGdcmAbortsOnAreRefused)
{
  for (const unsigned char samples : { 0, 2, 5 })
  {
    DicomBytes file;
    file.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "MR");
    file.Element(0x0028, 0x0002, "US", std::string{ static_cast<char>(samples), 0 });
    const std::string path = Write("samples-" + std::to_string(samples) + ".dcm", file.Data);
    EXPECT_EQ(ScanError(path, true), path + ": damaged DICOM file: Samples per Pixel (0028,0002) is " +
                                       std::to_string(samples) +
                                       " (DICOM allows 1, 3 or 4) (the file has 180 bytes); not read");
  }
}

/** A series directory of a 5-byte and a 6-byte file (found by fuzzing; GDCM 3.0 checks eight bytes it does not
 * have and then asserted on the second, which starts with group 0002): the listing leaves them out, and a single
 * such file is refused with one line. */
TEST(DicomElementScan, FilesShorterThanAnElementHeaderAreNotReadByGdcm)
{
  const fs::path directory = TestFile("tiny-series");
  fs::remove_all(directory);
  fs::create_directories(directory);
  Write("tiny-series/1.dcm", Bytes{ 0x00, 0x55, 0x54, 0x60, 0x00 });
  const std::string second = Write("tiny-series/2.dcm", Bytes{ 0x02, 0x00, 0x00, 0x00, 0x4c, 0x00 });
  try
  {
    kmeans_cli::ListDicomSeries(directory.string());
    ADD_FAILURE() << directory << " was listed";
  }
  catch (const std::runtime_error & error)
  {
    EXPECT_EQ(std::string(error.what()), directory.string() + ": no DICOM image in the directory (2 files)");
  }
  try
  {
    kmeans_cli::CheckSingleDicomFile(second);
    ADD_FAILURE() << second << " was not refused";
  }
  catch (const kmeans_cli::FileError & error)
  {
    EXPECT_EQ(std::string(error.what()), second + ": only 6 bytes: too short for an image file");
  }
}

/** An image without Bits Allocated made GDCM 3.0 abort on an assertion (found by fuzzing): refused. */
TEST(DicomElementScan, ImagesWithoutBitsAllocatedAreRefused)
{
  DicomBytes file;
  file.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "MR");
  file.Element(0x0028, 0x0010, "US", std::string("\x02\x00", 2));
  file.Element(0x0028, 0x0011, "US", std::string("\x02\x00", 2));
  file.Element(0x0028, 0x0101, "US", std::string("\x10\x00", 2));
  file.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(file.Data.end(), 8, 1);
  const std::string path = Write("no-bits-allocated.dcm", file.Data);
  EXPECT_EQ(ScanError(path, true),
            path + ": damaged DICOM file: an image without Bits Allocated (0028,0100); not read");
}

/** A PALETTE COLOR image without its palette made GDCM 3.0 abort on an assertion (found by fuzzing): refused. */
TEST(DicomElementScan, PaletteImagesWithoutPaletteAreRefused)
{
  const DicomBytes file = ImageWithPhotometric("PALETTE COLOR ");
  const std::string path = Write("palette-without-palette.dcm", file.Data);
  EXPECT_EQ(ScanError(path, true), path + ": damaged DICOM file: a PALETTE COLOR image without its palette "
                                          "descriptors (0028,1101) to (0028,1103); not read");
}

/** A PALETTE COLOR image with its descriptors but without the lookup table data of one colour (neither
 * (0028,1201 + i) nor the segmented (0028,1221 + i)) made GDCM 3.0 abort on an assertion: refused, naming the
 * colour; with the data of all three colours, or segmented data, it passes the check. */
TEST(DicomElementScan, PaletteImagesWithoutLookupTableDataAreRefused)
{
  const std::string descriptor("\x00\x01\x00\x00\x10\x00", 6), table(512, '\x01');
  const auto        palette = [&](const std::vector<uint16_t> & tables) {
    DicomBytes file;
    file.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0060, "CS", "OT");
    file.Element(0x0028, 0x0002, "US", std::string("\x01\x00", 2));
    file.Element(0x0028, 0x0004, "CS", "PALETTE COLOR ").Element(0x0028, 0x0010, "US", std::string("\x02\x00", 2));
    file.Element(0x0028, 0x0011, "US", std::string("\x02\x00", 2));
    file.Element(0x0028, 0x0100, "US", std::string("\x10\x00", 2));
    for (uint16_t element : { 0x1101, 0x1102, 0x1103 })
    {
      file.Element(0x0028, element, "US", descriptor);
    }
    for (const uint16_t element : tables)
    {
      file.Element(0x0028, element, "OW", table);
    }
    file.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(file.Data.end(), 8, 1);
    return file.Data;
  };
  const std::string noGreen = Write("palette-without-green.dcm", palette({ 0x1201, 0x1203 }));
  EXPECT_EQ(ScanError(noGreen, true), noGreen + ": damaged DICOM file: a PALETTE COLOR image without its Green "
                                                "Palette Color Lookup Table Data (0028,1202) or (0028,1222); not read");
  const std::string noTables = Write("palette-without-tables.dcm", palette({}));
  EXPECT_EQ(ScanError(noTables, true), noTables + ": damaged DICOM file: a PALETTE COLOR image without its Red "
                                                  "Palette Color Lookup Table Data (0028,1201) or (0028,1221); not read");
  EXPECT_EQ(ScanError(Write("palette.dcm", palette({ 0x1201, 0x1202, 0x1203 })), true), "");
  EXPECT_EQ(ScanError(Write("palette-mixed.dcm", palette({ 0x1201, 0x1202, 0x1223 })), true), "");
}

/** Without a meta group GDCM 3.0 reads a data set whose first tag, read little endian, has a group or element
 * above 00ff (and is not of group 0008 or a private creator) followed by a VR as explicit VR big endian: the scan
 * reads the lengths so too (found by fuzzing: a length of 41 little endian, 688 MB big endian, which GDCM
 * allocated). */
TEST(DicomElementScan, DataSetsWithoutMetaGroupAreReadInTheByteOrderGdcmGuesses)
{
  DicomBytes bigEndian;
  bigEndian.BigEndian = true;
  bigEndian.Element(0x0010, 0x0010, "PN", "DOE^J ").Element(0x0028, 0x0010, "US", std::string("\x00\x02", 2));
  bigEndian.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(bigEndian.Data.end(), 8, 1);
  EXPECT_EQ(kmeans_cli::ScanDicomElements(Write("big-endian-without-meta.dcm", bigEndian.Data)),
            DicomElementScanResult::Valid);

  DicomBytes huge;
  huge.BigEndian = true;
  huge.Header(0x0055, 0x5460, "UT", 0x29000000u).Data.insert(huge.Data.end(), 41, 'x');
  const std::string path = Write("big-endian-length.dcm", huge.Data);
  EXPECT_EQ(ScanError(path), path + ": damaged DICOM file: element (0055,5460) at byte 0 declares a value of "
                                    "687865856 bytes, past the end of the file (the file has 53 bytes); not read");
}

/** A Recognition Code (0008,0010) other than ACR-NEMA's made GDCM 3.0 abort on an assertion (found by fuzzing):
 * refused, naming it; ACR-NEMA 2.0 passes. */
TEST(DicomElementScan, RecognitionCodesOtherThanAcrNemaAreRefused)
{
  const auto withCode = [](const std::string & name, const std::string & code) {
    DicomBytes file;
    file.Preamble("1.2.840.10008.1.2.1").Element(0x0008, 0x0010, "SH", code).Element(0x0008, 0x0060, "CS", "MR");
    const std::string two("\x02\x00", 2);
    file.Element(0x0028, 0x0010, "US", two).Element(0x0028, 0x0011, "US", two);
    file.Element(0x0028, 0x0100, "US", std::string("\x10\x00", 2));
    file.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(file.Data.end(), 8, 1);
    return Write(name, file.Data);
  };
  EXPECT_EQ(ScanError(withCode("acr-nema.dcm", "ACR-NEMA 2.0"), true), "");
  const std::string path = withCode("recognition-uid.dcm", "1.2.3.4 ");
  EXPECT_EQ(ScanError(path, true),
            path + ": damaged DICOM file: Recognition Code (0008,0010) \"1.2.3.4 \" is not ACR-NEMA's; not read");
}

/** A file starting like a big endian NIfTI header (sizeof_hdr 348) that GDCM's check also takes for a data set is
 * not handed to GDCM (found by fuzzing: on these 13 bytes GDCM 3.0 aborted on an assertion in its fallback
 * reading). */
TEST(DicomElementScan, NiftiLikeStartsAreNotHandedToGdcm)
{
  const std::string path = Write("nifti-like.dcm", Bytes{ 0, 0, 1, 0x5c, 'A', 'E', 0, 0, 0, 0x20, 0x40, 0, 0 });
  EXPECT_EQ(kmeans_cli::ScanDicomElements(path), DicomElementScanResult::NotDicom);
  kmeans_cli::DicomSliceHeader header;
  EXPECT_FALSE(kmeans_cli::ReadDicomSliceHeader(path, header));
  EXPECT_NO_THROW(kmeans_cli::CheckSingleDicomFile(path));
}

/** GDCM's header reading up to the pixel data stops at the first element at or above (7fe0,0010), its reading of
 * the whole file does not: elements after it with lower tags (out of order) are refused, naming both elements,
 * wherever they would have gone unchecked (a PALETTE COLOR image after a private element of group ff1f made GDCM
 * 3.0 abort, found by fuzzing); elements after the pixel data with higher tags (padding) pass. */
TEST(DicomElementScan, ElementsAfterThePixelDataOutOfOrderAreRefused)
{
  const auto start = [] {
    DicomBytes file;
    file.Preamble("1.2.840.10008.1.2").Explicit = false;
    file.Element(0x0008, 0x0060, "CS", "MR").Element(0x0028, 0x0010, "US", std::string("\x02\x00", 2));
    return file;
  };
  DicomBytes afterPrivate = start();
  afterPrivate.Element(0xff1f, 0x0011, "LO", "").Element(0x0028, 0x0004, "CS", "PALETTE COLOR ");
  afterPrivate.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(afterPrivate.Data.end(), 8, 1);
  const std::string first = Write("out-of-order-private.dcm", afterPrivate.Data);
  const std::string expected = ": damaged DICOM file: element (0028,0004) at byte 186 comes after element (ff1f,0011) "
                               "at byte 178 (data set elements must be in ascending tag order) (the file has " +
                               std::to_string(afterPrivate.Data.size()) + " bytes); not read";
  EXPECT_EQ(ScanError(first), first + expected);
  EXPECT_EQ(ScanError(first, true), first + expected);

  DicomBytes afterPixels = start();
  afterPixels.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(afterPixels.Data.end(), 8, 1);
  afterPixels.Element(0x0028, 0x0004, "CS", "MONOCHROME2 ");
  const std::string second = Write("out-of-order-after-pixel-data.dcm", afterPixels.Data);
  EXPECT_EQ(ScanError(second), second + ": damaged DICOM file: element (0028,0004) at byte 194 comes after element "
                                        "(7fe0,0010) at byte 178 (data set elements must be in ascending tag order) "
                                        "(the file has " + std::to_string(afterPixels.Data.size()) + " bytes); not read");

  DicomBytes padded = start();
  padded.Header(0x7fe0, 0x0010, "OW", 8).Data.insert(padded.Data.end(), 8, 1);
  padded.Element(0xfffc, 0xfffc, "OB", std::string(6, '\0'));
  EXPECT_EQ(ScanError(Write("padding-after-pixel-data.dcm", padded.Data)), "");
}

/** A Photometric Interpretation DICOM does not define ("PALETTE COLO", cut short) made GDCM 3.0 abort on an
 * assertion (found by fuzzing): refused. */
TEST(DicomElementScan, UnknownPhotometricInterpretationsAreRefused)
{
  const DicomBytes file = ImageWithPhotometric("PALETTE COLO");
  const std::string path = Write("photometric-cut.dcm", file.Data);
  EXPECT_THROW(kmeans_cli::CheckSingleDicomFile(path), kmeans_cli::FileError);
}

TEST(DicomElementScan, ItkWrittenSeriesPasses)
{
  KMeansDicomTest::SeriesSpec spec;
  const fs::path              directory = TestFile("itk-series");
  fs::create_directories(directory);
  for (const std::string & file : KMeansDicomTest::WriteSeries(directory.string(), spec))
  {
    EXPECT_EQ(kmeans_cli::ScanDicomElements(file), DicomElementScanResult::Valid) << file;
  }
}

/** pydicom (another writer) in the three uncompressed transfer syntaxes, with nested sequences of defined and
 * undefined length; skipped when Debian's Python has no pydicom. */
TEST(DicomElementScan, PydicomWrittenFilesPass)
{
  if (std::system("/usr/bin/python3 -c 'import pydicom' 2>/dev/null") != 0)
  {
    GTEST_SKIP() << "/usr/bin/python3 has no pydicom (Debian package python3-pydicom): pydicom-written files not tested";
  }
  const std::string script = TestFile("write.py"), directory = TestFile("pydicom");
  std::ofstream(script) << R"PY(
import sys, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
for name, uid, implicit, little in [("el", "1.2.840.10008.1.2.1", False, True), ("il", "1.2.840.10008.1.2", True, True),
                                    ("eb", "1.2.840.10008.1.2.2", False, False)]:
    for undefined in (False, True):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = uid
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
        ds.Modality, ds.Rows, ds.Columns, ds.BitsAllocated = "MR", 2, 2, 16
        inner = Dataset()
        inner.CodeValue = "T1"
        ref = Dataset()
        ref.ReferencedSOPInstanceUID = "1.2.3"
        ref.PurposeOfReferenceCodeSequence = Sequence([inner])
        ds.ReferencedImageSequence = Sequence([ref, ref])
        ds.PixelData = bytes(8)
        for seq in (ds.ReferencedImageSequence, ref.PurposeOfReferenceCodeSequence):
            seq.is_undefined_length = undefined
            for item in seq:
                item.is_undefined_length_sequence_item = undefined
        ds.is_implicit_VR, ds.is_little_endian = implicit, little
        ds.save_as(f"{sys.argv[1]}-{name}-{int(undefined)}.dcm", write_like_original=False)
)PY";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + directory).c_str()), 0);
  for (const char * name : { "el-0", "el-1", "il-0", "il-1", "eb-0", "eb-1" })
  {
    const std::string path = directory + "-" + name + ".dcm";
    EXPECT_EQ(kmeans_cli::ScanDicomElements(path), DicomElementScanResult::Valid) << path << ": " << ScanError(path);
  }
}
} // namespace
