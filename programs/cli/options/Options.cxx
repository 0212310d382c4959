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
#include "cli/options/Options.h"

#include <CLI/CLI.hpp>

#include <iostream>

#ifndef KMEANS_SEGMENTATION_VERSION
#  define KMEANS_SEGMENTATION_VERSION "unknown"
#endif

namespace kmeans_cli
{
std::vector<std::string>
Options::ReadPaths() const
{
  std::vector<std::string> paths = Inputs;
  if (!Mask.empty())
  {
    paths.push_back(Mask);
  }
  if (!Streaming.ApplyModel.empty())
  {
    paths.push_back(Streaming.ApplyModel);
  }
  paths.insert(paths.end(), Streaming.FitHistograms.begin(), Streaming.FitHistograms.end());
  return paths;
}

std::vector<std::string>
Options::WritePaths() const
{
  std::vector<std::string> paths;
  if (!Output.empty())
  {
    paths.push_back(Output);
  }
  if (!Report.empty())
  {
    paths.push_back(Report);
  }
  for (const std::string * path : { &Streaming.SaveModel, &Streaming.SaveHistogram })
  {
    if (!path->empty())
    {
      paths.push_back(*path);
    }
  }
  if (!Preview.empty())
  {
    paths.push_back(Preview);
  }
  if (!Model.Posteriors.empty())
  {
    paths.push_back(Model.Posteriors);
  }
  if (!Model.BiasFieldOutput.empty())
  {
    paths.push_back(Model.BiasFieldOutput);
  }
  // The fraction maps (with -k auto the first: K is known only after the fit).
  const unsigned int maps = Model.AutomaticNumberOfClasses ? 1 : NumberOfClasses;
  for (unsigned int label = 1; !Model.PartialVolumePrefix.empty() && label <= maps; ++label)
  {
    paths.push_back(PartialVolumeMapPath(Model.PartialVolumePrefix, Output, label));
  }
  return paths;
}

void
AddKMeansSegmentOptions(CLI::App & app, Options & options)
{
  app.add_option("INPUT", options.Inputs,
                 "Input image: any file ITK reads (NIfTI, NRRD, MetaImage, PNG, JPEG, a DICOM file), segmented "
                 "in its own pixel type")
    ->required()
    ->expected(1);
  app.add_option("-o,--output", options.Output, "Output label map (0 = not classified, 1..K by ascending mean); "
                                                "the format follows the extension")
    ->required();
  app.add_option("-k,--classes", options.NumberOfClasses, "Number of classes K (1..255)")
    ->required()
    ->check(CLI::Validator(
      [](std::string & value) -> std::string {
        if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
        {
          return "K must be a whole number from 1 to 255, not '" + value + "'";
        }
        return {};
      },
      "INT", "integer"))
    ->check(CLI::Range(1U, 255U).description("an integer from 1 to 255"));
  app.add_option("--mask", options.Mask, "Mask image of the input's size and geometry: only voxels where it is "
                                         "non-zero are classified");
  auto * threshold = app.add_option_function<double>(
    "--foreground-threshold",
    [&options](const double & value) { options.ForegroundThreshold = value; },
    "Classify only voxels with intensity above this value (a mask taken from the input itself)");
  auto * nonzero = app.add_flag_callback(
    "--nonzero", [&options]() { options.ForegroundThreshold = 0.0; },
    "Classify only voxels above 0, the background convention of skull-stripped scans (FSL FAST); same as "
    "--foreground-threshold 0");
  threshold->excludes(nonzero);
  app.add_option("--threads", options.Threads, "Number of threads (default or 0: all cores)")
    ->check(CLI::Range(0U, 1024U));
  app.add_option("--report", options.Report, "Write a JSON report (classes, volumes, thresholds, timings)");
  app.add_flag("-q,--quiet", options.Quiet, "Do not print the class table");
  app.set_version_flag("--version", std::string(app.get_name()) + " " + KMEANS_SEGMENTATION_VERSION);
}

void
UseOneLineUsageErrors(CLI::App & app, const std::string & programName)
{
  app.failure_message([programName](const CLI::App *, const CLI::Error & error) {
    std::string text = error.what();
    for (auto & c : text)
    {
      if (c == '\n' || c == '\r')
      {
        c = ' ';
      }
    }
    return programName + ": usage error: " + text + " (see --help)\n";
  });
}

std::optional<int>
ParseCommandLine(CLI::App & app, int argc, const char * const * argv)
{
  try
  {
    app.parse(argc, argv);
  }
  catch (const CLI::ParseError & error)
  {
    const int status = app.exit(error);
    // --help and --version exit 0; CLI11 gives every usage error its own code: the program uses 2 for all.
    return status == 0 ? 0 : 2;
  }
  return std::nullopt;
}
} // namespace kmeans_cli
