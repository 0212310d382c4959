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

#include "KMeansFilterTestSupport.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <sstream>

namespace
{
using KMeansTest::MakeImage;
using KMeansTest::ErrorOf;
using Image3F = itk::Image<float, 3>;
using Image2F = itk::Image<float, 2>;
using Image3S = itk::Image<short, 3>;
using Label3 = itk::Image<unsigned char, 3>;

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
      EXPECT_EQ(filter->GetNumberOfClassesSelection().NumberOfClasses, trueK);
      EXPECT_EQ(filter->GetNumberOfClassesSelection().LargestTried, 6u);
      EXPECT_FALSE(filter->GetNumberOfClassesSelection().LargestChosen);
      EXPECT_FALSE(filter->GetLargestNumberOfClassesChosen());
      EXPECT_EQ(filter->GetGaussianLogLikelihoodPerVoxelForEachK(),
                filter->GetNumberOfClassesSelection().GaussianLogLikelihoodPerSample);
      EXPECT_EQ(filter->GetPartialVolumeLogLikelihoodPerVoxelForEachK().size(), trueK + 1);
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

/** Mask for an image of the given size: random holes (about one voxel in six), every seventh row left out whole,
 * and in every fifth row the first and last quarter left out, so that the voxels taking part form rows of
 * different extents with gaps, next to rows with none and to the image border. */
template <unsigned int D>
typename itk::Image<unsigned char, D>::Pointer
IrregularMask(const typename itk::Image<unsigned char, D>::SizeType & size, unsigned int seed)
{
  auto         mask = MakeImage<itk::Image<unsigned char, D>>(size);
  std::mt19937 rng(seed);
  const auto   count = mask->GetBufferedRegion().GetNumberOfPixels();
  for (std::size_t i = 0; i < count; ++i)
  {
    const std::size_t x = i % size[0];
    const std::size_t row = i / size[0];
    const bool        edge = row % 5 == 2 && (4 * x < size[0] || 4 * x >= 3 * size[0]);
    mask->GetBufferPointer()[i] = (row % 7 == 3 || edge || rng() % 6 == 0) ? 0 : 1;
  }
  return mask;
}

template <unsigned int D>
void
ExpectThreadInvariance(unsigned int n, bool masked)
{
  auto [image, truth] = ShellPhantom<D>(n, 25.0, 5);
  const auto                 mask = IrregularMask<D>(image->GetLargestPossibleRegion().GetSize(), 9);
  std::vector<unsigned char> referenceLabels;
  std::vector<float>         referencePosteriors;
  std::vector<double>        referenceMeans;
  for (const unsigned int threads : { 1u, 2u, 8u })
  {
    auto filter = Filter<D>::New();
    filter->SetInput(image);
    if (masked)
    {
      filter->SetMaskImage(mask);
    }
    filter->SetMRFWeight(0.7);
    filter->SetNumberOfWorkUnits(threads);
    filter->GetMultiThreader()->SetMaximumNumberOfThreads(threads);
    filter->Update();
    const auto   count = truth.size();
    const auto * labels = filter->GetOutput()->GetBufferPointer();
    const auto * posteriors = filter->GetPosteriorsOutput()->GetBufferPointer();
    if (referenceLabels.empty())
    {
      EXPECT_GT(filter->GetNumberOfMRFIterations(), 1u);
      referenceLabels.assign(labels, labels + count);
      referencePosteriors.assign(posteriors, posteriors + 3 * count);
      referenceMeans = filter->GetClassMeans();
      continue;
    }
    const std::string what =
      std::to_string(threads) + " threads, " + std::to_string(D) + "-D" + (masked ? ", masked" : "");
    EXPECT_EQ(std::memcmp(referenceLabels.data(), labels, count), 0) << what;
    EXPECT_EQ(std::memcmp(referencePosteriors.data(), posteriors, 3 * count * sizeof(float)), 0) << what;
    EXPECT_EQ(referenceMeans, filter->GetClassMeans()) << what;
  }
}

TEST(GaussianMixtureSegmentationImageFilter, BitIdenticalForAnyNumberOfThreads)
{
  for (const bool masked : { false, true })
  {
    ExpectThreadInvariance<3>(40, masked);
    ExpectThreadInvariance<2>(160, masked);
  }
}

/** Mean-field HMRF-EM written out from its definition in double precision, voxel by voxel, for comparison with the
 * filter. Starts from the mixture and posteriors of the filter without prior (plain) and makes `iterations`
 * synchronous updates q_i(k) proportional to pi_k N(x_i; mu_k, sigma_k^2) exp(beta sum_{j ~ i} q_j(k)), over the face
 * neighbours (and in 2-D the diagonal ones) that take part, each followed by the update of means, variances
 * (pooled with commonVariance) and proportions. */
template <unsigned int D>
struct ReferenceField
{
  std::vector<double> Posteriors;
  std::vector<double> Means;
  std::vector<double> Variances;
};

template <unsigned int D>
ReferenceField<D>
ReferenceMeanField(const itk::Image<float, D> *                                        image,
                   const std::vector<bool> &                                           takesPart,
                   itk::GaussianMixtureSegmentationImageFilter<itk::Image<float, D>> * plain,
                   double                                                              beta,
                   unsigned int                                                        iterations,
                   bool                                                                commonVariance)
{
  const unsigned int          K = plain->GetNumberOfClassesUsed();
  const std::size_t           n = takesPart.size();
  ReferenceField<D>           result{ {}, plain->GetClassMeans(), plain->GetClassVariances() };
  std::vector<double>         proportions = plain->GetClassProportions();
  const float *               start = plain->GetPosteriorsOutput()->GetBufferPointer();
  std::vector<double>         q(start, start + n * K);
  std::vector<itk::Offset<D>> neighbourhood;
  for (unsigned int d = 0; d < D; ++d)
  {
    for (int s : { -1, 1 })
    {
      itk::Offset<D> o{};
      o[d] = s;
      neighbourhood.push_back(o);
    }
  }
  if (D == 2)
  {
    for (int s0 : { -1, 1 })
    {
      for (int s1 : { -1, 1 })
      {
        itk::Offset<D> o{};
        o[0] = s0;
        o[1] = s1;
        neighbourhood.push_back(o);
      }
    }
  }
  const auto region = image->GetLargestPossibleRegion();
  for (unsigned int iteration = 0; iteration < iterations; ++iteration)
  {
    std::vector<double> next(n * K, 0.0);
    for (std::size_t i = 0; i < n; ++i)
    {
      if (!takesPart[i])
      {
        continue;
      }
      const auto          index = image->ComputeIndex(static_cast<itk::OffsetValueType>(i));
      const double        x = image->GetBufferPointer()[i];
      std::vector<double> energy(K);
      for (unsigned int k = 0; k < K; ++k)
      {
        double field = 0.0;
        for (const auto & o : neighbourhood)
        {
          const auto j = index + o;
          if (region.IsInside(j))
          {
            field += q[static_cast<std::size_t>(image->ComputeOffset(j)) * K + k];
          }
        }
        const double d = x - result.Means[k];
        energy[k] = std::log(proportions[k]) - 0.5 * std::log(2.0 * itk::Math::pi * result.Variances[k]) -
                    d * d / (2.0 * result.Variances[k]) + beta * field;
      }
      const double maximum = *std::max_element(energy.begin(), energy.end());
      double       total = 0.0;
      for (unsigned int k = 0; k < K; ++k)
      {
        total += std::exp(energy[k] - maximum);
      }
      for (unsigned int k = 0; k < K; ++k)
      {
        next[i * K + k] = std::exp(energy[k] - maximum) / total;
      }
    }
    q = next;
    std::vector<double> weight(K, 0.0), sum(K, 0.0), sumOfSquares(K, 0.0);
    for (std::size_t i = 0; i < n; ++i)
    {
      const double x = image->GetBufferPointer()[i];
      for (unsigned int k = 0; k < (takesPart[i] ? K : 0); ++k)
      {
        weight[k] += q[i * K + k];
        sum[k] += q[i * K + k] * x;
        sumOfSquares[k] += q[i * K + k] * x * x;
      }
    }
    const double allWeight = std::accumulate(weight.begin(), weight.end(), 0.0);
    double       pooled = 0.0;
    for (unsigned int k = 0; k < K; ++k)
    {
      result.Means[k] = sum[k] / weight[k];
      result.Variances[k] = sumOfSquares[k] / weight[k] - result.Means[k] * result.Means[k];
      proportions[k] = weight[k] / allWeight;
      pooled += proportions[k] * result.Variances[k];
    }
    if (commonVariance)
    {
      std::fill(result.Variances.begin(), result.Variances.end(), pooled);
    }
  }
  result.Posteriors = q;
  return result;
}

template <unsigned int D>
void
ExpectSameAsDirectMeanField(const typename itk::Image<float, D>::SizeType & size, bool commonVariance)
{
  // Integer intensities, so that every histogram level is one intensity and the filter's data term is the voxel's.
  using ImageType = itk::Image<float, D>;
  auto                             image = MakeImage<ImageType>(size);
  const auto                       mask = IrregularMask<D>(size, 21);
  const std::size_t                n = image->GetBufferedRegion().GetNumberOfPixels();
  std::mt19937                     rng(17);
  std::normal_distribution<double> noise(0.0, 16.0);
  std::vector<bool>                takesPart(n);
  for (std::size_t i = 0; i < n; ++i)
  {
    const auto index = image->ComputeIndex(static_cast<itk::OffsetValueType>(i));
    const auto band = (index[0] * 3 / static_cast<itk::IndexValueType>(size[0]) + index[D - 1] % 2) % 3;
    image->GetBufferPointer()[i] = static_cast<float>(std::round(60.0 + 40.0 * static_cast<double>(band) + noise(rng)));
    takesPart[i] = mask->GetBufferPointer()[i] != 0;
  }
  const std::size_t notANumber = n / 3 + 1;
  image->GetBufferPointer()[notANumber] = std::numeric_limits<float>::quiet_NaN();
  takesPart[notANumber] = false;

  auto configure = [&](Filter<D> * filter) {
    filter->SetInput(image);
    filter->SetMaskImage(mask);
    filter->SetUseCommonVariance(commonVariance);
    filter->SetConvergenceThreshold(0.0); // no early stop: exactly the iterations asked for
    filter->SetMaximumNumberOfIterations(30);
  };
  auto plain = Filter<D>::New();
  configure(plain);
  plain->Update();
  for (const unsigned int iterations : { 1u, 2u, 3u })
  {
    const double beta = 0.8;
    auto         field = Filter<D>::New();
    configure(field);
    field->SetMRFWeight(beta);
    field->SetMaximumNumberOfMRFIterations(iterations);
    field->Update();
    ASSERT_EQ(field->GetNumberOfMRFIterations(), iterations);
    const auto        reference = ReferenceMeanField<D>(image, takesPart, plain, beta, iterations, commonVariance);
    const std::string what = std::to_string(D) + "-D, " + std::to_string(iterations) + " iterations" +
                             (commonVariance ? ", common variance" : "");
    const float * posteriors = field->GetPosteriorsOutput()->GetBufferPointer();
    const auto *  labels = field->GetOutput()->GetBufferPointer();
    double        largestDifference = 0.0;
    std::size_t   changed = 0; // voxels whose posteriors the prior moved by more than 0.05
    for (std::size_t i = 0; i < n; ++i)
    {
      for (unsigned int k = 0; k < 3; ++k)
      {
        largestDifference =
          std::max(largestDifference, std::abs(posteriors[3 * i + k] - reference.Posteriors[3 * i + k]));
      }
      changed += takesPart[i] &&
                 std::abs(reference.Posteriors[3 * i] - plain->GetPosteriorsOutput()->GetBufferPointer()[3 * i]) > 0.05;
      if (takesPart[i])
      {
        const double *      r = reference.Posteriors.data() + 3 * i;
        std::vector<double> sorted(r, r + 3);
        std::sort(sorted.begin(), sorted.end());
        if (sorted[2] - sorted[1] > 1e-3)
        {
          EXPECT_EQ(labels[i], std::max_element(r, r + 3) - r + 1) << what << ", voxel " << i;
        }
      }
      else
      {
        EXPECT_EQ(labels[i], 0) << what << ", voxel " << i;
      }
    }
    std::cout << what << ": largest difference " << largestDifference << ", changed " << changed << " of " << n
              << std::endl;
    EXPECT_LT(largestDifference, 1e-5) << what;
    EXPECT_GT(changed, n / 20) << what << ": the prior must matter for the comparison to mean anything";
    for (unsigned int k = 0; k < 3; ++k)
    {
      EXPECT_NEAR(field->GetClassMeans()[k], reference.Means[k], 1e-6 * std::abs(reference.Means[k])) << what;
      EXPECT_NEAR(field->GetClassVariances()[k], reference.Variances[k], 1e-6 * reference.Variances[k]) << what;
    }
  }
}

TEST(GaussianMixtureSegmentationImageFilter, MeanFieldMatchesDirectImplementation)
{
  // Sizes that differ per dimension, a mask with gaps, empty rows and rows cut short, a NaN voxel, and 1 to 3
  // iterations (the result in either of the filter's two buffers).
  ExpectSameAsDirectMeanField<3>({ { 23, 17, 11 } }, true);
  ExpectSameAsDirectMeanField<3>({ { 23, 17, 11 } }, false);
  ExpectSameAsDirectMeanField<2>({ { 41, 29 } }, true);
}

TEST(GaussianMixtureSegmentationImageFilter, ExpOfNonPositiveArgumentsWithinStatedError)
{
  using itk::GaussianMixtureDetail::ExpNonPositive;
  EXPECT_EQ(ExpNonPositive(0.0), 1.0);
  EXPECT_EQ(ExpNonPositive(-0.0), 1.0);
  EXPECT_EQ(ExpNonPositive(-708.0), 0.0);
  EXPECT_EQ(ExpNonPositive(-1e6), 0.0);
  EXPECT_EQ(ExpNonPositive(-std::numeric_limits<double>::infinity()), 0.0);
  double largest = 0.0;
  for (int i = 0; i <= 2000000; ++i)
  {
    // Dense near 0 (where posteriors are decided) and across the whole range down to -707.9.
    for (const double x : { -1e-6 * i, -707.9 * i / 2000000.0, -std::ldexp(1.0, -i % 60) })
    {
      const double exact = std::exp(x);
      largest = std::max(largest, std::abs(ExpNonPositive(x) - exact) / exact);
    }
  }
  std::cout << "largest relative error of ExpNonPositive: " << largest << std::endl;
  EXPECT_LT(largest, 1e-10);
}

TEST(GaussianMixtureSegmentationImageFilter, LogOfProductEqualsSumOfLogarithms)
{
  itk::GaussianMixtureDetail::LogOfProduct product;
  double                                   sum = 0.0;
  std::mt19937                             rng(3);
  std::uniform_real_distribution<double>   factor(1.0, 4.0);
  for (int i = 0; i < 100000; ++i)
  {
    const double f = i % 1000 == 0 ? std::ldexp(1.0, 60) : factor(rng); // now and then a large factor
    product.Multiply(f);
    sum += std::log(f);
  }
  EXPECT_NEAR(product.Get(), sum, 1e-12 * sum);
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
                                 "MinimumLogLikelihoodGain: 0.0075",
                                 "GaussianLogLikelihoodPerSample: [",
                                 "PartialVolumeLogLikelihoodPerSample: [",
                                 "RequiredGain: 0.0075",
                                 "LargestNumberOfClassesTried: 4",
                                 "LargestNumberOfClassesChosen: ",
                                 "NumberOfClassesUsed: ",
                                 "LogLikelihood: ",
                                 "NumberOfMRFIterations: ",
                                 "NumberOfClassifiedPixels: 1728" })
  {
    EXPECT_NE(text.str().find(expected), std::string::npos) << expected;
  }
  EXPECT_STREQ(filter->GetNameOfClass(), "GaussianMixtureSegmentationImageFilter");
}

