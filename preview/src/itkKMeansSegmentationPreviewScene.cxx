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
#include "itkKMeansSegmentationPreviewScene.h"
#include "itkImageToVTKImageData.h"

#include <vtkAxis.h>
#include <vtkBox.h>
#include <vtkBrush.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkChartXY.h>
#include <vtkColor.h>
#include <vtkColorSeries.h>
#include <vtkClipPolyData.h>
#include <vtkContextActor.h>
#include <vtkContextScene.h>
#include <vtkDiscreteFlyingEdges3D.h>
#include <vtkDoubleArray.h>
#include <vtkFloatArray.h>
#include <vtkImageMapper3D.h>
#include <vtkImageProperty.h>
#include <vtkMatrix4x4.h>
#include <vtkPen.h>
#include <vtkPlot.h>
#include <vtkPlotBar.h>
#include <vtkPlotLine.h>
#include <vtkPoints.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataMapper2D.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkProperty2D.h>
#include <vtkTable.h>
#include <vtkTextProperty.h>
#include <vtkTransform.h>
#include <vtkTransformPolyDataFilter.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowedSincPolyDataFilter.h>
#include <vtkCellData.h>
#include <vtkCoordinate.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <limits>
#include <sstream>

namespace itk
{
namespace KMeansPreview
{
namespace Scene
{
namespace
{
const float *
ImageBuffer(const Segmentation & s)
{
  return s.Image->GetBufferPointer();
}
const unsigned char *
LabelBuffer(const Segmentation & s)
{
  return s.Labels->GetBufferPointer();
}
std::array<long, 3>
BufferSize(const Segmentation & s)
{
  const auto & size = s.Image->GetBufferedRegion().GetSize();
  return { static_cast<long>(size[0]), static_cast<long>(size[1]), static_cast<long>(size[2]) };
}
} // namespace

void
Validate(const Segmentation & segmentation)
{
  if (segmentation.Image.IsNull() || segmentation.Labels.IsNull())
  {
    itkGenericExceptionMacro(<< "preview: the " << (segmentation.Image.IsNull() ? "intensity" : "label")
                             << " image is missing");
  }
  const auto & a = segmentation.Image->GetBufferedRegion().GetSize();
  const auto & b = segmentation.Labels->GetBufferedRegion().GetSize();
  if (a != b)
  {
    itkGenericExceptionMacro(<< "preview: the label image has size " << b << " but the intensity image has size " << a);
  }
  if (a[0] * a[1] * a[2] == 0)
  {
    itkGenericExceptionMacro(<< "preview: the image is empty (size " << a << ")");
  }
  for (const auto & c : segmentation.Classes)
  {
    if (c.Label < 1 || c.Label > 255)
    {
      itkGenericExceptionMacro(<< "preview: class \"" << c.Name << "\" has label " << c.Label
                               << "; labels must be 1..255");
    }
  }
}

void
RequireDisplay(const char * what)
{
  const char * display = std::getenv("DISPLAY");
  if (display == nullptr || *display == '\0')
  {
    itkGenericExceptionMacro(<< what << " needs an X display and DISPLAY is not set; run the program under `xvfb-run -a`");
  }
}

DisplayMapping
GetDisplayMapping(const ImageType * image, Orientation orientation)
{
  DisplayMapping m;
  m.Kind = orientation;
  if (orientation == Orientation::Plane2D)
  {
    m.HorizontalAxis = 0;
    m.VerticalAxis = 1;
    m.NormalAxis = 2;
    m.FlipVertical = true; // row 0 at the top, as image viewers show 2-D pictures
    m.Name = "Slice";
    return m;
  }
  // Patient axis (0 = L, 1 = P, 2 = S in LPS) and sign of each index axis.
  const auto &          d = image->GetDirection();
  std::array<int, 3>    axisOf{ { -1, -1, -1 } }; // index axis for each patient axis
  std::array<double, 3> signOf{ { 1, 1, 1 } };    // sign of each index axis along its patient axis
  bool                  permutation = true;
  for (unsigned int a = 0; a < 3; ++a)
  {
    unsigned int best = 0;
    for (unsigned int p = 1; p < 3; ++p)
    {
      if (std::abs(d[p][a]) > std::abs(d[best][a]))
      {
        best = p;
      }
    }
    if (axisOf[best] >= 0)
    {
      permutation = false;
    }
    axisOf[best] = static_cast<int>(a);
    signOf[a] = d[best][a] < 0 ? -1.0 : 1.0;
  }
  if (!permutation)
  {
    for (unsigned int a = 0; a < 3; ++a)
    {
      axisOf[a] = static_cast<int>(a);
      signOf[a] = d[a][a] < 0 ? -1.0 : 1.0;
    }
  }
  // Screen right / up as patient axis and direction.
  int    h = 0, v = 1, n = 2;
  double hSign = 1.0, vSign = 1.0;
  switch (orientation)
  {
    case Orientation::Axial: // right of screen = patient left (+x), up = anterior (-y)
      h = 0, v = 1, n = 2, hSign = 1.0, vSign = -1.0;
      m.Name = "Axial", m.Left = "R", m.Right = "L", m.Top = "A", m.Bottom = "P";
      break;
    case Orientation::Coronal: // right = patient left, up = superior
      h = 0, v = 2, n = 1, hSign = 1.0, vSign = 1.0;
      m.Name = "Coronal", m.Left = "R", m.Right = "L", m.Top = "S", m.Bottom = "I";
      break;
    default: // sagittal: right = posterior, up = superior
      h = 1, v = 2, n = 0, hSign = 1.0, vSign = 1.0;
      m.Name = "Sagittal", m.Left = "A", m.Right = "P", m.Top = "S", m.Bottom = "I";
      break;
  }
  m.HorizontalAxis = static_cast<unsigned int>(axisOf[h]);
  m.VerticalAxis = static_cast<unsigned int>(axisOf[v]);
  m.NormalAxis = static_cast<unsigned int>(axisOf[n]);
  m.FlipHorizontal = signOf[m.HorizontalAxis] * hSign < 0;
  m.FlipVertical = signOf[m.VerticalAxis] * vSign < 0;
  return m;
}

Histogram
ComputeHistogram(const Segmentation & segmentation, unsigned int maximumBins)
{
  Histogram             result;
  const auto            size = BufferSize(segmentation);
  const std::size_t     count = static_cast<std::size_t>(size[0] * size[1] * size[2]);
  const float *         intensity = ImageBuffer(segmentation);
  const unsigned char * labels = LabelBuffer(segmentation);
  std::array<int, 256>  classOfLabel;
  classOfLabel.fill(-1);
  for (std::size_t c = 0; c < segmentation.Classes.size(); ++c)
  {
    classOfLabel[segmentation.Classes[c].Label] = static_cast<int>(c);
  }
  double minimum = std::numeric_limits<double>::infinity();
  double maximum = -minimum;
  bool   integers = true;
  for (std::size_t i = 0; i < count; ++i)
  {
    const double value = intensity[i];
    if (classOfLabel[labels[i]] >= 0 && std::isfinite(value))
    {
      minimum = std::min(minimum, value);
      maximum = std::max(maximum, value);
      integers = integers && value == std::floor(value);
    }
  }
  result.CountsByClass.assign(segmentation.Classes.size(), {});
  if (!(minimum <= maximum))
  {
    return result;
  }
  const double range = maximum - minimum;
  std::size_t  bins = maximumBins;
  if (integers && range + 1 <= maximumBins)
  {
    bins = static_cast<std::size_t>(range) + 1; // one bin per integer value
    result.BinWidth = 1.0;
    result.Minimum = minimum - 0.5;
  }
  else
  {
    result.BinWidth = range > 0 ? range / static_cast<double>(bins) : 1.0;
    result.Minimum = minimum;
  }
  for (auto & counts : result.CountsByClass)
  {
    counts.assign(bins, 0.0);
  }
  result.Centers.resize(bins);
  for (std::size_t b = 0; b < bins; ++b)
  {
    result.Centers[b] = result.Minimum + (static_cast<double>(b) + 0.5) * result.BinWidth;
  }
  for (std::size_t i = 0; i < count; ++i)
  {
    const int    c = classOfLabel[labels[i]];
    const double value = intensity[i];
    if (c >= 0 && std::isfinite(value))
    {
      const auto b = std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, (value - result.Minimum) / result.BinWidth)));
      result.CountsByClass[static_cast<std::size_t>(c)][b] += 1.0;
    }
  }
  return result;
}

