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
#include "itkKMeansSegmentationMemory.h"
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

/** An uninitialised working buffer of Size elements placed on 2 MiB boundaries and advised as huge pages (see
 * KMeansSegmentationMemory), so that no part of it is backed 4 KiB page by 4 KiB page. The extra address space is
 * never written, so it is never backed by memory. */
template <typename T>
class HugePageBuffer
{
public:
  explicit HugePageBuffer(std::size_t size)
    : m_Storage(new T[size + 2 * HugePageElements])
  {
    const auto start = reinterpret_cast<std::uintptr_t>(m_Storage.get());
    const auto aligned = (start + HugePageBytes - 1) & ~(HugePageBytes - 1);
    m_Data = m_Storage.get() + (aligned - start) / sizeof(T);
    KMeansSegmentationMemory::AdviseHugePages(m_Data, (size * sizeof(T) + HugePageBytes - 1) & ~(HugePageBytes - 1));
  }
  T *
  data()
  {
    return m_Data;
  }
  const T *
  data() const
  {
    return m_Data;
  }

private:
  static constexpr std::uintptr_t HugePageBytes = std::uintptr_t{ 1 } << 21;
  static constexpr std::size_t    HugePageElements = HugePageBytes / sizeof(T);
  std::unique_ptr<T[]>            m_Storage;
  T *                             m_Data{ nullptr };
};

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

/** e^x for x <= 0 (0 below -708), within a relative error of 1e-10: e^x = 2^m 2^(j/64) e^r with 64 m + j the
 * integer nearest to 64 x / ln 2 and |r| <= ln(2) / 128, 2^(j/64) from a table and e^r by its Taylor polynomial
 * of degree 3. Exactly 1 at 0. Inlined where the library's exp is a call; a pure function, so every thread gets
 * the same value for the same argument. */
inline double
ExpNonPositive(double x)
{
  // 2^(j/64), j = 0..63, correctly rounded.
  // clang-format off
  static constexpr double powersOfTwo[64] = {
    1.0,                1.0108892860517005, 1.0218971486541166, 1.0330248790212284, 1.0442737824274138,
    1.0556451783605572, 1.0671404006768237, 1.0787607977571199, 1.0905077326652577, 1.102382583307841,
    1.1143867425958924, 1.1265216186082418, 1.1387886347566916, 1.1511892299529827, 1.1637248587775775,
    1.1763969916502812, 1.189207115002721,  1.202156731452703,  1.215247359980469,  1.22848053610687,
    1.241857812073484,  1.255380757024691,  1.2690509571917332, 1.2828700160787783, 1.2968395546510096,
    1.3109612115247644, 1.3252366431597413, 1.339667524053303,  1.3542555469368927, 1.3690024229745905,
    1.383909881963832,  1.3989796725383112, 1.4142135623730951, 1.42961333839197,   1.4451808069770467,
    1.460917794180647,  1.4768261459394993, 1.4929077282912648, 1.5091644275934228, 1.5255981507445384,
    1.5422108254079407, 1.559004400237837,  1.5759808451078865, 1.593142151342267,  1.6104903319492543,
    1.6280274218573478, 1.645755478153965,  1.6636765803267364, 1.681792830507429,  1.7001063537185235,
    1.718619298122478,  1.7373338352737062, 1.7562521603732995, 1.7753764925265212, 1.7947090750031072,
    1.8142521755003989, 1.8340080864093424, 1.8539791250833855, 1.8741676341103,    1.8945759815869656,
    1.9152065613971474, 1.9360617934922943, 1.9571441241754002, 1.978456026387951
  };
  // clang-format on
  if (!(x > -708.0))
  {
    return 0.0;
  }
  constexpr double sixtyFourOverLn2 = 92.33248261689366;
  // ln(2) / 64 split as in fdlibm: the high part has 32 significant bits, so n * ln2Over64High is exact.
  constexpr double   ln2Over64High = 0.01083042469326756;
  constexpr double   ln2Over64Low = 2.9815858269852933e-12;
  const std::int64_t n = static_cast<std::int64_t>(x * sixtyFourOverLn2 - 0.5); // nearest integer: x <= 0
  // n + 64 * 2048 > 0 (n >= -64 * 1022): its low 6 bits are j, the rest m + 2048.
  const auto          biased = static_cast<std::uint64_t>(n + 64 * 2048);
  const double        nd = static_cast<double>(n);
  const double        r = (x - nd * ln2Over64High) - nd * ln2Over64Low;
  const double        p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0)));
  const std::uint64_t bits = ((biased >> 6) - 2048 + 1023) << 52; // 2^m, m >= -1022
  double              scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return powersOfTwo[biased & 63] * p * scale;
}

/** Sum of the logarithms of factors of at most 2^64 each: a running product, its logarithm taken only when it
 * grows past 2^512 and at the end. One logarithm for many factors; the same value for the same factors in the
 * same order. */
