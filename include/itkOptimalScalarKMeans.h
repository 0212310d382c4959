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
#ifndef itkOptimalScalarKMeans_h
#define itkOptimalScalarKMeans_h

#include "KMeansSegmentationExport.h"

#include <cstdint>
#include <vector>

namespace itk
{
/** \class OptimalScalarKMeans
 * \brief Globally optimal one-dimensional K-means over weighted, ordered intensity levels.
 *
 * The input is a sequence of intensity levels in strictly ascending order, each with a weight (a voxel count)
 * and the first and second moments of the intensities it stands for. In one dimension every optimal K-means
 * class is an interval of consecutive levels, so the partition with the minimum within-class sum of squares
 * (WCSS) is found exactly by dynamic programming over the levels (Wang & Song, "Ckmeans.1d.dp: Optimal
 * k-means Clustering in One Dimension by Dynamic Programming", The R Journal 3(2), 2011). The optimal split
 * points are monotone in the level index, so each row of the table is filled by divide and conquer in
 * O(B log B) for B levels (Gronlund et al., "Fast Exact k-Means, k-Medians and Bregman Divergence Clustering
 * in 1D", 2017), O(K B log B) in all.
 *
 * One run for K classes also yields the optimal partition for every smaller number of classes
 * (GetWithinClassSumOfSquaresForEachK(), Partition()), which model selection (BIC over K) uses.
 *
 * Ties: among partitions of equal cost the one with the smallest split index found by the monotone search is
 * kept (strict comparison while scanning split positions in ascending order). The result depends on the
 * levels alone, never on threads or timing.
 *
 * The class is estimation only: it works on levels (a histogram), not on images. The image filter
 * KMeansSegmentationImageFilter builds the levels and labels the voxels.
 *
 * \sa KMeansSegmentationImageFilter
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT OptimalScalarKMeans
{
public:
  /** One intensity level: Count voxels whose intensities, measured from a common origin, add up to Sum and
   * whose squares add up to SumOfSquares. For a level holding one exact value v: Sum = Count * v and
   * SumOfSquares = Count * v * v. */
  struct Level
  {
    std::uint64_t Count{ 0 };
    long double   Sum{ 0 };
    long double   SumOfSquares{ 0 };
  };

  /** One class of a partition: levels [FirstLevel, LastLevel] (inclusive). Mean is measured from the same
   * origin as the levels. */
  struct Class
  {
    std::size_t   FirstLevel{ 0 };
    std::size_t   LastLevel{ 0 };
    std::uint64_t Count{ 0 };
    double        Mean{ 0 };
    double        SumOfSquares{ 0 };
  };

  /** Solve for up to maximumNumberOfClasses classes. Throws itk::ExceptionObject when the levels are empty,
   * have zero weight, or maximumNumberOfClasses is 0 or exceeds the number of levels with non-zero weight. */
  void
  Solve(const std::vector<Level> & levels, unsigned int maximumNumberOfClasses);

  /** The largest K solved for. */
  unsigned int
  GetMaximumNumberOfClasses() const
  {
    return m_MaximumNumberOfClasses;
  }

  /** The optimal partition into k classes, 1 <= k <= GetMaximumNumberOfClasses(), in ascending order of mean. */
  std::vector<Class>
  Partition(unsigned int k) const;

  /** Minimum WCSS for k = 1..GetMaximumNumberOfClasses() (element k-1). */
  const std::vector<double> &
  GetWithinClassSumOfSquaresForEachK() const
  {
    return m_CostForEachK;
  }

private:
  long double
  Cost(std::size_t first, std::size_t last) const;

  void
  FillRow(unsigned int  k,
          std::size_t   jBegin,
          std::size_t   jEnd,
          std::size_t   splitBegin,
          std::size_t   splitEnd,
          const std::vector<long double> & previous,
          std::vector<long double> &       current);

  std::vector<Level>                     m_Levels;
  std::vector<std::uint64_t>             m_PrefixCount;
  std::vector<long double>               m_PrefixSum;
  std::vector<long double>               m_PrefixSumOfSquares;
  std::vector<std::vector<std::uint32_t>> m_Split; // m_Split[k][j]: first level of the last class, k+1 classes over [0, j]
  std::vector<double>                    m_CostForEachK;
  unsigned int                           m_MaximumNumberOfClasses{ 0 };
};
} // namespace itk

#endif