IntensityWindow
ComputeWindow(const Segmentation & segmentation, const Histogram & histogram)
{
  const auto    size = BufferSize(segmentation);
  const auto    count = static_cast<std::size_t>(size[0] * size[1] * size[2]);
  const float * intensity = ImageBuffer(segmentation);
  double        minimum = std::numeric_limits<double>::infinity();
  double        maximum = -minimum;
  for (std::size_t i = 0; i < count; ++i)
  {
    if (std::isfinite(intensity[i]))
    {
      minimum = std::min<double>(minimum, intensity[i]);
      maximum = std::max<double>(maximum, intensity[i]);
    }
  }
  IntensityWindow window;
  if (!(minimum <= maximum))
  {
    return window;
  }
  window.Lower = minimum;
  window.Upper = maximum;
  double total = 0;
  for (const auto & counts : histogram.CountsByClass)
  {
    for (double c : counts)
    {
      total += c;
    }
  }
  if (total > 0)
  {
    double cumulative = 0;
    for (std::size_t b = 0; b < histogram.Centers.size(); ++b)
    {
      for (const auto & counts : histogram.CountsByClass)
      {
        cumulative += counts[b];
      }
      if (cumulative >= 0.995 * total)
      {
        window.Upper = std::min(maximum, histogram.Minimum + static_cast<double>(b + 1) * histogram.BinWidth);
        break;
      }
    }
  }
  if (!(window.Upper > window.Lower))
  {
    window.Upper = window.Lower + 1.0;
  }
  return window;
}

