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
#ifndef KMeansCLIModelSegment_hxx
#define KMeansCLIModelSegment_hxx

#include "cli/ImageOutput.h"
#include "cli/ModelOptions.h"
#include "cli/PreviewOutput.h"
#include "cli/Progress.h"
#include "cli/ScanPipeline.h"
#include "cli/Segment.h"

#include "itkGaussianMixtureSegmentationImageFilter.h"
#include "itkImageRegionConstIterator.h"

namespace kmeans_cli
{
/** The Gaussian mixture of cli/ModelOptions.h on an image read and preprocessed by SegmentImage.
 *
 * With --model gmm (or --mrf) this segments, writes the label map (and --posteriors, the Slicer segmentation,
 * the preview) and fills the report, and returns true. With --model kmeans and -k auto it only chooses K by
 * the mixture's BIC, stores it in options.NumberOfClasses, adds report["model_selection"] and returns false:
 * the K-means then runs with that K. Otherwise it does nothing and returns false. */
template <typename TPixel, unsigned int VDimension>
bool
SegmentWithModel(Options &                                     options,
                 itk::Image<TPixel, VDimension> *              image,
                 const itk::Image<unsigned char, VDimension> * mask,
                 Report &                                      report)
{
  using InputImageType = itk::Image<TPixel, VDimension>;
  using LabelImageType = itk::Image<unsigned char, VDimension>;
  using MaskImageType = itk::Image<unsigned char, VDimension>;
  using FilterType = itk::GaussianMixtureSegmentationImageFilter<InputImageType, LabelImageType, MaskImageType>;

  const ModelOptions & model = options.Model;
  const bool           gmm = UsesGaussianMixture(options);
  if (!gmm && !model.AutomaticNumberOfClasses)
  {
    return false;
  }
  const double beta = gmm && model.MRFWeight ? *model.MRFWeight : 0.0;

  Stopwatch segmentTime;
  auto      filter = FilterType::New();
  filter->SetInput(image);
  ProgramProgress(options).Observe(filter, "Gaussian mixture",
                                   gmm ? "Gaussian mixture segmentation" : "number of classes by BIC");
  if (model.AutomaticNumberOfClasses)
  {
    filter->AutomaticNumberOfClassesOn();
    filter->SetMaximumNumberOfClasses(model.MaximumNumberOfClasses);
  }
  else
  {
    filter->SetNumberOfClasses(options.NumberOfClasses);
  }
  SetScalarFilterOptions(*filter, mask, options);
  filter->SetUseCommonVariance(!model.PerClassVariance);
  filter->SetMRFWeight(beta);
  UpdateSegmentationFilter(*filter, options);
  options.NumberOfClasses = filter->GetNumberOfClassesUsed();

  ReportJson selection;
  if (model.AutomaticNumberOfClasses)
  {
    ReportJson bic = ReportJson::array();
    const auto & values = filter->GetBayesianInformationCriterionForEachK();
    for (std::size_t k = 0; k < values.size(); ++k)
    {
      bic.push_back({ { "k", k + 1 }, { "bic", values[k] } });
    }
    selection = { { "criterion", "bic" },
                  { "by", gmm ? "gmm" : "gmm (the Gaussian mixture's BIC chooses K for the K-means)" },
                  { "maximum_k", model.MaximumNumberOfClasses },
                  { "bic_for_each_k", bic },
                  { "chosen_k", options.NumberOfClasses } };
  }
  if (!gmm)
  {
    report.SetTiming("choose_k", segmentTime.Seconds());
    report["model_selection"] = selection;
    return false;
  }
  report.SetTiming("segment", segmentTime.Seconds());

  // Write: the label map (or Slicer segmentation), then the posteriors, both checked before any work.
  Stopwatch writeTime;
  WriteScanLabelMap<VDimension>(filter->GetOutput(), options, report);
  report["output"] = { { "path", options.Output } };
  if (!model.Posteriors.empty())
  {
    WriteImageAtomically(filter->GetPosteriorsOutput(), model.Posteriors);
    report["posteriors"] = { { "path", model.Posteriors }, { "components", options.NumberOfClasses } };
  }
  report.SetTiming("write", writeTime.Seconds());

  // Report: the model, then the classes (voxels counted from the label map, labels 1..K by ascending mean).
  const unsigned int                K = options.NumberOfClasses;
  std::vector<itk::SizeValueType>   counts(K, 0);
  const LabelImageType *            labels = filter->GetOutput();
  itk::ImageRegionConstIterator<LabelImageType> it(labels, labels->GetBufferedRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    const unsigned int label = it.Get();
    if (label >= 1 && label <= K)
    {
      ++counts[label - 1];
    }
  }
  report.SetCellSize(image);
  report["model"] = { { "name", "gmm" },
                      { "number_of_classes", K },
                      { "threads", options.Threads > 0 ? options.Threads : filter->GetNumberOfWorkUnits() },
                      { "variance", model.PerClassVariance ? "per class" : "common" },
                      { "mrf_weight", beta },
                      { "mrf", beta > 0.0 ? "Potts, mean field (HMRF-EM)" : "none" },
                      { "iterations", filter->GetNumberOfIterations() },
                      { "mrf_iterations", filter->GetNumberOfMRFIterations() },
                      { "log_likelihood", filter->GetLogLikelihood() } };
  if (model.AutomaticNumberOfClasses)
  {
    report["model_selection"] = selection;
  }
  report["classified_voxels"] = filter->GetNumberOfClassifiedPixels();
  const auto & means = filter->GetClassMeans();
  const auto & variances = filter->GetClassVariances();
  const auto & proportions = filter->GetClassProportions();
  ReportJson   classes = ReportJson::array();
  for (unsigned int k = 0; k < K; ++k)
  {
    ReportJson c = { { "label", k + 1 },
                     { "mean", means[k] },
                     { "variance", variances[k] },
                     { "proportion", proportions[k] },
                     { "voxels", counts[k] } };
    report.AddClassSize(c, static_cast<double>(counts[k]));
    classes.push_back(c);
  }
  report["classes"] = classes;

  // The VTK preview: a mixture (with a spatial prior) has no intensity thresholds.
  WritePreviewOutputs(options, image, filter->GetOutput(), { means, counts, {} }, report);
  return true;
}
} // namespace kmeans_cli

#endif
