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
#include "itkGaussianMixtureOnLevels.h"
#include "itkPartialVolumeMixtureOnLevels.h"

#include "PartialVolumePhantom.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>
#include <string>

namespace
{
using Fitter = itk::GaussianMixtureOnLevels;
using Level = Fitter::Level;

/** Counts of the integers 0..maximum among sampleCount samples of a mixture drawn with a fixed seed. */
std::vector<std::uint64_t>
CountsOfMixture(const std::vector<double> & means,
                const std::vector<double> & sigmas,
                const std::vector<double> & proportions,
                int                         maximum,
                std::uint64_t               sampleCount,
                unsigned int                seed)
{
  std::vector<std::uint64_t>             counts(maximum + 1, 0);
  std::mt19937                           rng(seed);
  std::discrete_distribution<int>        pick(proportions.begin(), proportions.end());
  std::normal_distribution<double>       unit(0.0, 1.0);
  for (std::uint64_t i = 0; i < sampleCount; ++i)
  {
    const int k = pick(rng);
    const long v = std::lround(means[k] + sigmas[k] * unit(rng));
    ++counts[std::min<long>(maximum, std::max<long>(0, v))];
  }
  return counts;
}

/** The occupied levels of integer counts. */
std::vector<Level>
LevelsOfCounts(const std::vector<std::uint64_t> & counts)
{
  std::vector<Level> levels;
  for (std::size_t v = 0; v < counts.size(); ++v)
  {
    if (counts[v] > 0)
    {
      Level level;
      level.Count = counts[v];
      level.Sum = static_cast<long double>(counts[v]) * v;
      level.SumOfSquares = static_cast<long double>(counts[v]) * v * v;
      levels.push_back(level);
    }
  }
  return levels;
}

std::vector<Level>
LevelsOfMixture(const std::vector<double> & means,
                const std::vector<double> & sigmas,
                const std::vector<double> & proportions,
                int                         maximum,
                std::uint64_t               sampleCount,
                unsigned int                seed)
{
  return LevelsOfCounts(CountsOfMixture(means, sigmas, proportions, maximum, sampleCount, seed));
}

Fitter::Parameters
ParametersFor(unsigned int k, bool common = false)
{
  Fitter::Parameters p;
  p.NumberOfClasses = k;
  p.CommonVariance = common;
  return p;
}
} // namespace

TEST(GaussianMixtureOnLevels, RecoversAKnownMixture)
{
  const auto levels = LevelsOfMixture({ 60, 120, 200 }, { 8, 10, 12 }, { 0.2, 0.5, 0.3 }, 255, 200000, 1);
  Fitter     fitter;
  fitter.SetParameters(ParametersFor(3));
  fitter.Fit(levels, 1.0);
  const auto & r = fitter.GetResult();
  ASSERT_EQ(r.Model.Mean.size(), 3u);
  const double means[] = { 60, 120, 200 };
  const double sigmas[] = { 8, 10, 12 };
  const double proportions[] = { 0.2, 0.5, 0.3 };
  for (unsigned int k = 0; k < 3; ++k)
  {
    EXPECT_NEAR(r.Model.Mean[k], means[k], 0.2) << k;
    EXPECT_NEAR(std::sqrt(r.Model.Variance[k]), sigmas[k], 0.2) << k;
    EXPECT_NEAR(r.Model.Proportion[k], proportions[k], 0.005) << k;
  }
  EXPECT_EQ(r.NumberOfSamples, 200000u);
  EXPECT_GT(r.NumberOfIterations, 0u);
  // The log-likelihood reported is the fitted mixture's, and EM raised it above the K-means start.
  EXPECT_DOUBLE_EQ(r.LogLikelihood, Fitter::LevelLogLikelihood(levels, r.Model, nullptr));
  itk::OptimalScalarKMeans solver;
  solver.Solve(levels, 3);
  const auto start = Fitter::MixtureFromPartition(solver.Partition(3), r.NumberOfSamples, r.VarianceFloor, false);
  EXPECT_GT(r.LogLikelihood, Fitter::LevelLogLikelihood(levels, start, nullptr));
  // Started from the exact K-means partition.
  const auto partition = solver.Partition(3);
  for (unsigned int k = 0; k < 3; ++k)
  {
    EXPECT_EQ(r.InitialMeans[k], partition[k].Mean);
  }
}

