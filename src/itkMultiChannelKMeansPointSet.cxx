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
#include "itkMultiChannelKMeansPointSet.h"

#include "itkMultiThreaderBase.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace itk
{
namespace MultiChannelKMeansDetail
{
namespace
{
/** 2^-53: a draw's top 53 bits times this is a uniform double in [0, 1). */
constexpr double TwoToTheMinus53 = 1.0 / 9007199254740992.0;

/** Uniform double in [0, 1) from the top 53 bits of a draw (the same on every platform). */
double
Uniform(std::mt19937_64 & rng)
{
  return static_cast<double>(rng() >> 11) * TwoToTheMinus53;
}

/** Lloyd's algorithm on a point set with Hamerly's bounds: one upper bound on the distance of each point to
 * its own centre and one lower bound on its distance to every other centre. */
class HamerlyLloyd
{
public:
  HamerlyLloyd(const Metric & metric, const PointSet & points, std::vector<double> & centers)
    : m_Metric(metric)
    , m_Points(points)
    , m_X(points.Coordinates.data())
    , m_N(points.Size())
    , m_K(metric.NumberOfClasses)
    , m_C(metric.NumberOfChannels)
    , m_Centers(centers)
    , m_Assignment(m_N, 0)
    , m_Upper(m_N)
    , m_Lower(m_N)
    , m_Sums(std::size_t{ m_K } * m_C)
    , m_NewCenters(std::size_t{ m_K } * m_C)
    , m_Moved(m_K)
    , m_Half(m_K)
    , m_Counts(m_K)
  {
    for (std::size_t i = 0; i < m_N; ++i)
    {
      AssignFully(i);
    }
  }

  /** Iterates until a full assignment changes nothing (or maximumIterations); returns the iterations. */
  unsigned int
  Iterate(unsigned int maximumIterations)
  {
    bool bounded = true; // false: assign every point fully (after a relocation, and to confirm convergence)
    for (unsigned int iteration = 1;; ++iteration)
    {
      const bool relocated = UpdateCenters();
      if (iteration >= maximumIterations && (!relocated || iteration >= maximumIterations + m_K))
      {
        return iteration;
      }
      const bool        useBounds = bounded && !relocated;
      const std::size_t changed = Assign(useBounds);
      if (changed == 0)
      {
        if (!useBounds)
        {
          return iteration; // a full assignment changed nothing: a fixed point of Lloyd's algorithm
        }
        bounded = false; // confirm with one full assignment (guards against rounding in the bounds)
      }
    }
  }

  /** Counts and sums of squares of the final assignment. */
  void
  Statistics(RunResult & result) const
  {
    result.Counts.assign(m_K, 0);
    result.SumsOfSquares.assign(m_K, 0.0);
    for (std::size_t i = 0; i < m_N; ++i)
    {
      const unsigned int a = m_Assignment[i];
      result.Counts[a] += m_Points.Weight(i);
      result.SumsOfSquares[a] +=
        static_cast<double>(m_Points.Weight(i)) * m_Metric.Distance2(m_X + i * m_C, m_Centers.data() + std::size_t{ a } * m_C);
    }
    result.WCSS = std::accumulate(result.SumsOfSquares.begin(), result.SumsOfSquares.end(), 0.0);
  }

private:
  /** Full assignment of point i: nearest centre (first on ties) and the two smallest distances. */
  bool
  AssignFully(std::size_t i)
  {
    double       b1 = std::numeric_limits<double>::infinity(), b2 = b1;
    unsigned int a = 0;
    for (unsigned int j = 0; j < m_K; ++j)
    {
      const double d = m_Metric.Distance2(m_X + i * m_C, m_Centers.data() + std::size_t{ j } * m_C);
      if (d < b1)
      {
        b2 = b1;
        b1 = d;
        a = j;
      }
      else if (d < b2)
      {
        b2 = d;
      }
    }
    const bool changed = m_Assignment[i] != a;
    m_Assignment[i] = a;
    m_Upper[i] = std::sqrt(b1);
    m_Lower[i] = std::sqrt(b2);
    return changed;
  }

  /** Update step: class means summed in point order; an empty class moves to the point farthest from its
   * centre. Sets how far each centre moved; returns whether a centre was relocated. */
  bool
  UpdateCenters();

  /** Assignment step, with Hamerly's bounds when useBounds; returns the number of changed labels. */
  std::size_t
  Assign(bool useBounds);

  const Metric &             m_Metric;
  const PointSet &           m_Points;
  const double *             m_X;
  std::size_t                m_N;
  unsigned int               m_K;
  unsigned int               m_C;
  std::vector<double> &      m_Centers;
  std::vector<std::uint32_t> m_Assignment;
  std::vector<double>        m_Upper, m_Lower;
  std::vector<double>        m_Sums, m_NewCenters, m_Moved, m_Half;
  std::vector<std::uint64_t> m_Counts;
  double                     m_MaxMove{ 0.0 }, m_SecondMove{ 0.0 };
  unsigned int               m_MaxMoved{ 0 };
};

bool
HamerlyLloyd::UpdateCenters()
{
  const unsigned int K = m_K;
  const unsigned int C = m_C;
  std::fill(m_Sums.begin(), m_Sums.end(), 0.0);
  std::fill(m_Counts.begin(), m_Counts.end(), 0);
  for (std::size_t i = 0; i < m_N; ++i)
  {
    const unsigned int a = m_Assignment[i];
    const auto         wi = static_cast<double>(m_Points.Weight(i));
    for (unsigned int c = 0; c < C; ++c)
    {
      m_Sums[std::size_t{ a } * C + c] += wi * m_X[i * C + c];
    }
    m_Counts[a] += m_Points.Weight(i);
  }
  bool relocated = false;
  for (unsigned int j = 0; j < K; ++j)
  {
    if (m_Counts[j] == 0)
    {
      // Empty class: move its centre to the point farthest from its own centre.
      std::size_t far = 0;
      for (std::size_t i = 1; i < m_N; ++i)
      {
        if (m_Upper[i] > m_Upper[far])
        {
          far = i;
        }
      }
      std::copy(m_X + far * C, m_X + far * C + C, m_NewCenters.begin() + std::size_t{ j } * C);
      m_Upper[far] = 0.0;
      relocated = true;
      continue;
    }
    for (unsigned int c = 0; c < C; ++c)
    {
      m_NewCenters[std::size_t{ j } * C + c] = m_Sums[std::size_t{ j } * C + c] / static_cast<double>(m_Counts[j]);
    }
  }
  m_MaxMove = 0.0;
  m_SecondMove = 0.0;
  m_MaxMoved = 0;
  for (unsigned int j = 0; j < K; ++j)
  {
    m_Moved[j] =
      std::sqrt(m_Metric.Distance2(m_Centers.data() + std::size_t{ j } * C, m_NewCenters.data() + std::size_t{ j } * C));
    if (m_Moved[j] > m_MaxMove)
    {
      m_SecondMove = m_MaxMove;
      m_MaxMove = m_Moved[j];
      m_MaxMoved = j;
    }
    else if (m_Moved[j] > m_SecondMove)
    {
      m_SecondMove = m_Moved[j];
    }
  }
  m_Centers = m_NewCenters;
  return relocated;
}

std::size_t
HamerlyLloyd::Assign(bool useBounds)
{
  m_Metric.NearestOtherCenterDistances2(m_Centers, m_Half);
  for (auto & h : m_Half)
  {
    h = 0.5 * std::sqrt(h);
  }
  std::size_t changed = 0;
  for (std::size_t i = 0; i < m_N; ++i)
  {
    if (!useBounds)
    {
      changed += AssignFully(i) ? 1 : 0;
      continue;
    }
    const unsigned int a = m_Assignment[i];
    m_Upper[i] += m_Moved[a];
    m_Lower[i] -= a == m_MaxMoved ? m_SecondMove : m_MaxMove;
    const double z = std::max(m_Lower[i], m_Half[a]);
    if (m_Upper[i] <= z)
    {
      continue;
    }
    m_Upper[i] = std::sqrt(m_Metric.Distance2(m_X + i * m_C, m_Centers.data() + std::size_t{ a } * m_C));
    if (m_Upper[i] <= z)
    {
      continue;
    }
    changed += AssignFully(i) ? 1 : 0;
  }
  return changed;
}

/** The number of distinct points of a point set. */
std::size_t
CountDistinct(const PointSet & points, unsigned int C)
{
  const std::vector<double> & v = points.Coordinates;
  std::vector<std::size_t>    order(points.Size());
  std::iota(order.begin(), order.end(), std::size_t{ 0 });
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::lexicographical_compare(
      v.begin() + a * C, v.begin() + a * C + C, v.begin() + b * C, v.begin() + b * C + C);
  });
  std::size_t distinct = 0;
  for (std::size_t i = 0; i < order.size(); ++i)
  {
    distinct +=
      (i == 0 || !std::equal(v.begin() + order[i] * C, v.begin() + order[i] * C + C, v.begin() + order[i - 1] * C))
        ? 1
        : 0;
  }
  return distinct;
}
} // namespace

