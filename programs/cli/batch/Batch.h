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
#ifndef KMeansCLI_Batch_h
#define KMeansCLI_Batch_h

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace CLI
{
class App;
}

namespace kmeans_cli
{
struct Options;

/** One input of a batch and what became of it. */
struct BatchItem
{
  std::string    Input;
  std::string    Output;
  std::string    Report;
  bool           Succeeded{ false };
  int            ExitCode{ -1 };
  std::string    Error; //!< the program's one-line error, when it failed
  double         Seconds{ 0.0 };
  nlohmann::json Classes = nlohmann::json::array(); //!< from the input's JSON report
};

/** Output names of a batch: DIR/STEM+suffix and DIR/STEM.json, STEM being the input's file or directory name
 * without its image extension (made unique with -2, -3 ... when two inputs share a name). */
std::vector<BatchItem>
PlanBatch(const std::vector<std::string> & inputs, const std::string & outputDirectory, const std::string & suffix);

/** The command-line arguments every input of a batch is run with: the original ones without the INPUTs and
 * without --output-dir, -j/--jobs, --output-suffix and --report (each input gets its own). */
std::vector<std::string>
BatchChildArguments(const CLI::App & app, const Options & options, int argc, const char * const * argv);

/** Segments every input on its own by running \a executable once per input (at most options.Scan.Jobs at a time),
 * so that a bad input or a crash affects only its own line; writes summary.csv and summary.json in the output
 * directory. Returns 0 when every input succeeded, 1 otherwise. */
int
RunBatch(const Options & options, const std::string & executable, const std::vector<std::string> & childArguments,
         std::ostream & log);

/** Runs a batch from main(): the program's own executable for every input; one-line error and 1 on failure. */
int
RunBatchFromCommandLine(const CLI::App & app, const Options & options, int argc, const char * const * argv);

/** Summary files of a batch (also used by the tests). */
std::string
BatchSummaryCSV(const std::vector<BatchItem> & items);
nlohmann::json
BatchSummaryJSON(const std::vector<BatchItem> & items);
} // namespace kmeans_cli

#endif
