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
#include "cli/inputs/Preprocessing.h"

#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkKMeansSegmentationImageFilter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace
{
using ImageType = itk::Image<float, 3>;
using MaskType = itk::Image<unsigned char, 3>;

/** An ellipsoidal "head": a dark centre sphere (CSF, label 1, 35), white matter (3, 100), grey matter (2, 70), a
 * CSF shell (1) and a bright scalp (4, 85) outside the brain; noise, a multiplicative bias along x, noisy air
 * around it. */
struct Phantom
{
  ImageType::Pointer Image = ImageType::New();
  MaskType::Pointer  Truth = MaskType::New();
  MaskType::Pointer  Head = MaskType::New();
  MaskType::Pointer  Brain = MaskType::New();

  explicit Phantom(double biasStrength, double noise = 4.0)
  {
    const ImageType::SizeType size = { { 64, 64, 48 } };
    for (auto image : { static_cast<itk::ImageBase<3> *>(Image.GetPointer()),
                        static_cast<itk::ImageBase<3> *>(Truth.GetPointer()),
                        static_cast<itk::ImageBase<3> *>(Head.GetPointer()),
                        static_cast<itk::ImageBase<3> *>(Brain.GetPointer()) })
    {
      image->SetRegions(size);
    }
    Image->Allocate();
    Truth->Allocate();
    Head->Allocate();
    Brain->Allocate();
    std::mt19937                     random(7);
    std::normal_distribution<double> gaussian(0.0, noise);
    const double                     means[5] = { 0.0, 35.0, 70.0, 100.0, 85.0 };
    for (itk::ImageRegionIteratorWithIndex<ImageType> it(Image, Image->GetLargestPossibleRegion()); !it.IsAtEnd();
         ++it)
    {
      const auto & i = it.GetIndex();
      const double x = (i[0] - 31.5) / 28.0, y = (i[1] - 31.5) / 28.0, z = (i[2] - 23.5) / 21.0;
      const double r = std::sqrt(x * x + y * y + z * z);
      unsigned char label = 0;
      if (r < 1.0)
      {
        label = r < 0.12 ? 1 : r < 0.55 ? 3 : r < 0.8 ? 2 : r < 0.9 ? 1 : 4;
      }
      const double bias = std::exp(biasStrength * x);
      const double value = label == 0 ? std::abs(gaussian(random)) : means[label] * bias + gaussian(random);
      it.Set(static_cast<float>(value));
      Truth->SetPixel(i, label);
      Head->SetPixel(i, label != 0);
      Brain->SetPixel(i, label != 0 && label != 4);
    }
  }
};

double
MeanDice(const MaskType * labels, const MaskType * truth)
{
  double sum = 0.0;
  for (unsigned char k = 1; k <= 3; ++k)
  {
    size_t a = 0, b = 0, both = 0;
    itk::ImageRegionConstIterator<MaskType> l(labels, labels->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<MaskType> t(truth, truth->GetLargestPossibleRegion());
    for (; !l.IsAtEnd(); ++l, ++t)
    {
      a += l.Get() == k;
      b += t.Get() == k;
      both += l.Get() == k && t.Get() == k;
    }
    sum += 2.0 * both / std::max<size_t>(a + b, 1);
  }
  return sum / 3.0;
}

MaskType::Pointer
Segment(const ImageType * image, const MaskType * mask)
{
  auto filter = itk::KMeansSegmentationImageFilter<ImageType>::New();
  filter->SetInput(image);
  filter->SetMaskImage(mask);
  filter->SetNumberOfClasses(3);
  filter->Update();
  return filter->GetOutput();
}

TEST(Preprocessing, N4ImprovesKMeansOnABiasedPhantom)
{
  Phantom                          phantom(0.35);
  kmeans_cli::PreprocessingOptions options;
  options.N4 = true;
  options.N4ShrinkFactor = 2;
  nlohmann::json record;
  auto           corrected =
    kmeans_cli::CorrectBiasField<3>(phantom.Image.GetPointer(), phantom.Brain.GetPointer(), options, nullptr, &record);
  EXPECT_EQ(corrected->GetLargestPossibleRegion(), phantom.Image->GetLargestPossibleRegion());
  const double before = MeanDice(Segment(phantom.Image, phantom.Brain), phantom.Truth);
  const double after = MeanDice(Segment(corrected, phantom.Brain), phantom.Truth);
  std::cout << "mean Dice without N4 " << before << ", with N4 " << after << "; " << record.dump() << std::endl;
  EXPECT_GT(after, before + 0.05);
  EXPECT_GT(after, 0.9);
  EXPECT_EQ(record["step"], "n4");
  EXPECT_LT(record["bias_range"][0].get<double>(), record["bias_range"][1].get<double>());
}

TEST(Preprocessing, AutoMaskExcludesTheBackgroundAndFillsHoles)
{
  Phantom phantom(0.0);
  auto    mask = kmeans_cli::AutomaticForegroundMask<3>(phantom.Image.GetPointer());
  size_t  inHead = 0, head = 0, outside = 0, background = 0;
  itk::ImageRegionConstIterator<MaskType> m(mask, mask->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<MaskType> h(phantom.Head, mask->GetLargestPossibleRegion());
  for (; !m.IsAtEnd(); ++m, ++h)
  {
    head += h.Get() != 0;
    inHead += h.Get() != 0 && m.Get() != 0;
    background += h.Get() == 0;
    outside += h.Get() == 0 && m.Get() != 0;
  }
  std::cout << "auto mask: " << inHead << " of " << head << " head voxels, " << outside << " of " << background
            << " background voxels" << std::endl;
  EXPECT_GT(static_cast<double>(inHead) / head, 0.97);
  EXPECT_LT(static_cast<double>(outside) / background, 0.01);
  EXPECT_EQ(mask->GetPixel({ { 32, 32, 24 } }), 1) << "the dark centre is a hole inside the head";
  EXPECT_EQ(mask->GetPixel({ { 0, 0, 0 } }), 0);

  // Through Preprocess: the record says how much was kept; the air gets no label.
  kmeans_cli::PreprocessingOptions options;
  options.AutoMask = true;
  auto result = kmeans_cli::Preprocess<3>(phantom.Image.GetPointer(), nullptr, options);
  ASSERT_EQ(result.Record.size(), 1u);
  EXPECT_EQ(result.Record[0]["step"], "auto_mask");
  EXPECT_NEAR(result.Record[0]["fraction"].get<double>(), static_cast<double>(head) / (head + background), 0.01);
  EXPECT_EQ(Segment(result.Image, result.Mask)->GetPixel({ { 0, 0, 0 } }), 0);
  // Without a mask the air takes a class of its own.
  auto unmasked = itk::KMeansSegmentationImageFilter<ImageType>::New();
  unmasked->SetInput(phantom.Image);
  unmasked->SetNumberOfClasses(3);
  unmasked->Update();
  EXPECT_EQ(unmasked->GetOutput()->GetPixel({ { 0, 0, 0 } }), 1);
}

TEST(Preprocessing, DenoisingSmoothsNoiseAndKeepsEdges)
{
  Phantom                          phantom(0.0, 8.0);
  kmeans_cli::PreprocessingOptions options;
  options.Denoise = true;
  nlohmann::json record;
  auto smooth = kmeans_cli::DenoiseImage<3>(phantom.Image.GetPointer(), options, nullptr, &record);
  auto stddev = [&](const ImageType * image, unsigned char label, double & mean) {
    double sum = 0, sum2 = 0;
    size_t n = 0;
    itk::ImageRegionConstIterator<ImageType> v(image, image->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<MaskType>  t(phantom.Truth, image->GetLargestPossibleRegion());
    for (; !v.IsAtEnd(); ++v, ++t)
    {
      if (t.Get() == label)
      {
        sum += v.Get();
        sum2 += double(v.Get()) * v.Get();
        ++n;
      }
    }
    mean = sum / n;
    return std::sqrt(sum2 / n - mean * mean);
  };
  double       rawWhite, rawGrey, smoothWhite, smoothGrey;
  const double rawNoise = stddev(phantom.Image, 3, rawWhite);
  stddev(phantom.Image, 2, rawGrey);
  const double smoothNoise = stddev(smooth, 3, smoothWhite);
  stddev(smooth, 2, smoothGrey);
  std::cout << "white-matter noise " << rawNoise << " -> " << smoothNoise << ", grey/white contrast "
            << rawWhite - rawGrey << " -> " << smoothWhite - smoothGrey << std::endl;
  EXPECT_LT(smoothNoise, 0.5 * rawNoise);
  EXPECT_GT(smoothWhite - smoothGrey, 0.9 * (rawWhite - rawGrey));
  EXPECT_EQ(record["step"], "denoise");
}
} // namespace
