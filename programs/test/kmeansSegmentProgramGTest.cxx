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
// Tests of the kmeans-segment program and the KMeansSegmentationPipeline example, run as separate processes:
// exit codes, one-line error messages, no partial output, untouched inputs, reports, real scans.
#include "KMeansTestData.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "ProgramTestSupport.h"

namespace fs = std::filesystem;

namespace
{
const std::string Example = KMEANS_PIPELINE_EXAMPLE_EXECUTABLE;

using namespace ProgramTestSupport; // the program's path, running it, test files

class ProgramTest : public ::testing::Test
{
protected:
  fs::path
  Path(const std::string & name) const
  {
    return m_Files.Path(name);
  }

  RunResult
  Run(const std::string & executable, const std::vector<std::string> & args) const
  {
    return m_Files.Run(executable, args);
  }
  RunResult
  Segment(const std::vector<std::string> & args) const
  {
    return Run(Program, args);
  }

  std::set<std::string>
  Listing() const
  {
    return m_Files.Listing();
  }

  /** Run with args, expect exit status 1, one line on stderr naming file and containing text, and nothing
   * new in the directory. */
  void
  ExpectFailure(const std::vector<std::string> & args, const std::string & file, const std::string & text = {})
  {
    const auto before = Listing();
    const auto result = Segment(args);
    EXPECT_EQ(result.Status, 1) << result.Err;
    EXPECT_EQ(result.ErrLines(), 1u) << result.Err;
    EXPECT_EQ(result.Err.rfind("kmeans-segment: error: ", 0), 0u) << result.Err;
    EXPECT_NE(result.Err.find(file), std::string::npos) << "message does not name " << file << ": " << result.Err;
    if (!text.empty())
    {
      EXPECT_NE(result.Err.find(text), std::string::npos) << "message lacks '" << text << "': " << result.Err;
    }
    EXPECT_EQ(Listing(), before) << "files left behind after: " << result.Err;
  }

  void
  ExpectUsageError(const std::vector<std::string> & args, const std::string & text = {})
  {
    const auto result = Segment(args);
    EXPECT_EQ(result.Status, 2) << result.Err;
    EXPECT_EQ(result.ErrLines(), 1u) << result.Err;
    if (!text.empty())
    {
      EXPECT_NE(result.Err.find(text), std::string::npos) << result.Err;
    }
  }