TEST(GaussianMixtureOnLevels, LevelPosteriorsAddUpToOneAndFollowTheMeans)
{
  const auto levels = LevelsOfMixture({ 50, 150 }, { 10, 10 }, { 0.5, 0.5 }, 255, 20000, 2);
  Fitter     fitter;
  fitter.SetParameters(ParametersFor(2));
  fitter.Fit(levels, 1.0);
  std::vector<double> posteriors;
  Fitter::LevelLogLikelihood(levels, fitter.GetResult().Model, &posteriors);
  ASSERT_EQ(posteriors.size(), 2 * levels.size());
  for (std::size_t l = 0; l < levels.size(); ++l)
  {
    EXPECT_NEAR(posteriors[2 * l] + posteriors[2 * l + 1], 1.0, 1e-12);
    const double value = static_cast<double>(levels[l].Sum / levels[l].Count);
    if (value < 80)
    {
      EXPECT_GT(posteriors[2 * l], 0.99) << value;
    }
    if (value > 120)
    {
      EXPECT_GT(posteriors[2 * l + 1], 0.99) << value;
    }
  }
}

TEST(GaussianMixtureOnLevels, CommonVarianceIsSharedAndFloored)
{
  const auto levels = LevelsOfMixture({ 60, 120, 200 }, { 5, 10, 20 }, { 0.3, 0.4, 0.3 }, 255, 50000, 3);
  Fitter     fitter;
  fitter.SetParameters(ParametersFor(3, true));
  fitter.Fit(levels, 1.0);
  const auto & v = fitter.GetResult().Model.Variance;
  EXPECT_EQ(v[0], v[1]);
  EXPECT_EQ(v[1], v[2]);
  // Three single levels: every class holds one intensity, its variance is the floor w^2/12 of bin width w = 4.
  std::vector<Level> three(3);
  for (int i = 0; i < 3; ++i)
  {
    three[i].Count = 10;
    three[i].Sum = 10.0L * (100 * i);
    three[i].SumOfSquares = 10.0L * (100 * i) * (100 * i);
  }
  fitter.SetParameters(ParametersFor(3));
  fitter.Fit(three, 4.0);
  EXPECT_DOUBLE_EQ(fitter.GetResult().VarianceFloor, 16.0 / 12.0);
  for (const double variance : fitter.GetResult().Model.Variance)
  {
    EXPECT_EQ(variance, fitter.GetResult().VarianceFloor);
  }
}

TEST(GaussianMixtureOnLevels, AutomaticNumberOfClassesPicksTheTrueK)
{
  const auto levels = LevelsOfMixture({ 40, 110, 190 }, { 8, 8, 8 }, { 0.3, 0.4, 0.3 }, 255, 100000, 4);
  Fitter::Parameters p;
  p.AutomaticNumberOfClasses = true;
  p.MaximumNumberOfClasses = 5;
  Fitter fitter;
  fitter.SetParameters(p);
  fitter.Fit(levels, 1.0);
  const auto & r = fitter.GetResult();
  ASSERT_EQ(r.BayesianInformationCriterionForEachK.size(), 5u);
  EXPECT_EQ(r.Model.Mean.size(), 3u);
  EXPECT_EQ(std::min_element(r.BayesianInformationCriterionForEachK.begin(),
                             r.BayesianInformationCriterionForEachK.end()) -
              r.BayesianInformationCriterionForEachK.begin(),
            2);
  EXPECT_TRUE(std::is_sorted(r.Model.Mean.begin(), r.Model.Mean.end()));
}

TEST(GaussianMixtureOnLevels, MergedLevelsGiveTheModelOfTheUnion)
{
  // Levels are sums: the levels of two parts added level by level are the union's, and so is the fit, bit for bit
  // (the property streamed estimation and merged histograms rely on).
  const auto countsA = CountsOfMixture({ 60, 160 }, { 12, 12 }, { 0.4, 0.6 }, 255, 30000, 5);
  const auto countsB = CountsOfMixture({ 70, 150 }, { 15, 10 }, { 0.5, 0.5 }, 255, 20000, 6);
  std::map<std::size_t, Level> merged;
  for (const auto * counts : { &countsA, &countsB })
  {
    for (std::size_t v = 0; v < counts->size(); ++v)
    {
      if ((*counts)[v] == 0)
      {
        continue;
      }
      const auto c = static_cast<long double>((*counts)[v]);
      auto &     m = merged[v];
      m.Count += (*counts)[v];
      m.Sum += c * v;
      m.SumOfSquares += c * v * v;
    }
  }
  std::vector<Level> mergedLevels;
  for (const auto & entry : merged)
  {
    mergedLevels.push_back(entry.second);
  }
  std::vector<std::uint64_t> unionCounts(256);
  for (std::size_t v = 0; v < 256; ++v)
  {
    unionCounts[v] = countsA[v] + countsB[v];
  }
  Fitter fromMerge;
  fromMerge.SetParameters(ParametersFor(2));
  fromMerge.Fit(mergedLevels, 1.0);
  Fitter fromUnion;
  fromUnion.SetParameters(ParametersFor(2));
  fromUnion.Fit(LevelsOfCounts(unionCounts), 1.0);
  EXPECT_EQ(fromMerge.GetResult().Model.Mean, fromUnion.GetResult().Model.Mean);
  EXPECT_EQ(fromMerge.GetResult().Model.Variance, fromUnion.GetResult().Model.Variance);
  EXPECT_EQ(fromMerge.GetResult().Model.Proportion, fromUnion.GetResult().Model.Proportion);
  EXPECT_EQ(fromMerge.GetResult().NumberOfSamples, 50000u);
}

