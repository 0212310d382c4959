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
#ifndef itkGaussianMixtureSegmentationImageFilter_hxx
#define itkGaussianMixtureSegmentationImageFilter_hxx

#include "itkKMeansSegmentationImageFilter.h"
#include "itkPottsMeanField.h"
#include "itkMath.h"
#include "itkTotalProgressReporter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <tuple>
#include <utility>
#include <type_traits>

namespace itk
{
template <typename TInputImage, typename TOutputImage, typename TMaskImage>
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GaussianMixtureSegmentationImageFilter()
{
  this->AddOptionalInputName("MaskImage"); // the input is required (ImageToImageFilter)
  // Only the label map is an indexed output (ITK Python's functional call returns every indexed output): the
  // posteriors, the tissue fractions and the bias field are named outputs.
  for (const char * name : { "Posteriors", "Fractions", "BiasField" })
  {
    this->ProcessObject::SetOutput(name, this->MakeOutput(name));
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
DataObject::Pointer
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::MakeOutput(
  const ProcessObject::DataObjectIdentifierType & name)
{
  if (name == "Posteriors" || name == "Fractions")
  {
    return PosteriorImageType::New().GetPointer();
  }
  if (name == "BiasField")
  {
    return BiasFieldImageType::New().GetPointer();
  }
  return Superclass::MakeOutput(name);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  KMeansSegmentationDetail::VerifyScalarSettings<OutputPixelType>(
    this,
    m_AutomaticNumberOfClasses ? "MaximumNumberOfClasses" : "NumberOfClasses",
    m_AutomaticNumberOfClasses ? m_MaximumNumberOfClasses : m_NumberOfClasses,
    m_UseForegroundThreshold,
    m_ForegroundThreshold);
  if (!(m_ConvergenceThreshold >= 0.0) || !std::isfinite(m_ConvergenceThreshold))
  {
    itkExceptionMacro(<< "ConvergenceThreshold is " << m_ConvergenceThreshold
                      << "; it must be finite and not negative");
  }
  if (!(m_MRFWeight >= 0.0) || !std::isfinite(m_MRFWeight))
  {
    itkExceptionMacro(<< "MRFWeight is " << m_MRFWeight << "; it must be finite and not negative");
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation();
  if (auto * posteriors = this->GetPosteriorsOutput())
  {
    // Final in automatic mode only after GenerateData(); the maximum until then.
    posteriors->SetNumberOfComponentsPerPixel(m_AutomaticNumberOfClasses ? m_MaximumNumberOfClasses
                                                                         : m_NumberOfClasses);
  }
  if (auto * fractions = this->GetFractionsOutput())
  {
    fractions->SetNumberOfComponentsPerPixel(m_AutomaticNumberOfClasses ? m_MaximumNumberOfClasses
                                                                        : m_NumberOfClasses);
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateData()
{
  const auto images = KMeansSegmentationDetail::BeginGenerateData(this);
  m_ClassMeans.clear();
  m_ClassVariances.clear();
  m_ClassProportions.clear();
  m_InitialClassMeans.clear();
  m_InitialClassVariances.clear();
  m_FractionSums.clear();
  m_ReseededClasses.clear();
  m_NegligibleClasses.clear();
  m_BayesianInformationCriterionForEachK.clear();
  m_NumberOfClassesSelection = GaussianMixtureOnLevels::Selection{};
  m_NumberOfClassesUsed = 0;
  m_LogLikelihood = 0.0;
  m_NumberOfIterations = 0;
  m_NumberOfMRFIterations = 0;
  m_NumberOfClassifiedPixels = 0;

  // Progress: 10 % histogram, then 90 % labels and posteriors, or with the Markov random field 80 % its sweeps
  // and 10 % labels and posteriors.
  HistogramType histogram;
  histogram.SetForegroundThreshold(m_UseForegroundThreshold, m_ForegroundThreshold);
  histogram.Compute(images.Input, images.Mask, images.Region, this->GetMultiThreader(), this, 0.1f);
  if (histogram.GetNumberOfSamples() == 0)
  {
    itkExceptionMacro(<< histogram.DescribeNoSamples(images.Mask != nullptr));
  }
  const auto & levels = histogram.GetLevels();

  // The mixture without prior, fitted on the histogram levels.
  GaussianMixtureOnLevels fitter;
  fitter.SetParameters({ m_NumberOfClasses,
                         m_AutomaticNumberOfClasses,
                         m_MaximumNumberOfClasses,
                         m_MaximumNumberOfIterations,
                         m_ConvergenceThreshold,
                         m_UseCommonVariance,
                         m_MinimumLogLikelihoodGain });
  try
  {
    fitter.Fit(levels, histogram.GetBinWidth());
  }
  catch (const std::invalid_argument & error)
  {
    itkExceptionMacro(<< error.what());
  }
  const auto &                     fit = fitter.GetResult();
  GaussianMixtureOnLevels::Mixture mixture = fit.Model;
  const double                     varianceFloor = fit.VarianceFloor;
  for (std::size_t k = 0; k < fit.InitialMeans.size(); ++k)
  {
    m_InitialClassMeans.push_back(histogram.GetOrigin() + fit.InitialMeans[k]);
  }
  m_InitialClassVariances = fit.InitialVariances;
  m_BayesianInformationCriterionForEachK = fit.BayesianInformationCriterionForEachK;
  m_NumberOfClassesSelection = fit.NumberOfClassesSelection;
  const auto numberOfClasses = static_cast<unsigned int>(mixture.Mean.size());
  m_NumberOfClassesUsed = numberOfClasses;
  m_LogLikelihood = fit.LogLikelihood;
  m_NumberOfIterations = fit.NumberOfIterations;
  m_NumberOfClassifiedPixels = static_cast<SizeValueType>(histogram.GetNumberOfSamples());

  if (m_EstimateBiasField)
  {
    this->FitTissueModel(images, histogram, varianceFloor, &mixture, nullptr);
    return;
  }
  const LevelPosteriors levelPosteriors(histogram, mixture);

  // Every voxel of both outputs is written below: no initialisation pass, and the fresh buffers are backed by
  // huge pages where the system offers them.
  KMeansSegmentationDetail::AllocateWholeOutput(images.Output);
  float * const posteriors = KMeansSegmentationDetail::AllocateWholeOutput(this->GetPosteriorsOutput(), numberOfClasses);

  if (m_MRFWeight > 0.0)
  {
    this->FitMarkovRandomField(
      images, levelPosteriors, mixture, varianceFloor, GaussianMixtureOnLevels::MeanOfLevels(levels));
  }
  else
  {
    this->LabelByLevel(images, levelPosteriors);
  }

  for (unsigned int k = 0; k < numberOfClasses; ++k)
  {
    m_ClassMeans.push_back(histogram.GetOrigin() + mixture.Mean[k]);
    m_ClassVariances.push_back(mixture.Variance[k]);
    m_ClassProportions.push_back(mixture.Proportion[k]);
  }
  // Collapse guard: a vanishing class is fitted again, re-seeded from the exact K-means.
  if (std::any_of(m_ClassProportions.begin(), m_ClassProportions.end(), [this](double p) {
        return p < m_NegligibleProportion;
      }))
  {
    this->FitTissueModel(images, histogram, varianceFloor, nullptr, nullptr);
    return;
  }
  if (m_PartialVolume)
  {
    // The fractions: the mixed classes join the labels and posteriors just computed, and their parameters.
    const unsigned int iterations = m_NumberOfMRFIterations;
    this->FitTissueModel(images, histogram, varianceFloor, &mixture, posteriors);
    m_NumberOfMRFIterations += iterations;
    return;
  }
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::LevelPosteriors::LevelPosteriors(
  const HistogramType &                    histogram,
  const GaussianMixtureOnLevels::Mixture & mixture)
  : Histogram(histogram)
  , NumberOfClasses(static_cast<unsigned int>(mixture.Mean.size()))
  , BinToLevel(histogram.GetNumberOfBins(), -1)
{
  const auto &        levels = histogram.GetLevels();
  std::vector<double> posteriors;
  GaussianMixtureOnLevels::LevelLogLikelihood(levels, mixture, &posteriors);
  Posteriors.assign(posteriors.begin(), posteriors.end());
  Labels.resize(levels.size());
  for (std::size_t l = 0; l < levels.size(); ++l)
  {
    BinToLevel[histogram.GetLevelBins()[l]] = static_cast<std::int32_t>(l);
    const double * p = posteriors.data() + l * NumberOfClasses;
    Labels[l] = static_cast<OutputPixelType>(std::max_element(p, p + NumberOfClasses) - p + 1);
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
const float *
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::LevelPosteriors::Of(
  InputPixelType value,
  std::size_t *  level) const
{
  const auto l = static_cast<std::size_t>(BinToLevel[Histogram.GetBin(value)]);
  if (level != nullptr)
  {
    *level = l;
  }
  return Posteriors.data() + l * NumberOfClasses;
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::LabelByLevel(
  const FilterImagesType & images,
  const LevelPosteriors &  levels)
{
  const unsigned int  K = levels.NumberOfClasses;
  const SizeValueType totalPixels = images.Region.GetNumberOfPixels();
  float *             posteriors = this->GetPosteriorsOutput()->GetBufferPointer();
  this->GetMultiThreader()->template ParallelizeImageRegion<ImageDimension>(
    images.Region,
    [&](const RegionType & piece) {
      TotalProgressReporter progress(this, totalPixels, 100, 0.9f);
      KMeansSegmentationDetail::ForEachScanline(
        images.Input,
        images.Mask,
        piece,
        [&](const InputPixelType * p, const MaskPixelType * m, SizeValueType length) {
          progress.CheckAbortGenerateData();
          // Offsets coincide: every buffer covers the largest possible region.
          const auto        offset = static_cast<SizeValueType>(p - images.Input->GetBufferPointer());
          OutputPixelType * o = images.Output->GetBufferPointer() + offset;
          float *           q = posteriors + offset * K;
          std::fill(q, q + length * K, 0.0f); // voxels that do not take part keep 0
          for (SizeValueType i = 0; i < length; ++i, q += K)
          {
            if (!levels.Histogram.Includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
            {
              o[i] = OutputPixelType{};
              continue;
            }
            std::size_t l = 0;
            std::copy_n(levels.Of(p[i], &l), K, q);
            o[i] = levels.Labels[l];
          }
          progress.Completed(length);
        });
    },
    nullptr);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::FitMarkovRandomField(
  const FilterImagesType &           images,
  const LevelPosteriors &            levels,
  GaussianMixtureOnLevels::Mixture & mixture,
  double                             varianceFloor,
  double                             shift)
{
  // Intensities as the mean field reads them: floats where they hold the input exactly, doubles otherwise.
  using ValueType = std::conditional_t<std::is_same<InputPixelType, float>::value ||
                                         (std::is_integral<InputPixelType>::value && sizeof(InputPixelType) <= 2),
                                       float,
                                       double>;
  const HistogramType &  histogram = levels.Histogram;
  const unsigned int     K = levels.NumberOfClasses;
  MultiThreaderBase *    threader = this->GetMultiThreader();
  const InputPixelType * inputBuffer = images.Input->GetBufferPointer();
  const MaskPixelType *  maskBuffer = images.Mask ? images.Mask->GetBufferPointer() : nullptr;
  OutputPixelType *      labels = images.Output->GetBufferPointer();
  float *                posteriors = this->GetPosteriorsOutput()->GetBufferPointer();
  auto                   takesPart = [&](SizeValueType i) {
    return histogram.Includes(inputBuffer[i], maskBuffer ? maskBuffer[i] : MaskPixelType{ 1 });
  };

  // The grid (rows along the fastest dimension, slices of the slowest) and each row's span, from its first to its
  // last voxel taking part (every buffer covers the largest possible region).
  std::vector<std::uint64_t> size(images.Region.GetSize().begin(), images.Region.GetSize().end());
  PottsMeanField::Layout     layout(size);
  const SizeValueType        rowLength = layout.GetRowLength();
  const SizeValueType        rowsPerSlice = layout.GetRowsPerSlice();
  auto                       forEachSlice = [&](auto function) {
    threader->ParallelizeArray(
      0,
      layout.GetNumberOfSlices(),
      [&](SizeValueType slice) {
        for (SizeValueType row = slice * rowsPerSlice; row < (slice + 1) * rowsPerSlice; ++row)
        {
          function(row, row * rowLength);
        }
      },
      nullptr);
  };
  forEachSlice([&](SizeValueType row, SizeValueType rowStart) {
    SizeValueType first = 0;
    while (first < rowLength && !takesPart(rowStart + first))
    {
      ++first;
    }
    SizeValueType end = rowLength;
    while (end > first && !takesPart(rowStart + end - 1))
    {
      --end;
    }
    layout.SetSpan(row, first, end);
  });

  // The mean field's inputs: the span voxels' intensities (NaN where a voxel does not take part) and the initial
  // posteriors (the mixture's posteriors of each voxel's level) in the posterior output, written whole here.
  const std::vector<std::uint64_t> spanStarts = layout.SpanStarts();
  std::unique_ptr<ValueType[]>     values(new ValueType[std::max<std::uint64_t>(1, layout.NumberOfSpanVoxels())]);
  forEachSlice([&](SizeValueType row, SizeValueType rowStart) {
    const SizeValueType first = layout.GetSpanFirst(row);
    const SizeValueType end = layout.GetSpanEnd(row);
    float * const       q = posteriors + rowStart * K;
    ValueType * const   rowValues = values.get() + spanStarts[row] - first;
    std::fill(q, q + first * K, 0.0f);
    std::fill(q + end * K, q + rowLength * K, 0.0f);
    for (SizeValueType x = first; x < end; ++x)
    {
      float * const v = q + x * K;
      if (!takesPart(rowStart + x))
      {
        rowValues[x] = std::numeric_limits<ValueType>::quiet_NaN();
        std::fill(v, v + K, 0.0f);
        continue;
      }
      rowValues[x] = static_cast<ValueType>(inputBuffer[rowStart + x]);
      std::copy_n(levels.Of(inputBuffer[rowStart + x]), K, v);
    }
  });

  PottsMeanField meanField;
  meanField.SetParameters(
    { m_MRFWeight, m_MaximumNumberOfMRFIterations, m_ConvergenceThreshold, m_UseCommonVariance, varianceFloor });
  meanField.SetProcessObject(this);
  meanField.Run(layout, values.get(), posteriors, mixture, shift, histogram.GetOrigin());
  m_NumberOfMRFIterations = meanField.GetNumberOfIterations();

  // Labels: the class of largest posterior (the lower label on ties), 0 where no voxel takes part.
  forEachSlice([&](SizeValueType row, SizeValueType rowStart) {
    const SizeValueType first = layout.GetSpanFirst(row);
    const SizeValueType end = layout.GetSpanEnd(row);
    std::fill(labels + rowStart, labels + rowStart + first, OutputPixelType{});
    for (SizeValueType x = first; x < end; ++x)
    {
      const float * q = posteriors + (rowStart + x) * K;
      labels[rowStart + x] =
        takesPart(rowStart + x) ? static_cast<OutputPixelType>(std::max_element(q, q + K) - q + 1) : OutputPixelType{};
    }
    std::fill(labels + rowStart + end, labels + rowStart + rowLength, OutputPixelType{});
  });
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::FitTissueModel(
  const FilterImagesType &                 images,
  const HistogramType &                    histogram,
  double                                   varianceFloor,
  const GaussianMixtureOnLevels::Mixture * start,
  const float *                            posteriors)
{
  static_assert(ImageDimension <= 3, "the tissue model works on images of at most three dimensions");
  const SizeValueType    totalPixels = images.Region.GetNumberOfPixels();
  const InputPixelType * inputBuffer = images.Input->GetBufferPointer();
  const MaskPixelType *  maskBuffer = images.Mask ? images.Mask->GetBufferPointer() : nullptr;

  // The voxels taking part, in buffer order (every buffer covers the largest possible region).
  std::vector<float>           values;
  std::vector<std::uint64_t>   gridIndex;
  const unsigned int           K = static_cast<unsigned int>(m_InitialClassMeans.size());
  std::array<std::uint64_t, 3> gridSize{ { 1, 1, 1 } };
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    gridSize[d] = images.Region.GetSize()[d];
  }
  const auto numberOfVoxels = static_cast<std::size_t>(histogram.GetNumberOfSamples());
  values.reserve(numberOfVoxels);
  gridIndex.reserve(numberOfVoxels);
  for (SizeValueType i = 0; i < totalPixels; ++i)
  {
    if (histogram.Includes(inputBuffer[i], maskBuffer ? maskBuffer[i] : MaskPixelType{ 1 }))
    {
      values.push_back(static_cast<float>(inputBuffer[i]));
      gridIndex.push_back(i);
    }
  }
  PartialVolumeTissueModel model;
  model.PartialVolume = m_PartialVolume;
  model.EstimateBiasField = m_EstimateBiasField;
  model.BiasFieldDegree = m_BiasFieldDegree;
  model.MRFWeight = m_MRFWeight;
  model.CommonVariance = m_UseCommonVariance;
  model.VarianceFloor = varianceFloor;
  model.MaximumNumberOfIterations = std::max(1u, m_MaximumNumberOfMRFIterations);
  model.ConvergenceThreshold = m_ConvergenceThreshold;
  model.NegligibleProportion = m_NegligibleProportion;
  model.NumberOfWorkUnits = this->GetNumberOfWorkUnits();
  model.Progress = [this](double done) { // progress events and abort inside the fit
    this->UpdateProgress(static_cast<float>(0.1 + 0.8 * done));
    if (this->GetAbortGenerateData())
    {
      throw ProcessAborted(__FILE__, __LINE__);
    }
  };
  PartialVolumeTissueModel::Tissues initial{ m_InitialClassMeans, m_InitialClassVariances };
  for (double & v : initial.Variance)
  {
    v = std::max(v, varianceFloor);
  }
  if (start)
  {
    // The stage of pure tissues starts from the mixture fitted on the histogram (near its fixed point).
    model.Start = { start->Mean, start->Variance };
    model.StartProportions = start->Proportion;
    model.StartPosteriorGrid = posteriors; // read in place
    for (double & mean : model.Start.Mean)
    {
      mean += histogram.GetOrigin();
    }
  }
  // The model works in the fraction image's buffer and leaves the fractions there (no other buffer for them).
  model.FractionGrid =
    model.PartialVolume ? KMeansSegmentationDetail::AllocateWholeOutput(this->GetFractionsOutput(), K) : nullptr;
  model.Fit(values, gridIndex, gridSize, initial);
  this->UpdateProgress(0.9f);

  // Outputs: the model's values at the voxels taking part, 0 (1 for the bias field) elsewhere, written in one pass.
  // Given the first stage's posteriors, the labels and posteriors are already in place (the model's are the same).
  auto scatter = [&](auto * target, const auto & source, unsigned int components, auto fill) {
    SizeValueType next = 0; // the first grid voxel not yet written
    for (std::size_t v = 0; v < gridIndex.size(); ++v)
    {
      std::fill(target + next * components, target + gridIndex[v] * components, fill);
      for (unsigned int c = 0; c < components; ++c)
      {
        target[gridIndex[v] * components + c] = source[v * components + c];
      }
      next = gridIndex[v] + 1;
    }
    std::fill(target + next * components, target + totalPixels * components, fill);
  };
  if (!posteriors)
  {
    scatter(KMeansSegmentationDetail::AllocateWholeOutput(this->GetOutput()), model.GetLabels(), 1, OutputPixelType{});
    scatter(KMeansSegmentationDetail::AllocateWholeOutput(this->GetPosteriorsOutput(), K), model.GetPosteriors(), K, 0.0f);
  }
  if (model.EstimateBiasField)
  {
    scatter(KMeansSegmentationDetail::AllocateWholeOutput(this->GetBiasFieldOutput()), model.GetBiasField(), 1, 1.0f);
  }
  const auto & proportions = model.GetClassProportions();
  m_ClassMeans = model.GetTissues().Mean;
  m_ClassVariances = model.GetTissues().Variance;
  m_ClassProportions.assign(proportions.begin(), proportions.begin() + K);
  for (unsigned int j = 0; j + K < proportions.size(); ++j)
  {
    m_ClassProportions[j] += 0.5 * proportions[K + j];
    m_ClassProportions[j + 1] += 0.5 * proportions[K + j];
  }
  m_FractionSums = model.GetFractionSums();
  m_ReseededClasses = model.GetReseededClasses();
  m_NegligibleClasses = model.GetNegligibleClasses();
  m_NumberOfMRFIterations = model.GetNumberOfIterations();
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::PrintSelf(std::ostream & os,
                                                                                         Indent         indent) const
{
  Superclass::PrintSelf(os, indent);
  KMeansSegmentationDetail::PrintScalarSettings(
    os, indent, m_NumberOfClasses, m_UseForegroundThreshold, m_ForegroundThreshold);
  os << indent << "AutomaticNumberOfClasses: " << (m_AutomaticNumberOfClasses ? "On" : "Off") << std::endl;
  os << indent << "MaximumNumberOfClasses: " << m_MaximumNumberOfClasses << std::endl;
  os << indent << "MinimumLogLikelihoodGain: " << m_MinimumLogLikelihoodGain << std::endl;
  os << indent << "MaximumNumberOfIterations: " << m_MaximumNumberOfIterations << std::endl;
  os << indent << "ConvergenceThreshold: " << m_ConvergenceThreshold << std::endl;
  os << indent << "UseCommonVariance: " << (m_UseCommonVariance ? "On" : "Off") << std::endl;
  os << indent << "MRFWeight: " << m_MRFWeight << std::endl;
  os << indent << "MaximumNumberOfMRFIterations: " << m_MaximumNumberOfMRFIterations << std::endl;
  os << indent << "PartialVolume: " << (m_PartialVolume ? "On" : "Off") << std::endl;
  os << indent << "EstimateBiasField: " << (m_EstimateBiasField ? "On" : "Off") << std::endl;
  os << indent << "BiasFieldDegree: " << m_BiasFieldDegree << std::endl;
  os << indent << "NegligibleProportion: " << m_NegligibleProportion << std::endl;
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassMeans", m_ClassMeans);
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassVariances", m_ClassVariances);
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassProportions", m_ClassProportions);
  KMeansSegmentationDetail::PrintArray(os, indent, "InitialClassMeans", m_InitialClassMeans);
  KMeansSegmentationDetail::PrintArray(os, indent, "InitialClassVariances", m_InitialClassVariances);
  KMeansSegmentationDetail::PrintArray(os, indent, "FractionSums", m_FractionSums);
  KMeansSegmentationDetail::PrintArray(os, indent, "ReseededClasses", m_ReseededClasses);
  KMeansSegmentationDetail::PrintArray(os, indent, "NegligibleClasses", m_NegligibleClasses);
  KMeansSegmentationDetail::PrintArray(os, indent, "BayesianInformationCriterionForEachK", m_BayesianInformationCriterionForEachK);
  m_NumberOfClassesSelection.Print(os, indent);
  os << indent << "NumberOfClassesUsed: " << m_NumberOfClassesUsed << std::endl;
  os << indent << "LogLikelihood: " << m_LogLikelihood << std::endl;
  os << indent << "NumberOfIterations: " << m_NumberOfIterations << std::endl;
  os << indent << "NumberOfMRFIterations: " << m_NumberOfMRFIterations << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_NumberOfClassifiedPixels << std::endl;
}
} // namespace itk

#endif