std::array<long, 3>
LabelledCentre(const Segmentation & segmentation)
{
  const auto            size = BufferSize(segmentation);
  const unsigned char * labels = LabelBuffer(segmentation);
  std::array<long, 3>   low{ { size[0], size[1], size[2] } };
  std::array<long, 3>   high{ { -1, -1, -1 } };
  std::size_t           i = 0;
  for (long z = 0; z < size[2]; ++z)
  {
    for (long y = 0; y < size[1]; ++y)
    {
      for (long x = 0; x < size[0]; ++x, ++i)
      {
        if (labels[i] != 0)
        {
          low = { std::min(low[0], x), std::min(low[1], y), std::min(low[2], z) };
          high = { std::max(high[0], x), std::max(high[1], y), std::max(high[2], z) };
        }
      }
    }
  }
  std::array<long, 3> centre;
  for (unsigned int d = 0; d < 3; ++d)
  {
    centre[d] = high[0] < 0 ? size[d] / 2 : (low[d] + high[d]) / 2;
  }
  return centre;
}

vtkSmartPointer<vtkImageData>
MakeSliceRGB(const Segmentation &      segmentation,
             const DisplayMapping &    mapping,
             long                      slice,
             const IntensityWindow &   window,
             double                    opacity,
             const std::vector<bool> & enabled)
{
  const auto  size = BufferSize(segmentation);
  const long  width = size[mapping.HorizontalAxis];
  const long  height = size[mapping.VerticalAxis];
  const auto  spacing = segmentation.Image->GetSpacing();
  const long  stride[3] = { 1, size[0], size[0] * size[1] };
  const float * intensity = ImageBuffer(segmentation);
  const unsigned char * labels = LabelBuffer(segmentation);

  std::array<std::array<double, 3>, 256> colour{};
  std::array<bool, 256>                  overlay{};
  for (const auto & c : segmentation.Classes)
  {
    overlay[c.Label] = c.Label >= enabled.size() || enabled[c.Label];
    colour[c.Label] = c.Color;
  }
  auto rgb = vtkSmartPointer<vtkImageData>::New();
  rgb->SetDimensions(static_cast<int>(width), static_cast<int>(height), 1);
  rgb->SetSpacing(spacing[mapping.HorizontalAxis], spacing[mapping.VerticalAxis], 1.0);
  rgb->SetOrigin(0.0, 0.0, 0.0);
  rgb->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
  auto *       out = static_cast<unsigned char *>(rgb->GetScalarPointer());
  const double scale = 1.0 / (window.Upper - window.Lower);
  slice = std::clamp<long>(slice, 0, size[mapping.NormalAxis] - 1);
  // The slice as displayed (row 0 at the bottom): grey values and labels.
  std::vector<double>        grey(static_cast<std::size_t>(width * height));
  std::vector<unsigned char> label(grey.size());
  for (long w = 0, i = 0; w < height; ++w)
  {
    const long row = mapping.FlipVertical ? height - 1 - w : w;
    for (long u = 0; u < width; ++u, ++i)
    {
      const long   column = mapping.FlipHorizontal ? width - 1 - u : u;
      const long   offset = column * stride[mapping.HorizontalAxis] + row * stride[mapping.VerticalAxis] +
                          slice * stride[mapping.NormalAxis];
      const double value = intensity[offset];
      grey[i] = std::isfinite(value) ? std::clamp((value - window.Lower) * scale, 0.0, 1.0) : 0.0;
      label[i] = labels[offset];
    }
  }
  // A voxel is on the outline of its class when one of its four neighbours in the slice has another label.
  auto outline = [&](long u, long w) {
    const unsigned char l = label[w * width + u];
    return (u > 0 && label[w * width + u - 1] != l) || (u + 1 < width && label[w * width + u + 1] != l) ||
           (w > 0 && label[(w - 1) * width + u] != l) || (w + 1 < height && label[(w + 1) * width + u] != l);
  };
  for (long w = 0, i = 0; w < height; ++w)
  {
    for (long u = 0; u < width; ++u, ++i)
    {
      const unsigned char l = label[i];
      const double        alpha = !overlay[l] || opacity <= 0.0 ? 0.0 : outline(u, w) ? 1.0 : opacity;
      for (unsigned int c = 0; c < 3; ++c)
      {
        const double mixed = (1.0 - alpha) * grey[i] + alpha * colour[l][c];
        *out++ = static_cast<unsigned char>(std::lround(255.0 * mixed));
      }
    }
  }
  return rgb;
}

unsigned int
SurfaceStep(const Segmentation & segmentation, double maximumVoxels)
{
  const auto   size = BufferSize(segmentation);
  const double voxels = static_cast<double>(size[0]) * static_cast<double>(size[1]) * static_cast<double>(size[2]);
  return voxels <= maximumVoxels ? 1u : static_cast<unsigned int>(std::ceil(std::cbrt(voxels / maximumVoxels)));
}

