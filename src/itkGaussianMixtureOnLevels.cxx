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

#include "itkGaussianMixtureKernels.h"
#include "itkKMeansSegmentationFilterSupport.h"
#include "itkMath.h"
#include "itkPartialVolumeMixtureOnLevels.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace itk
{
namespace
{
using GaussianMixtureDetail::ClassValues;
using GaussianMixtureDetail::ExpNonPositive;
using GaussianMixtureDetail::LevelTable;
using GaussianMixtureDetail::MakeLevelTable;
using GaussianMixtureDetail::MeanAndCountOfLevels;
using GaussianMixtureDetail::WithFixedNumberOfClasses;
using Mixture = GaussianMixtureOnLevels::Mixture;

/** One expectation pass over the levels: returns the log-likelihood of the mixture; when posteriors is not null it
 * receives the level posteriors (levels x K), and when moments is not null moments[3 k .. 3 k + 2] receive the
 * posterior-weighted count, sum and sum of squares (from table.Shift) of class k, the next M-step's input, summed
 * in level order. */
double
LevelExpectation(const LevelTable &    table,
                 const Mixture &       mixture,
                 std::vector<double> * posteriors,
                 std::vector<double> * moments)
{
  const std::size_t numberOfClasses = mixture.Mean.size();
  const std::size_t numberOfLevels = table.Count.size();
  if (posteriors != nullptr)
  {
    posteriors->resize(numberOfLevels * numberOfClasses);
  }
  if (moments != nullptr)
  {
    moments->assign(3 * numberOfClasses, 0.0);
  }
  return WithFixedNumberOfClasses(numberOfClasses, [&](auto fixedClasses) {
    constexpr unsigned int               FixedClasses = decltype(fixedClasses)::value;
    const std::size_t                    K = FixedClasses > 0 ? FixedClasses : numberOfClasses;
    ClassValues<double, FixedClasses, 3> termStorage(K);
    ClassValues<double, FixedClasses, 1> energyStorage(K);
    ClassValues<double, FixedClasses, 3> sumStorage(K);
    double * const                       terms = termStorage.data();
    double * const                       energy = energyStorage.data();
    double * const                       sums = sumStorage.data();
    double * const                       levelPosteriors = posteriors ? posteriors->data() : nullptr;
    for (std::size_t k = 0; k < K; ++k)
    {
      terms[3 * k] = mixture.Mean[k] - table.Shift;
      terms[3 * k + 1] = std::log(mixture.Proportion[k]) - 0.5 * std::log(2.0 * Math::pi * mixture.Variance[k]);
      terms[3 * k + 2] = 0.5 / mixture.Variance[k];
    }
    double logLikelihood = 0.0;
    for (std::size_t l = 0; l < numberOfLevels; ++l)
    {
      const double value = table.Value[l];
      double       maximum = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < K; ++k)
      {
        const double d = value - terms[3 * k];
        energy[k] = terms[3 * k + 1] - d * d * terms[3 * k + 2];
        maximum = std::max(maximum, energy[k]);
      }
      double sum = 0.0;
      for (std::size_t k = 0; k < K; ++k)
      {
        // ExpNonPositive(0) is exactly 1: the largest term needs no evaluation.
        energy[k] = energy[k] == maximum ? 1.0 : ExpNonPositive(energy[k] - maximum);
        sum += energy[k];
      }
      const double count = table.Count[l];
      logLikelihood += count * (maximum + std::log(sum));
      const double inverse = 1.0 / sum;
      if (levelPosteriors != nullptr)
      {
        for (std::size_t k = 0; k < K; ++k)
        {
          levelPosteriors[l * K + k] = energy[k] * inverse;
        }
      }
      if (moments != nullptr)
      {
        const double square = table.Square[l];
        for (std::size_t k = 0; k < K; ++k)
        {
          const double w = energy[k] * inverse * count;
          sums[3 * k] += w;
          sums[3 * k + 1] += w * value;
          sums[3 * k + 2] += w * square;
        }
      }
    }
    if (moments != nullptr)
    {
      std::copy(sums, sums + 3 * K, moments->begin());
    }
    return logLikelihood;
  });
}

} // namespace

