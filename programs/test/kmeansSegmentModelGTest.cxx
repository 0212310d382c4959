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
// Tests of kmeans-segment's intensity models (cli/options/ModelOptions.h), run as separate processes: --model gmm with
// --mrf against K-means on a noisy phantom with known labels, --posteriors read back, -k auto and its warning,
// one-line errors with their exit codes, thread invariance.
#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkVectorImage.h"

#include "KMeansTestData.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "ProgramTestSupport.h"

namespace fs = std::filesystem;

namespace
{
using ImageType = itk::Image<float, 3>;
using LabelImageType = itk::Image<unsigned char, 3>;
using PosteriorImageType = itk::VectorImage<float, 3>;

using namespace ProgramTestSupport; // the program's path, running it, test files

/** A 36 x 36 x 36 phantom with a 3-voxel border of zeros (the background of --nonzero) and class slabs along x
 * (labels 1..K by ascending mean) with Gaussian noise of standard deviation sigma, clamped to stay above 0.
 * Anisotropic spacing, an origin and a direction, so that the geometry of the outputs is tested. */
void
MakePhantom(const std::vector<double> & means, double sigma, ImageType::Pointer & image,
            LabelImageType::Pointer & truth)
{
  constexpr int          size = 36;
  constexpr int          border = 3;
  ImageType::RegionType  region({ { 0, 0, 0 } }, { { size, size, size } });
  image = ImageType::New();
  image->SetRegions(region);
  ImageType::SpacingType spacing;
  spacing[0] = 1.2;
  spacing[1] = 1.0;
  spacing[2] = 0.9;
  image->SetSpacing(spacing);
  ImageType::PointType origin;
  origin[0] = -10.0;
  origin[1] = 4.0;
  origin[2] = 2.5;
  image->SetOrigin(origin);
  ImageType::DirectionType direction;
  direction.Fill(0.0);
  direction(0, 1) = 1.0;
  direction(1, 0) = 1.0;
  direction(2, 2) = 1.0;
  image->SetDirection(direction);
  image->Allocate();
  truth = LabelImageType::New();
  truth->CopyInformation(image);
  truth->SetRegions(region);
  truth->Allocate();
  std::mt19937                     random(20261126);
  std::normal_distribution<double> noise(0.0, sigma);
  const int                        classes = static_cast<int>(means.size());
  const int                        inner = size - 2 * border;
  itk::ImageRegionIteratorWithIndex<ImageType> it(image, region);
  itk::ImageRegionIteratorWithIndex<LabelImageType> lt(truth, region);
  for (; !it.IsAtEnd(); ++it, ++lt)
  {
    const auto & index = it.GetIndex();
    bool         inside = true;
    for (unsigned int d = 0; d < 3; ++d)
    {
      inside = inside && index[d] >= border && index[d] < size - border;
    }
    const double value = noise(random); // drawn for every voxel, so the noise does not depend on the classes
    if (!inside)
    {
      it.Set(0.0f);
      lt.Set(0);
      continue;
    }
    const int label = 1 + std::min(classes - 1, static_cast<int>((index[0] - border) * classes / inner));
    lt.Set(static_cast<unsigned char>(label));
    it.Set(static_cast<float>(std::max(1.0, means[label - 1] + value)));
  }
}

class ModelProgramTest : public ::testing::Test
{
protected:
  fs::path
  Path(const std::string & name) const
  {
    return m_Files.Path(name);
  }

  RunResult
  Segment(const std::vector<std::string> & args) const
  {
    return m_Files.Run(KMEANS_SEGMENT_EXECUTABLE, args);
  }

  std::set<std::string>
  Listing() const
  {
    return m_Files.Listing();
  }

  /** Expect the exit status, one line on stderr containing text, and no new file. */
  void
  ExpectError(const std::vector<std::string> & args, int status, const std::string & text)
  {
    const auto before = Listing();
    const auto result = Segment(args);
    EXPECT_EQ(result.Status, status) << result.Err;
    EXPECT_EQ(result.ErrLines(), 1u) << result.Err;
    EXPECT_NE(result.Err.find(text), std::string::npos) << "message lacks '" << text << "': " << result.Err;
    EXPECT_EQ(Listing(), before) << "files left behind after: " << result.Err;
  }

  nlohmann::json
  ReadReport(const std::string & name) const
  {
    return nlohmann::json::parse(ReadFile(Path(name)));
  }

