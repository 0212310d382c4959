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
// kmeans-segment: globally optimal K-means segmentation of a scalar image from the command line.
// Usage: kmeans-segment INPUT -o OUTPUT -k K [--mask MASK | --foreground-threshold V | --nonzero]
//                       [--threads N] [--report REPORT.json] [--quiet] [--version]
// Exit status: 0 success, 1 runtime error (one line on stderr naming the file), 2 usage error.
#include "cli/run/ErrorReporting.h"
#include "cli/run/Interruption.h"
#include "cli/models/MultiChannel.h"
#include "cli/options/Options.h"
#include "cli/outputs/PreviewOutput.h"
#include "cli/outputs/Report.h"
#include "cli/options/ScanOptions.h"
#include "cli/batch/Batch.h"
#include "cli/run/Segment.h"
#include "cli/models/Streaming.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

int
main(int argc, char * argv[])
{
  const std::string program = "kmeans-segment";
  // SIGINT, SIGTERM, SIGHUP: temporary files and this run's outputs removed, then the same signal ends the run.
  kmeans_cli::InstallInterruptHandlers(kmeans_cli::InterruptMode::CleanUpAndEnd);
  // "--xml" alone (3D Slicer asks for the CLI module description) and --list-series need no other argument.
  if (const auto status = kmeans_cli::HandleEarlyRequests(argc, argv, std::cout, std::cerr))
  {
    return *status;
  }
  CLI::App          app{ "Globally optimal K-means segmentation of a scalar image (labels 1..K by ascending "
                "class mean, 0 outside the mask)",
                program };
  kmeans_cli::Options options;
  kmeans_cli::AddKMeansSegmentOptions(app, options);
  kmeans_cli::AddMultiChannelOptions(app, options);
  kmeans_cli::AddScanOptions(app, options);
  kmeans_cli::AddPreviewOptions(app, options);
  kmeans_cli::AddModelOptions(app, options);
  kmeans_cli::AddStreamingOptions(app, options);
  kmeans_cli::UseOneLineUsageErrors(app, program);
  if (const auto status = kmeans_cli::ParseCommandLine(app, argc, argv))
  {
    return *status;
  }
  if (!options.Scan.OutputDirectory.empty())
  {
    return kmeans_cli::RunBatchFromCommandLine(app, options, argc, argv); // every INPUT on its own
  }
  try
  {
    kmeans_cli::Report report;
    kmeans_cli::RunKMeansSegment(options, report);
  }
  catch (const std::exception & error)
  {
    kmeans_cli::DiscardRunOutputs(); // a failed run leaves no output (the ones it already wrote are removed)
    std::cerr << program << ": error: " << kmeans_cli::OneLine(error.what()) << std::endl;
    return 1;
  }
  return 0;
}