class LogOfProduct
{
public:
  void
  Multiply(double factor)
  {
    m_Product *= factor;
    if (m_Product > 0x1p512)
    {
      m_Sum += std::log(m_Product);
      m_Product = 1.0;
    }
  }
  double
  Get() const
  {
    return m_Sum + std::log(m_Product);
  }

private:
  double m_Sum{ 0.0 };
  double m_Product{ 1.0 };
};

/** The levels in double precision for the E- and M-steps: count, mean and mean square of each level, the
 * intensities measured from Shift (the mean of all samples, in the levels' coordinates) so that second moments
 * keep their precision. */
struct LevelTable
{
  double              Shift{ 0.0 };
  double              Total{ 0.0 };
  std::vector<double> Count;
  std::vector<double> Value;
  std::vector<double> Square;
};

/** The mean of all samples (in the levels' coordinates) and their number. */
inline std::pair<double, double>
MeanAndCountOfLevels(const std::vector<OptimalScalarKMeans::Level> & levels)
{
  long double sum = 0;
  long double count = 0;
  for (const auto & level : levels)
  {
    sum += level.Sum;
    count += static_cast<long double>(level.Count);
  }
  return { count > 0 ? static_cast<double>(sum / count) : 0.0, static_cast<double>(count) };
}

inline LevelTable
MakeLevelTable(const std::vector<OptimalScalarKMeans::Level> & levels)
{
  LevelTable table;
  std::tie(table.Shift, table.Total) = MeanAndCountOfLevels(levels);
  for (const auto & level : levels)
  {
    const long double c = static_cast<long double>(level.Count);
    const long double mean = level.Sum / c;
    const double      spread = std::max(0.0, static_cast<double>(level.SumOfSquares / c - mean * mean));
    const double      value = static_cast<double>(mean - static_cast<long double>(table.Shift));
    table.Count.push_back(static_cast<double>(c));
    table.Value.push_back(value);
    table.Square.push_back(value * value + spread);
  }
  return table;
}

/** PerClass values per class: on the stack when the number of classes is a compile-time constant (FixedClasses >
 * 0), so that loops over the classes unroll and the values stay in registers; otherwise on the heap. */
template <typename T, unsigned int FixedClasses, unsigned int PerClass>
class ClassValues
{
public:
  explicit ClassValues(std::size_t numberOfClasses)
    : m_Heap(FixedClasses > 0 ? 0 : PerClass * numberOfClasses)
  {}
  T *
  data()
  {
    return FixedClasses > 0 ? m_Stack.data() : m_Heap.data();
  }

private:
  std::array<T, PerClass *(FixedClasses > 0 ? FixedClasses : 1)> m_Stack{};
  std::vector<T>                                                 m_Heap;
};

/** Calls function(std::integral_constant<unsigned int, FixedClasses>) with FixedClasses = numberOfClasses for 2 to
 * 4 classes and 0 (the number known at run time only) otherwise. */
template <typename TFunction>
inline decltype(auto)
WithFixedNumberOfClasses(std::size_t numberOfClasses, TFunction && function)
{
  switch (numberOfClasses)
  {
    case 2:
      return function(std::integral_constant<unsigned int, 2>{});
    case 3:
      return function(std::integral_constant<unsigned int, 3>{});
    case 4:
      return function(std::integral_constant<unsigned int, 4>{});
    default:
      return function(std::integral_constant<unsigned int, 0>{});
  }
}

/** One expectation pass over the levels: returns the log-likelihood of the mixture; when posteriors is not null it
 * receives the level posteriors (levels x K), and when moments is not null moments[3 k .. 3 k + 2] receive the
 * posterior-weighted count, sum and sum of squares (from table.Shift) of class k, the next M-step's input, summed
 * in level order. */
