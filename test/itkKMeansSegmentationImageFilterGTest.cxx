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
#include "itkKMeansSegmentationImageFilter.h"
#include "KMeansBruteForce.h"

#include "itkCommand.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"

#include "KMeansFilterTestSupport.h"
#include "gtest/gtest.h"

#include <cstring>
#include <random>
#include <sstream>

namespace
{
using KMeansTest::MakeImage;
using KMeansTest::ErrorOf;
template <typename TImage>
std::vector<typename TImage::PixelType>
Pixels(const TImage * image)
{
  const auto * p = image->GetBufferPointer();
  return std::vector<typename TImage::PixelType>(p, p + image->GetBufferedRegion().GetNumberOfPixels());
}

/** Random values representable in T, spread over a range where several values collide. */
template <typename T>
std::vector<T>
RandomValues(std::mt19937 & rng, std::size_t n)
{
  std::vector<T> v(n);
  for (auto & x : v)
  {
    if (std::is_integral<T>::value)
    {
      const double lo = std::is_signed<T>::value ? -100 : 0;
      x = static_cast<T>(lo + static_cast<double>(rng() % 200));
    }
    else
    {
      x = static_cast<T>(std::uniform_real_distribution<double>(-3.0, 7.0)(rng));
    }
  }
  return v;
}

} // namespace

// Outside the anonymous namespace: the typed tests derive from it (and a unity build would warn).
template <typename T>
class KMeansSegmentationTyped : public ::testing::Test
{};
using KMeansSegmentationPixelTypes = ::testing::Types<unsigned char, short, unsigned short, int, float, double>;
TYPED_TEST_SUITE(KMeansSegmentationTyped, KMeansSegmentationPixelTypes);

TYPED_TEST(KMeansSegmentationTyped, GloballyOptimalAgainstExhaustiveSearch2D)
{
  using ImageType = itk::Image<TypeParam, 2>;
  using FilterType = itk::KMeansSegmentationImageFilter<ImageType>;
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 25; ++trial)
  {
    auto        image = MakeImage<ImageType>({ { 3, 3 } });
    const auto  values = RandomValues<TypeParam>(rng, 9);
    std::copy(values.begin(), values.end(), image->GetBufferPointer());
    std::vector<double> samples(values.begin(), values.end());
    std::vector<double> distinct = samples;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (unsigned int k = 1; k <= std::min<std::size_t>(4, distinct.size()); ++k)
    {
      auto filter = FilterType::New();
      filter->SetInput(image);
      filter->SetNumberOfClasses(k);
      filter->Update();
      const auto labels = Pixels(filter->GetOutput());
      std::vector<unsigned int> assignment;
      for (auto l : labels)
      {
        ASSERT_GE(l, 1);
        ASSERT_LE(l, k);
        assignment.push_back(l - 1u);
      }
      const double best = KMeansTest::BruteForceMinimumWCSS(samples, k);
      const double achieved = KMeansTest::WCSS(samples, assignment, k);
      const double tolerance = 1e-9 * (1 + best) + filter->GetOptimalityGap();
      EXPECT_LE(achieved, best + tolerance) << "trial " << trial << " k " << k;
      EXPECT_NEAR(filter->GetWithinClassSumOfSquares(), achieved, 1e-6 * (1 + achieved) + filter->GetOptimalityGap());
      if (std::is_integral<TypeParam>::value)
      {
        EXPECT_EQ(filter->GetOptimalityGap(), 0.0);
      }
      for (std::size_t c = 1; c < filter->GetClassMeans().size(); ++c)
      {
        EXPECT_LT(filter->GetClassMeans()[c - 1], filter->GetClassMeans()[c]);
      }
    }
  }
}

TYPED_TEST(KMeansSegmentationTyped, GloballyOptimalAgainstExhaustiveSearch3D)
{
  using ImageType = itk::Image<TypeParam, 3>;
  using FilterType = itk::KMeansSegmentationImageFilter<ImageType>;
  std::mt19937 rng(99);
  for (int trial = 0; trial < 10; ++trial)
  {
    auto       image = MakeImage<ImageType>({ { 2, 2, 2 } });
    const auto values = RandomValues<TypeParam>(rng, 8);
    std::copy(values.begin(), values.end(), image->GetBufferPointer());
    std::vector<double> samples(values.begin(), values.end());
    auto                filter = FilterType::New();
    filter->SetInput(image);
    filter->SetNumberOfClasses(3);
    filter->Update();
    std::vector<unsigned int> assignment;
    for (auto l : Pixels(filter->GetOutput()))
    {
      assignment.push_back(l - 1u);
    }
    const double best = KMeansTest::BruteForceMinimumWCSS(samples, 3);
    EXPECT_LE(KMeansTest::WCSS(samples, assignment, 3), best + 1e-9 * (1 + best) + filter->GetOptimalityGap());
  }
}

