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
#include "itkKMeansSegmentationMemory.h"
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
 * the same way: one place for the mask, foreground threshold and number-of-classes rules and their messages, for
 * the geometry check of masks and channels, for the whole-image requests of the filters that need the whole image,
 * for the opening of their GenerateData() (images, work units, output buffers) and for PrintSelf() lines. */

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

/** "[v0, v1, ...]": the first n values. */
template <typename TValues>
std::string
JoinValues(const TValues & values, std::size_t n)
{
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < n; ++i)
  {
    os << (i ? ", " : "") << values[i];
  }
  os << "]";
  return os.str();
}

/** One line that names an image's geometry: "size [..], start index [..], origin [..], spacing [..], direction
 * [[row 0], [row 1], ...]". */
template <typename TImage>
std::string
DescribeGeometry(const TImage * image)
{
  constexpr unsigned int D = TImage::ImageDimension;
  const auto &           region = image->GetLargestPossibleRegion();
  std::ostringstream     os;
  os << "size " << JoinValues(region.GetSize(), D) << ", start index " << JoinValues(region.GetIndex(), D)
     << ", origin " << JoinValues(image->GetOrigin(), D) << ", spacing " << JoinValues(image->GetSpacing(), D)
     << ", direction [";
  for (unsigned int r = 0; r < D; ++r)
  {
    os << (r ? ", " : "") << JoinValues(image->GetDirection()[r], D);
  }
  os << "]";
  return os.str();
}

/** How the geometry of image (called name in the message) differs from that of reference (referenceName), or ""
 * when it does not. Compared as ITK's ImageToImageFilter compares its inputs: size, start index, then for each
 * dimension d the origin and spacing (within coordinateTolerance times the reference's first spacing) and row d
 * of the direction (within directionTolerance). The message names the first difference ("mask size [4, 3]
 * differs from input size [4, 4]"), or with wholeGeometry both geometries in full ("mask geometry (size ...,
 * direction ...) differs from input geometry (...)", see DescribeGeometry()). The one geometry check of the
 * module: masks against inputs, and the channels of a multi-channel image against each other. */
template <typename TImage, typename TReference>
std::string
DescribeGeometryMismatch(const TImage *      image,
                         const std::string & name,
                         const TReference *  reference,
                         const std::string & referenceName,
                         double              coordinateTolerance,
                         double              directionTolerance,
                         bool                wholeGeometry)
{
  static_assert(TImage::ImageDimension == TReference::ImageDimension, "images of one dimension only");
  const auto &       region = image->GetLargestPossibleRegion();
  const auto &       referenceRegion = reference->GetLargestPossibleRegion();
  const double       tolerance = coordinateTolerance * reference->GetSpacing()[0];
  std::ostringstream message;
  if (region.GetSize() != referenceRegion.GetSize())
  {
    message << name << " size " << region.GetSize() << " differs from " << referenceName << " size "
            << referenceRegion.GetSize();
  }
  else if (region.GetIndex() != referenceRegion.GetIndex())
  {
    message << name << " start index " << region.GetIndex() << " differs from " << referenceName
            << " start index " << referenceRegion.GetIndex();
  }
  for (unsigned int d = 0; d < TImage::ImageDimension && message.tellp() == 0; ++d)
  {
    if (std::abs(image->GetOrigin()[d] - reference->GetOrigin()[d]) > tolerance ||
        std::abs(image->GetSpacing()[d] - reference->GetSpacing()[d]) > tolerance)
    {
      message << name << " geometry (origin " << image->GetOrigin() << ", spacing " << image->GetSpacing()
              << ") differs from " << referenceName << " geometry (origin " << reference->GetOrigin()
              << ", spacing " << reference->GetSpacing() << ")";
    }
    for (unsigned int e = 0; e < TImage::ImageDimension && message.tellp() == 0; ++e)
    {
      const double value = image->GetDirection()[d][e];
      const double referenceValue = reference->GetDirection()[d][e];
      if (std::abs(value - referenceValue) > directionTolerance)
      {
        message << name << " direction differs from " << referenceName << " direction at row " << d
                << ", column " << e << " (" << value << " vs " << referenceValue << ")";
      }
    }
  }
  if (wholeGeometry && message.tellp() > 0)
  {
    return name + " geometry (" + DescribeGeometry(image) + ") differs from " + referenceName + " geometry (" +
           DescribeGeometry(reference) + ")";
  }
  return message.str();
}

