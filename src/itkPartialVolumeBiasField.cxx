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
// The bias field of PartialVolumeTissueModel, estimated inside the EM (see the class documentation).
#include "itkPartialVolumeTissueModelWorkspace.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace itk
{
namespace
{
using PartialVolumeTissueModelDetail::BlockSize;

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

/** The exponents of the monomials of total degree <= degree in the coordinates that vary over the voxels. */
std::vector<std::array<unsigned int, 3>>
MonomialPowers(const std::vector<std::array<float, 3>> & coordinates, unsigned int degree)
{
  std::vector<unsigned int> dimensions;
  for (unsigned int d = 0; d < 3; ++d)
  {
    for (const auto & c : coordinates)
    {
      if (c[d] != coordinates[0][d])
      {
        dimensions.push_back(d);
        break;
      }
    }
  }
  std::vector<std::array<unsigned int, 3>> powers;
  for (unsigned int a = 0; a <= degree; ++a)
  {
    for (unsigned int b = 0; a + b <= degree; ++b)
    {
      for (unsigned int c = 0; a + b + c <= degree; ++c)
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
  return powers;
}

} // namespace

void
PartialVolumeTissueModel::FitBiasField(Workspace & w, const std::vector<float> & values)
{
  const unsigned int                             D = BiasFieldDegree;
  const std::vector<std::array<unsigned int, 3>> powers = MonomialPowers(w.Coordinates, D);
  const std::size_t P = powers.size();
  const unsigned int D1 = D + 1;
  // The monomials of voxel i from the powers of its coordinates.
  auto basis = [&](std::size_t i, double * phi) {
    double power[3][8];
    for (unsigned int d = 0; d < 3; ++d)
    {
      power[d][0] = 1.0;
      for (unsigned int e = 1; e < D1; ++e)
      {
        power[d][e] = power[d][e - 1] * w.Coordinates[i][d];
      }
    }
    for (std::size_t p = 0; p < P; ++p)
    {
      phi[p] = power[0][powers[p][0]] * power[1][powers[p][1]] * power[2][powers[p][2]];
    }
  };
  // Weighted least squares on a fixed subsample (at most about 2^16 voxels): normal equations per block.
  const std::size_t   step = std::max<std::size_t>(1, w.N >> 16);
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
  // The polynomial at every voxel, as one of x whose coefficients change only from row to row; the mean of its
  // logarithm over the subsample (block sums in order) is removed.
  std::vector<double> blockLog(w.Blocks, 0.0);
  w.Parallel([&](std::size_t block) {
    std::vector<double> row(D1, 0.0);
    float               rowY = std::numeric_limits<float>::quiet_NaN();
    float               rowZ = rowY;
    const std::size_t   end = std::min(w.N, (block + 1) * BlockSize);
    for (std::size_t i = block * BlockSize; i < end; ++i)
    {
      const auto & c = w.Coordinates[i];
      if (!(c[1] == rowY && c[2] == rowZ))
      {
        rowY = c[1];
        rowZ = c[2];
        std::fill(row.begin(), row.end(), 0.0);
        for (std::size_t p = 0; p < P; ++p)
        {
          row[powers[p][0]] += coefficients[p] * std::pow(static_cast<double>(rowY), powers[p][1]) *
                               std::pow(static_cast<double>(rowZ), powers[p][2]);
        }
      }
      double value = row[D];
      for (unsigned int e = D; e-- > 0;)
      {
        value = value * c[0] + row[e];
      }
      w.Field[i] = static_cast<float>(std::max(value, 0.1));
      if (i % step == 0)
      {
        blockLog[block] += std::log(static_cast<double>(w.Field[i]));
      }
    }
  });
  double logSum = 0.0;
  for (const double v : blockLog)
  {
    logSum += v;
  }
  w.FieldScale = std::exp(-logSum / static_cast<double>((w.N + step - 1) / step));
  std::vector<float> blockRange(w.Blocks * 2);
  w.Parallel([&](std::size_t block) {
    float             low = std::numeric_limits<float>::max();
    float             high = std::numeric_limits<float>::lowest();
    const std::size_t end = std::min(w.N, (block + 1) * BlockSize);
    const auto        scale = static_cast<float>(w.FieldScale);
    for (std::size_t i = block * BlockSize; i < end; ++i)
    {
      w.Z[i] = values[i] / (w.Field[i] * scale);
      low = std::min(low, w.Z[i]);
      high = std::max(high, w.Z[i]);
    }
    blockRange[2 * block] = low;
    blockRange[2 * block + 1] = high;
  });
  w.ZLow = *std::min_element(blockRange.begin(), blockRange.end());
  w.ZHigh = *std::max_element(blockRange.begin(), blockRange.end());
}

} // namespace itk
