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
#ifndef itkGaussianMixtureKernels_h
#define itkGaussianMixtureKernels_h

// Building blocks shared by the level EM (GaussianMixtureOnLevels) and the mean field (PottsMeanField): per-class
// values on the stack for small K, huge-page working buffers. Private to the library (not installed).

#include "itkGaussianMixtureOnLevels.h"
#include "itkKMeansSegmentationMemory.h"

#include <array>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <tuple>
#include <algorithm>
#include <vector>

namespace itk
{
namespace GaussianMixtureDetail
{
/** The levels in double precision for the E- and M-steps: count, mean and mean square of each level, the
 * intensities measured from Shift (the mean of all samples, in the levels' coordinates) so that second moments
 * keep their precision. */
struct LevelTable
{
  double              Shift{ 0.0 };
  double              Total{ 0.0 };
  std::vector<double> Count;
  std::vector<double> Value;
  std::vector<double> Square;
};

/** The mean of all samples (in the levels' coordinates) and their number. */
inline std::pair<double, double>
MeanAndCountOfLevels(const std::vector<OptimalScalarKMeans::Level> & levels)
{
  long double sum = 0;
  long double count = 0;
  for (const auto & level : levels)
  {
    sum += level.Sum;
    count += static_cast<long double>(level.Count);
  }
  return { count > 0 ? static_cast<double>(sum / count) : 0.0, static_cast<double>(count) };
}

inline LevelTable
MakeLevelTable(const std::vector<OptimalScalarKMeans::Level> & levels)
{
  LevelTable table;
  std::tie(table.Shift, table.Total) = MeanAndCountOfLevels(levels);
  for (const auto & level : levels)
  {
    const long double c = static_cast<long double>(level.Count);
    const long double mean = level.Sum / c;
    const double      spread = std::max(0.0, static_cast<double>(level.SumOfSquares / c - mean * mean));
    const double      value = static_cast<double>(mean - static_cast<long double>(table.Shift));
    table.Count.push_back(static_cast<double>(c));
    table.Value.push_back(value);
    table.Square.push_back(value * value + spread);
  }
  return table;
}

/** An uninitialised working buffer of Size elements placed on 2 MiB boundaries and advised as huge pages (see
 * KMeansSegmentationMemory), so that no part of it is backed 4 KiB page by 4 KiB page. The extra address space is
 * never written, so it is never backed by memory. */
template <typename T>
class HugePageBuffer
{
public:
  explicit HugePageBuffer(std::size_t size)
    : m_Storage(new T[size + 2 * HugePageElements])
  {
    const auto start = reinterpret_cast<std::uintptr_t>(m_Storage.get());
    const auto aligned = (start + HugePageBytes - 1) & ~(HugePageBytes - 1);
    m_Data = m_Storage.get() + (aligned - start) / sizeof(T);
    KMeansSegmentationMemory::AdviseHugePages(m_Data, (size * sizeof(T) + HugePageBytes - 1) & ~(HugePageBytes - 1));
  }
  T *
  data()
  {
    return m_Data;
  }
  const T *
  data() const
  {
    return m_Data;
  }

private:
  static constexpr std::uintptr_t HugePageBytes = std::uintptr_t{ 1 } << 21;
  static constexpr std::size_t    HugePageElements = HugePageBytes / sizeof(T);
  std::unique_ptr<T[]>            m_Storage;
  T *                             m_Data{ nullptr };
};

/** PerClass values per class: on the stack when the number of classes is a compile-time constant (FixedClasses >
 * 0), so that loops over the classes unroll and the values stay in registers; otherwise on the heap. */
template <typename T, unsigned int FixedClasses, unsigned int PerClass>
class ClassValues
{
public:
  explicit ClassValues(std::size_t numberOfClasses)
    : m_Heap(FixedClasses > 0 ? 0 : PerClass * numberOfClasses)
  {}
  T *
  data()
  {
    return FixedClasses > 0 ? m_Stack.data() : m_Heap.data();
  }

private:
  std::array<T, PerClass *(FixedClasses > 0 ? FixedClasses : 1)> m_Stack{};
  std::vector<T>                                                 m_Heap;
};

/** Calls function(std::integral_constant<unsigned int, FixedClasses>) with FixedClasses = numberOfClasses for 2 to
 * 4 classes and 0 (the number known at run time only) otherwise. */
template <typename TFunction>
inline decltype(auto)
WithFixedNumberOfClasses(std::size_t numberOfClasses, TFunction && function)
{
  switch (numberOfClasses)
  {
    case 2:
      return function(std::integral_constant<unsigned int, 2>{});
    case 3:
      return function(std::integral_constant<unsigned int, 3>{});
    case 4:
      return function(std::integral_constant<unsigned int, 4>{});
    default:
      return function(std::integral_constant<unsigned int, 0>{});
  }
}

} // namespace GaussianMixtureDetail
} // namespace itk

#endif
