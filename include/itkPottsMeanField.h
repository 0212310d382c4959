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
#ifndef itkPottsMeanField_h
#define itkPottsMeanField_h

#include "KMeansSegmentationExport.h"
#include "itkGaussianMixtureOnLevels.h"

#include <cstdint>
#include <vector>

namespace itk
{
class ProcessObject;

/** \class PottsMeanField
 * \brief HMRF-EM of a Gaussian mixture with a Potts prior on a grid of voxels, the label field estimated by
 * synchronous mean field: the Markov random field of GaussianMixtureSegmentationImageFilter on plain arrays.
 *
 * Model: P(labels) proportional to prod_i pi_{l_i} exp(beta * number of neighbouring pairs with equal labels)
 * over the face neighbours (2 D of them in D dimensions) and, in 2-D, the diagonal neighbours too (8), every
 * neighbour with weight beta (spacing is not used). Each iteration replaces every voxel's posterior q_i by
 * q_i(k) proportional to pi_k N(x_i; mu_k, sigma_k^2) exp(beta sum_{j ~ i} q_j(k)), all voxels at once from the
 * previous iteration's posteriors (Jacobi updates), then re-estimates means, variances (at least VarianceFloor;
 * pooled with CommonVariance) and proportions from the new posteriors. The iterations stop when the relative change
 * of sum_i log sum_k exp(energy_ik) is at most ConvergenceThreshold or after MaximumNumberOfIterations. Neighbours
 * that do not take part contribute nothing. Reference: Zhang, Brady & Smith, "Segmentation of brain MR images
 * through a hidden Markov random field model and the expectation-maximization algorithm", IEEE TMI 20(1), 2001
 * (the model of FSL FAST), with mean field instead of iterated conditional modes.
 *
 * Layout (Layout): the grid has Size[0] x Size[1] x ... voxels, Size[0] the fastest; a row is a line along
 * dimension 0, rows are numbered in buffer order and grouped in slices of the slowest dimension (the unit of
 * parallel work and of partial sums, a split that does not depend on the number of threads). Each row has a span
 * [SpanFirst, SpanEnd) from its first to its last voxel taking part (empty when none does). Inputs:
 * - values: the intensities of the span voxels, span after span in row order (Layout::NumberOfSpanVoxels()
 *   entries; row r's span starts at Layout::SpanStarts()[r]), NaN for a voxel of a span that does not take part;
 * - posteriors: K floats per voxel of the whole grid, the initial posteriors of the voxels taking part and 0
 *   elsewhere. On return they hold the final posteriors in ascending order of class mean (0 where no voxel takes
 *   part).
 * - mixture: the initial mixture, means measured from origin; on return the re-estimated one, in ascending order
 *   of mean. shift (the mean of the samples, in the mixture's coordinates) is subtracted from every intensity
 *   for accurate sums.
 *
 * Speed: the posteriors are kept in single precision in two buffers the iterations alternate between, the caller's
 * posteriors and one holding only the spans, so that the neighbour sums of a row are sums of contiguous runs;
 * exponentials come from an inline table-and-polynomial function (relative error below 1e-10) and the energy's
 * logarithms from running products. Determinism: every update reads only the previous iteration and the sums are
 * accumulated per slice and added in slice order: bit-identical for any number of threads.
 *
 * Threads, progress (0.9 of the process object's progress is added over the run) and abort come from an optional
 * itk::ProcessObject; an abort throws itk::ProcessAborted.
 *
 * \sa GaussianMixtureSegmentationImageFilter, GaussianMixtureOnLevels
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT PottsMeanField
{
public:
  struct Parameters
  {
    /** Potts weight beta (> 0). */
    double       Weight{ 0.6 };
    unsigned int MaximumNumberOfIterations{ 20 };
    double       ConvergenceThreshold{ 1e-5 };
    bool         CommonVariance{ false };
    double       VarianceFloor{ 0.0 };
  };

  /** The grid and the spans of its rows (see the class description). */
  class KMeansSegmentation_EXPORT Layout
  {
  public:
    /** A grid of the given size (fastest dimension first), every span empty. */
    explicit Layout(std::vector<std::uint64_t> size);

    const std::vector<std::uint64_t> &
    GetSize() const
    {
      return m_Size;
    }
    std::uint64_t
    GetRowLength() const
    {
      return m_Size[0];
    }
    std::uint64_t
    GetNumberOfRows() const
    {
      return static_cast<std::uint64_t>(m_SpanFirst.size());
    }
    std::uint64_t
    GetNumberOfSlices() const
    {
      return m_Size.size() > 1 ? m_Size.back() : 1;
    }
    std::uint64_t
    GetRowsPerSlice() const
    {
      return GetNumberOfRows() / GetNumberOfSlices();
    }
    /** Sets row's span [first, end), first <= end <= row length. */
    void
    SetSpan(std::uint64_t row, std::uint64_t first, std::uint64_t end)
    {
      m_SpanFirst[row] = first;
      m_SpanEnd[row] = end;
    }
    std::uint64_t
    GetSpanFirst(std::uint64_t row) const
    {
      return m_SpanFirst[row];
    }
    std::uint64_t
    GetSpanEnd(std::uint64_t row) const
    {
      return m_SpanEnd[row];
    }
    /** Index of each row's first span voxel in the span layout, and their total. */
    std::vector<std::uint64_t>
    SpanStarts() const;
    std::uint64_t
    NumberOfSpanVoxels() const;
    /** The row neighbouring row by delta (one step per dimension; delta[0] is ignored), -1 outside the grid. */
    std::int64_t
    NeighbourRow(std::uint64_t row, const std::vector<int> & delta) const;
    /** The neighbourhood, each neighbour as a step per dimension: the face neighbours, in 2-D the diagonal ones. */
    std::vector<std::vector<int>>
    Neighbourhood() const;

  private:
    std::vector<std::uint64_t> m_Size;
    std::vector<std::uint64_t> m_SpanFirst;
    std::vector<std::uint64_t> m_SpanEnd;
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

  /** The process object whose multi-threader, progress and abort flag are used (may be null). */
  void
  SetProcessObject(ProcessObject * processObject)
  {
    m_ProcessObject = processObject;
  }

  /** Runs HMRF-EM (see the class description). TValue: float or double. */
  template <typename TValue>
  void
  Run(const Layout &                     layout,
      const TValue *                     values,
      float *                            posteriors,
      GaussianMixtureOnLevels::Mixture & mixture,
      double                             shift,
      double                             origin);

  /** HMRF-EM iterations made by the last Run(). */
  unsigned int
  GetNumberOfIterations() const
  {
    return m_NumberOfIterations;
  }

private:
  Parameters      m_Parameters;
  ProcessObject * m_ProcessObject{ nullptr };
  unsigned int    m_NumberOfIterations{ 0 };
};
} // namespace itk

#endif
