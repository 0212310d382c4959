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
#ifndef KMeansCLISegment_hxx
#define KMeansCLISegment_hxx

#include "cli/outputs/ImageOutput.h"
#include "cli/models/ModelSegment.hxx"
#include "cli/run/ScanPipeline.h"
#include "cli/models/StreamSegment.hxx"
#include "cli/outputs/PreviewOutput.h"
#include "cli/run/Segment.h"

#include "itkKMeansSegmentationImageFilter.h"

#include <cmath>

namespace kmeans_cli
{
/** Read a mask file of any scalar type as a binary unsigned char image: 1 where the file's value is non-zero
 * (and not NaN), 0 elsewhere. */
template <unsigned int VDimension>
typename itk::Image<unsigned char, VDimension>::Pointer
ReadMaskImage(const ImageInfo & info)
{
  using FileImageType = itk::Image<double, VDimension>;
  using MaskImageType = itk::Image<unsigned char, VDimension>;
  if (info.NumberOfComponents != 1)
  {
    throw FileError(info.Path, "a mask must be a scalar image, this is " + info.PixelTypeName);
  }
  const auto values = ReadImage<FileImageType>(info.Path);
  CorrectMisreadNiftiPixels(info, values.GetPointer());
  auto       mask = MaskImageType::New();
  mask->CopyInformation(values);
  mask->SetRegions(values->GetLargestPossibleRegion());
  mask->Allocate();
  itk::ImageRegionConstIterator<FileImageType> in(values, values->GetLargestPossibleRegion());
  itk::ImageRegionIterator<MaskImageType>      out(mask, mask->GetLargestPossibleRegion());
  for (; !in.IsAtEnd(); ++in, ++out)
  {
    const double v = in.Get();
    out.Set(v != 0.0 && !std::isnan(v) ? 1 : 0);
  }
  return mask;
}

template <typename TPixel, unsigned int VDimension>
void
SegmentImage(const Options & options, SegmentationInputs & inputs, Report & report)
{
  using InputImageType = itk::Image<TPixel, VDimension>;
  using LabelImageType = itk::Image<unsigned char, VDimension>;
  using MaskImageType = itk::Image<unsigned char, VDimension>;
  using FilterType = itk::KMeansSegmentationImageFilter<InputImageType, LabelImageType, MaskImageType>;

  // Larger than --max-memory, or models and histograms: the two-stage pipeline (cli/models/StreamSegment.hxx).
  const StreamPlan plan = PlanStreaming(options, inputs);
  if (plan.Pipeline)
  {
    StreamSegmentImage<TPixel, VDimension>(options, inputs, report, plan);
    return;
  }

  // 1. Read. Images are disconnected from their readers, so they own their buffers.
  Stopwatch                          readTime;
  typename InputImageType::Pointer   image = ReadScanInput<TPixel, VDimension>(options, inputs.Input, report);
  typename MaskImageType::Pointer    mask;
  if (inputs.HasMask)
  {
    mask = ReadMaskImage<VDimension>(inputs.Mask);
  }
  report.SetTiming("read", readTime.Seconds());
  report["inputs"] = ReportJson::array({ DescribeImage(inputs.Input) });

  // (Preprocessing steps that turn `image` into another image of the same type go here, each adding an
  // entry to report["preprocessing"].)
  PreprocessScanInput<TPixel, VDimension>(options, image, mask, report);

  // --model gmm / --mrf: the Gaussian mixture does the rest; -k auto: it chooses K (cli/models/ModelSegment.hxx).
  Options chosen = options;
  if (SegmentWithModel<TPixel, VDimension>(chosen, image.GetPointer(), mask.GetPointer(), report))
  {
    return;
  }

  // 2. Segment. The filter is held here until its output has been written: a data object does not keep
  // the filter that produced it alive.
  Stopwatch segmentTime;
  auto      filter = FilterType::New();
  filter->SetInput(image);
  ProgramProgress(options).Observe(filter, "K-means", "K-means segmentation");
  filter->SetNumberOfClasses(chosen.NumberOfClasses);
  SetScalarFilterOptions(*filter, mask.GetPointer(), options);
  UpdateSegmentationFilter(*filter, options);
  report.SetTiming("segment", segmentTime.Seconds());

  // 3. Write. (Further outputs, e.g. a Slicer segmentation or a preview, are written here from `image`
  // and `filter->GetOutput()`, each checked up front in RunKMeansSegment.)
  Stopwatch writeTime;
  WriteScanLabelMap<VDimension>(filter->GetOutput(), chosen, report); // .seg.nrrd: a Slicer segmentation
  report.SetTiming("write", writeTime.Seconds());
  report["output"] = { { "path", options.Output } };

  // 4. Report the classes.
  report.SetCellSize(image.GetPointer());
  ReportKMeansModel(report, filter->GetModel(),
                    options.Threads > 0 ? options.Threads : filter->GetNumberOfWorkUnits());
  if (!options.Streaming.SaveModel.empty())
  {
    WriteModelFile(filter->GetModel(), options.Streaming.SaveModel);
  }
  const auto & means = filter->GetClassMeans();
  const auto & counts = filter->GetClassCounts();

  // 5. The VTK preview: picture, ParaView files, viewer (cli/outputs/PreviewOutput.h; nothing unless asked for).
  WritePreviewOutputs(options, image.GetPointer(), filter->GetOutput(), { means, counts, filter->GetThresholds() }, report);
  report["within_class_sum_of_squares"] = filter->GetWithinClassSumOfSquares();
  report["within_class_sum_of_squares_for_each_k"] = filter->GetWithinClassSumOfSquaresForEachK();
  ReportMemory(report, plan, 1);
}
} // namespace kmeans_cli

/** Explicit instantiation of SegmentImage for the eight scalar pixel types in dimension D. */
#define KMEANS_CLI_INSTANTIATE_SEGMENT_IMAGE(D)                                                                  \
  template void kmeans_cli::SegmentImage<unsigned char, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &);     \
  template void kmeans_cli::SegmentImage<signed char, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &);       \
  template void kmeans_cli::SegmentImage<unsigned short, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &);    \
  template void kmeans_cli::SegmentImage<short, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &);             \
  template void kmeans_cli::SegmentImage<unsigned int, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &);      \
  template void kmeans_cli::SegmentImage<int, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &);               \
  template void kmeans_cli::SegmentImage<float, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &);             \
  template void kmeans_cli::SegmentImage<double, D>(const kmeans_cli::Options &, kmeans_cli::SegmentationInputs &, kmeans_cli::Report &)

#endif
