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
#ifndef itkKMeansSegmentationFilterSupport_h
#define itkKMeansSegmentationFilterSupport_h

#include "itkIndent.h"
#include "itkLightObject.h"
#include "itkMacro.h"
#include "itkNumericTraits.h"

#include <cmath>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>

namespace itk
{
namespace KMeansSegmentationDetail
{
/** What every process object of the module (KMeansSegmentationImageFilter, GaussianMixtureSegmentationImageFilter,
 * MultiChannelKMeansSegmentationImageFilter, KMeansLabelImageFilter, KMeansSegmentationEstimator) checks and does
 * the same way: one place for the mask, foreground threshold and number-of-classes rules and their messages, and
 * for the whole-image requests of the filters that need the whole image. */

/** Throws itk::ExceptionObject with message, prefixed as itkExceptionMacro prefixes it (class name and address of
 * self), unless message is empty. */
inline void
ThrowIfNotEmpty(const LightObject * self, const std::string & message)
{
  if (message.empty())
  {
    return;
  }
  std::ostringstream description;
  description << "itk::ERROR: " << self->GetNameOfClass() << "(" << self << "): " << message;
  throw ExceptionObject(__FILE__, __LINE__, description.str().c_str(), ITK_LOCATION);
}

/** Why classes classes (named name) cannot be labelled 1..K in TOutputPixel, or "". */
template <typename TOutputPixel>
std::string
DescribeBadNumberOfClasses(const char * name, unsigned int classes)
{
  const auto         maximumLabel = static_cast<unsigned long long>(NumericTraits<TOutputPixel>::max());
  std::ostringstream message;
  if (classes < 1)
  {
    message << name << " is " << classes << "; it must be at least 1";
  }
  else if (classes > maximumLabel)
  {
    message << name << " is " << classes << ", more than the output pixel type holds (" << maximumLabel << ")";
  }
  return message.str();
}

/** Why the foreground threshold cannot be used (not finite while in use), or "". */
inline std::string
DescribeBadForegroundThreshold(bool useForegroundThreshold, double foregroundThreshold)
{
  std::ostringstream message;
  if (useForegroundThreshold && !std::isfinite(foregroundThreshold))
  {
    message << "ForegroundThreshold is " << foregroundThreshold << "; it must be finite";
  }
  return message.str();
}

/** The scalar filters' and the estimator's checks of their settings: the number of classes (when name is not
 * null) and the foreground threshold. */
template <typename TOutputPixel>
void
VerifyScalarSettings(const LightObject * self,
                     const char *        name,
                     unsigned int        classes,
                     bool                useForegroundThreshold,
                     double              foregroundThreshold)
{
  if (name != nullptr)
  {
    ThrowIfNotEmpty(self, DescribeBadNumberOfClasses<TOutputPixel>(name, classes));
  }
  ThrowIfNotEmpty(self, DescribeBadForegroundThreshold(useForegroundThreshold, foregroundThreshold));
}

/** Why mask cannot go with input (size, start index, origin, spacing, direction), or "" when it can (or when
 * either is missing). The one mask check of every scalar filter of the module. */
template <typename TInputImage, typename TMaskImage>
std::string
DescribeMaskMismatch(const TInputImage * input,
                     const TMaskImage *  mask,
                     double              coordinateTolerance,
                     double              directionTolerance)
{
  std::ostringstream message;
  if (input == nullptr || mask == nullptr)
  {
    return message.str();
  }
  const auto &       inputRegion = input->GetLargestPossibleRegion();
  const auto &       maskRegion = mask->GetLargestPossibleRegion();
  if (inputRegion.GetSize() != maskRegion.GetSize())
  {
    message << "mask size " << maskRegion.GetSize() << " differs from input size " << inputRegion.GetSize();
    return message.str();
  }
  if (inputRegion.GetIndex() != maskRegion.GetIndex())
  {
    message << "mask start index " << maskRegion.GetIndex() << " differs from input start index "
            << inputRegion.GetIndex();
    return message.str();
  }
  const double tolerance = coordinateTolerance * input->GetSpacing()[0];
  for (unsigned int d = 0; d < TInputImage::ImageDimension; ++d)
  {
    if (std::abs(input->GetOrigin()[d] - mask->GetOrigin()[d]) > tolerance ||
        std::abs(input->GetSpacing()[d] - mask->GetSpacing()[d]) > tolerance)
    {
      message << "mask geometry (origin " << mask->GetOrigin() << ", spacing " << mask->GetSpacing()
              << ") differs from input geometry (origin " << input->GetOrigin() << ", spacing "
              << input->GetSpacing() << ")";
      return message.str();
    }
    for (unsigned int e = 0; e < TInputImage::ImageDimension; ++e)
    {
      if (std::abs(input->GetDirection()[d][e] - mask->GetDirection()[d][e]) > directionTolerance)
      {
        message << "mask direction differs from input direction at row " << d << ", column " << e << " ("
                << mask->GetDirection()[d][e] << " vs " << input->GetDirection()[d][e] << ")";
        return message.str();
      }
    }
  }
  return message.str();
}

/** Throws when the mask of process cannot go with its input (DescribeMaskMismatch). */
template <typename TProcess>
void
VerifyMaskGeometry(const TProcess * process)
{
  ThrowIfNotEmpty(process,
                  DescribeMaskMismatch(process->GetInput(),
                                       process->GetMaskImage(),
                                       process->GetCoordinateTolerance(),
                                       process->GetDirectionTolerance()));
}

/** Requests the whole input and mask of process (filters whose result depends on every voxel). */
template <typename TProcess>
void
RequestLargestPossibleRegions(TProcess * process)
{
  using InputType = std::remove_cv_t<std::remove_pointer_t<decltype(process->GetInput())>>;
  using MaskType = std::remove_cv_t<std::remove_pointer_t<decltype(process->GetMaskImage())>>;
  if (auto * input = const_cast<InputType *>(process->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * mask = const_cast<MaskType *>(process->GetMaskImage()))
  {
    mask->SetRequestedRegionToLargestPossibleRegion();
  }
}

/** PrintSelf line of an array: "name: [v0, v1, ...]". */
template <typename TArray>
void
PrintArray(std::ostream & os, Indent indent, const char * name, const TArray & values)
{
  os << indent << name << ": [";
  for (std::size_t i = 0; i < values.size(); ++i)
  {
    os << (i ? ", " : "") << values[i];
  }
  os << "]" << std::endl;
}

/** PrintSelf lines of the foreground threshold. */
inline void
PrintForegroundThreshold(std::ostream & os, Indent indent, bool useForegroundThreshold, double foregroundThreshold)
{
  os << indent << "UseForegroundThreshold: " << (useForegroundThreshold ? "On" : "Off") << std::endl;
  os << indent << "ForegroundThreshold: " << foregroundThreshold << std::endl;
}
} // namespace KMeansSegmentationDetail
} // namespace itk

#endif
