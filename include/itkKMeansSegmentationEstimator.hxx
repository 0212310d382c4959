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
#ifndef itkKMeansSegmentationEstimator_hxx
#define itkKMeansSegmentationEstimator_hxx

#include "itkKMeansLabelImageFilter.h"

#include <stdexcept>

namespace itk
{
template <typename TInputImage, typename TMaskImage>
KMeansSegmentationEstimator<TInputImage, TMaskImage>::KMeansSegmentationEstimator()
{
  this->AddOptionalInputName("MaskImage");
}

template <typename TInputImage, typename TMaskImage>
void
KMeansSegmentationEstimator<TInputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  KMeansSegmentationDetail::ThrowIfNotEmpty(
    this, KMeansSegmentationDetail::DescribeBadForegroundThreshold(m_UseForegroundThreshold, m_ForegroundThreshold));
  if (this->GetNumberOfStreamDivisions() < 1)
  {
    itkExceptionMacro(<< "NumberOfStreamDivisions is 0; it must be at least 1");
  }
}

template <typename TInputImage, typename TMaskImage>
void
KMeansSegmentationEstimator<TInputImage, TMaskImage>::Update()
{
  m_Histogram = HistogramType{};
  m_Histogram.SetForegroundThreshold(m_UseForegroundThreshold, m_ForegroundThreshold);
  m_Model = KMeansIntensityModel{};
  m_Range = IntensityRange{};
  m_NumberOfPasses = 0;
  if constexpr (!HistogramType::HasFixedBins)
  {
    // The bins depend on the range of the voxels that take part: one pass for it first.
    m_Pass = Pass::Range;
    Superclass::Update();
    ++m_NumberOfPasses;
    if (m_Range.Count == 0)
    {
      itkExceptionMacro(<< m_Histogram.DescribeNoSamples(this->GetMaskImage() != nullptr));
    }
  }
  m_Pass = Pass::Count;
  Superclass::Update();
  ++m_NumberOfPasses;
}

template <typename TInputImage, typename TMaskImage>
void
KMeansSegmentationEstimator<TInputImage, TMaskImage>::BeforeStreamedGenerateData()
{
  Superclass::BeforeStreamedGenerateData();
  if (m_Pass == Pass::Count)
  {
    m_Counts = m_Histogram.MakeCounts(m_Range);
  }
}

template <typename TInputImage, typename TMaskImage>
void
KMeansSegmentationEstimator<TInputImage, TMaskImage>::ThreadedStreamedGenerateData(
  const InputImageRegionType & region)
{
  const TInputImage * input = this->GetInput();
  const TMaskImage *  mask = this->GetMaskImage();
  if (m_Pass == Pass::Range)
  {
    const IntensityRange range = m_Histogram.MeasureRange(input, mask, region);
    const std::lock_guard<std::mutex> lock(m_Mutex);
    m_Range.Merge(range);
    return;
  }
  // Integer sums: the order in which pieces and threads add up does not matter.
  IntensityHistogramCounts counts = m_Histogram.MakeCounts(m_Range);
  m_Histogram.CountRegion(input, mask, region, counts, nullptr);
  const std::lock_guard<std::mutex> lock(m_Mutex);
  m_Counts.Add(counts);
}

template <typename TInputImage, typename TMaskImage>
void
KMeansSegmentationEstimator<TInputImage, TMaskImage>::AfterStreamedGenerateData()
{
  Superclass::AfterStreamedGenerateData();
  m_NumberOfPieces = this->GetNumberOfInputRequestedRegions();
  if (m_Pass != Pass::Count)
  {
    return;
  }
  m_Histogram.SetCounts(std::move(m_Counts));
  m_Counts = IntensityHistogramCounts{};
  if (m_Histogram.GetNumberOfSamples() == 0)
  {
    itkExceptionMacro(<< m_Histogram.DescribeNoSamples(this->GetMaskImage() != nullptr));
  }
  if (m_NumberOfClasses == 0)
  {
    return;
  }
  try
  {
    if (!m_GaussianMixture)
    {
      m_Model = KMeansIntensityModel::Fit(m_Histogram.GetCounts(), m_NumberOfClasses);
      return;
    }
    GaussianMixtureOnLevels::Parameters parameters = m_GaussianMixtureParameters;
    parameters.NumberOfClasses = m_NumberOfClasses;
    m_Model = KMeansIntensityModel::FitMixture(m_Histogram.GetCounts(), parameters);
  }
  catch (const std::invalid_argument & error)
  {
    itkExceptionMacro(<< error.what());
  }
  for (std::size_t k = 0; k < m_Model.ClassProportions.size(); ++k)
  {
    if (m_Model.ClassProportions[k] < 1e-3)
    {
      itkExceptionMacro(<< "Gaussian mixture class " << k + 1 << " holds " << m_Model.ClassProportions[k]
                        << " of the voxels (less than 0.001): re-fitting a collapsed class needs the whole image "
                           "(GaussianMixtureSegmentationImageFilter)");
    }
  }
}

template <typename TInputImage, typename TMaskImage>
void
KMeansSegmentationEstimator<TInputImage, TMaskImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  KMeansSegmentationDetail::PrintScalarSettings(
    os, indent, m_NumberOfClasses, m_UseForegroundThreshold, m_ForegroundThreshold);
  os << indent << "GaussianMixture: " << (m_GaussianMixture ? "On" : "Off") << std::endl;
  os << indent << "GaussianMixtureParameters: AutomaticNumberOfClasses "
     << (m_GaussianMixtureParameters.AutomaticNumberOfClasses ? "On" : "Off") << ", MaximumNumberOfClasses "
     << m_GaussianMixtureParameters.MaximumNumberOfClasses << ", MaximumNumberOfIterations "
     << m_GaussianMixtureParameters.MaximumNumberOfIterations << ", ConvergenceThreshold "
     << m_GaussianMixtureParameters.ConvergenceThreshold << ", CommonVariance "
     << (m_GaussianMixtureParameters.CommonVariance ? "On" : "Off") << std::endl;
  os << indent << "NumberOfPieces: " << m_NumberOfPieces << std::endl;
  os << indent << "NumberOfPasses: " << m_NumberOfPasses << std::endl;
  os << indent << "Pass: " << (m_Pass == Pass::Range ? "range" : "count") << std::endl;
  os << indent << "Range: " << m_Range.Minimum << " to " << m_Range.Maximum << " (" << m_Range.Count << " voxels"
     << (m_Range.AllIntegers ? ", all integers" : "") << ")" << std::endl;
  os << indent << "Counts: " << m_Counts.Count.size() << " bins (pass in progress)" << std::endl;
  os << indent << "NumberOfSamples: " << m_Histogram.GetNumberOfSamples() << std::endl;
  os << indent << "Model: " << m_Model.NumberOfClasses << " classes, WCSS " << m_Model.WithinClassSumOfSquares
     << std::endl;
}
} // namespace itk

#endif
