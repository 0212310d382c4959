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
#ifndef itkIntensityLevelHistogram_hxx
#define itkIntensityLevelHistogram_hxx

#include "itkImageScanlineConstIterator.h"

#include <algorithm>

namespace itk
{
namespace KMeansSegmentationDetail
{
/** Calls function(pixelPointer, maskPointerOrNull, length) for every scanline of region. */
template <typename TImage, typename TMaskImage, typename TFunction>
void
ForEachScanline(const TImage *                     image,
                const TMaskImage *                 mask,
                const typename TImage::RegionType & region,
                TFunction &&                       function)
{
  if (region.GetNumberOfPixels() == 0)
  {
    return;
  }
  const auto *                         buffer = image->GetBufferPointer();
  const auto *                         maskBuffer = mask ? mask->GetBufferPointer() : nullptr;
  const SizeValueType                  length = region.GetSize(0);
  ImageScanlineConstIterator<TImage> it(image, region);
  while (!it.IsAtEnd())
  {
    const auto & index = it.GetIndex();
    const auto   offset = image->ComputeOffset(index);
    const auto   maskOffset = mask ? mask->ComputeOffset(index) : 0;
    function(buffer + offset, maskBuffer ? maskBuffer + maskOffset : nullptr, length);
    it.NextLine();
  }
}
} // namespace KMeansSegmentationDetail

template <typename TImage, typename TMaskImage>
template <typename TFunction>
void
IntensityLevelHistogram<TImage, TMaskImage>::ForEachChunk(const RegionType &  region,
                                                          MultiThreaderBase * threader,
                                                          TFunction &&        function) const
{
  auto               splitter = ImageRegionSplitterSlowDimension::New();
  RegionType         whole = region;
  const unsigned int chunks = splitter->GetNumberOfSplits(whole, std::max(1u, threader->GetNumberOfWorkUnits()));
  threader->ParallelizeArray(
    0,
    chunks,
    [&](SizeValueType chunk) {
      RegionType piece = region;
      splitter->GetSplit(static_cast<unsigned int>(chunk), chunks, piece);
      function(piece, static_cast<unsigned int>(chunk));
    },
    nullptr);
}

template <typename TImage, typename TMaskImage>
IntensityRange
IntensityLevelHistogram<TImage, TMaskImage>::MeasureRange(const TImage *     image,
                                                          const TMaskImage * mask,
                                                          const RegionType & region) const
{
  IntensityRange r;
  KMeansSegmentationDetail::ForEachScanline(
    image, mask, region, [&](const PixelType * p, const MaskPixelType * m, SizeValueType n) {
      for (SizeValueType i = 0; i < n; ++i)
      {
        if (!Includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
        {
          continue;
        }
        const auto v = static_cast<double>(p[i]);
        r.Minimum = std::min(r.Minimum, v);
        r.Maximum = std::max(r.Maximum, v);
        ++r.Count;
        if (!std::is_integral<PixelType>::value && r.AllIntegers && v != std::floor(v))
        {
          r.AllIntegers = false;
        }
      }
    });
  return r;
}

template <typename TImage, typename TMaskImage>
IntensityHistogramCounts
IntensityLevelHistogram<TImage, TMaskImage>::MakeCounts(const IntensityRange & range) const
{
  IntensityBinning binning;
  if constexpr (HasFixedBins)
  {
    binning = IntensityBinning::ForAllValues(static_cast<double>(NumericTraits<PixelType>::NonpositiveMin()),
                                             static_cast<std::size_t>(1) << (8 * sizeof(PixelType)));
  }
  else
  {
    binning = IntensityBinning::ForRange(range);
  }
  binning.SetForegroundThreshold(m_Binning.GetUseForegroundThreshold(), m_Binning.GetForegroundThreshold());
  IntensityHistogramCounts counts;
  counts.Reset(binning, range);
  counts.PixelType = KMeansPixelTypeName<PixelType>();
  return counts;
}

template <typename TImage, typename TMaskImage>
void
IntensityLevelHistogram<TImage, TMaskImage>::CountRegion(const TImage *             image,
                                                         const TMaskImage *         mask,
                                                         const RegionType &         region,
                                                         IntensityHistogramCounts & counts,
                                                         TotalProgressReporter *    progress) const
{
  const IntensityBinning & binning = counts.Binning;
  const bool               threshold = binning.GetUseForegroundThreshold();
  std::uint64_t *          count = counts.Count.data();
  std::ptrdiff_t           lowest = 0; // smallest representable value of a small integer type: the value of bin 0
  if constexpr (HasFixedBins)
  {
    lowest = static_cast<std::ptrdiff_t>(NumericTraits<PixelType>::NonpositiveMin());
  }
  auto includes = [&binning](PixelType v, MaskPixelType m) {
    return m != MaskPixelType{} && binning.Includes(static_cast<double>(v));
  };
  KMeansSegmentationDetail::ForEachScanline(
    image, mask, region, [&](const PixelType * p, const MaskPixelType * m, SizeValueType n) {
      if (progress)
      {
        progress->CheckAbortGenerateData();
      }
      if (HasFixedBins && m == nullptr && !threshold)
      {
        // Every voxel takes part and its bin is its value minus the smallest representable value. Runs of
        // equal values (background) are counted at once: incrementing one counter voxel after voxel would
        // chain every increment on the previous store.
        std::uint64_t * const counter = count; // local copies: the stores could alias the captured variables
        const std::ptrdiff_t  bin0 = lowest;
        PixelType             previous = p[0];
        std::uint64_t         run = 0;
        for (SizeValueType i = 0; i < n; ++i)
        {
          if (p[i] == previous)
          {
            ++run;
            continue;
          }
          counter[static_cast<std::ptrdiff_t>(previous) - bin0] += run;
          previous = p[i];
          run = 1;
        }
        counter[static_cast<std::ptrdiff_t>(previous) - bin0] += run;
      }
      else if (binning.GetExact())
      {
        for (SizeValueType i = 0; i < n; ++i)
        {
          if (includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
          {
            ++count[binning.Bin(static_cast<double>(p[i]))];
          }
        }
      }
      else
      {
        const double origin = binning.GetOrigin();
        const double inverseWidth = 1.0 / binning.GetBinWidth();
        for (SizeValueType i = 0; i < n; ++i)
        {
          if (!includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
          {
            continue;
          }
          const double      t = (static_cast<double>(p[i]) - origin) * inverseWidth;
          const std::size_t b = binning.Bin(static_cast<double>(p[i]));
          double            f = (t - static_cast<double>(b)) * static_cast<double>(SubBinResolution);
          f = std::min(std::max(f, 0.0), static_cast<double>(SubBinResolution - 1));
          const auto r = static_cast<std::uint64_t>(f);
          ++count[b];
          counts.SubSum[b] += r;
          counts.SubSumOfSquares[b] += r * r;
        }
      }
      if (progress)
      {
        progress->Completed(n);
      }
    });
}

template <typename TImage, typename TMaskImage>
void
IntensityLevelHistogram<TImage, TMaskImage>::Compute(const TImage *      image,
                                                     const TMaskImage *  mask,
                                                     const RegionType &  region,
                                                     MultiThreaderBase * threader,
                                                     ProcessObject *     filter,
                                                     float               progressWeight)
{
  const unsigned int workUnits = std::max(1u, threader->GetNumberOfWorkUnits());
  IntensityRange     range;
  if constexpr (!HasFixedBins)
  {
    std::vector<IntensityRange> partial(workUnits);
    ForEachChunk(region, threader, [&](const RegionType & piece, unsigned int chunk) {
      partial[chunk] = MeasureRange(image, mask, piece);
    });
    for (const auto & r : partial)
    {
      range.Merge(r);
    }
    if (range.Count == 0)
    {
      m_Counts = IntensityHistogramCounts{};
      m_NumberOfSamples = 0;
      m_Levels.clear();
      m_LevelBins.clear();
      return;
    }
  }
  const SizeValueType                   totalPixels = region.GetNumberOfPixels();
  std::vector<IntensityHistogramCounts> partial(workUnits);
  ForEachChunk(region, threader, [&](const RegionType & piece, unsigned int chunk) {
    TotalProgressReporter progress(filter, totalPixels, 100, progressWeight);
    partial[chunk] = MakeCounts(range);
    CountRegion(image, mask, piece, partial[chunk], &progress);
  });
  // Integer sums: identical for any number of work units.
  IntensityHistogramCounts total;
  for (const auto & counts : partial)
  {
    total.Add(counts);
  }
  partial.clear();
  SetCounts(std::move(total));
}

template <typename TImage, typename TMaskImage>
void
IntensityLevelHistogram<TImage, TMaskImage>::SetCounts(IntensityHistogramCounts counts)
{
  m_Counts = std::move(counts);
  m_Binning = m_Counts.Binning;
  m_Counts.MakeLevels(m_Levels, m_LevelBins);
  m_NumberOfSamples = 0;
  m_MaximumBinCount = 0;
  for (const auto & level : m_Levels)
  {
    m_NumberOfSamples += level.Count;
    m_MaximumBinCount = std::max(m_MaximumBinCount, level.Count);
  }
  if (!m_Levels.empty())
  {
    const double origin = GetOrigin();
    m_Minimum = GetExact() ? origin + static_cast<double>(m_LevelBins.front()) : origin;
    m_Maximum = GetExact() ? origin + static_cast<double>(m_LevelBins.back())
                           : origin + GetBinWidth() * static_cast<double>(m_Counts.Count.size());
  }
}
} // namespace itk

#endif
