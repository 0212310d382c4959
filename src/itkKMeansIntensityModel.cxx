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
#include "itkKMeansIntensityModel.h"

#include "itkMath.h"

#include <sstream>
#include <stdexcept>

namespace itk
{
IntensityBinning
IntensityBinning::ForAllValues(double lowest, std::size_t numberOfBins)
{
  IntensityBinning binning;
  binning.SetBins(true, lowest, 1.0, numberOfBins);
  return binning;
}

IntensityBinning
IntensityBinning::ForRange(const IntensityRange & range)
{
  IntensityBinning binning;
  const double     span = range.Maximum - range.Minimum;
  if ((range.AllIntegers && span < static_cast<double>(MaximumNumberOfBins)) || span == 0.0)
  {
    binning.SetBins(true, range.Minimum, 1.0, static_cast<std::size_t>(span) + 1);
  }
  else
  {
    // Divided before subtracting: the span of values near -DBL_MAX and DBL_MAX overflows to infinity.
    const double width = range.Maximum / static_cast<double>(MaximumNumberOfBins) -
                         range.Minimum / static_cast<double>(MaximumNumberOfBins);
    binning.SetBins(false, range.Minimum, width, MaximumNumberOfBins);
  }
  return binning;
}

void
IntensityBinning::SetBins(bool exact, double origin, double binWidth, std::size_t numberOfBins)
{
  if (numberOfBins == 0 || numberOfBins > MaximumNumberOfBins || !std::isfinite(origin) ||
      !(binWidth > 0.0 && std::isfinite(binWidth)) || (exact && binWidth != 1.0))
  {
    std::ostringstream message;
    message << "invalid bins: " << numberOfBins << (exact ? " exact" : "") << " bins of width " << binWidth
            << " from " << origin;
    throw std::invalid_argument(message.str());
  }
  m_Exact = exact;
  m_Origin = origin;
  m_BinWidth = binWidth;
  m_InverseBinWidth = 1.0 / binWidth;
  m_NumberOfBins = numberOfBins;
}

bool
IntensityBinning::operator==(const IntensityBinning & other) const
{
  return m_Exact == other.m_Exact && m_Origin == other.m_Origin && m_BinWidth == other.m_BinWidth &&
         m_NumberOfBins == other.m_NumberOfBins && m_UseForegroundThreshold == other.m_UseForegroundThreshold &&
         (!m_UseForegroundThreshold || m_ForegroundThreshold == other.m_ForegroundThreshold);
}

void
IntensityHistogramCounts::Reset(const IntensityBinning & binning, const IntensityRange & range)
{
  Binning = binning;
  Range = range;
  Count.assign(binning.GetNumberOfBins(), 0);
  SubSum.assign(binning.GetExact() ? 0 : binning.GetNumberOfBins(), 0);
  SubSumOfSquares.assign(SubSum.size(), 0);
}

void
IntensityHistogramCounts::Add(const IntensityHistogramCounts & other)
{
  if (other.Count.empty())
  {
    return;
  }
  if (Count.empty())
  {
    *this = other;
    return;
  }
  if (!(Binning == other.Binning) || other.Count.size() != Count.size() || other.SubSum.size() != SubSum.size())
  {
    throw std::invalid_argument("histograms over different bins cannot be added");
  }
  for (std::size_t b = 0; b < Count.size(); ++b)
  {
    Count[b] += other.Count[b];
  }
  for (std::size_t b = 0; b < SubSum.size(); ++b)
  {
    SubSum[b] += other.SubSum[b];
    SubSumOfSquares[b] += other.SubSumOfSquares[b];
  }
  Range.Merge(other.Range);
}

namespace
{
std::string
PartMessage(std::size_t part, const std::string & why)
{
  return "histogram " + std::to_string(part + 1) + " cannot be merged with the first: " + why;
}

/** Exact bins of integer-valued parts shifted onto the bins of the union (origin: the smallest origin). */
IntensityHistogramCounts
RealignExactBins(const std::vector<IntensityHistogramCounts> & parts, const IntensityRange & range)
{
  IntensityBinning binning = IntensityBinning::ForRange(range);
  binning.SetForegroundThreshold(parts.front().Binning.GetUseForegroundThreshold(),
                                 parts.front().Binning.GetForegroundThreshold());
  IntensityHistogramCounts merged;
  merged.Reset(binning, range);
  merged.PixelType = parts.front().PixelType;
  for (const auto & part : parts)
  {
    const auto shift = static_cast<std::size_t>(part.Binning.GetOrigin() - binning.GetOrigin());
    for (std::size_t b = 0; b < part.Count.size(); ++b)
    {
      merged.Count[b + shift] += part.Count[b];
    }
  }
  return merged;
}
} // namespace

IntensityHistogramCounts
IntensityHistogramCounts::Merge(const std::vector<IntensityHistogramCounts> & parts)
{
  if (parts.empty())
  {
    throw std::invalid_argument("no histogram to merge");
  }
  const IntensityHistogramCounts & first = parts.front();
  IntensityRange                   range;
  bool                             sameBins = true;
  for (std::size_t i = 0; i < parts.size(); ++i)
  {
    const auto & part = parts[i];
    if (part.PixelType != first.PixelType)
    {
      throw std::invalid_argument(PartMessage(i, "pixel type " + part.PixelType + ", not " + first.PixelType));
    }
    if (part.Binning.GetUseForegroundThreshold() != first.Binning.GetUseForegroundThreshold() ||
        part.Binning.GetForegroundThreshold() != first.Binning.GetForegroundThreshold())
    {
      throw std::invalid_argument(PartMessage(i, "another foreground threshold"));
    }
    sameBins = sameBins && part.Binning == first.Binning;
    range.Merge(part.Range);
  }
  if (sameBins)
  {
    // Fixed bins (8- and 16-bit types), or identical data-dependent bins (then the parts' ranges, and so the
    // union's bins, are the same): add.
    IntensityHistogramCounts merged;
    for (const auto & part : parts)
    {
      merged.Add(part);
    }
    return merged;
  }
  // Data-dependent bins: merging is exact only when the union's own bins are exact single values.
  const IntensityBinning unionBins = IntensityBinning::ForRange(range);
  const auto integerBins = [](const IntensityHistogramCounts & part) {
    return part.Binning.GetExact() && part.Range.AllIntegers;
  };
  for (std::size_t i = 1; i < parts.size(); ++i)
  {
    if (!unionBins.GetExact() || !integerBins(first) || !integerBins(parts[i]))
    {
      throw std::invalid_argument(PartMessage(
        i, "floating-point bins depend on each image's range, and the union (" + std::to_string(range.Minimum) +
             " to " + std::to_string(range.Maximum) + ") is not integer-valued within 65536 levels"));
    }
  }
  return RealignExactBins(parts, range);
}

void
IntensityHistogramCounts::MakeLevels(std::vector<OptimalScalarKMeans::Level> & levels,
                                     std::vector<std::size_t> &                levelBins) const
{
  levels.clear();
  levelBins.clear();
  const bool        exact = Binning.GetExact();
  const long double width = Binning.GetBinWidth();
  const long double resolution = static_cast<long double>(SubBinResolution);
  for (std::size_t b = 0; b < Count.size(); ++b)
  {
    const std::uint64_t c = Count[b];
    if (c == 0)
    {
      continue;
    }
    OptimalScalarKMeans::Level level;
    level.Count = c;
    const auto cl = static_cast<long double>(c);
    const auto bl = static_cast<long double>(b);
    if (exact)
    {
      level.Sum = cl * bl;
      level.SumOfSquares = cl * bl * bl;
    }
    else
    {
      // Intensity offset in bin units: b + (r + 1/2) / resolution.
      const long double s = (static_cast<long double>(SubSum[b]) + 0.5L * cl) / resolution;
      const long double s2 =
        (static_cast<long double>(SubSumOfSquares[b]) + static_cast<long double>(SubSum[b]) + 0.25L * cl) /
        (resolution * resolution);
      level.Sum = width * (cl * bl + s);
      level.SumOfSquares = width * width * (cl * bl * bl + 2.0L * bl * s + s2);
    }
    levels.push_back(level);
    levelBins.push_back(b);
  }
}

std::uint64_t
IntensityHistogramCounts::GetNumberOfSamples() const
{
  std::uint64_t n = 0;
  for (const auto c : Count)
  {
    n += c;
  }
  return n;
}

KMeansIntensityModel
KMeansIntensityModel::Fit(const IntensityHistogramCounts & histogram, unsigned int numberOfClasses)
{
  std::vector<OptimalScalarKMeans::Level> levels;
  std::vector<std::size_t>                levelBins;
  histogram.MakeLevels(levels, levelBins);
  if (levels.empty())
  {
    throw std::invalid_argument("no voxel to classify");
  }
  if (numberOfClasses < 1 || numberOfClasses > levels.size())
  {
    std::ostringstream message;
    message << "NumberOfClasses is " << numberOfClasses << " but only " << levels.size();
    if (histogram.Binning.GetExact())
    {
      message << " distinct intensit" << (levels.size() == 1 ? "y takes" : "ies take") << " part";
    }
    else
    {
      message << " distinct intensity levels (histogram bins of width " << histogram.Binning.GetBinWidth()
              << ") take part";
    }
    throw std::invalid_argument(message.str());
  }
  OptimalScalarKMeans solver;
  solver.Solve(levels, numberOfClasses);
  const auto classes = solver.Partition(numberOfClasses);

  KMeansIntensityModel model;
  model.PixelType = histogram.PixelType;
  model.Binning = histogram.Binning;
  model.NumberOfClasses = numberOfClasses;
  const double origin = histogram.Binning.GetOrigin();
  for (std::size_t k = 0; k < classes.size(); ++k)
  {
    const auto & c = classes[k];
    model.ClassMeans.push_back(origin + c.Mean);
    model.ClassCounts.push_back(c.Count);
    model.ClassSumsOfSquares.push_back(c.SumOfSquares);
    model.WithinClassSumOfSquares += c.SumOfSquares;
    model.ClassFirstBins.push_back(k == 0 ? 0 : levelBins[c.FirstLevel]);
  }
  for (std::size_t k = 0; k + 1 < model.ClassMeans.size(); ++k)
  {
    model.Thresholds.push_back(0.5 * (model.ClassMeans[k] + model.ClassMeans[k + 1]));
  }
  model.WithinClassSumOfSquaresForEachK = solver.GetWithinClassSumOfSquaresForEachK();
  std::uint64_t maximumBinCount = 0;
  for (const auto & level : levels)
  {
    model.NumberOfClassifiedPixels += level.Count;
    maximumBinCount = std::max(maximumBinCount, level.Count);
  }
  if (!histogram.Binning.GetExact())
  {
    const double w = histogram.Binning.GetBinWidth();
    const double span = w * static_cast<double>(histogram.Binning.GetNumberOfBins());
    const auto   n = static_cast<double>(model.NumberOfClassifiedPixels);
    model.OptimalityGap = 2.0 * w * span * static_cast<double>(maximumBinCount) +
                          4.0 * n * span * w / static_cast<double>(IntensityHistogramCounts::SubBinResolution);
  }
  return model;
}

namespace
{
/** Label of every bin: the class of largest density (proportion times normal density) at the bin's first
 * intensity, measured from the origin (ties to the lower label). */
std::vector<std::uint32_t>
LabelsOfBins(const IntensityBinning & binning, const GaussianMixtureOnLevels::Mixture & mixture)
{
  const std::size_t   k = mixture.Mean.size();
  std::vector<double> logNormaliser(k);
  for (std::size_t c = 0; c < k; ++c)
  {
    logNormaliser[c] = std::log(mixture.Proportion[c]) - 0.5 * std::log(2.0 * Math::pi * mixture.Variance[c]);
  }
  std::vector<std::uint32_t> labels(binning.GetNumberOfBins(), 1);
  for (std::size_t b = 0; b < labels.size(); ++b)
  {
    const double value = static_cast<double>(b) * binning.GetBinWidth();
    double       best = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c)
    {
      const double d = value - mixture.Mean[c];
      const double energy = logNormaliser[c] - 0.5 * d * d / mixture.Variance[c];
      if (energy > best)
      {
        best = energy;
        labels[b] = static_cast<std::uint32_t>(c + 1);
      }
    }
  }
  return labels;
}
} // namespace