TEST(KMeansSegmentationImageFilter, FloatingPointWithinStatedBoundWhenValuesShareBins)
{
  // Values closer than a bin width (range / 65536) share bins: the result must stay within the stated gap.
  using ImageType = itk::Image<float, 2>;
  auto                image = MakeImage<ImageType>({ { 4, 2 } });
  const float         values[] = { 0.0f, 1e-6f, 2e-6f, 3e-6f, 0.5f, 0.5f + 1e-6f, 1.0f, 1.0f - 1e-6f };
  std::copy(std::begin(values), std::end(values), image->GetBufferPointer());
  std::vector<double> samples(std::begin(values), std::end(values));
  for (unsigned int k = 1; k <= 3; ++k)
  {
    auto filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
    filter->SetInput(image);
    filter->SetNumberOfClasses(k);
    filter->Update();
    EXPECT_GT(filter->GetOptimalityGap(), 0.0);
    std::vector<unsigned int> assignment;
    for (auto l : Pixels(filter->GetOutput()))
    {
      assignment.push_back(l - 1u);
    }
    const double best = KMeansTest::BruteForceMinimumWCSS(samples, k);
    EXPECT_LE(KMeansTest::WCSS(samples, assignment, k), best + filter->GetOptimalityGap()) << k;
  }
  auto four = itk::KMeansSegmentationImageFilter<ImageType>::New();
  four->SetInput(image);
  four->SetNumberOfClasses(4);
  EXPECT_NE(ErrorOf([&] { four->Update(); }).find("but only 3 distinct intensity levels (histogram bins of width"),
            std::string::npos);
}

TEST(KMeansSegmentationImageFilter, FloatImageOfIntegersIsExact)
{
  using ImageType = itk::Image<float, 3>;
  auto         image = MakeImage<ImageType>({ { 5, 4, 3 } });
  std::mt19937 rng(5);
  float * buffer = image->GetBufferPointer();
  for (int i = 0; i < 60; ++i)
  {
    buffer[i] = static_cast<float>(rng() % 1000) - 500.0f;
  }
  auto filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
  filter->SetInput(image);
  filter->SetNumberOfClasses(4);
  filter->Update();
  EXPECT_EQ(filter->GetOptimalityGap(), 0.0);
}

namespace
{
/** A 3-D phantom: background (0) and three nested tissue regions with known labels, Gaussian noise. */
struct Phantom
{
  using ImageType = itk::Image<short, 3>;
  using LabelImageType = itk::Image<unsigned char, 3>;
  ImageType::Pointer      Image;
  LabelImageType::Pointer Truth;
};

Phantom
MakePhantom(double noiseSigma, unsigned int seed = 1)
{
  Phantom      p;
  const int    n = 40;
  p.Image = MakeImage<Phantom::ImageType>({ { n, n, n } });
  p.Truth = MakeImage<Phantom::LabelImageType>({ { n, n, n } });
  std::mt19937                     rng(seed);
  std::normal_distribution<double> noise(0.0, noiseSigma);
  const double                     means[] = { 100, 400, 700, 1000 };
  for (int z = 0; z < n; ++z)
  {
    for (int y = 0; y < n; ++y)
    {
      for (int x = 0; x < n; ++x)
      {
        const double r = std::sqrt((x - 20.0) * (x - 20.0) + (y - 20.0) * (y - 20.0) + (z - 20.0) * (z - 20.0));
        const unsigned char label = r < 8 ? 3 : r < 13 ? 2 : r < 18 ? 1 : 0;
        itk::Index<3>       idx{ { x, y, z } };
        p.Truth->SetPixel(idx, label);
        p.Image->SetPixel(idx, static_cast<short>(std::lround(means[label] + noise(rng))));
      }
    }
  }
  return p;
}
} // namespace

