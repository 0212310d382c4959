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
#include "itkPottsMeanField.h"

#include "itkMultiThreaderBase.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace
{
using Mixture = itk::GaussianMixtureOnLevels::Mixture;
constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

/** A field on a grid: intensities of the whole grid (NaN where a voxel does not take part) with the spans, the
 * span layout of the intensities and initial posteriors from the mixture without prior. */
struct Problem
{
  std::vector<std::uint64_t> Size;
  std::vector<double>        Grid;
  Mixture                    Start;
  double                     Shift{ 0.0 };

  itk::PottsMeanField::Layout
  MakeLayout() const
  {
    itk::PottsMeanField::Layout layout(Size);
    for (std::uint64_t row = 0; row < layout.GetNumberOfRows(); ++row)
    {
      std::uint64_t first = 0;
      std::uint64_t end = Size[0];
      while (first < end && std::isnan(Grid[row * Size[0] + first]))
      {
        ++first;
      }
      while (end > first && std::isnan(Grid[row * Size[0] + end - 1]))
      {
        --end;
      }
      layout.SetSpan(row, first, end);
    }
    return layout;
  }
  std::vector<double>
  SpanValues(const itk::PottsMeanField::Layout & layout) const
  {
    std::vector<double> values;
    for (std::uint64_t row = 0; row < layout.GetNumberOfRows(); ++row)
    {
      for (std::uint64_t x = layout.GetSpanFirst(row); x < layout.GetSpanEnd(row); ++x)
      {
        values.push_back(Grid[row * Size[0] + x]);
      }
    }
    return values;
  }
  /** Posteriors of the mixture without prior (double), 0 where no voxel takes part. */
  std::vector<double>
  InitialPosteriors() const
  {
    const std::size_t   K = Start.Mean.size();
    std::vector<double> q(Grid.size() * K, 0.0);
    for (std::size_t i = 0; i < Grid.size(); ++i)
    {
      if (std::isnan(Grid[i]))
      {
        continue;
      }
      double total = 0.0;
      for (std::size_t k = 0; k < K; ++k)
      {
        const double d = Grid[i] - Start.Mean[k];
        q[i * K + k] = Start.Proportion[k] * std::exp(-0.5 * d * d / Start.Variance[k]) /
                       std::sqrt(2 * 3.141592653589793 * Start.Variance[k]);
        total += q[i * K + k];
      }
      for (std::size_t k = 0; k < K; ++k)
      {
        q[i * K + k] /= total;
      }
    }
    return q;
  }
};

/** Three tissues in bands along z with noise, some voxels left out (NaN), 2-D or 3-D. */
Problem
MakeProblem(std::vector<std::uint64_t> size, unsigned int seed)
{
  Problem       problem;
  std::size_t   n = 1;
  for (const auto s : size)
  {
    n *= s;
  }
  problem.Size = size;
  std::mt19937                     rng(seed);
  std::normal_distribution<double> noise(0.0, 25.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const std::uint64_t slowest = size.back();
  const std::uint64_t perSlice = n / slowest;
  double              sum = 0.0;
  std::size_t         count = 0;
  for (std::size_t i = 0; i < n; ++i)
  {
    const std::uint64_t band = 3 * (i / perSlice) / slowest;
    problem.Grid.push_back(uniform(rng) < 0.1 || i % size[0] == 0 ? NaN : 100.0 * (band + 1) + noise(rng));
    if (!std::isnan(problem.Grid.back()))
    {
      sum += problem.Grid.back();
      ++count;
    }
  }
  problem.Shift = sum / count;
  problem.Start.Mean = { 95.0, 210.0, 290.0 };
  problem.Start.Variance = { 900.0, 700.0, 800.0 };
  problem.Start.Proportion = { 0.3, 0.4, 0.3 };
  return problem;
}

/** The mean field written directly from its definition, in double precision, for a fixed number of iterations. */
void
DirectMeanField(const Problem & problem, double beta, unsigned int iterations, std::vector<double> & q, Mixture & m)
{
  const std::size_t K = m.Mean.size();
  const auto        layout = problem.MakeLayout();
  const auto        neighbourhood = layout.Neighbourhood();
  const std::size_t rowLength = problem.Size[0];
  for (unsigned int iteration = 0; iteration < iterations; ++iteration)
  {
    std::vector<double> next(q.size(), 0.0);
    std::vector<double> w(K, 0.0), s(K, 0.0), ss(K, 0.0);
    for (std::size_t i = 0; i < problem.Grid.size(); ++i)
    {
      if (std::isnan(problem.Grid[i]))
      {
        continue;
      }
      const std::size_t   row = i / rowLength;
      const std::int64_t  x = static_cast<std::int64_t>(i % rowLength);
      std::vector<double> energy(K);
      for (std::size_t k = 0; k < K; ++k)
      {
        double field = 0.0;
        for (const auto & delta : neighbourhood)
        {
          const std::int64_t other = layout.NeighbourRow(row, delta);
          const std::int64_t ox = x + delta[0];
          if (other >= 0 && ox >= 0 && ox < static_cast<std::int64_t>(rowLength))
          {
            field += q[(other * rowLength + ox) * K + k];
          }
        }
        const double d = problem.Grid[i] - m.Mean[k];
        energy[k] = std::log(m.Proportion[k]) - 0.5 * std::log(2 * 3.141592653589793 * m.Variance[k]) -
                    0.5 * d * d / m.Variance[k] + beta * field;
      }
      const double maximum = *std::max_element(energy.begin(), energy.end());
      double       total = 0.0;
      for (std::size_t k = 0; k < K; ++k)
      {
        total += std::exp(energy[k] - maximum);
      }
      for (std::size_t k = 0; k < K; ++k)
      {
        const double r = std::exp(energy[k] - maximum) / total;
        next[i * K + k] = r;
        w[k] += r;
        s[k] += r * problem.Grid[i];
        ss[k] += r * problem.Grid[i] * problem.Grid[i];
      }
    }
    q = next;
    const double all = w[0] + w[1] + w[2];
    for (std::size_t k = 0; k < K; ++k)
    {
      m.Mean[k] = s[k] / w[k];
      m.Variance[k] = ss[k] / w[k] - m.Mean[k] * m.Mean[k];
      m.Proportion[k] = w[k] / all;
    }
  }
}

/** Runs PottsMeanField on the problem; returns the posteriors of the whole grid. */
std::vector<float>
RunMeanField(const Problem & problem, double beta, unsigned int iterations, Mixture & mixture, unsigned int * made)
{
  const auto                        layout = problem.MakeLayout();
  const std::vector<double>         values = problem.SpanValues(layout);
  const std::vector<double>         initial = problem.InitialPosteriors();
  std::vector<float>                posteriors(initial.begin(), initial.end());
  itk::PottsMeanField               meanField;
  itk::PottsMeanField::Parameters   p;
  p.Weight = beta;
  p.MaximumNumberOfIterations = iterations;
  p.ConvergenceThreshold = 0.0;
  meanField.SetParameters(p);
  mixture = problem.Start;
  meanField.Run(layout, values.data(), posteriors.data(), mixture, problem.Shift, 0.0);
  if (made)
  {
    *made = meanField.GetNumberOfIterations();
  }
  return posteriors;
}
} // namespace

TEST(PottsMeanField, LayoutNeighbourhoodAndSpans)
{
  itk::PottsMeanField::Layout volume({ 5, 4, 3 });
  EXPECT_EQ(volume.GetNumberOfRows(), 12u);
  EXPECT_EQ(volume.GetNumberOfSlices(), 3u);
  EXPECT_EQ(volume.GetRowsPerSlice(), 4u);
  EXPECT_EQ(volume.Neighbourhood().size(), 6u);
  EXPECT_EQ(itk::PottsMeanField::Layout({ 5, 4 }).Neighbourhood().size(), 8u);
  EXPECT_EQ(volume.NeighbourRow(0, { 0, -1, 0 }), -1);
  EXPECT_EQ(volume.NeighbourRow(0, { 0, 1, 0 }), 1);
  EXPECT_EQ(volume.NeighbourRow(0, { 0, 0, 1 }), 4);
  EXPECT_EQ(volume.NeighbourRow(11, { 0, 0, 1 }), -1);
  EXPECT_EQ(volume.NeighbourRow(7, { 0, 1, 0 }), -1);
  volume.SetSpan(0, 1, 4);
  volume.SetSpan(5, 0, 5);
  EXPECT_EQ(volume.NumberOfSpanVoxels(), 8u);
  EXPECT_EQ(volume.SpanStarts()[5], 3u);
  EXPECT_EQ(volume.SpanStarts()[6], 8u);
}

TEST(PottsMeanField, MatchesTheDirectDefinition)
{
  for (const auto & size : { std::vector<std::uint64_t>{ 13, 11, 9 }, std::vector<std::uint64_t>{ 31, 23 } })
  {
    for (const unsigned int iterations : { 1u, 2u, 3u })
    {
      const Problem problem = MakeProblem(size, 7);
      Mixture       mixture;
      unsigned int  made = 0;
      const auto    posteriors = RunMeanField(problem, 0.6, iterations, mixture, &made);
      EXPECT_EQ(made, iterations);
      std::vector<double> q = problem.InitialPosteriors();
      Mixture             reference = problem.Start;
      DirectMeanField(problem, 0.6, iterations, q, reference);
      double largest = 0.0;
      for (std::size_t i = 0; i < q.size(); ++i)
      {
        largest = std::max(largest, std::abs(q[i] - posteriors[i]));
      }
      EXPECT_LT(largest, 1e-5) << size.size() << "-D, " << iterations << " iterations";
      for (unsigned int k = 0; k < 3; ++k)
      {
        EXPECT_NEAR(mixture.Mean[k], reference.Mean[k], 1e-6 * reference.Mean[k]);
        EXPECT_NEAR(mixture.Variance[k], reference.Variance[k], 1e-5 * reference.Variance[k]);
        EXPECT_NEAR(mixture.Proportion[k], reference.Proportion[k], 1e-6);
      }
    }
  }
}

TEST(PottsMeanField, PriorCorrectsIsolatedVoxelsAndPosteriorsAddUpToOne)
{
  Problem problem = MakeProblem({ 16, 16, 12 }, 3);
  // A voxel of the middle band nearer the first band's intensity than its own.
  const std::size_t odd = 6 * 256 + 8 * 16 + 8;
  problem.Grid[odd] = 140.0;
  Mixture    mixture;
  const auto posteriors = RunMeanField(problem, 0.8, 10, mixture, nullptr);
  EXPECT_GT(posteriors[odd * 3 + 1], 0.9);
  const auto withoutPrior = problem.InitialPosteriors();
  EXPECT_GT(withoutPrior[odd * 3], 0.6);
  EXPECT_TRUE(std::is_sorted(mixture.Mean.begin(), mixture.Mean.end()));
  for (std::size_t i = 0; i < problem.Grid.size(); ++i)
  {
    const double sum = posteriors[3 * i] + posteriors[3 * i + 1] + posteriors[3 * i + 2];
    EXPECT_NEAR(sum, std::isnan(problem.Grid[i]) ? 0.0 : 1.0, 1e-6) << i;
  }
}

TEST(PottsMeanField, SameResultForAnyNumberOfThreads)
{
  const Problem problem = MakeProblem({ 17, 9, 14 }, 11);
  std::vector<std::vector<float>> results;
  std::vector<Mixture>            mixtures;
  const auto                      threads = itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads();
  for (const unsigned int n : { 1u, 3u, 8u })
  {
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(n);
    mixtures.emplace_back();
    results.push_back(RunMeanField(problem, 0.6, 5, mixtures.back(), nullptr));
  }
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
  for (std::size_t j = 1; j < results.size(); ++j)
  {
    EXPECT_EQ(results[j], results[0]);
    EXPECT_EQ(mixtures[j].Mean, mixtures[0].Mean);
    EXPECT_EQ(mixtures[j].Variance, mixtures[0].Variance);
  }
}
