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
// Tests of kmeans-segment with several INPUT channels (multi-channel K-means), run as a separate process: labels
// of a two-channel phantom, mean vectors in the report, geometry mismatch, thread invariance, --standardize.
#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIterator.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "ProgramTestSupport.h"

namespace fs = std::filesystem;

namespace
{

using ShortImage = itk::Image<short, 3>;
using FloatImage = itk::Image<float, 3>;
using LabelImage = itk::Image<unsigned char, 3>;

using namespace ProgramTestSupport; // the program's path, running it, test files

template <typename TImage>
typename TImage::Pointer
MakeImage(double spacingZ = 2.0)
{
  auto                      image = TImage::New();
  typename TImage::SizeType size = { { 64, 48, 32 } }; // 98304 voxels: more than one chunk of the filter
  image->SetRegions(typename TImage::RegionType(size));
  typename TImage::SpacingType spacing;
  spacing[0] = 1.0;
  spacing[1] = 1.5;
  spacing[2] = spacingZ;
  image->SetSpacing(spacing);
  image->Allocate();
  image->FillBuffer(0);
  return image;
}

/** Two-channel phantom: background x < 8 (channel 1 = 0, channel 2 = 50); class 1 (8 <= x < 28) channel 1 about
 * 100, channel 2 about 200; classes 2 (28 <= x < 46) and 3 (x >= 46) have channel 1 about 300 and 303, which
 * overlap (+-5), and channel 2 about 100 and 400, which separate them. */
struct Phantom
{
  ShortImage::Pointer Channel1 = MakeImage<ShortImage>();
  FloatImage::Pointer Channel2 = MakeImage<FloatImage>();
  LabelImage::Pointer Truth = MakeImage<LabelImage>();
  Phantom()
  {
    itk::ImageRegionIterator<ShortImage> c1(Channel1, Channel1->GetLargestPossibleRegion());
    itk::ImageRegionIterator<FloatImage> c2(Channel2, Channel2->GetLargestPossibleRegion());
    itk::ImageRegionIterator<LabelImage> t(Truth, Truth->GetLargestPossibleRegion());
    for (; !c1.IsAtEnd(); ++c1, ++c2, ++t)
    {
      const auto index = c1.GetIndex();
      const int  x = static_cast<int>(index[0]);
      const int  wobble = static_cast<int>((index[0] * 7 + index[1] * 3 + index[2] * 5) % 11) - 5;
      const int  wobble2 = static_cast<int>((index[0] * 5 + index[1] * 11 + index[2] * 3) % 13) - 6;
      if (x < 8)
      {
        c2.Set(50.0f);
        continue;
      }
      const int label = x < 28 ? 1 : (x < 46 ? 2 : 3);
      const int mean1[] = { 0, 100, 300, 303 };
      const int mean2[] = { 0, 200, 100, 400 };
      c1.Set(static_cast<short>(mean1[label] + wobble));
      c2.Set(static_cast<float>(mean2[label] + 2.5 * wobble2 + 0.25)); // not integer-valued: the voxel path
      t.Set(static_cast<unsigned char>(label));
    }
  }
};

std::size_t
CountDifferences(const LabelImage * a, const LabelImage * b)
{
  const std::size_t n = a->GetLargestPossibleRegion().GetNumberOfPixels();
  EXPECT_EQ(n, b->GetLargestPossibleRegion().GetNumberOfPixels());
  std::size_t differences = 0;
  for (std::size_t i = 0; i < n; ++i)
  {
    differences += a->GetBufferPointer()[i] != b->GetBufferPointer()[i];
  }
  return differences;
}

class MultiChannelProgramTest : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    m_T1 = Path("t1.nii.gz");
    m_T2 = Path("t2.nrrd");
    WriteTestImage(m_Phantom.Channel1.GetPointer(), m_T1);
    WriteTestImage(m_Phantom.Channel2.GetPointer(), m_T2);
  }

  std::string
  Path(const std::string & name) const
  {
    return m_Files.Path(name).string();
  }

  RunResult
  Segment(const std::vector<std::string> & args) const
  {
    return m_Files.Run(Program, args);
  }

  std::set<std::string>
  Listing() const
  {
    return m_Files.Listing();
  }

  nlohmann::json
  ReadReport(const std::string & path) const
  {
    return nlohmann::json::parse(ReadFile(path));
  }

  ProgramTestSupport::TestDirectory m_Files{ "kmeans-multichannel-test" };
  Phantom                    m_Phantom;
  std::string m_T1;
  std::string m_T2;
};