TEST(KMeansSegmentationImageFilter, RecoversKnownLabelsOfPhantomInAscendingOrder)
{
  const auto phantom = MakePhantom(25.0);
  auto       filter = itk::KMeansSegmentationImageFilter<Phantom::ImageType>::New();
  filter->SetInput(phantom.Image);
  filter->SetNumberOfClasses(4);
  filter->Update();
  const auto labels = Pixels(filter->GetOutput());
  const auto truth = Pixels(phantom.Truth.GetPointer());
  for (std::size_t i = 0; i < labels.size(); ++i)
  {
    ASSERT_EQ(labels[i], truth[i] + 1) << "voxel " << i;
  }
  const auto & means = filter->GetClassMeans();
  ASSERT_EQ(means.size(), 4u);
  const double expected[] = { 100, 400, 700, 1000 };
  for (int k = 0; k < 4; ++k)
  {
    EXPECT_NEAR(means[k], expected[k], 3.0);
  }
  ASSERT_EQ(filter->GetThresholds().size(), 3u);
  EXPECT_NEAR(filter->GetThresholds()[0], 0.5 * (means[0] + means[1]), 1e-9);
  itk::SizeValueType total = 0;
  for (auto c : filter->GetClassCounts())
  {
    total += c;
  }
  EXPECT_EQ(total, labels.size());
}

TEST(KMeansSegmentationImageFilter, MaskAndForegroundThresholdRestrictTheVoxels)
{
  const auto phantom = MakePhantom(25.0);
  auto       mask = MakeImage<Phantom::LabelImageType>({ { 40, 40, 40 } });
  // Mask: the truth's tissue (labels 1..3); background is outside.
  auto *       m = mask->GetBufferPointer();
  const auto * t = phantom.Truth->GetBufferPointer();
  for (std::size_t i = 0; i < 40 * 40 * 40; ++i)
  {
    m[i] = t[i] > 0 ? 255 : 0;
  }
  mask->CopyInformation(phantom.Image);
  auto filter = itk::KMeansSegmentationImageFilter<Phantom::ImageType>::New();
  filter->SetInput(phantom.Image);
  filter->SetMaskImage(mask);
  filter->SetNumberOfClasses(3);
  filter->Update();
  const auto labels = Pixels(filter->GetOutput());
  for (std::size_t i = 0; i < labels.size(); ++i)
  {
    ASSERT_EQ(labels[i], t[i]) << "voxel " << i;
  }
  EXPECT_NEAR(filter->GetClassMeans()[0], 400, 3.0);

  // The same with an intensity rule instead of a mask: background (about 100) is at or below 250.
  auto byThreshold = itk::KMeansSegmentationImageFilter<Phantom::ImageType>::New();
  byThreshold->SetInput(phantom.Image);
  byThreshold->SetNumberOfClasses(3);
  byThreshold->UseForegroundThresholdOn();
  byThreshold->SetForegroundThreshold(250);
  byThreshold->Update();
  EXPECT_EQ(Pixels(byThreshold->GetOutput()), labels);
}

TEST(KMeansSegmentationImageFilter, NonFiniteVoxelsGetLabelZero)
{
  using ImageType = itk::Image<double, 2>;
  auto image = MakeImage<ImageType>({ { 3, 2 } });
  const double values[] = { 1.0, std::nan(""), 2.0, std::numeric_limits<double>::infinity(), 10.0, 11.0 };
  std::copy(std::begin(values), std::end(values), image->GetBufferPointer());
  auto filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
  filter->SetInput(image);
  filter->SetNumberOfClasses(2);
  filter->Update();
  const std::vector<unsigned char> expected = { 1, 0, 1, 0, 2, 2 };
  EXPECT_EQ(Pixels(filter->GetOutput()), expected);
  EXPECT_EQ(filter->GetNumberOfClassifiedPixels(), 4u);
}

