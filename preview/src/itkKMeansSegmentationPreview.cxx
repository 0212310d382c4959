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
#include "itkKMeansSegmentationPreview.h"
#include "itkKMeansSegmentationPreviewScene.h"
#include "itkImageToVTKImageData.h"
#include "itkKMeansClassColors.h"

#include <vtkDoubleArray.h>
#include <vtkFieldData.h>
#include <vtkIntArray.h>
#include <vtkPNGWriter.h>
#include <vtkPointData.h>
#include <vtkRenderWindow.h>
#include <vtkStringArray.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowToImageFilter.h>
#include <vtkXMLImageDataWriter.h>
#include <vtkXMLPolyDataWriter.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace itk
{
namespace KMeansPreview
{
namespace
{
/** A temporary name beside target (same directory, so that rename() is atomic). */
std::string
TemporaryName(const std::string & target)
{
  const std::filesystem::path path(target);
  return (path.parent_path() / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()))).string();
}

/** True when the file ends with tail: how a whole file is told from one cut short by a full disk (the VTK XML
 * and PNG writers do not always notice a short write). */
bool
EndsWithBytes(const std::string & path, const std::string & tail)
{
  std::ifstream stream(path, std::ios::binary | std::ios::ate);
  if (!stream || stream.tellg() < static_cast<std::streamoff>(tail.size()))
  {
    return false;
  }
  std::string end(tail.size(), '\0');
  stream.seekg(-static_cast<std::streamoff>(tail.size()), std::ios::end);
  stream.read(&end[0], static_cast<std::streamsize>(end.size()));
  return stream && end == tail;
}

void
CommitFile(const std::string & temporary, const std::string & target)
{
  if (std::rename(temporary.c_str(), target.c_str()) != 0)
  {
    std::remove(temporary.c_str());
    itkGenericExceptionMacro(<< target << ": cannot write the file (rename failed)");
  }
}

/** Write text to target through a temporary file beside it, checked for its full size (a full disk). */
void
WriteTextFile(const std::string & target, const std::string & text)
{
  const std::string temporary = TemporaryName(target);
  {
    std::ofstream out(temporary);
    out << text;
    out.close();
    std::error_code error;
    if (!out || std::filesystem::file_size(temporary, error) != text.size() || error)
    {
      std::remove(temporary.c_str());
      itkGenericExceptionMacro(<< target << ": cannot write the file");
    }
  }
  CommitFile(temporary, target);
}

/** text as a Python string literal. */
std::string
PythonString(const std::string & text)
{
  std::ostringstream out;
  out << '"';
  for (const unsigned char ch : text)
  {
    if (ch == '"' || ch == '\\')
    {
      out << '\\' << ch;
    }
    else if (ch < 0x20)
    {
      out << "\\x" << "0123456789abcdef"[ch >> 4] << "0123456789abcdef"[ch & 15];
    }
    else
    {
      out << ch;
    }
  }
  out << '"';
  return out.str();
}

/** The pvpython / ParaView script that opens the files as they are meant to be seen: the scan as a grey slice
 * (not a box hiding the rest) and every class surface in its own colour (the "Color" array shown directly,
 * without a colour map). */
std::string
ParaViewScript(const std::filesystem::path &                            directory,
               const std::string &                                      imageFile,
               const std::vector<std::pair<std::string, std::string>> & surfaces)
{
  std::ostringstream py;
  py << R"py(# Opens the kmeans-segment ParaView files of this directory in ParaView (5.10 or later):
#   paraview --script=open-in-paraview.py              (or File > Load State..., or View > Python Shell > Run Script)
#   pvpython open-in-paraview.py --screenshot view.png  (renders a picture; on a server without display under xvfb-run -a)
# The scan is shown as a grey axial slice; each class surface in its own colour ("Color" point array, drawn as
# RGB without a colour map: Map Scalars off). Coordinates are LPS (ITK/DICOM), in mm.
import os
import sys

from paraview.simple import *

try:
    HERE = os.path.dirname(os.path.abspath(__file__))
except NameError:  # run from ParaView's Python shell
    HERE = )py" << PythonString(directory.string()) << R"py(
IMAGE = )py" << PythonString(imageFile) << R"py(
SURFACES = [
)py";
  for (const auto & surface : surfaces)
  {
    py << "    (" << PythonString(surface.first) << ", " << PythonString(surface.second) << "),\n";
  }
  py << R"py(]

view = GetActiveViewOrCreate("RenderView")
image = XMLImageDataReader(registrationName=IMAGE, FileName=[os.path.join(HERE, IMAGE)])
image.PointArrayStatus = ["Intensity", "Labels"]
image.UpdatePipeline()
imageDisplay = Show(image, view)
imageDisplay.SetRepresentationType("Slice")
imageDisplay.SliceMode = "XY Plane"
extent = image.GetDataInformation().GetExtent()
imageDisplay.Slice = (extent[5] - extent[4]) // 2
ColorBy(imageDisplay, ("POINTS", "Intensity"))
intensityLUT = GetColorTransferFunction("Intensity")
intensityLUT.ApplyPreset("Grayscale", True)
imageDisplay.SetScalarBarVisibility(view, False)

for name, fileName in SURFACES:
    surface = XMLPolyDataReader(registrationName=name, FileName=[os.path.join(HERE, fileName)])
    surface.PointArrayStatus = ["Color", "Label"]
    surfaceDisplay = Show(surface, view)
    surfaceDisplay.SetRepresentationType("Surface")
    ColorBy(surfaceDisplay, ("POINTS", "Color"))
    surfaceDisplay.MapScalars = 0
    surfaceDisplay.SetScalarBarVisibility(view, False)

view.OrientationAxesVisibility = 1
view.ResetCamera()
camera = view.GetActiveCamera()
camera.Elevation(30)
camera.Azimuth(30)
view.ResetCamera()
Render(view)

if "--screenshot" in sys.argv[1:]:
    index = sys.argv.index("--screenshot")
    if index + 1 >= len(sys.argv):
        sys.exit("open-in-paraview.py: --screenshot needs a file name")
    SaveScreenshot(sys.argv[index + 1], view, ImageResolution=[1600, 1000])
)py";
  return py.str();
}