void
Metric::NearestOtherCenterDistances2(const std::vector<double> & centers, std::vector<double> & distances2) const
{
  const unsigned int K = NumberOfClasses;
  const unsigned int C = NumberOfChannels;
  distances2.resize(K);
  for (unsigned int j = 0; j < K; ++j)
  {
    double m = std::numeric_limits<double>::infinity();
    for (unsigned int l = 0; l < K; ++l)
    {
      if (l != j)
      {
        m = std::min(m, Distance2(centers.data() + std::size_t{ j } * C, centers.data() + std::size_t{ l } * C));
      }
    }
    distances2[j] = m;
  }
}

bool
SeedCenters(const Metric & metric, const PointSet & points, std::uint64_t seed, std::vector<double> & centers)
{
  // Greedy k-means++: each new centre is the best (lowest potential) of 2 + floor(ln K) candidates drawn with
  // probability proportional to weight times squared distance to the nearest centre chosen so far.
  const unsigned int  K = metric.NumberOfClasses;
  const unsigned int  C = metric.NumberOfChannels;
  const std::size_t   n = points.Size();
  const double *      x = points.Coordinates.data();
  std::mt19937_64     rng(seed);
  std::vector<double> prefix(n);
  auto                draw = [&]() {
    const double u = Uniform(rng) * prefix[n - 1];
    const auto   it = std::upper_bound(prefix.begin(), prefix.end(), u);
    std::size_t  i = it == prefix.end() ? n - 1 : static_cast<std::size_t>(it - prefix.begin());
    while (i > 0 && prefix[i] == prefix[i - 1]) // only when u rounds to the total: step back to a heavy point
    {
      --i;
    }
    return i;
  };
  centers.assign(std::size_t{ K } * C, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i)
  {
    total += static_cast<double>(points.Weight(i));
    prefix[i] = total;
  }
  std::size_t first = draw();
  std::copy(x + first * C, x + first * C + C, centers.begin());
  std::vector<double> nearest(n);
  for (std::size_t i = 0; i < n; ++i)
  {
    nearest[i] = metric.Distance2(x + i * C, centers.data());
  }
  const unsigned int trials = 2 + static_cast<unsigned int>(std::log(static_cast<double>(K)));
  for (unsigned int k = 1; k < K; ++k)
  {
    double potential = 0.0;
    for (std::size_t i = 0; i < n; ++i)
    {
      potential += static_cast<double>(points.Weight(i)) * nearest[i];
      prefix[i] = potential;
    }
    if (!(potential > 0.0))
    {
      return false; // fewer than K distinct points
    }
    double      bestPotential = std::numeric_limits<double>::infinity();
    std::size_t bestIndex = 0;
    for (unsigned int t = 0; t < trials; ++t)
    {
      const std::size_t c = draw();
      double            p = 0.0;
      for (std::size_t i = 0; i < n; ++i)
      {
        p += static_cast<double>(points.Weight(i)) * std::min(nearest[i], metric.Distance2(x + i * C, x + c * C));
      }
      if (p < bestPotential)
      {
        bestPotential = p;
        bestIndex = c;
      }
    }
    for (std::size_t i = 0; i < n; ++i)
    {
      nearest[i] = std::min(nearest[i], metric.Distance2(x + i * C, x + bestIndex * C));
    }
    std::copy(x + bestIndex * C, x + bestIndex * C + C, centers.begin() + std::size_t{ k } * C);
  }
  return true;
}

