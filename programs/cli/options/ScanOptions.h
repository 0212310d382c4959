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
#ifndef KMeansCLI_ScanOptions_h
#define KMeansCLI_ScanOptions_h

#include "cli/inputs/Preprocessing.h"

#include <optional>
#include <ostream>
#include <string>

namespace CLI
{
class App;
}

namespace kmeans_cli
{
/** Options for scans as they come from scanners and go to 3D Slicer: DICOM series, Slicer segmentations,
 * preprocessing, progress and batches. A member of Options (Options::Scan). */
struct ScanOptions
{
  /** --series UID: the DICOM series to read from an INPUT directory holding several. */
  std::string Series;
  /** --tissues: name the classes CSF, Grey matter, White matter (K = 3) in a Slicer segmentation. */
  bool Tissues{ false };
  /** --auto-mask, --n4, --denoise and their parameters. */
  PreprocessingOptions Preprocessing;
  /** --slicer-progress: <filter-progress> lines on standard output (3D Slicer passes it, see the XML). */
  bool SlicerProgress{ false };
  /** --output-dir: segment every INPUT on its own into this directory (batch). */
  std::string OutputDirectory;
  /** -j: number of inputs segmented at the same time in a batch. */
  unsigned int Jobs{ 1 };
  /** --output-suffix: file name ending of the label maps of a batch (the format follows it). */
  std::string OutputSuffix{ ".seg.nrrd" };
};

struct Options;

/** Adds --series, --tissues, --auto-mask, --n4, --n4-shrink, --n4-iterations, --denoise, --denoise-iterations,
 * --denoise-conductance, --slicer-progress, --output-dir, -j, --output-suffix. */
void
AddScanOptions(CLI::App & app, Options & options);

/** Requests answered before the command line is checked: "--xml" alone (Slicer asks for the module
 * description) and "--list-series DIR..." (the DICOM series of each directory). Returns the exit status when
 * the request was answered, nothing otherwise. */
std::optional<int>
HandleEarlyRequests(int argc, const char * const * argv, std::ostream & out, std::ostream & err);

/** True when the options ask for anything that needs the image as float voxels (preprocessing, the K-means
 * bias correction). */
bool
NeedsFloatInput(const Options & options);
} // namespace kmeans_cli

#endif