TEST(GaussianMixtureSegmentationImageFilter, PartialVolumeKeepsTheLabelsOfThePottsModel)
{
  // Without the bias field, the partial-volume model adds fractions to the Potts model's labels and posteriors,
  // which stay bit for bit those of the same filter without PartialVolume.
  auto [image, truth] = ShellPhantom<3>(24, 15.0, 3);
  std::vector<Filter<3>::Pointer> filters;
  for (const bool partialVolume : { false, true })
  {
    auto filter = Filter<3>::New();
    filter->SetInput(image);
    filter->SetUseCommonVariance(true);
    filter->SetMRFWeight(0.6);
    filter->SetPartialVolume(partialVolume);
    filter->Update();
    filters.push_back(filter);
  }
  const std::size_t n = truth.size();
  EXPECT_TRUE(std::equal(filters[0]->GetOutput()->GetBufferPointer(), filters[0]->GetOutput()->GetBufferPointer() + n,
                         filters[1]->GetOutput()->GetBufferPointer()));
  EXPECT_EQ(std::memcmp(filters[0]->GetPosteriorsOutput()->GetBufferPointer(),
                        filters[1]->GetPosteriorsOutput()->GetBufferPointer(), 3 * n * sizeof(float)),
            0);
  EXPECT_EQ(filters[1]->GetNumberOfMRFIterations(), filters[0]->GetNumberOfMRFIterations() + 3);
  double total = 0.0;
  for (const double sum : filters[1]->GetFractionSums())
  {
    total += sum;
  }
  EXPECT_NEAR(total, static_cast<double>(n), 1e-3 * n);
}