TEST_F(MultiChannelProgramTest, SecondChannelSeparatesWhatTheFirstCannot)
{
  const auto result = Segment({ m_T1, m_T2, "-o", Path("labels.nii.gz"), "-k", "3", "--nonzero", "--seed", "7",
                                "--report", Path("report.json") });
  ASSERT_EQ(result.Status, 0) << result.Err;
  EXPECT_EQ(CountDifferences(ReadTestImage<LabelImage>(Path("labels.nii.gz")), m_Phantom.Truth), 0u);
  // The class table shows one mean column per channel.
  EXPECT_NE(result.Out.find("mean ch1"), std::string::npos) << result.Out;
  EXPECT_NE(result.Out.find("mean ch2"), std::string::npos) << result.Out;

  // Channel 1 alone (the exact scalar K-means) cannot separate classes 2 and 3.
  const auto alone = Segment({ m_T1, "-o", Path("alone.nii.gz"), "-k", "3", "--nonzero", "-q" });
  ASSERT_EQ(alone.Status, 0) << alone.Err;
  EXPECT_GT(CountDifferences(ReadTestImage<LabelImage>(Path("alone.nii.gz")), m_Phantom.Truth), 5000u);

  const auto report = ReadReport(Path("report.json"));
  ASSERT_EQ(report["inputs"].size(), 2u);
  EXPECT_EQ(report["inputs"][0]["path"], m_T1);
  EXPECT_EQ(report["inputs"][1]["path"], m_T2);
  EXPECT_EQ(report["inputs"][0]["pixel_type"], "short");
  EXPECT_EQ(report["inputs"][1]["pixel_type"], "float");
  const auto & model = report["model"];
  EXPECT_EQ(model["name"], "multichannel_kmeans");
  EXPECT_EQ(model["channels"], (nlohmann::json{ m_T1, m_T2 }));
  EXPECT_EQ(model["standardize"], false);
  EXPECT_EQ(model["seed"], 7);
  EXPECT_EQ(model["restarts"], 8);
  EXPECT_GE(model["iterations"].get<int>(), 1);
  EXPECT_EQ(report["mask"]["foreground_threshold"], 0.0);
  EXPECT_EQ(report["mask"]["foreground_channel"], m_T1);
  // Mean vectors (channel 1, channel 2) and counts of the three slabs: 20, 18 and 18 columns of 48 x 32.
  const double expectedMeans[3][2] = { { 100.0, 200.0 }, { 300.0, 100.0 }, { 303.0, 400.0 } };
  const std::size_t expectedVoxels[3] = { 20 * 48 * 32, 18 * 48 * 32, 18 * 48 * 32 };
  ASSERT_EQ(report["classes"].size(), 3u);
  std::size_t classified = 0;
  for (std::size_t k = 0; k < 3; ++k)
  {
    const auto & c = report["classes"][k];
    EXPECT_EQ(c["label"], k + 1);
    ASSERT_EQ(c["mean"].size(), 2u);
    EXPECT_NEAR(c["mean"][0].get<double>(), expectedMeans[k][0], 1.0) << "class " << k + 1;
    EXPECT_NEAR(c["mean"][1].get<double>(), expectedMeans[k][1], 2.0) << "class " << k + 1;
    EXPECT_EQ(c["voxels"].get<std::size_t>(), expectedVoxels[k]);
    EXPECT_NEAR(c["volume_ml"].get<double>(), expectedVoxels[k] * 3.0 / 1000.0, 1e-9);
    EXPECT_GT(c["sum_of_squares"].get<double>(), 0.0);
    classified += c["voxels"].get<std::size_t>();
  }
  EXPECT_EQ(report["classified_voxels"].get<std::size_t>(), classified);
  EXPECT_GT(report["within_class_sum_of_squares"].get<double>(), 0.0);
}

TEST_F(MultiChannelProgramTest, GeometryMismatchIsOneLineNamingBothFiles)
{
  auto other = MakeImage<FloatImage>(2.5); // another slice spacing
  const std::string t2 = Path("t2-other.nrrd");
  WriteTestImage(other.GetPointer(), t2);
  const auto before = Listing();
  const auto result = Segment({ m_T1, t2, "-o", Path("labels.nii.gz"), "-k", "3", "--report", Path("r.json") });
  EXPECT_EQ(result.Status, 1) << result.Err;
  EXPECT_EQ(result.ErrLines(), 1u) << result.Err;
  EXPECT_EQ(result.Err.rfind("kmeans-segment: error: " + t2 + ": ", 0), 0u) << result.Err;
  EXPECT_NE(result.Err.find(m_T1), std::string::npos) << result.Err;
  EXPECT_NE(result.Err.find("spacing [1, 1.5, 2.5]"), std::string::npos) << result.Err;
  EXPECT_NE(result.Err.find("spacing [1, 1.5, 2]"), std::string::npos) << result.Err;
  EXPECT_EQ(Listing(), before) << "files left behind";
}

