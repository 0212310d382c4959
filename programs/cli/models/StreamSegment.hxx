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
#ifndef KMeansCLIStreamSegment_hxx
#define KMeansCLIStreamSegment_hxx

// The two-stage pipeline of kmeans-segment: reader -> KMeansSegmentationEstimator (or a saved model, or merged
// histograms), then reader -> KMeansLabelImageFilter -> writer, both in StreamPlan::Pieces pieces.
#include "cli/outputs/ImageOutput.h"
#include "cli/options/Options.h"
#include "cli/run/Segment.h"
#include "cli/models/Streaming.h"

#include "itkImageFileReader.h"
#include "itkKMeansSegmentationEstimator.h"
#include "itkUnaryGeneratorImageFilter.h"

#include <cmath>

namespace kmeans_cli
{
/** The mask file of any scalar type as a streamable 0/1 image (non-zero and not NaN: 1). */
template <unsigned int VDimension>
struct StreamedMask
{
  using FileImageType = itk::Image<double, VDimension>;
  using MaskImageType = itk::Image<unsigned char, VDimension>;
  typename itk::ImageFileReader<FileImageType>::Pointer                             Reader;
  typename itk::UnaryGeneratorImageFilter<FileImageType, MaskImageType>::Pointer Binarize;

  explicit StreamedMask(const std::string & path)
  {
    Reader = itk::ImageFileReader<FileImageType>::New();
    Reader->SetFileName(path);
    Binarize = itk::UnaryGeneratorImageFilter<FileImageType, MaskImageType>::New();
    Binarize->SetInput(Reader->GetOutput());
    Binarize->SetFunctor([](double v) -> unsigned char { return v != 0.0 && !std::isnan(v) ? 1 : 0; });
  }
  MaskImageType *
  GetOutput()
  {
    return Binarize->GetOutput();
  }
};

/** Fit (streamed estimator), load (--apply-model) or merge (--fit-histograms) the model; writes
 * --save-histogram. Returns the number of passes over the input. */
template <typename TImage, typename TMask>
unsigned int
ObtainModel(const Options & options, TImage * image, TMask * mask, const StreamPlan & plan,
            itk::KMeansIntensityModel & model)
{
  using PixelType = typename TImage::PixelType;
  const StreamingOptions & s = options.Streaming;
  const std::string        pixelType = itk::KMeansPixelTypeName<PixelType>();
  if (!s.ApplyModel.empty())
  {
    model = ReadModelFile(s.ApplyModel, pixelType, options.NumberOfClasses);
    const auto & b = model.Binning;
    if (options.ForegroundThreshold.has_value() != b.GetUseForegroundThreshold() ||
        (options.ForegroundThreshold && *options.ForegroundThreshold != b.GetForegroundThreshold()))
    {
      throw FileError(s.ApplyModel, "the model was fitted " +
                                      (b.GetUseForegroundThreshold()
                                         ? "with --foreground-threshold " + std::to_string(b.GetForegroundThreshold())
                                         : std::string("without a foreground threshold")) +
                                      ": give the same option");
    }
    return 0;
  }
  if (!s.FitHistograms.empty())
  {
    const auto merged = MergeHistogramFiles(s.FitHistograms, pixelType);
    try
    {
      model = IsHistogramMixture(options) ? itk::KMeansIntensityModel::FitMixture(merged, MixtureParameters(options))
                                          : itk::KMeansIntensityModel::Fit(merged, options.NumberOfClasses);
    }
    catch (const std::invalid_argument & error)
    {
      throw FileError(s.FitHistograms.front(), std::string("cannot fit the merged histograms: ") + error.what());
    }
    return 0;
  }
  auto estimator = itk::KMeansSegmentationEstimator<TImage, TMask>::New();
  estimator->SetInput(image);
  if (mask != nullptr)
  {
    estimator->SetMaskImage(mask);
  }
  estimator->SetNumberOfStreamDivisions(plan.Pieces);
  estimator->SetNumberOfClasses(options.Output.empty() && s.SaveModel.empty() ? 0 : options.NumberOfClasses);
  SetScalarFilterOptions(*estimator, static_cast<TMask *>(nullptr), options);
  estimator->SetGaussianMixture(IsHistogramMixture(options));
  estimator->SetGaussianMixtureParameters(MixtureParameters(options));
  ProgramProgress(options).Observe(estimator, IsHistogramMixture(options) ? "Gaussian mixture" : "K-means",
                                   IsHistogramMixture(options) ? "Gaussian mixture estimation" : "K-means estimation");
  UpdateSegmentationFilter(*estimator, options);
  if (!s.SaveHistogram.empty())
  {
    WriteHistogramFile(estimator->GetHistogram().GetCounts(), s.SaveHistogram);
  }
  model = estimator->GetModel();
  return estimator->GetNumberOfPasses();
}

/** The two-stage pipeline for one scalar INPUT file (see RunKMeansSegment and StreamPlan). */
template <typename TPixel, unsigned int VDimension>
void
StreamSegmentImage(const Options & options, SegmentationInputs & inputs, Report & report, const StreamPlan & plan)
{
  using ImageType = itk::Image<TPixel, VDimension>;
  using LabelImageType = itk::Image<unsigned char, VDimension>;
  using MaskImageType = itk::Image<unsigned char, VDimension>;
  auto reader = itk::ImageFileReader<ImageType>::New();
  reader->SetFileName(inputs.Input.Path);
  std::unique_ptr<StreamedMask<VDimension>> mask;
  if (inputs.HasMask)
  {
    mask = std::make_unique<StreamedMask<VDimension>>(inputs.Mask.Path);
  }
  MaskImageType * maskImage = mask ? mask->GetOutput() : nullptr;
  report["inputs"] = ReportJson::array({ DescribeImage(inputs.Input) });

  Stopwatch                 fitTime;
  itk::KMeansIntensityModel model;
  unsigned int passes = ObtainModel(options, reader->GetOutput(), maskImage, plan, model);
  report.SetTiming("fit", fitTime.Seconds());
  if (!options.Streaming.SaveModel.empty() && model.NumberOfClasses > 0)
  {
    WriteModelFile(model, options.Streaming.SaveModel);
  }
  if (!options.Output.empty())
  {
    Stopwatch labelTime;
    auto      labeler = itk::KMeansLabelImageFilter<ImageType, LabelImageType, MaskImageType>::New();
    labeler->SetInput(reader->GetOutput());
    if (maskImage != nullptr)
    {
      labeler->SetMaskImage(maskImage);
    }
    labeler->SetModel(model);
    if (options.Threads > 0)
    {
      labeler->SetNumberOfWorkUnits(options.Threads);
    }
    ProgramProgress(options).Observe(labeler, "K-means", "K-means labeling");
    if (plan.Stream)
    {
      WriteImageAtomically(labeler->GetOutput(), options.Output, false, plan.Pieces);
    }
    else
    {
      UpdateSegmentationFilter(*labeler, options);
      WriteScanLabelMap<VDimension>(labeler->GetOutput(), options, report);
    }
    ++passes;
    report.SetTiming("label", labelTime.Seconds());
    report["output"] = { { "path", options.Output } };
  }
  if (model.NumberOfClasses > 0)
  {
    auto spacing = ImageType::New();
    reader->UpdateOutputInformation();
    spacing->CopyInformation(reader->GetOutput());
    report.SetCellSize(spacing.GetPointer());
    if (model.ModelName == "gmm")
    {
      ReportMixtureModel(report, model, options);
    }
    else
    {
      ReportKMeansModel(report, model, options.Threads);
      report["within_class_sum_of_squares"] = model.WithinClassSumOfSquares;
      report["within_class_sum_of_squares_for_each_k"] = model.WithinClassSumOfSquaresForEachK;
    }
  }
  ReportMemory(report, plan, passes);
}
} // namespace kmeans_cli

#endif