TEST(GaussianMixtureSegmentationImageFilter, PartialVolumeFractionsAndBiasFieldOutputs)
{
  // Fractions sum to 1 in the voxels taking part and are 0 elsewhere, labels are the largest tissue posterior
  // (of the pure-tissue stage) and nearly always the largest fraction, the bias field is 1 outside, and all of it
  // is bit-identical for any number of threads.
  auto [image, truth] = ShellPhantom<3>(20, 8.0, 7);
  const auto          mask = IrregularMask<3>(image->GetLargestPossibleRegion().GetSize(), 4);
  std::vector<float>  reference;
  std::vector<double> referenceSums;
  for (const unsigned int threads : { 1u, 3u })
  {
    auto filter = Filter<3>::New();
    filter->SetInput(image);
    filter->SetMaskImage(mask);
    filter->SetMRFWeight(0.3);
    filter->PartialVolumeOn();
    filter->EstimateBiasFieldOn();
    filter->SetNumberOfWorkUnits(threads);
    filter->Update();
    const auto * fractions = filter->GetFractionsOutput();
    ASSERT_EQ(fractions->GetNumberOfComponentsPerPixel(), 3u);
    EXPECT_EQ(fractions->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
    std::vector<double> sums(3, 0.0);
    std::size_t         disagreements = 0, inside = 0;
    for (std::size_t i = 0; i < truth.size(); ++i)
    {
      const float * f = fractions->GetBufferPointer() + 3 * i;
      const auto    label = filter->GetOutput()->GetBufferPointer()[i];
      const float   bias = filter->GetBiasFieldOutput()->GetBufferPointer()[i];
      if (mask->GetBufferPointer()[i] != 0)
      {
        ASSERT_NEAR(f[0] + f[1] + f[2], 1.0, 1e-5) << "voxel " << i;
        ASSERT_GE(label, 1);
        const float * q = filter->GetPosteriorsOutput()->GetBufferPointer() + 3 * i;
        EXPECT_EQ(q[label - 1], std::max({ q[0], q[1], q[2] }));
        disagreements += f[label - 1] < std::max({ f[0], f[1], f[2] });
        ++inside;
        EXPECT_NEAR(bias, 1.0f, 0.05f) << "no bias in the phantom";
      }
      else
      {
        ASSERT_EQ(f[0] + f[1] + f[2], 0.0f) << "voxel " << i;
        ASSERT_EQ(label, 0);
        ASSERT_EQ(bias, 1.0f);
      }
      for (unsigned int k = 0; k < 3; ++k)
      {
        sums[k] += f[k];
      }
    }
    EXPECT_LE(disagreements, inside / 50) << "labels that are not the largest fraction";
    for (unsigned int k = 0; k < 3; ++k)
    {
      EXPECT_NEAR(filter->GetFractionSums()[k], sums[k], 1e-6 * truth.size());
    }
    EXPECT_NEAR(filter->GetClassMeans()[0], 60.0, 3.0);
    EXPECT_NEAR(filter->GetClassMeans()[2], 140.0, 3.0);
    EXPECT_TRUE(filter->GetNegligibleClasses().empty());
    if (reference.empty())
    {
      reference.assign(fractions->GetBufferPointer(), fractions->GetBufferPointer() + 3 * truth.size());
      referenceSums = filter->GetFractionSums();
      continue;
    }
    EXPECT_EQ(std::memcmp(reference.data(), fractions->GetBufferPointer(), reference.size() * sizeof(float)), 0);
    EXPECT_EQ(referenceSums, filter->GetFractionSums());
  }
}
