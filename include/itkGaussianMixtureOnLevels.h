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
#ifndef itkGaussianMixtureOnLevels_h
#define itkGaussianMixtureOnLevels_h

#include "KMeansSegmentationExport.h"
#include "itkIndent.h"
#include "itkOptimalScalarKMeans.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <vector>

namespace itk
{
/** \class GaussianMixtureOnLevels
 * \brief Gaussian mixture of a scalar intensity distribution fitted by expectation-maximisation on its histogram
 * levels (each occupied level with its count and exact moments) instead of the voxels, started from the exact
 * K-means, with the number of classes optionally chosen by the Bayesian information criterion.
 *
 * Input: the levels of an intensity histogram (OptimalScalarKMeans::Level: count, sum and sum of squares, in
 * ascending order; IntensityLevelHistogram::GetLevels() gives them, measured from the histogram's origin) and
 * the histogram's bin width. Fit() then:
 * - floors every variance at max(w^2/12, 1e-6 v), w the bin width and v the variance of all the samples, so that
 *   no class collapses onto a single intensity;
 * - initialises K classes from the exact K-means partition of the levels (OptimalScalarKMeans): means, variances
 *   SS/count and proportions count/N (one pooled variance with CommonVariance);
 * - runs EM on the levels until the relative change of the log-likelihood is at most ConvergenceThreshold or
 *   after MaximumNumberOfIterations updates. For integer intensities this is the voxel-wise likelihood exactly;
 *   otherwise each level stands for its samples at the level mean and the M-step uses the levels' exact moments;
 * - with AutomaticNumberOfClasses, chooses K from 1..MaximumNumberOfClasses by SelectNumberOfClasses() (below)
 *   and fits that K as above. It also reports, for every K, the BIC = -2 log L + p log N of the mixture fitted
 *   as above (p = 3K - 1 free parameters, 2K with CommonVariance; one run of the dynamic program gives every K's
 *   optimal partition). K above the number of levels is not tried;
 * - sorts the classes by ascending mean.
 *
 * The computation is sequential and its sums run in level order: the result depends only on the levels. Since a
 * histogram can be accumulated region by region (and merged), the mixture can be fitted on a streamed image
 * (KMeansSegmentationEstimator) with the same result as on the whole image.
 *
 * Choice of K (SelectNumberOfClasses()). On a real brain of a million voxels BIC keeps adding classes: the
 * histogram is not a sum of Gaussians (partial volumes, skewed tissue peaks), and its log N penalty is tiny against
 * a misfit that grows with N. A further class is kept only when it raises the log-likelihood per sample by at
 * least MinimumLogLikelihoodGain (default 0.0075 nats, and at least the BIC penalty 3 log N / (2N) of its three
 * parameters) in two models at once: a Gaussian mixture with a variance per class, and a partial-volume mixture
 * (PartialVolumeMixtureOnLevels: pure classes and mixed classes between neighbours, one variance). A class only
 * the Gaussian mixture needs describes partial-volume voxels between two tissues; one only the partial-volume
 * mixture needs describes the shape of a tissue's peak, which its mixed classes otherwise approximate piece by
 * piece. K is the smallest K whose next class falls short; larger K are not fitted. Both models are fitted on the levels merged into at
 * most 512 groups of equal width (exact moments), so the choice costs about the same for any histogram.
 * The threshold is a penalty per effective sample size: it is the BIC penalty of about 1400 independent samples.
 * Result::Selection gives the log-likelihoods per sample of both models for every K, and whether the largest K
 * tried was chosen (then a larger MaximumNumberOfClasses may fit better: callers should warn).
 *
 * Bad parameters and a K above the number of levels throw std::invalid_argument with a message naming the values.
 *
 * Reference: Dempster, Laird & Rubin, "Maximum likelihood from incomplete data via the EM algorithm", JRSS B
 * 39(1), 1977; Schwarz, "Estimating the dimension of a model", Annals of Statistics 6(2), 1978.
 *
 * \sa GaussianMixtureSegmentationImageFilter, PottsMeanField, OptimalScalarKMeans, IntensityLevelHistogram
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT GaussianMixtureOnLevels
{
public:
  using Level = OptimalScalarKMeans::Level;

  /** Parameters of a one-dimensional Gaussian mixture (means measured from the levels' origin). */
  struct Mixture
  {
    std::vector<double> Mean;
    std::vector<double> Variance;
    std::vector<double> Proportion;
  };

  /** Result of expectation-maximisation on the levels. */
  struct FitResult
  {
    double       LogLikelihood{ 0.0 };
    unsigned int Iterations{ 0 };
  };

  struct Parameters
  {
    unsigned int NumberOfClasses{ 3 };
    bool         AutomaticNumberOfClasses{ false };
    unsigned int MaximumNumberOfClasses{ 6 };
    unsigned int MaximumNumberOfIterations{ 200 };
    double       ConvergenceThreshold{ 1e-5 };
    bool         CommonVariance{ false };
    /** Least rise of the log-likelihood per sample (nats) a further class must bring in automatic mode. */
    double MinimumLogLikelihoodGain{ 0.0075 };
  };

