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
#ifndef itkKMeansLabelImageFilter_hxx
#define itkKMeansLabelImageFilter_hxx

#include "itkImageScanlineConstIterator.h"
#include "itkNumericTraits.h"

#include <sstream>
#include <stdexcept>

namespace itk
{
namespace KMeansSegmentationDetail
{
template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
LabelRegion(const TInputImage *                       input,
            const TMaskImage *                        mask,
            TOutputImage *                            output,
            const typename TOutputImage::RegionType & region,
            const typename TOutputImage::PixelType *  lut,
            const IntensityBinning &                  binning,
            TotalProgressReporter &                   progress)
{
  using InputPixelType = typename TInputImage::PixelType;
  using OutputPixelType = typename TOutputImage::PixelType;
  using MaskPixelType = typename TMaskImage::PixelType;
  if (region.GetNumberOfPixels() == 0)
  {
    return;
  }
  // Integer types of at most 16 bits have one exact bin per value, with the foreground threshold folded into
  // the table: labeling needs no per-voxel test but the mask.
  constexpr bool smallInteger = std::is_integral<InputPixelType>::value && sizeof(InputPixelType) <= 2;
  std::ptrdiff_t lowest = 0;
  if constexpr (smallInteger)
  {
    lowest = static_cast<std::ptrdiff_t>(NumericTraits<InputPixelType>::NonpositiveMin());
  }
  const SizeValueType                     n = region.GetSize(0);
  ImageScanlineConstIterator<TInputImage> it(input, region);
  for (; !it.IsAtEnd(); it.NextLine())
  {
    progress.CheckAbortGenerateData();
    const auto &            index = it.GetIndex();
    const InputPixelType *  p = input->GetBufferPointer() + input->ComputeOffset(index);
    const MaskPixelType *   m = mask ? mask->GetBufferPointer() + mask->ComputeOffset(index) : nullptr;
    OutputPixelType *       o = output->GetBufferPointer() + output->ComputeOffset(index);
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
        const auto v = static_cast<double>(p[i]);
        o[i] = (m == nullptr || m[i] != MaskPixelType{}) && binning.Includes(v) ? labels[binning.Bin(v)]
                                                                                : OutputPixelType{};
      }
    }
    progress.Completed(n);
  }
}

} // namespace KMeansSegmentationDetail

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
KMeansLabelImageFilter<TInputImage, TOutputImage, TMaskImage>::KMeansLabelImageFilter()
{
  this->SetNumberOfRequiredInputs(1);
  this->AddOptionalInputName("MaskImage");
  this->DynamicMultiThreadingOn();
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansLabelImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  if (m_Model.NumberOfClasses == 0)
  {
    itkExceptionMacro(<< "no model: call SetModel() with a fitted KMeansIntensityModel");
  }
  try
  {
    m_Model.Validate();
  }
  catch (const std::invalid_argument & error)
  {
    itkExceptionMacro(<< "invalid model: " << error.what());
  }
  const std::string pixelType = KMeansPixelTypeName<InputPixelType>();
  if (m_Model.PixelType != pixelType)
  {
    itkExceptionMacro(<< "the model was fitted on " << m_Model.PixelType << " images, the input is " << pixelType);
  }
  const auto maximumLabel = static_cast<unsigned long long>(NumericTraits<OutputPixelType>::max());
  if (m_Model.NumberOfClasses > maximumLabel)
  {
    itkExceptionMacro(<< "the model has " << m_Model.NumberOfClasses
                      << " classes, more than the output pixel type holds (" << maximumLabel << ")");
  }
  if constexpr (std::is_integral<InputPixelType>::value && sizeof(InputPixelType) <= 2)
  {
    const auto & b = m_Model.Binning;
    if (!b.GetExact() || b.GetOrigin() != static_cast<double>(NumericTraits<InputPixelType>::NonpositiveMin()) ||
        b.GetNumberOfBins() != (std::size_t{ 1 } << (8 * sizeof(InputPixelType))))
    {
      itkExceptionMacro(<< "the model's bins (" << b.GetNumberOfBins() << " from " << b.GetOrigin()
                        << ") are not one per " << pixelType << " value");
    }
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansLabelImageFilter<TInputImage, TOutputImage, TMaskImage>::BeforeThreadedGenerateData()
{
  m_LookUpTable = m_Model.MakeLookUpTable<OutputPixelType>();
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansLabelImageFilter<TInputImage, TOutputImage, TMaskImage>::DynamicThreadedGenerateData(
  const OutputRegionType & region)
{
  TotalProgressReporter progress(this, this->GetOutput()->GetRequestedRegion().GetNumberOfPixels());
  KMeansSegmentationDetail::LabelRegion(
    this->GetInput(), this->GetMaskImage(), this->GetOutput(), region, m_LookUpTable.data(), m_Model.Binning, progress);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
KMeansLabelImageFilter<TInputImage, TOutputImage, TMaskImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Model: " << m_Model.NumberOfClasses << " classes of " << m_Model.PixelType << " intensities, "
     << m_Model.Binning.GetNumberOfBins() << (m_Model.Binning.GetExact() ? " exact" : "") << " bins of width "
     << m_Model.Binning.GetBinWidth() << " from " << m_Model.Binning.GetOrigin() << std::endl;
  os << indent << "LookUpTable: " << m_LookUpTable.size() << " entries" << std::endl;
}
} // namespace itk

#endif
