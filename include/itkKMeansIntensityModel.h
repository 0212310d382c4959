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
#ifndef itkKMeansIntensityModel_h
#define itkKMeansIntensityModel_h

#include "KMeansSegmentationExport.h"
#include "itkGaussianMixtureOnLevels.h"
#include "itkOptimalScalarKMeans.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace itk
{
/** The name of a scalar pixel type as ITK's ImageIO spells component types ("unsigned_char", "short",
 * "float", ...): the pixel type recorded in saved histograms and models. */
template <typename TPixel>
const char *
KMeansPixelTypeName()
{
  if constexpr (std::is_same_v<TPixel, unsigned char>)
    return "unsigned_char";
  else if constexpr (std::is_same_v<TPixel, signed char> || std::is_same_v<TPixel, char>)
    return "char";
  else if constexpr (std::is_same_v<TPixel, unsigned short>)
    return "unsigned_short";
  else if constexpr (std::is_same_v<TPixel, short>)
    return "short";
  else if constexpr (std::is_same_v<TPixel, unsigned int>)
    return "unsigned_int";
  else if constexpr (std::is_same_v<TPixel, int>)
    return "int";
  else if constexpr (std::is_same_v<TPixel, unsigned long>)
    return "unsigned_long";
  else if constexpr (std::is_same_v<TPixel, long>)
    return "long";
  else if constexpr (std::is_same_v<TPixel, unsigned long long>)
    return "unsigned_long_long";
  else if constexpr (std::is_same_v<TPixel, long long>)
    return "long_long";
  else if constexpr (std::is_same_v<TPixel, float>)
    return "float";
  else
    return "double";
}

/** \class IntensityRange
 * \brief Smallest and largest intensity, count and integrality of the voxels that take part: the first pass of
 * a histogram whose bins depend on the data. Merge() is associative and commutative, so the range of a union is
 * the merge of the ranges of its parts, whatever the order, threads or stream pieces.
 * \ingroup KMeansSegmentation
 */
struct IntensityRange
{
  double        Minimum{ std::numeric_limits<double>::infinity() };
  double        Maximum{ -std::numeric_limits<double>::infinity() };
  std::uint64_t Count{ 0 };
  bool          AllIntegers{ true };

  void
  Merge(const IntensityRange & other)
  {
    Minimum = std::min(Minimum, other.Minimum);
    Maximum = std::max(Maximum, other.Maximum);
    Count += other.Count;
    AllIntegers = AllIntegers && other.AllIntegers;
  }
};

/** \class IntensityBinning
 * \brief Which voxels take part (finite, above the optional foreground threshold) and the histogram bin of an
 * intensity. Shared by the histogram, the K-means model and the labeling filter, so that labeling by a per-bin
 * look-up table reproduces the estimation's bins exactly.
 *
 * Exact bins hold one intensity each (bin b is Origin + b); otherwise NumberOfBins equal bins of width BinWidth
 * start at Origin, and the last bin is closed.
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT IntensityBinning
{
public:
  static constexpr std::size_t MaximumNumberOfBins = 65536;

  /** One bin per representable value of an integer type of at most 16 bits (origin: its smallest value). */
  static IntensityBinning
  ForAllValues(double lowest, std::size_t numberOfBins);

  /** The bins the histogram uses for the included intensities of range: one per integer when all are
   * integers spanning at most 65536 values (or a single value), else 65536 equal bins from minimum to
   * maximum. */
  static IntensityBinning
  ForRange(const IntensityRange & range);

  void
  SetForegroundThreshold(bool use, double threshold)
  {
    m_UseForegroundThreshold = use;
    m_ForegroundThreshold = threshold;
  }
  bool
  GetUseForegroundThreshold() const
  {
    return m_UseForegroundThreshold;
  }
  double
  GetForegroundThreshold() const
  {
    return m_ForegroundThreshold;
  }

  /** Whether an intensity takes part (the mask aside): finite and above the foreground threshold if in use. */
  bool
  Includes(double v) const
  {
    return std::isfinite(v) && (!m_UseForegroundThreshold || v > m_ForegroundThreshold);
  }

  /** Bin of an included intensity. Intensities outside the bins (another image labeled with a saved model)
   * fall into the first or the last bin; between two exact bins, into the lower one. */
  std::size_t
  Bin(double v) const
  {
    // Compared as doubles before the conversion: t is NaN or beyond std::size_t for a span that overflows.
    const double t = m_Exact ? v - m_Origin : (v - m_Origin) * m_InverseBinWidth;
    if (!(t > 0.0))
    {
      return 0;
    }
    return t < static_cast<double>(m_NumberOfBins - 1) ? static_cast<std::size_t>(t) : m_NumberOfBins - 1;
  }

  bool
  GetExact() const
  {
    return m_Exact;
  }
  double
  GetOrigin() const
  {
    return m_Origin;
  }
  double
  GetBinWidth() const
  {
    return m_BinWidth;
  }
  std::size_t
  GetNumberOfBins() const
  {
    return m_NumberOfBins;
  }

  /** Set the bins directly (a saved model or histogram); throws std::invalid_argument for bins no histogram
   * makes (no bins, more than MaximumNumberOfBins, a non-positive or non-finite width). */
  void
  SetBins(bool exact, double origin, double binWidth, std::size_t numberOfBins);

  bool
  operator==(const IntensityBinning & other) const;

private:
  bool        m_Exact{ true };
  double      m_Origin{ 0.0 };
  double      m_BinWidth{ 1.0 };
  double      m_InverseBinWidth{ 1.0 };
  std::size_t m_NumberOfBins{ 0 };
  bool        m_UseForegroundThreshold{ false };
  double      m_ForegroundThreshold{ 0.0 };
};