auto
GaussianMixtureOnLevels::MixtureFromPartition(const std::vector<OptimalScalarKMeans::Class> & classes,
                     std::uint64_t                                   numberOfSamples,
                     double                                          varianceFloor,
                                              bool commonVariance) -> Mixture
{
  Mixture mixture;
  for (const auto & c : classes)
  {
    const auto n = static_cast<double>(c.Count);
    mixture.Mean.push_back(c.Mean);
    mixture.Variance.push_back(std::max(c.SumOfSquares / n, varianceFloor));
    mixture.Proportion.push_back(n / static_cast<double>(numberOfSamples));
  }
  if (commonVariance)
  {
    PoolVariances(mixture, varianceFloor);
  }
  return mixture;
}

void
GaussianMixtureOnLevels::PoolVariances(Mixture & mixture, double varianceFloor)
{
  double pooled = 0.0;
  double weight = 0.0;
  for (std::size_t k = 0; k < mixture.Mean.size(); ++k)
  {
    pooled += mixture.Proportion[k] * mixture.Variance[k];
    weight += mixture.Proportion[k];
  }
  std::fill(mixture.Variance.begin(), mixture.Variance.end(), std::max(pooled / weight, varianceFloor));
}

double
GaussianMixtureOnLevels::LevelLogLikelihood(const std::vector<OptimalScalarKMeans::Level> & levels,
                   const Mixture &                                 mixture,
                   std::vector<double> *                           posteriors)
{
  return LevelExpectation(MakeLevelTable(levels), mixture, posteriors, nullptr);
}

auto
GaussianMixtureOnLevels::FitOnLevels(const std::vector<OptimalScalarKMeans::Level> & levels,
            Mixture &                                       mixture,
            double                                          varianceFloor,
            bool                                            commonVariance,
            unsigned int                                    maximumNumberOfIterations,
            double                                          convergenceThreshold) -> FitResult
{
  const std::size_t   numberOfClasses = mixture.Mean.size();
  const LevelTable    table = MakeLevelTable(levels);
  std::vector<double> moments;
  FitResult           result;
  // Each pass gives the log-likelihood of the current mixture and the moments of its posteriors: one pass over
  // the levels per EM iteration.
  result.LogLikelihood = LevelExpectation(table, mixture, nullptr, &moments);
  while (result.Iterations < maximumNumberOfIterations)
  {
    // M-step from the level posteriors, with the levels' exact first and second moments.
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      const double weight = moments[3 * k];
      if (weight <= 0)
      {
        mixture.Proportion[k] = 0.0;
        continue;
      }
      const double mean = moments[3 * k + 1] / weight;
      mixture.Mean[k] = table.Shift + mean;
      mixture.Variance[k] = std::max(moments[3 * k + 2] / weight - mean * mean, varianceFloor);
      mixture.Proportion[k] = weight / table.Total;
    }
    if (commonVariance)
    {
      PoolVariances(mixture, varianceFloor);
    }
    ++result.Iterations;
    const double previous = result.LogLikelihood;
    result.LogLikelihood = LevelExpectation(table, mixture, nullptr, &moments);
    if (std::abs(result.LogLikelihood - previous) <= convergenceThreshold * std::abs(previous))
    {
      break;
    }
  }
  return result;
}

std::vector<unsigned int>
GaussianMixtureOnLevels::SortByMean(Mixture & mixture)
{
  std::vector<unsigned int> order(mixture.Mean.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&mixture](unsigned int a, unsigned int b) {
    return mixture.Mean[a] < mixture.Mean[b];
  });
  Mixture sorted;
  for (const unsigned int k : order)
  {
    sorted.Mean.push_back(mixture.Mean[k]);
    sorted.Variance.push_back(mixture.Variance[k]);
    sorted.Proportion.push_back(mixture.Proportion[k]);
  }
  mixture = sorted;
  return order;
}

void
GaussianMixtureOnLevels::VerifyParameters(const Parameters & parameters)
{
  const char *       name = parameters.AutomaticNumberOfClasses ? "MaximumNumberOfClasses" : "NumberOfClasses";
  const unsigned int classes =
    parameters.AutomaticNumberOfClasses ? parameters.MaximumNumberOfClasses : parameters.NumberOfClasses;
  if (classes < 1)
  {
    throw std::invalid_argument(std::string(name) + " is " + std::to_string(classes) + "; it must be at least 1");
  }
  if (!(parameters.ConvergenceThreshold >= 0.0) || !std::isfinite(parameters.ConvergenceThreshold))
  {
    std::ostringstream message;
    message << "ConvergenceThreshold is " << parameters.ConvergenceThreshold << "; it must be finite and not negative";
    throw std::invalid_argument(message.str());
  }
  if (!(parameters.MinimumLogLikelihoodGain >= 0.0) || !std::isfinite(parameters.MinimumLogLikelihoodGain))
  {
    std::ostringstream message;
    message << "MinimumLogLikelihoodGain is " << parameters.MinimumLogLikelihoodGain
            << "; it must be finite and not negative";
    throw std::invalid_argument(message.str());
  }
}