/** "Grey matter" -> "Grey_matter": a file-name-safe form of a class name. */
std::string
FileSafe(const std::string & name)
{
  std::string safe;
  for (char c : name)
  {
    safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
  }
  return safe.empty() ? "class" : safe;
}

void
AddString(vtkFieldData * fields, const char * name, const std::string & value)
{
  auto array = vtkSmartPointer<vtkStringArray>::New();
  array->SetName(name);
  array->InsertNextValue(value);
  fields->AddArray(array);
}

void
AddNumbers(vtkFieldData * fields, const char * name, const std::vector<double> & values, int components = 1)
{
  auto array = vtkSmartPointer<vtkDoubleArray>::New();
  array->SetName(name);
  array->SetNumberOfComponents(components);
  array->SetNumberOfTuples(static_cast<vtkIdType>(values.size() / static_cast<std::size_t>(components)));
  for (std::size_t i = 0; i < values.size(); ++i)
  {
    array->SetValue(static_cast<vtkIdType>(i), values[i]);
  }
  fields->AddArray(array);
}

constexpr const char * CoordinateNote =
  "LPS: ITK/DICOM physical coordinates in mm (x to the patient's left, y to posterior, z to superior)";

template <typename TWriter>
void
WriteXML(TWriter * writer, const std::string & target)
{
  const std::string temporary = TemporaryName(target);
  writer->SetFileName(temporary.c_str());
  writer->SetDataModeToAppended();
  writer->SetCompressorTypeToZLib();
  writer->EncodeAppendedDataOff();
  if (writer->Write() != 1 || writer->GetErrorCode() != 0 || !EndsWithBytes(temporary, "</VTKFile>\n"))
  {
    std::remove(temporary.c_str());
    itkGenericExceptionMacro(<< target << ": cannot write the VTK file");
  }
  CommitFile(temporary, target);
}
} // namespace

namespace Scene
{
void
WriteWindowPNG(vtkRenderWindow * window, const std::string & fileName)
{
  auto grab = vtkSmartPointer<vtkWindowToImageFilter>::New();
  grab->SetInput(window);
  grab->SetInputBufferTypeToRGB();
  grab->ReadFrontBufferOff();
  grab->Update();

  const std::string temporary = TemporaryName(fileName);
  auto              writer = vtkSmartPointer<vtkPNGWriter>::New();
  writer->SetFileName(temporary.c_str());
  writer->SetInputConnection(grab->GetOutputPort());
  writer->Write();
  std::error_code error;
  static const std::string pngEnd("\0\0\0\0IEND\xAE\x42\x60\x82", 12);
  if (writer->GetErrorCode() != 0 || std::filesystem::file_size(temporary, error) == 0 || error ||
      !EndsWithBytes(temporary, pngEnd))
  {
    std::remove(temporary.c_str());
    itkGenericExceptionMacro(<< fileName << ": cannot write the PNG picture");
  }
  CommitFile(temporary, fileName);
}
} // namespace Scene