/** \class IntensityHistogramCounts
 * \brief The integer content of an IntensityLevelHistogram: per bin the voxel count and, for inexact bins, the
 * sums of the sub-bin positions and of their squares (each intensity kept to 1/SubBinResolution of the bin).
 *
 * Everything is an integer, so adding the counts of the parts of an image (threads, stream pieces, chunks of
 * a volume, scans of a cohort) in any order gives exactly the counts of the whole. Merge() does that for
 * histograms saved separately: bins of 8- and 16-bit integer images always coincide; exact bins of
 * integer-valued images are realigned to the smallest origin when the union still spans at most 65536 values;
 * inexact floating-point bins depend on the data's range and merge only when they are identical (re-binning
 * would change the result, so other cases are refused).
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT IntensityHistogramCounts
{
public:
  static constexpr std::uint64_t SubBinResolution = 32768;

  /** Empty counts over binning (the sub-bin sums only for inexact bins). */
  void
  Reset(const IntensityBinning & binning, const IntensityRange & range);

  /** Add counts over the same bins. */
  void
  Add(const IntensityHistogramCounts & other);

  /** The histogram of the union of the parts' voxels; throws std::invalid_argument naming the part (0-based
   * index) whose bins, pixel type or foreground rule cannot be merged with the others. */
  static IntensityHistogramCounts
  Merge(const std::vector<IntensityHistogramCounts> & parts);

  /** Non-empty bins as levels for OptimalScalarKMeans, moments measured from the origin, with their bins. */
  void
  MakeLevels(std::vector<OptimalScalarKMeans::Level> & levels, std::vector<std::size_t> & levelBins) const;

  std::uint64_t
  GetNumberOfSamples() const;

  IntensityBinning           Binning;
  IntensityRange             Range; //!< of the counted intensities
  std::string                PixelType;
  std::vector<std::uint64_t> Count;
  std::vector<std::uint64_t> SubSum;
  std::vector<std::uint64_t> SubSumOfSquares;
};