RunResult
RunLloyd(const Metric & metric, const PointSet & points, std::uint64_t seed, unsigned int maximumIterations)
{
  RunResult result;
  if (!SeedCenters(metric, points, seed, result.Centers))
  {
    return result;
  }
  result.Seeded = true;
  HamerlyLloyd lloyd(metric, points, result.Centers);
  result.Iterations = lloyd.Iterate(maximumIterations);
  lloyd.Statistics(result);
  return result;
}

std::vector<RunResult>
RunRestarts(const Metric &                         metric,
            const PointSet &                       points,
            const MultiChannelKMeans::Parameters & parameters,
            MultiThreaderBase *                    threader)
{
  // One per work unit, each on its own: the result does not depend on the number of threads.
  std::vector<RunResult> runs(parameters.NumberOfRestarts);
  threader->ParallelizeArray(
    0,
    parameters.NumberOfRestarts,
    [&](SizeValueType r) {
      runs[r] = RunLloyd(metric, points, Mix(Mix(parameters.Seed) + r), parameters.MaximumNumberOfIterations);
    },
    nullptr);
  return runs;
}

std::size_t
BestRun(const std::vector<RunResult> & runs,
        const PointSet &               points,
        const Metric &                 metric,
        bool                           sampled,
        std::vector<double> &          restartWCSS)
{
  std::size_t best = 0;
  for (std::size_t r = 0; r < runs.size(); ++r)
  {
    if (!runs[r].Seeded)
    {
      const std::size_t distinct = CountDistinct(points, metric.NumberOfChannels);
      throw std::runtime_error("NumberOfClasses is " + std::to_string(metric.NumberOfClasses) + " but only " +
                               std::to_string(distinct) + " distinct feature vector" + (distinct == 1 ? "" : "s") +
                               " take part" + (sampled ? " (in the sample)" : ""));
    }
    restartWCSS.push_back(runs[r].WCSS);
    if (runs[r].WCSS < runs[best].WCSS)
    {
      best = r;
    }
  }
  return best;
}

