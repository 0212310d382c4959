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
#include "itkMath.h"
#include "itkTotalProgressReporter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <type_traits>

namespace itk
{
namespace GaussianMixtureDetail
{
inline Mixture
MixtureFromPartition(const std::vector<OptimalScalarKMeans::Class> & classes,
                     std::uint64_t                                   numberOfSamples,
                     double                                          varianceFloor,
                     bool                                            commonVariance)
{
  Mixture mixture;
  for (const auto & c : classes)
  {
    const auto n = static_cast<double>(c.Count);
    mixture.Mean.push_back(c.Mean);
    mixture.Variance.push_back(std::max(c.SumOfSquares / n, varianceFloor));
    mixture.Proportion.push_back(n / static_cast<double>(numberOfSamples));
  }
  if (commonVariance)
  {
    PoolVariances(mixture, varianceFloor);
  }
  return mixture;
}

inline double
LevelLogLikelihood(const std::vector<OptimalScalarKMeans::Level> & levels,
                   const Mixture &                                 mixture,
                   std::vector<double> *                           posteriors)
{
  const std::size_t   numberOfClasses = mixture.Mean.size();
  std::vector<double> logNormaliser(numberOfClasses);
  std::vector<double> halfPrecision(numberOfClasses);
  for (std::size_t k = 0; k < numberOfClasses; ++k)
  {
    logNormaliser[k] = std::log(mixture.Proportion[k]) - 0.5 * std::log(2.0 * Math::pi * mixture.Variance[k]);
    halfPrecision[k] = 0.5 / mixture.Variance[k];
  }
  if (posteriors != nullptr)
  {
    posteriors->resize(levels.size() * numberOfClasses);
  }
  std::vector<double> energy(numberOfClasses);
  long double         logLikelihood = 0;
  for (std::size_t b = 0; b < levels.size(); ++b)
  {
    const double x = static_cast<double>(levels[b].Sum / static_cast<long double>(levels[b].Count));
    double       maximum = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      const double d = x - mixture.Mean[k];
      energy[k] = logNormaliser[k] - d * d * halfPrecision[k];
      maximum = std::max(maximum, energy[k]);
    }
    double sum = 0.0;
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      // exp(0) is exactly 1: the largest term needs no call.
      energy[k] = energy[k] == maximum ? 1.0 : std::exp(energy[k] - maximum);
      sum += energy[k];
    }
    logLikelihood += static_cast<long double>(levels[b].Count) * (maximum + std::log(sum));
    if (posteriors != nullptr)
    {
      for (std::size_t k = 0; k < numberOfClasses; ++k)
      {
        (*posteriors)[b * numberOfClasses + k] = energy[k] / sum;
      }
    }
  }
  return static_cast<double>(logLikelihood);
}

inline void
PoolVariances(Mixture & mixture, double varianceFloor)
{
  double pooled = 0.0;
  double weight = 0.0;
  for (std::size_t k = 0; k < mixture.Mean.size(); ++k)
  {
    pooled += mixture.Proportion[k] * mixture.Variance[k];
    weight += mixture.Proportion[k];
  }
  std::fill(mixture.Variance.begin(), mixture.Variance.end(), std::max(pooled / weight, varianceFloor));
}

/** One expectation pass over the levels: returns the log-likelihood of the mixture and sets moments[3 k .. 3 k + 2]
 * to the posterior-weighted count, sum and sum of squares of class k (the next M-step's input), summed in level
 * order. The same arithmetic as LevelLogLikelihood followed by a separate M-step over stored posteriors. */
inline double
LevelExpectation(const std::vector<OptimalScalarKMeans::Level> & levels,
                 const Mixture &                                 mixture,
                 std::vector<long double> &                      moments)
{
  const std::size_t   numberOfClasses = mixture.Mean.size();
  std::vector<double> logNormaliser(numberOfClasses);
  std::vector<double> halfPrecision(numberOfClasses);
  for (std::size_t k = 0; k < numberOfClasses; ++k)
  {
    logNormaliser[k] = std::log(mixture.Proportion[k]) - 0.5 * std::log(2.0 * Math::pi * mixture.Variance[k]);
    halfPrecision[k] = 0.5 / mixture.Variance[k];
  }
  moments.assign(3 * numberOfClasses, 0.0L);
  std::vector<double> energy(numberOfClasses);
  long double         logLikelihood = 0;
  for (const auto & level : levels)
  {
    const long double count = static_cast<long double>(level.Count);
    const double      x = static_cast<double>(level.Sum / count);
    double            maximum = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      const double d = x - mixture.Mean[k];
      energy[k] = logNormaliser[k] - d * d * halfPrecision[k];
      maximum = std::max(maximum, energy[k]);
    }
    double sum = 0.0;
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      energy[k] = energy[k] == maximum ? 1.0 : std::exp(energy[k] - maximum);
      sum += energy[k];
    }
    logLikelihood += count * (maximum + std::log(sum));
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      const long double r = energy[k] / sum;
      moments[3 * k] += r * count;
      moments[3 * k + 1] += r * level.Sum;
      moments[3 * k + 2] += r * level.SumOfSquares;
    }
  }
  return static_cast<double>(logLikelihood);
}

