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
#include "itkPartialVolumeTissueModel.h"

#include "itkMacro.h"
#include "itkMultiThreaderBase.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <ostream>

namespace itk
{
namespace
{
constexpr std::size_t BlockSize = 4096;
constexpr int         MaximumNeighbours = 6;
constexpr double      Pi = 3.14159265358979323846;

/** Per-class data terms at a node of the intensity table: log-likelihood (with the log-proportion) and, for a
 * mixed class, the posterior mean fraction of the upper tissue. */
struct ClassTerm
{
  double LogTerm;
  double Fraction;
};

/** log p(z | mixed a,b) + log(mu_b - mu_a) = log [Phi((mu_b - z) / s) - Phi((mu_a - z) / s)], and the posterior
 * mean of the fraction f of b (a normal of mean (z - mu_a) / (mu_b - mu_a) truncated to [0, 1]). */
ClassTerm
MixedTerm(double z, double muA, double muB, double sigma)
{
  const double u = (muA - z) / sigma;
  const double v = (muB - z) / sigma;
  const double r = 1.0 / std::sqrt(2.0);
  // Both tails computed from erfc without cancellation.
  const double d = u > 0.0 ? 0.5 * (std::erfc(u * r) - std::erfc(v * r)) : 0.5 * (std::erfc(-v * r) - std::erfc(-u * r));
  const double width = muB - muA;
  if (!(d > 1e-280))
  {
    // Far outside [mu_a, mu_b]: the Mills-ratio asymptote of the tail, fraction 0 below and 1 above.
    const double t = u > 0.0 ? u : -v;
    return { -0.5 * t * t - std::log(t * std::sqrt(2.0 * Pi)), u > 0.0 ? 0.0 : 1.0 };
  }
  const double phiU = std::exp(-0.5 * u * u) / std::sqrt(2.0 * Pi);
  const double phiV = std::exp(-0.5 * v * v) / std::sqrt(2.0 * Pi);
  const double m = (z - muA) / width;
  const double s = sigma / width;
  const double f = m + s * (phiU - phiV) / d;
  return { std::log(d), std::min(1.0, std::max(0.0, f)) };
}

/** Solves the weighted least-squares normal equations of the bias field (A: P x P lower triangle, then the P
 * right-hand sides) by Cholesky factorisation, with a ridge of regularization times the total weight on the
 * non-constant monomials; false when the matrix is singular. */
bool
SolveRegularised(std::vector<double> &                            A,
                 const std::vector<std::array<unsigned int, 3>> & powers,
                 double                                           regularization,
                 std::vector<double> &                            coefficients)
{
  const std::size_t P = powers.size();
  double trace = 0.0;
  for (std::size_t p = 0; p < P; ++p)
  {
    trace += A[p * P + p];
  }
  if (!(trace > 0.0))
  {
    return false;
  }
  // Ridge on the non-constant terms (regularization times the total weight): on a head, whose tissues
  // lie in nested shells, a radial field and the class means can trade against each other almost freely; the
  // ridge keeps the field from drifting along that direction while shrinking a real field by a few per cent.
  double totalWeight = 0.0;
  for (std::size_t p = 0; p < P; ++p)
  {
    if (powers[p][0] + powers[p][1] + powers[p][2] == 0)
    {
      totalWeight = A[p * P + p];
    }
  }
  for (std::size_t p = 0; p < P; ++p)
  {
    const bool constant = powers[p][0] + powers[p][1] + powers[p][2] == 0;
    A[p * P + p] += 1e-9 * trace / static_cast<double>(P) + (constant ? 0.0 : regularization * totalWeight);
  }
  for (std::size_t p = 0; p < P; ++p)
  {
    for (std::size_t o = 0; o <= p; ++o)
    {
      double value = A[p * P + o];
      for (std::size_t m = 0; m < o; ++m)
      {
        value -= A[p * P + m] * A[o * P + m];
      }
      if (o == p)
      {
        if (!(value > 0.0))
        {
          return false;
        }
        A[p * P + p] = std::sqrt(value);
      }
      else
      {
        A[p * P + o] = value / A[o * P + o];
      }
    }
  }
  coefficients.assign(A.begin() + static_cast<std::ptrdiff_t>(P * P), A.end());
  for (std::size_t p = 0; p < P; ++p)
  {
    for (std::size_t m = 0; m < p; ++m)
    {
      coefficients[p] -= A[p * P + m] * coefficients[m];
    }
    coefficients[p] /= A[p * P + p];
  }
  for (std::size_t p = P; p-- > 0;)
  {
    for (std::size_t m = p + 1; m < P; ++m)
    {
      coefficients[p] -= A[m * P + p] * coefficients[m];
    }
    coefficients[p] /= A[p * P + p];
  }
  return true;
}
} // namespace

struct PartialVolumeTissueModel::Workspace
{
  std::size_t               N{ 0 };
  unsigned int              K{ 0 };
  unsigned int              C{ 0 };
  std::size_t               Blocks{ 0 };
  std::vector<std::int32_t> Neighbours;  // N x 6, -1: none
  std::vector<float>        Previous;    // N x K tissue content of the previous sweep
  std::vector<float>        Current;     // N x K
  std::vector<float>        Expected;    // N: expected intensity m_i (bias fit)
  std::vector<float>        Weight;      // N: m_i^2 / v_i (bias fit)
  std::vector<float>        LogBias;     // N
  std::vector<double>       BlockSums;   // Blocks x Stride
  std::size_t               Stride{ 0 }; // 3 K moments, C weights, energy, K fraction sums
  std::vector<double>       Table;       // Nodes x C x 2 (log term, fraction)
  std::size_t               Nodes{ 0 };
  double                    TableLow{ 0 };
  double                    TableStep{ 1 };
  double                    Shift{ 0 };
  double                    ZLow{ 0 };
  double                    ZHigh{ 0 };
  std::vector<unsigned int> ReseedCount;
  std::vector<std::array<float, 3>> Coordinates; // bias fit: scaled to [-1, 1]
  MultiThreaderBase::Pointer Threader;