TEST(KMeansSegmentationImageFilter, OneClassAndOneClassPerDistinctValue)
{
  using ImageType = itk::Image<unsigned short, 2>;
  auto                 image = MakeImage<ImageType>({ { 4, 3 } });
  const unsigned short values[] = { 5, 9, 5, 300, 9, 7, 7, 300, 5, 1000, 9, 7 };
  std::copy(std::begin(values), std::end(values), image->GetBufferPointer());

  auto one = itk::KMeansSegmentationImageFilter<ImageType>::New();
  one->SetInput(image);
  one->SetNumberOfClasses(1);
  one->Update();
  for (auto l : Pixels(one->GetOutput()))
  {
    EXPECT_EQ(l, 1);
  }
  double mean = 0;
  for (auto v : values)
  {
    mean += v / 12.0;
  }
  EXPECT_NEAR(one->GetClassMeans()[0], mean, 1e-9);
  EXPECT_TRUE(one->GetThresholds().empty());

  auto all = itk::KMeansSegmentationImageFilter<ImageType>::New();
  all->SetInput(image);
  all->SetNumberOfClasses(5);
  all->Update();
  const std::vector<unsigned char> expected = { 1, 3, 1, 4, 3, 2, 2, 4, 1, 5, 3, 2 };
  EXPECT_EQ(Pixels(all->GetOutput()), expected);
  EXPECT_EQ(all->GetWithinClassSumOfSquares(), 0.0);

  all->SetNumberOfClasses(6);
  EXPECT_NE(ErrorOf([&] { all->Update(); }).find("NumberOfClasses is 6 but only 5 distinct intensities"),
            std::string::npos);
}

TEST(KMeansSegmentationImageFilter, IdenticalForAnyNumberOfThreads)
{
  const auto phantom = MakePhantom(120.0, 3);
  using FloatImageType = itk::Image<float, 3>;
  auto floatImage = MakeImage<FloatImageType>({ { 40, 40, 40 } });
  for (std::size_t i = 0; i < 40 * 40 * 40; ++i)
  {
    floatImage->GetBufferPointer()[i] = static_cast<float>(phantom.Image->GetBufferPointer()[i] * 0.37 + 0.001 * (i % 7));
  }
  auto run = [](auto image, unsigned int threads) {
    using ImageType = typename decltype(image)::ObjectType;
    auto filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
    filter->SetInput(image);
    filter->SetNumberOfClasses(4);
    filter->SetNumberOfWorkUnits(threads);
    filter->Update();
    std::ostringstream stats;
    stats.precision(17);
    for (auto m : filter->GetClassMeans())
    {
      stats << m << ' ';
    }
    stats << filter->GetWithinClassSumOfSquares();
    return std::make_pair(Pixels(filter->GetOutput()), stats.str());
  };
  const auto shortReference = run(phantom.Image, 1);
  const auto floatReference = run(floatImage, 1);
  for (unsigned int threads : { 2u, 8u })
  {
    EXPECT_EQ(run(phantom.Image, threads), shortReference) << threads;
    EXPECT_EQ(run(floatImage, threads), floatReference) << threads;
  }
}

TEST(KMeansSegmentationImageFilter, KeepsGeometry)
{
  using ImageType = itk::Image<short, 3>;
  auto image = MakeImage<ImageType>({ { 6, 5, 4 } });
  for (int i = 0; i < 120; ++i)
  {
    image->GetBufferPointer()[i] = static_cast<short>(i % 13);
  }
  ImageType::SpacingType spacing;
  spacing[0] = 0.7;
  spacing[1] = 1.1;
  spacing[2] = 2.5;
  ImageType::PointType origin;
  origin[0] = -10.5;
  origin[1] = 3.25;
  origin[2] = 77.0;
  ImageType::DirectionType direction;
  direction.Fill(0);
  direction[0][1] = 1;
  direction[1][2] = -1;
  direction[2][0] = 1;
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  auto filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
  filter->SetInput(image);
  filter->Update();
  const auto * out = filter->GetOutput();
  EXPECT_EQ(out->GetSpacing(), spacing);
  EXPECT_EQ(out->GetOrigin(), origin);
  EXPECT_EQ(out->GetDirection(), direction);
  EXPECT_EQ(out->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
}

TEST(KMeansSegmentationImageFilter, PreconditionErrorsNameTheValues)
{
  using ImageType = itk::Image<short, 2>;
  using MaskType = itk::Image<unsigned char, 2>;
  auto image = MakeImage<ImageType>({ { 4, 4 } });
  for (int i = 0; i < 16; ++i)
  {
    image->GetBufferPointer()[i] = static_cast<short>(i);
  }
  auto filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
  filter->SetInput(image);

  filter->SetNumberOfClasses(0);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("NumberOfClasses is 0; it must be at least 1"), std::string::npos);
  filter->SetNumberOfClasses(300);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("NumberOfClasses is 300, more than the output pixel type holds (255)"),
            std::string::npos);
  filter->SetNumberOfClasses(17);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("NumberOfClasses is 17 but only 16 distinct intensities"),
            std::string::npos);
  filter->SetNumberOfClasses(3);

  auto emptyMask = MakeImage<MaskType>({ { 4, 4 } });
  filter->SetMaskImage(emptyMask);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("the mask is empty"), std::string::npos);

  auto smallMask = MakeImage<MaskType>({ { 4, 3 } });
  smallMask->FillBuffer(1);
  filter->SetMaskImage(smallMask);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("mask size [4, 3] differs from input size [4, 4]"),
            std::string::npos);

  auto shiftedMask = MakeImage<MaskType>({ { 4, 4 } });
  shiftedMask->FillBuffer(1);
  MaskType::PointType origin;
  origin.Fill(5.0);
  shiftedMask->SetOrigin(origin);
  filter->SetMaskImage(shiftedMask);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("mask geometry (origin [5, 5]"), std::string::npos);
  filter->SetMaskImage(nullptr);

  using FloatImageType = itk::Image<float, 2>;
  auto nanImage = MakeImage<FloatImageType>({ { 3, 3 } });
  nanImage->FillBuffer(std::numeric_limits<float>::quiet_NaN());
  auto nanFilter = itk::KMeansSegmentationImageFilter<FloatImageType>::New();
  nanFilter->SetInput(nanImage);
  EXPECT_NE(ErrorOf([&] { nanFilter->Update(); }).find("the image has no finite voxel"), std::string::npos);

  auto constant = MakeImage<ImageType>({ { 3, 3 } });
  constant->FillBuffer(42);
  auto constantFilter = itk::KMeansSegmentationImageFilter<ImageType>::New();
  constantFilter->SetInput(constant);
  constantFilter->SetNumberOfClasses(2);
  EXPECT_NE(ErrorOf([&] { constantFilter->Update(); }).find("but only 1 distinct intensity takes part"),
            std::string::npos);
}

