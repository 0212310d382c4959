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
#include "itkPartialVolumeTissueModelWorkspace.h"
#include "itkPartialVolumeTissueModelLanes.h"

#include "itkMacro.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <ostream>

namespace itk
{
namespace
{
using PartialVolumeTissueModelDetail::BlockSize;
using PartialVolumeTissueModelDetail::Lanes;
using PartialVolumeTissueModelDetail::NeighbourIndex;
constexpr double      Pi = 3.14159265358979323846;
/** Share of the voxels the mixed classes start with in the partial-volume stage (then calibrated). */
constexpr double InitialMixedShare = 0.2;

/** Sum of the logarithms of many positive factors with one logarithm per many factors: the running product is
 * folded into the sum only when it leaves [1e-100, 1e100]. */
struct LogOfProduct
{
  double Sum{ 0.0 };
  double Product{ 1.0 };
  void
  Add(double factor)
  {
    Product *= factor;
    if (!(Product > 1e-100 && Product < 1e100))
    {
      Sum += std::log(Product);
      Product = 1.0;
    }
  }
  double
  Total() const
  {
    return Sum + std::log(Product);
  }
};

/** Per-class data terms at a node of the intensity table: log-likelihood (with the log-proportion) and, for a
 * mixed class, the posterior mean fraction of the upper tissue. */
struct ClassTerm
{
  double LogTerm;
  double Fraction;
  double Residual; // E[(z - mean(f))^2] / sigma^2 under the posterior of f
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
    return { -0.5 * t * t - std::log(t * std::sqrt(2.0 * Pi)), u > 0.0 ? 0.0 : 1.0, t * t };
  }
  const double phiU = std::exp(-0.5 * u * u) / std::sqrt(2.0 * Pi);
  const double phiV = std::exp(-0.5 * v * v) / std::sqrt(2.0 * Pi);
  const double m = (z - muA) / width;
  const double s = sigma / width;
  const double f = m + s * (phiU - phiV) / d;
  const double residual = 1.0 + (u * phiU - v * phiV) / d;
  return { std::log(d), std::min(1.0, std::max(0.0, f)), std::max(0.0, residual) };
}

/** Scales positive weights to sum 1. */
void
Normalise(std::vector<double> & weights)
{
  double total = 0.0;
  for (const double p : weights)
  {
    total += p;
  }
  for (double & p : weights)
  {
    p /= total;
  }
}

/** The neighbours of every voxel: along the rows (steps[0] and steps[1], -x and +x, voxels i - 1 and i + 1 where
 * they are neighbours) as bits 0 and 1 of rowNeighbours[i], the others as voxel numbers (neighbours[i * (steps - 2)
 * + n - 2], N where the neighbour lies outside the grid or does not take part); with coordinates, each voxel's
 * grid coordinates (N x (steps - 2) and N entries written). Works on spans (voxels of consecutive grid indices along a row): in each direction, the spans
 * of the neighbouring row that face a span, found by a cursor per direction that only moves forward (the grid
 * index of the neighbour ascends with the voxel's); no map of the grid, a few steps per span. Throws where
 * gridIndex does not ascend. */
void
FindNeighbours(const std::vector<std::uint64_t> &      gridIndex,
               const std::array<std::uint64_t, 3> &    gridSize,
               const std::vector<std::array<int, 3>> & steps,
               std::uint8_t *                          rowNeighbours,
               NeighbourIndex *                        neighbours,
               std::vector<std::array<float, 3>> *     coordinates)
{
  const std::size_t   N = gridIndex.size();
  const std::size_t   S = steps.size() - 2;
  const std::uint64_t G0 = gridSize[0];
  std::vector<std::size_t> span; // the first voxel of every span, and N
  for (std::size_t i = 0; i < N; ++i)
  {
    const std::uint64_t g = gridIndex[i];
    if (i > 0 && g <= gridIndex[i - 1])
    {
      itkGenericExceptionMacro(<< "PartialVolumeTissueModel: grid index " << g << " of voxel " << i
                               << " does not ascend");
    }
    if (i == 0 || g != gridIndex[i - 1] + 1 || g % G0 == 0)
    {
      span.push_back(i);
    }
  }
  span.push_back(N);
  std::vector<std::size_t> cursor(S, 0); // per direction: a span
  for (std::size_t s = 0; s + 1 < span.size(); ++s)
  {
    const std::size_t                 i0 = span[s];
    const auto                        L = static_cast<std::int64_t>(span[s + 1] - i0);
    const std::uint64_t               g0 = gridIndex[i0];
    const std::array<std::int64_t, 3> c{ { static_cast<std::int64_t>(g0 % G0),
                                           static_cast<std::int64_t>(g0 / G0 % gridSize[1]),
                                           static_cast<std::int64_t>(g0 / (G0 * gridSize[1])) } };
    for (std::int64_t o = 0; o < L; ++o)
    {
      rowNeighbours[i0 + o] = static_cast<std::uint8_t>((o > 0 ? 1u : 0u) | (o + 1 < L ? 2u : 0u));
      if (coordinates)
      {
        (*coordinates)[i0 + o] = { { static_cast<float>(c[0] + o), static_cast<float>(c[1]), static_cast<float>(c[2]) } };
      }
    }
    for (std::size_t n = 0; n < S; ++n)
    {
      const std::array<int, 3> & step = steps[n + 2];
      NeighbourIndex *           out = neighbours + i0 * S + n; // voxel i0 + o: out[o * S]
      std::int64_t               o = 0;                                // the span's voxels before o are written
      if (c[1] + step[1] >= 0 && c[1] + step[1] < static_cast<std::int64_t>(gridSize[1]) && c[2] + step[2] >= 0 &&
          c[2] + step[2] < static_cast<std::int64_t>(gridSize[2]))
      {
        // The span's voxels whose neighbour lies inside the grid along x, and the grid indices they face.
        const std::int64_t a = std::max<std::int64_t>(0, -step[0] - c[0]);
        const std::int64_t b = std::min<std::int64_t>(L, static_cast<std::int64_t>(G0) - step[0] - c[0]);
        const std::int64_t shift = step[0] + static_cast<std::int64_t>(G0) *
                                               (step[1] + static_cast<std::int64_t>(gridSize[1]) * step[2]);
        const std::int64_t low = static_cast<std::int64_t>(g0) + shift + a;
        const std::int64_t high = static_cast<std::int64_t>(g0) + shift + b;
        std::size_t &      t = cursor[n];
        while (t + 1 < span.size() && static_cast<std::int64_t>(gridIndex[span[t]] + (span[t + 1] - span[t])) <= low)
        {
          ++t;
        }
        for (std::size_t u = t; u + 1 < span.size() && static_cast<std::int64_t>(gridIndex[span[u]]) < high; ++u)
        {
          // Voxel i0 + o faces grid index g0 + shift + o: voxel span[u] + (g0 + shift + o - start) where it lies
          // in span u.
          const auto         start = static_cast<std::int64_t>(gridIndex[span[u]]);
          const std::int64_t first = std::max(low, start) - static_cast<std::int64_t>(g0) - shift;
          const std::int64_t last = std::min(high, start + static_cast<std::int64_t>(span[u + 1] - span[u])) -
                                    static_cast<std::int64_t>(g0) - shift;
          const std::int64_t offset = static_cast<std::int64_t>(span[u]) - start + static_cast<std::int64_t>(g0) + shift;
          for (; o < last; ++o)
          {
            out[o * static_cast<std::int64_t>(S)] = static_cast<std::int32_t>(o < first ? static_cast<std::int64_t>(N) : offset + o);
          }
        }
      }
      for (; o < L; ++o)
      {
        out[o * static_cast<std::int64_t>(S)] = static_cast<std::int32_t>(N);
      }
    }
  }
}

/** What one mean-field sweep reads and writes (see PartialVolumeTissueModel::Sweep). */
struct SweepData
{
  unsigned int         K;
  unsigned int         C;
  unsigned int         Neighbourhood; // neighbours in the table per voxel (all but those along the row)
  const NeighbourIndex * Neighbours;
  const std::uint8_t * RowNeighbours; // bit 0: voxel i - 1 is the -x neighbour, bit 1: voxel i + 1 the +x one
  std::size_t          N;             // voxels; voxel N, of content 0, stands for a missing neighbour
  const float *        Previous;
  float *              Current; // null where no later sweep reads the contents
  const float *        Z;
  const float *        Table;
  std::size_t          Nodes;
  float                Low;
  float                InverseStep;
  float                Beta;
  double               Shift;
  const float *        Prior;
  bool                 Calibrated; // the prior sums R_c (calibrated proportions) are wanted
  bool                 Energy;     // the mean-field energy is wanted (the pure stage's convergence test)
  const float *        Mean;     // K
  const float *        Variance; // K
  float *              Expected; // bias fit: null without it
  float *              Weight;
  float *              Fractions; // final sweep: null otherwise
  std::uint8_t *       Labels; // null where the labels are not wanted
};

/** The sweep over voxels [begin, end), four at a time, adding to blockSums (layout of Workspace::Stride); FixedK > 0
 * makes the number of tissues and, with Mixed (the mixed classes present), of classes compile-time constants (for
 * 2 to 4 tissues, so that the per-class loops unroll and the sums stay in a local array), 0 the run-time K and C.
 * The per-voxel terms are computed in four single-precision lanes (one voxel each; every lane's arithmetic is the
 * scalar one), the sums over the voxels in double precision one voxel after the other, in voxel order. */
template <unsigned int FixedK, bool Mixed>
class SweepKernel
{
public:
  SweepKernel(const SweepData & d)
    : d(d)
  {}