std::vector<ClassSummary>
SummarizeClasses(const ImageType * image, const LabelImageType * labels, unsigned int numberOfClasses, bool tissues)
{
  if (image == nullptr || labels == nullptr)
  {
    itkGenericExceptionMacro(<< "SummarizeClasses: the " << (image == nullptr ? "intensity" : "label")
                             << " image is missing");
  }
  const auto & size = image->GetBufferedRegion().GetSize();
  if (labels->GetBufferedRegion().GetSize() != size)
  {
    itkGenericExceptionMacro(<< "SummarizeClasses: the label image has size " << labels->GetBufferedRegion().GetSize()
                             << " but the intensity image has size " << size);
  }
  const std::size_t             count = image->GetBufferedRegion().GetNumberOfPixels();
  const float *                 intensity = image->GetBufferPointer();
  const unsigned char *         label = labels->GetBufferPointer();
  std::array<std::uint64_t, 256> counts{};
  std::array<long double, 256>   sums{};
  unsigned int                   largest = 0;
  for (std::size_t i = 0; i < count; ++i)
  {
    ++counts[label[i]];
    if (std::isfinite(intensity[i]))
    {
      sums[label[i]] += intensity[i];
    }
    largest = std::max<unsigned int>(largest, label[i]);
  }
  const unsigned int K = numberOfClasses > 0 ? std::min(numberOfClasses, 255u) : largest;
  const auto &       spacing = image->GetSpacing();
  const double       voxelML = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  const auto         styles = KMeansClassColors::GetClassStyles(K, tissues);
  std::vector<ClassSummary> classes(K);
  for (unsigned int k = 0; k < K; ++k)
  {
    auto & c = classes[k];
    c.Label = k + 1;
    c.Name = styles[k].Name;
    c.Color = styles[k].Color;
    c.Count = counts[k + 1];
    c.VolumeML = static_cast<double>(c.Count) * voxelML;
    c.Mean = c.Count > 0 ? static_cast<double>(sums[k + 1] / static_cast<long double>(c.Count)) : 0.0;
  }
  return classes;
}

std::vector<double>
MidpointThresholds(const std::vector<ClassSummary> & classes)
{
  std::vector<double> thresholds;
  for (std::size_t k = 1; k < classes.size(); ++k)
  {
    if (classes[k - 1].Count > 0 && classes[k].Count > 0)
    {
      thresholds.push_back((classes[k - 1].Mean + classes[k].Mean) / 2);
    }
  }
  return thresholds;
}

Segmentation
MakeSegmentation(const ImageType *      image,
                 const LabelImageType * labels,
                 unsigned int           numberOfClasses,
                 bool                   tissues,
                 const std::string &    title)
{
  Segmentation segmentation;
  segmentation.Image = image;
  segmentation.Labels = labels;
  segmentation.Classes = SummarizeClasses(image, labels, numberOfClasses, tissues);
  segmentation.Thresholds = MidpointThresholds(segmentation.Classes);
  segmentation.Title = title;
  return segmentation;
}

bool
IsTwoDimensional(const Segmentation & segmentation)
{
  return segmentation.Image.IsNotNull() && segmentation.Image->GetBufferedRegion().GetSize(2) == 1;
}

