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
#include "itkMultiChannelKMeans.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

// The multi-channel K-means algorithm on plain arrays (feature vectors voxel by voxel, labels), without images.

namespace
{
using itk::MultiChannelKMeans;

/** Three clusters of two-channel integer vectors around known centres, in random order, with noise of +-spread;
 * truth[v] is the cluster (1..3, in ascending order of the first channel). */
template <typename T>
std::vector<T>
ThreeClusters(std::size_t n, int spread, std::vector<unsigned char> & truth, unsigned int seed = 1)
{
  const int                          centres[3][2] = { { 20, 200 }, { 100, 50 }, { 180, 120 } };
  std::mt19937                       rng(seed);
  std::uniform_int_distribution<int> cluster(0, 2), noise(-spread, spread);
  std::vector<T>                     x(2 * n);
  truth.resize(n);
  for (std::size_t v = 0; v < n; ++v)
  {
    const int k = cluster(rng);
    truth[v] = static_cast<unsigned char>(k + 1);
    x[2 * v] = static_cast<T>(centres[k][0] + noise(rng));
    x[2 * v + 1] = static_cast<T>(centres[k][1] + noise(rng));
  }
  return x;
}

/** Checks that the result is a fixed point of Lloyd's algorithm: every voxel taking part has the label of its
 * nearest mean (in the clustering metric), and the reported means, counts and sums of squares are those of the
 * labels. */
template <typename T, typename L>
void
ExpectLloydFixedPoint(const MultiChannelKMeans::Result & r, const std::vector<T> & x, const std::vector<L> & labels, unsigned int C)
{
  const std::size_t                K = r.ClassMeans.size();
  std::vector<std::vector<double>> sums(K, std::vector<double>(C, 0.0));
  std::vector<std::uint64_t>       counts(K, 0);
  for (std::size_t v = 0; v < labels.size(); ++v)
  {
    if (labels[v] == 0)
    {
      continue;
    }
    std::vector<double> d(K, 0.0);
    for (std::size_t k = 0; k < K; ++k)
    {
      for (unsigned int c = 0; c < C; ++c)
      {
        const double t = static_cast<double>(x[v * C + c]) - r.ClassMeans[k][c];
        d[k] += r.ChannelWeights[c] * t * t;
      }
    }
    const std::size_t own = labels[v] - 1u;
    for (std::size_t k = 0; k < K; ++k)
    {
      ASSERT_LE(d[own], d[k] * (1 + 1e-12)) << "voxel " << v << " is nearer to class " << k + 1;
    }
    ++counts[own];
    for (unsigned int c = 0; c < C; ++c)
    {
      sums[own][c] += static_cast<double>(x[v * C + c]);
    }
  }
  for (std::size_t k = 0; k < K; ++k)
  {
    EXPECT_EQ(counts[k], r.ClassCounts[k]);
    for (unsigned int c = 0; c < C; ++c)
    {
      EXPECT_NEAR(sums[k][c] / static_cast<double>(counts[k]), r.ClassMeans[k][c], 1e-9 * (1 + std::abs(r.ClassMeans[k][c])));
    }
  }
}
} // namespace

TEST(MultiChannelKMeans, FindsKnownClustersOnEitherPath)
{
  std::vector<unsigned char> truth;
  const auto                 x = ThreeClusters<unsigned char>(20000, 15, truth);
  for (const bool distinct : { true, false })
  {
    MultiChannelKMeans::Parameters p;
    p.UseDistinctVectors = distinct;
    p.MaximumSampleSize = 1000;
    MultiChannelKMeans kmeans;
    kmeans.SetParameters(p);
    std::vector<unsigned char> labels(truth.size(), 1);
    kmeans.Run(x.data(), labels.data(), truth.size(), 2);
    const auto & r = kmeans.GetResult();
    EXPECT_EQ(labels, truth) << (distinct ? "distinct vectors" : "voxels");
    EXPECT_EQ(r.UsedDistinctVectors, distinct);
    EXPECT_EQ(r.NumberOfClassifiedPixels, truth.size());
    ASSERT_EQ(r.ClassMeans.size(), 3u);
    EXPECT_NEAR(r.ClassMeans[0][0], 20.0, 0.5);
    EXPECT_NEAR(r.ClassMeans[1][1], 50.0, 0.5);
    EXPECT_NEAR(r.ClassMeans[2][0], 180.0, 0.5);
    EXPECT_EQ(r.RestartWithinClassSumsOfSquares.size(), p.NumberOfRestarts);
    if (distinct)
    {
      EXPECT_LE(r.NumberOfDistinctVectors, 3u * 31u * 31u);
      EXPECT_GE(r.NumberOfDistinctVectors, 3u * 25u * 25u);
    }
    ExpectLloydFixedPoint(r, x, labels, 2);
  }
}

TEST(MultiChannelKMeans, ExcludedAndNonFiniteVoxelsGetLabelZero)
{
  std::vector<unsigned char> truth;
  const auto                 ints = ThreeClusters<int>(5000, 10, truth);
  std::vector<float>         x(ints.begin(), ints.end());
  std::vector<unsigned short> labels(truth.size(), 1);
  for (std::size_t v = 0; v < truth.size(); v += 7)
  {
    labels[v] = 0; // excluded (a mask)
  }
  for (std::size_t v = 3; v < truth.size(); v += 11)
  {
    x[2 * v + (v % 2)] = v % 3 ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  }
  MultiChannelKMeans kmeans;
  kmeans.Run(x.data(), labels.data(), truth.size(), 2);
  std::uint64_t expected = 0;
  for (std::size_t v = 0; v < truth.size(); ++v)
  {
    const bool excluded = v % 7 == 0 || (v >= 3 && (v - 3) % 11 == 0);
    EXPECT_EQ(labels[v], excluded ? 0 : truth[v]) << "voxel " << v;
    expected += excluded ? 0 : 1;
  }
  EXPECT_EQ(kmeans.GetResult().NumberOfClassifiedPixels, expected);
  EXPECT_TRUE(kmeans.GetResult().UsedDistinctVectors) << "integer-valued floats use the distinct vectors";
}