  void
  Parallel(const std::function<void(std::size_t)> & blockFunction) const
  {
    Threader->ParallelizeArray(0, Blocks, blockFunction, nullptr);
  }
};

void
PartialVolumeTissueModel::Check(const std::vector<float> &           values,
                                const std::vector<std::uint64_t> &   gridIndex,
                                const std::array<std::uint64_t, 3> & gridSize,
                                const Tissues &                      initial) const
{
  const std::size_t K = initial.Mean.size();
  if (values.empty())
  {
    itkGenericExceptionMacro(<< "PartialVolumeTissueModel: no voxels take part");
  }
  if (gridIndex.size() != values.size())
  {
    itkGenericExceptionMacro(<< "PartialVolumeTissueModel: " << values.size() << " values but " << gridIndex.size()
                             << " grid indices");
  }
  if (K < 1 || K > 255 || initial.Variance.size() != K)
  {
    itkGenericExceptionMacro(<< "PartialVolumeTissueModel: " << K << " means and " << initial.Variance.size()
                             << " variances; 1 to 255 tissues needed");
  }
  const std::uint64_t total = gridSize[0] * gridSize[1] * gridSize[2];
  if (total == 0 || total > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()) ||
      gridIndex.back() >= total)
  {
    itkGenericExceptionMacro(<< "PartialVolumeTissueModel: grid of " << gridSize[0] << "x" << gridSize[1] << "x"
                             << gridSize[2] << " voxels cannot hold index " << gridIndex.back());
  }
  for (std::size_t k = 0; k < K; ++k)
  {
    if (!std::isfinite(initial.Mean[k]) || !(initial.Variance[k] > 0.0) || (k > 0 && !(initial.Mean[k] > initial.Mean[k - 1])))
    {
      itkGenericExceptionMacro(<< "PartialVolumeTissueModel: tissue " << k + 1 << " has mean " << initial.Mean[k]
                               << " and variance " << initial.Variance[k]
                               << "; means must ascend strictly and variances be positive");
    }
  }
  if (!(MRFWeight >= 0.0) || !std::isfinite(MRFWeight))
  {
    itkGenericExceptionMacro(<< "PartialVolumeTissueModel: MRFWeight is " << MRFWeight << "; it must be finite and not negative");
  }
}

