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
#include "itkPartialVolumeMixtureOnLevels.h"

#include "itkGaussianMixtureKernels.h"
#include "itkMath.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace itk
{
namespace
{
using GaussianMixtureDetail::LevelTable;
using GaussianMixtureDetail::MakeLevelTable;
using Mixture = PartialVolumeMixtureOnLevels::Mixture;

constexpr double smallestDensity = 1e-300;

/** Phi(za) - Phi(zb) for za >= zb, without cancellation in either tail. */
double
NormalMass(double za, double zb)
{
  constexpr double r = 0.70710678118654752440; // 1 / sqrt(2)
  if (zb >= 0.0)
  {
    return 0.5 * (std::erfc(zb * r) - std::erfc(za * r));
  }
  if (za <= 0.0)
  {
    return 0.5 * (std::erfc(-za * r) - std::erfc(-zb * r));
  }
  return 1.0 - 0.5 * (std::erfc(za * r) + std::erfc(-zb * r));
}

/** What the E-step of one level gives for the M-step: each class's posterior, and for each mixed class the
 * posterior mean of f and of f^2. */
struct LevelPosterior
{
  std::vector<double> Class;
  std::vector<double> F;
  std::vector<double> F2;
};

/** The per-class constants of the E-step: means from the levels' shift, log proportions (-inf for an empty
 * class), widths of the mixed classes and their logarithms. */
struct ClassTerms
{
  ClassTerms(const Mixture & m, double shift)
    : Sigma(std::sqrt(m.Variance))
    , LogNormal(-0.5 * std::log(2.0 * Math::pi * m.Variance))
    , HalfPrecision(0.5 / m.Variance)
  {
    for (const double mean : m.Mean)
    {
      Mean.push_back(mean - shift);
    }
    for (const double proportion : m.Proportion)
    {
      LogProportion.push_back(proportion > 0 ? std::log(proportion) : -std::numeric_limits<double>::infinity());
    }
    for (std::size_t j = 0; j + 1 < Mean.size(); ++j)
    {
      Width.push_back(std::max(Mean[j + 1] - Mean[j], 1e-12 * Sigma));
      LogProportion[Mean.size() + j] -= std::log(Width.back());
    }
  }
  double              Sigma;
  double              LogNormal;
  double              HalfPrecision;
  std::vector<double> Mean;
  std::vector<double> LogProportion; // pure classes, then mixed classes less the log of their width
  std::vector<double> Width;
};

/** Log-density terms of one level of value x (measured like the means): the posterior of each class, and the
 * moments of f in each mixed class; returns the log of the mixture density. */
double
LevelTerms(double x, const ClassTerms & c, LevelPosterior & out)
{
  const std::size_t K = c.Mean.size();
  double            maximum = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < K; ++k)
  {
    const double d = x - c.Mean[k];
    out.Class[k] = c.LogProportion[k] + c.LogNormal - d * d * c.HalfPrecision;
    maximum = std::max(maximum, out.Class[k]);
  }
  constexpr double inverseSqrt2Pi = 0.39894228040143267794;
  for (std::size_t j = 0; j + 1 < K; ++j)
  {
    const double za = (x - c.Mean[j]) / c.Sigma;
    const double zb = (x - c.Mean[j + 1]) / c.Sigma;
    const double mass = NormalMass(za, zb);
    out.Class[K + j] = c.LogProportion[K + j] + std::log(std::max(mass, smallestDensity));
    maximum = std::max(maximum, out.Class[K + j]);
    // f | x in the mixed class: N((x - mu_j) / width, (sigma / width)^2) truncated to [0, 1]; its bounds in
    // standard units are a = -za and b = -zb, and Phi(b) - Phi(a) = mass.
    const double t = c.Sigma / c.Width[j];
    const double mean = za * t;
    double       f = std::min(std::max(mean, 0.0), 1.0);
    double       f2 = f * f;
    if (mass > 1e-200)
    {
      const double pa = inverseSqrt2Pi * std::exp(-0.5 * za * za);
      const double pb = inverseSqrt2Pi * std::exp(-0.5 * zb * zb);
      const double ratio = (pa - pb) / mass;
      f = std::min(std::max(mean + t * ratio, 0.0), 1.0);
      const double variance = std::max(0.0, t * t * (1.0 + (-za * pa + zb * pb) / mass - ratio * ratio));
      f2 = std::min(f * f + variance, f);
    }
    out.F[j] = f;
    out.F2[j] = f2;
  }
  double sum = 0.0;
  for (double & term : out.Class)
  {
    term = GaussianMixtureDetail::ExpNonPositive(term - maximum);
    sum += term;
  }
  for (double & term : out.Class)
  {
    term /= sum;
  }
  return maximum + std::log(sum);
}

/** Solves the symmetric tridiagonal system (diagonal d, off-diagonal e between rows k and k + 1) for x in place
 * of b (Thomas algorithm; the system is diagonally dominant with the ridge the caller adds). */
void
SolveTridiagonal(std::vector<double> d, std::vector<double> e, std::vector<double> & b)
{
  const std::size_t n = d.size();
  for (std::size_t k = 1; k < n; ++k)
  {
    const double w = e[k - 1] / d[k - 1];
    d[k] -= w * e[k - 1];
    b[k] -= w * b[k - 1];
  }
  b[n - 1] /= d[n - 1];
  for (std::size_t k = n - 1; k-- > 0;)
  {
    b[k] = (b[k] - e[k] * b[k + 1]) / d[k];
  }
}

/** One E-step over the levels and the M-step it gives; returns the log-likelihood of the mixture before the
 * update. With update false only the log-likelihood is computed. */
double
Iterate(const LevelTable & table, Mixture & m, double varianceFloor, bool update)
{
  const std::size_t   K = m.Mean.size();
  const std::size_t   M = K - 1;
  LevelPosterior      p{ std::vector<double>(K + M), std::vector<double>(M), std::vector<double>(M) };
  std::vector<double> diagonal(K, 0.0), offDiagonal(K > 1 ? K - 1 : 1, 0.0), right(K, 0.0), weight(K + M, 0.0);
  // Posterior-weighted sums for the variance: per class sum of x and x^2 (pure); per mixed class the sums of
  // x^2, x (1 - f), x f, (1 - f)^2, f (1 - f), f^2.
  std::vector<double> pure(2 * K, 0.0), mixed(6 * M, 0.0);
  double              logLikelihood = 0.0;
  const ClassTerms    terms(m, table.Shift);
  for (std::size_t l = 0; l < table.Count.size(); ++l)
  {
    const double x = table.Value[l];
    const double n = table.Count[l];
    logLikelihood += n * LevelTerms(x, terms, p);
    if (!update)
    {
      continue;
    }
    const double square = table.Square[l];
    for (std::size_t k = 0; k < K; ++k)
    {
      const double w = n * p.Class[k];
      weight[k] += w;
      pure[2 * k] += w * x;
      pure[2 * k + 1] += w * square;
    }
    for (std::size_t j = 0; j < M; ++j)
    {
      const double w = n * p.Class[K + j];
      const double f = p.F[j], f2 = p.F2[j];
      weight[K + j] += w;
      double * s = &mixed[6 * j];
      s[0] += w * square;
      s[1] += w * x * (1.0 - f);
      s[2] += w * x * f;
      s[3] += w * (1.0 - 2.0 * f + f2);
      s[4] += w * (f - f2);
      s[5] += w * f2;
    }
  }
  if (!update)
  {
    return logLikelihood;
  }
  // Means: minimise the expected squared residual; a tiny ridge towards the current means keeps a class without
  // samples where it is.
  const double ridge = 1e-9 * table.Total;
  for (std::size_t k = 0; k < K; ++k)
  {
    diagonal[k] = weight[k] + ridge;
    right[k] = pure[2 * k] + ridge * (m.Mean[k] - table.Shift);
  }
  for (std::size_t j = 0; j < M; ++j)
  {
    const double * s = &mixed[6 * j];
    diagonal[j] += s[3];
    diagonal[j + 1] += s[5];
    offDiagonal[j] = s[4];
    right[j] += s[1];
    right[j + 1] += s[2];
  }
  SolveTridiagonal(diagonal, offDiagonal, right);
  std::vector<double> mu = right; // from table.Shift
  std::sort(mu.begin(), mu.end());
  double residual = 0.0;
  for (std::size_t k = 0; k < K; ++k)
  {
    residual += pure[2 * k + 1] - 2.0 * mu[k] * pure[2 * k] + weight[k] * mu[k] * mu[k];
  }
  for (std::size_t j = 0; j < M; ++j)
  {
    const double * s = &mixed[6 * j];
    const double   a = mu[j], b = mu[j + 1];
    residual += s[0] - 2.0 * (a * s[1] + b * s[2]) + a * a * s[3] + 2.0 * a * b * s[4] + b * b * s[5];
  }
  for (std::size_t k = 0; k < K; ++k)
  {
    m.Mean[k] = table.Shift + mu[k];
  }
  m.Variance = std::max(residual / table.Total, varianceFloor);
  for (std::size_t c = 0; c < K + M; ++c)
  {
    m.Proportion[c] = weight[c] / table.Total;
  }
  return logLikelihood;
}
} // namespace