auto
GaussianMixtureOnLevels::MergeLevels(const std::vector<Level> & levels,
                                     double                     binWidth,
                                     std::size_t                numberOfGroups,
                                     double &                   groupWidth) -> std::vector<Level>
{
  groupWidth = binWidth;
  if (levels.size() <= numberOfGroups)
  {
    return levels;
  }
  const auto   meanOf = [](const Level & level) { return static_cast<double>(level.Sum / level.Count); };
  const double first = meanOf(levels.front());
  const double range = meanOf(levels.back()) - first;
  groupWidth = std::max(binWidth, range / static_cast<double>(numberOfGroups));
  std::vector<Level> merged;
  std::size_t        current = 0;
  for (const auto & level : levels)
  {
    const auto group = std::min(static_cast<std::size_t>((meanOf(level) - first) / groupWidth), numberOfGroups - 1);
    if (merged.empty() || group != current)
    {
      merged.push_back(Level{});
      current = group;
    }
    merged.back().Count += level.Count;
    merged.back().Sum += level.Sum;
    merged.back().SumOfSquares += level.SumOfSquares;
  }
  return merged;
}

auto
GaussianMixtureOnLevels::SelectNumberOfClasses(const std::vector<Level> & levels,
                                               double                     binWidth,
                                               unsigned int               largest,
                                               double                     minimumGain) -> Selection
{
  // Both models converge tightly: the gains compared are a few thousandths of a nat per sample.
  constexpr unsigned int iterations = 1000;
  constexpr double       convergence = 1e-8;
  double                 groupWidth = binWidth;
  const auto             groups = MergeLevels(levels, binWidth, 512, groupWidth);
  const double           floor = VarianceFloorOf(groups, groupWidth);
  const double           n = MeanAndCountOfLevels(groups).second;
  Selection              selection;
  selection.LargestTried = static_cast<unsigned int>(std::min<std::size_t>(largest, groups.size()));
  selection.RequiredGain = std::max(minimumGain, 1.5 * std::log(n) / n);
  OptimalScalarKMeans solver;
  solver.Solve(groups, selection.LargestTried);
  selection.NumberOfClasses = 1;
  // The fits stop at the first K whose class falls short (the partial-volume fits of larger K cost the most).
  bool fellShort = false;
  for (unsigned int k = 1; k <= selection.LargestTried && !fellShort; ++k)
  {
    const auto classes = solver.Partition(k);
    const auto partialVolume = PartialVolumeMixtureOnLevels::Fit(groups, classes, floor, iterations, convergence);
    Mixture    gaussian = MixtureFromPartition(classes, static_cast<std::uint64_t>(n), floor, false);
    const auto gaussianFit = FitOnLevels(groups, gaussian, floor, false, iterations, convergence);
    selection.GaussianLogLikelihoodPerSample.push_back(gaussianFit.LogLikelihood / n);
    selection.PartialVolumeLogLikelihoodPerSample.push_back(partialVolume.LogLikelihood / n);
    if (k > 1)
    {
      const auto & g = selection.GaussianLogLikelihoodPerSample;
      const auto & pv = selection.PartialVolumeLogLikelihoodPerSample;
      const double gain = std::min(g[k - 1] - g[k - 2], pv[k - 1] - pv[k - 2]);
      fellShort = !(gain >= selection.RequiredGain);
      selection.NumberOfClasses = fellShort ? k - 1 : k;
    }
  }
  selection.LargestChosen = selection.LargestTried > 1 && selection.NumberOfClasses == selection.LargestTried;
  return selection;
}

double
GaussianMixtureOnLevels::MeanOfLevels(const std::vector<Level> & levels)
{
  return MeanAndCountOfLevels(levels).first;
}

double
GaussianMixtureOnLevels::VarianceFloorOf(const std::vector<Level> & levels, double binWidth)
{
  // The quantisation variance of a bin, and a small fraction of the overall variance.
  long double   sum = 0;
  long double   sumOfSquares = 0;
  std::uint64_t numberOfSamples = 0;
  for (const auto & level : levels)
  {
    sum += level.Sum;
    sumOfSquares += level.SumOfSquares;
    numberOfSamples += level.Count;
  }
  const long double n = static_cast<long double>(numberOfSamples);
  const double      overallVariance = std::max(0.0, static_cast<double>(sumOfSquares / n - (sum / n) * (sum / n)));
  return std::max(binWidth * binWidth / 12.0, 1e-6 * overallVariance);
}

