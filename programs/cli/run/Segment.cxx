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
#include "cli/run/Segment.h"

#include "cli/outputs/ImageOutput.h"
#include "cli/models/MultiChannel.h"
#include "cli/run/ScanPipeline.h"

#include "itkMultiThreaderBase.h"

#include <iostream>

namespace kmeans_cli
{
std::string
FileForFilterError(const std::string & message, const Options & options)
{
  if (!options.Mask.empty() && message.find("mask") != std::string::npos)
  {
    return options.Mask;
  }
  return options.Inputs.empty() ? std::string() : options.Inputs.front();
}

void
UpdateSegmentationFilter(itk::ProcessObject & filter, const Options & options)
{
  try
  {
    filter.Update();
  }
  catch (const itk::ExceptionObject & exception)
  {
    std::string message = OneLine(exception);
    for (const auto & [parameter, option] : { std::pair<std::string, std::string>{ "NumberOfClasses is ", "K (-k) is " },
                                              { "MaximumNumberOfClasses is ", "--max-k is " } })
    {
      if (message.compare(0, parameter.size(), parameter) == 0)
      {
        message = option + message.substr(parameter.size());
      }
    }
    throw FileError(FileForFilterError(message, options), "cannot segment: " + message);
  }
}

ReportJson
DescribeImage(const ImageInfo & info)
{
  ReportJson description = { { "path", info.Path },
                                  { "format", info.Format },
                                  { "pixel_type", info.ComponentTypeName },
                                  { "components", info.NumberOfComponents },
                                  { "dimension", info.Dimension },
                                  { "size", info.Size },
                                  { "spacing", info.Spacing },
                                  { "origin", info.Origin } };
  if (!info.Conversion.empty())
  {
    description["conversion"] = info.Conversion;
  }
  if (info.ScaleSlope != 1.0 || info.ScaleIntercept != 0.0)
  {
    description["scaling"] = { { "slope", info.ScaleSlope }, { "intercept", info.ScaleIntercept } };
  }
  else
  {
    description["scaling"] = "none";
  }
  return description;
}

void
RunKMeansSegment(const Options & options, Report & report)
{
  Stopwatch total;
  if (options.Inputs.size() > 1)
  {
    if (options.Streaming.NeedsPipeline() || !options.Streaming.SaveModel.empty())
    {
      throw FileError(options.Inputs[1], "--save-model, --apply-model and histograms are for one scalar INPUT; "
                                         "several INPUTs are the channels of one scan");
    }
    RunMultiChannelSegment(options, report); // several INPUTs: the channels of one scan (cli/models/MultiChannel.h)
    return;
  }
  CheckSingleChannelOptions(options);
  if (options.Inputs.size() != 1)
  {
    throw FileError(options.Inputs.size() > 1 ? options.Inputs[1] : std::string("INPUT"),
                    "exactly one input image is supported");
  }
  CheckModelOptions(options);
  CheckStreamingOptions(options);
  CheckScanOptions(options);
  // Every output is checked before any work, so that a bad output path costs nothing and leaves nothing.
  CheckOutputPaths(options.WritePaths(), { options.Output }, options.ReadPaths());

  if (options.Threads > 0)
  {
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(options.Threads);
  }

  SegmentationInputs inputs;
  inputs.Input = ProbeScanInput(options.Inputs.front(), options); // a file, or a DICOM series directory
  if (NeedsFloatInput(options))
  {
    inputs.Input.ComponentType = itk::IOComponentEnum::FLOAT; // N4 and denoising work on float voxels
  }
  if (!options.Mask.empty())
  {
    inputs.HasMask = true;
    inputs.Mask = ProbeImage(options.Mask);
    if (inputs.Mask.Dimension != inputs.Input.Dimension)
    {
      throw FileError(options.Mask, "mask is " + std::to_string(inputs.Mask.Dimension) + "-D, the input " +
                                      options.Inputs.front() + " is " + std::to_string(inputs.Input.Dimension) +
                                      "-D");
    }
    report["mask"] = DescribeImage(inputs.Mask);
  }
  else if (options.ForegroundThreshold)
  {
    report["mask"] = { { "foreground_threshold", *options.ForegroundThreshold } };
  }

  DispatchScalarImage(inputs.Input, [&](auto tag) {
    using Tag = decltype(tag);
    SegmentImage<typename Tag::PixelType, Tag::Dimension>(options, inputs, report);
  });

  report.NameClasses(options.Scan.Tissues);
  report.SetTiming("total", total.Seconds());
  if (!options.Report.empty())
  {
    report.Write(options.Report);
  }
  if (!options.Quiet)
  {
    report.PrintSummary(std::cout);
  }
}
} // namespace kmeans_cli