  void
  Run(std::size_t begin, std::size_t end, double * blockSums)
  {
    const auto [K, C, M, Width] = this->Counts();
    // Compile-time layout: the sums in a local array (same additions in the same order), copied out at the end.
    double * sums = FixedK > 0 ? m_Local.data() : blockSums;
    for (std::size_t first = begin; first < end; first += 4)
    {
      const auto count = static_cast<unsigned int>(std::min<std::size_t>(4, end - first));
      this->Terms(first, count);
      for (unsigned int l = 0; l < count; ++l)
      {
        this->Add(first + l, l, sums);
      }
    }
    sums[3 * K + C] = d.Energy ? m_MaximumSum + m_LogOfTotals.Total() : 0.0;
    for (unsigned int k = 0; k < K; ++k)
    {
      sums[3 * k] = sums[3 * K + k]; // the same posteriors added in the same order (see Add)
    }
    if (FixedK > 0)
    {
      std::copy(m_Local.begin(), m_Local.end(), blockSums);
    }
  }

private:
  static constexpr unsigned int MaxK = FixedK > 0 ? FixedK : 255;
  static constexpr unsigned int MaxC = Mixed || FixedK == 0 ? 2 * MaxK - 1 : MaxK;
  static constexpr unsigned int MaxEntries = 2 * (MaxC + 1 + 2 * (MaxC - MaxK)) + 3; // two table rows, and a chunk
  static constexpr unsigned int FixedC = FixedK > 0 ? MaxC : 0;

