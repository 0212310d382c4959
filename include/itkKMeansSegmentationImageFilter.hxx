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
#include "itkTotalProgressReporter.h"

#include <algorithm>
#include <limits>

namespace itk
{
template <typename TInputImage, typename TOutputImage, typename TMaskImage>
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::KMeansSegmentationImageFilter()
{
  this->AddOptionalInputName("MaskImage"); // the input is required (ImageToImageFilter)
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  KMeansSegmentationDetail::VerifyScalarSettings<OutputPixelType>(
    this, "NumberOfClasses", m_NumberOfClasses, m_UseForegroundThreshold, m_ForegroundThreshold);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateData()
{
  const auto images = KMeansSegmentationDetail::BeginGenerateData(this);
  m_Model = KMeansIntensityModel{};

  // Estimation: histogram of the voxels that take part, then the exact dynamic program.
  HistogramType histogram;
  histogram.SetForegroundThreshold(m_UseForegroundThreshold, m_ForegroundThreshold);
  // Progress: 45 % histogram, 50 % labeling (weights below 1 in total, as increments are rounded).
  histogram.Compute(images.Input, images.Mask, images.Region, this->GetMultiThreader(), this, 0.45f);
  if (histogram.GetNumberOfSamples() == 0)
  {
    itkExceptionMacro(<< histogram.DescribeNoSamples(images.Mask != nullptr));
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
  KMeansSegmentationDetail::AllocateWholeOutput(images.Output); // advised before the labeling pass writes it
  const std::vector<OutputPixelType> table = m_Model.MakeLookUpTable<OutputPixelType>();
  const SizeValueType                totalPixels = images.Region.GetNumberOfPixels();
  this->GetMultiThreader()->template ParallelizeImageRegion<ImageDimension>(
    images.Region,
    [&](const OutputRegionType & piece) {
      TotalProgressReporter progress(this, totalPixels, 100, 0.5f);
      KMeansSegmentationDetail::LabelRegion(
        images.Input, images.Mask, images.Output, piece, table.data(), m_Model.Binning, progress);
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
  KMeansSegmentationDetail::PrintScalarSettings(
    os, indent, m_NumberOfClasses, m_UseForegroundThreshold, m_ForegroundThreshold);
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassMeans", m_Model.ClassMeans);
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassCounts", m_Model.ClassCounts);
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassSumsOfSquares", m_Model.ClassSumsOfSquares);
  KMeansSegmentationDetail::PrintArray(os, indent, "Thresholds", m_Model.Thresholds);
  KMeansSegmentationDetail::PrintArray(os, indent, "WithinClassSumOfSquaresForEachK", m_Model.WithinClassSumOfSquaresForEachK);
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassFirstBins", m_Model.ClassFirstBins);
  os << indent << "WithinClassSumOfSquares: " << m_Model.WithinClassSumOfSquares << std::endl;
  os << indent << "OptimalityGap: " << m_Model.OptimalityGap << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_Model.NumberOfClassifiedPixels << std::endl;
}
} // namespace itk

#endif
