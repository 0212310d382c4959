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
#include "itkGaussianMixtureSegmentationImageFilter.h"
#include "itkKMeansSegmentationImageFilter.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>

namespace
{
using Image3F = itk::Image<float, 3>;
using Image2F = itk::Image<float, 2>;
using Image3S = itk::Image<short, 3>;
using Label3 = itk::Image<unsigned char, 3>;

template <typename TImage>
typename TImage::Pointer
MakeImage(const typename TImage::SizeType & size)
{
  auto image = TImage::New();
  image->SetRegions(typename TImage::RegionType(size));
  image->Allocate(true);
  return image;
}

std::string
ErrorOf(const std::function<void()> & f)
{
  try
  {
    f();
  }
  catch (const itk::ExceptionObject & e)
  {
    return e.GetDescription();
  }
  return "(no exception)";
}

/** Nested-shell phantom: label 3 inside radius 0.25 n, label 2 up to 0.42 n, label 1 elsewhere, with Gaussian
 * noise of the given standard deviation around the class intensities 60, 100, 140. */
template <unsigned int D>
std::pair<typename itk::Image<float, D>::Pointer, std::vector<unsigned char>>
ShellPhantom(unsigned int n, double sigma, unsigned int seed)
{
  using ImageType = itk::Image<float, D>;
  typename ImageType::SizeType size;
  size.Fill(n);
  auto                             image = MakeImage<ImageType>(size);
  std::vector<unsigned char>       truth(image->GetBufferedRegion().GetNumberOfPixels());
  std::mt19937                     rng(seed);
  std::normal_distribution<double> noise(0.0, sigma);
  const double                     means[] = { 60.0, 100.0, 140.0 };
  for (std::size_t i = 0; i < truth.size(); ++i)
  {
    const auto index = image->ComputeIndex(static_cast<typename ImageType::OffsetValueType>(i));
    double     r2 = 0.0;
    for (unsigned int d = 0; d < D; ++d)
    {
      const double c = index[d] - 0.5 * (n - 1);
      r2 += c * c;
    }
    const double r = std::sqrt(r2) / n;
    truth[i] = r < 0.25 ? 3 : (r < 0.42 ? 2 : 1);
    image->GetBufferPointer()[i] = static_cast<float>(means[truth[i] - 1] + noise(rng));
  }
  return { image, truth };
}

template <typename TLabelImage>
double
Dice(const TLabelImage * labels, const std::vector<unsigned char> & truth, unsigned char label)
{
  std::size_t both = 0, a = 0, b = 0;
  for (std::size_t i = 0; i < truth.size(); ++i)
  {
    const bool x = labels->GetBufferPointer()[i] == label;
    const bool y = truth[i] == label;
    both += x && y;
    a += x;
    b += y;
  }
  return 2.0 * static_cast<double>(both) / static_cast<double>(a + b);
}

template <unsigned int D>
using Filter = itk::GaussianMixtureSegmentationImageFilter<itk::Image<float, D>>;
} // namespace

