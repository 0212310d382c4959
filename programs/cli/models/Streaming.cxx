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
#include "cli/models/Streaming.h"

#include "cli/outputs/ImageOutput.h"
#include "cli/options/Options.h"
#include "cli/run/Segment.h"
#include "cli/inputs/DicomSeries.h"
#include "cli/outputs/SlicerSegmentation.h"

#include "itkImageIOFactory.h"

#include <CLI/CLI.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace kmeans_cli
{
void
AddStreamingOptions(CLI::App & app, Options & options)
{
  StreamingOptions & s = options.Streaming;
  app.add_option_function<std::string>(
       "--max-memory",
       [&s](const std::string & text) {
         try
         {
           s.MaxMemory = ParseMemorySize(text);
         }
         catch (const std::invalid_argument & error)
         {
           throw CLI::ValidationError("--max-memory", error.what());
         }
       },
       "Memory the run may use (e.g. 256M, 4G; default: what the machine has available). A scan that does not "
       "fit is read and written in pieces (MetaImage .mha/.mhd without compression; uncompressed NIfTI input)")
    ->type_name("SIZE");
  app.add_option("--pieces", s.Pieces,
                 "Read and write in this many pieces whatever the memory (streamable formats only, as for "
                 "--max-memory)")
    ->check(CLI::Range(1U, 1U << 20));
  app.add_option("--save-model", s.SaveModel,
                 "Write the fitted model (K, class means and variances, thresholds, intensity look-up) as JSON");
  app.add_option("--apply-model", s.ApplyModel, "Label INPUT with a model saved by --save-model, without fitting")
    ->check(CLI::ExistingFile);
  app.add_option("--save-histogram", s.SaveHistogram,
                 "Write the exact intensity histogram of the voxels that take part as JSON (merge several with "
                 "--fit-histograms)");
  app.add_option("--fit-histograms", s.FitHistograms,
                 "Fit the model on the merge of histograms saved by --save-histogram (the model of their union) "
                 "and label INPUT with it")
    ->check(CLI::ExistingFile);
}

std::uint64_t
ParseMemorySize(const std::string & text)
{
  std::size_t  used = 0;
  double       value = 0.0;
  const auto   fail = [&text]() { throw std::invalid_argument("'" + text + "' is not a size such as 256M or 4G"); };
  try
  {
    value = std::stod(text, &used);
  }
  catch (const std::exception &)
  {
    fail();
  }
  std::string unit = text.substr(used);
  for (const char * suffix : { "iB", "B" })
  {
    const std::string s = suffix;
    if (unit.size() > s.size() && unit.compare(unit.size() - s.size(), s.size(), s) == 0)
    {
      unit.resize(unit.size() - s.size());
      break;
    }
  }
  double factor = 1.0;
  if (unit.size() == 1 && std::string("kKmMgGtT").find(unit[0]) != std::string::npos)
  {
    const int power = 1 + static_cast<int>(std::string("KMGT").find(static_cast<char>(std::toupper(unit[0]))));
    factor = std::pow(1024.0, power);
  }
  else if (!unit.empty() && unit != "B")
  {
    fail();
  }
  if (!(value > 0.0) || !std::isfinite(value * factor) || value * factor > 1e18)
  {
    fail();
  }
  return static_cast<std::uint64_t>(value * factor);
}

std::uint64_t
AvailableMemory()
{
  std::ifstream meminfo("/proc/meminfo");
  std::string   key;
  std::uint64_t kib = 0;
  std::string   unit;
  while (meminfo >> key >> kib >> unit)
  {
    if (key == "MemAvailable:")
    {
      return kib * 1024;
    }
  }
  return static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t
PeakResidentMemory()
{
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024; // kilobytes on Linux
}

std::string
FormatBytes(std::uint64_t bytes)
{
  std::ostringstream text;
  text.precision(bytes >= (std::uint64_t{ 1 } << 30) ? 2 : 0);
  text << std::fixed;
  if (bytes >= (std::uint64_t{ 1 } << 30))
  {
    text << static_cast<double>(bytes) / (1 << 30) << " GiB";
  }
  else
  {
    text << static_cast<double>(bytes) / (1 << 20) << " MiB";
  }
  return text.str();
}

void
CheckStreamingOptions(const Options & options)
{
  const StreamingOptions & s = options.Streaming;
  if (!s.ApplyModel.empty() && !s.FitHistograms.empty())
  {
    throw FileError(s.ApplyModel, "--apply-model labels with a saved model, --fit-histograms fits one: give one");
  }
  const bool modelFiles = s.NeedsPipeline() || !s.SaveModel.empty();
  if (modelFiles && ((UsesGaussianMixture(options) && !IsHistogramMixture(options)) ||
                     options.Model.AutomaticNumberOfClasses))
  {
    throw FileError(options.Inputs.front(), "--save-model, --apply-model and histograms are for the exact K-means "
                                            "and the Gaussian mixture without --mrf, --pve, --bias-field, "
                                            "--posteriors or -k auto");
  }
  if (modelFiles && options.Scan.Preprocessing.Any())
  {
    throw FileError(options.Inputs.front(),
                    "--save-model, --apply-model and histograms work on the scan as stored, without preprocessing");
  }
  if (options.Output.empty() && !s.NeedsPipeline() && s.SaveModel.empty())
  {
    throw FileError("--output", "an output is required (-o, or --save-model / --save-histogram alone)");
  }
}

namespace
{
/** Whether ITK reads path in pieces: MetaImage without compression (MetaImageIO::CanStreamRead()), NIfTI
 * without gzip (NiftiImageIO reads any requested region; a gzipped file would be inflated from its start for
 * every piece). */
bool
StreamsReading(const ImageInfo & info)
{
  if (IsDirectory(info.Path))
  {
    return false;
  }
  const auto io = CreateReadImageIO(info.Path);
  const std::string name = io->GetNameOfClass();
  const bool        gzipped = info.Path.size() > 3 && info.Path.compare(info.Path.size() - 3, 3, ".gz") == 0;
  return (name == "NiftiImageIO" && !gzipped) || io->CanStreamRead();
}

bool
StreamsWriting(const std::string & path)
{
  const auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::IOFileModeEnum::WriteMode);
  if (!io)
  {
    return false;
  }
  io->SetUseCompression(false);
  return io->CanStreamWrite() && !IsSlicerSegmentationPath(path);
}

std::string
FormatName(const std::string & path, const std::string & ioName)
{
  const auto dot = path.find_last_of("./");
  std::string extension = dot == std::string::npos || path[dot] == '/' ? std::string() : path.substr(dot);
  if (extension == ".gz")
  {
    const auto before = path.find_last_of("./", dot - 1);
    if (before != std::string::npos && path[before] == '.')
    {
      extension = path.substr(before);
    }
  }
  return extension.empty() ? ioName : extension + " (" + ioName + ")";
}
} // namespace

namespace
{
std::uint64_t
CountVoxels(const ImageInfo & info)
{
  std::uint64_t voxels = 1;
  for (const auto n : info.Size)
  {
    voxels *= n;
  }
  return voxels;
}

std::uint64_t
ComponentBytes(itk::IOComponentEnum type)
{
  using Component = itk::IOComponentEnum;
  return type == Component::UCHAR || type == Component::CHAR     ? 1
         : type == Component::USHORT || type == Component::SHORT ? 2
         : type == Component::UINT || type == Component::INT || type == Component::FLOAT
           ? 4
           : 8;
}

constexpr std::uint64_t programReserve = 48ull << 20; // the program, ITK's libraries, histograms
} // namespace

std::uint64_t
CheckChannelsFit(const Options & options, const std::vector<ImageInfo> & channels, const ImageInfo * mask)
{
  const ImageInfo & first = channels.front();
  if (options.Streaming.Pieces > 0)
  {
    throw FileError(first.Path, "--pieces streams one scalar INPUT; multi-channel K-means needs the whole scan in "
                                "memory");
  }
  // Per voxel and channel: the channel read as float, kept until composed, the composed float vector image and
  // the algorithm's buffers (10 bytes); then the labels, and a mask read as double and kept as one byte.
  // Measured: 2 x 200^3 int16 channels, no mask, peak resident 179 MiB against 208 MiB estimated.
  const std::uint64_t voxels = CountVoxels(first);
  const std::uint64_t need = voxels * (channels.size() * 10 + 1 + (mask != nullptr ? 9 : 0)) + programReserve;
  const std::uint64_t budget = options.Streaming.MaxMemory ? *options.Streaming.MaxMemory : AvailableMemory();
  if (need > budget)
  {
    throw FileError(first.Path, "multi-channel K-means of " + std::to_string(channels.size()) +
                                  " channels needs the whole scan in memory, about " + FormatBytes(need) +
                                  ", more than " + (options.Streaming.MaxMemory ? "--max-memory " : "the available ") +
                                  FormatBytes(budget) + ": only single-channel K-means streams");
  }
  return need;
}

StreamPlan
PlanStreaming(const Options & options, const SegmentationInputs & inputs)
{
  StreamPlan plan;
  plan.Budget = options.Streaming.MaxMemory ? *options.Streaming.MaxMemory : AvailableMemory();
  const std::uint64_t voxels = CountVoxels(inputs.Input);
  const std::uint64_t pixelBytes = ComponentBytes(inputs.Input.ComponentType);
  // Per voxel: the input, the labels, and a mask read as double and kept as one byte.
  const std::uint64_t perVoxel = pixelBytes + 1 + (inputs.HasMask ? 9 : 0);
  constexpr std::uint64_t reserve = programReserve;
  plan.WholeImage = voxels * perVoxel + reserve;
  // The Gaussian mixture's model comes from the estimator: --save-model takes the two-stage pipeline.
  plan.Pipeline = options.Streaming.NeedsPipeline() ||
                  ((options.Output.empty() || IsHistogramMixture(options)) && !options.Streaming.SaveModel.empty());
  if (plan.Pipeline && IsDirectory(inputs.Input.Path))
  {
    throw FileError(inputs.Input.Path, "models and histograms need an image file, not a DICOM series directory: "
                                       "convert the series to .mha or .nii first");
  }
  const unsigned int forced = options.Streaming.Pieces;
  if (plan.WholeImage <= plan.Budget && forced == 0)
  {
    return plan;
  }
  const std::string need = forced > 0 ? "--pieces " + std::to_string(forced) + " streams " + inputs.Input.Path
                                      : "segmenting " + inputs.Input.Path + " in memory needs about " +
                                          FormatBytes(plan.WholeImage) + ", more than --max-memory " +
                                          FormatBytes(plan.Budget);
  if ((UsesGaussianMixture(options) && !IsHistogramMixture(options)) || options.Model.AutomaticNumberOfClasses ||
      options.Scan.Preprocessing.Any() || !options.Preview.empty() || !options.VtkDirectory.empty() || options.Show)
  {
    throw FileError(inputs.Input.Path, need + "; only K-means and the Gaussian mixture without --mrf, --pve, "
                                              "--bias-field or --posteriors stream, without preprocessing, preview "
                                              "or -k auto");
  }
  for (const ImageInfo * info : { &inputs.Input, inputs.HasMask ? &inputs.Mask : nullptr })
  {
    if (info != nullptr && !StreamsReading(*info))
    {
      throw FileError(info->Path, need + ", and " + FormatName(info->Path, info->Format) +
                                    " cannot be read in pieces: convert it to MetaImage (.mha, no compression) or "
                                    "uncompressed NIfTI (.nii)");
    }
  }
  if (!options.Output.empty() && !StreamsWriting(options.Output))
  {
    throw FileError(options.Output, need + ", and " + FormatName(options.Output, "its format") +
                                      " cannot be written in pieces: write a MetaImage (.mha)");
  }
  plan.Stream = true;
  plan.Pipeline = true;
  if (forced > 0)
  {
    plan.Pieces = forced;
    return plan;
  }
  if (plan.Budget < reserve + (16ull << 20))
  {
    throw FileError(inputs.Input.Path, need + ", and streaming needs at least " + FormatBytes(reserve + (16ull << 20)));
  }
  // Half the budget beyond the reserve for one piece; the rest for what ITK keeps between pieces.
  const std::uint64_t pieceBytes = (plan.Budget - reserve) / 2;
  plan.Pieces = static_cast<unsigned int>(std::min<std::uint64_t>((voxels * perVoxel + pieceBytes - 1) / pieceBytes, 1u << 20));
  return plan;
}

void
ReportKMeansModel(Report & report, const itk::KMeansIntensityModel & model, unsigned int threads)
{
  report["model"] = { { "name", "kmeans" },
                      { "number_of_classes", model.NumberOfClasses },
                      { "threads", threads },
                      { "optimality_gap", model.OptimalityGap } };
  report["classified_voxels"] = model.NumberOfClassifiedPixels;
  ReportJson classes = ReportJson::array();
  for (std::size_t k = 0; k < model.ClassMeans.size(); ++k)
  {
    ReportJson c = { { "label", k + 1 },
                     { "mean", model.ClassMeans[k] },
                     { "voxels", model.ClassCounts[k] },
                     { "sum_of_squares", model.ClassSumsOfSquares[k] } };
    report.AddClassSize(c, static_cast<double>(model.ClassCounts[k]));
    classes.push_back(c);
  }
  report["classes"] = classes;
  report["thresholds"] = model.Thresholds;
}

void
ReportMixtureModel(Report & report, const itk::KMeansIntensityModel & model, const Options & options)
{
  report["model"] = { { "name", "gmm" },
                      { "number_of_classes", model.NumberOfClasses },
                      { "threads", options.Threads },
                      { "variance", options.Model.PerClassVariance ? "per class" : "common" },
                      { "mrf_weight", 0.0 },
                      { "mrf", "none" },
                      { "partial_volume", false },
                      { "bias_field", "none" },
                      { "iterations", model.NumberOfIterations },
                      { "mrf_iterations", 0 },
                      { "log_likelihood", model.LogLikelihood } };
  report["classified_voxels"] = model.NumberOfClassifiedPixels;
  ReportJson classes = ReportJson::array();
  for (std::size_t k = 0; k < model.ClassMeans.size(); ++k)
  {
    ReportJson c = { { "label", k + 1 },
                     { "mean", model.ClassMeans[k] },
                     { "variance", model.ClassVariances[k] },
                     { "proportion", model.ClassProportions[k] },
                     { "voxels", model.ClassCounts[k] } };
    report.AddClassSize(c, static_cast<double>(model.ClassCounts[k]));
    classes.push_back(c);
  }
  report["classes"] = classes;
}

itk::GaussianMixtureOnLevels::Parameters
MixtureParameters(const Options & options)
{
  itk::GaussianMixtureOnLevels::Parameters parameters; // the filter's defaults for iterations and convergence
  parameters.NumberOfClasses = options.NumberOfClasses;
  parameters.AutomaticNumberOfClasses = options.Model.AutomaticNumberOfClasses;
  parameters.MaximumNumberOfClasses = options.Model.MaximumNumberOfClasses;
  parameters.CommonVariance = !options.Model.PerClassVariance;
  return parameters;
}

void
ReportMemory(Report & report, const StreamPlan & plan, unsigned int passes)
{
  report["memory"] = { { "max_memory_bytes", plan.Budget },
                       { "in_memory_estimate_bytes", plan.WholeImage },
                       { "streamed", plan.Stream },
                       { "pieces", plan.Pieces },
                       { "input_passes", passes },
                       { "peak_resident_bytes", PeakResidentMemory() } };
}
} // namespace kmeans_cli
