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
#ifndef KMeansCLIStreaming_h
#define KMeansCLIStreaming_h

// Scans larger than memory and fit once / apply many: --max-memory, --save-model, --apply-model,
// --save-histogram, --fit-histograms, and the plan that decides whether a run streams and in how many pieces.
#include "cli/inputs/ImageInput.h"
#include "cli/outputs/Report.h"

#include "itkKMeansIntensityModel.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI
{
class App;
}

namespace kmeans_cli
{
struct Options;
struct SegmentationInputs;

struct StreamingOptions
{
  /** --max-memory SIZE in bytes (default: the memory available on the machine). */
  std::optional<std::uint64_t> MaxMemory;
  /** --pieces N: stream in N pieces whatever the memory (0: as --max-memory decides). */
  unsigned int Pieces{ 0 };
  /** --save-model: the fitted model as JSON. */
  std::string SaveModel;
  /** --apply-model: label with this model instead of fitting. */
  std::string ApplyModel;
  /** --save-histogram: the exact histogram of the voxels that take part, as JSON. */
  std::string SaveHistogram;
  /** --fit-histograms: fit the model on the merge of these saved histograms. */
  std::vector<std::string> FitHistograms;

  /** Whether the run goes through the two-stage pipeline (estimate or load a model, then label). */
  bool
  NeedsPipeline() const
  {
    return !ApplyModel.empty() || !SaveHistogram.empty() || !FitHistograms.empty();
  }
};

/** Register --max-memory, --save-model, --apply-model, --save-histogram, --fit-histograms. */
void
AddStreamingOptions(CLI::App & app, Options & options);

/** "256M", "4G", "1.5GiB", "1000000" (bytes) -> bytes; throws std::invalid_argument. */
std::uint64_t
ParseMemorySize(const std::string & text);

/** Bytes of memory available on the machine (MemAvailable of /proc/meminfo, else the physical memory). */
std::uint64_t
AvailableMemory();

/** Peak resident set size of this process so far, in bytes. */
std::uint64_t
PeakResidentMemory();

/** "256 MiB", "2.0 GiB". */
std::string
FormatBytes(std::uint64_t bytes);

/** Refuses option combinations the streamed pipeline cannot do (usage errors as FileError naming the option's
 * file): --apply-model with --fit-histograms, models and histograms with --model gmm, -k auto or several
 * INPUT channels. */
void
CheckStreamingOptions(const Options & options);

/** How a single-channel K-means run uses memory. */
struct StreamPlan
{
  std::uint64_t Budget{ 0 };       //!< --max-memory, or the available memory
  std::uint64_t WholeImage{ 0 };   //!< estimated bytes to segment in memory
  bool          Stream{ false };   //!< read and write in pieces
  unsigned int  Pieces{ 1 };       //!< pieces of the streamed pipeline
  bool          Pipeline{ false }; //!< the two-stage pipeline (streamed, or models and histograms)
};

/** Decide whether the run fits in the budget; when it does not, check that the input, mask and output formats
 * can be read and written in pieces by ITK (MetaImage without compression for reading and writing, uncompressed
 * NIfTI for reading) and that no option needs the whole image, and choose the number of pieces. Throws
 * FileError (one line, naming the format and a format that streams) otherwise. */
StreamPlan
PlanStreaming(const Options & options, const SegmentationInputs & inputs);

/** Multi-channel K-means needs every channel in memory at once (Lloyd visits every voxel in every iteration):
 * throws FileError (one line naming the first channel, the estimate and the budget) when the channels, their
 * composed vector image, the labels and the mask do not fit in --max-memory (or the available memory), and for
 * --pieces. Returns the estimate in bytes. */
std::uint64_t
CheckChannelsFit(const Options & options, const std::vector<ImageInfo> & channels, const ImageInfo * mask);

/** Model and histogram files (JSON). Reading checks the format, the pixel type and K and throws FileError with
 * one line naming the file on any problem. */
void
WriteModelFile(const itk::KMeansIntensityModel & model, const std::string & path);
itk::KMeansIntensityModel
ReadModelFile(const std::string & path, const std::string & pixelType, unsigned int numberOfClasses);
void
WriteHistogramFile(const itk::IntensityHistogramCounts & histogram, const std::string & path);
itk::IntensityHistogramCounts
ReadHistogramFile(const std::string & path, const std::string & pixelType);
/** The merge of the saved histograms (FileError naming the file that cannot be merged). */
itk::IntensityHistogramCounts
MergeHistogramFiles(const std::vector<std::string> & paths, const std::string & pixelType);

/** The model's classes in the report ("model", "classified_voxels", "classes", "thresholds", WCSS), as every
 * K-means run reports them. */
void
ReportKMeansModel(Report & report, const itk::KMeansIntensityModel & model, unsigned int threads);

/** The report's "model", "classified_voxels" and "classes" of a Gaussian mixture fitted on the histogram. */
void
ReportMixtureModel(Report & report, const itk::KMeansIntensityModel & model, const Options & options);

/** The parameters of the Gaussian mixture fitted on the histogram (--model gmm without a spatial prior). */
itk::GaussianMixtureOnLevels::Parameters
MixtureParameters(const Options & options);

/** The "memory" entry: budget, whether the run streamed, pieces, passes, peak resident memory. */
void
ReportMemory(Report & report, const StreamPlan & plan, unsigned int passes);
} // namespace kmeans_cli

#endif