inline FitResult
FitOnLevels(const std::vector<OptimalScalarKMeans::Level> & levels,
            Mixture &                                       mixture,
            double                                          varianceFloor,
            bool                                            commonVariance,
            unsigned int                                    maximumNumberOfIterations,
            double                                          convergenceThreshold)
{
  const std::size_t        numberOfClasses = mixture.Mean.size();
  std::vector<long double> moments;
  FitResult                result;
  // Each pass gives the log-likelihood of the current mixture and the moments of its posteriors: one pass over
  // the levels per EM iteration.
  result.LogLikelihood = LevelExpectation(levels, mixture, moments);
  long double total = 0;
  for (const auto & level : levels)
  {
    total += static_cast<long double>(level.Count);
  }
  while (result.Iterations < maximumNumberOfIterations)
  {
    // M-step from the level posteriors, with the levels' exact first and second moments.
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      const long double weight = moments[3 * k];
      const long double sum = moments[3 * k + 1];
      const long double sumOfSquares = moments[3 * k + 2];
      if (weight <= 0)
      {
        mixture.Proportion[k] = 0.0;
        continue;
      }
      const long double mean = sum / weight;
      mixture.Mean[k] = static_cast<double>(mean);
      mixture.Variance[k] = std::max(static_cast<double>(sumOfSquares / weight - mean * mean), varianceFloor);
      mixture.Proportion[k] = static_cast<double>(weight / total);
    }
    if (commonVariance)
    {
      PoolVariances(mixture, varianceFloor);
    }
    ++result.Iterations;
    const double previous = result.LogLikelihood;
    result.LogLikelihood = LevelExpectation(levels, mixture, moments);
    if (std::abs(result.LogLikelihood - previous) <= convergenceThreshold * std::abs(previous))
    {
      break;
    }
  }
  return result;
}