KMeansIntensityModel
KMeansIntensityModel::FitMixture(const IntensityHistogramCounts &            histogram,
                                 const GaussianMixtureOnLevels::Parameters & parameters)
{
  std::vector<OptimalScalarKMeans::Level> levels;
  std::vector<std::size_t>                levelBins;
  histogram.MakeLevels(levels, levelBins);
  if (levels.empty())
  {
    throw std::invalid_argument("no voxel to classify");
  }
  GaussianMixtureOnLevels fitter;
  fitter.SetParameters(parameters);
  fitter.Fit(levels, histogram.Binning.GetBinWidth());
  const auto &       fit = fitter.GetResult();
  const auto &       mixture = fit.Model;
  const unsigned int k = static_cast<unsigned int>(mixture.Mean.size());

  KMeansIntensityModel model;
  model.ModelName = "gmm";
  model.PixelType = histogram.PixelType;
  model.Binning = histogram.Binning;
  model.NumberOfClasses = k;
  model.ClassVariances = mixture.Variance;
  model.ClassProportions = mixture.Proportion;
  model.LogLikelihood = fit.LogLikelihood;
  model.NumberOfIterations = fit.NumberOfIterations;
  model.BayesianInformationCriterionForEachK = fit.BayesianInformationCriterionForEachK;
  model.NumberOfClassesSelection = fit.NumberOfClassesSelection;
  model.NumberOfClassifiedPixels = fit.NumberOfSamples;
  const double origin = histogram.Binning.GetOrigin();
  for (unsigned int c = 0; c < k; ++c)
  {
    model.ClassMeans.push_back(origin + mixture.Mean[c]);
    model.InitialClassMeans.push_back(origin + fit.InitialMeans[c]);
  }
  model.InitialClassVariances = fit.InitialVariances;

  // Labels of the occupied bins: the class of largest posterior of their level (ties to the lower label), as the
  // whole-image filter labels its voxels; of the other bins: that of the bin's first intensity.
  std::vector<double> posteriors;
  GaussianMixtureOnLevels::LevelLogLikelihood(levels, mixture, &posteriors);
  model.BinLabels = LabelsOfBins(model.Binning, mixture);
  model.ClassCounts.assign(k, 0);
  model.ClassSumsOfSquares.assign(k, 0.0);
  for (std::size_t l = 0; l < levels.size(); ++l)
  {
    const double * p = posteriors.data() + l * k;
    const auto     label = static_cast<std::uint32_t>(std::max_element(p, p + k) - p + 1);
    model.BinLabels[levelBins[l]] = label;
    model.ClassCounts[label - 1] += levels[l].Count;
  }
  for (unsigned int c = 0; c < k; ++c)
  {
    model.ClassSumsOfSquares[c] = model.ClassVariances[c] * static_cast<double>(model.ClassCounts[c]);
  }
  for (std::size_t c = 0; c + 1 < k; ++c)
  {
    model.Thresholds.push_back(0.5 * (model.ClassMeans[c] + model.ClassMeans[c + 1]));
  }
  return model;
}

