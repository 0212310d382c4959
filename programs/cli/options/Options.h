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
#ifndef KMeansCLIOptions_h
#define KMeansCLIOptions_h

#include "cli/options/ModelOptions.h"
#include "cli/options/MultiChannelOptions.h"

#include "cli/options/ScanOptions.h"
#include "cli/models/Streaming.h"

#include <optional>
#include <string>
#include <vector>

namespace CLI
{
class App;
}

namespace kmeans_cli
{
/** Every option of kmeans-segment, filled by CLI11 (see AddKMeansSegmentOptions). A feature that needs a new
 * option adds a member here and registers it in its own Add...Options(CLI::App &, Options &) function, called
 * from main() beside AddKMeansSegmentOptions; Options.cxx keeps the core ones. */
struct Options
{
  /** INPUT files (one scalar image; several are reserved for the channels of one scan). */
  std::vector<std::string> Inputs;
  /** -o: the label map; its format follows the extension. */
  std::string Output;
  /** -k: number of classes K, 1..255 (labels are written as unsigned char). */
  unsigned int NumberOfClasses{ 0 };
  /** --mask: only voxels where this image is non-zero are classified. */
  std::string Mask;
  /** --foreground-threshold V / --nonzero (V = 0): only voxels above V are classified. */
  std::optional<double> ForegroundThreshold;
  /** --threads: work units of the filter and ITK's global default number of threads (0 = ITK's default). */
  unsigned int Threads{ 0 };
  /** --report: JSON report path (optional). */
  std::string Report;
  /** --quiet: no class table on the terminal. */
  bool Quiet{ false };
  /** DICOM series, Slicer segmentation, preprocessing, progress, batch (cli/options/ScanOptions.h). */
  ScanOptions Scan;
  /** --model, --mrf, --posteriors, -k auto (cli/options/ModelOptions.h). */
  ModelOptions Model;
  /** --standardize, --seed, --restarts: several INPUT channels (cli/models/MultiChannel.h). */
  MultiChannelOptions Channels;
  /** --preview: PNG picture of the result (VTK preview, see cli/outputs/PreviewOutput.h). */
  std::string Preview;
  /** --vtk-dir: directory for the ParaView files. */
  std::string VtkDirectory;
  /** --show: open the interactive viewer after writing. */
  bool Show{ false };
  /** --max-memory, --save-model, --apply-model, --save-histogram, --fit-histograms (cli/models/Streaming.h). */
  StreamingOptions Streaming;

  /** Every path the program reads (inputs and mask): outputs must differ from all of them. */
  std::vector<std::string>
  ReadPaths() const;
  /** Every path the program writes (label map and report). */
  std::vector<std::string>
  WritePaths() const;
};

/** Register the core options (INPUT, -o, -k, --mask, --foreground-threshold, --nonzero, --threads, --report,
 * --quiet, --version) on app, bound to options. */
void
AddKMeansSegmentOptions(CLI::App & app, Options & options);

/** Print CLI11 usage errors as one line, "PROGRAM: usage error: ... (see --help)". */
void
UseOneLineUsageErrors(CLI::App & app, const std::string & programName);

/** Parse argv; returns std::nullopt to continue, else the exit status (0 after --help or --version, 2 for a
 * usage error, with the message printed). */
std::optional<int>
ParseCommandLine(CLI::App & app, int argc, const char * const * argv);
} // namespace kmeans_cli

#endif