auto
PartialVolumeMixtureOnLevels::Fit(const std::vector<Level> &                      levels,
                                  const std::vector<OptimalScalarKMeans::Class> & classes,
                                  double                                          varianceFloor,
                                  unsigned int                                    maximumNumberOfIterations,
                                  double                                          convergenceThreshold) -> Mixture
{
  const LevelTable  table = MakeLevelTable(levels);
  const std::size_t K = classes.size();
  Mixture           m;
  double            withinSumOfSquares = 0.0;
  for (const auto & c : classes)
  {
    m.Mean.push_back(c.Mean);
    m.Proportion.push_back((K > 1 ? 0.9 : 1.0) * static_cast<double>(c.Count) / table.Total);
    withinSumOfSquares += c.SumOfSquares;
  }
  for (std::size_t j = 0; j + 1 < K; ++j)
  {
    m.Proportion.push_back(0.1 / static_cast<double>(K - 1));
  }
  m.Variance = std::max(withinSumOfSquares / table.Total, varianceFloor);
  // One pass over the levels per iteration: the E-step that updates a mixture also gives its log-likelihood.
  Mixture      next = m;
  double       logLikelihood = Iterate(table, next, varianceFloor, true);
  unsigned int iterations = 0;
  while (iterations < maximumNumberOfIterations)
  {
    Mixture      after = next;
    const double nextLogLikelihood = Iterate(table, after, varianceFloor, true);
    if (!(nextLogLikelihood >= logLikelihood - 1e-9 * std::abs(logLikelihood)))
    {
      break; // the update lowered the likelihood (crossed means were reordered): keep the mixture before it
    }
    ++iterations;
    const double previous = logLikelihood;
    m = next;
    logLikelihood = nextLogLikelihood;
    next = after;
    if (std::abs(logLikelihood - previous) <= convergenceThreshold * std::abs(previous))
    {
      break;
    }
  }
  m.LogLikelihood = logLikelihood;
  m.Iterations = iterations;
  return m;
}

double
PartialVolumeMixtureOnLevels::LogLikelihood(const std::vector<Level> & levels, const Mixture & mixture)
{
  Mixture copy = mixture;
  return Iterate(MakeLevelTable(levels), copy, 0.0, false);
}
} // namespace itk