  /** How the automatic mode chose K (SelectNumberOfClasses()); entry K - 1 of each list is for K classes. */
  struct Selection
  {
    /** Log-likelihood per sample of the Gaussian mixture with a variance per class, K = 1..NumberOfClasses + 1
     * (the K that fell short; up to LargestTried). */
    std::vector<double> GaussianLogLikelihoodPerSample;
    /** Log-likelihood per sample of the partial-volume mixture (PartialVolumeMixtureOnLevels). */
    std::vector<double> PartialVolumeLogLikelihoodPerSample;
    /** The gain a further class needed: max(MinimumLogLikelihoodGain, 3 log N / (2 N)). */
    double       RequiredGain{ 0.0 };
    unsigned int NumberOfClasses{ 0 };
    unsigned int LargestTried{ 0 };
    /** True when the chosen K is the largest K tried (and more than one K was tried). */
    bool LargestChosen{ false };

    /** Prints every member, one per line, for the PrintSelf of the filters that hold a Selection. */
    void
    Print(std::ostream & os, Indent indent) const;
  };

  /** What Fit() found; means in the levels' coordinates, index k is label k+1. */
  struct Result
  {
    /** The fitted mixture, in ascending order of mean. */
    Mixture Model;
    /** Means and variances (SS/count, not floored) of the exact K-means partition the chosen mixture started from. */
    std::vector<double> InitialMeans;
    std::vector<double> InitialVariances;
    /** BIC of K = 1..min(MaximumNumberOfClasses, levels) in automatic mode; empty otherwise. */
    std::vector<double> BayesianInformationCriterionForEachK;
    /** How K was chosen in automatic mode (empty lists otherwise). */
    Selection           NumberOfClassesSelection;
    double              LogLikelihood{ 0.0 };
    unsigned int        NumberOfIterations{ 0 };
    double              VarianceFloor{ 0.0 };
    std::uint64_t       NumberOfSamples{ 0 };
  };

  void
  SetParameters(const Parameters & parameters)
  {
    m_Parameters = parameters;
  }
  const Parameters &
  GetParameters() const
  {
    return m_Parameters;
  }

  /** Fits the mixture to the levels (non-empty, ascending, counts not 0) of a histogram of bin width binWidth. */
  void
  Fit(const std::vector<Level> & levels, double binWidth);

  /** Valid after Fit(). */
  const Result &
  GetResult() const
  {
    return m_Result;
  }

  /** Chooses K from 1..largest (see the class description): the smallest K whose next class raises the
   * log-likelihood per sample of the Gaussian mixture (variance per class) or of the partial-volume mixture by less
   * than max(minimumGain, 3 log N / (2N)), both fitted on the levels merged into at most 512 groups. */
  static Selection
  SelectNumberOfClasses(const std::vector<Level> & levels, double binWidth, unsigned int largest, double minimumGain);

  /** The levels merged into at most numberOfGroups groups of equal width (at least binWidth) over the range of the
   * level means, in ascending order, with exact counts, sums and sums of squares; the width is returned in
   * groupWidth. Levels that fit are returned as they are. */
  static std::vector<Level>
  MergeLevels(const std::vector<Level> & levels, double binWidth, std::size_t numberOfGroups, double & groupWidth);

  /** Checks the parameters alone; throws std::invalid_argument naming the offending value. */
  static void
  VerifyParameters(const Parameters & parameters);

  /** Mixture initialised from a K-means partition of the levels: means, variances SS/count (at least
   * varianceFloor; pooled when commonVariance) and proportions count/N. */
  static Mixture
  MixtureFromPartition(const std::vector<OptimalScalarKMeans::Class> & classes,
                       std::uint64_t                                   numberOfSamples,
                       double                                          varianceFloor,
                       bool                                            commonVariance);

  /** Replaces every class variance by the proportion-weighted mean of the variances (at least varianceFloor). */
  static void
  PoolVariances(Mixture & mixture, double varianceFloor);

  /** Log-likelihood of the levels (each level stands for Count samples at its mean); when posteriors is not null
   * it receives the per-level class posteriors, level-major (levels.size() x K). */
  static double
  LevelLogLikelihood(const std::vector<Level> & levels, const Mixture & mixture, std::vector<double> * posteriors);

  /** Expectation-maximisation on the levels until the relative change of the log-likelihood is at most
   * convergenceThreshold or maximumNumberOfIterations parameter updates were made. */
  static FitResult
  FitOnLevels(const std::vector<Level> & levels,
              Mixture &                  mixture,
              double                     varianceFloor,
              bool                       commonVariance,
              unsigned int               maximumNumberOfIterations,
              double                     convergenceThreshold);

  /** Reorders the classes by ascending mean; returns the permutation (new index -> old index). */
  static std::vector<unsigned int>
  SortByMean(Mixture & mixture);

  /** The mean of all samples of the levels (in the levels' coordinates; 0 without samples). */
  static double
  MeanOfLevels(const std::vector<Level> & levels);

  /** The variance floor max(binWidth^2 / 12, 1e-6 variance of all the samples). */
  static double
  VarianceFloorOf(const std::vector<Level> & levels, double binWidth);

private:
  Parameters m_Parameters;
  Result     m_Result;
};

namespace GaussianMixtureDetail
{
using Mixture = GaussianMixtureOnLevels::Mixture;
using FitResult = GaussianMixtureOnLevels::FitResult;

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

} // namespace GaussianMixtureDetail
} // namespace itk

#endif