/** \class KMeansIntensityModel
 * \brief What a fit of an intensity model on a histogram found: the classes (means, counts, sums of squares,
 * thresholds) and the intensity look-up (the bins and the label of each), which label any image of the same
 * pixel type without fitting again (KMeansLabelImageFilter).
 *
 * Two models are fitted on histograms alone, so that they can be estimated from a streamed image:
 * - "kmeans": Fit() solves OptimalScalarKMeans over the levels of a histogram; it is the estimation step of
 *   KMeansSegmentationImageFilter and KMeansSegmentationEstimator alike, so both give the same model. Each class
 *   is a run of bins (ClassFirstBins).
 * - "gmm": FitMixture() fits the Gaussian mixture without Markov random field (GaussianMixtureOnLevels) as
 *   GaussianMixtureSegmentationImageFilter does without MRFWeight, PartialVolume and EstimateBiasField; every
 *   occupied bin is labelled with the class of largest posterior of its level, as that filter labels its voxels,
 *   and every empty bin with the class of largest density at its first intensity (BinLabels). ClassVariances,
 *   ClassProportions, LogLikelihood and the BIC of each K are the mixture's; ClassSumsOfSquares are variance
 *   times count and Thresholds the midpoints of the means (the labels need not be runs of bins).
 * \sa KMeansSegmentationEstimator, KMeansLabelImageFilter
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT KMeansIntensityModel
{
public:
  /** The optimal K-class model of the histogram; throws std::invalid_argument (no sample, K of 0 or more than
   * the occupied bins) with a message in the filters' words ("NumberOfClasses is ..."). */
  static KMeansIntensityModel
  Fit(const IntensityHistogramCounts & histogram, unsigned int numberOfClasses);

  /** The Gaussian mixture without prior fitted on the histogram (see the class description); throws
   * std::invalid_argument (no sample, K of 0 or more than the occupied bins) with the filters' messages. */
  static KMeansIntensityModel
  FitMixture(const IntensityHistogramCounts & histogram, const GaussianMixtureOnLevels::Parameters & parameters);

  /** Check a model read from a file: K >= 1, the arrays sized K (thresholds K-1), class first bins strictly
   * ascending from 0 inside the bins. Throws std::invalid_argument naming the offending field. */
  void
  Validate() const;

private:
  void
  ValidateMixture() const;

public:

  /** Label (1..K) of every bin; label 0 for the bins at or below the foreground threshold when bins are exact
   * single values (so 8- and 16-bit labeling needs no per-voxel threshold test). */
  template <typename TLabel>
  std::vector<TLabel>
  MakeLookUpTable() const
  {
    std::vector<TLabel> table(Binning.GetNumberOfBins(), TLabel{});
    for (std::size_t b = 0; b < BinLabels.size() && b < table.size(); ++b)
    {
      table[b] = static_cast<TLabel>(BinLabels[b]);
    }
    for (std::size_t k = 0; BinLabels.empty() && k < ClassFirstBins.size(); ++k)
    {
      const std::size_t last = k + 1 < ClassFirstBins.size() ? ClassFirstBins[k + 1] : table.size();
      std::fill(table.begin() + ClassFirstBins[k], table.begin() + last, static_cast<TLabel>(k + 1));
    }
    if (Binning.GetExact() && Binning.GetUseForegroundThreshold())
    {
      for (std::size_t b = 0;
           b < table.size() && Binning.GetOrigin() + static_cast<double>(b) <= Binning.GetForegroundThreshold();
           ++b)
      {
        table[b] = TLabel{};
      }
    }
    return table;
  }

  /** "kmeans" or "gmm". */
  std::string                ModelName{ "kmeans" };
  std::string                PixelType;
  IntensityBinning           Binning;
  unsigned int               NumberOfClasses{ 0 };
  std::vector<double>        ClassMeans;
  std::vector<std::uint64_t> ClassCounts;
  std::vector<double>        ClassSumsOfSquares;
  std::vector<double>        Thresholds;
  std::vector<double>        WithinClassSumOfSquaresForEachK;
  std::vector<std::size_t>   ClassFirstBins; //!< bin where class k+1 starts (0 for the first class)
  double                     WithinClassSumOfSquares{ 0.0 };
  double                     OptimalityGap{ 0.0 };
  std::uint64_t              NumberOfClassifiedPixels{ 0 };
  /** "gmm" only: the mixture's variances and proportions, the exact K-means it started from, its log-likelihood,
   * EM updates, BIC of each K (-k auto) and the label of every bin. */
  std::vector<double>        ClassVariances;
  std::vector<double>        ClassProportions;
  std::vector<double>        InitialClassMeans;
  std::vector<double>        InitialClassVariances;
  std::vector<double>        BayesianInformationCriterionForEachK;
  /** How -k auto chose K (GaussianMixtureOnLevels::SelectNumberOfClasses()). */
  GaussianMixtureOnLevels::Selection NumberOfClassesSelection;
  double                     LogLikelihood{ 0.0 };
  unsigned int               NumberOfIterations{ 0 };
  std::vector<std::uint32_t> BinLabels;
};
} // namespace itk

#endif
