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

// kmeans-view IMAGE LABELS: look at a segmentation (slices with the label overlay and the class surfaces).

#include "cli/inputs/ImageInput.h"

#include "itkImageRegionConstIterator.h"
#include "itkKMeansClassColors.h"
#include "itkKMeansSegmentationPreview.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <string>

namespace
{
std::string
OneLine(std::string text)
{
  for (char & c : text)
  {
    if (c == '\n' || c == '\r')
    {
      c = ' ';
    }
  }
  return text;
}

/** Read through kmeans-segment's input path: the header and completeness checks before any pixel is read, and the
 * NIfTI voxels ITK 5.2 misreads (vox_offset 0, scl_inter without scl_slope) read again as NIfTI defines them. */
template <typename TImage>
typename TImage::Pointer
Read(const std::string & fileName)
{
  const kmeans_cli::ImageInfo info = kmeans_cli::ProbeImage(fileName);
  auto                        image = kmeans_cli::ReadImage<TImage>(fileName);
  kmeans_cli::CorrectMisreadNiftiPixels(info, image.GetPointer());
  return image;
}
} // namespace

int
main(int argc, char * argv[])
{
  using namespace itk::KMeansPreview;
  CLI::App app{ "Show a segmentation: axial, coronal and sagittal slices with the label overlay and the 3-D class "
                "surfaces. Keys: mouse wheel or Up/Down over a slice = scroll, +/- = overlay opacity, 1..9 = class "
                "on/off, 0 = all on, o = overlay on/off, r = reset 3-D view, h = help, q = quit. Needs an X display "
                "(use `xvfb-run -a` without one).",
                "kmeans-view" };
  std::string  imageFile, labelFile, screenshot, size = "1400x900";
  unsigned int classes = 0;
  bool         tissues = false;
  double       opacity = 0.3;
  app.add_option("IMAGE", imageFile, "intensity image (any format ITK reads)")->required();
  app.add_option("LABELS", labelFile, "label image of the same grid: 0 = unclassified, 1..K = classes")->required();
  app.add_option("-k,--classes", classes, "number of classes K (default: the largest label)");
  app.add_flag("--tissues", tissues, "name the three classes CSF, Grey matter, White matter (K = 3)");
  app.add_option("--opacity", opacity, "opacity of the class colours over the scan, 0..1 (class outlines are drawn opaque; 0: scan only)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--size", size, "window size WIDTHxHEIGHT");
  app.add_option("--screenshot", screenshot, "render once, save the window to this PNG file and exit");
  CLI11_PARSE(app, argc, argv);

  try
  {
    unsigned int width = 0, height = 0;
    char         x = 0;
    std::istringstream sizeText(size);
    if (!(sizeText >> width >> x >> height) || x != 'x' || width < 400 || height < 300 || width > 8192 ||
        height > 8192)
    {
      throw std::runtime_error("--size " + size + ": expected WIDTHxHEIGHT between 400x300 and 8192x8192");
    }
    auto image = Read<ImageType>(imageFile);
    auto labelsIn = Read<itk::Image<int, 3>>(labelFile);
    if (labelsIn->GetBufferedRegion().GetSize() != image->GetBufferedRegion().GetSize())
    {
      std::ostringstream text;
      text << labelFile << ": label image of size " << labelsIn->GetBufferedRegion().GetSize()
           << " does not match the image " << imageFile << " of size " << image->GetBufferedRegion().GetSize();
      throw std::runtime_error(OneLine(text.str()));
    }
    for (itk::ImageRegionConstIterator<itk::Image<int, 3>> it(labelsIn, labelsIn->GetBufferedRegion()); !it.IsAtEnd();
         ++it)
    {
      if (it.Get() < 0 || it.Get() > 255)
      {
        throw std::runtime_error(labelFile + ": label " + std::to_string(it.Get()) + " is outside 0..255");
      }
    }
    auto labels = ToPreviewLabels(labelsIn.GetPointer());
    labels->CopyInformation(image); // the label map shares the image's grid
    if (tissues && classes != 0 && !itk::KMeansClassColors::HasTissueNames(classes))
    {
      throw std::runtime_error("--tissues needs K = 3 classes, not " + std::to_string(classes));
    }
    const auto segmentation = MakeSegmentation(image, labels, classes, tissues,
                                               std::filesystem::path(imageFile).filename().string());
    ViewerOptions options;
    options.Render.Width = width;
    options.Render.Height = height;
    options.Render.OverlayOpacity = opacity;
    options.ScreenshotFile = screenshot;
    return ShowViewer(segmentation, options);
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "kmeans-view: " << OneLine(error.GetDescription()) << std::endl;
  }
  catch (const std::exception & error)
  {
    std::cerr << "kmeans-view: " << OneLine(error.what()) << std::endl;
  }
  return EXIT_FAILURE;
}
