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
#ifndef itkPartialVolumeTissueModelWorkspace_h
#define itkPartialVolumeTissueModelWorkspace_h

// The working arrays of PartialVolumeTissueModel, shared by its source files (the sweeps and M-steps in
// itkPartialVolumeTissueModel.cxx, the bias field in itkPartialVolumeBiasField.cxx). Private to the library
// (not installed).

#include "itkPartialVolumeTissueModel.h"

#include "itkMultiThreaderBase.h"

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace itk
{
namespace PartialVolumeTissueModelDetail
{
/** Voxels per block: the unit of parallel work and of partial sums (a split that does not depend on the number
 * of threads). */
constexpr std::size_t BlockSize = 4096;

/** A voxel number of the neighbour table. The table may lie in the caller's float buffer (FractionGrid), so it is
 * written and read through a type that may alias the floats (GCC's and Clang's may_alias; int32 elsewhere). */
#if defined(__GNUC__)
typedef std::int32_t __attribute__((__may_alias__)) NeighbourIndex;
#else
using NeighbourIndex = std::int32_t;
#endif
} // namespace PartialVolumeTissueModelDetail

struct PartialVolumeTissueModel::Workspace
{
  std::size_t               N{ 0 };
  unsigned int              K{ 0 };
  unsigned int              C{ 0 };
  unsigned int              Neighbourhood{ 4 }; // neighbours per voxel but -x and +x: 4 in 3-D, 6 in 2-D, 0 in 1-D
  std::size_t               Blocks{ 0 };
  PartialVolumeTissueModelDetail::NeighbourIndex * NeighbourTable{ nullptr }; // N x Neighbourhood, N: none (in FractionGrid or Neighbours)
  std::uint8_t *            RowTable{ nullptr }; // N: bit 0, voxel i - 1 is the -x neighbour; bit 1, voxel i + 1 the +x one
  std::vector<std::int32_t> Neighbours;    // NeighbourTable's memory where FractionGrid has no room for it
  std::vector<std::uint8_t> RowNeighbours; // RowTable's memory likewise
  float *                   Previous{ nullptr }; // (N + 1) x K (+ 3) tissue content of the previous sweep
  float *                   Current{ nullptr };  // (N + 1) x K (+ 3)
  std::array<std::vector<float>, 2> Contents; // the buffers Previous and Current point to, unless in FractionGrid
  float *                   FractionsWritten{ nullptr }; // where the last final sweep wrote the fractions (N x K)
  std::vector<float>        Z;           // N: intensity divided by the bias field (bias fit only)
  const float *             Intensity{ nullptr }; // N: Z, or without the bias fit the intensity itself
  std::vector<float>        Field;       // N: the bias polynomial (at least 0.1), before the scale FieldScale
  double                    FieldScale{ 1.0 };
  std::vector<float>        Expected;    // N: expected intensity m_i (bias fit)
  std::vector<float>        Weight;      // N: m_i^2 / v_i (bias fit)
  std::vector<double>       BlockSums;   // Blocks x Stride
  std::size_t               Stride{ 0 }; // 3 K moments, C weights, energy, K fraction sums, C prior sums, residual
  std::vector<float>        Table;       // Nodes x (C likelihood ratios, largest log term, C - K fractions, C - K squared residuals)
  std::size_t               Nodes{ 0 };
  double                    TableLow{ 0 };
  double                    TableStep{ 1 };
  double                    Shift{ 0 };
  double                    ZLow{ 0 };
  double                    ZHigh{ 0 };
  std::vector<double>       Prior;         // C: prior proportions, calibrated (see UpdateTissues)
  std::vector<double>       LogProportion; // C: their logarithms
  std::vector<unsigned int> ReseedCount;
  bool                      Calibrated{ false }; // the mixed stage: calibrated proportions
  bool                      Given{ false };      // stage 1's posteriors given (StartPosteriors, StartPosteriorGrid)
  std::vector<std::array<float, 3>> Coordinates; // bias fit: scaled to [-1, 1]
  MultiThreaderBase::Pointer Threader;

  void
  Parallel(const std::function<void(std::size_t)> & blockFunction) const
  {
    Threader->ParallelizeArray(0, Blocks, blockFunction, nullptr);
  }
};

} // namespace itk

#endif