  /** The lanes' terms of voxels first..first+count-1 (a voxel beyond them repeats the last). */
  void
  Terms(std::size_t first, unsigned int count)
  {
    const auto [K, C, M, Width] = this->Counts();
    std::array<std::size_t, 4> voxel{};
    std::array<float, 4>       z{};
    for (unsigned int l = 0; l < 4; ++l)
    {
      voxel[l] = first + std::min(l, count - 1);
      z[l] = d.Z[voxel[l]];
    }
    // The 4 neighbours of a 3-D grid outside the row as a compile-time constant, so that the loop unrolls.
    d.Neighbourhood == 4 ? this->NeighbourSums<4>(voxel) : this->NeighbourSums<0>(voxel);
    // Table rows: node and node + 1 of each lane, transposed to one Lanes per entry.
    const Lanes zLanes = Lanes::Load(z.data());
    Lanes       t = Min(Max((zLanes - Lanes::Broadcast(d.Low)) * Lanes::Broadcast(d.InverseStep), Lanes::Broadcast(0.0f)),
                  Lanes::Broadcast(static_cast<float>(d.Nodes - 1)));
    const Lanes node = Min(Floor(t), Lanes::Broadcast(static_cast<float>(d.Nodes - 2)));
    t = t - node;
    std::array<float, 4> nodes;
    node.Store(nodes.data());
    const unsigned int entries = 2 * Width;
    for (unsigned int e = 0; e < entries; e += 4)
    {
      const unsigned int   available = std::min(4u, entries - e);
      std::array<Lanes, 4> row;
      for (unsigned int l = 0; l < 4; ++l)
      {
        row[l] = Lanes::Load(d.Table + static_cast<std::size_t>(nodes[l]) * Width + e, available);
      }
      Transpose(row[0], row[1], row[2], row[3]);
      std::copy(row.begin(), row.end(), m_Entry.begin() + e);
    }
    this->Posteriors(t);
    this->Mixtures(t);
  }

  /** Neighbour sums: each lane adds its neighbours' contents in the neighbourhood's order (-x, +x first), four
   * classes at a time (a missing neighbour is voxel N, whose content stays 0), then the lanes are transposed to one
   * Lanes per class. */
  template <unsigned int FixedNeighbourhood>
  void
  NeighbourSums(const std::array<std::size_t, 4> & voxel)
  {
    const auto         K = this->Counts()[0];
    const unsigned int neighbourhood = FixedNeighbourhood > 0 ? FixedNeighbourhood : d.Neighbourhood;
    for (unsigned int k = 0; k < K; k += 4)
    {
      std::array<Lanes, 4> sum;
      for (unsigned int l = 0; l < 4; ++l)
      {
        const NeighbourIndex * neighbours = d.Neighbours + voxel[l] * neighbourhood;
        const std::size_t    row = d.RowNeighbours[voxel[l]];
        const std::size_t    left = row & 1u ? voxel[l] - 1 : d.N;
        const std::size_t    right = row & 2u ? voxel[l] + 1 : d.N;
        sum[l] = Lanes::Broadcast(0.0f) + Lanes::Load(d.Previous + left * K + k);
        sum[l] = sum[l] + Lanes::Load(d.Previous + right * K + k);
        for (unsigned int n = 0; n < neighbourhood; ++n)
        {
          sum[l] = sum[l] + Lanes::Load(d.Previous + static_cast<std::size_t>(neighbours[n]) * K + k);
        }
      }
      Transpose(sum[0], sum[1], sum[2], sum[3]);
      std::copy(sum.begin(), sum.end(), m_S.begin() + k);
    }
  }

  /** Interpolated entry e of the table. */
  Lanes
  Entry(unsigned int e, Lanes t) const
  {
    const auto [K, C, M, Width] = this->Counts();
    return m_Entry[e] + t * (m_Entry[Width + e] - m_Entry[e]);
  }

  /** The class posteriors u (with exp(beta field_c) relative to the largest: a mixed class's field is the mean of
   * its tissues' fields) and the prior's shares r, stored per lane. */
  void
  Posteriors(Lanes t)
  {
    const auto [K, C, M, Width] = this->Counts();
    if (d.Energy)
    {
      (this->Entry(C, t)).Store(m_Maximum.data());
    }
    Lanes largest = m_S[0];
    for (unsigned int k = 1; k < K; ++k)
    {
      largest = Max(largest, m_S[k]);
    }
    const Lanes beta = Lanes::Broadcast(d.Beta);
    (beta * largest).Store(m_BetaLargest.data());
    for (unsigned int k = 0; k < K; ++k)
    {
      m_H[k] = ExpNonPositive(beta * (m_S[k] - largest));
    }
    for (unsigned int j = 0; j < M; ++j)
    {
      m_H[K + j] = Sqrt(m_H[j] * m_H[j + 1]);
    }
    Lanes total = Lanes::Broadcast(0.0f);
    for (unsigned int c = 0; c < C; ++c)
    {
      m_U[c] = this->Entry(c, t) * m_H[c];
      total = total + m_U[c];
    }
    total.Store(m_Total.data());
    const Lanes inverse = Lanes::Broadcast(1.0f) / total;
    for (unsigned int c = 0; c < C; ++c)
    {
      m_U[c] = m_U[c] * inverse;
      m_U[c].Store(m_UStore[c].data());
    }
    if (d.Calibrated)
    {
      Lanes priorTotal = Lanes::Broadcast(0.0f);
      for (unsigned int c = 0; c < C; ++c)
      {
        m_R[c] = Lanes::Broadcast(d.Prior[c]) * m_H[c];
        priorTotal = priorTotal + m_R[c];
      }
      const Lanes priorInverse = Lanes::Broadcast(1.0f) / priorTotal;
      for (unsigned int c = 0; c < C; ++c)
      {
        (m_R[c] * priorInverse).Store(m_RStore[c].data());
      }
    }
  }