inline double
LevelExpectation(const LevelTable &    table,
                 const Mixture &       mixture,
                 std::vector<double> * posteriors,
                 std::vector<double> * moments)
{
  const std::size_t numberOfClasses = mixture.Mean.size();
  const std::size_t numberOfLevels = table.Count.size();
  if (posteriors != nullptr)
  {
    posteriors->resize(numberOfLevels * numberOfClasses);
  }
  if (moments != nullptr)
  {
    moments->assign(3 * numberOfClasses, 0.0);
  }
  return WithFixedNumberOfClasses(numberOfClasses, [&](auto fixedClasses) {
    constexpr unsigned int               FixedClasses = decltype(fixedClasses)::value;
    const std::size_t                    K = FixedClasses > 0 ? FixedClasses : numberOfClasses;
    ClassValues<double, FixedClasses, 3> termStorage(K);
    ClassValues<double, FixedClasses, 1> energyStorage(K);
    ClassValues<double, FixedClasses, 3> sumStorage(K);
    double * const                       terms = termStorage.data();
    double * const                       energy = energyStorage.data();
    double * const                       sums = sumStorage.data();
    double * const                       levelPosteriors = posteriors ? posteriors->data() : nullptr;
    for (std::size_t k = 0; k < K; ++k)
    {
      terms[3 * k] = mixture.Mean[k] - table.Shift;
      terms[3 * k + 1] = std::log(mixture.Proportion[k]) - 0.5 * std::log(2.0 * Math::pi * mixture.Variance[k]);
      terms[3 * k + 2] = 0.5 / mixture.Variance[k];
    }
    double logLikelihood = 0.0;
    for (std::size_t l = 0; l < numberOfLevels; ++l)
    {
      const double value = table.Value[l];
      double       maximum = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < K; ++k)
      {
        const double d = value - terms[3 * k];
        energy[k] = terms[3 * k + 1] - d * d * terms[3 * k + 2];
        maximum = std::max(maximum, energy[k]);
      }
      double sum = 0.0;
      for (std::size_t k = 0; k < K; ++k)
      {
        // ExpNonPositive(0) is exactly 1: the largest term needs no evaluation.
        energy[k] = energy[k] == maximum ? 1.0 : ExpNonPositive(energy[k] - maximum);
        sum += energy[k];
      }
      const double count = table.Count[l];
      logLikelihood += count * (maximum + std::log(sum));
      const double inverse = 1.0 / sum;
      if (levelPosteriors != nullptr)
      {
        for (std::size_t k = 0; k < K; ++k)
        {
          levelPosteriors[l * K + k] = energy[k] * inverse;
        }
      }
      if (moments != nullptr)
      {
        const double square = table.Square[l];
        for (std::size_t k = 0; k < K; ++k)
        {
          const double w = energy[k] * inverse * count;
          sums[3 * k] += w;
          sums[3 * k + 1] += w * value;
          sums[3 * k + 2] += w * square;
        }
      }
    }
    if (moments != nullptr)
    {
      std::copy(sums, sums + 3 * K, moments->begin());
    }
    return logLikelihood;
  });
}

inline double
LevelLogLikelihood(const std::vector<OptimalScalarKMeans::Level> & levels,
                   const Mixture &                                 mixture,
                   std::vector<double> *                           posteriors)
{
  return LevelExpectation(MakeLevelTable(levels), mixture, posteriors, nullptr);
}

