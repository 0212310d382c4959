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
#include "cli/run/Main.h"

#include "cli/batch/Batch.h"
#include "cli/models/MultiChannel.h"
#include "cli/models/Streaming.h"
#include "cli/options/Options.h"
#include "cli/options/ScanOptions.h"
#include "cli/outputs/PreviewOutput.h"
#include "cli/outputs/Report.h"
#include "cli/run/ErrorReporting.h"
#include "cli/run/Interruption.h"
#include "cli/run/Segment.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

namespace kmeans_cli
{
int
KMeansSegmentMain(int argc, char * argv[])
{
  const std::string program = "kmeans-segment";
  // SIGINT, SIGTERM, SIGHUP: temporary files and this run's outputs removed, then the same signal ends the run.
  InstallInterruptHandlers(InterruptMode::CleanUpAndEnd);
  // "--xml" alone (3D Slicer asks for the CLI module description) and --list-series need no other argument.
  if (const auto status = HandleEarlyRequests(argc, argv, std::cout, std::cerr))
  {
    return *status;
  }
  CLI::App app{ "Globally optimal K-means segmentation of a scalar image (labels 1..K by ascending "
                "class mean, 0 outside the mask)",
                program };
  Options  options;
  AddKMeansSegmentOptions(app, options);
  AddMultiChannelOptions(app, options);
  AddScanOptions(app, options);
  AddPreviewOptions(app, options);
  AddModelOptions(app, options);
  AddStreamingOptions(app, options);
  UseOneLineUsageErrors(app, program);
  if (const auto status = ParseCommandLine(app, argc, argv))
  {
    return *status;
  }
  if (!options.Scan.OutputDirectory.empty())
  {
    return RunBatchFromCommandLine(app, options, argc, argv); // every INPUT on its own
  }
  try
  {
    Report report;
    RunKMeansSegment(options, report);
  }
  catch (const std::exception & error)
  {
    DiscardRunOutputs(); // a failed run leaves no output (the ones it already wrote are removed)
    std::cerr << program << ": error: " << OneLine(error.what()) << std::endl;
    return 1;
  }
  return 0;
}
} // namespace kmeans_cli