void
GaussianMixtureOnLevels::Fit(const std::vector<Level> & levels, double binWidth)
{
  VerifyParameters(m_Parameters);
  const Parameters & p = m_Parameters;
  m_Result = Result{};
  if (!p.AutomaticNumberOfClasses && p.NumberOfClasses > levels.size())
  {
    throw std::invalid_argument("NumberOfClasses is " + std::to_string(p.NumberOfClasses) + " but only " +
                                std::to_string(levels.size()) + " distinct intensity level" +
                                (levels.size() == 1 ? "" : "s") + " take part");
  }
  std::uint64_t numberOfSamples = 0;
  for (const auto & level : levels)
  {
    numberOfSamples += level.Count;
  }
  const double varianceFloor = VarianceFloorOf(levels, binWidth);
  m_Result.VarianceFloor = varianceFloor;
  m_Result.NumberOfSamples = numberOfSamples;
  auto keepInitial = [this](const std::vector<OptimalScalarKMeans::Class> & classes) {
    m_Result.InitialMeans.clear();
    m_Result.InitialVariances.clear();
    for (const auto & c : classes)
    {
      m_Result.InitialMeans.push_back(c.Mean);
      m_Result.InitialVariances.push_back(c.SumOfSquares / static_cast<double>(c.Count));
    }
  };

  OptimalScalarKMeans solver;
  Mixture             mixture;
  FitResult           fit;
  if (p.AutomaticNumberOfClasses)
  {
    const auto largest = static_cast<unsigned int>(std::min<std::size_t>(p.MaximumNumberOfClasses, levels.size()));
    m_Result.NumberOfClassesSelection = SelectNumberOfClasses(levels, binWidth, largest, p.MinimumLogLikelihoodGain);
    const unsigned int chosen = m_Result.NumberOfClassesSelection.NumberOfClasses;
    solver.Solve(levels, largest);
    for (unsigned int k = 1; k <= largest; ++k)
    {
      const auto classes = solver.Partition(k);
      Mixture    candidate = MixtureFromPartition(classes, numberOfSamples, varianceFloor, p.CommonVariance);
      const auto candidateFit = FitOnLevels(
        levels, candidate, varianceFloor, p.CommonVariance, p.MaximumNumberOfIterations, p.ConvergenceThreshold);
      const double criterion = -2.0 * candidateFit.LogLikelihood + (p.CommonVariance ? 2.0 * k : 3.0 * k - 1.0) *
                                                                     std::log(static_cast<double>(numberOfSamples));
      m_Result.BayesianInformationCriterionForEachK.push_back(criterion);
      if (k == chosen)
      {
        mixture = candidate;
        fit = candidateFit;
        keepInitial(classes);
      }
    }
  }
  else
  {
    solver.Solve(levels, p.NumberOfClasses);
    const auto classes = solver.Partition(p.NumberOfClasses);
    keepInitial(classes);
    mixture = MixtureFromPartition(classes, numberOfSamples, varianceFloor, p.CommonVariance);
    fit = FitOnLevels(
      levels, mixture, varianceFloor, p.CommonVariance, p.MaximumNumberOfIterations, p.ConvergenceThreshold);
  }
  SortByMean(mixture);
  m_Result.Model = mixture;
  m_Result.LogLikelihood = fit.LogLikelihood;
  m_Result.NumberOfIterations = fit.Iterations;
}
void
GaussianMixtureOnLevels::Selection::Print(std::ostream & os, Indent indent) const
{
  KMeansSegmentationDetail::PrintArray(os, indent, "GaussianLogLikelihoodPerSample", GaussianLogLikelihoodPerSample);
  KMeansSegmentationDetail::PrintArray(
    os, indent, "PartialVolumeLogLikelihoodPerSample", PartialVolumeLogLikelihoodPerSample);
  os << indent << "RequiredGain: " << RequiredGain << std::endl;
  os << indent << "LargestNumberOfClassesTried: " << LargestTried << std::endl;
  os << indent << "LargestNumberOfClassesChosen: " << (LargestChosen ? "true" : "false") << std::endl;
}
} // namespace itk