TEST(MultiChannelKMeans, FixedPointAndDeterminismOnNoisyData)
{
  // Overlapping clusters in three real-valued channels, more voxels than one chunk: the voxel path (sample,
  // restarts, then Lloyd over all voxels). Two runs give bit-identical results; another seed may differ in
  // the restarts but still gives a fixed point.
  std::mt19937                     rng(7);
  std::normal_distribution<double> noise(0.0, 20.0);
  const std::size_t                n = 150000;
  std::vector<double>              x(3 * n);
  for (std::size_t v = 0; v < n; ++v)
  {
    const double base = 40.0 * static_cast<double>(v % 4);
    x[3 * v] = base + noise(rng);
    x[3 * v + 1] = 2.0 * base + noise(rng);
    x[3 * v + 2] = noise(rng);
  }
  auto run = [&](std::uint64_t seed, bool standardize, std::vector<unsigned char> & labels) {
    MultiChannelKMeans::Parameters p;
    p.NumberOfClasses = 4;
    p.Seed = seed;
    p.Standardize = standardize;
    MultiChannelKMeans kmeans;
    kmeans.SetParameters(p);
    labels.assign(n, 1);
    kmeans.Run(x.data(), labels.data(), n, 3);
    return kmeans.GetResult();
  };
  std::vector<unsigned char> a, b, c;
  const auto                 ra = run(5489, false, a);
  const auto                 rb = run(5489, false, b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(ra.WithinClassSumOfSquares, rb.WithinClassSumOfSquares);
  EXPECT_FALSE(ra.UsedDistinctVectors);
  ExpectLloydFixedPoint(ra, x, a, 3);
  const auto rc = run(12345, true, c);
  ExpectLloydFixedPoint(rc, x, c, 3);
  for (unsigned int ch = 0; ch < 3; ++ch)
  {
    EXPECT_DOUBLE_EQ(rc.ChannelWeights[ch], 1.0 / (rc.ChannelStandardDeviations[ch] * rc.ChannelStandardDeviations[ch]));
  }
  for (std::size_t k = 1; k < ra.ClassMeans.size(); ++k)
  {
    EXPECT_LT(ra.ClassMeans[k - 1][0], ra.ClassMeans[k][0]) << "labels in ascending order of the first channel";
  }
}

TEST(MultiChannelKMeans, SixtyFourBitIntegersTakeTheVoxelPath)
{
  std::vector<unsigned char> truth;
  const auto                 x = ThreeClusters<long long>(3000, 5, truth);
  MultiChannelKMeans         kmeans;
  std::vector<unsigned int>  labels(truth.size(), 1);
  kmeans.Run(x.data(), labels.data(), truth.size(), 2);
  EXPECT_FALSE(kmeans.GetResult().UsedDistinctVectors);
  EXPECT_EQ(std::vector<unsigned int>(truth.begin(), truth.end()), labels);
}

TEST(MultiChannelKMeans, ErrorsNameTheValues)
{
  auto message = [](auto && action) -> std::string {
    try
    {
      action();
    }
    catch (const MultiChannelKMeans::NoVoxelError & e)
    {
      return std::string("no voxel: ") + e.what();
    }
    catch (const std::exception & e)
    {
      return e.what();
    }
    return "no error";
  };
  MultiChannelKMeans::Parameters p;
  p.NumberOfRestarts = 0;
  EXPECT_EQ(message([&] { MultiChannelKMeans::VerifyParameters(p); }), "NumberOfRestarts is 0; it must be at least 1");
  p = {};
  p.NumberOfClasses = 10;
  p.MaximumSampleSize = 4;
  EXPECT_EQ(message([&] { MultiChannelKMeans::VerifyParameters(p); }),
            "MaximumSampleSize is 4; it must be at least NumberOfClasses (10)");

  const std::vector<short>   two = { 1, 1, 1, 1, 5, 5, 5, 5 }; // two distinct vectors of two channels
  std::vector<unsigned char> labels(4, 1);
  MultiChannelKMeans         kmeans;
  EXPECT_EQ(message([&] { kmeans.Run(two.data(), labels.data(), 4, 2); }),
            "NumberOfClasses is 3 but only 2 distinct feature vectors take part");
  labels.assign(4, 0);
  EXPECT_EQ(message([&] { kmeans.Run(two.data(), labels.data(), 4, 2); }), "no voxel: no voxel takes part");
  p = {};
  p.NumberOfClasses = 300;
  kmeans.SetParameters(p);
  labels.assign(4, 1);
  EXPECT_EQ(message([&] { kmeans.Run(two.data(), labels.data(), 4, 2); }),
            "NumberOfClasses is 300, more than the labels hold (255)");
  EXPECT_EQ(message([&] { kmeans.Run(two.data(), labels.data(), 4, 0); }),
            "the input has no channel (0 components per pixel)");
}
