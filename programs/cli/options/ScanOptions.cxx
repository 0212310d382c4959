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
#include "cli/options/ScanOptions.h"

#include "cli/inputs/DicomSeries.h"
#include "cli/options/ModelOptions.h"
#include "cli/options/Options.h"
#include "cli/options/SlicerCLIDescription.h"

#include <CLI/CLI.hpp>

#include <string_view>

namespace kmeans_cli
{
void
AddScanOptions(CLI::App & app, Options & options)
{
  ScanOptions & scan = options.Scan;
  app.add_option("--series", scan.Series,
                 "DICOM series instance UID to read when INPUT is a directory holding several series "
                 "(--list-series shows them)");
  app.add_flag("--list-series", "List the DICOM series of each INPUT directory (UID, description, size) and exit");
  app.add_flag("--tissues", scan.Tissues,
               "Brain tissues (K = 3 inside a brain mask): name the classes CSF, Grey matter, White matter in a "
               ".seg.nrrd output");
  PreprocessingOptions & pre = scan.Preprocessing;
  app.add_flag("--auto-mask", pre.AutoMask,
               "Classify only the head: automatic foreground mask (Otsu threshold, holes filled, largest "
               "component), combined with --mask");
  app.add_flag("--n4", pre.N4,
               "N4 bias-field correction before segmentation. Not for noisy scans (noise above about 5 % of the "
               "white-matter intensity): N4 then flattens part of the tissue contrast and worsens the result; use "
               "--bias-field (estimated inside the tissue model) there");
  app.add_option("--n4-shrink", pre.N4ShrinkFactor, "Shrink factor of the image N4 fits the bias field on")
    ->check(CLI::Range(1U, 16U));
  app.add_option("--n4-iterations", pre.N4Iterations,
                 "Maximum iterations of each N4 fitting level (one number per level)")
    ->expected(1, 10)
    ->delimiter(',');
  app.add_flag("--denoise", pre.Denoise, "Edge-preserving denoising (curvature anisotropic diffusion)");
  app.add_option("--denoise-iterations", pre.DenoiseIterations, "Iterations of the anisotropic diffusion")
    ->check(CLI::Range(1U, 100U));
  app.add_option("--denoise-conductance", pre.DenoiseConductance,
                 "Conductance of the anisotropic diffusion (lower keeps more edges)")
    ->check(CLI::Range(0.01, 100.0));
  app.add_flag("--slicer-progress", scan.SlicerProgress,
               "Report progress as <filter-progress> lines on standard output (3D Slicer passes this flag)");
  app.add_option("--output-dir", scan.OutputDirectory,
                 "Batch: segment every INPUT on its own into this directory, with summary.csv and summary.json "
                 "(without it several INPUTs are the channels of one scan)");
  app.add_option("-j,--jobs", scan.Jobs, "Batch: number of inputs segmented at the same time")
    ->check(CLI::Range(1U, 256U));
  app.add_option("--output-suffix", scan.OutputSuffix,
                 "Batch: ending of the label map names, which sets their format (default .seg.nrrd)");

  // A batch names its outputs itself: -o is required only without --output-dir, and INPUT may repeat.
  if (CLI::Option * output = app.get_option_no_throw("--output"))
  {
    output->required(false);
  }
  if (CLI::Option * input = app.get_option_no_throw("INPUT"))
  {
    input->expected(1, 1 << 20);
  }
  app.final_callback([&options]() {
    if (options.Scan.OutputDirectory.empty() && options.Output.empty() && options.Streaming.SaveModel.empty() &&
        options.Streaming.SaveHistogram.empty())
    {
      throw CLI::RequiredError("--output");
    }
    if (!options.Scan.OutputDirectory.empty() && !options.Output.empty())
    {
      throw CLI::ValidationError("--output-dir", "a batch names its outputs itself: give --output-dir or -o, not both");
    }
  });
}

std::optional<int>
HandleEarlyRequests(int argc, const char * const * argv, std::ostream & out, std::ostream & err)
{
  if (IsSlicerXMLRequest(argc, argv))
  {
    out << SlicerCLIDescriptionXML(KMeansSegmentSlicerParameters(), KMEANS_SEGMENTATION_VERSION);
    return 0;
  }
  bool                     list = false;
  std::vector<std::string> directories;
  for (int i = 1; i < argc; ++i)
  {
    const std::string_view argument(argv[i]);
    if (argument == "--list-series")
    {
      list = true;
    }
    else if (!argument.empty() && argument[0] != '-' && IsDirectory(argv[i]))
    {
      directories.push_back(argv[i]);
    }
  }
  if (!list)
  {
    return std::nullopt;
  }
  if (directories.empty())
  {
    err << "kmeans-segment: error: --list-series needs a directory of DICOM files as INPUT" << std::endl;
    return 2;
  }
  int status = 0;
  for (const std::string & directory : directories)
  {
    try
    {
      const auto series = ListDicomSeries(directory);
      out << directory << ": " << series.size() << " DICOM series\n" << FormatDicomSeriesList(series);
    }
    catch (const std::exception & error)
    {
      err << "kmeans-segment: error: " << error.what() << std::endl;
      status = 1;
    }
  }
  out.flush();
  return status;
}

bool
NeedsFloatInput(const Options & options)
{
  // --model kmeans --bias-field divides the image by the field (cli/models/ModelSegment.hxx).
  return options.Scan.Preprocessing.N4 || options.Scan.Preprocessing.Denoise ||
         (options.Model.BiasField && !UsesGaussianMixture(options));
}
} // namespace kmeans_cli