void
PartialVolumeTissueModel::Fit(const std::vector<float> &           values,
                              const std::vector<std::uint64_t> &   gridIndex,
                              const std::array<std::uint64_t, 3> & gridSize,
                              const Tissues &                      initial)
{
  Check(values, gridIndex, gridSize, initial);
  Workspace w;
  w.N = values.size();
  w.K = static_cast<unsigned int>(initial.Mean.size());
  w.C = PartialVolume ? 2 * w.K - 1 : w.K;
  w.Blocks = (w.N + BlockSize - 1) / BlockSize;
  w.Stride = 4 * w.K + w.C + 1;
  w.BlockSums.assign(w.Blocks * w.Stride, 0.0);
  w.ReseedCount.assign(w.K, 0);
  w.Threader = MultiThreaderBase::New();
  if (NumberOfWorkUnits > 0)
  {
    w.Threader->SetNumberOfWorkUnits(NumberOfWorkUnits);
  }

  // Neighbours through a map from grid index to voxel; coordinates of every voxel for the bias field.
  {
    std::vector<std::int32_t> map(gridSize[0] * gridSize[1] * gridSize[2], -1);
    for (std::size_t i = 0; i < w.N; ++i)
    {
      if (i > 0 && gridIndex[i] <= gridIndex[i - 1])
      {
        itkGenericExceptionMacro(<< "PartialVolumeTissueModel: grid index " << gridIndex[i] << " of voxel " << i
                                 << " does not ascend");
      }
      map[gridIndex[i]] = static_cast<std::int32_t>(i);
    }
    w.Neighbours.assign(w.N * MaximumNeighbours, -1);
    std::array<float, 3> low{ { std::numeric_limits<float>::max(), std::numeric_limits<float>::max(), std::numeric_limits<float>::max() } };
    std::array<float, 3> high{ { 0.0f, 0.0f, 0.0f } };
    w.Coordinates.resize(w.N);
    const std::uint64_t stride[3] = { 1, gridSize[0], gridSize[0] * gridSize[1] };
    for (std::size_t i = 0; i < w.N; ++i)
    {
      std::uint64_t rest = gridIndex[i];
      for (unsigned int d = 0; d < 3; ++d)
      {
        const std::uint64_t c = rest % gridSize[d];
        rest /= gridSize[d];
        w.Coordinates[i][d] = static_cast<float>(c);
        low[d] = std::min(low[d], static_cast<float>(c));
        high[d] = std::max(high[d], static_cast<float>(c));
        if (c > 0)
        {
          w.Neighbours[i * MaximumNeighbours + 2 * d] = map[gridIndex[i] - stride[d]];
        }
        if (c + 1 < gridSize[d])
        {
          w.Neighbours[i * MaximumNeighbours + 2 * d + 1] = map[gridIndex[i] + stride[d]];
        }
      }
    }
    for (auto & c : w.Coordinates)
    {
      for (unsigned int d = 0; d < 3; ++d)
      {
        c[d] = high[d] > low[d] ? 2.0f * (c[d] - low[d]) / (high[d] - low[d]) - 1.0f : 0.0f;
      }
    }
  }

  double sum = 0.0;
  for (const float v : values)
  {
    sum += v;
  }
  w.Shift = sum / static_cast<double>(w.N);
  w.Previous.assign(w.N * w.K, 0.0f);
  w.Current.assign(w.N * w.K, 0.0f);
  w.Expected.assign(w.N, 0.0f);
  w.Weight.assign(w.N, 0.0f);
  w.LogBias.assign(w.N, 0.0f);
  w.ZLow = *std::min_element(values.begin(), values.end());
  w.ZHigh = *std::max_element(values.begin(), values.end());

  m_Tissues = initial;
  m_Proportions.assign(w.C, 1.0 / w.C);
  m_Reseeded.clear();
  m_Iterations = 0;
  double previousEnergy = 0.0;
  for (unsigned int iteration = 0; iteration < MaximumNumberOfIterations; ++iteration)
  {
    const double energy = Sweep(w, values, false);
    std::swap(w.Previous, w.Current);
    ++m_Iterations;
    UpdateTissues(w, initial);
    // The field only once the tissue model has settled on the uncorrected image (BiasFieldDelay iterations), so
    // that a first rough classification does not shape it.
    if (EstimateBiasField && iteration + 1 >= BiasFieldDelay)
    {
      FitBiasField(w, values);
    }
    const bool converged =
      iteration > 0 && (!EstimateBiasField || iteration + 1 > BiasFieldDelay) && std::abs(energy - previousEnergy) <= ConvergenceThreshold * std::abs(previousEnergy);
    previousEnergy = energy;
    if (converged)
    {
      break;
    }
  }
  Finish(w, values);
}
} // namespace itk

