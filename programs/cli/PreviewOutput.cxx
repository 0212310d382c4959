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
#include "cli/PreviewOutput.h"
#include "cli/ErrorReporting.h"

#include "itkKMeansClassColors.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace kmeans_cli
{
namespace
{
constexpr const char * NoPreview =
  "this build of kmeans-segment has no VTK preview (VTK 9 was not found when it was configured; install "
  "libvtk9-dev and reconfigure)";

bool
HaveDisplay()
{
  const char * display = std::getenv("DISPLAY");
  return display != nullptr && *display != '\0';
}

/** A validator that refuses the option in a build without the preview, and, when needsDisplay, without an
 * X display. */
CLI::Validator
PreviewValidator(bool needsDisplay, bool png)
{
  return CLI::Validator(
    [=](std::string & value) -> std::string {
      if (!PreviewAvailable())
      {
        return NoPreview;
      }
      if (png)
      {
        std::string extension = std::filesystem::path(value).extension().string();
        std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) {
          return static_cast<char>(std::tolower(c));
        });
        if (extension != ".png")
        {
          return "the picture is written as PNG; give a file name ending in .png, not '" + value + "'";
        }
      }
      if (needsDisplay && !HaveDisplay())
      {
        return "it renders with VTK and needs an X display, and DISPLAY is not set: run the program "
                        "under `xvfb-run -a`";
      }
      return {};
    },
    "", "preview");
}
} // namespace

bool
PreviewAvailable()
{
#ifdef KMEANS_HAVE_PREVIEW
  return true;
#else
  return false;
#endif
}

void
AddPreviewOptions(CLI::App & app, Options & options)
{
  const std::string unavailable = PreviewAvailable() ? "" : " (not in this build: no VTK)";
  app.add_option("--preview", options.Preview,
                 "Write a PNG picture of the result: three orthogonal slices with the label overlay, the class "
                 "surfaces in 3-D, the intensity histogram with class means and thresholds, and a legend" +
                   unavailable)
    ->check(PreviewValidator(true, true));
  app.add_option("--vtk-dir", options.VtkDirectory,
                 "Write files for ParaView into this directory: a .vti image (intensity and labels), one .vtp "
                 "surface per class and a .vtm opening them together (LPS coordinates)" +
                   unavailable)
    ->check(PreviewValidator(false, false));
  app.add_flag("--show", options.Show,
               "Open the interactive viewer on the result (slices, overlay, class surfaces)" + unavailable)
    ->check(PreviewValidator(true, false));
}

#ifdef KMEANS_HAVE_PREVIEW
void
WritePreviewOutputs(const Options &                          options,
                    const itk::KMeansPreview::ImageType *      image,
                    const itk::KMeansPreview::LabelImageType * labels,
                    const PreviewClasses &                   classes,
                    Report &                                 report)
{
  namespace preview = itk::KMeansPreview;
  preview::Segmentation segmentation;
  segmentation.Image = image;
  segmentation.Labels = labels;
  segmentation.Thresholds = classes.Thresholds;
  segmentation.Title = options.Inputs.empty() ? "" : std::filesystem::path(options.Inputs.front()).filename().string();
  const auto   K = static_cast<unsigned int>(classes.Means.size());
  const auto   styles = itk::KMeansClassColors::GetClassStyles(K, options.Scan.Tissues);
  const auto & spacing = image->GetSpacing();
  for (unsigned int k = 0; k < K; ++k)
  {
    preview::ClassSummary c;
    c.Label = k + 1;
    c.Name = styles[k].Name;
    c.Color = styles[k].Color;
    c.Count = k < classes.Counts.size() ? classes.Counts[k] : 0;
    c.Mean = classes.Means[k];
    c.VolumeML = static_cast<double>(c.Count) * spacing[0] * spacing[1] * spacing[2] / 1000.0;
    segmentation.Classes.push_back(c);
  }

  ReportJson entry = ReportJson::object();
  if (!options.Preview.empty())
  {
    Stopwatch time;
    try
    {
      preview::RenderPreviewPNG(segmentation, options.Preview);
    }
    catch (const itk::ExceptionObject & error)
    {
      throw FileError(options.Preview, "cannot write the preview picture: " + OneLine(error));
    }
    entry["picture"] = options.Preview;
    report.SetTiming("preview", time.Seconds());
  }
  if (!options.VtkDirectory.empty())
  {
    Stopwatch                time;
    preview::ParaViewFiles   files;
    try
    {
      files = preview::WriteParaViewFiles(segmentation, options.VtkDirectory, "segmentation");
    }
    catch (const itk::ExceptionObject & error)
    {
      throw FileError(options.VtkDirectory, "cannot write the ParaView files: " + OneLine(error));
    }
    entry["paraview"] = { { "coordinates", "LPS" },
                          { "image", files.ImageFile },
                          { "surfaces", files.SurfaceFiles },
                          { "multiblock", files.MultiBlockFile } };
    report.SetTiming("paraview", time.Seconds());
  }
  if (!entry.empty())
  {
    report["preview"] = entry;
  }
  if (options.Show)
  {
    try
    {
      preview::ShowViewer(segmentation);
    }
    catch (const itk::ExceptionObject & error)
    {
      throw std::runtime_error("--show: " + OneLine(error));
    }
  }
}
#endif
} // namespace kmeans_cli