  /** Segment the noisy three-class phantom; returns the number of voxels whose label differs from the truth. */
  std::size_t
  WrongVoxels(const std::string & name, const LabelImageType * truth) const
  {
    const auto labels = ReadTestImage<LabelImageType>(Path(name));
    std::size_t wrong = 0;
    itk::ImageRegionConstIterator<LabelImageType> it(labels, labels->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<LabelImageType> tt(truth, truth->GetLargestPossibleRegion());
    for (; !it.IsAtEnd(); ++it, ++tt)
    {
      wrong += (it.Get() != tt.Get());
    }
    return wrong;
  }

  ProgramTestSupport::TestDirectory m_Files{ "kmeans-segment-model" };
};

void
ExpectSameGeometry(const itk::ImageBase<3> * a, const itk::ImageBase<3> * b)
{
  EXPECT_EQ(a->GetLargestPossibleRegion(), b->GetLargestPossibleRegion());
  for (unsigned int d = 0; d < 3; ++d)
  {
    EXPECT_NEAR(a->GetSpacing()[d], b->GetSpacing()[d], 1e-5);
    EXPECT_NEAR(a->GetOrigin()[d], b->GetOrigin()[d], 1e-4);
    for (unsigned int e = 0; e < 3; ++e)
    {
      EXPECT_NEAR(a->GetDirection()(d, e), b->GetDirection()(d, e), 1e-6);
    }
  }
}

TEST_F(ModelProgramTest, MRFMakesFewerWrongVoxelsThanKMeansAndWritesPosteriors)
{
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 200.0, 300.0 }, 40.0, image, truth);
  WriteTestImage(image.GetPointer(), Path("noisy.nrrd"));

  const auto kmeans = Segment({ Path("noisy.nrrd"), "-o", Path("kmeans.nrrd"), "-k", "3", "--nonzero", "-q" });
  ASSERT_EQ(kmeans.Status, 0) << kmeans.Err;
  const auto gmm = Segment({ Path("noisy.nrrd"), "-o", Path("gmm.nrrd"), "-k", "3", "--nonzero", "--mrf", "0.6",
                             "--posteriors", Path("posteriors.nrrd"), "--report", Path("gmm.json"), "-q" });
  ASSERT_EQ(gmm.Status, 0) << gmm.Err;

  const std::size_t kmeansWrong = WrongVoxels("kmeans.nrrd", truth);
  const std::size_t gmmWrong = WrongVoxels("gmm.nrrd", truth);
  std::cout << "wrong voxels of 27000: K-means " << kmeansWrong << ", GMM + MRF (beta 0.6) " << gmmWrong << std::endl;
  EXPECT_GT(kmeansWrong, 1000u) << "the phantom is meant to be noisy enough for K-means to speckle";
  EXPECT_LT(gmmWrong * 4, kmeansWrong) << "the MRF should remove most isolated wrong voxels";

  // The report: the model, its parameters, the classes in ascending mean.
  const auto report = ReadReport("gmm.json");
  EXPECT_EQ(report["model"]["name"], "gmm");
  EXPECT_EQ(report["model"]["variance"], "common");
  EXPECT_DOUBLE_EQ(report["model"]["mrf_weight"].get<double>(), 0.6);
  EXPECT_GE(report["model"]["mrf_iterations"].get<int>(), 1);
  EXPECT_TRUE(report["model"]["log_likelihood"].is_number());
  ASSERT_EQ(report["classes"].size(), 3u);
  double      previous = 0.0;
  std::size_t voxels = 0;
  for (std::size_t k = 0; k < 3; ++k)
  {
    const auto & c = report["classes"][k];
    EXPECT_EQ(c["label"], k + 1);
    EXPECT_GT(c["mean"].get<double>(), previous);
    previous = c["mean"].get<double>();
    EXPECT_NEAR(c["mean"].get<double>(), 100.0 * (k + 1), 15.0);
    EXPECT_NEAR(std::sqrt(c["variance"].get<double>()), 40.0, 8.0);
    EXPECT_NEAR(c["proportion"].get<double>(), 1.0 / 3.0, 0.05);
    voxels += c["voxels"].get<std::size_t>();
  }
  EXPECT_EQ(voxels, 30u * 30u * 30u);
  EXPECT_EQ(report["classified_voxels"], 30u * 30u * 30u);
  EXPECT_EQ(report["posteriors"]["path"], Path("posteriors.nrrd").string());

