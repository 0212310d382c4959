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
#ifndef KMeansCLI_Preprocessing_hxx
#define KMeansCLI_Preprocessing_hxx

// The preprocessing steps' definitions, instantiated for 2-D and 3-D images in Preprocessing2D.cxx and
// Preprocessing3D.cxx (compiled with different optimization levels, see programs/CMakeLists.txt).
#include "cli/inputs/Preprocessing.h"
#include "cli/run/Progress.h"

#include "itkBSplineControlPointImageFilter.h"
#include "itkBinaryFillholeImageFilter.h"
#include "itkConnectedComponentImageFilter.h"
#include "itkCurvatureAnisotropicDiffusionImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkN4BiasFieldCorrectionImageFilter.h"
#include "itkOtsuThresholdImageFilter.h"
#include "itkRelabelComponentImageFilter.h"
#include "itkShrinkImageFilter.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace kmeans_cli
{
namespace
{
double
SecondsSince(std::chrono::steady_clock::time_point start)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <unsigned int D>
size_t
CountNonZero(const itk::Image<unsigned char, D> * mask)
{
  size_t count = 0;
  for (itk::ImageRegionConstIterator<itk::Image<unsigned char, D>> it(mask, mask->GetLargestPossibleRegion());
       !it.IsAtEnd();
       ++it)
  {
    count += it.Get() != 0;
  }
  return count;
}
} // namespace

template <unsigned int D>
typename itk::Image<unsigned char, D>::Pointer
AutomaticForegroundMask(const itk::Image<float, D> * image)
{
  using ImageType = itk::Image<float, D>;
  using MaskType = itk::Image<unsigned char, D>;
  using LabelType = itk::Image<unsigned int, D>;
  auto otsu = itk::OtsuThresholdImageFilter<ImageType, MaskType>::New();
  otsu->SetInput(image);
  otsu->SetInsideValue(0); // at or below the threshold: background
  otsu->SetOutsideValue(1);
  otsu->SetNumberOfHistogramBins(256);
  // Holes are filled before the largest component is taken: the scalp encloses the dark CSF around the brain,
  // so the filled head is one component (taking the largest component first would keep the brain alone).
  auto fill = itk::BinaryFillholeImageFilter<MaskType>::New();
  fill->SetInput(otsu->GetOutput());
  fill->SetForegroundValue(1);
  fill->FullyConnectedOn();
  auto components = itk::ConnectedComponentImageFilter<MaskType, LabelType>::New();
  components->SetInput(fill->GetOutput());
  components->FullyConnectedOff();
  auto relabel = itk::RelabelComponentImageFilter<LabelType, LabelType>::New();
  relabel->SetInput(components->GetOutput());
  relabel->Update();
  auto mask = MaskType::New();
  mask->CopyInformation(image);
  mask->SetRegions(image->GetLargestPossibleRegion());
  mask->Allocate();
  itk::ImageRegionConstIterator<LabelType> in(relabel->GetOutput(), image->GetLargestPossibleRegion());
  itk::ImageRegionIterator<MaskType>       out(mask, image->GetLargestPossibleRegion());
  for (; !in.IsAtEnd(); ++in, ++out)
  {
    out.Set(in.Get() == 1 ? 1 : 0); // label 1 is the largest component
  }
  return mask;
}

template <unsigned int D>
typename itk::Image<float, D>::Pointer
CorrectBiasField(const itk::Image<float, D> *         image,
                 const itk::Image<unsigned char, D> * mask,
                 const PreprocessingOptions &         options,
                 ProgressReporter *                   progress,
                 nlohmann::json *                     record)
{
  using ImageType = itk::Image<float, D>;
  using MaskType = itk::Image<unsigned char, D>;
  const auto start = std::chrono::steady_clock::now();
  if (options.N4ShrinkFactor < 1 || options.N4Iterations.empty())
  {
    throw std::invalid_argument("N4: shrink factor " + std::to_string(options.N4ShrinkFactor) +
                                " must be at least 1 and at least one fitting level is needed");
  }

  // Fit region: the mask (or Otsu's foreground) restricted to positive intensities (N4 works on the log).
  typename MaskType::Pointer fitMask = mask != nullptr ? nullptr : AutomaticForegroundMask<D>(image);
  auto                       region = image->GetLargestPossibleRegion();
  auto                       n4Mask = MaskType::New();
  n4Mask->CopyInformation(image);
  n4Mask->SetRegions(region);
  n4Mask->Allocate();
  {
    const MaskType *                         source = mask != nullptr ? mask : fitMask.GetPointer();
    itk::ImageRegionConstIterator<ImageType> value(image, region);
    itk::ImageRegionConstIterator<MaskType>  inside(source, region);
    itk::ImageRegionIterator<MaskType>       out(n4Mask, region);
    for (; !value.IsAtEnd(); ++value, ++inside, ++out)
    {
      out.Set(inside.Get() != 0 && value.Get() > 0.0f && std::isfinite(value.Get()) ? 1 : 0);
    }
  }
  const size_t fitVoxels = CountNonZero<D>(n4Mask.GetPointer());
  if (fitVoxels == 0)
  {
    throw std::runtime_error("N4 bias-field correction: no voxel with a positive intensity inside the mask");
  }

  auto shrinker = itk::ShrinkImageFilter<ImageType, ImageType>::New();
  shrinker->SetInput(image);
  shrinker->SetShrinkFactors(options.N4ShrinkFactor);
  auto maskShrinker = itk::ShrinkImageFilter<MaskType, MaskType>::New();
  maskShrinker->SetInput(n4Mask);
  maskShrinker->SetShrinkFactors(options.N4ShrinkFactor);

  using CorrecterType = itk::N4BiasFieldCorrectionImageFilter<ImageType, MaskType, ImageType>;
  auto correcter = CorrecterType::New();
  correcter->SetInput(shrinker->GetOutput());
  correcter->SetMaskImage(maskShrinker->GetOutput());
  typename CorrecterType::VariableSizeArrayType iterations(static_cast<unsigned int>(options.N4Iterations.size()));
  for (unsigned int level = 0; level < options.N4Iterations.size(); ++level)
  {
    iterations[level] = options.N4Iterations[level];
  }
  correcter->SetMaximumNumberOfIterations(iterations);
  correcter->SetNumberOfFittingLevels(static_cast<unsigned int>(options.N4Iterations.size()));
  correcter->SetConvergenceThreshold(options.N4ConvergenceThreshold);
  const unsigned int totalIterations =
    std::accumulate(options.N4Iterations.begin(), options.N4Iterations.end(), 0u);
  if (progress != nullptr)
  {
    progress->Start("N4 bias field", "N4 bias-field correction");
    correcter->AddObserver(itk::IterationEvent(), [&](const itk::EventObject &) {
      unsigned int done = correcter->GetElapsedIterations();
      for (unsigned int level = 0; level < correcter->GetCurrentLevel() && level < options.N4Iterations.size();
           ++level)
      {
        done += options.N4Iterations[level];
      }
      progress->Update(0.95 * done / std::max(totalIterations, 1u));
    });
  }
  try
  {
    correcter->Update();
  }
  catch (const itk::ExceptionObject & exception)
  {
    std::string description = exception.GetDescription();
    std::replace(description.begin(), description.end(), '\n', ' ');
    throw std::runtime_error("N4 bias-field correction failed: " + description);
  }

  // The log bias field at full resolution from the fitted B-spline control points.
  using BSplinerType = itk::BSplineControlPointImageFilter<typename CorrecterType::BiasFieldControlPointLatticeType,
                                                           typename CorrecterType::ScalarImageType>;
  auto bspliner = BSplinerType::New();
  bspliner->SetInput(correcter->GetLogBiasFieldControlPointLattice());
  bspliner->SetSplineOrder(correcter->GetSplineOrder());
  bspliner->SetSize(region.GetSize());
  bspliner->SetOrigin(image->GetOrigin());
  bspliner->SetDirection(image->GetDirection());
  bspliner->SetSpacing(image->GetSpacing());
  bspliner->Update();

  auto corrected = ImageType::New();
  corrected->CopyInformation(image);
  corrected->SetRegions(region);
  corrected->Allocate();
  itk::ImageRegionConstIterator<ImageType>                                   in(image, region);
  itk::ImageRegionConstIterator<typename CorrecterType::ScalarImageType> logBias(bspliner->GetOutput(),
                                                                                  bspliner->GetOutput()->GetLargestPossibleRegion());
  itk::ImageRegionIterator<ImageType> out(corrected, region);
  double                              minimumBias = 1e300, maximumBias = 0.0;
  for (; !in.IsAtEnd(); ++in, ++logBias, ++out)
  {
    const double bias = std::exp(static_cast<double>(logBias.Get()[0]));
    minimumBias = std::min(minimumBias, bias);
    maximumBias = std::max(maximumBias, bias);
    out.Set(static_cast<float>(in.Get() / bias));
  }
  if (progress != nullptr)
  {
    progress->End();
  }
  if (record != nullptr)
  {
    *record = { { "step", "n4" },
                { "filter", "itk::N4BiasFieldCorrectionImageFilter" },
                { "shrink_factor", options.N4ShrinkFactor },
                { "iterations", options.N4Iterations },
                { "convergence_threshold", options.N4ConvergenceThreshold },
                { "fit_voxels", fitVoxels },
                { "fit_mask", mask != nullptr ? "given mask, intensities > 0" : "Otsu foreground, intensities > 0" },
                { "bias_range", { minimumBias, maximumBias } },
                { "seconds", SecondsSince(start) } };
  }
  return corrected;
}

template <unsigned int D>
typename itk::Image<float, D>::Pointer
DenoiseImage(const itk::Image<float, D> * image,
             const PreprocessingOptions & options,
             ProgressReporter *           progress,
             nlohmann::json *             record)
{
  using ImageType = itk::Image<float, D>;
  const auto start = std::chrono::steady_clock::now();
  auto       diffusion = itk::CurvatureAnisotropicDiffusionImageFilter<ImageType, ImageType>::New();
  diffusion->SetInput(image);
  double minimumSpacing = image->GetSpacing()[0];
  for (unsigned int i = 1; i < D; ++i)
  {
    minimumSpacing = std::min(minimumSpacing, image->GetSpacing()[i]);
  }
  // Stable for the curvature scheme: below minimum spacing / 2^(D+1).
  const double timeStep = 0.9 * minimumSpacing / std::pow(2.0, D + 1);
  diffusion->SetTimeStep(timeStep);
  diffusion->SetNumberOfIterations(options.DenoiseIterations);
  diffusion->SetConductanceParameter(options.DenoiseConductance);
  if (progress != nullptr)
  {
    progress->Observe(diffusion, "Denoising", "curvature anisotropic diffusion");
  }
  diffusion->Update();
  typename ImageType::Pointer output = diffusion->GetOutput();
  output->DisconnectPipeline();
  if (record != nullptr)
  {
    *record = { { "step", "denoise" },
                { "filter", "itk::CurvatureAnisotropicDiffusionImageFilter" },
                { "iterations", options.DenoiseIterations },
                { "conductance", options.DenoiseConductance },
                { "time_step", timeStep },
                { "seconds", SecondsSince(start) } };
  }
  return output;
}

template <unsigned int D>
PreprocessingResult<D>
Preprocess(const itk::Image<float, D> *         image,
           const itk::Image<unsigned char, D> * mask,
           const PreprocessingOptions &         options,
           ProgressReporter *                   progress)
{
  using ImageType = itk::Image<float, D>;
  using MaskType = itk::Image<unsigned char, D>;
  PreprocessingResult<D> result;
  result.Image = const_cast<ImageType *>(image);
  result.Mask = const_cast<MaskType *>(mask);
  if (options.AutoMask)
  {
    const auto start = std::chrono::steady_clock::now();
    if (progress != nullptr)
    {
      progress->Start("Automatic mask", "Otsu threshold, largest component, holes filled");
    }
    auto automatic = AutomaticForegroundMask<D>(image);
    if (mask != nullptr)
    {
      itk::ImageRegionConstIterator<MaskType> given(mask, mask->GetLargestPossibleRegion());
      itk::ImageRegionIterator<MaskType>      both(automatic, automatic->GetLargestPossibleRegion());
      for (; !both.IsAtEnd(); ++both, ++given)
      {
        both.Set(both.Get() != 0 && given.Get() != 0 ? 1 : 0);
      }
    }
    const size_t inside = CountNonZero<D>(automatic.GetPointer());
    const size_t total = automatic->GetLargestPossibleRegion().GetNumberOfPixels();
    if (progress != nullptr)
    {
      progress->End();
    }
    if (inside == 0)
    {
      throw std::runtime_error("automatic mask is empty (no foreground found by Otsu's threshold)");
    }
    result.Mask = automatic;
    result.Record.push_back({ { "step", "auto_mask" },
                              { "method", "Otsu threshold, largest connected component, holes filled" },
                              { "combined_with_mask", mask != nullptr },
                              { "voxels", inside },
                              { "fraction", static_cast<double>(inside) / static_cast<double>(total) },
                              { "seconds", SecondsSince(start) } });
  }
  if (options.N4)
  {
    nlohmann::json record;
    result.Image = CorrectBiasField<D>(result.Image, result.Mask, options, progress, &record);
    result.Record.push_back(record);
  }
  if (options.Denoise)
  {
    nlohmann::json record;
    result.Image = DenoiseImage<D>(result.Image, options, progress, &record);
    result.Record.push_back(record);
  }
  return result;
}

#define KMEANS_CLI_INSTANTIATE_PREPROCESSING(D)                                                                    \
  template itk::Image<unsigned char, D>::Pointer AutomaticForegroundMask<D>(const itk::Image<float, D> *);         \
  template itk::Image<float, D>::Pointer         CorrectBiasField<D>(                                              \
    const itk::Image<float, D> *, const itk::Image<unsigned char, D> *, const PreprocessingOptions &,              \
    ProgressReporter *, nlohmann::json *);                                                                         \
  template itk::Image<float, D>::Pointer DenoiseImage<D>(                                                          \
    const itk::Image<float, D> *, const PreprocessingOptions &, ProgressReporter *, nlohmann::json *);            \
  template PreprocessingResult<D> Preprocess<D>(                                                                   \
    const itk::Image<float, D> *, const itk::Image<unsigned char, D> *, const PreprocessingOptions &,              \
    ProgressReporter *)

} // namespace kmeans_cli

#endif
