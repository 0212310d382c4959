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
#include "itkKMeansIntensityModel.h"
#include "itkTotalProgressReporter.h"
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
 * for any number of threads, and for any division of the image into stream pieces: the range (minimum, maximum,
 * all integers) that fixes the bins of the types without fixed bins is itself a merge of the pieces' ranges,
 * so a streamed histogram (one range pass and one counting pass over the pieces, KMeansSegmentationEstimator)
 * has exactly the bins and counts of the whole-image one. Histograms of different images merge exactly where
 * their bins allow it (IntensityHistogramCounts::Merge()). GetBin() maps an intensity to its bin; labeling by a per-bin look-up table is
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

  static constexpr std::size_t   MaximumNumberOfBins = IntensityBinning::MaximumNumberOfBins;
  static constexpr std::uint64_t SubBinResolution = IntensityHistogramCounts::SubBinResolution;
  /** Integer types of at most 16 bits have one fixed bin per representable value: no range pass. */
  static constexpr bool HasFixedBins = std::is_integral<PixelType>::value && sizeof(PixelType) <= 2;

  /** Set the foreground rule: only intensities strictly above threshold take part. */
  void
  SetForegroundThreshold(bool use, double threshold)
  {
    m_Binning.SetForegroundThreshold(use, threshold);
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

  /** \name Building blocks of a streamed histogram (KMeansSegmentationEstimator): measure the range of every
   * piece and merge (types without fixed bins), MakeBinning() from the merged range, count every piece into
   * counts made by MakeCounts() and Add() them, then SetCounts(). Any order of pieces gives the same counts. */
  //@{
  /** Range of the included intensities of region (one thread). */
  IntensityRange
  MeasureRange(const TImage * image, const TMaskImage * mask, const RegionType & region) const;
  /** Empty counts over the bins for range (ignored for fixed bins), with this histogram's foreground rule. */
  IntensityHistogramCounts
  MakeCounts(const IntensityRange & range) const;
  /** Add the included voxels of region to counts (one thread); progress may be null. */
  void
  CountRegion(const TImage *             image,
              const TMaskImage *         mask,
              const RegionType &         region,
              IntensityHistogramCounts & counts,
              TotalProgressReporter *    progress) const;
  /** Take counts (of any origin: streamed, merged, loaded) as this histogram's content and make its levels. */
  void
  SetCounts(IntensityHistogramCounts counts);
  //@}

  /** Whether the voxel takes part (finite, inside the mask, above the foreground threshold). */
  bool
  Includes(PixelType value, MaskPixelType maskValue) const
  {
    return maskValue != MaskPixelType{} && m_Binning.Includes(static_cast<double>(value));
  }

  /** Bin of an included intensity. */
  std::size_t
  GetBin(PixelType value) const
  {
    return m_Binning.Bin(static_cast<double>(value));
  }

  /** Lower edge of bin 0 (exact bins: the value of bin 0). */
  double
  GetOrigin() const
  {
    return m_Binning.GetOrigin();
  }
  double
  GetBinWidth() const
  {
    return m_Binning.GetBinWidth();
  }
  /** True when every bin holds a single intensity, so level statistics are exact. */
  bool
  GetExact() const
  {
    return m_Binning.GetExact();
  }
  std::size_t
  GetNumberOfBins() const
  {
    return m_Counts.Count.size();
  }
  const IntensityBinning &
  GetBinning() const
  {
    return m_Binning;
  }
  /** The integer content (bins and counts), which merges exactly (IntensityHistogramCounts::Merge()). */
  const IntensityHistogramCounts &
  GetCounts() const
  {
    return m_Counts;
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
    const bool         threshold = m_Binning.GetUseForegroundThreshold();
    if (hasMask)
    {
      message << "no voxel to classify: the mask is empty or covers only non-finite"
              << (threshold ? " or below-threshold" : "") << " intensities";
    }
    else if (threshold)
    {
      message << "no finite voxel above the foreground threshold " << m_Binning.GetForegroundThreshold();
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
  template <typename TFunction>
  void
  ForEachChunk(const RegionType & region, MultiThreaderBase * threader, TFunction && function) const;

  IntensityBinning         m_Binning;
  IntensityHistogramCounts m_Counts;
  std::uint64_t            m_NumberOfSamples{ 0 };
  std::uint64_t            m_MaximumBinCount{ 0 };
  double                   m_Minimum{ 0.0 };
  double                   m_Maximum{ 0.0 };

  std::vector<OptimalScalarKMeans::Level> m_Levels;
  std::vector<std::size_t>                m_LevelBins;
};
} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkIntensityLevelHistogram.hxx"
#endif

#endif
