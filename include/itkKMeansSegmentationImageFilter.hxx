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
#ifndef itkKMeansSegmentationImageFilter_hxx
#define itkKMeansSegmentationImageFilter_hxx

#include "itkMath.h"
#include "itkKMeansSegmentationMemory.h"
#include "itkOptimalScalarKMeans.h"
#include "itkTotalProgressReporter.h"

#include <algorithm>
#include <limits>

namespace itk
{
template <typename TInputImage, typename TOutputImage, typename TMaskImage>
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::KMeansSegmentationImageFilter()
{
  this->SetNumberOfRequiredInputs(1);
  this->AddOptionalInputName("MaskImage");
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  if (m_NumberOfClasses < 1)
  {
    itkExceptionMacro(<< "NumberOfClasses is " << m_NumberOfClasses << "; it must be at least 1");
  }
  const auto maximumLabel = static_cast<unsigned long long>(NumericTraits<OutputPixelType>::max());
  if (m_NumberOfClasses > maximumLabel)
  {
    itkExceptionMacro(<< "NumberOfClasses is " << m_NumberOfClasses << ", more than the output pixel type holds ("
                      << maximumLabel << ")");
  }
  if (m_UseForegroundThreshold && !std::isfinite(m_ForegroundThreshold))
  {
    itkExceptionMacro(<< "ForegroundThreshold is " << m_ForegroundThreshold << "; it must be finite");
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyInputInformation() const
{
  const TInputImage * input = this->GetInput();
  const TMaskImage *  mask = this->GetMaskImage();
  if (input == nullptr || mask == nullptr)
  {
    return;
  }
  const auto & inputRegion = input->GetLargestPossibleRegion();
  const auto & maskRegion = mask->GetLargestPossibleRegion();
  if (inputRegion.GetSize() != maskRegion.GetSize())
  {
    itkExceptionMacro(<< "mask size " << maskRegion.GetSize() << " differs from input size " << inputRegion.GetSize());
  }
  if (inputRegion.GetIndex() != maskRegion.GetIndex())
  {
    itkExceptionMacro(<< "mask start index " << maskRegion.GetIndex() << " differs from input start index "
                      << inputRegion.GetIndex());
  }
  const double tolerance = this->GetCoordinateTolerance() * input->GetSpacing()[0];
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    if (std::abs(input->GetOrigin()[d] - mask->GetOrigin()[d]) > tolerance ||
        std::abs(input->GetSpacing()[d] - mask->GetSpacing()[d]) > tolerance)
    {
      itkExceptionMacro(<< "mask geometry (origin " << mask->GetOrigin() << ", spacing " << mask->GetSpacing()
                        << ") differs from input geometry (origin " << input->GetOrigin() << ", spacing "
                        << input->GetSpacing() << ")");
    }
    for (unsigned int e = 0; e < ImageDimension; ++e)
    {
      if (std::abs(input->GetDirection()[d][e] - mask->GetDirection()[d][e]) > this->GetDirectionTolerance())
      {
        itkExceptionMacro(<< "mask direction differs from input direction at row " << d << ", column " << e << " ("
                          << mask->GetDirection()[d][e] << " vs " << input->GetDirection()[d][e] << ")");
      }
    }
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  // Class statistics are global: the whole input (and mask) is needed.
  if (auto * input = const_cast<TInputImage *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * mask = const_cast<TMaskImage *>(this->GetMaskImage()))
  {
    mask->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::EnlargeOutputRequestedRegion(
  DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateData()
{
  const TInputImage * input = this->GetInput();
  const TMaskImage *  mask = this->GetMaskImage();
  TOutputImage *      output = this->GetOutput();
  const auto          region = input->GetLargestPossibleRegion();

  m_ClassMeans.clear();
  m_ClassCounts.clear();
  m_ClassSumsOfSquares.clear();
  m_Thresholds.clear();
  m_WithinClassSumOfSquaresForEachK.clear();
  m_WithinClassSumOfSquares = 0.0;
  m_OptimalityGap = 0.0;
  m_NumberOfClassifiedPixels = 0;

  MultiThreaderBase * threader = this->GetMultiThreader();
  threader->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());

  // Estimation: histogram of the voxels that take part, then the exact dynamic program.
  HistogramType histogram;
  histogram.SetForegroundThreshold(m_UseForegroundThreshold, m_ForegroundThreshold);
  // Progress: 45 % histogram, 50 % labeling (weights below 1 in total, as increments are rounded).
  histogram.Compute(input, mask, region, threader, this, 0.45f);

  if (histogram.GetNumberOfSamples() == 0)
  {
    itkExceptionMacro(<< histogram.DescribeNoSamples(mask != nullptr));
  }
  const auto & levels = histogram.GetLevels();
  if (m_NumberOfClasses > levels.size())
  {
    if (histogram.GetExact())
    {
      itkExceptionMacro(<< "NumberOfClasses is " << m_NumberOfClasses << " but only " << levels.size()
                        << " distinct intensit" << (levels.size() == 1 ? "y takes" : "ies take") << " part");
    }
    itkExceptionMacro(<< "NumberOfClasses is " << m_NumberOfClasses << " but only " << levels.size()
                      << " distinct intensity levels (histogram bins of width " << histogram.GetBinWidth()
                      << ") take part");
  }

  OptimalScalarKMeans solver;
  solver.Solve(levels, m_NumberOfClasses);
  const auto classes = solver.Partition(m_NumberOfClasses);

  const double origin = histogram.GetOrigin();
  for (const auto & c : classes)
  {
    m_ClassMeans.push_back(origin + c.Mean);
    m_ClassCounts.push_back(static_cast<SizeValueType>(c.Count));
    m_ClassSumsOfSquares.push_back(c.SumOfSquares);
    m_WithinClassSumOfSquares += c.SumOfSquares;
  }
  for (std::size_t k = 0; k + 1 < m_ClassMeans.size(); ++k)
  {
    m_Thresholds.push_back(0.5 * (m_ClassMeans[k] + m_ClassMeans[k + 1]));
  }
  m_WithinClassSumOfSquaresForEachK = solver.GetWithinClassSumOfSquaresForEachK();
  m_NumberOfClassifiedPixels = static_cast<SizeValueType>(histogram.GetNumberOfSamples());
  if (!histogram.GetExact())
  {
    const double span = histogram.GetMaximum() - histogram.GetMinimum();
    const double w = histogram.GetBinWidth();
    const auto   n = static_cast<double>(histogram.GetNumberOfSamples());
    m_OptimalityGap = 2.0 * w * span * static_cast<double>(histogram.GetMaximumBinCount()) +
                      4.0 * n * span * w / static_cast<double>(HistogramType::SubBinResolution);
  }

  // Labeling: a look-up table from histogram bin to label.
  std::vector<OutputPixelType> table(histogram.GetNumberOfBins(), OutputPixelType{});
  const auto &                 levelBins = histogram.GetLevelBins();
  for (std::size_t k = 0; k < classes.size(); ++k)
  {
    const std::size_t firstBin = k == 0 ? 0 : levelBins[classes[k].FirstLevel];
    const std::size_t lastBin = k + 1 == classes.size() ? table.size() - 1 : levelBins[classes[k + 1].FirstLevel] - 1;
    std::fill(table.begin() + firstBin, table.begin() + lastBin + 1, static_cast<OutputPixelType>(k + 1));
  }
  // Integer types of at most 16 bits have one bin per representable value: the foreground threshold goes into
  // the table (label 0 at or below it), so labeling needs no per-voxel test but the mask.
  constexpr bool smallInteger = std::is_integral<InputPixelType>::value && sizeof(InputPixelType) <= 2;
  std::ptrdiff_t lowest = 0; // the value of bin 0 for small integer types
  if constexpr (smallInteger)
  {
    lowest = static_cast<std::ptrdiff_t>(NumericTraits<InputPixelType>::NonpositiveMin());
    if (m_UseForegroundThreshold)
    {
      for (std::size_t b = 0; b < table.size() && static_cast<double>(lowest) + b <= m_ForegroundThreshold; ++b)
      {
        table[b] = OutputPixelType{};
      }
    }
  }

  output->SetBufferedRegion(output->GetRequestedRegion());
  output->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(output); // before the labeling pass first writes it

  const SizeValueType     totalPixels = region.GetNumberOfPixels();
  const OutputPixelType * lut = table.data();
  threader->template ParallelizeImageRegion<ImageDimension>(
    region,
    [&](const OutputRegionType & piece) {
      TotalProgressReporter progress(this, totalPixels, 100, 0.5f);
      KMeansSegmentationDetail::ForEachScanline(
        input, mask, piece, [&](const InputPixelType * p, const MaskPixelType * m, SizeValueType n) {
          progress.CheckAbortGenerateData();
          // Offsets of input and output coincide: both buffers cover the largest possible region.
          OutputPixelType * o = output->GetBufferPointer() + (p - input->GetBufferPointer());
          // Local copies: stores through o (possibly a character type) could alias the captured variables.
          const OutputPixelType * const labels = lut;
          const std::ptrdiff_t          bin0 = lowest;
          if (smallInteger && m == nullptr)
          {
            for (SizeValueType i = 0; i < n; ++i)
            {
              o[i] = labels[static_cast<std::ptrdiff_t>(p[i]) - bin0];
            }
          }
          else if (smallInteger)
          {
            for (SizeValueType i = 0; i < n; ++i)
            {
              o[i] = m[i] != MaskPixelType{} ? labels[static_cast<std::ptrdiff_t>(p[i]) - bin0] : OutputPixelType{};
            }
          }
          else
          {
            for (SizeValueType i = 0; i < n; ++i)
            {
              o[i] = histogram.Includes(p[i], m ? m[i] : MaskPixelType{ 1 }) ? lut[histogram.GetBin(p[i])]
                                                                             : OutputPixelType{};
            }
          }
          progress.Completed(n);
        });
    },
    nullptr);
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::PrintSelf(std::ostream & os,
                                                                                Indent         indent) const
{
  Superclass::PrintSelf(os, indent);
  auto printArray = [&os, indent](const char * name, const auto & values) {
    os << indent << name << ": [";
    for (std::size_t i = 0; i < values.size(); ++i)
    {
      os << (i ? ", " : "") << values[i];
    }
    os << "]" << std::endl;
  };
  os << indent << "NumberOfClasses: " << m_NumberOfClasses << std::endl;
  os << indent << "UseForegroundThreshold: " << (m_UseForegroundThreshold ? "On" : "Off") << std::endl;
  os << indent << "ForegroundThreshold: " << m_ForegroundThreshold << std::endl;
  printArray("ClassMeans", m_ClassMeans);
  printArray("ClassCounts", m_ClassCounts);
  printArray("ClassSumsOfSquares", m_ClassSumsOfSquares);
  printArray("Thresholds", m_Thresholds);
  printArray("WithinClassSumOfSquaresForEachK", m_WithinClassSumOfSquaresForEachK);
  os << indent << "WithinClassSumOfSquares: " << m_WithinClassSumOfSquares << std::endl;
  os << indent << "OptimalityGap: " << m_OptimalityGap << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_NumberOfClassifiedPixels << std::endl;
}
} // namespace itk

#endif
