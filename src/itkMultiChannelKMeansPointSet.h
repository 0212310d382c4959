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
#ifndef itkMultiChannelKMeansPointSet_h
#define itkMultiChannelKMeansPointSet_h

// The parts of MultiChannelKMeans that work on a weighted point set held in memory (the distinct vectors or a
// sample of voxels): seeding, Lloyd's algorithm with Hamerly's bounds, restarts, merging of distinct vectors.
// Private to the library (not installed).

#include "itkMultiChannelKMeans.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace itk
{
class MultiThreaderBase;

namespace MultiChannelKMeansDetail
{
/** SplitMix64 finaliser: a fixed 64-bit mixing function (Steele et al. 2014). */
inline std::uint64_t
Mix(std::uint64_t x)
{
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/** The clustering metric: sum over channels c of Weights[c] * (x[c] - y[c])^2, summed in channel order. */
struct Metric
{
  unsigned int        NumberOfClasses;
  unsigned int        NumberOfChannels;
  std::vector<double> Weights;

  double
  Distance2(const double * x, const double * center) const
  {
    double d = 0.0;
    for (unsigned int c = 0; c < NumberOfChannels; ++c)
    {
      const double t = x[c] - center[c];
      d += Weights[c] * t * t;
    }
    return d;
  }

  /** For each centre j, the smallest squared distance to another centre (infinity when K = 1). */
  void
  NearestOtherCenterDistances2(const std::vector<double> & centers, std::vector<double> & distances2) const;
};

/** Weighted points held in memory (distinct vectors or a sample), row-major; no weights: all weights 1. */
struct PointSet
{
  std::vector<double>        Coordinates;
  std::vector<std::uint64_t> Weights;
  std::size_t                NumberOfPoints{ 0 };
  std::size_t
  Size() const
  {
    return NumberOfPoints;
  }
  std::uint64_t
  Weight(std::size_t i) const
  {
    return Weights.empty() ? 1 : Weights[i];
  }
};

/** One run of Lloyd's algorithm: centres (row-major), counts, per-class sums of squares and their total. */
struct RunResult
{
  std::vector<double>        Centers;
  std::vector<std::uint64_t> Counts;
  std::vector<double>        SumsOfSquares;
  double                     WCSS{ 0.0 };
  unsigned int               Iterations{ 0 };
  bool                       Seeded{ false };
};

/** Distinct integer vectors of one chunk of voxels with their counts, in order of first occurrence. */
struct DistinctVectors
{
  std::vector<std::int64_t>  Keys;
  std::vector<std::uint64_t> Counts;
};

/** Greedy k-means++ seeding from the given seed; false when there are fewer than K distinct points. */
bool
SeedCenters(const Metric & metric, const PointSet & points, std::uint64_t seed, std::vector<double> & centers);

/** Seeding then Lloyd's algorithm with Hamerly's bounds until a full assignment changes nothing. */
RunResult
RunLloyd(const Metric & metric, const PointSet & points, std::uint64_t seed, unsigned int maximumIterations);

/** The NumberOfRestarts runs, one per work unit (restart r seeded with Mix(Mix(Seed) + r)). */
std::vector<RunResult>
RunRestarts(const Metric &                          metric,
            const PointSet &                        points,
            const MultiChannelKMeans::Parameters & parameters,
            MultiThreaderBase *                     threader);

/** Index of the run with the lowest WCSS (the first on ties); appends every run's WCSS to restartWCSS. Throws
 * std::runtime_error naming K and the number of distinct points when a run could not be seeded. */
std::size_t
BestRun(const std::vector<RunResult> & runs,
        const PointSet &               points,
        const Metric &                 metric,
        bool                           sampled,
        std::vector<double> &          restartWCSS);

/** All chunks' entries sorted lexicographically, equal vectors summed, as a weighted point set; false when
 * there are more than limit distinct vectors. Empties the chunks. */
bool
MergeDistinctVectors(std::vector<DistinctVectors> & chunks, unsigned int C, std::uint64_t limit, PointSet & points);
} // namespace MultiChannelKMeansDetail
} // namespace itk

#endif