  /** The tissue contents (written to Current), the mixed classes' expected squared residuals and, in the final
   * sweep, the tissue fractions, stored per lane. */
  void
  Mixtures(Lanes t)
  {
    const auto [K, C, M, Width] = this->Counts();
    std::array<Lanes, (MaxK + 3) / 4 * 4> content{}; // classes K and above: 0
    std::copy(m_U.begin(), m_U.begin() + K, content.begin());
    std::array<Lanes, MaxK> fraction;
    std::copy(m_U.begin(), m_U.begin() + K, fraction.begin());
    const Lanes half = Lanes::Broadcast(0.5f);
    for (unsigned int j = 0; j < M; ++j)
    {
      const Lanes q = m_U[K + j];
      (q * this->Entry(C + 1 + M + j, t)).Store(m_Residual[j].data());
      if (d.Fractions)
      {
        const Lanes f = this->Entry(C + 1 + j, t);
        fraction[j] = fraction[j] + q * (Lanes::Broadcast(1.0f) - f);
        fraction[j + 1] = fraction[j + 1] + q * f;
      }
      content[j] = content[j] + half * q;
      content[j + 1] = content[j + 1] + half * q;
    }
    for (unsigned int k = 0; k < K && d.Fractions; ++k)
    {
      fraction[k].Store(m_Fraction[k].data());
    }
    for (unsigned int k = 0; k < K; k += 4)
    {
      Transpose(content[k], content[k + 1], content[k + 2], content[k + 3]);
      std::copy(content.begin() + k, content.begin() + k + 4, m_Content.begin() + k);
    }
  }

  /** Voxel i (lane l): its contents, and its terms added to the sums. */
  void
  Add(std::size_t i, unsigned int l, double * sums)
  {
    const auto [K, C, M, Width] = this->Counts();
    for (unsigned int k = 0; k < K && d.Current; k += 4)
    {
      m_Content[k + l].Store(d.Current + i * K + k, std::min(4u, K - k));
    }
    if (d.Energy)
    {
      m_MaximumSum += static_cast<double>(m_Maximum[l]) + static_cast<double>(m_BetaLargest[l]);
      m_LogOfTotals.Add(m_Total[l]);
    }
    for (unsigned int c = 0; c < C; ++c)
    {
      sums[3 * K + c] += m_UStore[c][l];
    }
    for (unsigned int c = 0; c < C && d.Calibrated; ++c)
    {
      sums[4 * K + C + 1 + c] += m_RStore[c][l];
    }
    const double dz = d.Z[i] - d.Shift;
    for (unsigned int k = 0; k < K; ++k)
    {
      // sums[3 k], the sum of u, is that of class k above: copied at the end.
      const float u = m_UStore[k][l];
      sums[3 * k + 1] += u * dz;
      sums[3 * k + 2] += u * dz * dz;
    }
    for (unsigned int j = 0; j < M; ++j)
    {
      sums[4 * K + 2 * C + 1] += m_Residual[j][l];
    }
    if (d.Expected)
    {
      // The residual of the pure classes only: in a mixed class the fraction follows the intensity and would
      // absorb the field.
      float pureWeight = 0.0f, pureMean = 0.0f, pureSpread = 0.0f;
      for (unsigned int k = 0; k < K; ++k)
      {
        pureWeight += m_UStore[k][l];
        pureMean += m_UStore[k][l] * d.Mean[k];
        pureSpread += m_UStore[k][l] * d.Variance[k];
      }
      d.Expected[i] = pureWeight > 0.0f ? pureMean / pureWeight : 0.0f;
      d.Weight[i] = pureWeight > 0.0f ? pureMean * pureMean / pureSpread : 0.0f; // w_i^2 m_i^2 / v_i
    }
    if (d.Fractions)
    {
      float *      out = d.Fractions + i * K;
      unsigned int best = 0;
      for (unsigned int k = 0; k < K; ++k)
      {
        out[k] = m_Fraction[k][l];
        sums[3 * K + C + 1 + k] += out[k];
        best = out[k] > out[best] ? k : best;
      }
      if (d.Labels)
      {
        d.Labels[i] = static_cast<std::uint8_t>(best + 1);
      }
    }
  }

  using Lane = std::array<float, 4>;

  /** Tissues K, classes C, mixed classes M and the width of a table row: compile-time constants with FixedK. */
  std::array<unsigned int, 4>
  Counts() const
  {
    const unsigned int K = FixedK > 0 ? FixedK : d.K;
    const unsigned int C = FixedK > 0 ? FixedC : d.C;
    return { { K, C, C - K, C + 1 + 2 * (C - K) } };
  }

  const SweepData &  d;
  std::array<double, (FixedK > 0 ? 4 * FixedK + 2 * FixedC + 2 : 1)> m_Local{};
  double                                                          m_MaximumSum{ 0.0 };
  LogOfProduct                                                    m_LogOfTotals;
  std::array<Lanes, (MaxK + 3) / 4 * 4>                           m_S;
  std::array<Lanes, MaxEntries / 4 * 4>                           m_Entry;
  std::array<Lanes, MaxC>                                         m_H, m_U, m_R;
  std::array<Lanes, (MaxK + 3) / 4 * 4>                           m_Content;
  Lane                                                            m_Maximum, m_BetaLargest, m_Total;
  std::array<Lane, MaxC>                                          m_UStore, m_RStore;
  std::array<Lane, MaxK>                                          m_Residual, m_Fraction;
};
} // namespace

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
  if (BiasFieldDegree > 7)
  {
    itkGenericExceptionMacro(<< "PartialVolumeTissueModel: BiasFieldDegree is " << BiasFieldDegree
                             << "; at most 7 is supported");
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
  w.K = static_cast<unsigned int>(initial.Mean.size());
  w.C = w.K;
  const unsigned int mixedIterations = PartialVolume && w.K > 1 ? PartialVolumeIterations : 0;
  w.Given = mixedIterations > 0 && (StartPosteriors.size() == values.size() * w.K || StartPosteriorGrid != nullptr);
  Prepare(w, values, gridIndex, gridSize);
  const bool started = Start.Mean.size() == w.K && Start.Variance.size() == w.K && StartProportions.size() == w.K;
  m_Tissues = started ? Start : initial;
  w.Prior = started ? StartProportions : std::vector<double>(w.K, 1.0 / w.K);
  m_Proportions = w.Prior;
  m_Reseeded.clear();
  m_Iterations = 0;
  const bool given = w.Given;
  const double totalIterations = static_cast<double>((given ? 0 : MaximumNumberOfIterations) + mixedIterations);
  if (given)
  {
    StartFromPosteriors(w, gridIndex);
  }
  else
  {
    FitPureTissues(w, values, initial, totalIterations);
    // The labels and the tissue posteriors are those of the pure stage.
    m_Posteriors.assign(w.Previous, w.Previous + w.N * w.K);
  }
  if (mixedIterations > 0)
  {
    if (Progress)
    {
      Progress(static_cast<double>(m_Iterations) / totalIterations);
    }
    FitMixedClasses(w, values, initial, mixedIterations, totalIterations); // keeps the labels
  }
  if (given && StartPosteriors.size() == w.N * w.K)
  {
    // The given posteriors, copied into the larger of the sweep's buffers, which no sweep reads any more (no
    // fresh memory where the model holds them).
    m_Posteriors.swap(w.Contents[0].capacity() > w.Contents[1].capacity() ? w.Contents[0] : w.Contents[1]);
    m_Posteriors.assign(StartPosteriors.begin(), StartPosteriors.end());
  }
  else if (given)
  {
    m_Posteriors.clear(); // the caller's, in StartPosteriorGrid
  }
  Finish(w);
  WriteFractionGrid(w, gridIndex, gridSize[0] * gridSize[1] * gridSize[2]);
  if (Progress)
  {
    Progress(1.0);
  }
}

