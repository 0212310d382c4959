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
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkKMeansClassColors.h"
#include "itkKMeansSegmentationPreview.h"

#include <vtkCompositeDataSet.h>
#include <vtkDataArray.h>
#include <vtkFieldData.h>
#include <vtkImageData.h>
#include <vtkInformation.h>
#include <vtkMatrix3x3.h>
#include <vtkMultiBlockDataSet.h>
#include <vtkPNGReader.h>
#include <vtkPointData.h>
#include <vtkPolyData.h>
#include <vtkSmartPointer.h>
#include <vtkStringArray.h>
#include <vtkXMLImageDataReader.h>
#include <vtkXMLMultiBlockDataReader.h>
#include <vtkXMLPolyDataReader.h>

#include "PreviewTestSupport.h"

#include "gtest/gtest.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace
{
using namespace itk::KMeansPreview;
namespace fs = std::filesystem;

constexpr double ClassIntensity[4] = { 0.0, 100.0, 200.0, 300.0 };

/** Nested boxes around the centre: label 3 inside (|normalised offset| < 0.25), 2 (< 0.5), 1 (< 0.8), 0 outside;
 * intensity 100 * label + (-3..3). Anisotropic spacing, an origin and a permuted, flipped direction. */
struct Phantom
{
  ImageType::Pointer      Image;
  LabelImageType::Pointer Labels;
};

Phantom
MakePhantom(unsigned int nx, unsigned int ny, unsigned int nz, bool oblique)
{
  Phantom                    p;
  ImageType::RegionType      region;
  region.SetSize({ { nx, ny, nz } });
  ImageType::SpacingType     spacing;
  spacing[0] = 0.9, spacing[1] = 1.1, spacing[2] = nz > 1 ? 1.3 : 1.0;
  ImageType::PointType       origin;
  origin[0] = -20.5, origin[1] = 15.25, origin[2] = 7.5;
  ImageType::DirectionType   direction;
  direction.SetIdentity();
  if (oblique)
  {
    // index x -> patient -y, index y -> patient x, index z -> patient z (a rotation)
    direction.Fill(0.0);
    direction[1][0] = -1.0;
    direction[0][1] = 1.0;
    direction[2][2] = 1.0;
  }
  p.Image = ImageType::New();
  p.Labels = LabelImageType::New();
  for (auto * image : std::initializer_list<itk::ImageBase<3> *>{ p.Image.GetPointer(), p.Labels.GetPointer() })
  {
    image->SetRegions(region);
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->SetDirection(direction);
  }
  p.Image->Allocate();
  p.Labels->Allocate();
  const unsigned int size[3] = { nx, ny, nz };
  for (unsigned int z = 0; z < nz; ++z)
    for (unsigned int y = 0; y < ny; ++y)
      for (unsigned int x = 0; x < nx; ++x)
      {
        const unsigned int index[3] = { x, y, z };
        double             r = 0;
        for (unsigned int d = 0; d < 3; ++d)
        {
          if (size[d] > 1)
          {
            r = std::max(r, std::abs((index[d] + 0.5) / size[d] - 0.5) * 2);
          }
        }
        const unsigned char label = r < 0.25 ? 3 : r < 0.5 ? 2 : r < 0.8 ? 1 : 0;
        p.Labels->SetPixel({ { x, y, z } }, label);
        // Classes spread by -3..3 around their intensity (so the histogram has bars of some width); the
        // slice colours move by at most 2 grey levels of 255.
        const double spread = label == 0 ? 0.0 : static_cast<double>((7 * x + 3 * y + 5 * z) % 7) - 3.0;
        p.Image->SetPixel({ { x, y, z } }, static_cast<float>(ClassIntensity[label] + spread));
      }
  return p;
}

using KMeansPreviewTestSupport::HaveDisplay;

#define REQUIRE_DISPLAY()                                                                                        \
  if (!HaveDisplay())                                                                                            \
  GTEST_SKIP() << "no X display: rendering needs one; install xvfb so that ctest runs this test under xvfb-run -a"

fs::path
TemporaryDirectory(const std::string & name)
{
  const fs::path dir = fs::temp_directory_path() / ("kmeans-preview-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

vtkSmartPointer<vtkImageData>
ReadPNG(const fs::path & file)
{
  auto reader = vtkSmartPointer<vtkPNGReader>::New();
  reader->SetFileName(file.string().c_str());
  reader->Update();
  return reader->GetOutput();
}

std::array<int, 3>
Pixel(vtkImageData * picture, int x, int y)
{
  std::array<int, 3> rgb;
  for (int c = 0; c < 3; ++c)
  {
    rgb[c] = static_cast<int>(picture->GetScalarComponentAsDouble(x, y, 0, c));
  }
  return rgb;
}

/** The overlay colour the picture must show inside a class: grey blended with the class colour at the default
 * opacity, grey window [0, ~300]
 * (the image minimum to the 99.5th percentile of the classified voxels). */
std::array<int, 3>
OverlayColour(const Segmentation & s, unsigned int label)
{
  const double       grey = ClassIntensity[label] / 300.0;
  std::array<int, 3> rgb;
  for (int c = 0; c < 3; ++c)
  {
    const double alpha = RenderOptions{}.OverlayOpacity; // inside a class; its outline is drawn opaque
    const double colour = label == 0 ? grey : (1.0 - alpha) * grey + alpha * s.Classes[label - 1].Color[c];
    rgb[c] = static_cast<int>(std::lround(255 * colour));
  }
  return rgb;
}

bool
Near(const std::array<int, 3> & a, const std::array<int, 3> & b, int tolerance = 4)
{
  for (int c = 0; c < 3; ++c)
  {
    if (std::abs(a[c] - b[c]) > tolerance)
    {
      return false;
    }
  }
  return true;
}

/** Classes met walking left from (x, y) to the left edge, in order, each counted once when seen on at least
 * 3 consecutive pixels. */
std::vector<int>
ClassesAlongRow(const Segmentation & s, vtkImageData * picture, int x, int y, int xEnd)
{
  std::vector<int> sequence;
  int              previous = -1, run = 0;
  for (int u = x; u >= xEnd; --u)
  {
    int match = -1;
    for (unsigned int label = 0; label <= 3; ++label)
    {
      if (Near(Pixel(picture, u, y), OverlayColour(s, label)))
      {
        match = static_cast<int>(label);
      }
    }
    run = match == previous ? run + 1 : 1;
    previous = match;
    if (match >= 0 && run == 3 && (sequence.empty() || sequence.back() != match))
    {
      sequence.push_back(match);
    }
  }
  return sequence;
}

/** Physical bounding box of the voxels with the given label (or all voxels for label < 0), padded by pad. */
std::array<double, 6>
PhysicalBounds(const LabelImageType * labels, int label, double pad)
{
  std::array<double, 6> b{ { 1e30, -1e30, 1e30, -1e30, 1e30, -1e30 } };
  for (itk::ImageRegionConstIteratorWithIndex<LabelImageType> it(labels, labels->GetBufferedRegion()); !it.IsAtEnd();
       ++it)
  {
    if (label >= 0 && it.Get() != label)
    {
      continue;
    }
    LabelImageType::PointType p;
    labels->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    for (unsigned int d = 0; d < 3; ++d)
    {
      b[2 * d] = std::min(b[2 * d], p[d] - pad);
      b[2 * d + 1] = std::max(b[2 * d + 1], p[d] + pad);
    }
  }
  return b;
}

std::string
FieldString(vtkFieldData * fields, const char * name)
{
  auto * array = vtkStringArray::SafeDownCast(fields->GetAbstractArray(name));
  return array && array->GetNumberOfValues() > 0 ? array->GetValue(0) : std::string("<missing>");
}
} // namespace

TEST(KMeansSegmentationPreview, SummarizeClassesCountsVolumesMeansAndColours)
{
  const auto p = MakePhantom(20, 16, 12, false);
  const auto s = MakeSegmentation(p.Image, p.Labels, 3, true, "phantom");
  ASSERT_EQ(s.Classes.size(), 3u);
  const auto styles = itk::KMeansClassColors::GetClassStyles(3, true);
  std::uint64_t counts[4] = {};
  for (itk::ImageRegionConstIterator<LabelImageType> it(p.Labels, p.Labels->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    ++counts[it.Get()];
  }
  for (unsigned int k = 0; k < 3; ++k)
  {
    EXPECT_EQ(s.Classes[k].Label, k + 1);
    EXPECT_EQ(s.Classes[k].Name, styles[k].Name);
    EXPECT_EQ(s.Classes[k].Color, styles[k].Color);
    EXPECT_EQ(s.Classes[k].Count, counts[k + 1]);
    EXPECT_GT(s.Classes[k].Count, 0u);
    EXPECT_NEAR(s.Classes[k].VolumeML, counts[k + 1] * 0.9 * 1.1 * 1.3 / 1000.0, 1e-9);
    EXPECT_NEAR(s.Classes[k].Mean, ClassIntensity[k + 1], 0.5);
  }
  EXPECT_EQ(s.Classes[0].Name, "CSF");
  ASSERT_EQ(s.Thresholds.size(), 2u);
  EXPECT_DOUBLE_EQ(s.Thresholds[0], (s.Classes[0].Mean + s.Classes[1].Mean) / 2);
  EXPECT_DOUBLE_EQ(s.Thresholds[1], (s.Classes[1].Mean + s.Classes[2].Mean) / 2);
}

TEST(KMeansSegmentationPreview, PictureHasTheSizeAndTheOverlayColoursWhereTheClassesAre)
{
  REQUIRE_DISPLAY();
  const auto     p = MakePhantom(48, 40, 36, true);
  const auto     s = MakeSegmentation(p.Image, p.Labels, 3, true, "phantom");
  const fs::path dir = TemporaryDirectory("picture");
  const fs::path png = dir / "preview.png";
  RenderOptions  options;
  options.Width = 1200;
  options.Height = 800;
  RenderPreviewPNG(s, png.string(), options);
  ASSERT_TRUE(fs::exists(png));
  EXPECT_LT(fs::file_size(png), 1u << 20);
  auto picture = ReadPNG(png);
  int  dims[3];
  picture->GetDimensions(dims);
  EXPECT_EQ(dims[0], 1200);
  EXPECT_EQ(dims[1], 800);
  ASSERT_GE(picture->GetNumberOfScalarComponents(), 3);

  // The three slice panels fill the top row (x in quarters 1-3, y from 0.42 to 0.95 of the height): at each
  // panel's centre the innermost class, then walking left the classes 2 and 1 and the background.
  for (int panel = 0; panel < 3; ++panel)
  {
    const int x = static_cast<int>(1200 * (0.25 * panel + 0.125));
    const int y = static_cast<int>(800 * (0.42 + 0.95) / 2);
    EXPECT_TRUE(Near(Pixel(picture, x, y), OverlayColour(s, 3))) << "panel " << panel;
    EXPECT_EQ(ClassesAlongRow(s, picture, x, y, static_cast<int>(1200 * 0.25 * panel) + 3),
              (std::vector<int>{ 3, 2, 1, 0 }))
      << "panel " << panel;
  }

  // The histogram (bottom left) shows bars in each class colour.
  std::array<int, 3> barPixels{};
  for (int y = 0; y < static_cast<int>(800 * 0.4); ++y)
    for (int x = 0; x < static_cast<int>(1200 * 0.62); ++x)
      for (unsigned int k = 0; k < 3; ++k)
      {
        std::array<int, 3> colour;
        for (int c = 0; c < 3; ++c)
        {
          colour[c] = static_cast<int>(std::lround(255 * s.Classes[k].Color[c]));
        }
        barPixels[k] += Near(Pixel(picture, x, y), colour, 2) ? 1 : 0;
      }
  for (unsigned int k = 0; k < 3; ++k)
  {
    EXPECT_GT(barPixels[k], 50) << s.Classes[k].Name; // the innermost class is small: short bars
  }

  // The 3-D panel (top right) shows lit surfaces, not an empty black panel.
  int lit = 0;
  for (int y = static_cast<int>(800 * 0.45); y < static_cast<int>(800 * 0.9); ++y)
    for (int x = static_cast<int>(1200 * 0.76); x < 1195; ++x)
    {
      const auto rgb = Pixel(picture, x, y);
      lit += (rgb[0] + rgb[1] + rgb[2] > 150) ? 1 : 0;
    }
  EXPECT_GT(lit, 5000);
  fs::remove_all(dir);
}

TEST(KMeansSegmentationPreview, TwoDimensionalPictureShowsTheSliceAndOverlay)
{
  REQUIRE_DISPLAY();
  const auto     p = MakePhantom(64, 50, 1, false);
  const auto     s = MakeSegmentation(p.Image, p.Labels, 3, false, "slice");
  EXPECT_TRUE(IsTwoDimensional(s));
  const fs::path dir = TemporaryDirectory("picture2d");
  const fs::path png = dir / "preview.png";
  RenderPreviewPNG(s, png.string(), { 1200, 800, RenderOptions{}.OverlayOpacity });
  auto picture = ReadPNG(png);
  int  dims[3];
  picture->GetDimensions(dims);
  EXPECT_EQ(dims[0], 1200);
  EXPECT_EQ(dims[1], 800);
  const int x = static_cast<int>(1200 * 0.25);
  const int y = static_cast<int>(800 * 0.95 / 2);
  EXPECT_TRUE(Near(Pixel(picture, x, y), OverlayColour(s, 3)));
  EXPECT_EQ(ClassesAlongRow(s, picture, x, y, 3), (std::vector<int>{ 3, 2, 1, 0 }));

  const auto files = WriteParaViewFiles(s, dir.string(), "slice");
  EXPECT_TRUE(fs::exists(files.ImageFile));
  EXPECT_TRUE(files.SurfaceFiles.empty());
  fs::remove_all(dir);
}

TEST(KMeansSegmentationPreview, RenderingWithoutDisplayFailsWithAdvice)
{
  const auto  p = MakePhantom(8, 8, 8, false);
  const auto  s = MakeSegmentation(p.Image, p.Labels);
  const char * display = std::getenv("DISPLAY");
  const std::string saved = display ? display : "";
  ::unsetenv("DISPLAY");
  const fs::path dir = TemporaryDirectory("nodisplay");
  try
  {
    RenderPreviewPNG(s, (dir / "x.png").string());
    ADD_FAILURE() << "no exception without DISPLAY";
  }
  catch (const itk::ExceptionObject & error)
  {
    EXPECT_NE(std::string(error.GetDescription()).find("xvfb-run"), std::string::npos) << error.GetDescription();
  }
  if (!saved.empty())
  {
    ::setenv("DISPLAY", saved.c_str(), 1);
  }
  EXPECT_FALSE(fs::exists(dir / "x.png"));
  fs::remove_all(dir);
}

TEST(KMeansSegmentationPreview, ParaViewFilesKeepGeometryLabelsAndClassSurfaces)
{
  const auto     p = MakePhantom(40, 36, 30, true);
  const auto     s = MakeSegmentation(p.Image, p.Labels, 3, true, "phantom");
  const fs::path dir = TemporaryDirectory("paraview");
  const auto     files = WriteParaViewFiles(s, (dir / "out").string(), "brain");

  // The image: geometry and both arrays.
  auto reader = vtkSmartPointer<vtkXMLImageDataReader>::New();
  reader->SetFileName(files.ImageFile.c_str());
  reader->Update();
  vtkImageData * image = reader->GetOutput();
  int            dims[3];
  image->GetDimensions(dims);
  EXPECT_EQ(dims[0], 40);
  EXPECT_EQ(dims[1], 36);
  EXPECT_EQ(dims[2], 30);
  for (unsigned int d = 0; d < 3; ++d)
  {
    EXPECT_DOUBLE_EQ(image->GetOrigin()[d], p.Image->GetOrigin()[d]);
    EXPECT_DOUBLE_EQ(image->GetSpacing()[d], p.Image->GetSpacing()[d]);
    for (unsigned int e = 0; e < 3; ++e)
    {
      EXPECT_DOUBLE_EQ(image->GetDirectionMatrix()->GetElement(d, e), p.Image->GetDirection()[d][e]);
    }
  }
  EXPECT_EQ(FieldString(image->GetFieldData(), "CoordinateSystem"), "LPS");
  vtkDataArray * labels = image->GetPointData()->GetArray("Labels");
  vtkDataArray * intensity = image->GetPointData()->GetArray("Intensity");
  ASSERT_NE(labels, nullptr);
  ASSERT_NE(intensity, nullptr);
  vtkIdType                     i = 0, mismatches = 0;
  for (itk::ImageRegionConstIteratorWithIndex<LabelImageType> it(p.Labels, p.Labels->GetBufferedRegion());
       !it.IsAtEnd();
       ++it, ++i)
  {
    mismatches += labels->GetTuple1(i) != it.Get() ? 1 : 0;
    mismatches += intensity->GetTuple1(i) != p.Image->GetPixel(it.GetIndex()) ? 1 : 0;
  }
  EXPECT_EQ(mismatches, 0);
  // A voxel's VTK physical position (origin + direction * (index * spacing)) is ITK's.
  double          vtkPoint[3];
  const int       ijk[3] = { 7, 11, 13 };
  image->TransformIndexToPhysicalPoint(ijk, vtkPoint);
  ImageType::PointType itkPoint;
  p.Image->TransformIndexToPhysicalPoint({ { 7, 11, 13 } }, itkPoint);
  for (unsigned int d = 0; d < 3; ++d)
  {
    EXPECT_NEAR(vtkPoint[d], itkPoint[d], 1e-9);
  }

  // One surface per class, named and coloured, inside the image and around its own class's voxels.
  ASSERT_EQ(files.SurfaceFiles.size(), 3u);
  const auto imageBounds = PhysicalBounds(p.Labels, -1, 0.66);
  for (unsigned int k = 0; k < 3; ++k)
  {
    auto surfaceReader = vtkSmartPointer<vtkXMLPolyDataReader>::New();
    surfaceReader->SetFileName(files.SurfaceFiles[k].c_str());
    surfaceReader->Update();
    vtkPolyData * surface = surfaceReader->GetOutput();
    EXPECT_GT(surface->GetNumberOfPolys(), 100) << files.SurfaceFiles[k];
    EXPECT_EQ(FieldString(surface->GetFieldData(), "ClassName"), s.Classes[k].Name);
    EXPECT_EQ(FieldString(surface->GetFieldData(), "CoordinateSystem"), "LPS");
    auto * colour = surface->GetFieldData()->GetArray("ClassColor");
    ASSERT_NE(colour, nullptr);
    for (int c = 0; c < 3; ++c)
    {
      EXPECT_DOUBLE_EQ(colour->GetComponent(0, c), s.Classes[k].Color[c]);
    }
    ASSERT_NE(surface->GetPointData()->GetArray("Color"), nullptr);
    double bounds[6];
    surface->GetBounds(bounds);
    const auto classBounds = PhysicalBounds(p.Labels, static_cast<int>(k + 1), 0.0);
    for (unsigned int d = 0; d < 3; ++d)
    {
      EXPECT_GE(bounds[2 * d], imageBounds[2 * d]) << "class " << k + 1 << " axis " << d;
      EXPECT_LE(bounds[2 * d + 1], imageBounds[2 * d + 1]) << "class " << k + 1 << " axis " << d;
      // The surface lies half a voxel outside the class's outermost voxel centres (less after smoothing).
      EXPECT_NEAR(bounds[2 * d], classBounds[2 * d], 1.0) << "class " << k + 1 << " axis " << d;
      EXPECT_NEAR(bounds[2 * d + 1], classBounds[2 * d + 1], 1.0) << "class " << k + 1 << " axis " << d;
    }
  }

  // The .vtm opens the image and the three surfaces together.
  auto multi = vtkSmartPointer<vtkXMLMultiBlockDataReader>::New();
  multi->SetFileName(files.MultiBlockFile.c_str());
  multi->Update();
  auto * blocks = vtkMultiBlockDataSet::SafeDownCast(multi->GetOutputDataObject(0));
  ASSERT_NE(blocks, nullptr);
  ASSERT_EQ(blocks->GetNumberOfBlocks(), 2u);
  auto * vti = vtkImageData::SafeDownCast(blocks->GetBlock(0));
  ASSERT_NE(vti, nullptr);
  EXPECT_EQ(vti->GetNumberOfPoints(), 40 * 36 * 30);
  auto * surfaces = vtkMultiBlockDataSet::SafeDownCast(blocks->GetBlock(1));
  ASSERT_NE(surfaces, nullptr);
  ASSERT_EQ(surfaces->GetNumberOfBlocks(), 3u);
  for (unsigned int k = 0; k < 3; ++k)
  {
    auto * surface = vtkPolyData::SafeDownCast(surfaces->GetBlock(k));
    ASSERT_NE(surface, nullptr);
    EXPECT_GT(surface->GetNumberOfPolys(), 100);
    EXPECT_EQ(std::string(surfaces->GetMetaData(k)->Get(vtkCompositeDataSet::NAME())), s.Classes[k].Name);
  }
  // No temporary files are left behind.
  for (const auto & entry : fs::directory_iterator(dir / "out"))
  {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
  fs::remove_all(dir);
}

TEST(KMeansSegmentationPreview, ViewerRefusesACutShortScanInOneLine)
{
  // kmeans-view reads through kmeans-segment's checked input path: a NIfTI file one byte short is refused before
  // any pixel is read (ITK 5.2's reader alone would show it with its last voxel made up).
  const auto     p = MakePhantom(12, 10, 8, false);
  const fs::path dir = TemporaryDirectory("viewer-cut");
  itk::WriteImage(p.Image, (dir / "image.nii").string());
  itk::WriteImage(p.Labels, (dir / "labels.nii").string());
  fs::resize_file(dir / "image.nii", fs::file_size(dir / "image.nii") - 1);
  const std::string command = std::string(KMEANS_VIEW_PROGRAM) + " " + (dir / "image.nii").string() + " " +
                              (dir / "labels.nii").string() + " --screenshot " + (dir / "view.png").string() +
                              " 2> " + (dir / "stderr.txt").string();
  EXPECT_NE(std::system(command.c_str()), 0);
  EXPECT_FALSE(fs::exists(dir / "view.png"));
  std::ifstream err(dir / "stderr.txt");
  std::string   line, extra;
  std::getline(err, line);
  EXPECT_EQ(line.rfind("kmeans-view: " + (dir / "image.nii").string() + ": file cut short: ", 0), 0u) << line;
  EXPECT_FALSE(std::getline(err, extra)) << extra;
  fs::remove_all(dir);
}

TEST(KMeansSegmentationPreview, ViewerScreenshotWritesThePicture)
{
  REQUIRE_DISPLAY();
  const auto     p = MakePhantom(32, 28, 24, false);
  const fs::path dir = TemporaryDirectory("viewer");
  itk::WriteImage(p.Image, (dir / "image.nrrd").string());
  itk::WriteImage(p.Labels, (dir / "labels.nrrd").string());
  const fs::path    png = dir / "view.png";
  const std::string command = std::string(KMEANS_VIEW_PROGRAM) + " " + (dir / "image.nrrd").string() + " " +
                              (dir / "labels.nrrd").string() + " --tissues --size 900x700 --screenshot " +
                              png.string() + " 2> " + (dir / "stderr.txt").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ASSERT_TRUE(fs::exists(png));
  auto picture = ReadPNG(png);
  int  dims[3];
  picture->GetDimensions(dims);
  EXPECT_EQ(dims[0], 900);
  EXPECT_EQ(dims[1], 700);

  // A label image of another size: one line on stderr naming the file, non-zero exit, no picture.
  const auto small = MakePhantom(10, 10, 10, false);
  itk::WriteImage(small.Labels, (dir / "small.nrrd").string());
  const fs::path    none = dir / "none.png";
  const std::string bad = std::string(KMEANS_VIEW_PROGRAM) + " " + (dir / "image.nrrd").string() + " " +
                          (dir / "small.nrrd").string() + " --screenshot " + none.string() + " 2> " +
                          (dir / "stderr.txt").string();
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_FALSE(fs::exists(none));
  std::ifstream     err(dir / "stderr.txt");
  std::string       line, extra;
  std::getline(err, line);
  EXPECT_NE(line.find("small.nrrd"), std::string::npos) << line;
  EXPECT_FALSE(std::getline(err, extra)) << extra;
  fs::remove_all(dir);
}
