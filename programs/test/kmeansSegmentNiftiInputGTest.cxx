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
// kmeans-segment on NIfTI and Analyze files written by nibabel (write_nifti_corpus.py): intensity scaling
// (scl_slope / scl_inter, NaN, 0, negative), vox_offset 0, byte order, .hdr/.img pairs, gzip, dim[4] = 1; the same
// files cut short by one byte; NIfTI-2 and headers with bad dimensions.
#include "cli/inputs/NiftiHeader.h"

#include "itkConfigure.h"
#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkVersion.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <memory>

#include "ProgramTestSupport.h"

namespace fs = std::filesystem;

namespace
{
using namespace ProgramTestSupport; // the program's path, running it, test files
const std::string CorpusWriter = KMEANS_NIFTI_CORPUS_WRITER;

using LabelImage = itk::Image<unsigned char, 3>;

/** A corpus file and the scaling its header asks for (slope 1 and intercept 0: none). */
struct ScaledFile
{
  std::string Name;
  double      Slope;
  double      Intercept;
};

/** The stored phantom of write_nifti_corpus.py: 24x20x16, label 1, 2, 3 for x < 8, < 16, else; stored value
 * 50 + 70 (label - 1) + (7x + 3y + 5z) mod 11 - 5. */
int
TrueLabel(const LabelImage::IndexType & index)
{
  return index[0] < 8 ? 1 : (index[0] < 16 ? 2 : 3);
}

double
StoredValue(const LabelImage::IndexType & index)
{
  const auto wobble = (index[0] * 7 + index[1] * 3 + index[2] * 5) % 11 - 5;
  return 50.0 + 70.0 * (TrueLabel(index) - 1) + static_cast<double>(wobble);
}

class NiftiInputTest : public ::testing::Test
{
protected:
  static void
  SetUpTestSuite()
  {
    s_Corpus = std::make_unique<ProgramTestSupport::TestDirectory>("kmeans-nifti-corpus");
    const auto result = s_Corpus->Run("/usr/bin/python3", { CorpusWriter, s_Corpus->Directory().string() });
    ASSERT_EQ(result.Status, 0) << result.Err;
  }
  static void
  TearDownTestSuite()
  {
    s_Corpus.reset();
  }

  static std::string
  Corpus(const std::string & name)
  {
    return s_Corpus->Path(name).string();
  }

  ProgramTestSupport::RunResult
  Segment(const std::vector<std::string> & args) const
  {
    return m_Files.Run(Program, args);
  }

  /** Runs kmeans-segment on a corpus file and expects exactly the one line "kmeans-segment: error: <line>",
   * exit status 1, and no output. */
  void
  ExpectRefused(const std::string & name, const std::string & line)
  {
    const auto output = m_Files.Path("labels.nii.gz").string();
    const auto result = Segment({ Corpus(name), "-o", output, "-k", "3", "-q" });
    EXPECT_EQ(result.Status, 1) << name;
    EXPECT_EQ(result.Err, "kmeans-segment: error: " + line + "\n") << name;
    EXPECT_FALSE(fs::exists(output)) << name;
  }