void
PartialVolumeTissueModel::FitPureTissues(Workspace &                w,
                                         const std::vector<float> & values,
                                         const Tissues &            initial,
                                         double                     totalIterations)
{
  double             previousEnergy = 0.0;
  bool               finalSweepDone = false;
  // Stage 1: the pure tissues with the Markov random field (and the bias field).
  for (unsigned int iteration = 0; iteration < MaximumNumberOfIterations; ++iteration)
  {
    // The last allowed iteration's sweep also gives the outputs (no extra sweep after it).
    const bool   last = iteration + 1 == MaximumNumberOfIterations;
    const double energy = Sweep(w, last);
    std::swap(w.Previous, w.Current);
    ++m_Iterations;
    UpdateTissues(w, initial);
    if (last)
    {
      finalSweepDone = true;
      break;
    }
    // The field only once the tissue model has settled on the uncorrected image (BiasFieldDelay iterations), so
    // that a first rough classification does not shape it.
    if (EstimateBiasField && iteration + 1 >= BiasFieldDelay)
    {
      FitBiasField(w, values);
    }
    if (Progress)
    {
      Progress(static_cast<double>(iteration + 1) / totalIterations);
    }
    const bool converged = iteration > 0 && (!EstimateBiasField || iteration + 1 > BiasFieldDelay) &&
                           std::abs(energy - previousEnergy) <= ConvergenceThreshold * std::abs(previousEnergy);
    previousEnergy = energy;
    if (converged)
    {
      break;
    }
  }
  if (!finalSweepDone)
  {
    Sweep(w, true);
    std::swap(w.Previous, w.Current);
  }
}

void
PartialVolumeTissueModel::FitMixedClasses(Workspace &                w,
                                          const std::vector<float> & values,
                                          const Tissues &            initial,
                                          unsigned int               iterations,
                                          double                     totalIterations)
{
  // The mixed classes join with InitialMixedShare of the voxels, taken from the pure tissues in proportion.
  const std::vector<double> pure = w.Prior;
  w.C = 2 * w.K - 1;
  w.Stride = 4 * w.K + 2 * w.C + 2;
  w.BlockSums.assign(w.Blocks * w.Stride, 0.0);
  w.Calibrated = true;
  w.Prior.assign(w.C, InitialMixedShare / (w.K - 1));
  for (unsigned int k = 0; k < w.K; ++k)
  {
    w.Prior[k] = (1.0 - InitialMixedShare) * pure[k];
  }
  m_Proportions = w.Prior;
  for (unsigned int iteration = 0; iteration < iterations; ++iteration)
  {
    const bool last = iteration + 1 == iterations;
    Sweep(w, last);
    std::swap(w.Previous, w.Current);
    UpdateTissues(w, initial);
    if (last)
    {
      break;
    }
    if (EstimateBiasField)
    {
      FitBiasField(w, values);
    }
    if (Progress)
    {
      Progress(static_cast<double>(m_Iterations + iteration + 1) / totalIterations);
    }
  }
  m_Iterations += iterations;
}