namespace itk
{
void
PartialVolumeTissueModel::BuildTable(Workspace & w) const
{
  const unsigned int K = w.K;
  const unsigned int C = w.C;
  double             smallest = std::numeric_limits<double>::infinity();
  for (const double v : m_Tissues.Variance)
  {
    smallest = std::min(smallest, std::sqrt(v));
  }
  // Nodes at most a sixteenth of the narrowest standard deviation apart (2 to 65536 of them): linear
  // interpolation of a Gaussian's logarithm is then within 1/2048 of a unit.
  const double range = std::max(w.ZHigh - w.ZLow, 1e-12 * std::max(1.0, std::abs(w.ZHigh)));
  w.Nodes = static_cast<std::size_t>(std::min(65536.0, std::max(2.0, std::ceil(16.0 * range / smallest) + 1.0)));
  w.TableLow = w.ZLow;
  w.TableStep = range / static_cast<double>(w.Nodes - 1);
  w.Table.assign(w.Nodes * C * 2, 0.0);
  std::vector<double> pure(3 * K);
  for (unsigned int k = 0; k < K; ++k)
  {
    pure[3 * k] = std::log(m_Proportions[k]) - 0.5 * std::log(2.0 * Pi * m_Tissues.Variance[k]);
    pure[3 * k + 1] = 0.5 / m_Tissues.Variance[k];
    pure[3 * k + 2] = m_Tissues.Mean[k];
  }
  for (std::size_t n = 0; n < w.Nodes; ++n)
  {
    const double z = w.TableLow + static_cast<double>(n) * w.TableStep;
    double *     row = w.Table.data() + n * C * 2;
    for (unsigned int k = 0; k < K; ++k)
    {
      const double d = z - pure[3 * k + 2];
      row[2 * k] = pure[3 * k] - d * d * pure[3 * k + 1];
    }
    for (unsigned int j = 0; j + K < C; ++j)
    {
      const double    muA = m_Tissues.Mean[j];
      const double    muB = m_Tissues.Mean[j + 1];
      const double    sigma = std::sqrt(0.5 * (m_Tissues.Variance[j] + m_Tissues.Variance[j + 1]));
      const ClassTerm t = MixedTerm(z, muA, muB, sigma);
      row[2 * (K + j)] = std::log(m_Proportions[K + j]) - std::log(muB - muA) + t.LogTerm;
      row[2 * (K + j) + 1] = t.Fraction;
    }
  }
}

double
PartialVolumeTissueModel::Sweep(Workspace & w, const std::vector<float> & values, bool final)
{
  BuildTable(w);
  const unsigned int K = w.K;
  const unsigned int C = w.C;
  const double       beta = MRFWeight;
  const bool         bias = EstimateBiasField;
  if (final)
  {
    m_Fractions.assign(w.N * K, 0.0f);
    m_Labels.assign(w.N, 0);
  }
  w.Parallel([&](std::size_t block) {
    std::vector<double> s(K), e(C), f(C), q(C), fraction(K);
    double *            sums = w.BlockSums.data() + block * w.Stride;
    std::fill(sums, sums + w.Stride, 0.0);
    const std::size_t end = std::min(w.N, (block + 1) * BlockSize);
    for (std::size_t i = block * BlockSize; i < end; ++i)
    {
      std::fill(s.begin(), s.end(), 0.0);
      for (int n = 0; n < MaximumNeighbours; ++n)
      {
        const std::int32_t j = w.Neighbours[i * MaximumNeighbours + n];
        if (j >= 0)
        {
          for (unsigned int k = 0; k < K; ++k)
          {
            s[k] += w.Previous[static_cast<std::size_t>(j) * K + k];
          }
        }
      }
      const double z = bias ? values[i] * std::exp(-static_cast<double>(w.LogBias[i])) : values[i];
      double       t = std::min(std::max((z - w.TableLow) / w.TableStep, 0.0), static_cast<double>(w.Nodes - 1));
      std::size_t  node = std::min(static_cast<std::size_t>(t), w.Nodes - 2);
      t -= static_cast<double>(node);
      const double * a = w.Table.data() + node * C * 2;
      const double * b = a + C * 2;
      double         maximum = -std::numeric_limits<double>::infinity();
      for (unsigned int c = 0; c < C; ++c)
      {
        const double field = c < K ? s[c] : 0.5 * (s[c - K] + s[c - K + 1]);
        e[c] = a[2 * c] + t * (b[2 * c] - a[2 * c]) + beta * field;
        f[c] = a[2 * c + 1] + t * (b[2 * c + 1] - a[2 * c + 1]);
        maximum = std::max(maximum, e[c]);
      }
      double total = 0.0;
      for (unsigned int c = 0; c < C; ++c)
      {
        q[c] = std::exp(e[c] - maximum);
        total += q[c];
      }
      sums[3 * K + C] += maximum + std::log(total);
      float *      content = w.Current.data() + i * K;
      const double dz = z - w.Shift;
      std::fill(fraction.begin(), fraction.end(), 0.0);
      for (unsigned int c = 0; c < C; ++c)
      {
        q[c] /= total;
        sums[3 * K + c] += q[c];
      }
      for (unsigned int k = 0; k < K; ++k)
      {
        sums[3 * k] += q[k];
        sums[3 * k + 1] += q[k] * dz;
        sums[3 * k + 2] += q[k] * dz * dz;
        fraction[k] += q[k];
      }
      for (unsigned int j = 0; j + K < C; ++j)
      {
        const double r = q[K + j];
        fraction[j] += r * (1.0 - f[K + j]);
        fraction[j + 1] += r * f[K + j];
      }
      for (unsigned int k = 0; k < K; ++k)
      {
        double value = q[k];
        if (k > 0 && K < C)
        {
          value += 0.5 * q[K + k - 1];
        }
        if (k + 1 < K && K < C)
        {
          value += 0.5 * q[K + k];
        }
        content[k] = static_cast<float>(value);
      }
      if (bias)
      {
        // The residual of the pure classes only: in a mixed class the fraction follows the intensity and would
        // absorb the field.
        double pureWeight = 0.0, pureMean = 0.0, pureSpread = 0.0;
        for (unsigned int k = 0; k < K; ++k)
        {
          pureWeight += q[k];
          pureMean += q[k] * m_Tissues.Mean[k];
          pureSpread += q[k] * m_Tissues.Variance[k];
        }
        const double m = pureWeight > 0.0 ? pureMean / pureWeight : 0.0;
        w.Expected[i] = static_cast<float>(m);
        w.Weight[i] = pureWeight > 0.0 ? static_cast<float>(pureWeight * m * m * pureWeight / pureSpread) : 0.0f;
      }
      if (final)
      {
        float *      out = m_Fractions.data() + i * K;
        unsigned int best = 0;
        for (unsigned int k = 0; k < K; ++k)
        {
          out[k] = static_cast<float>(fraction[k]);
          sums[3 * K + C + 1 + k] += out[k];
          best = out[k] > out[best] ? k : best;
        }
        m_Labels[i] = static_cast<std::uint8_t>(best + 1);
      }
    }
  });
  double energy = 0.0;
  for (std::size_t block = 0; block < w.Blocks; ++block)
  {
    energy += w.BlockSums[block * w.Stride + 3 * K + C];
  }
  return energy;
}

void
PartialVolumeTissueModel::UpdateTissues(Workspace & w, const Tissues & initial)
{
  const unsigned int  K = w.K;
  const unsigned int  C = w.C;
  std::vector<double> totals(w.Stride, 0.0);
  for (std::size_t block = 0; block < w.Blocks; ++block)
  {
    for (std::size_t j = 0; j < w.Stride; ++j)
    {
      totals[j] += w.BlockSums[block * w.Stride + j];
    }
  }
  // Variance floor: the caller's, and a twentieth of the smallest initial gap between means (squared), below
  // which a class no longer describes a tissue but a spike of the histogram.
  double smallestGap = std::numeric_limits<double>::infinity();
  for (unsigned int k = 1; k < K; ++k)
  {
    smallestGap = std::min(smallestGap, (initial.Mean[k] - initial.Mean[k - 1]) / 20.0);
  }
  const double floor = K > 1 ? std::max(VarianceFloor, smallestGap * smallestGap) : VarianceFloor;
  const auto n = static_cast<double>(w.N);
  for (unsigned int c = 0; c < C; ++c)
  {
    m_Proportions[c] = std::max(totals[3 * K + c] / n, 1e-12);
  }
  double pooled = 0.0;
  double pooledWeight = 0.0;
  for (unsigned int k = 0; k < K; ++k)
  {
    const double weight = totals[3 * k];
    if (weight > 0.0)
    {
      const double mean = totals[3 * k + 1] / weight;
      m_Tissues.Mean[k] = w.Shift + mean;
      m_Tissues.Variance[k] = std::max(totals[3 * k + 2] / weight - mean * mean, floor);
      pooled += weight * m_Tissues.Variance[k];
      pooledWeight += weight;
    }
  }
  if (CommonVariance && pooledWeight > 0.0)
  {
    std::fill(m_Tissues.Variance.begin(), m_Tissues.Variance.end(), std::max(pooled / pooledWeight, floor));
  }
  // Collapse guard: a tissue with a negligible share, or whose mean left the order, restarts from the initial
  // parameters with an even share (at most twice).
  for (unsigned int k = 0; k < K; ++k)
  {
    double share = m_Proportions[k];
    if (K < C)
    {
      share += (k > 0 ? 0.5 * m_Proportions[K + k - 1] : 0.0) + (k + 1 < K ? 0.5 * m_Proportions[K + k] : 0.0);
    }
    const bool outOfOrder = (k > 0 && !(m_Tissues.Mean[k] > m_Tissues.Mean[k - 1])) ||
                            (k + 1 < K && !(m_Tissues.Mean[k] < m_Tissues.Mean[k + 1]));
    if ((share < NegligibleProportion || outOfOrder) && w.ReseedCount[k] < 2)
    {
      ++w.ReseedCount[k];
      if (std::find(m_Reseeded.begin(), m_Reseeded.end(), k) == m_Reseeded.end())
      {
        m_Reseeded.push_back(k);
      }
      m_Tissues.Mean[k] = initial.Mean[k];
      m_Tissues.Variance[k] = std::max(initial.Variance[k], floor);
      m_Proportions[k] = std::max(m_Proportions[k], 1.0 / C);
    }
  }
  // Means must ascend for the mixed classes: where a re-seed could not restore the order, keep the initial means.
  if (!std::is_sorted(m_Tissues.Mean.begin(), m_Tissues.Mean.end()) ||
      std::adjacent_find(m_Tissues.Mean.begin(), m_Tissues.Mean.end()) != m_Tissues.Mean.end())
  {
    m_Tissues.Mean = initial.Mean;
  }
  double proportionTotal = 0.0;
  for (const double p : m_Proportions)
  {
    proportionTotal += p;
  }
  for (double & p : m_Proportions)
  {
    p /= proportionTotal;
  }
}

void
PartialVolumeTissueModel::FitBiasField(Workspace & w, const std::vector<float> & values)
{
  // Monomials of total degree <= BiasFieldDegree in the coordinates that vary.
  std::vector<unsigned int> dimensions;
  for (unsigned int d = 0; d < 3; ++d)
  {
    for (const auto & c : w.Coordinates)
    {
      if (c[d] != w.Coordinates[0][d])
      {
        dimensions.push_back(d);
        break;
      }
    }
  }
  std::vector<std::array<unsigned int, 3>> powers;
  const unsigned int                       D = BiasFieldDegree;
  for (unsigned int a = 0; a <= D; ++a)
  {
    for (unsigned int b = 0; a + b <= D; ++b)
    {
      for (unsigned int c = 0; a + b + c <= D; ++c)
      {
        const std::array<unsigned int, 3> p{ { a, b, c } };
        bool                              used = true;
        for (unsigned int d = 0; d < 3; ++d)
        {
          used = used && (p[d] == 0 || std::find(dimensions.begin(), dimensions.end(), d) != dimensions.end());
        }
        if (used)
        {
          powers.push_back(p);
        }
      }
    }
  }
  const std::size_t P = powers.size();
  auto              basis = [&](std::size_t i, double * phi) {
    for (std::size_t p = 0; p < P; ++p)
    {
      double value = 1.0;
      for (unsigned int d = 0; d < 3; ++d)
      {
        for (unsigned int e = 0; e < powers[p][d]; ++e)
        {
          value *= w.Coordinates[i][d];
        }
      }
      phi[p] = value;
    }
  };
  // Weighted least squares on a fixed subsample (at most about 2^18 voxels): normal equations per block.
  const std::size_t   step = std::max<std::size_t>(1, w.N >> 18);
  const std::size_t   stride = P * P + P;
  std::vector<double> blockNormal(w.Blocks * stride, 0.0);
  w.Parallel([&](std::size_t block) {
    std::vector<double> phi(P);
    double *            A = blockNormal.data() + block * stride;
    const std::size_t   end = std::min(w.N, (block + 1) * BlockSize);
    for (std::size_t i = (block * BlockSize + step - 1) / step * step; i < end; i += step)
    {
      if (!(values[i] > 0.0f) || !(w.Expected[i] > 0.0f) || !(w.Weight[i] > 0.0f))
      {
        continue;
      }
      const double r = static_cast<double>(values[i]) / static_cast<double>(w.Expected[i]);
      const double weight = w.Weight[i];
      basis(i, phi.data());
      for (std::size_t p = 0; p < P; ++p)
      {
        for (std::size_t o = 0; o <= p; ++o)
        {
          A[p * P + o] += weight * phi[p] * phi[o];
        }
        A[P * P + p] += weight * r * phi[p];
      }
    }
  });
  std::vector<double> A(stride, 0.0);
  for (std::size_t block = 0; block < w.Blocks; ++block)
  {
    for (std::size_t j = 0; j < stride; ++j)
    {
      A[j] += blockNormal[block * stride + j];
    }
  }
  std::vector<double> coefficients;
  if (!SolveRegularised(A, powers, BiasFieldRegularization, coefficients))
  {
    return; // singular: keep the previous field
  }
  // The field at every voxel, then its mean removed (block sums in order) and the corrected range.
  std::vector<double> blockMean(w.Blocks * 3, 0.0);
  w.Parallel([&](std::size_t block) {
    std::vector<double> phi(P);
    const std::size_t   end = std::min(w.N, (block + 1) * BlockSize);
    double              total = 0.0;
    for (std::size_t i = block * BlockSize; i < end; ++i)
    {
      basis(i, phi.data());
      double value = 0.0;
      for (std::size_t p = 0; p < P; ++p)
      {
        value += coefficients[p] * phi[p];
      }
      w.LogBias[i] = static_cast<float>(std::log(std::max(value, 0.1)));
      total += w.LogBias[i];
    }
    blockMean[block] = total;
  });
  double mean = 0.0;
  for (std::size_t block = 0; block < w.Blocks; ++block)
  {
    mean += blockMean[block];
  }
  mean /= static_cast<double>(w.N);
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (std::size_t i = 0; i < w.N; ++i)
  {
    w.LogBias[i] = static_cast<float>(w.LogBias[i] - mean);
    const double z = values[i] * std::exp(-static_cast<double>(w.LogBias[i]));
    low = std::min(low, z);
    high = std::max(high, z);
  }
  w.ZLow = low;
  w.ZHigh = high;
}

void
PartialVolumeTissueModel::Finish(Workspace & w, const std::vector<float> & values)
{
  Sweep(w, values, true);
  const unsigned int K = w.K;
  m_Posteriors = w.Current;
  m_FractionSums.assign(K, 0.0);
  for (std::size_t block = 0; block < w.Blocks; ++block)
  {
    for (unsigned int k = 0; k < K; ++k)
    {
      m_FractionSums[k] += w.BlockSums[block * w.Stride + 3 * K + w.C + 1 + k];
    }
  }
  m_BiasField.resize(w.N);
  for (std::size_t i = 0; i < w.N; ++i)
  {
    m_BiasField[i] = std::exp(w.LogBias[i]);
  }
}

std::vector<unsigned int>
PartialVolumeTissueModel::GetNegligibleClasses() const
{
  std::vector<unsigned int> result;
  const double              total = static_cast<double>(m_Labels.size());
  for (unsigned int k = 0; k < m_FractionSums.size(); ++k)
  {
    if (m_FractionSums[k] < NegligibleProportion * total)
    {
      result.push_back(k);
    }
  }
  return result;
}

void
PartialVolumeTissueModel::Print(std::ostream & os) const
{
  auto list = [&os](const char * name, const auto & values) {
    os << name << ": [";
    for (std::size_t i = 0; i < values.size(); ++i)
    {
      os << (i ? ", " : "") << values[i];
    }
    os << "]\n";
  };
  os << "PartialVolume: " << (PartialVolume ? "On" : "Off") << "\nMRFWeight: " << MRFWeight
     << "\nEstimateBiasField: " << (EstimateBiasField ? "On" : "Off") << "\nBiasFieldDegree: " << BiasFieldDegree
     << "\nMaximumNumberOfIterations: " << MaximumNumberOfIterations
     << "\nConvergenceThreshold: " << ConvergenceThreshold << "\nCommonVariance: " << (CommonVariance ? "On" : "Off")
     << "\nVarianceFloor: " << VarianceFloor << "\nNegligibleProportion: " << NegligibleProportion
     << "\nNumberOfWorkUnits: " << NumberOfWorkUnits << "\nIterations: " << m_Iterations << "\n";
  list("Means", m_Tissues.Mean);
  list("Variances", m_Tissues.Variance);
  list("Proportions", m_Proportions);
  list("FractionSums", m_FractionSums);
  list("Reseeded", m_Reseeded);
  os << "Voxels: " << m_Labels.size() << "\n";
}
} // namespace itk
