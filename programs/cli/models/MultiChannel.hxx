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
#ifndef KMeansCLIMultiChannel_hxx
#define KMeansCLIMultiChannel_hxx

#include "cli/models/MultiChannel.h"
#include "cli/outputs/PreviewOutput.h"
#include "cli/run/ScanPipeline.h"
#include "cli/run/Segment.hxx" // ReadMaskImage

#include "itkMultiChannelKMeansSegmentationImageFilter.h"

namespace kmeans_cli
{
/** The channels composed into the filter's vector image; channels of different geometry are a FileError naming
 * the file. */
template <typename TFilter, typename TChannelImage>
typename TFilter::InputImageType::Pointer
ComposeChannelImages(const std::vector<typename TChannelImage::Pointer> & images, const Options & options)
{
  std::vector<const TChannelImage *> pointers;
  for (const auto & channel : images)
  {
    pointers.push_back(channel.GetPointer());
  }
  try
  {
    return TFilter::template ComposeChannels<TChannelImage>(pointers, options.Inputs);
  }
  catch (const itk::ExceptionObject & exception)
  {
    std::string       message = OneLine(exception);
    const std::string prefix = "ITK ERROR: "; // ComposeChannels is static: no class name follows the prefix
    if (message.compare(0, prefix.size(), prefix) == 0)
    {
      message.erase(0, prefix.size());
    }
    std::string file = options.Inputs.front();
    for (std::size_t i = 1; i < options.Inputs.size(); ++i)
    {
      if (message.find("(" + options.Inputs[i] + ") geometry") != std::string::npos)
      {
        file = options.Inputs[i];
        break;
      }
    }
    throw FileError(file, "channels of different geometry: " + message);
  }
}

template <unsigned int VDimension>
void
SegmentChannels(const Options & options, std::vector<ImageInfo> & channels, const ImageInfo * maskInfo, Report & report)
{
  // Every channel is read as float whatever its own type (exact for integers up to 2^24 in magnitude), so that
  // one instantiation of the filter per dimension serves all combinations of pixel types.
  using ChannelImageType = itk::Image<float, VDimension>;
  using VectorImageType = itk::VectorImage<float, VDimension>;
  using LabelImageType = itk::Image<unsigned char, VDimension>;
  using MaskImageType = itk::Image<unsigned char, VDimension>;
  using FilterType = itk::MultiChannelKMeansSegmentationImageFilter<VectorImageType, LabelImageType, MaskImageType>;

  // 1. Read each channel (the readers' own messages become errors, as for one INPUT), then compose.
  Stopwatch                                        readTime;
  std::vector<typename ChannelImageType::Pointer>  images;
  ReportJson                                       inputs = ReportJson::array();
  for (std::size_t i = 0; i < channels.size(); ++i)
  {
    Report read; // ReadScanInput records a DICOM series under "dicom": kept with its channel
    images.push_back(ReadScanInput<float, VDimension>(options, channels[i], read));
    ReportJson description = DescribeImage(channels[i]);
    description["channel"] = i + 1;
    if (read.Json().contains("dicom"))
    {
      description["dicom"] = read.Json()["dicom"];
    }
    inputs.push_back(description);
  }
  const typename VectorImageType::Pointer image = ComposeChannelImages<FilterType, ChannelImageType>(images, options);
  // The first channel alone is kept for the foreground threshold and the preview; the others are in `image`.
  const typename ChannelImageType::Pointer first = images.front();
  images.clear();

  typename MaskImageType::Pointer mask;
  if (maskInfo != nullptr)
  {
    mask = ReadMaskImage<VDimension>(*maskInfo);
  }
  report.SetTiming("read", readTime.Seconds());
  report["inputs"] = inputs;

  // --foreground-threshold V / --nonzero: voxels whose first channel is above V (and inside --mask, if any).
  if (options.ForegroundThreshold)
  {
    const double threshold = *options.ForegroundThreshold;
    const auto & region = first->GetLargestPossibleRegion();
    if (!mask)
    {
      mask = MaskImageType::New();
      mask->CopyInformation(first);
      mask->SetRegions(region);
      mask->Allocate();
      mask->FillBuffer(1);
    }
    if (mask->GetLargestPossibleRegion().GetSize() == region.GetSize()) // else the filter names both geometries
    {
      const float *         in = first->GetBufferPointer();
      unsigned char *       out = mask->GetBufferPointer();
      const itk::SizeValueType n = region.GetNumberOfPixels();
      for (itk::SizeValueType v = 0; v < n; ++v)
      {
        out[v] = (out[v] != 0 && static_cast<double>(in[v]) > threshold) ? 1 : 0;
      }
    }
  }

  // 2. Segment.
  Stopwatch segmentTime;
  auto      filter = FilterType::New();
  filter->SetInput(image);
  ProgramProgress(options).Observe(filter, "K-means", "Multi-channel K-means segmentation");
  filter->SetNumberOfClasses(options.NumberOfClasses);
  filter->SetStandardize(options.Channels.Standardize);
  if (options.Channels.Seed)
  {
    filter->SetSeed(*options.Channels.Seed);
  }
  if (options.Channels.Restarts)
  {
    filter->SetNumberOfRestarts(*options.Channels.Restarts);
  }
  if (mask)
  {
    filter->SetMaskImage(mask);
  }
  if (options.Threads > 0)
  {
    filter->SetNumberOfWorkUnits(options.Threads);
  }
  UpdateSegmentationFilter(*filter, options);
  report.SetTiming("segment", segmentTime.Seconds());

  // 3. Write (.seg.nrrd: a Slicer segmentation, as for one INPUT).
  Stopwatch writeTime;
  WriteScanLabelMap<VDimension>(filter->GetOutput(), options, report);
  report.SetTiming("write", writeTime.Seconds());
  report["output"] = { { "path", options.Output } };

  // 4. Report.
  report.SetCellSize(image.GetPointer());
  ReportJson model = { { "name", "multichannel_kmeans" },
                       { "number_of_classes", options.NumberOfClasses },
                       { "channels", options.Inputs },
                       { "channel_pixel_type", "float" },
                       { "label_order", "ascending class mean of the first channel" },
                       { "standardize", filter->GetStandardize() },
                       { "seed", filter->GetSeed() },
                       { "restarts", filter->GetNumberOfRestarts() },
                       { "iterations", filter->GetNumberOfIterations() },
                       { "used_distinct_vectors", filter->GetUsedDistinctVectors() },
                       { "distinct_vectors", filter->GetNumberOfDistinctVectors() },
                       { "restart_within_class_sums_of_squares", filter->GetRestartWithinClassSumsOfSquares() },
                       { "threads", options.Threads > 0 ? options.Threads : filter->GetNumberOfWorkUnits() } };
  if (filter->GetStandardize())
  {
    model["channel_means"] = filter->GetChannelMeans();
    model["channel_standard_deviations"] = filter->GetChannelStandardDeviations();
  }
  report["model"] = model;
  report["classified_voxels"] = filter->GetNumberOfClassifiedPixels();
  ReportJson   classes = ReportJson::array();
  const auto & means = filter->GetClassMeans();
  const auto & counts = filter->GetClassCounts();
  const auto & sums = filter->GetClassSumsOfSquares();
  std::vector<double> firstMeans;
  for (std::size_t k = 0; k < means.size(); ++k)
  {
    ReportJson c = { { "label", k + 1 }, { "mean", means[k] }, { "voxels", counts[k] }, { "sum_of_squares", sums[k] } };
    report.AddClassSize(c, static_cast<double>(counts[k]));
    classes.push_back(c);
    firstMeans.push_back(means[k].front());
  }
  report["classes"] = classes;
  report["within_class_sum_of_squares"] = filter->GetWithinClassSumOfSquares();

  // 5. The VTK preview shows the first channel with the labels (no thresholds: the classes are not intervals of
  // one intensity).
  WritePreviewOutputs(options, first.GetPointer(), filter->GetOutput(), { firstMeans, counts, {} }, report);
}
} // namespace kmeans_cli

#endif
