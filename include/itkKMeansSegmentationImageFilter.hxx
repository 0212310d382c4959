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
  const std::string mismatch = KMeansSegmentationDetail::DescribeMaskMismatch(
    this->GetInput(), this->GetMaskImage(), this->GetCoordinateTolerance(), this->GetDirectionTolerance());
  if (!mismatch.empty())
  {
    itkExceptionMacro(<< mismatch);
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

  m_Model = KMeansIntensityModel{};
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
  try
  {
    m_Model = KMeansIntensityModel::Fit(histogram.GetCounts(), m_NumberOfClasses);
  }
  catch (const std::invalid_argument & error)
  {
    itkExceptionMacro(<< error.what());
  }

  // Labeling: a look-up table from histogram bin to label (KMeansLabelImageFilter's, on the whole region).
  output->SetBufferedRegion(output->GetRequestedRegion());
  output->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(output); // before the labeling pass first writes it
  const std::vector<OutputPixelType> table = m_Model.MakeLookUpTable<OutputPixelType>();
  const SizeValueType                totalPixels = region.GetNumberOfPixels();
  threader->template ParallelizeImageRegion<ImageDimension>(
    region,
    [&](const OutputRegionType & piece) {
      TotalProgressReporter progress(this, totalPixels, 100, 0.5f);
      KMeansSegmentationDetail::LabelRegion(input, mask, output, piece, table.data(), m_Model.Binning, progress);
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
  printArray("ClassMeans", m_Model.ClassMeans);
  printArray("ClassCounts", m_Model.ClassCounts);
  printArray("ClassSumsOfSquares", m_Model.ClassSumsOfSquares);
  printArray("Thresholds", m_Model.Thresholds);
  printArray("WithinClassSumOfSquaresForEachK", m_Model.WithinClassSumOfSquaresForEachK);
  printArray("ClassFirstBins", m_Model.ClassFirstBins);
  os << indent << "WithinClassSumOfSquares: " << m_Model.WithinClassSumOfSquares << std::endl;
  os << indent << "OptimalityGap: " << m_Model.OptimalityGap << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_Model.NumberOfClassifiedPixels << std::endl;
}
} // namespace itk

#endif
