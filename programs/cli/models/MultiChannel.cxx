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
#include "cli/models/MultiChannel.h"
#include "cli/models/Streaming.h"

#include "cli/outputs/ImageOutput.h"
#include "cli/run/ScanPipeline.h"
#include "cli/run/Segment.h"

#include "itkMultiThreaderBase.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace kmeans_cli
{
void
AddMultiChannelOptions(CLI::App & app, Options & options)
{
  MultiChannelOptions & channels = options.Channels;
  app.add_flag("--standardize", channels.Standardize,
               "Several INPUT channels: weigh each channel by 1 / its variance (clustering z-scores), so that no "
               "channel dominates by its units; off by default, recorded in the report");
  app.add_option_function<std::uint64_t>(
    "--seed", [&channels](const std::uint64_t & value) { channels.Seed = value; },
    "Several INPUT channels: seed of the k-means++ draws (default 5489); the same seed gives the same labels");
  app.add_option_function<unsigned int>(
       "--restarts", [&channels](const unsigned int & value) { channels.Restarts = value; },
       "Several INPUT channels: number of seeded runs, the one with the lowest within-class sum of squares is "
       "kept (default 8)")
    ->check(CLI::Range(1U, 10000U));
}

void
CheckSingleChannelOptions(const Options & options)
{
  if (options.Inputs.size() == 1 && options.Channels.Any())
  {
    throw FileError(options.Inputs.front(),
                    "--standardize, --seed and --restarts apply to several INPUT channels; one INPUT is segmented "
                    "by the exact (globally optimal) scalar K-means, which needs none of them");
  }
}

void
RunMultiChannelSegment(const Options & options, Report & report)
{
  Stopwatch total;
  CheckScanOptions(options);
  if (options.Scan.Preprocessing.Any())
  {
    throw FileError(options.Inputs.front(), "--auto-mask, --n4 and --denoise work on one INPUT; with several "
                                            "channels, preprocess each channel first");
  }
  // Every output is checked before any work, so that a bad output path costs nothing and leaves nothing.
  CheckOutputPaths(options.WritePaths(), { options.Output }, options.ReadPaths());
  if (options.Threads > 0)
  {
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(options.Threads);
  }

  // Every channel is probed (header, pixel type, completeness) before any pixel is read.
  std::vector<ImageInfo> channels;
  for (const std::string & path : options.Inputs)
  {
    ImageInfo info = ProbeScanInput(path, options); // a file, or a DICOM series directory
    DispatchScalarImage(info, [](auto) {});         // a supported pixel type and dimension
    if (!channels.empty() && info.Dimension != channels.front().Dimension)
    {
      throw FileError(path, "is " + std::to_string(info.Dimension) + "-D, the first channel " +
                              channels.front().Path + " is " + std::to_string(channels.front().Dimension) + "-D");
    }
    channels.push_back(info);
  }
  const unsigned int dimension = channels.front().Dimension;

  ImageInfo maskInfo;
  if (!options.Mask.empty())
  {
    maskInfo = ProbeImage(options.Mask);
    if (maskInfo.Dimension != dimension)
    {
      throw FileError(options.Mask, "mask is " + std::to_string(maskInfo.Dimension) + "-D, the input " +
                                      options.Inputs.front() + " is " + std::to_string(dimension) + "-D");
    }
    report["mask"] = DescribeImage(maskInfo);
  }
  else if (options.ForegroundThreshold)
  {
    report["mask"] = ReportJson::object();
  }
  if (options.ForegroundThreshold)
  {
    report["mask"]["foreground_threshold"] = *options.ForegroundThreshold;
    report["mask"]["foreground_channel"] = options.Inputs.front();
  }

  const ImageInfo * mask = options.Mask.empty() ? nullptr : &maskInfo;
  CheckChannelsFit(options, channels, mask); // before any voxel is read: never an out-of-memory kill
  if (dimension == 2)
  {
    SegmentChannels<2>(options, channels, mask, report);
  }
  else
  {
    SegmentChannels<3>(options, channels, mask, report);
  }

  report.NameClasses(options.Scan.Tissues);
  report.SetTiming("total", total.Seconds());
  if (!options.Report.empty())
  {
    report.Write(options.Report);
  }
  if (!options.Quiet)
  {
    PrintMultiChannelSummary(report, std::cout);
  }
}

void
PrintMultiChannelSummary(const Report & report, std::ostream & os)
{
  const ReportJson & json = report.Json();
  if (!json.contains("classes"))
  {
    return;
  }
  const bool   volumes = json.contains("voxel_volume_mm3");
  const auto & inputs = json["inputs"];
  char         cell[64];
  std::string  line;
  std::snprintf(cell, sizeof(cell), "%5s", "label");
  line = cell;
  for (std::size_t c = 0; c < inputs.size(); ++c)
  {
    const std::string name = "mean ch" + std::to_string(c + 1);
    std::snprintf(cell, sizeof(cell), "  %12s", name.c_str());
    line += cell;
  }
  std::snprintf(cell, sizeof(cell), "  %12s  %12s", "voxels", volumes ? "mL" : "mm2");
  os << line << cell << Report::ClassNameHeader(json["classes"]) << "\n";
  for (const auto & c : json["classes"])
  {
    std::snprintf(cell, sizeof(cell), "%5d", c.value("label", 0));
    line = cell;
    for (const auto & mean : c["mean"])
    {
      std::snprintf(cell, sizeof(cell), "  %12.4g", mean.get<double>());
      line += cell;
    }
    const double size = volumes ? c.value("volume_ml", 0.0) : c.value("area_mm2", 0.0);
    std::snprintf(cell, sizeof(cell), "  %12llu  %12.2f", static_cast<unsigned long long>(c.value("voxels", 0ULL)),
                  size);
    os << line << cell << Report::ClassNameColumn(c) << "\n";
  }
  for (std::size_t c = 0; c < inputs.size(); ++c)
  {
    os << "ch" << (c + 1) << " = " << inputs[c].value("path", std::string()) << "\n";
  }
  if (json["timings_s"].contains("total"))
  {
    std::snprintf(cell, sizeof(cell), "total time %.3f s\n", json["timings_s"]["total"].get<double>());
    os << cell;
  }
}
} // namespace kmeans_cli