void
PartialVolumeTissueModel::Prepare(Workspace &                          w,
                                  const std::vector<float> &           values,
                                  const std::vector<std::uint64_t> &   gridIndex,
                                  const std::array<std::uint64_t, 3> & gridSize) const
{
  w.N = values.size();
  w.Blocks = (w.N + BlockSize - 1) / BlockSize;
  w.Stride = 4 * w.K + 2 * w.C + 2;
  w.BlockSums.assign(w.Blocks * w.Stride, 0.0);
  w.ReseedCount.assign(w.K, 0);
  w.Threader = MultiThreaderBase::New();
  if (NumberOfWorkUnits > 0)
  {
    w.Threader->SetNumberOfWorkUnits(NumberOfWorkUnits);
  }
  // Neighbourhood as in GaussianMixtureSegmentationImageFilter: the face neighbours (6 in 3-D), and in 2-D the
  // diagonal ones as well (8), each a step in every dimension.
  const unsigned int dimension = gridSize[2] > 1 ? 3 : (gridSize[1] > 1 ? 2 : 1);
  std::vector<std::array<int, 3>> steps;
  for (unsigned int d = 0; d < dimension; ++d)
  {
    for (const int sign : { -1, 1 })
    {
      std::array<int, 3> step{ { 0, 0, 0 } };
      step[d] = sign;
      steps.push_back(step);
    }
  }
  if (dimension == 2)
  {
    for (const int a : { -1, 1 })
    {
      for (const int b : { -1, 1 })
      {
        steps.push_back({ { a, b, 0 } });
      }
    }
  }
  w.Neighbourhood = static_cast<unsigned int>(steps.size()) - 2; // -x and +x: w.RowTable
  // Coordinates of every voxel for the bias field.
  w.Coordinates.resize(EstimateBiasField ? w.N : 0);
  // The neighbour table after the content buffers in FractionGrid where it has room for them (memory written there
  // in the end anyway, see PlaceContents), in the model's own memory otherwise.
  const std::uint64_t gridFloats = FractionGrid != nullptr ? gridSize[0] * gridSize[1] * gridSize[2] * w.K : 0;
  const std::size_t   contents = 2 * ((w.N + 1) * w.K + 3);
  const std::size_t   table = w.N * w.Neighbourhood + (w.N + 3) / 4; // in floats: the voxel numbers, then the bits
  w.Neighbours.clear();
  w.RowNeighbours.clear();
  if (contents + table <= gridFloats)
  {
    w.NeighbourTable = reinterpret_cast<NeighbourIndex *>(FractionGrid + contents);
    w.RowTable = reinterpret_cast<std::uint8_t *>(FractionGrid + contents + w.N * w.Neighbourhood);
  }
  else
  {
    w.Neighbours.resize(w.N * w.Neighbourhood);
    w.RowNeighbours.resize(w.N);
    w.NeighbourTable = w.Neighbours.data();
    w.RowTable = w.RowNeighbours.data();
  }
  FindNeighbours(gridIndex, gridSize, steps, w.RowTable, w.NeighbourTable, EstimateBiasField ? &w.Coordinates : nullptr);
  std::array<float, 3> low{ { std::numeric_limits<float>::max(), std::numeric_limits<float>::max(),
                              std::numeric_limits<float>::max() } };
  std::array<float, 3> high{ { 0.0f, 0.0f, 0.0f } };
  for (const auto & c : w.Coordinates)
  {
    for (unsigned int d = 0; d < 3; ++d)
    {
      low[d] = std::min(low[d], c[d]);
      high[d] = std::max(high[d], c[d]);
    }
  }
  for (auto & c : w.Coordinates)
  {
    for (unsigned int d = 0; d < 3; ++d)
    {
      c[d] = high[d] > low[d] ? 2.0f * (c[d] - low[d]) / (high[d] - low[d]) - 1.0f : 0.0f;
    }
  }
  double sum = 0.0;
  for (const float v : values)
  {
    sum += v;
  }
  w.Shift = sum / static_cast<double>(w.N);
  PlaceContents(w, gridSize[0] * gridSize[1] * gridSize[2]);
  // The intensity the sweep reads: the values, or with the bias field their quotients Z by it.
  w.Z.assign(EstimateBiasField ? values.begin() : values.end(), values.end());
  w.Intensity = EstimateBiasField ? w.Z.data() : values.data();
  w.Field.assign(EstimateBiasField ? w.N : 0, 1.0f);
  w.Expected.assign(EstimateBiasField ? w.N : 0, 0.0f);
  w.Weight.assign(EstimateBiasField ? w.N : 0, 0.0f);
  w.ZLow = *std::min_element(values.begin(), values.end());
  w.ZHigh = *std::max_element(values.begin(), values.end());
}

void
PartialVolumeTissueModel::BuildTable(Workspace & w) const
{
  const unsigned int K = w.K;
  const unsigned int C = w.C;
  const unsigned int M = C - K;
  double             smallest = std::numeric_limits<double>::infinity();
  for (const double v : m_Tissues.Variance)
  {
    smallest = std::min(smallest, std::sqrt(v));
  }
  // Nodes at most a 32nd of the narrowest standard deviation apart (2 to 65536 of them): linear interpolation of
  // the likelihood ratios exp(L_c - max L) is then within 0.1 % of them within 3 standard deviations of a mean.
  const double range = std::max(w.ZHigh - w.ZLow, 1e-12 * std::max(1.0, std::abs(w.ZHigh)));
  w.Nodes = static_cast<std::size_t>(std::min(65536.0, std::max(2.0, std::ceil(32.0 * range / smallest) + 1.0)));
  w.TableLow = w.ZLow;
  w.TableStep = range / static_cast<double>(w.Nodes - 1);
  const std::size_t width = C + 1 + 2 * M;
  w.Table.assign(w.Nodes * width, 0.0f);
  std::vector<double> logTerm(C);
  w.LogProportion.resize(C);
  for (unsigned int c = 0; c < C; ++c)
  {
    w.LogProportion[c] = std::log(w.Prior[c]);
  }
  for (std::size_t n = 0; n < w.Nodes; ++n)
  {
    const double z = w.TableLow + static_cast<double>(n) * w.TableStep;
    float *      row = w.Table.data() + n * width;
    for (unsigned int k = 0; k < K; ++k)
    {
      const double d = z - m_Tissues.Mean[k];
      logTerm[k] = w.LogProportion[k] - 0.5 * std::log(2.0 * Pi * m_Tissues.Variance[k]) -
                   0.5 * d * d / m_Tissues.Variance[k];
    }
    for (unsigned int j = 0; j < M; ++j)
    {
      const double    muA = m_Tissues.Mean[j];
      const double    muB = m_Tissues.Mean[j + 1];
      const double    sigma = std::sqrt(0.5 * (m_Tissues.Variance[j] + m_Tissues.Variance[j + 1]));
      const ClassTerm t = MixedTerm(z, muA, muB, sigma);
      logTerm[K + j] = w.LogProportion[K + j] - std::log(muB - muA) + t.LogTerm;
      row[C + 1 + j] = static_cast<float>(t.Fraction);
      row[C + 1 + M + j] = static_cast<float>(t.Residual * sigma * sigma);
    }
    // Likelihood ratios to the largest term, and that term's logarithm.
    const double largest = *std::max_element(logTerm.begin(), logTerm.end());
    for (unsigned int c = 0; c < C; ++c)
    {
      row[c] = static_cast<float>(std::exp(logTerm[c] - largest));
    }
    row[C] = static_cast<float>(largest);
  }
}

