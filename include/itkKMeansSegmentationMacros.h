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
#ifndef itkKMeansSegmentationMacros_h
#define itkKMeansSegmentationMacros_h

#include "itkImage.h"
#include "itkMacro.h"

#include <type_traits>
#include <vector>

/** ITK 5.4 introduced itkOverrideGetNameOfClassMacro and ITK 6 removes itkTypeMacro; on older ITK the new
 * macro is defined in terms of the old one so that the module's classes compile against 5.2 through 6.0. */
#ifndef itkOverrideGetNameOfClassMacro
#  define itkOverrideGetNameOfClassMacro(thisClass)                                                                   \
    const char * GetNameOfClass() const override { return #thisClass; }                                                \
    ITK_MACROEND_NOOP_STATEMENT
#endif

namespace itk
{
/** \brief The default label image and mask image of the module's filters and estimator for an input image type
 * TInputImage: an image of unsigned char with the input's dimension (labels 0..255, mask non-zero where voxels
 * take part). The filters declare their defaults with it, e.g.
 * KMeansSegmentationImageFilter<TInputImage, TOutputImage = KMeansByteImage<TInputImage>, TMaskImage = ...>.
 * \ingroup KMeansSegmentation */
template <typename TInputImage>
using KMeansByteImage = Image<unsigned char, TInputImage::ImageDimension>;
} // namespace itk

/** The module's process objects are declared with these macros, so that what they share is written once (see
 * also itkKMeansSegmentationFilterSupport.h for the checks behind them). */

/** ITK's preamble of a class: no copy or move, Self, Superclass (the remaining arguments), Pointer, ConstPointer,
 * New() and GetNameOfClass(). */
#define itkKMeansSegmentationObjectMacro(thisClass, ...)                                                              \
  ITK_DISALLOW_COPY_AND_MOVE(thisClass);                                                                              \
  using Self = thisClass;                                                                                              \
  using Superclass = __VA_ARGS__;                                                                                      \
  using Pointer = SmartPointer<Self>;                                                                                  \
  using ConstPointer = SmartPointer<const Self>;                                                                       \
  itkNewMacro(Self);                                                                                                   \
  itkOverrideGetNameOfClassMacro(thisClass)

/** The image types of a filter from an input to a label image with an optional mask, their dimension checks, and
 * the mask input "MaskImage" (SetMaskImage(), GetMaskImage()): only voxels where the mask is non-zero take part. */
#define itkKMeansSegmentationImageTypesMacro(TInputImage, TOutputImage, TMaskImage)                                  \
  static constexpr unsigned int ImageDimension = TInputImage::ImageDimension;                                          \
  using InputImageType = TInputImage;                                                                                  \
  using OutputImageType = TOutputImage;                                                                                \
  using MaskImageType = TMaskImage;                                                                                    \
  using OutputPixelType = typename TOutputImage::PixelType;                                                            \
  using MaskPixelType = typename TMaskImage::PixelType;                                                                \
  itkConceptMacro(OutputIsInteger, (Concept::IsInteger<OutputPixelType>));                                             \
  itkConceptMacro(SameDimension, (Concept::SameDimension<TInputImage::ImageDimension, TOutputImage::ImageDimension>)); \
  itkConceptMacro(MaskSameDimension, (Concept::SameDimension<TInputImage::ImageDimension, TMaskImage::ImageDimension>)); \
  itkSetInputMacro(MaskImage, MaskImageType);                                                                          \
  itkGetInputMacro(MaskImage, MaskImageType)

/** The preamble of a filter from TInputImage to a label image TOutputImage with an optional mask TMaskImage
 * (superclass ImageToImageFilter<TInputImage, TOutputImage>): itkKMeansSegmentationObjectMacro and
 * itkKMeansSegmentationImageTypesMacro. */
#define itkKMeansSegmentationFilterMacro(thisClass, TInputImage, TOutputImage, TMaskImage)                            \
  itkKMeansSegmentationObjectMacro(thisClass, ImageToImageFilter<TInputImage, TOutputImage>);                          \
  itkKMeansSegmentationImageTypesMacro(TInputImage, TOutputImage, TMaskImage)

/** The preamble of a filter from a scalar image TInputImage to a label image (itkKMeansSegmentationFilterMacro)
 * that segments it on its intensity histogram: InputPixelType (checked to be scalar), HistogramType
 * (IntensityLevelHistogram), ValueArrayType, NumberOfClasses (SetNumberOfClasses(), GetNumberOfClasses(); the
 * class declares m_NumberOfClasses) and the foreground threshold (itkKMeansForegroundThresholdMacro). The filter
 * includes itkIntensityLevelHistogram.h. */
#define itkKMeansScalarSegmentationFilterMacro(thisClass, TInputImage, TOutputImage, TMaskImage)                      \
  itkKMeansSegmentationFilterMacro(thisClass, TInputImage, TOutputImage, TMaskImage);                                  \
  using InputPixelType = typename TInputImage::PixelType;                                                              \
  using HistogramType = IntensityLevelHistogram<TInputImage, TMaskImage>;                                              \
  using ValueArrayType = std::vector<double>;                                                                          \
  static_assert(std::is_arithmetic<InputPixelType>::value, #thisClass " needs a scalar input");                       \
  itkSetMacro(NumberOfClasses, unsigned int);                                                                          \
  itkGetConstMacro(NumberOfClasses, unsigned int);                                                                     \
  itkKMeansForegroundThresholdMacro()

/** UseForegroundThreshold (default off) and ForegroundThreshold: when on, only voxels with intensity strictly
 * above the threshold take part (skull-stripped scans mark background with 0: threshold 0). */
#define itkKMeansForegroundThresholdMacro()                                                                           \
  itkSetMacro(UseForegroundThreshold, bool);                                                                           \
  itkGetConstMacro(UseForegroundThreshold, bool);                                                                      \
  itkBooleanMacro(UseForegroundThreshold);                                                                             \
  itkSetMacro(ForegroundThreshold, double);                                                                            \
  itkGetConstMacro(ForegroundThreshold, double)

/** VerifyInputInformation(): the mask must have the input's size, start index and physical space. */
#define itkKMeansMaskGeometryCheckMacro()                                                                             \
  void VerifyInputInformation() const override { KMeansSegmentationDetail::VerifyMaskGeometry(this); }                 \
  ITK_MACROEND_NOOP_STATEMENT

/** A filter whose result depends on every voxel: it requests its whole input and mask and produces its whole
 * output. */
#define itkKMeansWholeImageRegionsMacro()                                                                             \
  void GenerateInputRequestedRegion() override                                                                         \
  {                                                                                                                    \
    Superclass::GenerateInputRequestedRegion();                                                                        \
    KMeansSegmentationDetail::RequestLargestPossibleRegions(this);                                                     \
  }                                                                                                                    \
  void EnlargeOutputRequestedRegion(DataObject * output) override                                                      \
  {                                                                                                                    \
    Superclass::EnlargeOutputRequestedRegion(output);                                                                  \
    output->SetRequestedRegionToLargestPossibleRegion();                                                               \
  }                                                                                                                    \
  ITK_MACROEND_NOOP_STATEMENT

/** A filter that needs its whole image: the mask geometry check and the whole-image requests. */
#define itkKMeansWholeImageFilterMacro()                                                                              \
  itkKMeansMaskGeometryCheckMacro();                                                                                   \
  itkKMeansWholeImageRegionsMacro()

#endif
