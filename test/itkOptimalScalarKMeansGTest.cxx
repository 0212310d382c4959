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
#include "itkOptimalScalarKMeans.h"
#include "KMeansBruteForce.h"
#include "itkMacro.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace
{
std::vector<itk::OptimalScalarKMeans::Level>
LevelsOf(const std::vector<double> & sortedDistinct, const std::vector<std::uint64_t> & counts)
{
  std::vector<itk::OptimalScalarKMeans::Level> levels;
  for (std::size_t i = 0; i < sortedDistinct.size(); ++i)
  {
    itk::OptimalScalarKMeans::Level l;
    l.Count = counts[i];
    l.Sum = static_cast<long double>(counts[i]) * sortedDistinct[i];
    l.SumOfSquares = static_cast<long double>(counts[i]) * sortedDistinct[i] * sortedDistinct[i];
    levels.push_back(l);
  }
  return levels;
}
} // namespace

TEST(OptimalScalarKMeans, MatchesExhaustiveSearchForEveryK)
{
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 80; ++trial)
  {
    const std::size_t                      n = 1 + rng() % 5;
    std::uniform_real_distribution<double> value(-50.0, 50.0);
    std::vector<double>                    v;
    while (v.size() < n)
    {
      const double x = std::round(value(rng) * 4.0) / 4.0;
      if (std::find(v.begin(), v.end(), x) == v.end())
      {
        v.push_back(x);
      }
    }
    std::sort(v.begin(), v.end());
    std::vector<std::uint64_t> counts(n);
    std::vector<double>        samples;
    for (std::size_t i = 0; i < n; ++i)
    {
      counts[i] = 1 + rng() % 2;
      samples.insert(samples.end(), counts[i], v[i]);
    }
    const unsigned int           maxK = std::min<unsigned int>(static_cast<unsigned int>(n), 4);
    itk::OptimalScalarKMeans     solver;
    solver.Solve(LevelsOf(v, counts), maxK);
    for (unsigned int k = 1; k <= maxK; ++k)
    {
      const double best = KMeansTest::BruteForceMinimumWCSS(samples, k);
      EXPECT_NEAR(solver.GetWithinClassSumOfSquaresForEachK()[k - 1], best, 1e-9 * (1 + best))
        << "trial " << trial << " k " << k;
      const auto classes = solver.Partition(k);
      ASSERT_EQ(classes.size(), k);
      double total = 0;
      for (unsigned int c = 0; c < k; ++c)
      {
        total += classes[c].SumOfSquares;
        EXPECT_GT(classes[c].Count, 0u);
        if (c > 0)
        {
          EXPECT_EQ(classes[c].FirstLevel, classes[c - 1].LastLevel + 1);
          EXPECT_LT(classes[c - 1].Mean, classes[c].Mean);
        }
      }
      EXPECT_EQ(classes.front().FirstLevel, 0u);
      EXPECT_EQ(classes.back().LastLevel, n - 1);
      EXPECT_NEAR(total, best, 1e-9 * (1 + best));
    }
  }
}

TEST(OptimalScalarKMeans, LargeInputAgreesWithQuadraticDynamicProgram)
{
  // The monotone divide-and-conquer rows must equal the plain O(K n^2) dynamic program.
  std::mt19937               rng(7);
  const std::size_t          n = 300;
  std::vector<double>        v(n);
  std::vector<std::uint64_t> counts(n);
  for (std::size_t i = 0; i < n; ++i)
  {
    v[i] = static_cast<double>(i) + (i > 100 ? 40 : 0) + (i > 200 ? 90 : 0);
    counts[i] = 1 + rng() % 50;
  }
  const auto               levels = LevelsOf(v, counts);
  itk::OptimalScalarKMeans solver;
  solver.Solve(levels, 6);
  const auto reference = KMeansTest::QuadraticDynamicProgram(v, counts, 6);
  for (unsigned int k = 1; k <= 6; ++k)
  {
    EXPECT_NEAR(solver.GetWithinClassSumOfSquaresForEachK()[k - 1], reference[k - 1], 1e-9 * reference[k - 1]) << k;
  }
}

TEST(OptimalScalarKMeans, RejectsImpossibleRequests)
{
  itk::OptimalScalarKMeans solver;
  EXPECT_THROW(solver.Solve({}, 1), itk::ExceptionObject);
  const auto levels = LevelsOf({ 1.0, 2.0 }, { 1, 1 });
  try
  {
    solver.Solve(levels, 3);
    FAIL() << "expected an exception";
  }
  catch (const itk::ExceptionObject & e)
  {
    EXPECT_NE(std::string(e.GetDescription()).find("number of classes 3"), std::string::npos) << e.GetDescription();
  }
  EXPECT_THROW(solver.Solve(levels, 0), itk::ExceptionObject);
  solver.Solve(levels, 2);
  EXPECT_THROW(solver.Partition(3), itk::ExceptionObject);
}