  // The posteriors: K components, a distribution inside, 0 outside, the input's geometry; the label is the
  // class of largest posterior.
  const auto posteriors = ReadTestImage<PosteriorImageType>(Path("posteriors.nrrd"));
  const auto labels = ReadTestImage<LabelImageType>(Path("gmm.nrrd"));
  ASSERT_EQ(posteriors->GetNumberOfComponentsPerPixel(), 3u);
  ExpectSameGeometry(posteriors, image);
  ExpectSameGeometry(labels, image);
  itk::ImageRegionConstIterator<PosteriorImageType> pt(posteriors, posteriors->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<LabelImageType>     tt(truth, truth->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<LabelImageType>     lt(labels, labels->GetLargestPossibleRegion());
  std::size_t                                       badSums = 0, nonzeroOutside = 0, notLargest = 0;
  for (; !pt.IsAtEnd(); ++pt, ++tt, ++lt)
  {
    const auto p = pt.Get();
    double     sum = 0.0;
    unsigned   largest = 0;
    for (unsigned int k = 0; k < 3; ++k)
    {
      sum += p[k];
      largest = p[k] > p[largest] ? k : largest;
    }
    if (tt.Get() == 0)
    {
      nonzeroOutside += (sum != 0.0);
    }
    else
    {
      badSums += (std::abs(sum - 1.0) > 1e-4);
      notLargest += (lt.Get() != largest + 1 && p[lt.Get() - 1] < p[largest]);
    }
  }
  EXPECT_EQ(badSums, 0u);
  EXPECT_EQ(nonzeroOutside, 0u);
  EXPECT_EQ(notLargest, 0u);

  // NIfTI too.
  ASSERT_EQ(Segment({ Path("noisy.nrrd"), "-o", Path("gmm2.nii.gz"), "-k", "3", "--nonzero", "--model", "gmm",
                      "--posteriors", Path("posteriors.nii.gz"), "-q" })
              .Status,
            0);
  const auto nifti = ReadTestImage<PosteriorImageType>(Path("posteriors.nii.gz"));
  EXPECT_EQ(nifti->GetNumberOfComponentsPerPixel(), 3u);
  ExpectSameGeometry(nifti, image);
}

TEST_F(ModelProgramTest, AutomaticKPicksTheTrueNumberOfClasses)
{
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 300.0, 500.0, 700.0 }, 10.0, image, truth);
  WriteTestImage(image.GetPointer(), Path("separated.nrrd"));

  for (const std::string model : { "gmm", "kmeans" })
  {
    const std::string output = model + ".nrrd";
    const std::string json = model + ".json";
    const auto result = Segment({ Path("separated.nrrd"), "-o", Path(output), "-k", "auto", "--max-k", "6",
                                  "--nonzero", "--model", model, "--report", Path(json), "-q" });
    ASSERT_EQ(result.Status, 0) << result.Err;
    const auto report = ReadReport(json);
    EXPECT_EQ(report["model"]["name"], model);
    EXPECT_EQ(report["model"]["number_of_classes"], 4);
    const auto & selection = report["model_selection"];
    EXPECT_EQ(selection["criterion"], "log-likelihood gain per voxel");
    EXPECT_EQ(selection["chosen_k"], 4);
    EXPECT_EQ(selection["largest_k_tried"], 6);
    EXPECT_EQ(selection["largest_k_chosen"], false);
    EXPECT_FALSE(report.contains("warnings")) << report["warnings"];
    // The fifth class gains less than the required gain per voxel in one of the models, the fourth more; larger K
    // are not fitted.
    const auto & each = selection["for_each_k"];
    ASSERT_EQ(each.size(), 5u);
    const double required = selection["required_gain_per_voxel"].get<double>();
    EXPECT_GE(each[3]["gain_per_voxel"].get<double>(), required);
    EXPECT_LT(each[4]["gain_per_voxel"].get<double>(), required);
    ASSERT_EQ(selection["bic_for_each_k"].size(), 6u);
    double smallest = selection["bic_for_each_k"][3]["bic"].get<double>();
    for (std::size_t k = 0; k < 6; ++k)
    {
      EXPECT_EQ(selection["bic_for_each_k"][k]["k"], k + 1);
      EXPECT_GE(selection["bic_for_each_k"][k]["bic"].get<double>(), smallest) << "K = " << k + 1;
    }
    EXPECT_NE(selection["by"].get<std::string>().find("gmm"), std::string::npos);
    ASSERT_EQ(report["classes"].size(), 4u);
    EXPECT_EQ(WrongVoxels(output, truth), 0u) << model;
  }