TEST(GaussianMixtureSegmentationImageFilter, RecoversKnownMixtureParameters)
{
  // 64000 draws from 0.3 N(100, 10^2) + 0.5 N(140, 15^2) + 0.2 N(200, 12^2): the classes overlap, so the
  // K-means means are biased while the mixture fit recovers the generating parameters.
  Image3F::SizeType               size{ { 40, 40, 40 } };
  auto                            image = MakeImage<Image3F>(size);
  std::mt19937                    rng(7);
  const double                    means[] = { 100.0, 140.0, 200.0 };
  const double                    sigmas[] = { 10.0, 15.0, 12.0 };
  const double                    proportions[] = { 0.3, 0.5, 0.2 };
  std::discrete_distribution<int> pick(proportions, proportions + 3);
  for (std::size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    const int k = pick(rng);
    image->GetBufferPointer()[i] = static_cast<float>(std::normal_distribution<double>(means[k], sigmas[k])(rng));
  }
  auto filter = Filter<3>::New();
  filter->SetInput(image);
  filter->SetNumberOfClasses(3);
  filter->Update();
  ASSERT_EQ(filter->GetNumberOfClassesUsed(), 3u);
  EXPECT_GT(filter->GetNumberOfIterations(), 1u);
  for (unsigned int k = 0; k < 3; ++k)
  {
    EXPECT_NEAR(filter->GetClassMeans()[k], means[k], 1.5) << "class " << k;
    EXPECT_NEAR(std::sqrt(filter->GetClassVariances()[k]), sigmas[k], 0.06 * sigmas[k]) << "class " << k;
    EXPECT_NEAR(filter->GetClassProportions()[k], proportions[k], 0.02) << "class " << k;
  }
  // The K-means start is measurably worse: EM moved the means towards the truth.
  double kmeansError = 0.0, mixtureError = 0.0;
  for (unsigned int k = 0; k < 3; ++k)
  {
    kmeansError += std::abs(filter->GetInitialClassMeans()[k] - means[k]);
    mixtureError += std::abs(filter->GetClassMeans()[k] - means[k]);
  }
  EXPECT_LT(mixtureError, 0.5 * kmeansError);
}

TEST(GaussianMixtureSegmentationImageFilter, MarkovRandomFieldRemovesIsolatedWrongVoxels)
{
  // Noise of 15 against class spacing 40: about a third of the voxels of the two smaller classes are wrong
  // without a spatial prior.
  auto [image, truth] = ShellPhantom<3>(48, 15.0, 11);
  using KMeansType = itk::KMeansSegmentationImageFilter<Image3F>;
  auto kmeans = KMeansType::New();
  kmeans->SetInput(image);
  kmeans->SetNumberOfClasses(3);
  kmeans->Update();
  auto plain = Filter<3>::New();
  plain->SetInput(image);
  plain->Update();
  auto field = Filter<3>::New();
  field->SetInput(image);
  field->SetMRFWeight(1.0);
  field->Update();
  EXPECT_GT(field->GetNumberOfMRFIterations(), 1u);
  for (unsigned char label = 1; label <= 3; ++label)
  {
    const double k = Dice(kmeans->GetOutput(), truth, label);
    const double g = Dice(plain->GetOutput(), truth, label);
    const double m = Dice(field->GetOutput(), truth, label);
    std::cout << "label " << int(label) << " Dice: K-means " << k << ", mixture " << g << ", mixture + MRF " << m
              << std::endl;
    EXPECT_GT(m, k + 0.05) << "label " << int(label);
    EXPECT_GT(m, g + 0.05) << "label " << int(label);
    EXPECT_GT(m, 0.95) << "label " << int(label);
  }
}

TEST(GaussianMixtureSegmentationImageFilter, PosteriorsSumToOneInsideMaskAndZeroOutside)
{
  auto [image, truth] = ShellPhantom<3>(24, 15.0, 3);
  image->GetBufferPointer()[5000] = std::numeric_limits<float>::quiet_NaN();
  auto mask = MakeImage<Label3>(image->GetLargestPossibleRegion().GetSize());
  for (std::size_t i = 0; i < truth.size(); ++i)
  {
    mask->GetBufferPointer()[i] = (i % 24) < 18 ? 1 : 0;
  }
  for (const double beta : { 0.0, 0.8 })
  {
    auto filter = Filter<3>::New();
    filter->SetInput(image);
    filter->SetMaskImage(mask);
    filter->SetMRFWeight(beta);
    filter->Update();
    const auto * posteriors = filter->GetPosteriorsOutput();
    ASSERT_EQ(posteriors->GetNumberOfComponentsPerPixel(), 3u);
    std::size_t inside = 0;
    for (std::size_t i = 0; i < truth.size(); ++i)
    {
      const float * q = posteriors->GetBufferPointer() + 3 * i;
      const bool    takesPart = mask->GetBufferPointer()[i] != 0 && i != 5000;
      const auto    label = filter->GetOutput()->GetBufferPointer()[i];
      if (takesPart)
      {
        ++inside;
        EXPECT_NEAR(q[0] + q[1] + q[2], 1.0, 1e-5) << "voxel " << i;
        EXPECT_GE(label, 1);
        EXPECT_GE(q[label - 1], std::max({ q[0], q[1], q[2] })) << "label is not the largest posterior";
      }
      else
      {
        EXPECT_EQ(q[0] + q[1] + q[2], 0.0f) << "voxel " << i;
        EXPECT_EQ(label, 0);
      }
    }
    EXPECT_EQ(filter->GetNumberOfClassifiedPixels(), inside);
    EXPECT_TRUE(std::is_sorted(filter->GetClassMeans().begin(), filter->GetClassMeans().end()));
  }
}

