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

#include "itkMacro.h"

#include <algorithm>
#include <limits>

namespace itk
{
void
OptimalScalarKMeans::Solve(const std::vector<Level> & levels, unsigned int maximumNumberOfClasses)
{
  if (levels.empty())
  {
    itkGenericExceptionMacro(<< "OptimalScalarKMeans: no intensity levels to cluster");
  }
  if (levels.size() > std::numeric_limits<std::uint32_t>::max())
  {
    itkGenericExceptionMacro(<< "OptimalScalarKMeans: " << levels.size() << " levels exceed the supported maximum");
  }
  for (std::size_t i = 0; i < levels.size(); ++i)
  {
    if (levels[i].Count == 0)
    {
      itkGenericExceptionMacro(<< "OptimalScalarKMeans: level " << i << " has no weight");
    }
  }
  if (maximumNumberOfClasses < 1 || maximumNumberOfClasses > levels.size())
  {
    itkGenericExceptionMacro(<< "OptimalScalarKMeans: number of classes " << maximumNumberOfClasses
                             << " must be between 1 and the number of distinct levels, " << levels.size());
  }

  m_Levels = levels;
  m_MaximumNumberOfClasses = maximumNumberOfClasses;
  const std::size_t n = levels.size();
  m_PrefixCount.assign(n + 1, 0);
  m_PrefixSum.assign(n + 1, 0);
  m_PrefixSumOfSquares.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i)
  {
    m_PrefixCount[i + 1] = m_PrefixCount[i] + levels[i].Count;
    m_PrefixSum[i + 1] = m_PrefixSum[i] + levels[i].Sum;
    m_PrefixSumOfSquares[i + 1] = m_PrefixSumOfSquares[i] + levels[i].SumOfSquares;
  }

  m_Split.assign(maximumNumberOfClasses, std::vector<std::uint32_t>(n, 0));
  m_CostForEachK.assign(maximumNumberOfClasses, 0.0);

  std::vector<long double> previous(n);
  std::vector<long double> current(n, std::numeric_limits<long double>::infinity());
  for (std::size_t j = 0; j < n; ++j)
  {
    previous[j] = Cost(0, j);
  }
  m_CostForEachK[0] = static_cast<double>(previous[n - 1]);

  for (unsigned int k = 1; k < maximumNumberOfClasses; ++k)
  {
    // k+1 classes over levels [0, j] need j >= k; the last class starts at a split in [k, j].
    std::fill(current.begin(), current.end(), std::numeric_limits<long double>::infinity());
    FillRow(k, k, n, k, n, previous, current);
    m_CostForEachK[k] = static_cast<double>(current[n - 1]);
    std::swap(previous, current);
  }
}

long double
OptimalScalarKMeans::Cost(std::size_t first, std::size_t last) const
{
  const auto        count = static_cast<long double>(m_PrefixCount[last + 1] - m_PrefixCount[first]);
  const long double sum = m_PrefixSum[last + 1] - m_PrefixSum[first];
  const long double sumOfSquares = m_PrefixSumOfSquares[last + 1] - m_PrefixSumOfSquares[first];
  const long double cost = sumOfSquares - sum * sum / count;
  return cost > 0 ? cost : 0;
}

void
OptimalScalarKMeans::FillRow(unsigned int                     k,
                             std::size_t                      jBegin,
                             std::size_t                      jEnd,
                             std::size_t                      splitBegin,
                             std::size_t                      splitEnd,
                             const std::vector<long double> & previous,
                             std::vector<long double> &       current)
{
  // Divide and conquer over j: the optimal split is monotone non-decreasing in j.
  if (jBegin >= jEnd)
  {
    return;
  }
  const std::size_t j = jBegin + (jEnd - jBegin) / 2;
  const std::size_t last = std::min(j, splitEnd - 1);
  long double       best = std::numeric_limits<long double>::infinity();
  std::size_t       bestSplit = splitBegin;
  for (std::size_t s = splitBegin; s <= last; ++s)
  {
    const long double value = previous[s - 1] + Cost(s, j);
    if (value < best)
    {
      best = value;
      bestSplit = s;
    }
  }
  current[j] = best;
  m_Split[k][j] = static_cast<std::uint32_t>(bestSplit);
  FillRow(k, jBegin, j, splitBegin, bestSplit + 1, previous, current);
  FillRow(k, j + 1, jEnd, bestSplit, splitEnd, previous, current);
}

std::vector<OptimalScalarKMeans::Class>
OptimalScalarKMeans::Partition(unsigned int k) const
{
  if (k < 1 || k > m_MaximumNumberOfClasses)
  {
    itkGenericExceptionMacro(<< "OptimalScalarKMeans: partition into " << k << " classes requested, solved for 1 to "
                             << m_MaximumNumberOfClasses);
  }
  std::vector<Class> classes(k);
  std::size_t        last = m_Levels.size() - 1;
  for (unsigned int c = k; c-- > 0;)
  {
    const std::size_t first = c == 0 ? 0 : m_Split[c][last];
    Class &           cls = classes[c];
    cls.FirstLevel = first;
    cls.LastLevel = last;
    cls.Count = m_PrefixCount[last + 1] - m_PrefixCount[first];
    cls.Mean = static_cast<double>((m_PrefixSum[last + 1] - m_PrefixSum[first]) / static_cast<long double>(cls.Count));
    cls.SumOfSquares = static_cast<double>(Cost(first, last));
    if (first > 0)
    {
      last = first - 1;
    }
  }
  return classes;
}
} // namespace itk