inline std::vector<unsigned int>
SortByMean(Mixture & mixture)
{
  std::vector<unsigned int> order(mixture.Mean.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&mixture](unsigned int a, unsigned int b) {
    return mixture.Mean[a] < mixture.Mean[b];
  });
  Mixture sorted;
  for (const unsigned int k : order)
  {
    sorted.Mean.push_back(mixture.Mean[k]);
    sorted.Variance.push_back(mixture.Variance[k]);
    sorted.Proportion.push_back(mixture.Proportion[k]);
  }
  mixture = sorted;
  return order;
}
} // namespace GaussianMixtureDetail

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GaussianMixtureSegmentationImageFilter()
{
  this->SetNumberOfRequiredInputs(1);
  this->AddOptionalInputName("MaskImage");
  this->SetNumberOfRequiredOutputs(2);
  this->SetNthOutput(0, this->MakeOutput(0));
  this->SetNthOutput(1, this->MakeOutput(1));
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
DataObject::Pointer
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::MakeOutput(
  DataObjectPointerArraySizeType idx)
{
  if (idx == 1)
  {
    return PosteriorImageType::New().GetPointer();
  }
  return Superclass::MakeOutput(idx);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
auto
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GetPosteriorsOutput()
  -> PosteriorImageType *
{
  return dynamic_cast<PosteriorImageType *>(this->ProcessObject::GetOutput(1));
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
auto
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GetPosteriorsOutput() const
  -> const PosteriorImageType *
{
  return dynamic_cast<const PosteriorImageType *>(this->ProcessObject::GetOutput(1));
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  const auto         maximumLabel = static_cast<unsigned long long>(NumericTraits<OutputPixelType>::max());
  const char *       name = m_AutomaticNumberOfClasses ? "MaximumNumberOfClasses" : "NumberOfClasses";
  const unsigned int classes = m_AutomaticNumberOfClasses ? m_MaximumNumberOfClasses : m_NumberOfClasses;
  if (classes < 1)
  {
    itkExceptionMacro(<< name << " is " << classes << "; it must be at least 1");
  }
  if (classes > maximumLabel)
  {
    itkExceptionMacro(<< name << " is " << classes << ", more than the output pixel type holds (" << maximumLabel
                      << ")");
  }
  if (m_UseForegroundThreshold && !std::isfinite(m_ForegroundThreshold))
  {
    itkExceptionMacro(<< "ForegroundThreshold is " << m_ForegroundThreshold << "; it must be finite");
  }
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
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyInputInformation() const
{
  // The mask must match the input exactly as for the K-means filter: let that filter check it, so that the two
  // filters accept the same inputs and report the same messages.
  using CheckerType = KMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>;
  if (this->GetInput() == nullptr || this->GetMaskImage() == nullptr)
  {
    return;
  }
  auto checker = CheckerType::New();
  checker->SetInput(this->GetInput());
  checker->SetMaskImage(this->GetMaskImage());
  checker->SetNumberOfClasses(1);
  checker->SetCoordinateTolerance(this->GetCoordinateTolerance());
  checker->SetDirectionTolerance(this->GetDirectionTolerance());
  try
  {
    checker->UpdateOutputInformation();
  }
  catch (const ExceptionObject & error)
  {
    itkExceptionMacro(<< error.GetDescription());
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
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  // Mixture parameters are global and the prior couples neighbours: the whole input (and mask) is needed.
  if (auto * input = const_cast<TInputImage *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * mask = const_cast<TMaskImage *>(this->GetMaskImage()))
  {
    mask->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::EnlargeOutputRequestedRegion(
  DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateData()
{
  using namespace GaussianMixtureDetail;
  const TInputImage *  input = this->GetInput();
  const TMaskImage *   mask = this->GetMaskImage();
  TOutputImage *       output = this->GetOutput();
  PosteriorImageType * posteriorImage = this->GetPosteriorsOutput();
  const RegionType     region = input->GetLargestPossibleRegion();

  m_ClassMeans.clear();
  m_ClassVariances.clear();
  m_ClassProportions.clear();
  m_InitialClassMeans.clear();
  m_BayesianInformationCriterionForEachK.clear();
  m_NumberOfClassesUsed = 0;
  m_LogLikelihood = 0.0;
  m_NumberOfIterations = 0;
  m_NumberOfMRFIterations = 0;
  m_NumberOfClassifiedPixels = 0;

  MultiThreaderBase * threader = this->GetMultiThreader();
  threader->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());

  // Progress: 10 % histogram, 10 % level posteriors, 75 % Markov random field (when on), 5 % labels.
  HistogramType histogram;
  histogram.SetForegroundThreshold(m_UseForegroundThreshold, m_ForegroundThreshold);
  histogram.Compute(input, mask, region, threader, this, 0.1f);
  if (histogram.GetNumberOfSamples() == 0)
  {
    itkExceptionMacro(<< histogram.DescribeNoSamples(mask != nullptr));
  }
  const auto &        levels = histogram.GetLevels();
  const std::uint64_t numberOfSamples = histogram.GetNumberOfSamples();
  if (!m_AutomaticNumberOfClasses && m_NumberOfClasses > levels.size())
  {
    itkExceptionMacro(<< "NumberOfClasses is " << m_NumberOfClasses << " but only " << levels.size()
                      << " distinct intensity level" << (levels.size() == 1 ? "" : "s") << " take part");
  }

  // Variance floor: the quantisation variance of a bin, and a small fraction of the overall variance.
  long double sum = 0;
  long double sumOfSquares = 0;
  for (const auto & level : levels)
  {
    sum += level.Sum;
    sumOfSquares += level.SumOfSquares;
  }
  const long double n = static_cast<long double>(numberOfSamples);
  const double      overallVariance = std::max(0.0, static_cast<double>(sumOfSquares / n - (sum / n) * (sum / n)));
  const double      binWidth = histogram.GetBinWidth();
  const double      varianceFloor = std::max(binWidth * binWidth / 12.0, 1e-6 * overallVariance);

  OptimalScalarKMeans solver;
  Mixture             mixture;
  FitResult           fit;
  if (m_AutomaticNumberOfClasses)
  {
    const auto largest = static_cast<unsigned int>(std::min<std::size_t>(m_MaximumNumberOfClasses, levels.size()));
    solver.Solve(levels, largest);
    double bestCriterion = std::numeric_limits<double>::infinity();
    for (unsigned int k = 1; k <= largest; ++k)
    {
      const auto classes = solver.Partition(k);
      Mixture    candidate = MixtureFromPartition(classes, numberOfSamples, varianceFloor, m_UseCommonVariance);
      const auto candidateFit = FitOnLevels(
        levels, candidate, varianceFloor, m_UseCommonVariance, m_MaximumNumberOfIterations, m_ConvergenceThreshold);
      const double criterion = -2.0 * candidateFit.LogLikelihood + (m_UseCommonVariance ? 2.0 * k : 3.0 * k - 1.0) *
                                                                     std::log(static_cast<double>(numberOfSamples));
      m_BayesianInformationCriterionForEachK.push_back(criterion);
      if (criterion < bestCriterion)
      {
        bestCriterion = criterion;
        mixture = candidate;
        fit = candidateFit;
        m_InitialClassMeans.clear();
        for (const auto & c : classes)
        {
          m_InitialClassMeans.push_back(histogram.GetOrigin() + c.Mean);
        }
      }
    }
  }
  else
  {
    solver.Solve(levels, m_NumberOfClasses);
    const auto classes = solver.Partition(m_NumberOfClasses);
    for (const auto & c : classes)
    {
      m_InitialClassMeans.push_back(histogram.GetOrigin() + c.Mean);
    }
    mixture = MixtureFromPartition(classes, numberOfSamples, varianceFloor, m_UseCommonVariance);
    fit = FitOnLevels(
      levels, mixture, varianceFloor, m_UseCommonVariance, m_MaximumNumberOfIterations, m_ConvergenceThreshold);
  }
  SortByMean(mixture);
  const auto numberOfClasses = static_cast<unsigned int>(mixture.Mean.size());
  m_NumberOfClassesUsed = numberOfClasses;
  m_LogLikelihood = fit.LogLikelihood;
  m_NumberOfIterations = fit.Iterations;
  m_NumberOfClassifiedPixels = static_cast<SizeValueType>(numberOfSamples);

  std::vector<double> levelPosteriors;
  LevelLogLikelihood(levels, mixture, &levelPosteriors);
  std::vector<std::int32_t> binToLevel(histogram.GetNumberOfBins(), -1);
  for (std::size_t l = 0; l < levels.size(); ++l)
  {
    binToLevel[histogram.GetLevelBins()[l]] = static_cast<std::int32_t>(l);
  }
  std::vector<OutputPixelType> levelLabels(levels.size());
  for (std::size_t l = 0; l < levels.size(); ++l)
  {
    const double * p = levelPosteriors.data() + l * numberOfClasses;
    levelLabels[l] = static_cast<OutputPixelType>(std::max_element(p, p + numberOfClasses) - p + 1);
  }

  output->SetBufferedRegion(output->GetRequestedRegion());
  output->Allocate();
  posteriorImage->SetNumberOfComponentsPerPixel(numberOfClasses);
  posteriorImage->SetBufferedRegion(region);
  posteriorImage->Allocate(true); // zero: voxels that do not take part keep posteriors 0

  const bool                useField = m_MRFWeight > 0.0;
  std::vector<std::int32_t> voxelLevel(useField ? region.GetNumberOfPixels() : 0);
  const SizeValueType       totalPixels = region.GetNumberOfPixels();
  float *                   posteriors = posteriorImage->GetBufferPointer();
  threader->template ParallelizeImageRegion<ImageDimension>(
    region,
    [&](const RegionType & piece) {
      TotalProgressReporter progress(this, totalPixels, 100, 0.1f);
      KMeansSegmentationDetail::ForEachScanline(
        input, mask, piece, [&](const InputPixelType * p, const MaskPixelType * m, SizeValueType length) {
          progress.CheckAbortGenerateData();
          // Offsets coincide: every buffer covers the largest possible region.
          const auto        offset = static_cast<SizeValueType>(p - input->GetBufferPointer());
          OutputPixelType * o = output->GetBufferPointer() + offset;
          float *           q = posteriors + offset * numberOfClasses;
          for (SizeValueType i = 0; i < length; ++i, q += numberOfClasses)
          {
            if (!histogram.Includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
            {
              o[i] = OutputPixelType{};
              if (useField)
              {
                voxelLevel[offset + i] = -1;
              }
              continue;
            }
            const std::int32_t l = binToLevel[histogram.GetBin(p[i])];
            if (useField)
            {
              // Labels and posteriors come from the Markov random field.
              voxelLevel[offset + i] = l;
              continue;
            }
            o[i] = levelLabels[l];
            const double * r = levelPosteriors.data() + static_cast<std::size_t>(l) * numberOfClasses;
            for (unsigned int k = 0; k < numberOfClasses; ++k)
            {
              q[k] = static_cast<float>(r[k]);
            }
          }
          progress.Completed(length);
        });
    },
    nullptr);

  if (useField)
  {
    this->FitMarkovRandomField(levels, levelPosteriors, voxelLevel, mixture, varianceFloor, posteriors);
  }

  for (unsigned int k = 0; k < numberOfClasses; ++k)
  {
    m_ClassMeans.push_back(histogram.GetOrigin() + mixture.Mean[k]);
    m_ClassVariances.push_back(mixture.Variance[k]);
    m_ClassProportions.push_back(mixture.Proportion[k]);
  }
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::FitMarkovRandomField(
  const std::vector<OptimalScalarKMeans::Level> & levels,
  const std::vector<double> &                     levelPosteriors,
  std::vector<std::int32_t> &                     voxelLevel,
  GaussianMixtureDetail::Mixture &                mixture,
  double                                          varianceFloor,
  float *                                         posteriors)
{
  const RegionType   region = this->GetInput()->GetLargestPossibleRegion();
  const auto         size = region.GetSize();
  const unsigned int numberOfClasses = static_cast<unsigned int>(mixture.Mean.size());
  const std::size_t  numberOfLevels = levels.size();

  // Neighbourhood: the face neighbours, and in 2-D the diagonal ones as well.
  std::vector<std::array<int, ImageDimension>> deltas;
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    for (int s : { -1, 1 })
    {
      std::array<int, ImageDimension> delta{};
      delta[d] = s;
      deltas.push_back(delta);
    }
  }
  if (ImageDimension == 2)
  {
    for (int s0 : { -1, 1 })
    {
      for (int s1 : { -1, 1 })
      {
        std::array<int, ImageDimension> delta{};
        delta[0] = s0;
        delta[ImageDimension - 1] = s1;
        deltas.push_back(delta);
      }
    }
  }
  std::array<OffsetValueType, ImageDimension> stride{};
  stride[0] = 1;
  for (unsigned int d = 1; d < ImageDimension; ++d)
  {
    stride[d] = stride[d - 1] * static_cast<OffsetValueType>(size[d - 1]);
  }
  std::vector<OffsetValueType> offsets;
  for (const auto & delta : deltas)
  {
    OffsetValueType o = 0;
    for (unsigned int d = 0; d < ImageDimension; ++d)
    {
      o += delta[d] * stride[d];
    }
    offsets.push_back(o);
  }

  // Level intensities (and within-level variances) measured from a shift near the data, for accurate sums.
  const double        shift = levels.front().Sum / static_cast<long double>(levels.front().Count);
  std::vector<double> levelValue(numberOfLevels);
  std::vector<double> levelSpread(numberOfLevels);
  for (std::size_t l = 0; l < numberOfLevels; ++l)
  {
    const long double c = static_cast<long double>(levels[l].Count);
    const long double mean = levels[l].Sum / c;
    levelValue[l] = static_cast<double>(mean) - shift;
    levelSpread[l] = std::max(0.0, static_cast<double>(levels[l].SumOfSquares / c - mean * mean));
  }

  const SizeValueType totalPixels = region.GetNumberOfPixels();
  const SizeValueType numberOfSlices = size[ImageDimension - 1];
  const SizeValueType sliceSize = totalPixels / std::max<SizeValueType>(numberOfSlices, 1);
  MultiThreaderBase * threader = this->GetMultiThreader();

  // Compact storage: the posteriors of the voxels taking part only, numbered in image order (per slice, so the
  // numbering does not depend on the threads). voxelLevel is turned into the voxel's compact number (-1: not
  // taking part) and compactLevel keeps its level.
  std::vector<SizeValueType> sliceStart(numberOfSlices + 1, 0);
  threader->ParallelizeArray(
    0,
    numberOfSlices,
    [&](SizeValueType slice) {
      SizeValueType count = 0;
      for (SizeValueType i = slice * sliceSize; i < (slice + 1) * sliceSize; ++i)
      {
        count += voxelLevel[i] >= 0;
      }
      sliceStart[slice + 1] = count;
    },
    nullptr);
  std::partial_sum(sliceStart.begin(), sliceStart.end(), sliceStart.begin());
  const SizeValueType numberOfVoxels = sliceStart.back();
  if (numberOfVoxels > static_cast<SizeValueType>(std::numeric_limits<std::int32_t>::max()))
  {
    itkExceptionMacro(<< numberOfVoxels << " voxels take part; the Markov random field handles at most "
                      << std::numeric_limits<std::int32_t>::max());
  }
  std::vector<std::int32_t> compactLevel(numberOfVoxels);
  std::unique_ptr<float[]>  bufferA(new float[numberOfVoxels * numberOfClasses]);
  std::unique_ptr<float[]>  bufferB(new float[numberOfVoxels * numberOfClasses]);
  float *                   previous = bufferA.get();
  float *                   current = bufferB.get();
  threader->ParallelizeArray(
    0,
    numberOfSlices,
    [&](SizeValueType slice) {
      auto c = static_cast<std::int32_t>(sliceStart[slice]);
      for (SizeValueType i = slice * sliceSize; i < (slice + 1) * sliceSize; ++i)
      {
        if (voxelLevel[i] < 0)
        {
          continue;
        }
        const std::int32_t l = voxelLevel[i];
        compactLevel[c] = l;
        const double * r = levelPosteriors.data() + static_cast<std::size_t>(l) * numberOfClasses;
        for (unsigned int k = 0; k < numberOfClasses; ++k)
        {
          previous[static_cast<SizeValueType>(c) * numberOfClasses + k] = static_cast<float>(r[k]);
        }
        voxelLevel[i] = c++;
      }
    },
    nullptr);
  std::vector<double> dataTerm(numberOfLevels * numberOfClasses);
  std::vector<double> sliceSums(static_cast<std::size_t>(numberOfSlices) * 3 * numberOfClasses);
  std::vector<double> sliceEnergy(numberOfSlices);
  const double        beta = m_MRFWeight;
  const float         progressWeight = 0.75f / static_cast<float>(std::max(1u, m_MaximumNumberOfMRFIterations));
  double              previousEnergy = 0.0;

  for (unsigned int iteration = 0; iteration < m_MaximumNumberOfMRFIterations; ++iteration)
  {
    for (unsigned int k = 0; k < numberOfClasses; ++k)
    {
      const double meanFromShift = mixture.Mean[k] - shift;
      const double logNormaliser =
        -0.5 * std::log(2.0 * Math::pi * mixture.Variance[k]) + std::log(mixture.Proportion[k]);
      const double halfPrecision = 0.5 / mixture.Variance[k];
      for (std::size_t l = 0; l < numberOfLevels; ++l)
      {
        const double d = levelValue[l] - meanFromShift;
        dataTerm[l * numberOfClasses + k] = logNormaliser - d * d * halfPrecision;
      }
    }

    // Mean-field sweep of one slice. The number of classes is a compile-time constant for 2 to 4 classes
    // (FixedClasses 0: the run-time number), so that the per-class loops unroll; the arithmetic is the same.
    auto sweepSlice = [&](SizeValueType slice, auto fixedClasses) {
      constexpr unsigned int FixedClasses = decltype(fixedClasses)::value;
      const unsigned int     K = FixedClasses > 0 ? FixedClasses : numberOfClasses;
      TotalProgressReporter  progress(this, totalPixels, 100, progressWeight);
      std::vector<double>    energyStorage(FixedClasses > 0 ? 0u : K);
      std::array<double, (FixedClasses > 0 ? FixedClasses : 1)> energyFixed{};
      double * const energy = FixedClasses > 0 ? energyFixed.data() : energyStorage.data();
      double *       sums = sliceSums.data() + slice * 3 * K;
      double         energySum = 0.0;
      std::fill(sums, sums + 3 * K, 0.0);
      // Row by row along the fastest dimension: a row's neighbours in the other dimensions are inside or outside
      // the image for the whole row, so each row needs three offset lists (first voxel, interior, last voxel),
      // kept in the neighbourhood's order so that the field sums add in the same order everywhere.
      const SizeValueType                       rowLength = ImageDimension > 1 ? size[0] : 1;
      const SizeValueType                       rowsPerSlice = sliceSize / rowLength;
      std::array<SizeValueType, ImageDimension> index{};
      index[ImageDimension - 1] = slice;
      std::vector<OffsetValueType> rowOffsets[3];
      for (SizeValueType row = 0; row < rowsPerSlice; ++row)
      {
        SizeValueType rest = row;
        for (unsigned int d = 1; d + 1 < ImageDimension; ++d)
        {
          index[d] = rest % size[d];
          rest /= size[d];
        }
        // In 1-D a row is the slice's one voxel, whose index is already set.
        for (unsigned int part = 0; part < (ImageDimension > 1 ? 3u : 1u); ++part)
        {
          // part 0: the first voxel of the row, 1: interior voxels, 2: the last voxel.
          if (ImageDimension > 1)
          {
            index[0] = part == 0 ? 0 : (part == 1 ? std::min<SizeValueType>(1, rowLength - 1) : rowLength - 1);
          }
          rowOffsets[part].clear();
          for (std::size_t n = 0; n < offsets.size(); ++n)
          {
            bool inside = true;
            for (unsigned int d = 0; d < ImageDimension && inside; ++d)
            {
              const auto j = static_cast<OffsetValueType>(index[d]) + deltas[n][d];
              inside = j >= 0 && j < static_cast<OffsetValueType>(size[d]);
            }
            if (inside)
            {
              rowOffsets[part].push_back(offsets[n]);
            }
          }
        }
        const SizeValueType rowFirst = slice * sliceSize + row * rowLength;
        for (SizeValueType x = 0; x < rowLength; ++x)
        {
          const SizeValueType i = rowFirst + x;
          const std::int32_t  c = voxelLevel[i];
          if (c < 0)
          {
            continue;
          }
          const auto &       neighbourOffsets = rowOffsets[x == 0 ? 0 : (x + 1 == rowLength ? 2 : 1)];
          const std::int32_t l = compactLevel[c];
          const double *     data = dataTerm.data() + static_cast<std::size_t>(l) * K;
          const float *      neighbours[2 * ImageDimension + 4];
          unsigned int       numberOfNeighbours = 0;
          for (const OffsetValueType o : neighbourOffsets)
          {
            const std::int32_t neighbour = voxelLevel[static_cast<OffsetValueType>(i) + o];
            if (neighbour >= 0)
            {
              neighbours[numberOfNeighbours++] = previous + static_cast<SizeValueType>(neighbour) * K;
            }
          }
          double maximum = -std::numeric_limits<double>::infinity();
          for (unsigned int k = 0; k < K; ++k)
          {
            double field = 0.0;
            for (unsigned int n = 0; n < numberOfNeighbours; ++n)
            {
              field += neighbours[n][k];
            }
            energy[k] = data[k] + beta * field;
            maximum = std::max(maximum, energy[k]);
          }
          double total = 0.0;
          for (unsigned int k = 0; k < K; ++k)
          {
            // exp(0) is exactly 1: the largest term needs no call.
            energy[k] = energy[k] == maximum ? 1.0 : std::exp(energy[k] - maximum);
            total += energy[k];
          }
          energySum += maximum + std::log(total);
          float *      q = current + static_cast<SizeValueType>(c) * K;
          const double value = levelValue[l];
          const double value2 = value * value + levelSpread[l];
          for (unsigned int k = 0; k < K; ++k)
          {
            const double r = energy[k] / total;
            q[k] = static_cast<float>(r);
            sums[3 * k] += r;
            sums[3 * k + 1] += r * value;
            sums[3 * k + 2] += r * value2;
          }
        }
      }
      sliceEnergy[slice] = energySum;
      progress.CheckAbortGenerateData();
      progress.Completed(sliceSize);
    };
    // Synchronous: every voxel reads `previous` only. One slice of the slowest dimension per task, with its own
    // partial sums, so the reduction order does not depend on the number of threads.
    threader->ParallelizeArray(
      0,
      numberOfSlices,
      [&](SizeValueType slice) {
        switch (numberOfClasses)
        {
          case 2:
            sweepSlice(slice, std::integral_constant<unsigned int, 2>{});
            break;
          case 3:
            sweepSlice(slice, std::integral_constant<unsigned int, 3>{});
            break;
          case 4:
            sweepSlice(slice, std::integral_constant<unsigned int, 4>{});
            break;
          default:
            sweepSlice(slice, std::integral_constant<unsigned int, 0>{});
        }
      },
      nullptr);
    std::swap(previous, current);
    ++m_NumberOfMRFIterations;

    // Parameter update from the new posteriors: sums added in slice order.
    std::vector<double> totals(3 * numberOfClasses, 0.0);
    double              energyTotal = 0.0;
    for (SizeValueType slice = 0; slice < numberOfSlices; ++slice)
    {
      for (unsigned int j = 0; j < 3 * numberOfClasses; ++j)
      {
        totals[j] += sliceSums[slice * 3 * numberOfClasses + j];
      }
      energyTotal += sliceEnergy[slice];
    }
    double weightTotal = 0.0;
    for (unsigned int k = 0; k < numberOfClasses; ++k)
    {
      weightTotal += totals[3 * k];
    }
    for (unsigned int k = 0; k < numberOfClasses; ++k)
    {
      const double weight = totals[3 * k];
      if (weight <= 0.0)
      {
        mixture.Proportion[k] = 0.0;
        continue;
      }
      const double mean = totals[3 * k + 1] / weight;
      mixture.Mean[k] = mean + shift;
      mixture.Variance[k] = std::max(totals[3 * k + 2] / weight - mean * mean, varianceFloor);
      mixture.Proportion[k] = weight / weightTotal;
    }
    if (m_UseCommonVariance)
    {
      GaussianMixtureDetail::PoolVariances(mixture, varianceFloor);
    }
    const bool converged =
      iteration > 0 && std::abs(energyTotal - previousEnergy) <= m_ConvergenceThreshold * std::abs(previousEnergy);
    previousEnergy = energyTotal;
    if (converged)
    {
      break;
    }
  }

  // Ascending means; the posteriors follow the new class order. Labels: the class of largest posterior (the lower
  // label on ties).
  const auto        order = GaussianMixtureDetail::SortByMean(mixture);
  OutputPixelType * labels = this->GetOutput()->GetBufferPointer();
  threader->ParallelizeArray(
    0,
    numberOfSlices,
    [&](SizeValueType slice) {
      for (SizeValueType i = slice * sliceSize; i < (slice + 1) * sliceSize; ++i)
      {
        const std::int32_t c = voxelLevel[i];
        if (c < 0)
        {
          continue;
        }
        const float * source = previous + static_cast<SizeValueType>(c) * numberOfClasses;
        float *       q = posteriors + i * numberOfClasses;
        for (unsigned int k = 0; k < numberOfClasses; ++k)
        {
          q[k] = source[order[k]];
        }
        labels[i] = static_cast<OutputPixelType>(std::max_element(q, q + numberOfClasses) - q + 1);
      }
    },
    nullptr);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::PrintSelf(std::ostream & os,
                                                                                         Indent         indent) const
{
  Superclass::PrintSelf(os, indent);
  auto printArray = [&os, indent](const char * name, const auto & values) {
    os << indent << name << ": [";
    for (std::size_t i = 0; i < values.size(); ++i)
    {
      os << (i ? ", " : "") << values[i];
    }
    os << "]" << std::endl;
  };
  os << indent << "NumberOfClasses: " << m_NumberOfClasses << std::endl;
  os << indent << "AutomaticNumberOfClasses: " << (m_AutomaticNumberOfClasses ? "On" : "Off") << std::endl;
  os << indent << "MaximumNumberOfClasses: " << m_MaximumNumberOfClasses << std::endl;
  os << indent << "UseForegroundThreshold: " << (m_UseForegroundThreshold ? "On" : "Off") << std::endl;
  os << indent << "ForegroundThreshold: " << m_ForegroundThreshold << std::endl;
  os << indent << "MaximumNumberOfIterations: " << m_MaximumNumberOfIterations << std::endl;
  os << indent << "ConvergenceThreshold: " << m_ConvergenceThreshold << std::endl;
  os << indent << "UseCommonVariance: " << (m_UseCommonVariance ? "On" : "Off") << std::endl;
  os << indent << "MRFWeight: " << m_MRFWeight << std::endl;
  os << indent << "MaximumNumberOfMRFIterations: " << m_MaximumNumberOfMRFIterations << std::endl;
  printArray("ClassMeans", m_ClassMeans);
  printArray("ClassVariances", m_ClassVariances);
  printArray("ClassProportions", m_ClassProportions);
  printArray("InitialClassMeans", m_InitialClassMeans);
  printArray("BayesianInformationCriterionForEachK", m_BayesianInformationCriterionForEachK);
  os << indent << "NumberOfClassesUsed: " << m_NumberOfClassesUsed << std::endl;
  os << indent << "LogLikelihood: " << m_LogLikelihood << std::endl;
  os << indent << "NumberOfIterations: " << m_NumberOfIterations << std::endl;
  os << indent << "NumberOfMRFIterations: " << m_NumberOfMRFIterations << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_NumberOfClassifiedPixels << std::endl;
}
} // namespace itk

#endif