/** Throws when the mask of process cannot go with its input (DescribeGeometryMismatch() with the process's
 * tolerances; wholeGeometry chooses the wording); nothing when either is missing. */
template <typename TProcess>
void
VerifyMaskGeometry(const TProcess * process, bool wholeGeometry = false)
{
  if (process->GetInput() != nullptr && process->GetMaskImage() != nullptr)
  {
    ThrowIfNotEmpty(process,
                    DescribeGeometryMismatch(process->GetMaskImage(),
                                             "mask",
                                             process->GetInput(),
                                             "input",
                                             process->GetCoordinateTolerance(),
                                             process->GetDirectionTolerance(),
                                             wholeGeometry));
  }
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

/** The images a whole-image filter's GenerateData() works on: its input, its mask (null when none is set), its
 * label output, and the region all three cover (the input's largest possible region). */
template <typename TFilter>
struct FilterImages
{
  const typename TFilter::InputImageType *     Input;
  const typename TFilter::MaskImageType *      Mask;
  typename TFilter::OutputImageType *          Output;
  typename TFilter::InputImageType::RegionType Region;
};

/** What GenerateData() of the module's whole-image filters starts with: sets the filter's multithreader
 * (GetMultiThreader()) to the filter's number of work units and returns the filter's images. */
template <typename TFilter>
FilterImages<TFilter>
BeginGenerateData(TFilter * filter)
{
  filter->GetMultiThreader()->SetNumberOfWorkUnits(filter->GetNumberOfWorkUnits());
  const auto * input = filter->GetInput();
  return { input, filter->GetMaskImage(), filter->GetOutput(), input->GetLargestPossibleRegion() };
}

/** Allocates the buffer of a whole-image filter's output image for its largest possible region, uninitialised,
 * advises huge pages for it before it is first written (KMeansSegmentationMemory), and returns the buffer. */
template <typename TImage>
auto
AllocateWholeOutput(TImage * image)
{
  image->SetBufferedRegion(image->GetLargestPossibleRegion());
  image->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(image);
  return image->GetBufferPointer();
}

/** The same for a VectorImage output with components components per pixel. */
template <typename TImage>
auto
AllocateWholeOutput(TImage * image, unsigned int components)
{
  image->SetNumberOfComponentsPerPixel(components);
  return AllocateWholeOutput(image);
}

/** PrintSelf line of an array: "name: [v0, v1, ...]". */
template <typename TArray>
void
PrintArray(std::ostream & os, Indent indent, const char * name, const TArray & values)
{
  os << indent << name << ": " << JoinValues(values, values.size()) << std::endl;
}

/** PrintSelf lines of the settings of itkKMeansScalarSegmentationFilterMacro (and of the estimator): the number of
 * classes and the foreground threshold. */
inline void
PrintScalarSettings(std::ostream & os,
                    Indent         indent,
                    unsigned int   numberOfClasses,
                    bool           useForegroundThreshold,
                    double         foregroundThreshold)
{
  os << indent << "NumberOfClasses: " << numberOfClasses << std::endl;
  os << indent << "UseForegroundThreshold: " << (useForegroundThreshold ? "On" : "Off") << std::endl;
  os << indent << "ForegroundThreshold: " << foregroundThreshold << std::endl;
}
} // namespace KMeansSegmentationDetail
} // namespace itk

#endif