  ProgramTestSupport::TestDirectory m_Files{ "kmeans-segment-test" };
};

using ShortImage = itk::Image<short, 3>;
using FloatImage = itk::Image<float, 3>;
using LabelImage = itk::Image<unsigned char, 3>;

template <typename TImage>
typename TImage::Pointer
MakeImage(unsigned int nx, unsigned int ny, unsigned int nz, typename TImage::PixelType value)
{
  auto                           image = TImage::New();
  typename TImage::SizeType      size = { { nx, ny, nz } };
  image->SetRegions(typename TImage::RegionType(size));
  typename TImage::SpacingType spacing;
  spacing[0] = 1.5;
  spacing[1] = 1.0;
  spacing[2] = 2.0;
  image->SetSpacing(spacing);
  image->Allocate();
  image->FillBuffer(value);
  return image;
}

/** Phantom 24x20x16 (voxel 3 mm^3): background 0 in x < 4, then three slabs along x with intensities around
 * 100, 200 and 300 (+-5, a deterministic pattern). Expected labels: 0 background (with --nonzero), 1..3. */
ShortImage::Pointer
MakePhantom(LabelImage::Pointer * expected)
{
  auto image = MakeImage<ShortImage>(24, 20, 16, 0);
  auto truth = MakeImage<LabelImage>(24, 20, 16, 0);
  itk::ImageRegionIterator<ShortImage> it(image, image->GetLargestPossibleRegion());
  itk::ImageRegionIterator<LabelImage> lt(truth, truth->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it, ++lt)
  {
    const auto   index = it.GetIndex();
    const int    x = static_cast<int>(index[0]);
    const int    wobble = static_cast<int>((index[0] * 7 + index[1] * 3 + index[2] * 5) % 11) - 5;
    if (x < 4)
    {
      continue;
    }
    const int label = x < 10 ? 1 : (x < 17 ? 2 : 3);
    it.Set(static_cast<short>(100 * label + wobble));
    lt.Set(static_cast<unsigned char>(label));
  }
  if (expected)
  {
    *expected = truth;
  }
  return image;
}

void
ExpectSameLabels(const LabelImage * a, const LabelImage * b)
{
  ASSERT_EQ(a->GetLargestPossibleRegion(), b->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<LabelImage> ia(a, a->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<LabelImage> ib(b, b->GetLargestPossibleRegion());
  std::size_t                               differences = 0;
  for (; !ia.IsAtEnd(); ++ia, ++ib)
  {
    differences += (ia.Get() != ib.Get());
  }
  EXPECT_EQ(differences, 0u);
}

struct FileState
{
  std::string                     Bytes;
  fs::file_time_type              Time;
  static FileState
  Of(const fs::path & path)
  {
    return { ReadFile(path), fs::last_write_time(path) };
  }
  bool
  operator==(const FileState & other) const
  {
    return Bytes == other.Bytes && Time == other.Time;
  }
};

void
Truncate(const fs::path & path, double fraction)
{
  const auto size = fs::file_size(path);
  fs::resize_file(path, static_cast<std::uintmax_t>(static_cast<double>(size) * fraction));
}

/** Copies test/fuzz/regressions/input/NAME, a MetaImage input (format byte 3), without that byte to path. */
void
CopyFuzzRegression(const std::string & name, const fs::path & path)
{
  std::ifstream in(std::string(KMEANS_FUZZ_REGRESSIONS_DIR) + "/input/" + name, std::ios::binary);
  ASSERT_EQ(in.get(), 3) << name;
  std::ofstream(path, std::ios::binary) << in.rdbuf();
}

TEST_F(ProgramTest, UsageErrorsExitWithTwoAndOneLine)
{
  const auto input = Path("in.nii").string();
  WriteTestImage(MakePhantom(nullptr).GetPointer(), input);
  const auto output = Path("out.nii.gz").string();
  ExpectUsageError({});
  ExpectUsageError({ input, "-k", "3" }, "output");
  ExpectUsageError({ input, "-o", output }, "classes");
  ExpectUsageError({ input, "-o", output, "-k", "abc" }, "whole number");
  ExpectUsageError({ input, "-o", output, "-k", "2.5" }, "whole number");
  ExpectUsageError({ input, "-o", output, "-k", "0" }, "1 to 255");
  ExpectUsageError({ input, "-o", output, "-k", "256" }, "1 to 255");
  ExpectUsageError({ input, "-o", output, "-k", "3", "--bogus" }, "--bogus");
  ExpectUsageError({ input, "-o", output, "-k", "3", "--nonzero", "--foreground-threshold", "4" });
  EXPECT_FALSE(fs::exists(output));

  const auto version = Segment({ "--version" });
  EXPECT_EQ(version.Status, 0);
  EXPECT_EQ(version.Out, std::string("kmeans-segment ") + KMEANS_SEGMENTATION_VERSION + "\n");
  const auto help = Segment({ "--help" });
  EXPECT_EQ(help.Status, 0);
  EXPECT_NE(help.Out.find("--nonzero"), std::string::npos);
}

TEST_F(ProgramTest, SegmentsPhantomAndReports)
{
  LabelImage::Pointer truth;
  const auto          input = Path("phantom.nrrd");
  WriteTestImage(MakePhantom(&truth).GetPointer(), input);
  const auto before = FileState::Of(input);

  const auto result =
    Segment({ input.string(), "-o", Path("labels.nii.gz").string(), "-k", "3", "--nonzero", "--report",
              Path("report.json").string(), "--threads", "2" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  EXPECT_TRUE(result.Err.empty()) << result.Err;
  EXPECT_NE(result.Out.find("label"), std::string::npos);
  EXPECT_TRUE(FileState::Of(input) == before) << "the input changed";
  EXPECT_EQ(Listing(), (std::set<std::string>{ "phantom.nrrd", "labels.nii.gz", "report.json" }));

  const auto labels = ReadTestImage<LabelImage>(Path("labels.nii.gz"));
  ExpectSameLabels(labels, truth);
  EXPECT_EQ(labels->GetSpacing()[0], 1.5);
  EXPECT_EQ(labels->GetSpacing()[2], 2.0);

  const auto report = nlohmann::json::parse(ReadFile(Path("report.json")));
  EXPECT_EQ(report["program"]["version"], KMEANS_SEGMENTATION_VERSION);
  EXPECT_EQ(report["inputs"][0]["path"], input.string());
  EXPECT_EQ(report["inputs"][0]["pixel_type"], "short");
  EXPECT_EQ(report["inputs"][0]["size"], nlohmann::json({ 24, 20, 16 }));
  EXPECT_EQ(report["model"]["number_of_classes"], 3);
  EXPECT_EQ(report["mask"]["foreground_threshold"], 0.0);
  EXPECT_DOUBLE_EQ(report["voxel_volume_mm3"].get<double>(), 3.0);
  ASSERT_EQ(report["classes"].size(), 3u);
  const std::size_t slab[3] = { 6 * 20 * 16, 7 * 20 * 16, 7 * 20 * 16 };
  double            previousMean = -1.0;
  std::size_t       total = 0;
  for (int k = 0; k < 3; ++k)
  {
    const auto & c = report["classes"][k];
    EXPECT_EQ(c["label"], k + 1);
    EXPECT_EQ(c["voxels"].get<std::size_t>(), slab[k]);
    EXPECT_NEAR(c["mean"].get<double>(), 100.0 * (k + 1), 5.0);
    EXPECT_GT(c["mean"].get<double>(), previousMean);
    previousMean = c["mean"].get<double>();
    EXPECT_DOUBLE_EQ(c["volume_ml"].get<double>(), c["voxels"].get<double>() * 3.0 / 1000.0);
    total += c["voxels"].get<std::size_t>();
  }
  EXPECT_EQ(report["classified_voxels"].get<std::size_t>(), total);
  ASSERT_EQ(report["thresholds"].size(), 2u);
  EXPECT_NEAR(report["thresholds"][0].get<double>(), 150.0, 5.0);
  EXPECT_GT(report["within_class_sum_of_squares"].get<double>(), 0.0);
  EXPECT_EQ(report["model"]["optimality_gap"], 0.0);
  for (const char * step : { "read", "segment", "write", "total" })
  {
    ASSERT_TRUE(report["timings_s"].contains(step)) << step;
    EXPECT_GE(report["timings_s"][step].get<double>(), 0.0);
  }
  EXPECT_GE(report["timings_s"]["total"].get<double>(), report["timings_s"]["segment"].get<double>());
  EXPECT_FALSE(report["classes"][0].contains("name")) << "classes are named only with --tissues";
}

TEST_F(ProgramTest, TissuesNameTheClassesInTheTableAndTheReport)
{
  const auto input = Path("phantom.nrrd");
  WriteTestImage(MakePhantom(nullptr).GetPointer(), input);
  const auto result = Segment({ input.string(), "-o", Path("labels.nrrd").string(), "-k", "3", "--nonzero",
                                "--tissues", "--report", Path("report.json").string() });
  ASSERT_EQ(result.Status, 0) << result.Err;
  const char * names[3] = { "CSF", "Grey matter", "White matter" };
  const auto   report = nlohmann::json::parse(ReadFile(Path("report.json")));
  ASSERT_EQ(report["classes"].size(), 3u);
  std::size_t previous = 0;
  for (int k = 0; k < 3; ++k)
  {
    EXPECT_EQ(report["classes"][k]["name"], names[k]);
    // The table lists the classes in label order, each with its name.
    const std::size_t at = result.Out.find(names[k]);
    ASSERT_NE(at, std::string::npos) << result.Out;
    EXPECT_GT(at, previous) << result.Out;
    previous = at;
  }
}

TEST_F(ProgramTest, MaskFileRestrictsAndThreadsDoNotChangeLabels)
{
  LabelImage::Pointer truth;
  const auto          input = Path("phantom.mha");
  WriteTestImage(MakePhantom(&truth).GetPointer(), input, true);
  // Mask: the upper half in y, stored as a float image with values 0 and 7.
  auto mask = MakeImage<FloatImage>(24, 20, 16, 0.0f);
  for (itk::ImageRegionIterator<FloatImage> it(mask, mask->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    it.Set(it.GetIndex()[1] >= 10 ? 7.0f : 0.0f);
  }
  const auto maskPath = Path("mask.nii.gz");
  WriteTestImage(mask.GetPointer(), maskPath);
  for (const char * threads : { "1", "3" })
  {
    const auto output = Path(std::string("labels") + threads + ".nrrd");
    const auto result =
      Segment({ input.string(), "-o", output.string(), "-k", "4", "--mask", maskPath.string(), "--threads", threads });
    ASSERT_EQ(result.Status, 0) << result.Err;
  }
  const auto one = ReadTestImage<LabelImage>(Path("labels1.nrrd"));
  const auto three = ReadTestImage<LabelImage>(Path("labels3.nrrd"));
  ExpectSameLabels(one, three);
  std::size_t outside = 0;
  std::size_t background = 0;
  itk::ImageRegionConstIterator<LabelImage> lt(one, one->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<LabelImage> tt(truth, truth->GetLargestPossibleRegion());
  for (; !lt.IsAtEnd(); ++lt, ++tt)
  {
    if (lt.GetIndex()[1] < 10)
    {
      outside += (lt.Get() != 0);
    }
    else
    {
      // K = 4 with the zero background inside the mask: background is class 1, slabs are 2..4.
      EXPECT_EQ(lt.Get(), tt.Get() + 1);
      background += (tt.Get() == 0);
    }
  }
  EXPECT_EQ(outside, 0u);
  EXPECT_GT(background, 0u);
}

TEST_F(ProgramTest, ExampleMatchesProgram)
{
  const auto input = Path("phantom.nii.gz");
  WriteTestImage(MakePhantom(nullptr).GetPointer(), input, true);
  const auto example = Run(Example, { input.string(), Path("example.nii.gz").string(), "4" });
  ASSERT_EQ(example.Status, 0) << example.Err;
  EXPECT_NE(example.Out.find("class 4"), std::string::npos) << example.Out;
  const auto program = Segment({ input.string(), "-o", Path("program.nii.gz").string(), "-k", "4", "-q" });
  ASSERT_EQ(program.Status, 0) << program.Err;
  EXPECT_TRUE(program.Out.empty()) << "--quiet printed: " << program.Out;
  ExpectSameLabels(ReadTestImage<LabelImage>(Path("example.nii.gz")), ReadTestImage<LabelImage>(Path("program.nii.gz")));
}

TEST_F(ProgramTest, RefusesMissingEmptyNonImageAndDirectory)
{
  const auto output = Path("out.nii.gz").string();
  ExpectFailure({ Path("missing.nii").string(), "-o", output, "-k", "3" }, "missing.nii", "no such file");
  std::ofstream(Path("empty.nii")).close();
  ExpectFailure({ Path("empty.nii").string(), "-o", output, "-k", "3" }, "empty.nii", "empty");
  std::ofstream(Path("notes.nii")) << "not an image\n";
  ExpectFailure({ Path("notes.nii").string(), "-o", output, "-k", "3" }, "notes.nii");
  std::ofstream(Path("notes.txt")) << "not an image\n";
  ExpectFailure({ Path("notes.txt").string(), "-o", output, "-k", "3" }, "notes.txt", "not an image");
  fs::create_directory(Path("folder"));
  ExpectFailure({ Path("folder").string(), "-o", output, "-k", "3" }, "folder", "directory");
}

TEST_F(ProgramTest, RefusesTruncatedFiles)
{
  const auto phantom = MakePhantom(nullptr);
  const auto output = Path("out.nii.gz").string();
  for (const std::string name : { "cut.nii", "cut.nii.gz", "cut.mha", "cutz.mha", "cut.nrrd", "cutz.nrrd" })
  {
    const bool compress = name == "cut.nii.gz" || name.find("cutz") == 0;
    WriteTestImage(phantom.GetPointer(), Path(name), compress);
    Truncate(Path(name), 0.8);
    const auto before = FileState::Of(Path(name));
    ExpectFailure({ Path(name).string(), "-o", output, "-k", "3" }, name);
    EXPECT_TRUE(FileState::Of(Path(name)) == before);
  }
  // A separate .mhd + .raw pair with the raw file cut short: the message names the raw file.
  WriteTestImage(phantom.GetPointer(), Path("pair.mhd"));
  Truncate(Path("pair.raw"), 0.5);
  ExpectFailure({ Path("pair.mhd").string(), "-o", output, "-k", "3" }, "pair.raw", "cut short");
  // A truncated mask is refused in the same way.
  WriteTestImage(phantom.GetPointer(), Path("whole.nii"));
  ExpectFailure({ Path("whole.nii").string(), "-o", output, "-k", "3", "--mask", Path("cut.nii").string() },
                "cut.nii");
}

/** MetaImage headers on which ITK 5.2's MetaIO leaked, overflowed a buffer or never returned (found by fuzzing):
 * one-line errors. */
TEST_F(ProgramTest, RefusesDamagedMetaImageHeaders)
{
  const auto phantom = MakePhantom(nullptr);
  const auto output = Path("out.nii.gz").string();
  // A data file name with a NUL byte and a '%' after it (found by fuzzing: MetaIO keeps the name up to the NUL and
  // leaked its stream on the missing file): refused before ITK reads the header.
  WriteTestImage(phantom.GetPointer(), Path("nul.mhd"));
  {
    std::string text = ReadFile(Path("nul.mhd"));
    text.replace(text.find("nul.raw"), 7, std::string("nu\0l.raw %d", 12));
    std::ofstream(Path("nul.mhd"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("nul.mhd").string(), "-o", output, "-k", "3" }, "nul.mhd",
                "invalid MetaImage header: the ElementDataFile value has a control character (0x00 at character 3)");
  // A damaged header whose data file, as MetaIO reads it, is COCAL (found by fuzzing: MetaIO leaked its stream on
  // it; test/fuzz/regressions/input, format byte 3): refused with one line naming that file.
  CopyFuzzRegression("metaimage-second-header-leak-in-metaio", Path("second-header.mha"));
  ExpectFailure({ Path("second-header.mha").string(), "-o", output, "-k", "3" }, "second-header.mha",
                "its data file " + Path("COCAL").string() + " is missing");
  // An empty ElementDataFile value (found by fuzzing: MetaIO read the directory as its compressed data and asked
  // for 2^64 - 1 bytes).
  WriteTestImage(phantom.GetPointer(), Path("empty-name.mha"), true);
  {
    std::string text = ReadFile(Path("empty-name.mha"));
    const auto  at = text.find("ElementDataFile = LOCAL");
    text = text.substr(0, at) + "ElementDataFile = \n" + text.substr(at);
    std::ofstream(Path("empty-name.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("empty-name.mha").string(), "-o", output, "-k", "3" }, "empty-name.mha",
                "invalid MetaImage header: ElementDataFile has no value");
  // An NDims of 10^12 (found by fuzzing: MetaIO then read 10^12 numbers for DimSize and never returned).
  WriteTestImage(phantom.GetPointer(), Path("ndims.mha"));
  {
    std::string text = ReadFile(Path("ndims.mha"));
    text.replace(text.find("NDims = 3"), 9, "NDims = 1000000000000");
    std::ofstream(Path("ndims.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("ndims.mha").string(), "-o", output, "-k", "3" }, "ndims.mha",
                "invalid MetaImage header: line 2 gives NDims 1000000000000.000000 (MetaIO reads 1 to 10)");
  // The same NDims after an NDims name without '=' (found by fuzzing: MetaIO takes the name up to the line break,
  // "NDims" up to the NUL byte, and reads its value after the next separator, on the line after).
  {
    std::string text = ReadFile(Path("ndims.mha"));
    text.replace(text.find("NDims = "), 8, std::string("NDims\0\0 9tex\nNDims\0 = ", 21));
    std::ofstream(Path("ndims-split.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("ndims-split.mha").string(), "-o", output, "-k", "3" }, "ndims-split.mha",
                "invalid MetaImage header: line 3 gives NDims 1000000000000.000000 (MetaIO reads 1 to 10)");
  // Slice file patterns with a '%' that is not %d, or a word of over 79 characters (found by fuzzing: MetaIO
  // overflowed a buffer on each).
  const auto withPattern = [&](const std::string & name, const std::string & pattern) {
    WriteTestImage(phantom.GetPointer(), Path(name + ".mhd"));
    std::ifstream      in(Path(name + ".mhd"), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    text.replace(text.find(name + ".raw"), name.size() + 4, pattern);
    std::ofstream(Path(name + ".mhd"), std::ios::binary) << text;
    return Path(name + ".mhd").string();
  };
  ExpectFailure({ withPattern("pattern", "slice%]x.raw 1 3 1"), "-o", output, "-k", "3" }, "pattern.mhd",
                "invalid MetaImage header: ElementDataFile \"slice%]x.raw 1 3 1\" is not a slice file pattern (one %d, "
                "then up to three integers: first, last, step)");
  ExpectFailure({ withPattern("long", "slice" + std::string(80, 'x') + "%03d.raw 1 3 1"), "-o", output, "-k", "3" },
                "long.mhd",
                "invalid MetaImage header: the ElementDataFile slice file pattern has a word of 93 characters (MetaIO "
                "reads at most 79)");
  // A first line without '=', after which MetaIO reads past the ElementDataFile line to a field name of over 254
  // characters (found by fuzzing: it overflowed its 255-byte buffer).
  CopyFuzzRegression("metaimage-field-name-overflow-after-element-data-file", Path("swallowed.mha"));
  ExpectFailure({ Path("swallowed.mha").string(), "-o", output, "-k", "3" }, "swallowed.mha",
                "invalid MetaImage header: line 8 has a field name of 362 characters (MetaIO reads at most 254)");
  // A long name after a line whose name only starts with ElementDataFile, which does not end MetaIO's reading
  // (found by fuzzing: MetaIO overflowed its buffer).
  WriteTestImage(phantom.GetPointer(), Path("prefix.mha"));
  {
    std::string text = ReadFile(Path("prefix.mha"));
    text.insert(text.find('\n') + 1, "ElementDataFileDataFile = x\n" + std::string(300, 'N') + " = y\n");
    std::ofstream(Path("prefix.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("prefix.mha").string(), "-o", output, "-k", "3" }, "prefix.mha",
                "invalid MetaImage header: line 3 has a field name of 300 characters (MetaIO reads at most 254)");
  // A name ending in 250 form feeds, which MetaIO keeps (it strips only spaces and tabs; found by fuzzing: it
  // overflowed its buffer).
  {
    std::string text = ReadFile(Path("ndims.mha"));
    text.insert(text.find('\n') + 1, "Comment" + std::string(250, '\f') + " = x\n");
    std::ofstream(Path("form-feeds.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("form-feeds.mha").string(), "-o", output, "-k", "3" }, "form-feeds.mha",
                "invalid MetaImage header: line 2 has a field name of 257 characters (MetaIO reads at most 254)");
}

/** Compressed MetaImage pixel data on which MetaIO never returned (found by fuzzing): inflated and checked first. */
TEST_F(ProgramTest, RefusesDamagedCompressedMetaImageData)
{
  const auto phantom = MakePhantom(nullptr);
  const auto output = Path("out.nii.gz").string();
  // "CompressedData = Tx" (MetaIO reads the first character only: compressed) and a zlib stream that asks for a
  // preset dictionary (found by fuzzing: MetaIO never returned from it).
  WriteTestImage(phantom.GetPointer(), Path("dictionary.mha"), true);
  {
    std::string text = ReadFile(Path("dictionary.mha"));
    text.replace(text.find("CompressedData = True"), 21, "CompressedData = Tx");
    const auto data = text.find("ElementDataFile = LOCAL\n") + 24;
    text.replace(data, 2, "\x78\x20"); // a valid zlib header with FDICT set
    std::ofstream(Path("dictionary.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("dictionary.mha").string(), "-o", output, "-k", "3" }, "dictionary.mha",
                "compressed pixel data are damaged or cut short (zlib: the stream needs a preset dictionary)");
  // The same after a name without '=' whose value MetaIO takes from the next line, an ElementDataFile line that
  // is so no field (found by fuzzing: the check had stopped at it and left the stream to MetaIO).
  {
    std::string text = ReadFile(Path("dictionary.mha"));
    text.insert(text.find('\n') + 1, "Swallowing\nElementDataFile = slice%d.raw 1 2 1\n");
    std::ofstream(Path("swallowed-data-file.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("swallowed-data-file.mha").string(), "-o", output, "-k", "3" }, "swallowed-data-file.mha",
                "compressed pixel data are damaged or cut short (zlib: the stream needs a preset dictionary)");
  // And with NUL bytes after the name ElementDataFile, which MetaIO compares as a C string (found by fuzzing).
  {
    std::string text = ReadFile(Path("dictionary.mha"));
    text.replace(text.find("ElementDataFile = LOCAL"), 15, "ElementDataFile" + std::string(7, '\0'));
    std::ofstream(Path("nul-name.mha"), std::ios::binary) << text;
  }
  ExpectFailure({ Path("nul-name.mha").string(), "-o", output, "-k", "3" }, "nul-name.mha",
                "compressed pixel data are damaged or cut short (zlib: the stream needs a preset dictionary)");
  // A damaged header after which MetaIO finds 37 bytes of compressed data for a declared 46 (found by fuzzing:
  // MetaIO never returned; test/fuzz/regressions/input, format byte 3): checked where MetaIO itself finds them.
  CopyFuzzRegression("metaimage-compressed-data-where-metaio-finds-them-hang", Path("metaio-position.mha"));
  ExpectFailure({ Path("metaio-position.mha").string(), "-o", output, "-k", "3" }, "metaio-position.mha",
                "file cut short: 37 bytes of compressed pixel data, the header announces 46 bytes");
  // MetaIO also takes "Local" and "local" for data after the header: such a file is read, and its compressed data
  // checked (found by fuzzing: MetaIO never returned on a damaged one).
  WriteTestImage(phantom.GetPointer(), Path("spelled.mha"), true);
  {
    std::string text = ReadFile(Path("spelled.mha"));
    text.replace(text.find("= LOCAL"), 7, "= Local");
    std::ofstream(Path("spelled.mha"), std::ios::binary) << text;
    text.replace(text.find("= Local\n") + 8, 2, "\x78\x20");
    std::ofstream(Path("spelled-dictionary.mha"), std::ios::binary) << text;
  }
  EXPECT_EQ(Segment({ Path("spelled.mha").string(), "-o", Path("spelled-labels.nii").string(), "-k", "3" }).Status, 0);
  ExpectFailure({ Path("spelled-dictionary.mha").string(), "-o", output, "-k", "3" }, "spelled-dictionary.mha",
                "compressed pixel data are damaged or cut short (zlib: the stream needs a preset dictionary)");
}

TEST_F(ProgramTest, RefusesToOverwriteInputsAndBadOutputs)
{
  const auto input = Path("in.nii.gz");
  WriteTestImage(MakePhantom(nullptr).GetPointer(), input, true);
  const auto before = FileState::Of(input);
  ExpectFailure({ input.string(), "-o", input.string(), "-k", "3" }, "in.nii.gz", "input");
  // Another spelling of the same path, and a link to it.
  ExpectFailure({ input.string(), "-o", (m_Files.Directory() / "." / "in.nii.gz").string(), "-k", "3" }, "in.nii.gz", "input");
  fs::create_hard_link(input, Path("link.nii.gz"));
  ExpectFailure({ input.string(), "-o", Path("link.nii.gz").string(), "-k", "3" }, "link.nii.gz", "input");
  ExpectFailure({ input.string(), "-o", Path("out.nii.gz").string(), "-k", "3", "--report", input.string() },
                "in.nii.gz", "input");
  EXPECT_TRUE(FileState::Of(input) == before);
  ExpectFailure({ input.string(), "-o", Path("labels.xyz").string(), "-k", "3" }, "labels.xyz", "writer");
  ExpectFailure({ input.string(), "-o", Path("nowhere/labels.nii").string(), "-k", "3" }, "labels.nii",
                "does not exist");
  // A failing run leaves an existing output untouched.
  std::ofstream(Path("old.nii.gz")) << "previous result";
  const auto old = FileState::Of(Path("old.nii.gz"));
  const auto constant = MakeImage<ShortImage>(8, 8, 8, 42);
  WriteTestImage(constant.GetPointer(), Path("constant.nrrd"));
  ExpectFailure({ Path("constant.nrrd").string(), "-o", Path("old.nii.gz").string(), "-k", "2" }, "constant.nrrd");
  EXPECT_TRUE(FileState::Of(Path("old.nii.gz")) == old);
}

TEST_F(ProgramTest, RefusesImpossibleSegmentations)
{
  const auto output = Path("out.nii.gz").string();
  WriteTestImage(MakeImage<ShortImage>(8, 8, 8, 42).GetPointer(), Path("constant.nrrd"));
  ExpectFailure({ Path("constant.nrrd").string(), "-o", output, "-k", "3" }, "constant.nrrd", "1 distinct");
  WriteTestImage(MakeImage<FloatImage>(8, 8, 8, std::numeric_limits<float>::quiet_NaN()).GetPointer(),
             Path("nan.nrrd"));
  // (NRRD keeps NaN; Debian's ITK 5.2 NIfTI reader returns an all-NaN float volume as zeros.)
  ExpectFailure({ Path("nan.nrrd").string(), "-o", output, "-k", "2" }, "nan.nrrd", "no finite voxel");
  const auto phantom = Path("phantom.nii.gz");
  WriteTestImage(MakePhantom(nullptr).GetPointer(), phantom, true);
  ExpectFailure({ phantom.string(), "-o", output, "-k", "255" }, "phantom.nii.gz", "distinct");
  ExpectFailure({ phantom.string(), "-o", output, "-k", "2", "--foreground-threshold", "1000" }, "phantom.nii.gz",
                "foreground threshold");
  WriteTestImage(MakeImage<LabelImage>(24, 20, 16, 0).GetPointer(), Path("empty-mask.nrrd"));
  ExpectFailure({ phantom.string(), "-o", output, "-k", "3", "--mask", Path("empty-mask.nrrd").string() },
                "empty-mask.nrrd", "empty");
  WriteTestImage(MakeImage<LabelImage>(24, 20, 15, 1).GetPointer(), Path("small-mask.nrrd"));
  ExpectFailure({ phantom.string(), "-o", output, "-k", "3", "--mask", Path("small-mask.nrrd").string() },
                "small-mask.nrrd", "size");
}

TEST_F(ProgramTest, RealScans)
{
  struct Case
  {
    std::string File;
    std::string Extra;
    unsigned    Dimension;
  };
  const std::vector<Case> cases = { { "mni152-2009a/t1.nii.gz", "--nonzero", 3 },
                                    { "itk-t1/t1.nii.gz", "--nonzero", 3 },
                                    { "dicom/philips-mprage-sag/1301_0080.dcm", "", 3 },
                                    { "slices/BrainT1Slice.png", "", 2 },
                                    { "slices/BrainProtonDensitySlice.png", "", 2 },
                                    { "slices/r16slice.jpg", "", 2 } };
  for (const auto & c : cases)
  {
    const std::string file = KMeansTest::DataFile(c.File);
    if (file.empty())
    {
      GTEST_SKIP() << KMeansTest::MissingDataMessage(c.File);
    }
    SCOPED_TRACE(c.File);
    std::vector<std::string> args = { file, "-o", Path("labels.nrrd").string(), "-k", "3", "--report",
                                      Path("report.json").string() };
    if (!c.Extra.empty())
    {
      args.push_back(c.Extra);
    }
    const auto result = Segment(args);
    ASSERT_EQ(result.Status, 0) << result.Err;
    const auto report = nlohmann::json::parse(ReadFile(Path("report.json")));
    EXPECT_EQ(report["inputs"][0]["dimension"], c.Dimension);
    ASSERT_EQ(report["classes"].size(), 3u);
    for (int k = 0; k < 2; ++k)
    {
      EXPECT_LT(report["classes"][k]["mean"].get<double>(), report["classes"][k + 1]["mean"].get<double>());
      EXPECT_GT(report["classes"][k]["voxels"].get<double>(), 0.0);
    }
    const double cell = report[c.Dimension == 3 ? "voxel_volume_mm3" : "pixel_area_mm2"].get<double>();
    for (const auto & cls : report["classes"])
    {
      if (c.Dimension == 3)
      {
        EXPECT_DOUBLE_EQ(cls["volume_ml"].get<double>(), cls["voxels"].get<double>() * cell / 1000.0);
      }
      else
      {
        EXPECT_DOUBLE_EQ(cls["area_mm2"].get<double>(), cls["voxels"].get<double>() * cell);
      }
    }
    if (c.File.find("BrainT1Slice") != std::string::npos)
    {
      EXPECT_NE(report["inputs"][0].value("conversion", ""), "") << "an RGB grey PNG is read as grey";
    }
    if (c.File.find("mni152") != std::string::npos)
    {
      // MNI152 2009a, 1 mm: the brain inside the template's non-zero region is more than 1 L.
      double total = 0.0;
      for (const auto & cls : report["classes"])
      {
        total += cls["volume_ml"].get<double>();
      }
      EXPECT_GT(total, 1000.0);
    }
    fs::remove(Path("labels.nrrd"));
    fs::remove(Path("report.json"));
  }
}

TEST_F(ProgramTest, RefusesTruncatedDicomFile)
{
  const std::string file = KMeansTest::DataFile("dicom/philips-mprage-sag/1301_0080.dcm");
  if (file.empty())
  {
    GTEST_SKIP() << KMeansTest::MissingDataMessage("dicom/philips-mprage-sag/1301_0080.dcm");
  }
  fs::copy_file(file, Path("slice.dcm"));
  fs::permissions(Path("slice.dcm"), fs::perms::owner_write, fs::perm_options::add);
  Truncate(Path("slice.dcm"), 0.7);
  ExpectFailure({ Path("slice.dcm").string(), "-o", Path("out.nii.gz").string(), "-k", "3" }, "slice.dcm");
}
} // namespace
