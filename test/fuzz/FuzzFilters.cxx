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
// libFuzzer harness: the segmentation filters on arbitrary pixel arrays, masks and parameters.
// Every input must end in a result or an itk::ExceptionObject (never a crash, a hang or a sanitizer report);
// a result has labels in 0..K only, and the scalar K-means reaches the optimum found by exhaustive search
// (within the filter's stated optimality gap) when at most 8 voxels take part.
#include "KMeansBruteForce.h"

#include "itkGaussianMixtureSegmentationImageFilter.h"
#include "itkKMeansSegmentationImageFilter.h"
#include "itkMultiChannelKMeansSegmentationImageFilter.h"
#include "itkMultiThreaderBase.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace
{
[[noreturn]] void
Fail(const char * what, unsigned int k, unsigned int label)
{
  std::fprintf(stderr, "kmeans fuzz: %s (K = %u, label %u)\n", what, k, label);
  std::abort();
}

template <typename TImage>
typename TImage::Pointer
MakeImage(const typename TImage::SizeType & size)
{
  auto image = TImage::New();
  image->SetRegions(size);
  return image;
}

/** Image size: 1..6 along each axis. */
template <unsigned int D>
itk::Size<D>
PickSize(FuzzedDataProvider & data)
{
  itk::Size<D> size;
  for (unsigned int d = 0; d < D; ++d)
  {
    size[d] = data.ConsumeIntegralInRange<unsigned int>(1, 6);
  }
  return size;
}

template <typename TPixel>
TPixel
PickValue(FuzzedDataProvider & data)
{
  if constexpr (std::is_floating_point_v<TPixel>)
  {
    switch (data.ConsumeIntegralInRange<int>(0, 7))
    {
      case 0:
        return std::numeric_limits<TPixel>::quiet_NaN();
      case 1:
        return std::numeric_limits<TPixel>::infinity() * (data.ConsumeBool() ? 1 : -1);
      case 2:
        return data.ConsumeFloatingPoint<TPixel>();
      default:
        return static_cast<TPixel>(data.ConsumeIntegralInRange<int>(-4, 12));
    }
  }
  else
  {
    return data.ConsumeBool() ? data.ConsumeIntegral<TPixel>() : static_cast<TPixel>(data.ConsumeIntegralInRange<int>(0, 9));
  }
}

/** Every value of the image's buffer (each component of a vector image) from the fuzzer's data. */
template <typename TImage>
void
Fill(TImage * image, FuzzedDataProvider & data)
{
  image->Allocate();
  using ValueType = typename TImage::PixelContainer::Element;
  for (itk::SizeValueType i = 0; i < image->GetPixelContainer()->Size(); ++i)
  {
    image->GetBufferPointer()[i] = PickValue<ValueType>(data);
  }
}

/** A scalar image of fuzzer-chosen size and values. */
template <typename TImage>
typename TImage::Pointer
RandomImage(FuzzedDataProvider & data)
{
  auto image = MakeImage<TImage>(PickSize<TImage::ImageDimension>(data));
  Fill(image.GetPointer(), data);
  return image;
}

template <typename TImage, typename TFilter>
void
Configure(FuzzedDataProvider & data, TFilter * filter, const typename TImage::SizeType & size, unsigned int k)
{
  using MaskType = itk::Image<unsigned char, TImage::ImageDimension>;
  filter->SetNumberOfClasses(k);
  if (data.ConsumeBool())
  {
    auto mask = MakeImage<MaskType>(size);
    Fill(mask.GetPointer(), data);
    filter->SetMaskImage(mask);
  }
  if constexpr (std::is_arithmetic_v<typename TImage::PixelType>)
  {
    if (data.ConsumeBool()) // scalar filters only
    {
      filter->SetUseForegroundThreshold(true);
      filter->SetForegroundThreshold(data.ConsumeBool() ? data.ConsumeFloatingPoint<double>()
                                                        : data.ConsumeIntegralInRange<int>(-2, 8));
    }
  }
}

template <typename TLabels>
void
CheckLabels(const TLabels * labels, unsigned int k)
{
  for (itk::SizeValueType i = 0; i < labels->GetPixelContainer()->Size(); ++i)
  {
    if (labels->GetBufferPointer()[i] > k)
    {
      Fail("label outside 0..K", k, labels->GetBufferPointer()[i]);
    }
  }
}

template <typename TPixel, unsigned int D>
void
ScalarKMeans(FuzzedDataProvider & data)
{
  using ImageType = itk::Image<TPixel, D>;
  auto       image = RandomImage<ImageType>(data);
  const auto size = image->GetLargestPossibleRegion().GetSize();
  auto               filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
  const unsigned int k = data.ConsumeIntegralInRange<unsigned int>(0, 7);
  Configure<ImageType>(data, filter.GetPointer(), size, k);
  filter->SetInput(image);
  filter->Update();
  const auto * labels = filter->GetOutput();
  CheckLabels(labels, k);
  std::vector<double>       samples;
  std::vector<unsigned int> assignment;
  for (itk::SizeValueType i = 0; i < labels->GetPixelContainer()->Size(); ++i)
  {
    if (const unsigned int label = labels->GetBufferPointer()[i])
    {
      samples.push_back(static_cast<double>(image->GetBufferPointer()[i]));
      assignment.push_back(label - 1);
    }
  }
  if (samples.size() <= 8 && k <= 4 && samples.size() >= k)
  {
    const double found = KMeansTest::WCSS(samples, assignment, k);
    const double best = KMeansTest::BruteForceMinimumWCSS(samples, k);
    const double slack = filter->GetOptimalityGap() + 1e-9 * (1.0 + std::abs(best));
    if (!(found <= best + slack))
    {
      Fail("scalar K-means above the exhaustive-search optimum", k, 0);
    }
  }
}

template <unsigned int D>
void
GaussianMixture(FuzzedDataProvider & data)
{
  using ImageType = itk::Image<float, D>;
  auto       image = RandomImage<ImageType>(data);
  const auto size = image->GetLargestPossibleRegion().GetSize();
  auto               filter = itk::GaussianMixtureSegmentationImageFilter<ImageType>::New();
  const unsigned int k = data.ConsumeIntegralInRange<unsigned int>(0, 6);
  Configure<ImageType>(data, filter.GetPointer(), size, k);
  filter->SetMaximumNumberOfIterations(data.ConsumeIntegralInRange<unsigned int>(0, 40));
  filter->SetConvergenceThreshold(data.ConsumeBool() ? 1e-6 : data.ConsumeFloatingPoint<double>());
  filter->SetUseCommonVariance(data.ConsumeBool());
  filter->SetMRFWeight(data.ConsumeBool() ? 0.0 : data.ConsumeFloatingPointInRange<double>(-1.0, 5.0));
  filter->SetMaximumNumberOfMRFIterations(data.ConsumeIntegralInRange<unsigned int>(0, 6));
  if (data.ConsumeBool())
  {
    filter->SetAutomaticNumberOfClasses(true);
    filter->SetMaximumNumberOfClasses(data.ConsumeIntegralInRange<unsigned int>(0, 5));
  }
  filter->SetInput(image);
  filter->Update();
  CheckLabels(filter->GetOutput(), filter->GetAutomaticNumberOfClasses() ? filter->GetMaximumNumberOfClasses() : k);
}

template <unsigned int D>
void
MultiChannel(FuzzedDataProvider & data)
{
  using ImageType = itk::VectorImage<float, D>;
  const auto size = PickSize<D>(data);
  auto       image = MakeImage<ImageType>(size);
  image->SetNumberOfComponentsPerPixel(data.ConsumeIntegralInRange<unsigned int>(1, 4));
  Fill(image.GetPointer(), data);
  auto               filter = itk::MultiChannelKMeansSegmentationImageFilter<ImageType>::New();
  const unsigned int k = data.ConsumeIntegralInRange<unsigned int>(0, 6);
  Configure<ImageType>(data, filter.GetPointer(), size, k);
  filter->SetSeed(data.ConsumeIntegral<std::uint64_t>());
  filter->SetNumberOfRestarts(data.ConsumeIntegralInRange<unsigned int>(0, 4));
  filter->SetMaximumNumberOfIterations(data.ConsumeIntegralInRange<unsigned int>(0, 50));
  filter->SetStandardize(data.ConsumeBool());
  filter->SetUseDistinctVectors(data.ConsumeBool());
  filter->SetInput(image);
  filter->Update();
  CheckLabels(filter->GetOutput(), k);
}
} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * bytes, size_t size)
{
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
  FuzzedDataProvider data(bytes, size);
  try
  {
    switch (data.ConsumeIntegralInRange<int>(0, 7))
    {
      case 0:
        ScalarKMeans<short, 2>(data);
        break;
      case 1:
        ScalarKMeans<unsigned char, 3>(data);
        break;
      case 2:
        ScalarKMeans<float, 2>(data);
        break;
      case 3:
        ScalarKMeans<double, 3>(data);
        break;
      case 4:
        GaussianMixture<2>(data);
        break;
      case 5:
        GaussianMixture<3>(data);
        break;
      case 6:
        MultiChannel<2>(data);
        break;
      default:
        MultiChannel<3>(data);
        break;
    }
  }
  catch (const itk::ExceptionObject &)
  {
    // A refused input (K = 0, no voxel taking part, too few distinct values...): a clean error.
  }
  return 0;
}