  // A Slicer segmentation names the chosen number of segments.
  const auto seg = Segment({ Path("separated.nrrd"), "-o", Path("auto.seg.nrrd"), "-k", "auto", "--model", "gmm",
                             "--nonzero", "--report", Path("seg.json"), "-q" });
  ASSERT_EQ(seg.Status, 0) << seg.Err;
  EXPECT_EQ(ReadReport("seg.json")["slicer_segmentation"]["segments"].size(), 4u);
}

TEST_F(ModelProgramTest, AutomaticKWarnsWhenItChoosesTheLargestKTried)
{
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 300.0, 500.0, 700.0 }, 10.0, image, truth);
  WriteTestImage(image.GetPointer(), Path("four.nrrd"));
  const auto result = Segment({ Path("four.nrrd"), "-o", Path("three.nrrd"), "-k", "auto", "--max-k", "3",
                                "--nonzero", "--report", Path("three.json"), "-q" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  // One line on stderr, even with -q, and the same warning and a flag in the report.
  const std::string expected = "kmeans-segment: warning: -k auto chose K = 3, the largest K tried";
  EXPECT_EQ(result.Err.rfind(expected, 0), 0u) << result.Err;
  EXPECT_EQ(std::count(result.Err.begin(), result.Err.end(), '\n'), 1) << result.Err;
  const auto report = ReadReport("three.json");
  EXPECT_EQ(report["model_selection"]["chosen_k"], 3);
  EXPECT_EQ(report["model_selection"]["largest_k_chosen"], true);
  ASSERT_EQ(report["warnings"].size(), 1u);
  EXPECT_NE(report["warnings"][0].get<std::string>().find("the largest K tried"), std::string::npos);
  // With room above, the same image gives 4 and no warning.
  const auto roomy = Segment({ Path("four.nrrd"), "-o", Path("four-labels.nrrd"), "-k", "auto", "--max-k", "5",
                               "--nonzero", "-q" });
  ASSERT_EQ(roomy.Status, 0) << roomy.Err;
  EXPECT_EQ(roomy.Err, "");
  // Three intensities leave no room for a fourth class: the warning says so.
  for (auto it = itk::ImageRegionIteratorWithIndex<ImageType>(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    it.Set(static_cast<ImageType::PixelType>(100 * (1 + it.GetIndex()[0] % 3)));
  }
  WriteTestImage(image.GetPointer(), Path("levels.nrrd"));
  const auto few = Segment({ Path("levels.nrrd"), "-o", Path("levels-labels.nrrd"), "-k", "auto", "-q" });
  ASSERT_EQ(few.Status, 0) << few.Err;
  EXPECT_EQ(few.Err, "kmeans-segment: warning: -k auto chose K = 3, the largest K tried (the histogram has only 3 "
                     "distinct intensity levels): check that the image is not quantised to a few values, or give "
                     "K with -k\n");
}

TEST_F(ModelProgramTest, AutomaticKGivesThreeTissuesOnRealBrains)
{
  // Skull-stripped real T1 scans: BIC of the Gaussian mixture chooses the largest K on them (the histogram of a
  // million voxels is not a sum of Gaussians); -k auto must give CSF, grey and white matter, without a warning.
  struct Case
  {
    std::string File;
    std::string Mask; // relative to the data directory; empty: --nonzero
  };
  const std::vector<Case>  cases = { { "mni152-2009a/t1.nii.gz", "" },
                                     { "itk-t1/t1.nii.gz", "itk-t1/skullstrip-labels.nii.gz" },
                                     { "/usr/share/mricron/templates/ch2bet.nii.gz", "" } };
  std::vector<std::string> missing;
  for (const auto & c : cases)
  {
    const bool        absolute = c.File.front() == '/';
    const std::string file = absolute ? (std::filesystem::exists(c.File) ? c.File : "") : KMeansTest::DataFile(c.File);
    const std::string mask = c.Mask.empty() ? "" : KMeansTest::DataFile(c.Mask);
    if (file.empty() || (!c.Mask.empty() && mask.empty()))
    {
      missing.push_back(absolute ? c.File + " (Debian package mricron-data)"
                                 : KMeansTest::MissingDataMessage(file.empty() ? c.File : c.Mask));
      continue;
    }
    SCOPED_TRACE(c.File);
    std::vector<std::string> args = { file, "-o", Path("real.nii.gz").string(), "-k", "auto", "--report",
                                      Path("real.json").string(), "-q" };
    if (mask.empty())
    {
      args.push_back("--nonzero");
    }
    else
    {
      args.insert(args.end(), { "--mask", mask });
    }
    const auto result = Segment(args);
    ASSERT_EQ(result.Status, 0) << result.Err;
    EXPECT_EQ(result.Err, "");
    const auto   report = ReadReport("real.json");
    const auto & selection = report["model_selection"];
    EXPECT_EQ(selection["chosen_k"], 3) << selection.dump();
    EXPECT_EQ(selection["largest_k_chosen"], false);
    EXPECT_EQ(report["classes"].size(), 3u);
    // BIC alone would have taken the largest K.
    const auto & bic = selection["bic_for_each_k"];
    ASSERT_EQ(bic.size(), 6u);
    EXPECT_LT(bic[5]["bic"].get<double>(), bic[2]["bic"].get<double>());
  }
  if (missing.size() == cases.size())
  {
    GTEST_SKIP() << missing.front();
  }
  for (const auto & message : missing)
  {
    std::cout << "skipped: " << message << std::endl;
  }
}

TEST_F(ModelProgramTest, TissueSegmentationFromTheMixture)
{
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 200.0, 300.0 }, 20.0, image, truth);
  WriteTestImage(image.GetPointer(), Path("brain.nrrd"));
  const auto result = Segment({ Path("brain.nrrd"), "-o", Path("brain.seg.nrrd"), "-k", "3", "--tissues", "--mrf",
                                "0.6", "--nonzero", "--report", Path("brain.json"), "-q" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  const auto report = ReadReport("brain.json");
  EXPECT_EQ(report["model"]["name"], "gmm");
  const auto & names = report["slicer_segmentation"]["segments"];
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "CSF");
}

TEST_F(ModelProgramTest, ErrorsAreOneLineWithTheirExitCodes)
{
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 200.0, 300.0 }, 5.0, image, truth);
  WriteTestImage(image.GetPointer(), Path("in.nrrd"));
  const std::string in = Path("in.nrrd").string();
  const std::string out = Path("out.nrrd").string();
  // Usage errors (2), before any work.
  ExpectError({ in, "-o", out, "-k", "3", "--mrf", "-1" }, 2, "--mrf");
  ExpectError({ in, "-o", out, "-k", "3", "--mrf", "nan" }, 2, "--mrf");
  ExpectError({ in, "-o", out, "-k", "3", "--model", "kmeans", "--mrf", "0.5" }, 2, "--model gmm");
  ExpectError({ in, "-o", out, "-k", "3", "--model", "em" }, 2, "--model");
  ExpectError({ in, "-o", out, "-k", "auto", "--max-k", "0" }, 2, "--max-k");
  ExpectError({ in, "-o", out, "-k", "3", "--max-k", "4" }, 2, "-k auto");
  ExpectError({ in, "-o", out, "-k", "aut" }, 2, "K must be a whole number");
  ExpectError({ in, "-o", out, "-k", "3", "--posteriors", Path("p.nrrd").string() }, 2, "--model gmm");
  ExpectError({ in, "-o", out, "-k", "3", "--model", "gmm", "--posteriors", Path("p.png").string() }, 2, ".nrrd");
  ExpectError({ in, "-o", out, "-k", "auto", "--model", "gmm", "--tissues" }, 2, "--tissues");
  ExpectError({ in, "-o", out, "-k", "3", "--per-class-variance" }, 2, "--model gmm");
  ExpectError({ in, "-o", out, "-k", "3", "--mrf", "1", "--common-variance", "--per-class-variance" }, 2,
              "--per-class-variance");
  ExpectError({ in, in, "-o", out, "-k", "3", "--model", "gmm" }, 2, "one scalar INPUT");
  // Runtime errors (1), naming the file; nothing written, not even the posteriors.
  ExpectError({ in, "-o", out, "-k", "3", "--mrf", "0.5", "--posteriors", in }, 1, in);
  ExpectError({ in, "-o", out, "-k", "3", "--model", "gmm", "--posteriors", out }, 1, out);
  ExpectError({ in, "-o", out, "-k", "3", "--model", "gmm", "--posteriors", Path("no/such/p.nrrd").string() }, 1,
              "no/such/p.nrrd");
  ExpectError({ in, "-o", out, "-k", "3", "--model", "gmm", "--foreground-threshold", "1000", "--posteriors",
                Path("p.nrrd").string() },
              1, in);
  // The mask rules of the K-means: a mask of another geometry is refused, naming the mask.
  auto small = LabelImageType::New();
  small->SetRegions(LabelImageType::RegionType({ { 0, 0, 0 } }, { { 5, 5, 5 } }));
  small->Allocate(true);
  WriteTestImage(small.GetPointer(), Path("mask.nrrd"));
  ExpectError({ in, "-o", out, "-k", "3", "--mrf", "0.5", "--mask", Path("mask.nrrd").string() }, 1,
              Path("mask.nrrd").string());
}