TEST(GaussianMixtureOnLevels, ErrorsNameTheValues)
{
  std::vector<Level> two(2);
  two[0].Count = 1;
  two[1].Count = 1;
  two[1].Sum = 1;
  two[1].SumOfSquares = 1;
  Fitter fitter;
  fitter.SetParameters(ParametersFor(3));
  try
  {
    fitter.Fit(two, 1.0);
    FAIL() << "no exception";
  }
  catch (const std::invalid_argument & error)
  {
    EXPECT_EQ(std::string(error.what()), "NumberOfClasses is 3 but only 2 distinct intensity levels take part");
  }
  fitter.SetParameters(ParametersFor(0));
  EXPECT_THROW(fitter.Fit(two, 1.0), std::invalid_argument);
  auto p = ParametersFor(2);
  p.ConvergenceThreshold = -1.0;
  try
  {
    Fitter::VerifyParameters(p);
    FAIL() << "no exception";
  }
  catch (const std::invalid_argument & error)
  {
    EXPECT_EQ(std::string(error.what()), "ConvergenceThreshold is -1; it must be finite and not negative");
  }
}

namespace
{
/** Adds a sample to the histogram bins of width 1 (bins keyed by the integer part of the value). */
void
AddToBins(std::map<long, Level> & bins, double value)
{
  Level & level = bins[static_cast<long>(value)];
  level.Count += 1;
  level.Sum += value;
  level.SumOfSquares += static_cast<long double>(value) * value;
}

/** The levels of the bins, in ascending order. */
std::vector<Level>
LevelsOf(const std::map<long, Level> & bins)
{
  std::vector<Level> levels;
  for (const auto & bin : bins)
  {
    levels.push_back(bin.second);
  }
  return levels;
}

/** Levels (bins of width 1, measured from 0) of sampleCount intensities of a brain-like histogram: pure classes at
 * means (proportions pure), mixed classes between neighbours (proportions mixed, f uniform), the multiplicative bias
 * field of PartialVolumePhantom.h (spanning 1 -+ biasPercent / 200) at a random place, and Gaussian noise of
 * noisePercent % of the largest mean. */
std::vector<Level>
PartialVolumeLevels(const std::vector<double> & means,
                    const std::vector<double> & pure,
                    const std::vector<double> & mixed,
                    double                      noisePercent,
                    double                      biasPercent,
                    std::uint64_t               sampleCount,
                    unsigned int                seed)
{
  std::vector<double> weights = pure;
  weights.insert(weights.end(), mixed.begin(), mixed.end());
  std::mt19937                           rng(seed);
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<double>       unit(0.0, 1.0);
  const double                           sigma = noisePercent / 100.0 * means.back();
  std::map<long, Level>                  bins;
  for (std::uint64_t i = 0; i < sampleCount; ++i)
  {
    const std::size_t c = pick(rng);
    double            clean = c < means.size() ? means[c] : 0.0;
    if (c >= means.size())
    {
      const std::size_t j = c - means.size();
      const double      f = uniform(rng);
      clean = (1.0 - f) * means[j] + f * means[j + 1];
    }
    // The bias field of PartialVolumePhantom.h at a voxel drawn uniformly from the cube.
    const double u = 2.0 * uniform(rng) - 1.0, v = 2.0 * uniform(rng) - 1.0, w = 2.0 * uniform(rng) - 1.0;
    const double field = 1.0 + 0.5 * biasPercent / 100.0 * (0.6 * u + 0.3 * v - 0.5 * w + 0.4 * u * v) / 1.8;
    const double value = std::max(0.0, clean * field + sigma * unit(rng));
    AddToBins(bins, value);
  }
  return LevelsOf(bins);
}

unsigned int
AutomaticK(const std::vector<Level> & levels, unsigned int maximum = 6)
{
  Fitter::Parameters p;
  p.AutomaticNumberOfClasses = true;
  p.MaximumNumberOfClasses = maximum;
  p.CommonVariance = true;
  Fitter fitter;
  fitter.SetParameters(p);
  fitter.Fit(levels, 1.0);
  const auto & r = fitter.GetResult();
  EXPECT_EQ(r.NumberOfClassesSelection.NumberOfClasses, r.Model.Mean.size());
  return static_cast<unsigned int>(r.Model.Mean.size());
}
} // namespace