TEST_F(MultiChannelProgramTest, SameLabelsAndReportForOneAndTwoThreads)
{
  for (const std::string threads : { "1", "2" })
  {
    const auto result = Segment({ m_T1, m_T2, "-o", Path("labels" + threads + ".nrrd"), "-k", "3", "--threads",
                                  threads, "--report", Path("report" + threads + ".json"), "-q" });
    ASSERT_EQ(result.Status, 0) << result.Err;
    EXPECT_TRUE(result.Out.empty()) << result.Out;
  }
  EXPECT_EQ(CountDifferences(ReadTestImage<LabelImage>(Path("labels1.nrrd")), ReadTestImage<LabelImage>(Path("labels2.nrrd"))), 0u);
  const auto one = ReadReport(Path("report1.json"));
  const auto two = ReadReport(Path("report2.json"));
  EXPECT_EQ(one["model"]["threads"], 1);
  EXPECT_EQ(two["model"]["threads"], 2);
  EXPECT_EQ(one["classes"], two["classes"]); // bit-identical means, counts and sums of squares
  EXPECT_EQ(one["within_class_sum_of_squares"], two["within_class_sum_of_squares"]);
  EXPECT_EQ(one["model"]["iterations"], two["model"]["iterations"]);
  // Without a mask the background (channel 1 = 0, channel 2 = 50) is classified too: 4 kinds of voxels, K = 3.
  EXPECT_EQ(one["classified_voxels"].get<std::size_t>(), 64u * 48u * 32u);
}

TEST_F(MultiChannelProgramTest, StandardizeIsRecorded)
{
  const auto result = Segment({ m_T1, m_T2, "-o", Path("labels.nii.gz"), "-k", "3", "--nonzero", "--standardize",
                                "--restarts", "3", "--report", Path("report.json"), "-q" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  const auto report = ReadReport(Path("report.json"));
  EXPECT_EQ(report["model"]["standardize"], true);
  EXPECT_EQ(report["model"]["restarts"], 3);
  EXPECT_EQ(report["model"]["restart_within_class_sums_of_squares"].size(), 3u);
  ASSERT_EQ(report["model"]["channel_standard_deviations"].size(), 2u);
  EXPECT_GT(report["model"]["channel_standard_deviations"][0].get<double>(), 50.0);
  // The phantom's classes are far apart in both scalings: the same labels.
  EXPECT_EQ(CountDifferences(ReadTestImage<LabelImage>(Path("labels.nii.gz")), m_Phantom.Truth), 0u);
  // Class means stay in input units.
  EXPECT_NEAR(report["classes"][2]["mean"][1].get<double>(), 400.0, 2.0);

  // One INPUT has no use for the multi-channel options: a one-line error, no output.
  const auto before = Listing();
  const auto single = Segment({ m_T1, "-o", Path("single.nii.gz"), "-k", "3", "--standardize" });
  EXPECT_EQ(single.Status, 1) << single.Err;
  EXPECT_EQ(single.ErrLines(), 1u) << single.Err;
  EXPECT_NE(single.Err.find("--standardize"), std::string::npos) << single.Err;
  EXPECT_EQ(Listing(), before);
}

TEST_F(MultiChannelProgramTest, SlicerSegmentationAndMissingChannel)
{
  const auto result = Segment({ m_T1, m_T2, "-o", Path("labels.seg.nrrd"), "-k", "3", "--nonzero", "-q" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  const std::string header = ReadFile(Path("labels.seg.nrrd"));
  EXPECT_NE(header.find("Segment2_LabelValue:=3"), std::string::npos);

  const auto before = Listing();
  const auto missing = Segment({ m_T1, Path("none.nii.gz"), "-o", Path("labels.nii.gz"), "-k", "3" });
  EXPECT_EQ(missing.Status, 1) << missing.Err;
  EXPECT_EQ(missing.ErrLines(), 1u) << missing.Err;
  EXPECT_NE(missing.Err.find(Path("none.nii.gz")), std::string::npos) << missing.Err;
  EXPECT_EQ(Listing(), before);
}
} // namespace