TEST_F(ModelProgramTest, ThreadCountDoesNotChangeTheResult)
{
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 200.0, 300.0 }, 40.0, image, truth);
  WriteTestImage(image.GetPointer(), Path("noisy.nrrd"));
  for (const std::string threads : { "1", "2" })
  {
    const auto result =
      Segment({ Path("noisy.nrrd"), "-o", Path("labels" + threads + ".nrrd"), "-k", "auto", "--max-k", "4",
                "--mrf", "0.6", "--nonzero", "--threads", threads, "--posteriors", Path("p" + threads + ".nrrd"),
                "--report", Path("r" + threads + ".json"), "-q" });
    ASSERT_EQ(result.Status, 0) << result.Err;
  }
  EXPECT_EQ(ReadFile(Path("labels1.nrrd")), ReadFile(Path("labels2.nrrd")));
  EXPECT_EQ(ReadFile(Path("p1.nrrd")), ReadFile(Path("p2.nrrd")));
  auto r1 = ReadReport("r1.json");
  auto r2 = ReadReport("r2.json");
  EXPECT_EQ(r1["classes"], r2["classes"]);
  EXPECT_EQ(r1["model"]["log_likelihood"], r2["model"]["log_likelihood"]);
  EXPECT_EQ(r1["model_selection"], r2["model_selection"]);
}