std::vector<vtkSmartPointer<vtkPolyData>>
ClassSurfaces(const Segmentation & segmentation, unsigned int step)
{
  // Surfaces are extracted in index space (identity direction) and then mapped to physical LPS coordinates with
  // the full index-to-physical transform, so an oblique direction is honoured. With step > 1 every step-th voxel
  // is used (index-space spacing step), for a quick look at a large volume.
  step = std::max(1u, step);
  vtkSmartPointer<vtkImageData> labels;
  if (step == 1)
  {
    labels = ImageToVTKImageData(segmentation.Labels.GetPointer(), "Labels");
    labels->SetOrigin(0.0, 0.0, 0.0);
    labels->SetSpacing(1.0, 1.0, 1.0);
    labels->SetDirectionMatrix(1, 0, 0, 0, 1, 0, 0, 0, 1);
  }
  else
  {
    const auto            size = BufferSize(segmentation);
    const unsigned char * in = LabelBuffer(segmentation);
    const long            first = static_cast<long>(step / 2);
    int                   dims[3];
    for (unsigned int d = 0; d < 3; ++d)
    {
      dims[d] = static_cast<int>(std::max(1L, (size[d] - first + static_cast<long>(step) - 1) / static_cast<long>(step)));
    }
    labels = vtkSmartPointer<vtkImageData>::New();
    labels->SetDimensions(dims);
    labels->SetSpacing(step, step, step);
    const auto & start = segmentation.Labels->GetBufferedRegion().GetIndex();
    labels->SetOrigin(static_cast<double>(start[0] + first), static_cast<double>(start[1] + first),
                      static_cast<double>(start[2] + first));
    labels->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    auto * out = static_cast<unsigned char *>(labels->GetScalarPointer());
    for (long z = 0; z < dims[2]; ++z)
    {
      const long iz = std::min(size[2] - 1, first + z * static_cast<long>(step));
      for (long y = 0; y < dims[1]; ++y)
      {
        const long iy = std::min(size[1] - 1, first + y * static_cast<long>(step));
        for (long x = 0; x < dims[0]; ++x)
        {
          const long ix = std::min(size[0] - 1, first + x * static_cast<long>(step));
          *out++ = in[ix + size[0] * (iy + size[1] * iz)];
        }
      }
    }
  }

  const auto & direction = segmentation.Labels->GetDirection();
  const auto & spacing = segmentation.Labels->GetSpacing();
  const auto & origin = segmentation.Labels->GetOrigin();
  auto         matrix = vtkSmartPointer<vtkMatrix4x4>::New();
  for (unsigned int r = 0; r < 3; ++r)
  {
    for (unsigned int c = 0; c < 3; ++c)
    {
      matrix->SetElement(r, c, direction[r][c] * spacing[c]);
    }
    matrix->SetElement(r, 3, origin[r]);
  }
  const bool mirrored = matrix->Determinant() < 0;
  auto       transform = vtkSmartPointer<vtkTransform>::New();
  transform->SetMatrix(matrix);

  std::vector<vtkSmartPointer<vtkPolyData>> surfaces;
  for (const auto & summary : segmentation.Classes)
  {
    auto surface = vtkSmartPointer<vtkPolyData>::New();
    if (summary.Count > 0)
    {
      auto edges = vtkSmartPointer<vtkDiscreteFlyingEdges3D>::New();
      edges->SetInputData(labels);
      edges->SetValue(0, summary.Label);
      edges->ComputeNormalsOff();
      edges->ComputeGradientsOff();
      edges->ComputeScalarsOff();
      auto smoother = vtkSmartPointer<vtkWindowedSincPolyDataFilter>::New();
      smoother->SetInputConnection(edges->GetOutputPort());
      smoother->SetNumberOfIterations(15);
      smoother->SetPassBand(0.01);
      smoother->BoundarySmoothingOff();
      smoother->FeatureEdgeSmoothingOff();
      smoother->NonManifoldSmoothingOn();
      smoother->NormalizeCoordinatesOn();
      auto physical = vtkSmartPointer<vtkTransformPolyDataFilter>::New();
      physical->SetInputConnection(smoother->GetOutputPort());
      physical->SetTransform(transform);
      auto normals = vtkSmartPointer<vtkPolyDataNormals>::New();
      normals->SetInputConnection(physical->GetOutputPort());
      normals->SplittingOff();
      normals->ConsistencyOn();
      normals->SetFlipNormals(mirrored);
      normals->Update();
      surface->DeepCopy(normals->GetOutput());
    }
    surfaces.push_back(surface);
  }
  return surfaces;
}

vtkSmartPointer<vtkTextActor>
MakeText(const std::string & text, double x, double y, int fontSize, bool bold, int justification)
{
  auto actor = vtkSmartPointer<vtkTextActor>::New();
  actor->SetInput(text.c_str());
  actor->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  actor->GetPositionCoordinate()->SetValue(x, y);
  auto * property = actor->GetTextProperty();
  property->SetFontSize(fontSize);
  property->SetColor(TextColor[0], TextColor[1], TextColor[2]);
  property->SetBold(bold);
  property->SetFontFamilyToArial();
  property->SetJustification(justification);
  property->SetVerticalJustificationToBottom();
  return actor;
}