TEST(KMeansSegmentationImageFilter, ReportsProgressAndHonoursAbort)
{
  const auto phantom = MakePhantom(25.0);
  auto       filter = itk::KMeansSegmentationImageFilter<Phantom::ImageType>::New();
  filter->SetInput(phantom.Image);
  filter->SetNumberOfClasses(4);
  std::vector<float> progress;
  auto               watcher = itk::CStyleCommand::New();
  struct Context
  {
    itk::ProcessObject * Filter;
    std::vector<float> * Progress;
  } context{ filter.GetPointer(), &progress };
  watcher->SetClientData(&context);
  watcher->SetCallback([](itk::Object *, const itk::EventObject &, void * data) {
    auto * c = static_cast<Context *>(data);
    c->Progress->push_back(c->Filter->GetProgress());
  });
  filter->AddObserver(itk::ProgressEvent(), watcher);
  filter->Update();
  ASSERT_GE(progress.size(), 3u);
  EXPECT_FLOAT_EQ(progress.back(), 1.0f);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));

  auto aborting = itk::KMeansSegmentationImageFilter<Phantom::ImageType>::New();
  aborting->SetInput(phantom.Image);
  auto abortCommand = itk::CStyleCommand::New();
  abortCommand->SetClientData(aborting.GetPointer());
  abortCommand->SetCallback([](itk::Object *, const itk::EventObject &, void * data) {
    static_cast<itk::ProcessObject *>(data)->AbortGenerateDataOn();
  });
  aborting->AddObserver(itk::ProgressEvent(), abortCommand);
  EXPECT_THROW(aborting->Update(), itk::ProcessAborted);
}

TEST(KMeansSegmentationImageFilter, PrintSelfShowsEveryMember)
{
  const auto phantom = MakePhantom(25.0);
  auto       filter = itk::KMeansSegmentationImageFilter<Phantom::ImageType>::New();
  filter->SetInput(phantom.Image);
  filter->SetNumberOfClasses(4);
  filter->Update();
  std::ostringstream os;
  filter->Print(os);
  for (const char * member : { "NumberOfClasses: 4", "UseForegroundThreshold: Off", "ForegroundThreshold: 0",
                               "ClassMeans: [", "ClassCounts: [", "ClassSumsOfSquares: [", "Thresholds: [",
                               "WithinClassSumOfSquaresForEachK: [", "WithinClassSumOfSquares: ", "OptimalityGap: 0",
                               "NumberOfClassifiedPixels: 64000" })
  {
    EXPECT_NE(os.str().find(member), std::string::npos) << member;
  }
  EXPECT_STREQ(filter->GetNameOfClass(), "KMeansSegmentationImageFilter");
}
