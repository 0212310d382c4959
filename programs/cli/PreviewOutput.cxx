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

#include "cli/Interruption.h"
#include "cli/ErrorReporting.h"
#include "cli/PreviewPlugin.h"

#include "itkKMeansClassColors.h"

#include <CLI/CLI.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace kmeans_cli
{
namespace
{
namespace fs = std::filesystem;

/** Where the plugin may be: beside the executable (the build tree) and in the installed library directory. */
std::vector<fs::path>
PluginCandidates()
{
  std::error_code ec;
  const fs::path  executable = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
  {
    return {};
  }
  const fs::path directory = executable.parent_path();
  return { directory / KMEANS_PREVIEW_PLUGIN_FILE,
           (directory / KMEANS_PREVIEW_PLUGIN_RELATIVE_DIR / KMEANS_PREVIEW_PLUGIN_FILE).lexically_normal() };
}

fs::path
FindPlugin()
{
  for (const auto & candidate : PluginCandidates())
  {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec))
    {
      return candidate;
    }
  }
  return {};
}

std::string
NoPreviewMessage()
{
  std::string looked;
  for (const auto & candidate : PluginCandidates())
  {
    looked += (looked.empty() ? "" : ", ") + candidate.string();
  }
  return std::string("this kmeans-segment has no VTK preview: its plugin " KMEANS_PREVIEW_PLUGIN_FILE
                     " is not installed (looked for ") +
         looked + "); it is built when VTK 9 (libvtk9-dev) is found at configure time";
}

/** The plugin's functions, loaded on first use and kept for the life of the process (VTK is not unloaded). */
const PreviewPluginFunctions &
Plugin()
{
  static const PreviewPluginFunctions * const functions = [] {
    const fs::path path = FindPlugin();
    if (path.empty())
    {
      throw std::runtime_error(NoPreviewMessage());
    }
    void * handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
    {
      const char * reason = dlerror();
      throw FileError(path.string(), std::string("cannot load the VTK preview plugin: ") +
                                       (reason != nullptr ? reason : "unknown reason"));
    }
    const auto entry = reinterpret_cast<PreviewPluginEntry>(dlsym(handle, PreviewPluginEntryPoint));
    if (entry == nullptr)
    {
      throw FileError(path.string(), std::string("not a kmeans-segment preview plugin (no ") + PreviewPluginEntryPoint + ")");
    }
    const PreviewPluginFunctions * loaded = entry();
    if (loaded == nullptr || loaded->InterfaceVersion != PreviewPluginInterfaceVersion)
    {
      throw FileError(path.string(),
                      "preview plugin of interface version " +
                        std::to_string(loaded == nullptr ? 0U : loaded->InterfaceVersion) + ", this program needs " +
                        std::to_string(PreviewPluginInterfaceVersion) + " (a plugin from another build)");
    }
    return loaded;
  }();
  return *functions;
}

bool
HaveDisplay()
{
  const char * display = std::getenv("DISPLAY");
  return display != nullptr && *display != '\0';
}

/** A validator that refuses the option when the preview is not available, and, when needsDisplay, without an
 * X display. */
CLI::Validator
PreviewValidator(bool needsDisplay, bool png)
{
  return CLI::Validator(
    [=](std::string & value) -> std::string {
      if (!PreviewAvailable())
      {
        return NoPreviewMessage();
      }
      if (png)
      {
        std::string extension = fs::path(value).extension().string();
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
  return !FindPlugin().empty();
}

void
AddPreviewOptions(CLI::App & app, Options & options)
{
  const std::string unavailable = PreviewAvailable() ? "" : " (not available: no VTK preview plugin)";
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

namespace
{
/** Run write() (a plugin call that writes files as ".NAME.tmpPID" in directory, then renames them) with those
 * temporary files registered for removal on SIGINT or SIGTERM. */
template <typename TWrite>
std::string
WithInterruptCleanup(const std::string & directory, TWrite && write)
{
  const int         handle = RegisterCleanup(CleanupKind::PreviewTemporaries, directory.empty() ? "." : directory);
  const std::string error = write();
  UnregisterCleanup(handle);
  return error;
}
} // namespace

void
WritePreviewOutputs(const Options &                          options,
                    const itk::KMeansPreview::ImageType *      image,
                    const itk::KMeansPreview::LabelImageType * labels,
                    const PreviewClasses &                   classes,
                    Report &                                 report)
{
  namespace preview = itk::KMeansPreview;
  const PreviewPluginFunctions & plugin = Plugin();
  preview::Segmentation          segmentation;
  segmentation.Image = image;
  segmentation.Labels = labels;
  segmentation.Thresholds = classes.Thresholds;
  segmentation.Title = options.Inputs.empty() ? "" : fs::path(options.Inputs.front()).filename().string();
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
    Stopwatch         time;
    const std::string error = WithInterruptCleanup(fs::path(options.Preview).parent_path().string(), [&]() {
      return plugin.RenderPicture(segmentation, options.Preview);
    });
    if (!error.empty())
    {
      throw FileError(options.Preview, "cannot write the preview picture: " + OneLineDescription(error));
    }
    RegisterCleanup(CleanupKind::WrittenFile, options.Preview);
    entry["picture"] = options.Preview;
    report.SetTiming("preview", time.Seconds());
  }
  if (!options.VtkDirectory.empty())
  {
    Stopwatch              time;
    preview::ParaViewFiles files;
    const std::string      error = WithInterruptCleanup(options.VtkDirectory, [&]() {
      return plugin.WriteParaView(segmentation, options.VtkDirectory, files);
    });
    if (!error.empty())
    {
      throw FileError(options.VtkDirectory, "cannot write the ParaView files: " + OneLineDescription(error));
    }
    for (const std::string & written : files.SurfaceFiles)
    {
      RegisterCleanup(CleanupKind::WrittenFile, written);
    }
    RegisterCleanup(CleanupKind::WrittenFile, files.ImageFile);
    RegisterCleanup(CleanupKind::WrittenFile, files.MultiBlockFile);
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
    if (const std::string error = plugin.ShowViewer(segmentation); !error.empty())
    {
      throw std::runtime_error("--show: " + OneLineDescription(error));
    }
  }
}
} // namespace kmeans_cli