// ---------------------------------------------------------------------------------------------------------------
SlicePanel::SlicePanel(const Segmentation & segmentation, const DisplayMapping & mapping, const IntensityWindow & window)
  : m_Segmentation(segmentation)
  , m_Mapping(mapping)
  , m_Window(window)
  , m_Renderer(vtkSmartPointer<vtkRenderer>::New())
  , m_Actor(vtkSmartPointer<vtkImageActor>::New())
{
  m_Slice = LabelledCentre(segmentation)[mapping.NormalAxis];
  m_Renderer->SetBackground(PanelBackground[0], PanelBackground[1], PanelBackground[2]);
  m_Renderer->AddActor(m_Actor);
  m_Actor->GetProperty()->SetInterpolationTypeToLinear();
  m_Renderer->GetActiveCamera()->ParallelProjectionOn();
  m_Title = MakeText("", 0.02, 0.93, 16, true);
  m_Renderer->AddActor2D(m_Title);
  const std::string letters[4] = { mapping.Left, mapping.Right, mapping.Top, mapping.Bottom };
  const double      positions[4][2] = { { 0.02, 0.5 }, { 0.98, 0.5 }, { 0.5, 0.93 }, { 0.5, 0.015 } };
  const int         justification[4] = { 0, 2, 1, 1 };
  for (unsigned int i = 0; i < 4; ++i)
  {
    m_Letters[i] = MakeText(letters[i], positions[i][0], positions[i][1], 14, true, justification[i]);
    m_Letters[i]->GetTextProperty()->SetColor(1.0, 0.85, 0.3);
    m_Renderer->AddActor2D(m_Letters[i]);
  }
}

void
SlicePanel::SetViewport(double x0, double y0, double x1, double y1, double fontScale)
{
  m_Renderer->SetViewport(x0, y0, x1, y1);
  m_Title->GetTextProperty()->SetFontSize(static_cast<int>(std::lround(16 * fontScale)));
  for (auto & letter : m_Letters)
  {
    letter->GetTextProperty()->SetFontSize(static_cast<int>(std::lround(15 * fontScale)));
  }
}

long
SlicePanel::GetNumberOfSlices() const
{
  return BufferSize(m_Segmentation)[m_Mapping.NormalAxis];
}

void
SlicePanel::SetSlice(long slice)
{
  m_Slice = std::clamp<long>(slice, 0, GetNumberOfSlices() - 1);
}

void
SlicePanel::Update(double opacity, const std::vector<bool> & enabled)
{
  m_Actor->SetInputData(MakeSliceRGB(m_Segmentation, m_Mapping, m_Slice, m_Window, opacity, enabled));
  std::ostringstream title;
  title << m_Mapping.Name;
  if (m_Mapping.Kind != Orientation::Plane2D)
  {
    title << "  " << m_Slice + 1 << "/" << GetNumberOfSlices();
  }
  m_Title->SetInput(title.str().c_str());
  FitCamera();
}