bool
MergeDistinctVectors(std::vector<DistinctVectors> & chunks, unsigned int C, std::uint64_t limit, PointSet & points)
{
  // All chunk entries, sorted lexicographically, equal vectors summed: the result does not depend on the
  // chunking.
  std::size_t total = 0;
  for (const auto & cv : chunks)
  {
    total += cv.Counts.size();
  }
  std::vector<std::int64_t>  keys;
  std::vector<std::uint64_t> counts;
  keys.reserve(total * C);
  counts.reserve(total);
  for (auto & cv : chunks)
  {
    keys.insert(keys.end(), cv.Keys.begin(), cv.Keys.end());
    counts.insert(counts.end(), cv.Counts.begin(), cv.Counts.end());
    DistinctVectors().Keys.swap(cv.Keys);
    DistinctVectors().Counts.swap(cv.Counts);
  }
  std::vector<std::size_t> order(total);
  std::iota(order.begin(), order.end(), std::size_t{ 0 });
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::lexicographical_compare(
      keys.begin() + a * C, keys.begin() + a * C + C, keys.begin() + b * C, keys.begin() + b * C + C);
  });
  points.Coordinates.clear();
  points.Weights.clear();
  for (std::size_t r = 0; r < total; ++r)
  {
    const std::size_t i = order[r];
    if (r > 0 && std::equal(keys.begin() + i * C, keys.begin() + i * C + C, keys.begin() + order[r - 1] * C))
    {
      points.Weights.back() += counts[i];
      continue;
    }
    if (points.Weights.size() == limit)
    {
      return false;
    }
    for (unsigned int c = 0; c < C; ++c)
    {
      points.Coordinates.push_back(static_cast<double>(keys[i * C + c]));
    }
    points.Weights.push_back(counts[i]);
  }
  points.NumberOfPoints = points.Weights.size();
  return true;
}
} // namespace MultiChannelKMeansDetail
} // namespace itk
