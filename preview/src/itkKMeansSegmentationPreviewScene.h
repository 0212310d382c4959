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
#ifndef itkKMeansSegmentationPreviewScene_h
#define itkKMeansSegmentationPreviewScene_h

// Building blocks shared by the preview picture and the interactive viewer (not installed).

#include "itkKMeansSegmentationPreview.h"

#include <vtkActor.h>
#include <vtkImageActor.h>
#include <vtkImageData.h>
#include <vtkPolyData.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkTextActor.h>

#include <array>
#include <string>
#include <vector>

namespace itk
{
namespace KMeansPreview
{
namespace Scene
{
/** Colours of the picture and the viewer (dark, so that the pale tissue colours stand out). */
constexpr double Background[3] = { 0.09, 0.10, 0.12 };
constexpr double PanelBackground[3] = { 0.0, 0.0, 0.0 };
constexpr double TextColor[3] = { 0.92, 0.92, 0.92 };

enum class Orientation
{
  Axial,
  Coronal,
  Sagittal,
  Plane2D
};

/** How a slice of the given orientation is laid out on screen: which image index axis runs to the right,
 * which one runs up, which one is the slice normal, whether they are flipped, and the patient direction
 * letters at the four edges. Axial and coronal slices are shown in radiological convention (the patient's
 * right on the left of the screen), sagittal slices with anterior on the left; derived from the image
 * direction (the index axis closest to each patient axis). A 2-D image is shown as stored (row 0 at the top). */
struct DisplayMapping
{
  Orientation  Kind{ Orientation::Axial };
  unsigned int HorizontalAxis{ 0 };
  unsigned int VerticalAxis{ 1 };
  unsigned int NormalAxis{ 2 };
  bool         FlipHorizontal{ false };
  bool         FlipVertical{ false };
  std::string  Name;
  std::string  Left, Right, Top, Bottom;
};

DisplayMapping
GetDisplayMapping(const ImageType * image, Orientation orientation);

/** Grey-level window: [minimum of the image, 99.5th percentile of the classified voxels]. */
struct IntensityWindow
{
  double Lower{ 0.0 };
  double Upper{ 1.0 };
};

/** Histogram of the classified voxels, split by class (CountsByClass[c][bin] for Classes[c]). */
struct Histogram
{
  double                           Minimum{ 0.0 };
  double                           BinWidth{ 1.0 };
  std::vector<double>              Centers;
  std::vector<std::vector<double>> CountsByClass;
};

/** Throws unless the images exist and have the same size; and unless every class label is 1..255. */
void
Validate(const Segmentation & segmentation);

/** Throws an itk::ExceptionObject with advice when no X display is available. */
void
RequireDisplay(const char * what);

Histogram
ComputeHistogram(const Segmentation & segmentation, unsigned int maximumBins = 128);

IntensityWindow
ComputeWindow(const Segmentation & segmentation, const Histogram & histogram);

/** Buffer offsets (from the start of the buffered region) of the middle of the labelled bounding box; the
 * middle of the image when nothing is labelled. */
std::array<long, 3>
LabelledCentre(const Segmentation & segmentation);

/** One slice of the intensity image as RGB with the enabled classes drawn over the scan, as image viewers do:
 * each class translucent, rgb = (1 - opacity) * grey + opacity * colour, with grey = (I - Lower) / (Upper - Lower)
 * clamped to [0, 1], and its outline (voxels with a 4-neighbour of another label in the slice) in its colour.
 * opacity 0 shows the scan alone. enabled[label] switches the overlay of a label (missing entries are on). */
vtkSmartPointer<vtkImageData>
MakeSliceRGB(const Segmentation &      segmentation,
             const DisplayMapping &    mapping,
             long                      slice,
             const IntensityWindow &   window,
             double                    opacity,
             const std::vector<bool> & enabled);

/** Smoothed surface (vtkDiscreteFlyingEdges3D + vtkWindowedSincPolyDataFilter) of every class, in physical LPS
 * coordinates with point normals; an empty polydata for a class without voxels. */
std::vector<vtkSmartPointer<vtkPolyData>>
ClassSurfaces(const Segmentation & segmentation, unsigned int step = 1);

/** Voxel step for on-screen surfaces: 1 up to maximumVoxels voxels, else the smallest step that brings the
 * number of sampled voxels below it (the picture and the viewer; the ParaView files use every voxel). */
unsigned int
SurfaceStep(const Segmentation & segmentation, double maximumVoxels);

/** A slice panel: renderer with an image actor, its title and orientation letters. */
class SlicePanel
{
public:
  SlicePanel(const Segmentation & segmentation, const DisplayMapping & mapping, const IntensityWindow & window);

  void
  SetViewport(double x0, double y0, double x1, double y1, double fontScale);
  /** Recompute the picture (after a change of slice, opacity or enabled classes) and fit the camera. */
  void
  Update(double opacity, const std::vector<bool> & enabled);
  void
  SetSlice(long slice);
  long
  GetSlice() const
  {
    return m_Slice;
  }
  long
  GetNumberOfSlices() const;
  vtkRenderer *
  GetRenderer() const
  {
    return m_Renderer;
  }

private:
  void
  FitCamera();

  const Segmentation &          m_Segmentation;
  DisplayMapping                m_Mapping;
  IntensityWindow               m_Window;
  long                          m_Slice{ 0 };
  vtkSmartPointer<vtkRenderer>  m_Renderer;
  vtkSmartPointer<vtkImageActor> m_Actor;
  vtkSmartPointer<vtkTextActor> m_Title;
  std::array<vtkSmartPointer<vtkTextActor>, 4> m_Letters;
};

/** The 3-D panel: the class surfaces, optionally cut open by the octant towards the camera (left, anterior,
 * superior of the centre of the labelled box), seen from the left-anterior-superior side. */
class SurfacePanel
{
public:
  SurfacePanel(const Segmentation & segmentation, bool cutAway);
  void
  SetViewport(double x0, double y0, double x1, double y1, double fontScale);
  void
  SetClassVisibility(std::size_t classIndex, bool visible);
  void
  ResetCamera();
  vtkRenderer *
  GetRenderer() const
  {
    return m_Renderer;
  }

private:
  vtkSmartPointer<vtkRenderer>         m_Renderer;
  std::vector<vtkSmartPointer<vtkActor>> m_Actors;
  vtkSmartPointer<vtkTextActor>        m_Title;
};

/** A text actor placed in normalized viewport coordinates. */
vtkSmartPointer<vtkTextActor>
MakeText(const std::string & text, double x, double y, int fontSize, bool bold = false, int justification = 0);

/** A renderer with the intensity histogram chart (bars coloured by class, means solid, thresholds dashed). */
vtkSmartPointer<vtkRenderer>
MakeHistogramRenderer(const Segmentation & segmentation, const Histogram & histogram, double fontScale);

/** A renderer with the legend: colour, name, label, voxels, volume (or area for 2-D) and mean of each class. */
vtkSmartPointer<vtkRenderer>
MakeLegendRenderer(const Segmentation & segmentation, double fontScale, unsigned int widthPixels, unsigned int heightPixels);

/** Save what the window shows as a PNG file (atomically: temporary file beside it, then rename). */
void
WriteWindowPNG(vtkRenderWindow * window, const std::string & fileName);

/** "123.4 mL" (3-D) or "12.3 cm²"-like text "12.3 cm2" (2-D). */
std::string
FormatAmount(const Segmentation & segmentation, const ClassSummary & summary);

} // namespace Scene
} // namespace KMeansPreview
} // namespace itk

#endif