void
SlicePanel::FitCamera()
{
  double bounds[6];
  m_Actor->GetBounds(bounds);
  const double width = bounds[1] - bounds[0];
  const double height = bounds[3] - bounds[2];
  const double centre[2] = { (bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2 };
  double       aspect = m_Renderer->GetTiledAspectRatio();
  if (!(aspect > 0))
  {
    aspect = 1.0;
  }
  auto * camera = m_Renderer->GetActiveCamera();
  camera->SetFocalPoint(centre[0], centre[1], 0.0);
  camera->SetPosition(centre[0], centre[1], 1000.0);
  camera->SetViewUp(0.0, 1.0, 0.0);
  camera->SetParallelScale(1.08 * std::max(height / 2, width / 2 / aspect));
  m_Renderer->ResetCameraClippingRange();
}

// ---------------------------------------------------------------------------------------------------------------
SurfacePanel::SurfacePanel(const Segmentation & segmentation, bool cutAway)
  : m_Renderer(vtkSmartPointer<vtkRenderer>::New())
{
  m_Renderer->SetBackground(PanelBackground[0], PanelBackground[1], PanelBackground[2]);
  m_Renderer->SetTwoSidedLighting(true);
  const auto surfaces = ClassSurfaces(segmentation, SurfaceStep(segmentation, 2.5e6));

  // The octant towards the camera, from the centre of the labelled box.
  const auto       centreIndex = LabelledCentre(segmentation);
  ImageType::IndexType index;
  for (unsigned int d = 0; d < 3; ++d)
  {
    index[d] = segmentation.Labels->GetBufferedRegion().GetIndex(d) + centreIndex[d];
  }
  ImageType::PointType centre;
  segmentation.Labels->TransformIndexToPhysicalPoint(index, centre);
  constexpr double big = 1e6;
  auto             box = vtkSmartPointer<vtkBox>::New();
  box->SetBounds(centre[0], centre[0] + big, centre[1] - big, centre[1], centre[2], centre[2] + big);

  for (std::size_t c = 0; c < surfaces.size(); ++c)
  {
    auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    if (cutAway && surfaces[c]->GetNumberOfPoints() > 0)
    {
      auto clip = vtkSmartPointer<vtkClipPolyData>::New();
      clip->SetInputData(surfaces[c]);
      clip->SetClipFunction(box);
      clip->InsideOutOff(); // keep what lies outside the box
      clip->Update();
      mapper->SetInputData(clip->GetOutput());
    }
    else
    {
      mapper->SetInputData(surfaces[c]);
    }
    mapper->ScalarVisibilityOff();
    auto actor = vtkSmartPointer<vtkActor>::New();
    actor->SetMapper(mapper);
    const auto & colour = segmentation.Classes[c].Color;
    actor->GetProperty()->SetColor(colour[0], colour[1], colour[2]);
    actor->GetProperty()->SetSpecular(0.15);
    actor->GetProperty()->SetSpecularPower(20);
    actor->GetProperty()->SetDiffuse(0.85);
    actor->GetProperty()->SetAmbient(0.12);
    m_Renderer->AddActor(actor);
    m_Actors.push_back(actor);
  }
  m_Title = MakeText("3-D surfaces (cut open)", 0.02, 0.93, 16, true);
  if (!cutAway)
  {
    m_Title->SetInput("3-D surfaces");
  }
  m_Renderer->AddActor2D(m_Title);
  ResetCamera();
}

void
SurfacePanel::SetViewport(double x0, double y0, double x1, double y1, double fontScale)
{
  m_Renderer->SetViewport(x0, y0, x1, y1);
  m_Title->GetTextProperty()->SetFontSize(static_cast<int>(std::lround(16 * fontScale)));
}

void
SurfacePanel::SetClassVisibility(std::size_t classIndex, bool visible)
{
  if (classIndex < m_Actors.size())
  {
    m_Actors[classIndex]->SetVisibility(visible);
  }
}

void
SurfacePanel::ResetCamera()
{
  // LPS: look from the patient's left (+x), anterior (-y) and above (+z), superior up.
  auto * camera = m_Renderer->GetActiveCamera();
  camera->SetFocalPoint(0, 0, 0);
  camera->SetPosition(1.0, -1.1, 0.75);
  camera->SetViewUp(0, 0, 1);
  m_Renderer->ResetCamera();
  camera->Zoom(1.15);
  m_Renderer->ResetCameraClippingRange();
}

// ---------------------------------------------------------------------------------------------------------------
namespace
{
void
StyleAxis(vtkAxis * axis, const std::string & title, double fontScale)
{
  axis->SetTitle(title);
  axis->GetPen()->SetColorF(TextColor[0], TextColor[1], TextColor[2]);
  axis->GetGridPen()->SetColorF(0.3, 0.3, 0.3);
  axis->GetLabelProperties()->SetColor(TextColor[0], TextColor[1], TextColor[2]);
  axis->GetLabelProperties()->SetFontSize(static_cast<int>(std::lround(13 * fontScale)));
  axis->GetTitleProperties()->SetColor(TextColor[0], TextColor[1], TextColor[2]);
  axis->GetTitleProperties()->SetFontSize(static_cast<int>(std::lround(14 * fontScale)));
  axis->GetTitleProperties()->SetBold(false);
}

void
AddVerticalLine(vtkChartXY * chart, double x, double top, const std::array<double, 3> & colour, float width, int lineType)
{
  auto table = vtkSmartPointer<vtkTable>::New();
  auto xs = vtkSmartPointer<vtkDoubleArray>::New();
  xs->SetName("x");
  auto ys = vtkSmartPointer<vtkDoubleArray>::New();
  ys->SetName("y");
  table->AddColumn(xs);
  table->AddColumn(ys);
  table->SetNumberOfRows(2);
  table->SetValue(0, 0, x);
  table->SetValue(0, 1, 0.0);
  table->SetValue(1, 0, x);
  table->SetValue(1, 1, top);
  vtkPlot * line = chart->AddPlot(vtkChart::LINE);
  line->SetInputData(table, 0, 1);
  line->SetColor(colour[0], colour[1], colour[2]);
  line->SetWidth(width);
  line->GetPen()->SetLineType(lineType);
}
} // namespace

vtkSmartPointer<vtkRenderer>
MakeHistogramRenderer(const Segmentation & segmentation, const Histogram & histogram, double fontScale)
{
  auto renderer = vtkSmartPointer<vtkRenderer>::New();
  renderer->SetBackground(Background[0], Background[1], Background[2]);
  auto chart = vtkSmartPointer<vtkChartXY>::New();
  chart->SetShowLegend(false);
  chart->GetBackgroundBrush()->SetColorF(Background[0], Background[1], Background[2]);
  chart->SetTitle("Intensity histogram of the classified voxels: bars by class, solid = class mean, dashed = threshold");
  chart->GetTitleProperties()->SetColor(TextColor[0], TextColor[1], TextColor[2]);
  chart->GetTitleProperties()->SetFontSize(static_cast<int>(std::lround(15 * fontScale)));
  chart->GetTitleProperties()->SetBold(true);
  StyleAxis(chart->GetAxis(vtkAxis::BOTTOM), "Intensity", fontScale);
  StyleAxis(chart->GetAxis(vtkAxis::LEFT), "Voxels", fontScale);

  double top = 0;
  if (!histogram.Centers.empty())
  {
    auto table = vtkSmartPointer<vtkTable>::New();
    auto xs = vtkSmartPointer<vtkDoubleArray>::New();
    xs->SetName("Intensity");
    xs->SetNumberOfValues(static_cast<vtkIdType>(histogram.Centers.size()));
    for (std::size_t b = 0; b < histogram.Centers.size(); ++b)
    {
      xs->SetValue(static_cast<vtkIdType>(b), histogram.Centers[b]);
      double sum = 0;
      for (const auto & counts : histogram.CountsByClass)
      {
        sum += counts[b];
      }
      top = std::max(top, sum);
    }
    table->AddColumn(xs);
    for (std::size_t c = 0; c < histogram.CountsByClass.size(); ++c)
    {
      auto ys = vtkSmartPointer<vtkDoubleArray>::New();
      ys->SetName(segmentation.Classes[c].Name.c_str());
      ys->SetNumberOfValues(xs->GetNumberOfValues());
      for (std::size_t b = 0; b < histogram.Centers.size(); ++b)
      {
        ys->SetValue(static_cast<vtkIdType>(b), histogram.CountsByClass[c][b]);
      }
      table->AddColumn(ys);
    }
    // One bar plot with a stacked series per class (several bar plots would be drawn side by side).
    auto * bars = vtkPlotBar::SafeDownCast(chart->AddPlot(vtkChart::BAR));
    auto   colours = vtkSmartPointer<vtkColorSeries>::New();
    colours->ClearColors();
    for (std::size_t c = 0; c < histogram.CountsByClass.size(); ++c)
    {
      const auto & colour = segmentation.Classes[c].Color;
      colours->AddColor(vtkColor3ub(static_cast<unsigned char>(std::lround(255 * colour[0])),
                                    static_cast<unsigned char>(std::lround(255 * colour[1])),
                                    static_cast<unsigned char>(std::lround(255 * colour[2]))));
      if (c == 0)
      {
        bars->SetInputData(table, 0, 1);
      }
      else
      {
        bars->SetInputArray(static_cast<int>(c + 1), table->GetColumn(static_cast<vtkIdType>(c + 1))->GetName());
      }
    }
    bars->SetColorSeries(colours);
    bars->GetPen()->SetLineType(vtkPen::NO_PEN);
    chart->SetBarWidthFraction(1.0f);
    top *= 1.05;
    for (const auto & summary : segmentation.Classes)
    {
      if (summary.Count > 0)
      {
        // A darker shade of the class colour: visible over the class's own bars and over the background.
        const std::array<double, 3> shade{ { 0.55 * summary.Color[0], 0.55 * summary.Color[1], 0.55 * summary.Color[2] } };
        AddVerticalLine(chart, summary.Mean, top, shade, 3.0f * static_cast<float>(fontScale), vtkPen::SOLID_LINE);
      }
    }
    for (double threshold : segmentation.Thresholds)
    {
      AddVerticalLine(chart, threshold, top, { { 1.0, 0.45, 0.3 } }, 2.0f * static_cast<float>(fontScale), vtkPen::DASH_LINE);
    }
    auto * xAxis = chart->GetAxis(vtkAxis::BOTTOM);
    xAxis->SetBehavior(vtkAxis::FIXED);
    const double lower = histogram.Minimum;
    const double upper = histogram.Minimum + histogram.BinWidth * static_cast<double>(histogram.Centers.size());
    xAxis->SetRange(lower - 0.02 * (upper - lower), upper + 0.02 * (upper - lower));
    auto * yAxis = chart->GetAxis(vtkAxis::LEFT);
    yAxis->SetBehavior(vtkAxis::FIXED);
    yAxis->SetRange(0.0, top > 0 ? top : 1.0);
  }
  auto actor = vtkSmartPointer<vtkContextActor>::New();
  actor->GetScene()->AddItem(chart);
  renderer->AddActor(actor);
  return renderer;
}

std::string
FormatAmount(const Segmentation & segmentation, const ClassSummary & summary)
{
  std::ostringstream text;
  text << std::fixed;
  if (IsTwoDimensional(segmentation))
  {
    const auto & spacing = segmentation.Labels->GetSpacing();
    text << std::setprecision(2) << static_cast<double>(summary.Count) * spacing[0] * spacing[1] / 100.0 << " cm2";
  }
  else
  {
    text << std::setprecision(summary.VolumeML < 10 ? 2 : 1) << summary.VolumeML << " mL";
  }
  return text.str();
}

vtkSmartPointer<vtkRenderer>
MakeLegendRenderer(const Segmentation & segmentation, double fontScale, unsigned int widthPixels, unsigned int heightPixels)
{
  auto renderer = vtkSmartPointer<vtkRenderer>::New();
  renderer->SetBackground(Background[0], Background[1], Background[2]);
  const int   titleSize = static_cast<int>(std::lround(17 * fontScale));
  const int   rowSize = static_cast<int>(std::lround(15 * fontScale));
  const auto  rows = segmentation.Classes.size();
  const double rowHeight = std::min(0.13, 0.78 / static_cast<double>(std::max<std::size_t>(rows + 1, 4)));
  renderer->AddActor2D(MakeText("Classes", 0.04, 0.88, titleSize, true));
  renderer->AddActor2D(MakeText(IsTwoDimensional(segmentation) ? "area" : "volume", 0.50, 0.88 - rowHeight * 0.75, rowSize, false, 2));
  renderer->AddActor2D(MakeText("mean", 0.72, 0.88 - rowHeight * 0.75, rowSize, false, 2));
  renderer->AddActor2D(MakeText("voxels", 0.96, 0.88 - rowHeight * 0.75, rowSize, false, 2));

  auto points = vtkSmartPointer<vtkPoints>::New();
  auto polys = vtkSmartPointer<vtkCellArray>::New();
  auto colours = vtkSmartPointer<vtkUnsignedCharArray>::New();
  colours->SetNumberOfComponents(3);
  const double squareHeight = rowHeight * 0.6;
  const double squareWidth = squareHeight * heightPixels / std::max(1u, widthPixels);
  double       totalVolume = 0;
  for (std::size_t r = 0; r < rows; ++r)
  {
    const auto & c = segmentation.Classes[r];
    totalVolume += c.VolumeML;
    const double y = 0.88 - rowHeight * (static_cast<double>(r) + 1.8);
    const vtkIdType first = points->GetNumberOfPoints();
    points->InsertNextPoint(0.04, y, 0);
    points->InsertNextPoint(0.04 + squareWidth, y, 0);
    points->InsertNextPoint(0.04 + squareWidth, y + squareHeight, 0);
    points->InsertNextPoint(0.04, y + squareHeight, 0);
    const vtkIdType quad[4] = { first, first + 1, first + 2, first + 3 };
    polys->InsertNextCell(4, quad);
    colours->InsertNextTuple3(255 * c.Color[0], 255 * c.Color[1], 255 * c.Color[2]);
    std::ostringstream mean;
    mean << std::setprecision(4) << c.Mean;
    renderer->AddActor2D(MakeText(std::to_string(c.Label) + "  " + c.Name, 0.06 + squareWidth, y, rowSize, true));
    renderer->AddActor2D(MakeText(FormatAmount(segmentation, c), 0.50, y, rowSize, false, 2));
    renderer->AddActor2D(MakeText(mean.str(), 0.72, y, rowSize, false, 2));
    renderer->AddActor2D(MakeText(std::to_string(c.Count), 0.96, y, rowSize, false, 2));
  }
  std::ostringstream footer;
  if (!IsTwoDimensional(segmentation))
  {
    footer << "total " << std::fixed << std::setprecision(1) << totalVolume << " mL";
  }
  if (!segmentation.Thresholds.empty())
  {
    footer << (footer.str().empty() ? "" : ";  ") << "thresholds";
    for (double t : segmentation.Thresholds)
    {
      footer << " " << std::setprecision(4) << std::defaultfloat << t;
    }
  }
  const double footerY = 0.88 - rowHeight * (static_cast<double>(rows) + 1.8) - 0.02;
  renderer->AddActor2D(MakeText(footer.str(), 0.04, std::max(0.1, footerY - rowHeight * 0.3), rowSize));
  renderer->AddActor2D(MakeText("coordinates: LPS (ITK/DICOM), mm", 0.04, 0.03, static_cast<int>(std::lround(12 * fontScale))));

  auto squares = vtkSmartPointer<vtkPolyData>::New();
  squares->SetPoints(points);
  squares->SetPolys(polys);
  squares->GetCellData()->SetScalars(colours);
  auto coordinate = vtkSmartPointer<vtkCoordinate>::New();
  coordinate->SetCoordinateSystemToNormalizedViewport();
  auto mapper = vtkSmartPointer<vtkPolyDataMapper2D>::New();
  mapper->SetInputData(squares);
  mapper->SetTransformCoordinate(coordinate);
  mapper->SetColorModeToDirectScalars();
  mapper->SetScalarModeToUseCellData();
  auto actor = vtkSmartPointer<vtkActor2D>::New();
  actor->SetMapper(mapper);
  renderer->AddActor2D(actor);
  return renderer;
}

} // namespace Scene
} // namespace KMeansPreview
} // namespace itk