TEST(GaussianMixtureSegmentationImageFilter, BayesianInformationCriterionPicksTrueNumberOfClasses)
{
  for (const unsigned int trueK : { 3u, 4u })
  {
    Image3S::SizeType size{ { 30, 30, 30 } };
    auto              image = MakeImage<Image3S>(size);
    std::mt19937      rng(100 + trueK);
    for (std::size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
    {
      const auto k = static_cast<unsigned int>(rng() % trueK);
      image->GetBufferPointer()[i] =
        static_cast<short>(std::lround(std::normal_distribution<double>(200.0 * k, 12.0)(rng)));
    }
    for (const bool common : { false, true })
    {
      auto filter = itk::GaussianMixtureSegmentationImageFilter<Image3S>::New();
      filter->SetInput(image);
      filter->AutomaticNumberOfClassesOn();
      filter->SetUseCommonVariance(common);
      filter->Update();
      const auto & bic = filter->GetBayesianInformationCriterionForEachK();
      ASSERT_EQ(bic.size(), 6u);
      EXPECT_EQ(filter->GetNumberOfClassesUsed(), trueK) << (common ? "common variance" : "");
      EXPECT_EQ(static_cast<unsigned int>(std::min_element(bic.begin(), bic.end()) - bic.begin()) + 1, trueK);
      EXPECT_EQ(filter->GetPosteriorsOutput()->GetNumberOfComponentsPerPixel(), trueK);
      EXPECT_LT(bic[trueK - 1], bic[trueK - 2] - 1000.0) << "too few classes must be clearly worse";
      if (common)
      {
        const auto & variances = filter->GetClassVariances();
        EXPECT_TRUE(std::all_of(variances.begin(), variances.end(), [&](double v) { return v == variances[0]; }));
        EXPECT_NEAR(std::sqrt(variances[0]), 12.0, 0.5);
      }
    }
  }
}

template <unsigned int D>
void
ExpectThreadInvariance(unsigned int n)
{
  auto [image, truth] = ShellPhantom<D>(n, 25.0, 5);
  std::vector<unsigned char> referenceLabels;
  std::vector<float>         referencePosteriors;
  std::vector<double>        referenceMeans;
  for (const unsigned int threads : { 1u, 2u, 8u })
  {
    auto filter = Filter<D>::New();
    filter->SetInput(image);
    filter->SetMRFWeight(0.7);
    filter->SetNumberOfWorkUnits(threads);
    filter->GetMultiThreader()->SetMaximumNumberOfThreads(threads);
    filter->Update();
    const auto   count = truth.size();
    const auto * labels = filter->GetOutput()->GetBufferPointer();
    const auto * posteriors = filter->GetPosteriorsOutput()->GetBufferPointer();
    if (referenceLabels.empty())
    {
      referenceLabels.assign(labels, labels + count);
      referencePosteriors.assign(posteriors, posteriors + 3 * count);
      referenceMeans = filter->GetClassMeans();
      continue;
    }
    EXPECT_EQ(std::memcmp(referenceLabels.data(), labels, count), 0) << threads << " threads, " << D << "-D";
    EXPECT_EQ(std::memcmp(referencePosteriors.data(), posteriors, 3 * count * sizeof(float)), 0)
      << threads << " threads, " << D << "-D";
    EXPECT_EQ(referenceMeans, filter->GetClassMeans()) << threads << " threads, " << D << "-D";
  }
}

TEST(GaussianMixtureSegmentationImageFilter, BitIdenticalForAnyNumberOfThreads)
{
  ExpectThreadInvariance<3>(40);
  ExpectThreadInvariance<2>(160);
}

TEST(GaussianMixtureSegmentationImageFilter, MarkovRandomFieldIn2DCorrectsASingleWrongPixel)
{
  // Two halves, intensities 10 and 50 with a fixed +-8 pattern; one pixel of the left half reads 33, closer to
  // the right class (2.8 nats more likely there), but its eight neighbours outvote it with beta = 1.
  Image2F::SizeType size{ { 32, 32 } };
  auto              image = MakeImage<Image2F>(size);
  for (std::size_t i = 0; i < 32 * 32; ++i)
  {
    const float pattern = 8.0f * (static_cast<float>(i % 3) - 1.0f);
    image->GetBufferPointer()[i] = ((i % 32) < 16 ? 10.0f : 50.0f) + pattern;
  }
  const std::size_t wrong = 10 * 32 + 5;
  image->GetBufferPointer()[wrong] = 33.0f;
  auto plain = Filter<2>::New();
  plain->SetInput(image);
  plain->SetNumberOfClasses(2);
  plain->Update();
  EXPECT_EQ(plain->GetOutput()->GetBufferPointer()[wrong], 2);
  auto field = Filter<2>::New();
  field->SetInput(image);
  field->SetNumberOfClasses(2);
  field->SetMRFWeight(1.0);
  field->Update();
  EXPECT_EQ(field->GetOutput()->GetBufferPointer()[wrong], 1);
  // Away from the wrong pixel the two halves keep their labels.
  EXPECT_EQ(field->GetOutput()->GetBufferPointer()[20 * 32 + 3], 1);
  EXPECT_EQ(field->GetOutput()->GetBufferPointer()[20 * 32 + 28], 2);
}

TEST(GaussianMixtureSegmentationImageFilter, KeepsGeometry)
{
  auto [image, truth] = ShellPhantom<3>(16, 10.0, 1);
  const double origin[] = { -3.5, 2.0, 7.25 };
  const double spacing[] = { 0.8, 1.2, 2.5 };
  image->SetOrigin(origin);
  image->SetSpacing(spacing);
  Image3F::DirectionType direction;
  direction.Fill(0.0);
  direction[0][1] = 1.0;
  direction[1][0] = -1.0;
  direction[2][2] = 1.0;
  image->SetDirection(direction);
  auto filter = Filter<3>::New();
  filter->SetInput(image);
  filter->SetMRFWeight(0.5);
  filter->Update();
  for (const itk::ImageBase<3> * output : { static_cast<const itk::ImageBase<3> *>(filter->GetOutput()),
                                            static_cast<const itk::ImageBase<3> *>(filter->GetPosteriorsOutput()) })
  {
    EXPECT_EQ(output->GetOrigin(), image->GetOrigin());
    EXPECT_EQ(output->GetSpacing(), image->GetSpacing());
    EXPECT_EQ(output->GetDirection(), image->GetDirection());
    EXPECT_EQ(output->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
  }
}

TEST(GaussianMixtureSegmentationImageFilter, PreconditionErrorsNameTheValues)
{
  auto [image, truth] = ShellPhantom<3>(8, 1.0, 2);
  auto run = [&image = image](const std::function<void(Filter<3> *)> & configure) {
    auto filter = Filter<3>::New();
    filter->SetInput(image);
    configure(filter);
    return ErrorOf([&] { filter->Update(); });
  };
  EXPECT_NE(run([](Filter<3> * f) { f->SetNumberOfClasses(0); }).find("NumberOfClasses is 0"), std::string::npos);
  EXPECT_NE(run([](Filter<3> * f) {
              f->SetNumberOfClasses(300);
            }).find("NumberOfClasses is 300, more than the output pixel type holds (255)"),
            std::string::npos);
  EXPECT_NE(run([](Filter<3> * f) {
              f->AutomaticNumberOfClassesOn();
              f->SetMaximumNumberOfClasses(0);
            }).find("MaximumNumberOfClasses is 0"),
            std::string::npos);
  EXPECT_NE(run([](Filter<3> * f) { f->SetMRFWeight(-1.0); }).find("MRFWeight is -1"), std::string::npos);
  EXPECT_NE(run([](Filter<3> * f) { f->SetConvergenceThreshold(-0.5); }).find("ConvergenceThreshold is -0.5"),
            std::string::npos);
  EXPECT_NE(run([](Filter<3> * f) {
              f->UseForegroundThresholdOn();
              f->SetForegroundThreshold(std::numeric_limits<double>::infinity());
            }).find("ForegroundThreshold is inf"),
            std::string::npos);

  // Data-dependent errors: too many classes for the distinct intensities, empty or mismatched mask.
  Image3S::SizeType size{ { 6, 6, 6 } };
  auto              few = MakeImage<Image3S>(size);
  for (std::size_t i = 0; i < 216; ++i)
  {
    few->GetBufferPointer()[i] = static_cast<short>(i % 2);
  }
  auto tooMany = itk::GaussianMixtureSegmentationImageFilter<Image3S>::New();
  tooMany->SetInput(few);
  tooMany->SetNumberOfClasses(3);
  EXPECT_NE(ErrorOf([&] { tooMany->Update(); }).find("NumberOfClasses is 3 but only 2 distinct intensity levels"),
            std::string::npos);

  auto emptyMask = MakeImage<Label3>(image->GetLargestPossibleRegion().GetSize());
  EXPECT_NE(run([&emptyMask](Filter<3> * f) { f->SetMaskImage(emptyMask); }).find("no voxel to classify"),
            std::string::npos);
  Label3::SizeType otherSize{ { 8, 8, 9 } };
  auto             wrongMask = MakeImage<Label3>(otherSize);
  EXPECT_NE(run([&wrongMask](Filter<3> * f) {
              f->SetMaskImage(wrongMask);
            }).find("mask size [8, 8, 9] differs from input size [8, 8, 8]"),
            std::string::npos);
}

TEST(GaussianMixtureSegmentationImageFilter, PrintSelfListsParametersAndResults)
{
  auto [image, truth] = ShellPhantom<3>(12, 10.0, 4);
  auto filter = Filter<3>::New();
  filter->SetInput(image);
  filter->SetMRFWeight(0.25);
  filter->AutomaticNumberOfClassesOn();
  filter->SetMaximumNumberOfClasses(4);
  filter->Update();
  std::ostringstream text;
  filter->Print(text);
  for (const char * expected : { "NumberOfClasses: 3",
                                 "AutomaticNumberOfClasses: On",
                                 "MaximumNumberOfClasses: 4",
                                 "UseForegroundThreshold: Off",
                                 "MaximumNumberOfIterations: 200",
                                 "ConvergenceThreshold: 1e-05",
                                 "UseCommonVariance: Off",
                                 "MRFWeight: 0.25",
                                 "MaximumNumberOfMRFIterations: 20",
                                 "ClassMeans: [",
                                 "ClassVariances: [",
                                 "ClassProportions: [",
                                 "InitialClassMeans: [",
                                 "BayesianInformationCriterionForEachK: [",
                                 "NumberOfClassesUsed: ",
                                 "LogLikelihood: ",
                                 "NumberOfMRFIterations: ",
                                 "NumberOfClassifiedPixels: 1728" })
  {
    EXPECT_NE(text.str().find(expected), std::string::npos) << expected;
  }
  EXPECT_STREQ(filter->GetNameOfClass(), "GaussianMixtureSegmentationImageFilter");
}
