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
#include "itkTotalProgressReporter.h"

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
auto
IntensityLevelHistogram<TImage, TMaskImage>::ComputeRange(const TImage *      image,
                                                          const TMaskImage *  mask,
                                                          const RegionType &  region,
                                                          MultiThreaderBase * threader) const -> Range
{
  std::vector<Range> partial(std::max(1u, threader->GetNumberOfWorkUnits()));
  ForEachChunk(region, threader, [&](const RegionType & piece, unsigned int chunk) {
    Range r;
    KMeansSegmentationDetail::ForEachScanline(
      image, mask, piece, [&](const PixelType * p, const MaskPixelType * m, SizeValueType n) {
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
    partial[chunk] = r;
  });
  Range total;
  for (const auto & r : partial)
  {
    total.Minimum = std::min(total.Minimum, r.Minimum);
    total.Maximum = std::max(total.Maximum, r.Maximum);
    total.Count += r.Count;
    total.AllIntegers = total.AllIntegers && r.AllIntegers;
  }
  return total;
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
  constexpr bool smallInteger = std::is_integral<PixelType>::value && sizeof(PixelType) <= 2;
  if (smallInteger)
  {
    // One bin per representable value: no range pass needed.
    m_Exact = true;
    m_Origin = static_cast<double>(NumericTraits<PixelType>::NonpositiveMin());
    m_NumberOfBins = static_cast<std::size_t>(1) << (8 * sizeof(PixelType));
    m_BinWidth = 1.0;
  }
  else
  {
    const Range range = ComputeRange(image, mask, region, threader);
    if (range.Count == 0)
    {
      m_NumberOfSamples = 0;
      m_Levels.clear();
      m_LevelBins.clear();
      m_NumberOfBins = 0;
      return;
    }
    const double span = range.Maximum - range.Minimum;
    m_Origin = range.Minimum;
    if ((range.AllIntegers && span < static_cast<double>(MaximumNumberOfBins)) || span == 0.0)
    {
      m_Exact = true;
      m_NumberOfBins = static_cast<std::size_t>(span) + 1;
      m_BinWidth = 1.0;
    }
    else
    {
      m_Exact = false;
      m_NumberOfBins = MaximumNumberOfBins;
      // Divided before subtracting: the span of values near -DBL_MAX and DBL_MAX overflows to infinity.
      m_BinWidth = range.Maximum / static_cast<double>(MaximumNumberOfBins) -
                   range.Minimum / static_cast<double>(MaximumNumberOfBins);
    }
  }
  m_InverseBinWidth = 1.0 / m_BinWidth;

  const SizeValueType      totalPixels = region.GetNumberOfPixels();
  std::vector<Accumulator> partial(std::max(1u, threader->GetNumberOfWorkUnits()));
  ForEachChunk(region, threader, [&](const RegionType & piece, unsigned int chunk) {
    TotalProgressReporter progress(filter, totalPixels, 100, progressWeight);
    Accumulator &         acc = partial[chunk];
    acc.Count.assign(m_NumberOfBins, 0);
    if (!m_Exact)
    {
      acc.SubSum.assign(m_NumberOfBins, 0);
      acc.SubSumOfSquares.assign(m_NumberOfBins, 0);
    }
    std::uint64_t * count = acc.Count.data();
    std::ptrdiff_t  lowest = 0; // smallest representable value of a small integer type: the value of bin 0
    if constexpr (smallInteger)
    {
      lowest = static_cast<std::ptrdiff_t>(NumericTraits<PixelType>::NonpositiveMin());
    }
    KMeansSegmentationDetail::ForEachScanline(
      image, mask, piece, [&](const PixelType * p, const MaskPixelType * m, SizeValueType n) {
        progress.CheckAbortGenerateData();
        if (smallInteger && m == nullptr && !m_UseForegroundThreshold)
        {
          // Every voxel takes part and its bin is its value minus the smallest representable value. Runs of
          // equal values (background) are counted at once: incrementing one counter voxel after voxel would
          // chain every increment on the previous store.
          std::uint64_t * const counts = count; // local copies: the stores could alias the captured variables
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
            counts[static_cast<std::ptrdiff_t>(previous) - bin0] += run;
            previous = p[i];
            run = 1;
          }
          counts[static_cast<std::ptrdiff_t>(previous) - bin0] += run;
        }
        else if (m_Exact)
        {
          for (SizeValueType i = 0; i < n; ++i)
          {
            if (Includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
            {
              ++count[GetBin(p[i])];
            }
          }
        }
        else
        {
          for (SizeValueType i = 0; i < n; ++i)
          {
            if (!Includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
            {
              continue;
            }
            const double      t = (static_cast<double>(p[i]) - m_Origin) * m_InverseBinWidth;
            const std::size_t b = GetBin(p[i]);
            double            f = (t - static_cast<double>(b)) * static_cast<double>(SubBinResolution);
            f = std::min(std::max(f, 0.0), static_cast<double>(SubBinResolution - 1));
            const auto r = static_cast<std::uint64_t>(f);
            ++count[b];
            acc.SubSum[b] += r;
            acc.SubSumOfSquares[b] += r * r;
          }
        }
        progress.Completed(n);
      });
  });

  // Fixed-order integer reduction: identical for any number of work units.
  std::vector<std::uint64_t> count(m_NumberOfBins, 0);
  std::vector<std::uint64_t> subSum(m_Exact ? 0 : m_NumberOfBins, 0);
  std::vector<std::uint64_t> subSumOfSquares(m_Exact ? 0 : m_NumberOfBins, 0);
  for (const auto & acc : partial)
  {
    if (acc.Count.empty())
    {
      continue;
    }
    for (std::size_t b = 0; b < m_NumberOfBins; ++b)
    {
      count[b] += acc.Count[b];
    }
    if (!m_Exact)
    {
      for (std::size_t b = 0; b < m_NumberOfBins; ++b)
      {
        subSum[b] += acc.SubSum[b];
        subSumOfSquares[b] += acc.SubSumOfSquares[b];
      }
    }
  }
  partial.clear();

  m_Levels.clear();
  m_LevelBins.clear();
  m_NumberOfSamples = 0;
  m_MaximumBinCount = 0;
  const long double width = m_BinWidth;
  const long double resolution = static_cast<long double>(SubBinResolution);
  for (std::size_t b = 0; b < m_NumberOfBins; ++b)
  {
    const std::uint64_t c = count[b];
    if (c == 0)
    {
      continue;
    }
    OptimalScalarKMeans::Level level;
    level.Count = c;
    const auto cl = static_cast<long double>(c);
    const auto bl = static_cast<long double>(b);
    if (m_Exact)
    {
      level.Sum = cl * bl;
      level.SumOfSquares = cl * bl * bl;
    }
    else
    {
      // Intensity offset in bin units: b + (r + 1/2) / resolution.
      const long double s = (static_cast<long double>(subSum[b]) + 0.5L * cl) / resolution;
      const long double s2 =
        (static_cast<long double>(subSumOfSquares[b]) + static_cast<long double>(subSum[b]) + 0.25L * cl) /
        (resolution * resolution);
      level.Sum = width * (cl * bl + s);
      level.SumOfSquares = width * width * (cl * bl * bl + 2.0L * bl * s + s2);
    }
    m_Levels.push_back(level);
    m_LevelBins.push_back(b);
    m_NumberOfSamples += c;
    m_MaximumBinCount = std::max(m_MaximumBinCount, c);
  }
  if (!m_Levels.empty())
  {
    m_Minimum = m_Exact ? m_Origin + static_cast<double>(m_LevelBins.front()) : m_Origin;
    m_Maximum = m_Exact ? m_Origin + static_cast<double>(m_LevelBins.back()) : m_Origin + m_BinWidth * m_NumberOfBins;
  }
}
} // namespace itk

#endif
