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
#ifndef itkKMeansSegmentationPreview_h
#define itkKMeansSegmentationPreview_h

#include "itkImage.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace itk
{
/** \brief Looking at a segmentation with VTK: a preview picture, files for ParaView and an interactive viewer.
 *
 * Every function takes a KMeansPreview::Segmentation: the intensity image and the label image (label 0 =
 * not classified, 1..K = classes) as 3-D images (a 2-D scan is a 3-D image of one slice, see ToPreviewImage()),
 * plus the name, colour, voxel count, volume and mean of each class and the decision thresholds.
 * MakeSegmentation() fills all of it from the two images.
 *
 * Coordinates: VTK outputs use ITK's physical coordinates unchanged, i.e. LPS (x towards the patient's left,
 * y towards posterior, z towards superior; DICOM's patient coordinate system), in millimetres. The `.vti`
 * file keeps ITK's origin, spacing and direction; every file carries a field-data string
 * "CoordinateSystem" = "LPS". (3D Slicer shows RAS; its `.seg.nrrd` files are LPS as well.)
 *
 * Rendering needs an X server (VTK 9.1 from Debian renders through GLX): without a display run under
 * `xvfb-run -a`. Functions that render throw an itk::ExceptionObject when DISPLAY is not set.
 *
 * \ingroup KMeansSegmentation
 */
namespace KMeansPreview
{
using ImageType = Image<float, 3>;
using LabelImageType = Image<unsigned char, 3>;

/** What the preview shows of one class. */
struct ClassSummary
{
  unsigned int          Label{ 0 };
  std::string           Name;
  std::array<double, 3> Color{ { 1.0, 1.0, 1.0 } }; ///< RGB in 0..1
  std::uint64_t         Count{ 0 };                  ///< number of voxels with this label
  double                VolumeML{ 0.0 };             ///< Count times the voxel volume, in mL
  double                Mean{ 0.0 };                 ///< mean intensity of the class
};

/** A segmentation to show. Thresholds: the K-1 decision thresholds between consecutive classes (may be empty). */
struct Segmentation
{
  ImageType::ConstPointer      Image;
  LabelImageType::ConstPointer Labels;
  std::vector<ClassSummary>    Classes;
  std::vector<double>          Thresholds;
  std::string                  Title; ///< shown on the picture and in the window title (e.g. the input file name)
};

/** Picture and viewer options. */
struct RenderOptions
{
  unsigned int Width{ 1600 };
  unsigned int Height{ 1000 };
  double       OverlayOpacity{ 0.3 }; ///< of the class colours over the scan (their outlines are opaque)
};

/** Count, volume (mL) and mean intensity of every label 1..numberOfClasses, with the names and colours of
 * itk::KMeansClassColors (tissue names when tissues is true and K = 3). numberOfClasses 0 means the largest
 * label in the image. Throws when the two images differ in size. */
std::vector<ClassSummary>
SummarizeClasses(const ImageType * image, const LabelImageType * labels, unsigned int numberOfClasses = 0, bool tissues = false);

/** Midpoints between the means of consecutive classes (the K-means decision thresholds). */
std::vector<double>
MidpointThresholds(const std::vector<ClassSummary> & classes);

/** A complete Segmentation from the two images (SummarizeClasses() and MidpointThresholds()). */
Segmentation
MakeSegmentation(const ImageType *      image,
                 const LabelImageType * labels,
                 unsigned int           numberOfClasses = 0,
                 bool                   tissues = false,
                 const std::string &    title = "");

/** True when the images have a single slice (a 2-D scan): the picture then shows the slice, the overlay and the
 * histogram, and no surfaces. */
bool
IsTwoDimensional(const Segmentation & segmentation);

/** Render one picture of the segmentation and write it as PNG (atomically: a temporary file in the same
 * directory renamed at the end). 3-D: the axial, coronal and sagittal slices through the middle of the labelled
 * bounding box with the label overlay, the class surfaces in 3-D (cut open by one octant), the intensity
 * histogram of the classified voxels coloured by class with the class means (solid) and thresholds (dashed),
 * and a legend with names, colours, volumes and means. Throws itk::ExceptionObject on failure. */
void
RenderPreviewPNG(const Segmentation & segmentation, const std::string & fileName, const RenderOptions & options = {});

/** The files written by WriteParaViewFiles(). */
struct ParaViewFiles
{
  std::string              ImageFile;      ///< .vti: "Intensity" and "Labels" point-data arrays
  std::vector<std::string> SurfaceFiles;   ///< one .vtp per class that has voxels
  std::string              MultiBlockFile; ///< .vtm opening all of them together
  std::string              ScriptFile;     ///< open-in-paraview.py: opens them with the right display settings
};

/** Write files that ParaView opens directly into directory (created if missing): baseName.vti, baseName_<class>.vtp
 * (smoothed surface of each class: vtkDiscreteFlyingEdges3D + vtkWindowedSincPolyDataFilter, with field data
 * "ClassName", "ClassLabel", "ClassColor", "VolumeML", "CoordinateSystem" and a per-point "Color" array) and
 * baseName.vtm, and open-in-paraview.py, a ParaView Python script (paraview --script=..., or pvpython ...
 * --screenshot FILE) that shows the scan as a grey slice and each surface in its colour (the "Color" array as RGB,
 * Map Scalars off): opened as they are, ParaView draws the .vtm's image block as an opaque box and the surfaces
 * white. Each file is written to a temporary name and renamed. No surfaces for a 2-D input. */
ParaViewFiles
WriteParaViewFiles(const Segmentation & segmentation, const std::string & directory, const std::string & baseName = "segmentation");

/** Viewer options: with ScreenshotFile set, render once, save the window as PNG and return (no interaction). */
struct ViewerOptions
{
  RenderOptions Render{ 1400, 900, 0.5 };
  std::string   ScreenshotFile;
};

/** The interactive viewer: axial, coronal and sagittal slices with the overlay and the 3-D surfaces.
 * Keys: Up/Down or mouse wheel over a slice = next/previous slice; +/- = overlay opacity; 1..9 = class on/off;
 * 0 = all classes on; o = overlay on/off; r = reset the 3-D camera; h = help; q = quit.
 * Returns 0 after the window is closed (or the screenshot saved); throws on failure. */
int
ShowViewer(const Segmentation & segmentation, const ViewerOptions & options = {});

/** Any 2-D or 3-D scalar ITK image as the preview's float image (a 2-D image becomes one slice with its
 * origin, spacing and direction embedded in 3-D). */
template <typename TImage>
ImageType::Pointer
ToPreviewImage(const TImage * input);

/** Any 2-D or 3-D integer label image as the preview's label image (labels above 255 are not supported). */
template <typename TImage>
LabelImageType::Pointer
ToPreviewLabels(const TImage * input);

namespace Detail
{
template <typename TOutput, typename TInput>
typename TOutput::Pointer
ToVolume(const TInput * input)
{
  constexpr unsigned int InputDimension = TInput::ImageDimension;
  static_assert(InputDimension == 2 || InputDimension == 3, "only 2-D and 3-D images can be previewed");
  const auto & region = input->GetLargestPossibleRegion();

  typename TOutput::RegionType outputRegion;
  typename TOutput::SpacingType spacing;
  typename TOutput::PointType   origin;
  auto                          direction = TOutput::DirectionType::GetIdentity();
  spacing.Fill(1.0);
  origin.Fill(0.0);
  for (unsigned int d = 0; d < 3; ++d)
  {
    outputRegion.SetIndex(d, d < InputDimension ? region.GetIndex(d) : 0);
    outputRegion.SetSize(d, d < InputDimension ? region.GetSize(d) : 1);
  }
  for (unsigned int d = 0; d < InputDimension; ++d)
  {
    spacing[d] = input->GetSpacing()[d];
    origin[d] = input->GetOrigin()[d];
    for (unsigned int e = 0; e < InputDimension; ++e)
    {
      direction[d][e] = input->GetDirection()[d][e];
    }
  }
  auto output = TOutput::New();
  output->SetRegions(outputRegion);
  output->SetSpacing(spacing);
  output->SetOrigin(origin);
  output->SetDirection(direction);
  output->Allocate();
  ImageRegionConstIterator<TInput>              in(input, region);
  ImageRegionIterator<TOutput>                  out(output, outputRegion);
  using OutputPixelType = typename TOutput::PixelType;
  for (; !in.IsAtEnd(); ++in, ++out)
  {
    out.Set(static_cast<OutputPixelType>(in.Get()));
  }
  return output;
}
} // namespace Detail

template <typename TImage>
ImageType::Pointer
ToPreviewImage(const TImage * input)
{
  return Detail::ToVolume<ImageType>(input);
}

template <typename TImage>
LabelImageType::Pointer
ToPreviewLabels(const TImage * input)
{
  return Detail::ToVolume<LabelImageType>(input);
}

} // namespace KMeansPreview
} // namespace itk

#endif // itkKMeansSegmentationPreview_h