  static std::unique_ptr<ProgramTestSupport::TestDirectory> s_Corpus;
  ProgramTestSupport::TestDirectory                         m_Files{ "kmeans-nifti-test" };
};

std::unique_ptr<ProgramTestSupport::TestDirectory> NiftiInputTest::s_Corpus;

/** Expects the label map at path to be the phantom's true labels (reversed when the scaling reverses the
 * intensity order), and the report's class means and thresholds to be in scaled units, ascending. */
void
ExpectScaledSegmentation(const fs::path & labelsPath, const nlohmann::json & report, const ScaledFile & file)
{
  auto reader = itk::ImageFileReader<LabelImage>::New();
  reader->SetFileName(labelsPath.string());
  reader->Update();
  const LabelImage * labels = reader->GetOutput();
  std::array<double, 4>      sums{};
  std::array<double, 4>      counts{};
  std::size_t                wrong = 0;
  itk::ImageRegionConstIteratorWithIndex<LabelImage> it(labels, labels->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    const int truth = TrueLabel(it.GetIndex());
    const int expected = file.Slope < 0 ? 4 - truth : truth;
    wrong += it.Get() != expected;
    sums[expected] += file.Slope * StoredValue(it.GetIndex()) + file.Intercept;
    counts[expected] += 1;
  }
  EXPECT_EQ(wrong, 0u) << file.Name;
  const auto & input = report["inputs"][0];
  if (file.Slope == 1.0 && file.Intercept == 0.0)
  {
    EXPECT_EQ(input["scaling"], "none") << file.Name;
  }
  else
  {
    EXPECT_EQ(input["scaling"], (nlohmann::json { { "slope", file.Slope }, { "intercept", file.Intercept } }))
      << file.Name;
  }
  const auto & classes = report["classes"];
  ASSERT_EQ(classes.size(), 3u) << file.Name;
  for (std::size_t k = 0; k < 3; ++k)
  {
    EXPECT_NEAR(classes[k]["mean"].get<double>(), sums[k + 1] / counts[k + 1], 1e-4) << file.Name << " class " << k + 1;
  }
  const auto thresholds = report["thresholds"].get<std::vector<double>>();
  ASSERT_EQ(thresholds.size(), 2u) << file.Name;
  for (std::size_t k = 0; k < 2; ++k)
  {
    EXPECT_GT(thresholds[k], classes[k]["mean"].get<double>()) << file.Name;
    EXPECT_LT(thresholds[k], classes[k + 1]["mean"].get<double>()) << file.Name;
  }
}

TEST_F(NiftiInputTest, EveryStoredFormSegmentsInScaledUnits)
{
  const std::vector<ScaledFile> files = {
    { "plain.nii", 1, 0 },             { "int16-scaled.nii", 2.5, -10 },       { "int16-scaled.nii.gz", 2.5, -10 },
    { "uint8-scaled.nii.gz", 0.5, 0 }, { "uint8-nan.nii", 1, 0 },             { "int16-big-endian.nii", 2.5, -10 },
    { "int16-slope0.nii", 1, 0 },      { "int16-negative.nii.gz", -2, 500 },  { "float-scaled.nii", 3, 1 },
    { "int16-dim4.nii", 2.5, -10 },    { "int16-pair.hdr", 2.5, -10 },         { "int16-pair.img", 2.5, -10 },
    { "int16-pair-gz.hdr", 2.5, -10 }, { "analyze.hdr", 1, 0 },               { "analyze-big-endian.hdr", 1, 0 },
    { "analyze-spm-scaled.hdr", 1, 0 }, // ITK reads Analyze 7.5 without SPM's scale factor
  };
  for (const ScaledFile & file : files)
  {
    const auto labels = m_Files.Path("labels.nii.gz");
    const auto report = m_Files.Path("report.json");
    const auto result =
      Segment({ Corpus(file.Name), "-o", labels.string(), "-k", "3", "-q", "--report", report.string() });
    ASSERT_EQ(result.Status, 0) << file.Name << ": " << result.Err;
    EXPECT_EQ(result.Err, "") << file.Name;
    ExpectScaledSegmentation(labels, nlohmann::json::parse(ProgramTestSupport::ReadFile(report)), file);
  }
}

TEST_F(NiftiInputTest, FilesCutShortByOneByteAreRefusedWithOneLine)
{
  auto single = [](const std::string & name, unsigned int bytes, const std::string & decompressed) {
    return Corpus(name) + ": file cut short: the header announces " + std::to_string(bytes) +
           " bytes of pixel data from byte 352, the " + decompressed + "file has " + std::to_string(bytes + 351) +
           " bytes in all";
  };
  for (const std::string name : { "cut-plain.nii", "cut-int16-scaled.nii", "cut-int16-big-endian.nii",
                                  "cut-int16-slope0.nii", "cut-int16-dim4.nii" })
  {
    ExpectRefused(name, single(name, 15360, ""));
  }
  ExpectRefused("cut-int16-scaled.nii.gz", single("cut-int16-scaled.nii.gz", 15360, "decompressed "));
  ExpectRefused("cut-int16-negative.nii.gz", single("cut-int16-negative.nii.gz", 15360, "decompressed "));
  ExpectRefused("cut-uint8-scaled.nii.gz", single("cut-uint8-scaled.nii.gz", 7680, "decompressed "));
  ExpectRefused("cut-uint8-nan.nii", single("cut-uint8-nan.nii", 7680, ""));
  ExpectRefused("cut-float-scaled.nii", single("cut-float-scaled.nii", 30720, ""));
  for (const std::string stem : { "cut-int16-pair", "cut-int16-pair-gz", "cut-analyze", "cut-analyze-big-endian",
                                  "cut-analyze-spm-scaled" })
  {
    const bool        gz = stem == "cut-int16-pair-gz";
    const std::string image = Corpus(stem + (gz ? ".img.gz" : ".img"));
    const std::string line = image + ": file cut short: the header " + Corpus(stem + ".hdr") +
                             " announces 15360 bytes of pixel data from byte 0, the " + (gz ? "decompressed " : "") +
                             "file has 15359 bytes in all";
    ExpectRefused(stem + ".hdr", line);
    ExpectRefused(stem + (gz ? ".img.gz" : ".img"), line);
  }
  // A header cut short.
  fs::copy_file(Corpus("plain.nii"), Corpus("cut-header.nii"));
  fs::resize_file(Corpus("cut-header.nii"), 200);
  ExpectRefused("cut-header.nii",
                Corpus("cut-header.nii") + ": file cut short: 200 bytes, less than its 348-byte NIfTI header");
  // A gzip stream cut short by one byte: zlib's own word for it.
  fs::copy_file(Corpus("int16-scaled.nii.gz"), Corpus("cut-stream.nii.gz"));
  fs::resize_file(Corpus("cut-stream.nii.gz"), fs::file_size(Corpus("cut-stream.nii.gz")) - 1);
  ExpectRefused("cut-stream.nii.gz", Corpus("cut-stream.nii.gz") +
                                       ": compressed data are damaged or cut short (zlib: unexpected end of file)");
}

TEST_F(NiftiInputTest, Nifti2IsRefusedNamingTheFormatAndTheITKThatReadsIt)
{
#if ITK_VERSION_MAJOR < 5 || (ITK_VERSION_MAJOR == 5 && ITK_VERSION_MINOR < 3)
  ExpectRefused("nifti2.nii", Corpus("nifti2.nii") + ": NIfTI-2 file: ITK " + itk::Version::GetITKVersion() +
                                ", which kmeans-segment is built with, has no NIfTI-2 reader (ITK 5.3 and later "
                                "read NIfTI-2); convert the file to NIfTI-1");
#else
  const auto labels = m_Files.Path("labels.nii.gz");
  const auto report = m_Files.Path("report.json");
  ASSERT_EQ(
    Segment({ Corpus("nifti2.nii"), "-o", labels.string(), "-k", "3", "-q", "--report", report.string() }).Status, 0);
  ExpectScaledSegmentation(labels, nlohmann::json::parse(ProgramTestSupport::ReadFile(report)), { "nifti2.nii", 1, 0 });
#endif
}

TEST_F(NiftiInputTest, ZeroOrNegativeDimensionIsRefusedWithExactlyOneLine)
{
  ExpectRefused("dim-zero.nii",
                Corpus("dim-zero.nii") + ": invalid NIfTI-1 header: dim[1] = 0, every size must be at least 1");
  ExpectRefused("dim-negative.nii",
                Corpus("dim-negative.nii") + ": invalid NIfTI-1 header: dim[1] = -3, every size must be at least 1");
}

TEST_F(NiftiInputTest, UncountableByteSizesAreRefusedWithExactlyOneLine)
{
  ExpectRefused("vox-offset-nan.nii", Corpus("vox-offset-nan.nii") +
                                        ": invalid NIfTI-1 header: vox_offset nan, the pixel data offset must be "
                                        "from 0 to 2^62 bytes");
  ExpectRefused("dims-huge.nii", Corpus("dims-huge.nii") +
                                   ": invalid NIfTI-1 header: its dimensions 32767 x 32767 x 32767 x 32767 x 3 "
                                   "of 2-byte voxels announce more than 2^62 bytes of pixel data");
}

TEST_F(NiftiInputTest, NonFiniteGeometryIsRefusedWithExactlyOneLine)
{
  ExpectRefused("srow-nan.nii", Corpus("srow-nan.nii") +
                                  ": invalid NIfTI-1 header: srow_x[3] = nan; voxel spacing, origin and orientation "
                                  "must be finite numbers of magnitude up to 1e15");
  ExpectRefused("srow-huge.nii", Corpus("srow-huge.nii") +
                                   ": invalid NIfTI-1 header: srow_z[3] = -1.70141e+38; voxel spacing, origin and "
                                   "orientation must be finite numbers of magnitude up to 1e15");
  ExpectRefused("srow-huge-sizeof-hdr.nii", Corpus("srow-huge-sizeof-hdr.nii") +
                                              ": invalid NIfTI-1 header: srow_z[3] = -1.70141e+38; voxel spacing, "
                                              "origin and orientation must be finite numbers of magnitude up to 1e15");
  ExpectRefused("srow-subnormal.nii", Corpus("srow-subnormal.nii") +
                                        ": invalid NIfTI-1 header: srow_y[2] = 3.50325e-43; voxel spacing, origin "
                                        "and orientation must be 0 or at least 1.17549e-38 in magnitude (a normal "
                                        "single-precision number)");
  ExpectRefused("dim0-bad-sizeof-hdr.nii", Corpus("dim0-bad-sizeof-hdr.nii") +
                                             ": invalid NIfTI-1 header: dim[0] = 9 and sizeof_hdr = 1627390300; "
                                             "dim[0] must be 1 to 7, sizeof_hdr 348");
}

TEST_F(NiftiInputTest, BatchSegmentsScaledFiles)
{
  const auto directory = m_Files.Path("batch");
  const auto result = Segment({ Corpus("int16-scaled.nii"), Corpus("uint8-scaled.nii.gz"),
                                Corpus("int16-negative.nii.gz"), "--output-dir", directory.string(), "-k", "3", "-q" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  const auto summary = nlohmann::json::parse(ProgramTestSupport::ReadFile(directory / "summary.json"));
  EXPECT_EQ(summary["failed"], 0);
  const std::vector<ScaledFile> files = { { "int16-scaled.nii", 2.5, -10 },
                                          { "uint8-scaled.nii.gz", 0.5, 0 },
                                          { "int16-negative.nii.gz", -2, 500 } };
  ASSERT_EQ(summary["results"].size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i)
  {
    const auto & entry = summary["results"][i];
    ASSERT_EQ(entry["status"], "ok") << entry.dump();
    ExpectScaledSegmentation(entry["output"].get<std::string>(),
                             nlohmann::json::parse(ProgramTestSupport::ReadFile(entry["report"].get<std::string>())),
                             files[i]);
  }
}

TEST_F(NiftiInputTest, HeaderSaysWhatIsStored)
{
  const auto scaled = kmeans_cli::ReadNiftiHeader(Corpus("int16-big-endian.nii"));
  ASSERT_TRUE(scaled);
  EXPECT_EQ(scaled->Format, "NIfTI-1");
  EXPECT_TRUE(scaled->Swapped);
  EXPECT_TRUE(scaled->SingleFile);
  EXPECT_EQ(scaled->Size, (std::vector<std::int64_t>{ 24, 20, 16 }));
  EXPECT_EQ(scaled->DataBytes(), 15360u); // int16 on disk, although ITK returns float
  EXPECT_EQ(scaled->DataOffset(), 352u);
  EXPECT_TRUE(scaled->Scaled());
  EXPECT_FALSE(scaled->ReaderMisreads());

  const auto nan = kmeans_cli::ReadNiftiHeader(Corpus("uint8-nan.nii"));
  ASSERT_TRUE(nan);
  EXPECT_EQ(nan->DataOffset(), 352u); // vox_offset 0
  EXPECT_FALSE(nan->Scaled());
  EXPECT_TRUE(nan->ReaderMisreads());
  const auto values = kmeans_cli::ReadNiftiPixels(*nan);
  ASSERT_EQ(values.size(), 7680u);
  EXPECT_EQ(values[0], StoredValue({ { 0, 0, 0 } }));
  EXPECT_EQ(values[7679], StoredValue({ { 23, 19, 15 } }));

  const auto slope0 = kmeans_cli::ReadNiftiHeader(Corpus("int16-slope0.nii"));
  ASSERT_TRUE(slope0);
  EXPECT_FALSE(slope0->Scaled());
  EXPECT_TRUE(slope0->ReaderMisreads()); // ITK would add scl_inter 7
  EXPECT_EQ(kmeans_cli::ReadNiftiPixels(*slope0)[1], StoredValue({ { 1, 0, 0 } }));

  const auto negative = kmeans_cli::ReadNiftiHeader(Corpus("int16-negative.nii.gz"));
  ASSERT_TRUE(negative);
  EXPECT_EQ(kmeans_cli::ReadNiftiPixels(*negative)[2], -2 * StoredValue({ { 2, 0, 0 } }) + 500);

  for (const std::string name : { "analyze-spm-scaled.img", "analyze-spm-scaled.hdr" })
  {
    const auto analyze = kmeans_cli::ReadNiftiHeader(Corpus(name));
    ASSERT_TRUE(analyze) << name;
    EXPECT_EQ(analyze->Format, "Analyze 7.5");
    EXPECT_FALSE(analyze->SingleFile);
    EXPECT_EQ(analyze->HeaderPath, Corpus("analyze-spm-scaled.hdr"));
    EXPECT_EQ(analyze->DataPath, Corpus("analyze-spm-scaled.img"));
    EXPECT_EQ(analyze->DataOffset(), 0u);
    EXPECT_FALSE(analyze->Scaled()); // ITK does not apply SPM's scale factor
  }
  const auto pair = kmeans_cli::ReadNiftiHeader(Corpus("int16-pair-gz.hdr"));
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->DataPath, Corpus("int16-pair-gz.img.gz"));
  EXPECT_TRUE(pair->DataCompressed);
  EXPECT_FALSE(kmeans_cli::ReadNiftiHeader(CorpusWriter)); // not a NIfTI name
}
} // namespace