void
KMeansIntensityModel::Validate() const
{
  const std::size_t k = NumberOfClasses;
  auto              fail = [](const std::string & why) { throw std::invalid_argument(why); };
  if (k < 1)
  {
    fail("the number of classes must be at least 1");
  }
  if (ModelName == "gmm")
  {
    ValidateMixture();
    return;
  }
  if (ModelName != "kmeans")
  {
    fail("the model is \"" + ModelName + "\"; it must be \"kmeans\" or \"gmm\"");
  }
  if (ClassMeans.size() != k || ClassCounts.size() != k || ClassSumsOfSquares.size() != k ||
      ClassFirstBins.size() != k || Thresholds.size() != k - 1)
  {
    fail("class means, counts, sums of squares and first bins must have " + std::to_string(k) +
         " entries and thresholds " + std::to_string(k - 1));
  }
  for (std::size_t i = 0; i < k; ++i)
  {
    if ((i == 0 && ClassFirstBins[0] != 0) || (i > 0 && ClassFirstBins[i] <= ClassFirstBins[i - 1]) ||
        ClassFirstBins[i] >= Binning.GetNumberOfBins())
    {
      fail("class first bins must ascend strictly from 0 below " + std::to_string(Binning.GetNumberOfBins()));
    }
    if (!std::isfinite(ClassMeans[i]) || (i > 0 && !(ClassMeans[i] > ClassMeans[i - 1])))
    {
      fail("class means must be finite and ascending");
    }
  }
}

void
KMeansIntensityModel::ValidateMixture() const
{
  const std::size_t k = NumberOfClasses;
  auto              fail = [](const std::string & why) { throw std::invalid_argument(why); };
  if (k < 1)
  {
    fail("the number of classes must be at least 1");
  }
  if (ClassMeans.size() != k || ClassVariances.size() != k || ClassProportions.size() != k)
  {
    fail("class means, variances and proportions must have " + std::to_string(k) + " entries");
  }
  if (BinLabels.size() != Binning.GetNumberOfBins())
  {
    fail("bin labels must have " + std::to_string(Binning.GetNumberOfBins()) + " entries, one per bin");
  }
  for (std::size_t i = 0; i < k; ++i)
  {
    if (!std::isfinite(ClassMeans[i]) || (i > 0 && !(ClassMeans[i] >= ClassMeans[i - 1])))
    {
      fail("class means must be finite and ascending");
    }
    if (!(ClassVariances[i] > 0.0) || !std::isfinite(ClassVariances[i]))
    {
      fail("class variances must be finite and positive");
    }
  }
  for (const auto label : BinLabels)
  {
    if (label < 1 || label > k)
    {
      fail("bin labels must lie in 1.." + std::to_string(k));
    }
  }
}
} // namespace itk