void
RenderPreviewPNG(const Segmentation & segmentation, const std::string & fileName, const RenderOptions & options)
{
  Scene::Validate(segmentation);
  Scene::RequireDisplay("the preview picture");
  if (options.Width < 400 || options.Height < 300 || options.Width > 8192 || options.Height > 8192)
  {
    itkGenericExceptionMacro(<< fileName << ": picture size " << options.Width << "x" << options.Height
                             << " is outside 400x300 .. 8192x8192");
  }
  const double W = options.Width;
  const double H = options.Height;
  const double fontScale = H / 1000.0;

  auto window = vtkSmartPointer<vtkRenderWindow>::New();
  window->SetOffScreenRendering(1);
  window->SetSize(static_cast<int>(options.Width), static_cast<int>(options.Height));
  window->SetMultiSamples(0);

  auto background = vtkSmartPointer<vtkRenderer>::New();
  background->SetBackground(Scene::Background[0], Scene::Background[1], Scene::Background[2]);
  std::string title = "K-means segmentation";
  if (!segmentation.Title.empty())
  {
    title += ": " + segmentation.Title;
  }
  title += "   (K = " + std::to_string(segmentation.Classes.size()) + ")";
  background->AddActor2D(Scene::MakeText(title, 0.01, 0.962, static_cast<int>(std::lround(22 * fontScale)), true));
  window->AddRenderer(background);

  const auto                  histogram = Scene::ComputeHistogram(segmentation);
  const auto                  intensityWindow = Scene::ComputeWindow(segmentation, histogram);
  const std::vector<bool>     enabled;
  std::vector<std::unique_ptr<Scene::SlicePanel>> panels;
  std::unique_ptr<Scene::SurfacePanel>            surfaces;
  const double                gap = 4.0 / W;
  const double                gapY = 4.0 / H;
  const double                top = 0.95;

  vtkSmartPointer<vtkRenderer> chart;
  vtkSmartPointer<vtkRenderer> legend;
  if (IsTwoDimensional(segmentation))
  {
    panels.push_back(std::make_unique<Scene::SlicePanel>(
      segmentation, Scene::GetDisplayMapping(segmentation.Image, Scene::Orientation::Plane2D), intensityWindow));
    panels[0]->SetViewport(gap, gapY, 0.5 - gap / 2, top, fontScale);
    chart = Scene::MakeHistogramRenderer(segmentation, histogram, fontScale);
    chart->SetViewport(0.5 + gap / 2, 0.36, 1.0 - gap, top);
    legend = Scene::MakeLegendRenderer(
      segmentation, fontScale, static_cast<unsigned int>(W * 0.5), static_cast<unsigned int>(H * 0.36));
    legend->SetViewport(0.5 + gap / 2, gapY, 1.0 - gap, 0.36 - gapY);
  }
  else
  {
    const Scene::Orientation orientations[3] = { Scene::Orientation::Axial,
                                                 Scene::Orientation::Coronal,
                                                 Scene::Orientation::Sagittal };
    const double             rowBottom = 0.42;
    for (unsigned int i = 0; i < 3; ++i)
    {
      panels.push_back(std::make_unique<Scene::SlicePanel>(
        segmentation, Scene::GetDisplayMapping(segmentation.Image, orientations[i]), intensityWindow));
      panels[i]->SetViewport(0.25 * i + gap / 2, rowBottom, 0.25 * (i + 1) - gap / 2, top, fontScale);
    }
    surfaces = std::make_unique<Scene::SurfacePanel>(segmentation, true);
    surfaces->SetViewport(0.75 + gap / 2, rowBottom, 1.0 - gap / 2, top, fontScale);
    chart = Scene::MakeHistogramRenderer(segmentation, histogram, fontScale);
    chart->SetViewport(0.0, 0.0, 0.63, rowBottom - gapY);
    legend = Scene::MakeLegendRenderer(
      segmentation, fontScale, static_cast<unsigned int>(W * 0.37), static_cast<unsigned int>(H * rowBottom));
    legend->SetViewport(0.63, 0.0, 1.0, rowBottom - gapY);
  }
  for (auto & panel : panels)
  {
    window->AddRenderer(panel->GetRenderer());
  }
  if (surfaces)
  {
    window->AddRenderer(surfaces->GetRenderer());
  }
  window->AddRenderer(chart);
  window->AddRenderer(legend);
  for (auto & panel : panels)
  {
    panel->Update(options.OverlayOpacity, enabled);
  }
  window->Render();

  Scene::WriteWindowPNG(window, fileName);
}