TEST(GaussianMixtureOnLevels, PartialVolumeMixtureRecoversTheTissuesAndTheMixedLayer)
{
  // Two tissues at 300 and 800, 20 % of the samples mixed between them, noise sigma 24.
  const auto levels = PartialVolumeLevels({ 300, 800 }, { 0.5, 0.3 }, { 0.2 }, 3.0, 0.0, 200000, 11);
  itk::OptimalScalarKMeans solver;
  solver.Solve(levels, 2);
  const auto m = itk::PartialVolumeMixtureOnLevels::Fit(levels, solver.Partition(2), 1.0 / 12.0, 1000, 1e-9);
  ASSERT_EQ(m.Mean.size(), 2u);
  ASSERT_EQ(m.Proportion.size(), 3u);
  EXPECT_NEAR(m.Mean[0], 300.0, 1.5);
  EXPECT_NEAR(m.Mean[1], 800.0, 1.5);
  EXPECT_NEAR(std::sqrt(m.Variance), 24.0, 0.5);
  EXPECT_NEAR(m.Proportion[0], 0.5, 0.01);
  EXPECT_NEAR(m.Proportion[1], 0.3, 0.01);
  EXPECT_NEAR(m.Proportion[2], 0.2, 0.01);
  EXPECT_NEAR(m.Proportion[0] + m.Proportion[1] + m.Proportion[2], 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(itk::PartialVolumeMixtureOnLevels::LogLikelihood(levels, m), m.LogLikelihood);
  // The Gaussian mixture of two classes fits the mixed layer worse.
  Fitter::Mixture gaussian = Fitter::MixtureFromPartition(solver.Partition(2), 200000, 1.0 / 12.0, true);
  EXPECT_LT(Fitter::FitOnLevels(levels, gaussian, 1.0 / 12.0, true, 1000, 1e-9).LogLikelihood,
            m.LogLikelihood - 1000.0);
}

TEST(GaussianMixtureOnLevels, MergedLevelsKeepCountsAndMoments)
{
  const auto levels = PartialVolumeLevels({ 250, 600, 850 }, { 0.3, 0.3, 0.2 }, { 0.1, 0.1 }, 6.0, 20.0, 50000, 12);
  ASSERT_GT(levels.size(), 512u);
  double     width = 0.0;
  const auto merged = Fitter::MergeLevels(levels, 1.0, 512, width);
  EXPECT_LE(merged.size(), 512u);
  EXPECT_GT(width, 1.0);
  std::uint64_t count = 0;
  long double   sum = 0, squares = 0, mergedSum = 0, mergedSquares = 0;
  for (const auto & level : levels)
  {
    count += level.Count;
    sum += level.Sum;
    squares += level.SumOfSquares;
  }
  for (std::size_t g = 0; g < merged.size(); ++g)
  {
    count -= merged[g].Count;
    mergedSum += merged[g].Sum;
    mergedSquares += merged[g].SumOfSquares;
    if (g > 0)
    {
      EXPECT_LT(merged[g - 1].Sum / merged[g - 1].Count, merged[g].Sum / merged[g].Count);
    }
  }
  EXPECT_EQ(count, 0u);
  EXPECT_NEAR(static_cast<double>(mergedSum / sum), 1.0, 1e-15);
  EXPECT_NEAR(static_cast<double>(mergedSquares / squares), 1.0, 1e-15);
  // Few levels are returned as they are.
  const auto few = Fitter::MergeLevels(merged, 1.0, 512, width);
  EXPECT_EQ(few.size(), merged.size());
  EXPECT_EQ(width, 1.0);
}

TEST(GaussianMixtureOnLevels, AutomaticKGivesTheTissueCountWithPartialVolumesNoiseAndBias)
{
  // Histograms with partial-volume layers between neighbouring tissues, a bias field and noise, where BIC of the
  // Gaussian mixture adds classes for the mixed voxels: 2, 3 and 4 tissues.
  unsigned int seed = 100;
  for (const double bias : { 0.0, 20.0 })
  {
    for (const double noise : { 0.0, 3.0, 6.0, 9.0 })
    {
      SCOPED_TRACE("noise " + std::to_string(noise) + " %, bias " + std::to_string(bias) + " %");
      EXPECT_EQ(AutomaticK(PartialVolumeLevels({ 250, 600, 850 }, { 0.3, 0.3, 0.25 }, { 0.08, 0.07 }, noise, bias,
                                               200000, ++seed)),
                3u);
      EXPECT_EQ(AutomaticK(PartialVolumeLevels({ 250, 850 }, { 0.5, 0.4 }, { 0.1 }, noise, bias, 200000, ++seed)), 2u);
      if (noise > 0.0 && noise < 9.0)
      {
        EXPECT_EQ(AutomaticK(PartialVolumeLevels({ 150, 400, 650, 900 }, { 0.3, 0.2, 0.2, 0.15 },
                                                 { 0.05, 0.05, 0.05 }, noise, bias, 200000, ++seed)),
                  4u);
      }
    }
  }
}

TEST(GaussianMixtureOnLevels, AutomaticKGivesThreeTissuesOnTheDrawnPartialVolumePhantom)
{
  // The head drawn at 4x resolution and averaged down (true partial-volume layers), Rician noise, 20 % bias.
  for (const double noise : { 0.0, 3.0, 9.0 })
  {
    SCOPED_TRACE("noise " + std::to_string(noise) + " %");
    const auto         phantom = kmeans_test::MakePartialVolumePhantom(48, noise, 20.0, 7);
    std::map<long, Level> bins;
    for (const float value : phantom.Values)
    {
      AddToBins(bins, value);
    }
    EXPECT_EQ(AutomaticK(LevelsOf(bins)), 3u);
  }
}

TEST(GaussianMixtureOnLevels, AutomaticKFlagsTheLargestKTried)
{
  const auto four = PartialVolumeLevels({ 150, 400, 650, 900 }, { 0.3, 0.2, 0.2, 0.15 }, { 0.05, 0.05, 0.05 }, 3.0,
                                        0.0, 100000, 21);
  Fitter::Parameters p;
  p.AutomaticNumberOfClasses = true;
  Fitter fitter;
  for (const unsigned int maximum : { 3u, 6u })
  {
    p.MaximumNumberOfClasses = maximum;
    fitter.SetParameters(p);
    fitter.Fit(four, 1.0);
    const auto & selection = fitter.GetResult().NumberOfClassesSelection;
    EXPECT_EQ(selection.LargestTried, maximum);
    EXPECT_EQ(selection.NumberOfClasses, maximum == 3 ? 3u : 4u);
    EXPECT_EQ(selection.LargestChosen, maximum == 3);
    // The fits stop at the K that fell short.
    EXPECT_EQ(selection.GaussianLogLikelihoodPerSample.size(), std::min(maximum, selection.NumberOfClasses + 1));
    EXPECT_EQ(selection.PartialVolumeLogLikelihoodPerSample.size(), std::min(maximum, selection.NumberOfClasses + 1));
    EXPECT_EQ(fitter.GetResult().Model.Mean.size(), selection.NumberOfClasses);
  }
  // One K tried is never flagged; the required gain is at least the BIC penalty per sample of 3 parameters.
  p.MaximumNumberOfClasses = 1;
  fitter.SetParameters(p);
  fitter.Fit(four, 1.0);
  EXPECT_FALSE(fitter.GetResult().NumberOfClassesSelection.LargestChosen);
  const auto tiny = PartialVolumeLevels({ 100, 300 }, { 0.5, 0.5 }, { 0.0 }, 5.0, 0.0, 200, 22);
  p.MaximumNumberOfClasses = 6;
  fitter.SetParameters(p);
  fitter.Fit(tiny, 1.0);
  EXPECT_DOUBLE_EQ(fitter.GetResult().NumberOfClassesSelection.RequiredGain, 1.5 * std::log(200.0) / 200.0);
  EXPECT_EQ(fitter.GetResult().NumberOfClassesSelection.NumberOfClasses, 2u);
  // A negative or non-finite minimum gain is refused, naming the value.
  p.MinimumLogLikelihoodGain = -1.0;
  fitter.SetParameters(p);
  try
  {
    fitter.Fit(four, 1.0);
    FAIL() << "no exception";
  }
  catch (const std::invalid_argument & error)
  {
    EXPECT_STREQ(error.what(), "MinimumLogLikelihoodGain is -1; it must be finite and not negative");
  }
}