TEST_F(ModelProgramTest, PartialVolumeMapsAreWrittenAtomicallyAndTheReportSumsThem)
{
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 200.0, 300.0 }, 12.0, image, truth);
  WriteTestImage(image.GetPointer(), Path("t1.nii.gz"));
  const auto before = Listing();
  // All a FAST user types: --pve alone implies the model.
  const auto result = Segment({ Path("t1.nii.gz"), "--nonzero", "-k", "3", "--pve", Path("t1").string(), "-o",
                                Path("t1_seg.nii.gz"), "--report", Path("pve.json"), "-q" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  auto expected = before;
  for (const char * name : { "t1_seg.nii.gz", "pve.json", "t1_pve_1.nii.gz", "t1_pve_2.nii.gz", "t1_pve_3.nii.gz" })
  {
    expected.insert(name);
  }
  EXPECT_EQ(Listing(), expected) << "exactly the outputs, no temporary file left";

  using MapType = itk::Image<float, 3>;
  std::vector<MapType::Pointer> maps;
  for (unsigned int k = 1; k <= 3; ++k)
  {
    maps.push_back(ReadTestImage<MapType>(Path("t1_pve_" + std::to_string(k) + ".nii.gz")));
    ExpectSameGeometry(maps.back(), image);
  }
  const auto        report = ReadReport("pve.json");
  const std::size_t n = truth->GetLargestPossibleRegion().GetNumberOfPixels();
  for (unsigned int k = 0; k < 3; ++k)
  {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i)
    {
      sum += maps[k]->GetBufferPointer()[i];
    }
    const auto & c = report["classes"][k];
    EXPECT_DOUBLE_EQ(c["fraction_voxels"].get<double>(), sum) << "label " << k + 1;
    EXPECT_DOUBLE_EQ(report["partial_volume_maps"][k]["sum"].get<double>(), sum);
    EXPECT_EQ(report["partial_volume_maps"][k]["path"], Path("t1_pve_" + std::to_string(k + 1) + ".nii.gz").string());
    EXPECT_NEAR(c["fraction_volume_ml"].get<double>(), sum * 1.2 * 1.0 * 0.9 / 1000.0, 1e-6); // float spacing
    EXPECT_NEAR(sum, 10.0 * 30.0 * 30.0, 0.03 * 9000.0) << "a slab of 10 x 30 x 30 voxels";
  }
  EXPECT_TRUE(report["model"]["partial_volume"].get<bool>());
  EXPECT_DOUBLE_EQ(report["model"]["mrf_weight"].get<double>(), 0.6);
  EXPECT_FALSE(report.contains("warnings")) << report["warnings"];
  for (std::size_t i = 0; i < n; ++i)
  {
    const double total = maps[0]->GetBufferPointer()[i] + maps[1]->GetBufferPointer()[i] + maps[2]->GetBufferPointer()[i];
    ASSERT_NEAR(total, truth->GetBufferPointer()[i] > 0 ? 1.0 : 0.0, 1e-5) << "voxel " << i;
  }
  ExpectError({ Path("t1.nii.gz"), "-k", "3", "--model", "kmeans", "--pve", Path("x").string(), "-o", Path("x.nii.gz") },
              2, "--pve");
}