inline FitResult
FitOnLevels(const std::vector<OptimalScalarKMeans::Level> & levels,
            Mixture &                                       mixture,
            double                                          varianceFloor,
            bool                                            commonVariance,
            unsigned int                                    maximumNumberOfIterations,
            double                                          convergenceThreshold)
{
  const std::size_t   numberOfClasses = mixture.Mean.size();
  const LevelTable    table = MakeLevelTable(levels);
  std::vector<double> moments;
  FitResult           result;
  // Each pass gives the log-likelihood of the current mixture and the moments of its posteriors: one pass over
  // the levels per EM iteration.
  result.LogLikelihood = LevelExpectation(table, mixture, nullptr, &moments);
  while (result.Iterations < maximumNumberOfIterations)
  {
    // M-step from the level posteriors, with the levels' exact first and second moments.
    for (std::size_t k = 0; k < numberOfClasses; ++k)
    {
      const double weight = moments[3 * k];
      if (weight <= 0)
      {
        mixture.Proportion[k] = 0.0;
        continue;
      }
      const double mean = moments[3 * k + 1] / weight;
      mixture.Mean[k] = table.Shift + mean;
      mixture.Variance[k] = std::max(moments[3 * k + 2] / weight - mean * mean, varianceFloor);
      mixture.Proportion[k] = weight / table.Total;
    }
    if (commonVariance)
    {
      PoolVariances(mixture, varianceFloor);
    }
    ++result.Iterations;
    const double previous = result.LogLikelihood;
    result.LogLikelihood = LevelExpectation(table, mixture, nullptr, &moments);
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
auto
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GetPosteriorsOutput()
  -> PosteriorImageType *
{
  return dynamic_cast<PosteriorImageType *>(this->ProcessObject::GetOutput("Posteriors"));
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
auto
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GetFractionsOutput()
  -> FractionImageType *
{
  return dynamic_cast<FractionImageType *>(this->ProcessObject::GetOutput("Fractions"));
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
auto
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GetBiasFieldOutput()
  -> BiasFieldImageType *
{
  return dynamic_cast<BiasFieldImageType *>(this->ProcessObject::GetOutput("BiasField"));
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
auto
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GetPosteriorsOutput() const
  -> const PosteriorImageType *
{
  return dynamic_cast<const PosteriorImageType *>(this->ProcessObject::GetOutput("Posteriors"));
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
  const std::string mismatch = KMeansSegmentationDetail::DescribeMaskMismatch(
    this->GetInput(), this->GetMaskImage(), this->GetCoordinateTolerance(), this->GetDirectionTolerance());
  if (!mismatch.empty())
  {
    itkExceptionMacro(<< mismatch);
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
  m_InitialClassVariances.clear();
  m_FractionSums.clear();
  m_ReseededClasses.clear();
  m_NegligibleClasses.clear();
  m_BayesianInformationCriterionForEachK.clear();
  m_NumberOfClassesUsed = 0;
  m_LogLikelihood = 0.0;
  m_NumberOfIterations = 0;
  m_NumberOfMRFIterations = 0;
  m_NumberOfClassifiedPixels = 0;

  MultiThreaderBase * threader = this->GetMultiThreader();
  threader->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());

  // Progress: 10 % histogram, then 90 % labels and posteriors, or with the Markov random field 80 % its sweeps
  // and 10 % labels and posteriors.
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
        m_InitialClassVariances.clear();
        for (const auto & c : classes)
        {
          m_InitialClassMeans.push_back(histogram.GetOrigin() + c.Mean);
          m_InitialClassVariances.push_back(c.SumOfSquares / static_cast<double>(c.Count));
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
      m_InitialClassVariances.push_back(c.SumOfSquares / static_cast<double>(c.Count));
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

  if (m_PartialVolume || m_EstimateBiasField)
  {
    this->FitTissueModel(histogram, varianceFloor, false);
    return;
  }
  std::vector<double> levelPosteriors;
  LevelLogLikelihood(levels, mixture, &levelPosteriors);
  std::vector<std::int32_t> binToLevel(histogram.GetNumberOfBins(), -1);
  for (std::size_t l = 0; l < levels.size(); ++l)
  {
    binToLevel[histogram.GetLevelBins()[l]] = static_cast<std::int32_t>(l);
  }

  // Every voxel of both outputs is written below: no initialisation pass, and the fresh buffers are backed by
  // huge pages where the system offers them.
  output->SetBufferedRegion(output->GetRequestedRegion());
  output->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(output);
  posteriorImage->SetNumberOfComponentsPerPixel(numberOfClasses);
  posteriorImage->SetBufferedRegion(region);
  posteriorImage->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(posteriorImage);

  if (m_MRFWeight > 0.0)
  {
    this->FitMarkovRandomField(histogram, binToLevel, levels, levelPosteriors, mixture, varianceFloor);
  }
  else
  {
    std::vector<OutputPixelType> levelLabels(levels.size());
    std::vector<float>           levelPosteriorsFloat(levelPosteriors.size());
    for (std::size_t l = 0; l < levels.size(); ++l)
    {
      const double * p = levelPosteriors.data() + l * numberOfClasses;
      levelLabels[l] = static_cast<OutputPixelType>(std::max_element(p, p + numberOfClasses) - p + 1);
      for (unsigned int k = 0; k < numberOfClasses; ++k)
      {
        levelPosteriorsFloat[l * numberOfClasses + k] = static_cast<float>(p[k]);
      }
    }
    const SizeValueType totalPixels = region.GetNumberOfPixels();
    float *             posteriors = posteriorImage->GetBufferPointer();
    threader->template ParallelizeImageRegion<ImageDimension>(
      region,
      [&](const RegionType & piece) {
        TotalProgressReporter progress(this, totalPixels, 100, 0.9f);
        KMeansSegmentationDetail::ForEachScanline(
          input, mask, piece, [&](const InputPixelType * p, const MaskPixelType * m, SizeValueType length) {
            progress.CheckAbortGenerateData();
            // Offsets coincide: every buffer covers the largest possible region.
            const auto        offset = static_cast<SizeValueType>(p - input->GetBufferPointer());
            OutputPixelType * o = output->GetBufferPointer() + offset;
            float *           q = posteriors + offset * numberOfClasses;
            std::fill(q, q + length * numberOfClasses, 0.0f); // voxels that do not take part keep 0
            for (SizeValueType i = 0; i < length; ++i, q += numberOfClasses)
            {
              if (!histogram.Includes(p[i], m ? m[i] : MaskPixelType{ 1 }))
              {
                o[i] = OutputPixelType{};
                continue;
              }
              const auto l = static_cast<std::size_t>(binToLevel[histogram.GetBin(p[i])]);
              o[i] = levelLabels[l];
              std::copy_n(levelPosteriorsFloat.data() + l * numberOfClasses, numberOfClasses, q);
            }
            progress.Completed(length);
          });
      },
      nullptr);
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
    this->FitTissueModel(histogram, varianceFloor, true);
    return;
  }
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::FitMarkovRandomField(
  const HistogramType &                           histogram,
  const std::vector<std::int32_t> &               binToLevel,
  const std::vector<OptimalScalarKMeans::Level> & levels,
  const std::vector<double> &                     levelPosteriors,
  GaussianMixtureDetail::Mixture &                mixture,
  double                                          varianceFloor)
{
  const TInputImage *    input = this->GetInput();
  const TMaskImage *     mask = this->GetMaskImage();
  const RegionType       region = input->GetLargestPossibleRegion();
  const auto             size = region.GetSize();
  const unsigned int     numberOfClasses = static_cast<unsigned int>(mixture.Mean.size());
  MultiThreaderBase *    threader = this->GetMultiThreader();
  const SizeValueType    totalPixels = region.GetNumberOfPixels();
  const InputPixelType * inputBuffer = input->GetBufferPointer();
  const MaskPixelType *  maskBuffer = mask ? mask->GetBufferPointer() : nullptr;
  OutputPixelType *      labels = this->GetOutput()->GetBufferPointer();
  float *                posteriors = this->GetPosteriorsOutput()->GetBufferPointer();

  // Rows along the fastest dimension, grouped in slices of the slowest one (in 1-D a single row and slice). A
  // slice is the unit of parallel work and of the partial sums, a split that does not depend on the number of
  // threads.
  const SizeValueType rowLength = size[0];
  const SizeValueType numberOfRows = totalPixels / rowLength;
  const SizeValueType numberOfSlices = ImageDimension > 1 ? size[ImageDimension - 1] : 1;
  const SizeValueType rowsPerSlice = numberOfRows / numberOfSlices;

  // Neighbourhood: the face neighbours, and in 2-D the diagonal ones as well, each as a step in every dimension;
  // Delta[0] is the shift along the row.
  std::vector<std::array<int, ImageDimension>> neighbourhood;
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    for (int s : { -1, 1 })
    {
      std::array<int, ImageDimension> delta{};
      delta[d] = s;
      neighbourhood.push_back(delta);
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
        neighbourhood.push_back(delta);
      }
    }
  }
  // The row of a row's neighbour (-1: outside the image), from the row's index in dimensions 1..D-1.
  auto neighbourRow = [&size](SizeValueType row, const std::array<int, ImageDimension> & delta) -> std::int64_t {
    SizeValueType rest = row;
    std::int64_t  result = 0;
    std::int64_t  stride = 1;
    for (unsigned int d = 1; d < ImageDimension; ++d)
    {
      const auto j = static_cast<std::int64_t>(rest % size[d]) + delta[d];
      rest /= size[d];
      if (j < 0 || j >= static_cast<std::int64_t>(size[d]))
      {
        return -1;
      }
      result += j * stride;
      stride *= static_cast<std::int64_t>(size[d]);
    }
    return result;
  };

  // Each row's span: from its first to its last voxel taking part (empty when none does).
  auto takesPart = [&](SizeValueType i) {
    return histogram.Includes(inputBuffer[i], maskBuffer ? maskBuffer[i] : MaskPixelType{ 1 });
  };
  std::vector<SizeValueType> spanFirst(numberOfRows);
  std::vector<SizeValueType> spanEnd(numberOfRows);
  threader->ParallelizeArray(
    0,
    numberOfSlices,
    [&](SizeValueType slice) {
      for (SizeValueType row = slice * rowsPerSlice; row < (slice + 1) * rowsPerSlice; ++row)
      {
        const SizeValueType rowStart = row * rowLength;
        SizeValueType       first = 0;
        while (first < rowLength && !takesPart(rowStart + first))
        {
          ++first;
        }
        SizeValueType end = rowLength;
        while (end > first && !takesPart(rowStart + end - 1))
        {
          --end;
        }
        spanFirst[row] = first;
        spanEnd[row] = end;
      }
    },
    nullptr);

  // Two layouts of a posterior field, K floats per voxel: the posterior output (the whole image, 0 wherever no
  // voxel takes part) and a compact one holding only the spans, one after the other in row order. Voxel x of row
  // r is element base[r] + x of either. The mean-field iterations alternate between them, so the output is one of
  // the two buffers. Where a row's neighbouring row has its span, the neighbours of the row's voxels lie side by
  // side in either layout: the neighbour sums are sums of contiguous runs. Voxels of a span that do not take part
  // have posteriors 0 in both layouts and add nothing.
  std::vector<OffsetValueType> fullBase(numberOfRows);
  std::vector<OffsetValueType> compactBase(numberOfRows);
  SizeValueType                spanVoxels = 0;
  for (SizeValueType row = 0; row < numberOfRows; ++row)
  {
    fullBase[row] = static_cast<OffsetValueType>(row * rowLength);
    compactBase[row] = static_cast<OffsetValueType>(spanVoxels) - static_cast<OffsetValueType>(spanFirst[row]);
    spanVoxels += spanEnd[row] - spanFirst[row];
  }
  GaussianMixtureDetail::HugePageBuffer<float> compact(static_cast<std::size_t>(spanVoxels) * numberOfClasses);
  struct Field
  {
    float *                 Data;
    const OffsetValueType * Base;
  };
  const Field full{ posteriors, fullBase.data() };
  const Field compactField{ compact.data(), compactBase.data() };

  // Initial posteriors (the mixture's posteriors of each voxel's level) in the posterior output, which is written
  // whole here.
  threader->ParallelizeArray(
    0,
    numberOfSlices,
    [&](SizeValueType slice) {
      for (SizeValueType row = slice * rowsPerSlice; row < (slice + 1) * rowsPerSlice; ++row)
      {
        const SizeValueType rowStart = row * rowLength;
        float * const       q = posteriors + rowStart * numberOfClasses;
        std::fill(q, q + spanFirst[row] * numberOfClasses, 0.0f);
        std::fill(q + spanEnd[row] * numberOfClasses, q + rowLength * numberOfClasses, 0.0f);
        for (SizeValueType x = spanFirst[row]; x < spanEnd[row]; ++x)
        {
          float * const v = q + x * numberOfClasses;
          if (!takesPart(rowStart + x))
          {
            std::fill(v, v + numberOfClasses, 0.0f);
            continue;
          }
          const std::int32_t l = binToLevel[histogram.GetBin(inputBuffer[rowStart + x])];
          const double *     r = levelPosteriors.data() + static_cast<std::size_t>(l) * numberOfClasses;
          for (unsigned int k = 0; k < numberOfClasses; ++k)
          {
            v[k] = static_cast<float>(r[k]);
          }
        }
      }
    },
    nullptr);

  // The iterations use each voxel's own intensity, measured from the mean of all samples (shift, in the levels'
  // coordinates; the input's intensity minus intensityShift) for accurate sums.
  const double shift = GaussianMixtureDetail::MeanAndCountOfLevels(levels).first;
  const double intensityShift = histogram.GetOrigin() + shift;

  std::vector<double> classTerms(3 * numberOfClasses);
  std::vector<double> sliceSums(static_cast<std::size_t>(numberOfSlices) * 3 * numberOfClasses);
  std::vector<double> sliceEnergy(numberOfSlices);
  const double        beta = m_MRFWeight;
  const float         progressWeight = 0.8f / static_cast<float>(std::max(1u, m_MaximumNumberOfMRFIterations));
  double              previousEnergy = 0.0;
  Field               previous = full;
  Field               current = compactField;

  // Mean-field sweep of one slice, from previous to current. The number of classes is a compile-time constant for
  // 2 to 4 classes (FixedClasses 0: the run-time number), so that the per-class loops unroll; the arithmetic is
  // the same.
  auto sweepSlice = [&](SizeValueType slice, auto fixedClasses) {
    constexpr unsigned int                                      FixedClasses = decltype(fixedClasses)::value;
    const unsigned int                                          K = FixedClasses > 0 ? FixedClasses : numberOfClasses;
    TotalProgressReporter                                       progress(this, totalPixels, 100, progressWeight);
    GaussianMixtureDetail::ClassValues<double, FixedClasses, 1> energyStorage(K);
    GaussianMixtureDetail::ClassValues<double, FixedClasses, 3> termStorage(K);
    GaussianMixtureDetail::ClassValues<double, FixedClasses, 3> sumStorage(K);
    double * const                                              energy = energyStorage.data();
    double * const                                              terms = termStorage.data();
    double * const                                              sums = sumStorage.data();
    std::copy(classTerms.begin(), classTerms.end(), terms);
    // Neighbour sums in single precision, like the posteriors they add (at most 8 terms of at most 1).
    std::vector<float> field(static_cast<std::size_t>(rowLength) * K);
    // Energy sum_i log sum_k exp(energy_ik) = sum_i maximum_i + log prod_i sum_k exp(energy_ik - maximum_i).
    double                              maximumSum = 0.0;
    GaussianMixtureDetail::LogOfProduct logOfTotals;
    for (SizeValueType row = slice * rowsPerSlice; row < (slice + 1) * rowsPerSlice; ++row)
    {
      const auto first = static_cast<OffsetValueType>(spanFirst[row]);
      const auto end = static_cast<OffsetValueType>(spanEnd[row]);
      if (first == end)
      {
        continue;
      }
      // Neighbour sums of the row's span, one neighbour after the other in the neighbourhood's order (the same
      // order for every voxel): neighbour n of voxel x is voxel x + Delta[0] of the neighbouring row, present
      // where that lies in the neighbouring row's span.
      // Element (x - first) K + k of field: class k of voxel x.
      std::fill(field.begin(), field.begin() + (end - first) * K, 0.0f);
      for (const auto & delta : neighbourhood)
      {
        const std::int64_t other = neighbourRow(row, delta);
        if (other < 0)
        {
          continue;
        }
        const OffsetValueType shiftAlongRow = delta[0];
        const OffsetValueType low = std::max(first, static_cast<OffsetValueType>(spanFirst[other]) - shiftAlongRow);
        const OffsetValueType high = std::min(end, static_cast<OffsetValueType>(spanEnd[other]) - shiftAlongRow);
        if (low >= high)
        {
          continue;
        }
        const float * source = previous.Data + (previous.Base[other] + low + shiftAlongRow) * K;
        float *       target = field.data() + (low - first) * K;
        const auto    count = static_cast<std::size_t>(high - low) * K;
        for (std::size_t j = 0; j < count; ++j)
        {
          target[j] += source[j];
        }
      }
      const SizeValueType rowStart = row * rowLength + static_cast<SizeValueType>(first);
      float * const       q0 = current.Data + (current.Base[row] + first) * K;
      const float * const f0 = field.data();
      for (OffsetValueType x = 0; x < end - first; ++x)
      {
        float * const       q = q0 + x * K;
        const SizeValueType i = rowStart + static_cast<SizeValueType>(x);
        if (!takesPart(i))
        {
          for (unsigned int k = 0; k < K; ++k)
          {
            q[k] = 0.0f;
          }
          continue;
        }
        const double  value = static_cast<double>(inputBuffer[i]) - intensityShift;
        const double  value2 = value * value;
        const float * f = f0 + x * K;
        double        maximum = -std::numeric_limits<double>::infinity();
        for (unsigned int k = 0; k < K; ++k)
        {
          const double d = value - terms[3 * k];
          energy[k] = (terms[3 * k + 1] - d * d * terms[3 * k + 2]) + beta * f[k];
          maximum = std::max(maximum, energy[k]);
        }
        double total = 0.0;
        for (unsigned int k = 0; k < K; ++k)
        {
          energy[k] = GaussianMixtureDetail::ExpNonPositive(energy[k] - maximum); // exactly 1 for the largest
          total += energy[k];
        }
        maximumSum += maximum;
        logOfTotals.Multiply(total);
        const double inverse = 1.0 / total;
        for (unsigned int k = 0; k < K; ++k)
        {
          const double r = energy[k] * inverse;
          q[k] = static_cast<float>(r);
          sums[3 * k] += r;
          sums[3 * k + 1] += r * value;
          sums[3 * k + 2] += r * value2;
        }
      }
    }
    std::copy(sums, sums + 3 * K, sliceSums.data() + slice * 3 * K);
    sliceEnergy[slice] = maximumSum + logOfTotals.Get();
    progress.CheckAbortGenerateData();
    progress.Completed(rowsPerSlice * rowLength);
  };

  for (unsigned int iteration = 0; iteration < m_MaximumNumberOfMRFIterations; ++iteration)
  {
    // Data term of class k at intensity x (from the shift): logNormaliser_k - (x - mean_k)^2 halfPrecision_k.
    for (unsigned int k = 0; k < numberOfClasses; ++k)
    {
      classTerms[3 * k] = mixture.Mean[k] - shift;
      classTerms[3 * k + 1] = -0.5 * std::log(2.0 * Math::pi * mixture.Variance[k]) + std::log(mixture.Proportion[k]);
      classTerms[3 * k + 2] = 0.5 / mixture.Variance[k];
    }
    // Synchronous: every voxel reads `previous` only. One slice of the slowest dimension per task, with its own
    // partial sums, so the reduction order does not depend on the number of threads.
    threader->ParallelizeArray(
      0,
      numberOfSlices,
      [&](SizeValueType slice) {
        GaussianMixtureDetail::WithFixedNumberOfClasses(numberOfClasses,
                                                        [&](auto fixedClasses) { sweepSlice(slice, fixedClasses); });
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

  // Ascending means: the posteriors of the voxels taking part follow the new class order, into the posterior
  // output (from either layout). Labels: the class of largest posterior (the lower label on ties), 0 where no voxel
  // takes part.
  const auto order = GaussianMixtureDetail::SortByMean(mixture);
  threader->ParallelizeArray(
    0,
    numberOfSlices,
    [&](SizeValueType slice) {
      TotalProgressReporter progress(this, totalPixels, 100, 0.1f);
      std::vector<float>    source(numberOfClasses);
      for (SizeValueType row = slice * rowsPerSlice; row < (slice + 1) * rowsPerSlice; ++row)
      {
        const SizeValueType rowStart = row * rowLength;
        const SizeValueType first = spanFirst[row];
        const SizeValueType end = spanEnd[row];
        const auto          resultBase = previous.Base[row];
        std::fill(labels + rowStart, labels + rowStart + first, OutputPixelType{});
        for (SizeValueType x = first; x < end; ++x)
        {
          const auto offset = static_cast<OffsetValueType>(x);
          if (!takesPart(rowStart + x))
          {
            labels[rowStart + x] = OutputPixelType{};
            continue;
          }
          std::copy_n(previous.Data + (resultBase + offset) * numberOfClasses, numberOfClasses, source.data());
          float * const q = posteriors + (rowStart + x) * numberOfClasses;
          for (unsigned int k = 0; k < numberOfClasses; ++k)
          {
            q[k] = source[order[k]];
          }
          labels[rowStart + x] = static_cast<OutputPixelType>(std::max_element(q, q + numberOfClasses) - q + 1);
        }
        std::fill(labels + rowStart + end, labels + rowStart + rowLength, OutputPixelType{});
      }
      progress.Completed(rowsPerSlice * rowLength);
    },
    nullptr);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
GaussianMixtureSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::FitTissueModel(
  const HistogramType & histogram,
  double                varianceFloor,
  bool                  guardOnly)
{
  static_assert(ImageDimension <= 3, "the tissue model works on images of at most three dimensions");
  const TInputImage *  input = this->GetInput();
  const TMaskImage *   mask = this->GetMaskImage();
  const RegionType     region = input->GetLargestPossibleRegion();
  const SizeValueType  totalPixels = region.GetNumberOfPixels();
  const InputPixelType * inputBuffer = input->GetBufferPointer();
  const MaskPixelType *  maskBuffer = mask ? mask->GetBufferPointer() : nullptr;

  // The voxels taking part, in buffer order (every buffer covers the largest possible region).
  std::vector<float>           values;
  std::vector<std::uint64_t>   gridIndex;
  std::array<std::uint64_t, 3> gridSize{ { 1, 1, 1 } };
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    gridSize[d] = region.GetSize()[d];
  }
  for (SizeValueType i = 0; i < totalPixels; ++i)
  {
    if (histogram.Includes(inputBuffer[i], maskBuffer ? maskBuffer[i] : MaskPixelType{ 1 }))
    {
      values.push_back(static_cast<float>(inputBuffer[i]));
      gridIndex.push_back(i);
    }
  }
  PartialVolumeTissueModel model;
  model.PartialVolume = m_PartialVolume && !guardOnly;
  model.EstimateBiasField = m_EstimateBiasField && !guardOnly;
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
  model.Fit(values, gridIndex, gridSize, initial);
  this->UpdateProgress(0.9f);

  // Outputs: 0 (and 1 for the fractions, the bias field) wherever no voxel takes part.
  const unsigned int K = static_cast<unsigned int>(initial.Mean.size());
  auto *             output = this->GetOutput();
  output->SetBufferedRegion(region);
  output->Allocate(true);
  auto * posteriorImage = this->GetPosteriorsOutput();
  posteriorImage->SetNumberOfComponentsPerPixel(K);
  posteriorImage->SetBufferedRegion(region);
  posteriorImage->Allocate(true);
  std::vector<std::pair<float *, const std::vector<float> *>> fields{ { posteriorImage->GetBufferPointer(),
                                                                        &model.GetPosteriors() } };
  if (model.PartialVolume)
  {
    auto * fractions = this->GetFractionsOutput();
    fractions->SetNumberOfComponentsPerPixel(K);
    fractions->SetBufferedRegion(region);
    fractions->Allocate(true);
    fields.emplace_back(fractions->GetBufferPointer(), &model.GetFractions());
  }
  if (model.EstimateBiasField)
  {
    auto * bias = this->GetBiasFieldOutput();
    bias->SetBufferedRegion(region);
    bias->Allocate();
    bias->FillBuffer(1.0f);
    for (std::size_t i = 0; i < values.size(); ++i)
    {
      bias->GetBufferPointer()[gridIndex[i]] = model.GetBiasField()[i];
    }
  }
  for (std::size_t i = 0; i < values.size(); ++i)
  {
    output->GetBufferPointer()[gridIndex[i]] = static_cast<OutputPixelType>(model.GetLabels()[i]);
    for (const auto & field : fields)
    {
      std::copy_n(field.second->data() + i * K, K, field.first + gridIndex[i] * K);
    }
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
  os << indent << "PartialVolume: " << (m_PartialVolume ? "On" : "Off") << std::endl;
  os << indent << "EstimateBiasField: " << (m_EstimateBiasField ? "On" : "Off") << std::endl;
  os << indent << "BiasFieldDegree: " << m_BiasFieldDegree << std::endl;
  os << indent << "NegligibleProportion: " << m_NegligibleProportion << std::endl;
  printArray("ClassMeans", m_ClassMeans);
  printArray("ClassVariances", m_ClassVariances);
  printArray("ClassProportions", m_ClassProportions);
  printArray("InitialClassMeans", m_InitialClassMeans);
  printArray("InitialClassVariances", m_InitialClassVariances);
  printArray("FractionSums", m_FractionSums);
  printArray("ReseededClasses", m_ReseededClasses);
  printArray("NegligibleClasses", m_NegligibleClasses);
  printArray("BayesianInformationCriterionForEachK", m_BayesianInformationCriterionForEachK);
  os << indent << "NumberOfClassesUsed: " << m_NumberOfClassesUsed << std::endl;
  os << indent << "LogLikelihood: " << m_LogLikelihood << std::endl;
  os << indent << "NumberOfIterations: " << m_NumberOfIterations << std::endl;
  os << indent << "NumberOfMRFIterations: " << m_NumberOfMRFIterations << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_NumberOfClassifiedPixels << std::endl;
}
} // namespace itk

#endif
