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
#ifndef itkIntensityLevelHistogram_h
#define itkIntensityLevelHistogram_h

#include "itkImage.h"
#include "itkImageRegionSplitterSlowDimension.h"
#include "itkMultiThreaderBase.h"
#include "itkOptimalScalarKMeans.h"
#include "itkProcessObject.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace itk
{
/** \class IntensityLevelHistogram
 * \brief Exact, thread-count-independent histogram of the voxels of a scalar image that take part in a
 * segmentation, with the moments that optimal K-means and mixture models need.
 *
 * A voxel takes part when its intensity is finite, the mask (if any) is non-zero at it, and, when a foreground
 * threshold is in use, its intensity is strictly above that threshold.
 *
 * Binning:
 * - Integer pixel types of at most 16 bits: one bin per possible value (exact, no extra pass).
 * - Other integer types, and floating-point images whose values are all integers: one bin per integer
 *   between the minimum and the maximum when that range has at most 65536 values (exact).
 * - Otherwise 65536 equal bins between the minimum and the maximum. Within a bin each intensity is kept to
 *   1/32768 of the bin width in integer moments, so the level moments are independent of the summation order
 *   (and of the number of threads) and the within-class sums of squares are exact to that resolution.
 *
 * All counts and moments are integers accumulated per work unit and added up, so the result is bit-identical
 * for any number of threads. GetBin() maps an intensity to its bin; labeling by a per-bin look-up table is
 * therefore consistent with the histogram by construction.
 *
 * \sa OptimalScalarKMeans, KMeansSegmentationImageFilter
 * \ingroup KMeansSegmentation
 */
template <typename TImage, typename TMaskImage>
class ITK_TEMPLATE_EXPORT IntensityLevelHistogram
{
public:
  using ImageType = TImage;
  using MaskImageType = TMaskImage;
  using PixelType = typename TImage::PixelType;
  using MaskPixelType = typename TMaskImage::PixelType;
  using RegionType = typename TImage::RegionType;

  static constexpr std::size_t   MaximumNumberOfBins = 65536;
  static constexpr std::uint64_t SubBinResolution = 32768;

  /** Set the foreground rule: only intensities strictly above threshold take part. */
  void
  SetForegroundThreshold(bool use, double threshold)
  {
    m_UseForegroundThreshold = use;
    m_ForegroundThreshold = threshold;
  }

  /** Build the histogram over region of image (and mask, which may be null). Progress is reported to
   * filter (may be null) with the given weight; the filter's abort flag is honoured. */
  void
  Compute(const TImage *       image,
          const TMaskImage *   mask,
          const RegionType &   region,
          MultiThreaderBase *  threader,
          ProcessObject *      filter,
          float                progressWeight);

  /** Whether the voxel takes part (finite, inside the mask, above the foreground threshold). */
  bool
  Includes(PixelType value, MaskPixelType maskValue) const
  {
    if (maskValue == MaskPixelType{})
    {
      return false;
    }
    const auto v = static_cast<double>(value);
    if (!std::isfinite(v))
    {
      return false;
    }
    return !m_UseForegroundThreshold || v > m_ForegroundThreshold;
  }

  /** Bin of an included intensity. */
  std::size_t
  GetBin(PixelType value) const
  {
    if (m_Exact)
    {
      return static_cast<std::size_t>(static_cast<double>(value) - m_Origin);
    }
    // Compared as doubles before the conversion: t is NaN or beyond std::size_t for a span that overflows.
    const double t = (static_cast<double>(value) - m_Origin) * m_InverseBinWidth;
    if (!(t > 0.0))
    {
      return 0;
    }
    return t < static_cast<double>(m_NumberOfBins - 1) ? static_cast<std::size_t>(t) : m_NumberOfBins - 1;
  }

  /** Lower edge of bin 0 (exact bins: the value of bin 0). */
  double
  GetOrigin() const
  {
    return m_Origin;
  }
  double
  GetBinWidth() const
  {
    return m_BinWidth;
  }
  /** True when every bin holds a single intensity, so level statistics are exact. */
  bool
  GetExact() const
  {
    return m_Exact;
  }
  std::size_t
  GetNumberOfBins() const
  {
    return m_NumberOfBins;
  }
  /** Number of voxels that take part. */
  std::uint64_t
  GetNumberOfSamples() const
  {
    return m_NumberOfSamples;
  }
  /** Smallest and largest included intensity (meaningful when GetNumberOfSamples() > 0). */
  double
  GetMinimum() const
  {
    return m_Minimum;
  }
  double
  GetMaximum() const
  {
    return m_Maximum;
  }
  /** The largest number of voxels in one bin. */
  std::uint64_t
  GetMaximumBinCount() const
  {
    return m_MaximumBinCount;
  }
  /** Why no voxel takes part, for an exception message (when GetNumberOfSamples() is 0). */
  std::string
  DescribeNoSamples(bool hasMask) const
  {
    std::ostringstream message;
    if (hasMask)
    {
      message << "no voxel to classify: the mask is empty or covers only non-finite"
              << (m_UseForegroundThreshold ? " or below-threshold" : "") << " intensities";
    }
    else if (m_UseForegroundThreshold)
    {
      message << "no finite voxel above the foreground threshold " << m_ForegroundThreshold;
    }
    else
    {
      message << "the image has no finite voxel";
    }
    return message.str();
  }

  /** Non-empty bins as levels for OptimalScalarKMeans (moments measured from GetOrigin()), ascending. */
  const std::vector<OptimalScalarKMeans::Level> &
  GetLevels() const
  {
    return m_Levels;
  }
  /** Bin index of each level. */
  const std::vector<std::size_t> &
  GetLevelBins() const
  {
    return m_LevelBins;
  }

private:
  struct Range
  {
    double        Minimum{ std::numeric_limits<double>::infinity() };
    double        Maximum{ -std::numeric_limits<double>::infinity() };
    std::uint64_t Count{ 0 };
    bool          AllIntegers{ true };
  };
  struct Accumulator
  {
    std::vector<std::uint64_t> Count;
    std::vector<std::uint64_t> SubSum;
    std::vector<std::uint64_t> SubSumOfSquares;
  };

  template <typename TFunction>
  void
  ForEachChunk(const RegionType & region, MultiThreaderBase * threader, TFunction && function) const;

  Range
  ComputeRange(const TImage * image, const TMaskImage * mask, const RegionType & region, MultiThreaderBase * threader) const;

  bool          m_UseForegroundThreshold{ false };
  double        m_ForegroundThreshold{ 0.0 };
  bool          m_Exact{ true };
  double        m_Origin{ 0.0 };
  double        m_BinWidth{ 1.0 };
  double        m_InverseBinWidth{ 1.0 };
  std::size_t   m_NumberOfBins{ 0 };
  std::uint64_t m_NumberOfSamples{ 0 };
  std::uint64_t m_MaximumBinCount{ 0 };
  double        m_Minimum{ 0.0 };
  double        m_Maximum{ 0.0 };

  std::vector<OptimalScalarKMeans::Level> m_Levels;
  std::vector<std::size_t>                m_LevelBins;
};
} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkIntensityLevelHistogram.hxx"
#endif

#endif