TEST_F(ModelProgramTest, KMeansWithBiasFieldCorrectsAStrongField)
{
  // Slabs of 100 / 200 / 300 along x times a field from 0.7 to 1.3 along y: the first two classes overlap in
  // intensity, so the plain K-means mislabels many voxels; divided by the field estimated inside the EM, few.
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 200.0, 300.0 }, 6.0, image, truth);
  itk::ImageRegionIteratorWithIndex<ImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    it.Set(static_cast<float>(it.Get() * (0.7 + 0.6 * it.GetIndex()[1] / 35.0)));
  }
  WriteTestImage(image.GetPointer(), Path("biased.nii.gz"));
  const auto plain = Segment({ Path("biased.nii.gz"), "--nonzero", "-k", "3", "-o", Path("plain.nii.gz"), "-q" });
  ASSERT_EQ(plain.Status, 0) << plain.Err;
  const auto result = Segment({ Path("biased.nii.gz"), "--nonzero", "-k", "3", "--model", "kmeans", "--bias-field",
                                "--bias-field-output", Path("field.nii.gz").string(), "-o", Path("corrected.nii.gz"),
                                "--report", Path("corrected.json"), "-q" });
  ASSERT_EQ(result.Status, 0) << result.Err;
  const std::size_t before = WrongVoxels("plain.nii.gz", truth);
  const std::size_t after = WrongVoxels("corrected.nii.gz", truth);
  EXPECT_GT(before, 2000u);
  EXPECT_LT(after, 100u) << "plain K-means: " << before << " wrong voxels";
  const auto report = ReadReport("corrected.json");
  EXPECT_EQ(report["model"]["name"], "kmeans");
  EXPECT_EQ(report["preprocessing"].back()["step"], "bias_field");
  EXPECT_EQ(report["bias_field"]["path"], Path("field.nii.gz").string());
  ExpectSameGeometry(ReadTestImage<ImageType>(Path("field.nii.gz")), image);
  ExpectError({ Path("biased.nii.gz"), "-k", "auto", "--model", "kmeans", "--bias-field", "-o", Path("x.nii.gz") },
              2, "--bias-field");
}

TEST_F(ModelProgramTest, ANegligibleClassIsReportedWithAWarning)
{
  // Two tissues and five bright voxels, three classes: the third class holds 5 of 27000 voxels, which the report
  // and the terminal table must say.
  ImageType::Pointer      image;
  LabelImageType::Pointer truth;
  MakePhantom({ 100.0, 300.0 }, 5.0, image, truth);
  for (unsigned int i = 0; i < 5; ++i)
  {
    const ImageType::IndexType index = { { 10 + static_cast<itk::IndexValueType>(i), 10, 10 } };
    image->SetPixel(index, 1000.0f);
  }
  WriteTestImage(image.GetPointer(), Path("two.nii.gz"));
  const auto result = Segment({ Path("two.nii.gz"), "--nonzero", "-k", "3", "--mrf", "0.6", "-o",
                                Path("three.nii.gz"), "--report", Path("three.json") });
  ASSERT_EQ(result.Status, 0) << result.Err;
  const auto report = ReadReport("three.json");
  ASSERT_TRUE(report.contains("warnings")) << report.dump();
  EXPECT_NE(report["warnings"][0].get<std::string>().find("class 3 holds"), std::string::npos) << report["warnings"];
  EXPECT_NE(result.Out.find("warning: class 3 holds"), std::string::npos) << result.Out;
}
} // namespace