ParaViewFiles
WriteParaViewFiles(const Segmentation & segmentation, const std::string & directory, const std::string & baseName)
{
  Scene::Validate(segmentation);
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error || !std::filesystem::is_directory(directory))
  {
    itkGenericExceptionMacro(<< directory << ": cannot create the directory for the ParaView files"
                             << (error ? " (" + error.message() + ")" : std::string()));
  }
  const std::filesystem::path dir(directory);
  ParaViewFiles               files;

  // The image: intensity and labels as point data, ITK's origin, spacing and direction, LPS.
  auto image = ImageToVTKImageData(segmentation.Image.GetPointer(), "Intensity");
  AddImageAsPointData(segmentation.Labels.GetPointer(), "Labels", image);
  auto * fields = image->GetFieldData();
  AddString(fields, "CoordinateSystem", "LPS");
  AddString(fields, "CoordinateSystemDescription", CoordinateNote);
  auto names = vtkSmartPointer<vtkStringArray>::New();
  names->SetName("ClassNames");
  std::vector<double> labels, colours, volumes, means;
  for (const auto & c : segmentation.Classes)
  {
    names->InsertNextValue(c.Name);
    labels.push_back(c.Label);
    colours.insert(colours.end(), c.Color.begin(), c.Color.end());
    volumes.push_back(c.VolumeML);
    means.push_back(c.Mean);
  }
  fields->AddArray(names);
  AddNumbers(fields, "ClassLabels", labels);
  AddNumbers(fields, "ClassColors", colours, 3);
  AddNumbers(fields, "ClassVolumesML", volumes);
  AddNumbers(fields, "ClassMeans", means);
  AddNumbers(fields, "Thresholds", segmentation.Thresholds);
  files.ImageFile = (dir / (baseName + ".vti")).string();
  {
    auto writer = vtkSmartPointer<vtkXMLImageDataWriter>::New();
    writer->SetInputData(image);
    WriteXML(writer.GetPointer(), files.ImageFile);
  }

  // One surface per class.
  std::vector<std::pair<std::string, std::string>> blocks; // name, file name relative to the .vtm
  if (!IsTwoDimensional(segmentation))
  {
    const auto surfaces = Scene::ClassSurfaces(segmentation);
    for (std::size_t k = 0; k < surfaces.size(); ++k)
    {
      const auto & c = segmentation.Classes[k];
      auto &       surface = surfaces[k];
      if (surface->GetNumberOfPoints() == 0)
      {
        continue;
      }
      auto * f = surface->GetFieldData();
      AddString(f, "ClassName", c.Name);
      AddNumbers(f, "ClassLabel", { static_cast<double>(c.Label) });
      AddNumbers(f, "ClassColor", { c.Color[0], c.Color[1], c.Color[2] }, 3);
      AddNumbers(f, "VolumeML", { c.VolumeML });
      AddNumbers(f, "Mean", { c.Mean });
      AddString(f, "CoordinateSystem", "LPS");
      AddString(f, "CoordinateSystemDescription", CoordinateNote);
      auto colour = vtkSmartPointer<vtkUnsignedCharArray>::New();
      colour->SetName("Color");
      colour->SetNumberOfComponents(3);
      colour->SetNumberOfTuples(surface->GetNumberOfPoints());
      for (unsigned int i = 0; i < 3; ++i)
      {
        colour->FillComponent(static_cast<int>(i), std::lround(255 * c.Color[i]));
      }
      surface->GetPointData()->AddArray(colour);
      auto label = vtkSmartPointer<vtkIntArray>::New();
      label->SetName("Label");
      label->SetNumberOfTuples(surface->GetNumberOfPoints());
      label->FillComponent(0, c.Label);
      surface->GetPointData()->AddArray(label);

      const std::string name = baseName + "_" + std::to_string(c.Label) + "_" + FileSafe(c.Name) + ".vtp";
      const std::string path = (dir / name).string();
      auto              writer = vtkSmartPointer<vtkXMLPolyDataWriter>::New();
      writer->SetInputData(surface);
      WriteXML(writer.GetPointer(), path);
      files.SurfaceFiles.push_back(path);
      blocks.emplace_back(c.Name, name);
    }
  }

  // The multiblock file references the files above (no copy of their data).
  auto escape = [](const std::string & text) {
    std::string out;
    for (char ch : text)
    {
      switch (ch)
      {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += ch;
      }
    }
    return out;
  };
  std::ostringstream vtm;
  vtm << "<?xml version=\"1.0\"?>\n"
      << "<!-- " << CoordinateNote << " -->\n"
      << "<VTKFile type=\"vtkMultiBlockDataSet\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\">\n"
      << "  <vtkMultiBlockDataSet>\n"
      << "    <DataSet index=\"0\" name=\"Image\" file=\"" << escape(baseName + ".vti") << "\"/>\n";
  if (!blocks.empty())
  {
    vtm << "    <Block index=\"1\" name=\"Surfaces\">\n";
    for (std::size_t b = 0; b < blocks.size(); ++b)
    {
      vtm << "      <DataSet index=\"" << b << "\" name=\"" << escape(blocks[b].first) << "\" file=\""
          << escape(blocks[b].second) << "\"/>\n";
    }
    vtm << "    </Block>\n";
  }
  vtm << "  </vtkMultiBlockDataSet>\n</VTKFile>\n";
  files.MultiBlockFile = (dir / (baseName + ".vtm")).string();
  WriteTextFile(files.MultiBlockFile, vtm.str());
  files.ScriptFile = (dir / "open-in-paraview.py").string();
  WriteTextFile(files.ScriptFile, ParaViewScript(std::filesystem::absolute(dir), baseName + ".vti", blocks));
  return files;
}

} // namespace KMeansPreview
} // namespace itk