double
PartialVolumeTissueModel::Sweep(Workspace & w, bool final)
{
  BuildTable(w);
  const unsigned int K = w.K;
  const unsigned int C = w.C;
  std::vector<float> prior(C);
  for (unsigned int c = 0; c < C; ++c)
  {
    prior[c] = static_cast<float>(w.Prior[c]);
  }
  const std::vector<float> mean(m_Tissues.Mean.begin(), m_Tissues.Mean.end());
  const std::vector<float> variance(m_Tissues.Variance.begin(), m_Tissues.Variance.end());
  // The final sweep of the mixed stage gives the fractions only: the labels are the pure stage's, and no sweep
  // reads its contents.
  const bool mixedFinal = final && C > K;
  float * fractions = nullptr;
  if (mixedFinal)
  {
    // The fractions take the buffer of the contents, which no later sweep reads (no fresh memory): the model's
    // own, or the part of FractionGrid it lies in.
    fractions = w.Current;
    for (std::vector<float> & contents : w.Contents)
    {
      if (!contents.empty() && contents.data() == w.Current)
      {
        m_Fractions.swap(contents);
      }
    }
  }
  if (final)
  {
    if (!mixedFinal || fractions == m_Fractions.data())
    {
      m_Fractions.resize(w.N * K); // every voxel is written
      fractions = m_Fractions.data();
    }
    m_Labels.resize(mixedFinal ? m_Labels.size() : w.N);
  }
  w.FractionsWritten = final ? fractions : w.FractionsWritten;
  const bool      bias = EstimateBiasField;
  const SweepData data{ K,
                        C,
                        w.Neighbourhood,
                        w.NeighbourTable,
                        w.RowTable,
                        w.N,
                        w.Previous,
                        mixedFinal ? nullptr : w.Current,
                        w.Intensity,
                        w.Table.data(),
                        w.Nodes,
                        static_cast<float>(w.TableLow),
                        static_cast<float>(1.0 / w.TableStep),
                        static_cast<float>(MRFWeight),
                        w.Shift,
                        prior.data(),
                        w.Calibrated && !final, // no update of the proportions follows the final sweep
                        !w.Calibrated,          // the mixed stage runs a fixed number of sweeps
                        mean.data(),
                        variance.data(),
                        bias ? w.Expected.data() : nullptr,
                        bias ? w.Weight.data() : nullptr,
                        fractions,
                        final && !mixedFinal ? m_Labels.data() : nullptr };
  w.Parallel([&](std::size_t block) {
    double * sums = w.BlockSums.data() + block * w.Stride;
    std::fill(sums, sums + w.Stride, 0.0);
    const std::size_t begin = block * BlockSize;
    const std::size_t end = std::min(w.N, begin + BlockSize);
    const bool mixed = C > K;
    switch (K)
    {
      case 2:
        mixed ? SweepKernel<2, true>(data).Run(begin, end, sums) : SweepKernel<2, false>(data).Run(begin, end, sums);
        break;
      case 3:
        mixed ? SweepKernel<3, true>(data).Run(begin, end, sums) : SweepKernel<3, false>(data).Run(begin, end, sums);
        break;
      case 4:
        mixed ? SweepKernel<4, true>(data).Run(begin, end, sums) : SweepKernel<4, false>(data).Run(begin, end, sums);
        break;
      default:
        SweepKernel<0, false>(data).Run(begin, end, sums);
    }
  });
  double energy = 0.0; // 0 in the mixed stage (see SweepData::Energy)
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
    m_Proportions[c] = totals[3 * K + c] / n;
    if (!w.Calibrated)
    {
      // The pure tissues: the usual M-step, pi_c = Q_c / N.
      w.Prior[c] = std::max(m_Proportions[c], 1e-12);
      continue;
    }
    // Calibrated, over-relaxed: pi_c <- pi_c (Q_c / R_c)^3, Q_c the sum of the posteriors of class c, R_c that
    // of its prior (pi and the field without the intensity). At the fixed point Q_c = R_c: the prior predicts as
    // many voxels of each class as the data put there. Taking pi_c = Q_c / N instead counts the field twice
    // (the field already favours pure classes inside a tissue): the mixed classes then shrink at every
    // iteration and die out, and the fractions follow the hard labels.
    const double ratio = totals[3 * K + c] / std::max(totals[4 * K + C + 1 + c], 1e-300);
    // The step is capped at a factor of 2 per iteration.
    w.Prior[c] = std::max(w.Prior[c] * std::min(2.0, std::max(0.5, ratio * ratio * ratio)), 1e-12);
  }
  double pooled = 0.0;
  double pooledWeight = 0.0;
  for (unsigned int k = 0; k < K; ++k)
  {
    const double weight = totals[3 * k];
    if (weight > 0.0)
    {
      // In the partial-volume stage the means stay those of the pure stage (as FAST estimates its fractions
      // with the segmentation's class means); the variance is measured around them.
      const double mean = totals[3 * k + 1] / weight;
      const double kept = m_Tissues.Mean[k] - w.Shift;
      if (!w.Calibrated)
      {
        m_Tissues.Mean[k] = w.Shift + mean;
      }
      const double centre = w.Calibrated ? kept : mean;
      m_Tissues.Variance[k] = std::max(totals[3 * k + 2] / weight - 2.0 * centre * mean + centre * centre, floor);
      pooled += weight * m_Tissues.Variance[k];
      pooledWeight += weight;
    }
  }
  if (CommonVariance && K < C)
  {
    double mixedWeight = 0.0;
    for (unsigned int c = K; c < C; ++c)
    {
      mixedWeight += totals[3 * K + c];
    }
    pooled += totals[4 * K + 2 * C + 1];
    pooledWeight += mixedWeight;
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
      w.Prior[k] = std::max(w.Prior[k], 1.0 / C);
    }
  }
  // Means must ascend for the mixed classes: where a re-seed could not restore the order, keep the initial means.
  if (!std::is_sorted(m_Tissues.Mean.begin(), m_Tissues.Mean.end()) ||
      std::adjacent_find(m_Tissues.Mean.begin(), m_Tissues.Mean.end()) != m_Tissues.Mean.end())
  {
    m_Tissues.Mean = initial.Mean;
  }
  Normalise(w.Prior);
}

void
PartialVolumeTissueModel::PlaceContents(Workspace & w, std::uint64_t gridVoxels) const
{
  // One more voxel, N, of content 0: the neighbour of voxels at the edge of the mask or grid. The sweep reads four
  // floats from a voxel's first class on: 3 more floats at the end. Where FractionGrid has room for both buffers,
  // they lie in it (the fractions are written there in the end anyway: no other memory).
  const std::size_t size = (w.N + 1) * w.K + 3;
  const bool        inGrid = FractionGrid != nullptr && 2 * size <= gridVoxels * w.K;
  // With the posteriors given, the sweeps are those of the mixed stage alone: the buffer its final sweep writes the
  // fractions to (Current's after an odd number of sweeps) at the grid's start, where they end.
  const bool currentFirst = w.Given && PartialVolumeIterations % 2 == 1;
  for (unsigned int b = 0; b < 2; ++b)
  {
    float * buffer = FractionGrid + b * size;
    if (inGrid)
    {
      std::fill(buffer, buffer + size, 0.0f);
    }
    else
    {
      w.Contents[b].assign(size, 0.0f);
      buffer = w.Contents[b].data();
    }
    ((b == 0) != currentFirst ? w.Previous : w.Current) = buffer;
  }
}

void
PartialVolumeTissueModel::StartFromPosteriors(Workspace & w, const std::vector<std::uint64_t> & gridIndex)
{
  // Stage 1 done by the caller: its posteriors, and labels the tissue of largest posterior.
  const unsigned int K = w.K;
  const bool         inGrid = StartPosteriors.size() != w.N * K;
  m_Labels.resize(w.N);
  for (std::size_t i = 0; i < w.N; ++i)
  {
    const float * q = inGrid ? StartPosteriorGrid + gridIndex[i] * K : StartPosteriors.data() + i * K;
    std::copy(q, q + K, w.Previous + i * K);
    m_Labels[i] = static_cast<std::uint8_t>(std::max_element(q, q + K) - q + 1);
  }
}

void
PartialVolumeTissueModel::WriteFractionGrid(Workspace &                        w,
                                            const std::vector<std::uint64_t> & gridIndex,
                                            std::uint64_t                      gridVoxels)
{
  if (FractionGrid == nullptr)
  {
    return;
  }
  const unsigned int K = w.K;
  float *            grid = FractionGrid;
  const float *      source = w.FractionsWritten;
  if (source != m_Fractions.data())
  {
    // Written in the grid itself: moved to its start (unless there already), then spread from the last voxel on, so
    // that every voxel's place (at or after its own) is written after its values were read.
    if (source != grid)
    {
      std::memmove(grid, source, w.N * K * sizeof(float));
    }
    source = grid;
  }
  std::uint64_t next = gridVoxels; // the first grid voxel written so far
  for (std::size_t v = w.N; v-- > 0;)
  {
    const std::uint64_t g = gridIndex[v];
    std::fill(grid + (g + 1) * K, grid + next * K, 0.0f);
    std::copy(source + v * K, source + (v + 1) * K, grid + g * K); // g > v: no overlap; g == v: in place
    next = g;
  }
  std::fill(grid, grid + next * K, 0.0f);
  std::vector<float>().swap(m_Fractions);
}

void
PartialVolumeTissueModel::Finish(Workspace & w)
{
  const unsigned int K = w.K;
  m_FractionSums.assign(K, 0.0);
  for (std::size_t block = 0; block < w.Blocks; ++block)
  {
    for (unsigned int k = 0; k < K; ++k)
    {
      m_FractionSums[k] += w.BlockSums[block * w.Stride + 3 * K + w.C + 1 + k];
    }
  }
  m_BiasField.assign(w.N, 1.0f);
  for (std::size_t i = 0; i < w.Field.size(); ++i)
  {
    m_BiasField[i] = static_cast<float>(w.Field[i] * w.FieldScale);
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
     << "\nBiasFieldDelay: " << BiasFieldDelay << "\nBiasFieldRegularization: " << BiasFieldRegularization
     << "\nProgress: " << (Progress ? "set" : "none")
     << "\nMaximumNumberOfIterations: " << MaximumNumberOfIterations
     << "\nPartialVolumeIterations: " << PartialVolumeIterations
     << "\nConvergenceThreshold: " << ConvergenceThreshold << "\nCommonVariance: " << (CommonVariance ? "On" : "Off")
     << "\nVarianceFloor: " << VarianceFloor << "\nNegligibleProportion: " << NegligibleProportion
     << "\nNumberOfWorkUnits: " << NumberOfWorkUnits << "\nIterations: " << m_Iterations << "\n";
  list("StartMeans", Start.Mean);
  list("StartVariances", Start.Variance);
  list("StartProportions", StartProportions);
  os << "StartPosteriors: " << StartPosteriors.size() << " values\nStartPosteriorGrid: "
     << (StartPosteriorGrid ? "set" : "none") << "\nFractionGrid: " << (FractionGrid ? "set" : "none") << "\n";
  list("Means", m_Tissues.Mean);
  list("Variances", m_Tissues.Variance);
  list("Proportions", m_Proportions);
  list("FractionSums", m_FractionSums);
  list("Reseeded", m_Reseeded);
  os << "Voxels: " << m_Labels.size() << "\n";
}
} // namespace itk
