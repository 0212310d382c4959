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
#include "itkPottsMeanField.h"

#include "itkGaussianMixtureKernels.h"
#include "itkMath.h"
#include "itkMultiThreaderBase.h"
#include "itkProcessObject.h"
#include "itkTotalProgressReporter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace itk
{
PottsMeanField::Layout::Layout(std::vector<std::uint64_t> size)
  : m_Size(std::move(size))
{
  std::uint64_t rows = 1;
  for (std::size_t d = 1; d < m_Size.size(); ++d)
  {
    rows *= m_Size[d];
  }
  m_SpanFirst.assign(rows, 0);
  m_SpanEnd.assign(rows, 0);
}

std::vector<std::uint64_t>
PottsMeanField::Layout::SpanStarts() const
{
  std::vector<std::uint64_t> starts(m_SpanFirst.size());
  std::uint64_t              total = 0;
  for (std::size_t row = 0; row < starts.size(); ++row)
  {
    starts[row] = total;
    total += m_SpanEnd[row] - m_SpanFirst[row];
  }
  return starts;
}

std::uint64_t
PottsMeanField::Layout::NumberOfSpanVoxels() const
{
  std::uint64_t total = 0;
  for (std::size_t row = 0; row < m_SpanFirst.size(); ++row)
  {
    total += m_SpanEnd[row] - m_SpanFirst[row];
  }
  return total;
}

std::int64_t
PottsMeanField::Layout::NeighbourRow(std::uint64_t row, const std::vector<int> & delta) const
{
  std::uint64_t rest = row;
  std::int64_t  result = 0;
  std::int64_t  stride = 1;
  for (std::size_t d = 1; d < m_Size.size(); ++d)
  {
    const auto j = static_cast<std::int64_t>(rest % m_Size[d]) + delta[d];
    rest /= m_Size[d];
    if (j < 0 || j >= static_cast<std::int64_t>(m_Size[d]))
    {
      return -1;
    }
    result += j * stride;
    stride *= static_cast<std::int64_t>(m_Size[d]);
  }
  return result;
}

std::vector<std::vector<int>>
PottsMeanField::Layout::Neighbourhood() const
{
  const std::size_t             dimension = m_Size.size();
  std::vector<std::vector<int>> neighbourhood;
  for (std::size_t d = 0; d < dimension; ++d)
  {
    for (int s : { -1, 1 })
    {
      std::vector<int> delta(dimension, 0);
      delta[d] = s;
      neighbourhood.push_back(delta);
    }
  }
  if (dimension == 2)
  {
    for (int s0 : { -1, 1 })
    {
      for (int s1 : { -1, 1 })
      {
        std::vector<int> delta(dimension, 0);
        delta[0] = s0;
        delta[dimension - 1] = s1;
        neighbourhood.push_back(delta);
      }
    }
  }
  return neighbourhood;
}

namespace
{
/** A posterior field, K floats per voxel: voxel x of row r is element Base[r] + x. */
struct Field
{
  float *              Data;
  const std::int64_t * Base;
};

/** One run of the mean field: the layout's derived tables, the two buffers and the per-slice partial sums. */
template <typename TValue>
class MeanFieldRun
{
public:
  MeanFieldRun(const PottsMeanField::Layout & layout,
               const TValue *                 values,
               float *                        posteriors,
               unsigned int                   numberOfClasses,
               ProcessObject *                processObject)
    : m_Layout(layout)
    , m_Values(values)
    , m_Posteriors(posteriors)
    , K(numberOfClasses)
    , m_ProcessObject(processObject)
    , m_Neighbourhood(layout.Neighbourhood())
    , m_SpanStarts(layout.SpanStarts())
    , m_FullBase(layout.GetNumberOfRows())
    , m_CompactBase(layout.GetNumberOfRows())
    , m_Compact(static_cast<std::size_t>(layout.NumberOfSpanVoxels()) * numberOfClasses)
    , m_SliceSums(static_cast<std::size_t>(layout.GetNumberOfSlices()) * 3 * numberOfClasses)
    , m_SliceEnergy(layout.GetNumberOfSlices())
  {
    // Two layouts of a posterior field: the caller's (the whole grid, 0 wherever no voxel takes part) and a compact
    // one holding only the spans, one after the other in row order. The iterations alternate between them. Where a
    // row's neighbouring row has its span, the neighbours of the row's voxels lie side by side in either layout:
    // the neighbour sums are sums of contiguous runs. Voxels of a span that do not take part have posteriors 0 in
    // both layouts and add nothing.
    for (std::uint64_t row = 0; row < layout.GetNumberOfRows(); ++row)
    {
      m_FullBase[row] = static_cast<std::int64_t>(row * layout.GetRowLength());
      m_CompactBase[row] =
        static_cast<std::int64_t>(m_SpanStarts[row]) - static_cast<std::int64_t>(layout.GetSpanFirst(row));
    }
    m_Previous = Field{ posteriors, m_FullBase.data() };
    m_Current = Field{ m_Compact.data(), m_CompactBase.data() };
    std::uint64_t totalPixels = layout.GetNumberOfRows() * layout.GetRowLength();
    m_TotalPixels = totalPixels;
    if (processObject == nullptr)
    {
      m_OwnThreader = MultiThreaderBase::New();
    }
  }

  MultiThreaderBase *
  Threader() const
  {
    return m_ProcessObject ? m_ProcessObject->GetMultiThreader() : m_OwnThreader.GetPointer();
  }

  /** One mean-field iteration with the data terms classTerms (3 per class: mean from the shift, log normaliser,
   * half precision) and weight beta, from the previous buffer to the current one; then the buffers swap. */
  void
  Sweep(const std::vector<double> & classTerms, double beta, double intensityShift, float progressWeight)
  {
    Threader()->ParallelizeArray(
      0,
      m_Layout.GetNumberOfSlices(),
      [&](SizeValueType slice) {
        GaussianMixtureDetail::WithFixedNumberOfClasses(K, [&](auto fixedClasses) {
          this->SweepSlice(slice, fixedClasses, classTerms, beta, intensityShift, progressWeight);
        });
      },
      nullptr);
    std::swap(m_Previous, m_Current);
  }

  /** Sums of the last sweep (3 per class: weight, sum and sum of squares from the shift) added in slice order, and
   * its energy. */
  double
  Totals(std::vector<double> & totals) const
  {
    totals.assign(3 * K, 0.0);
    double energyTotal = 0.0;
    for (std::uint64_t slice = 0; slice < m_Layout.GetNumberOfSlices(); ++slice)
    {
      for (unsigned int j = 0; j < 3 * K; ++j)
      {
        totals[j] += m_SliceSums[slice * 3 * K + j];
      }
      energyTotal += m_SliceEnergy[slice];
    }
    return energyTotal;
  }

  /** The posteriors of the voxels taking part, classes reordered by order (new -> old), into the caller's buffer
   * (from either layout). */
  void
  Finish(const std::vector<unsigned int> & order);

private:
  template <typename TFixed>
  void
  SweepSlice(SizeValueType               slice,
             TFixed                      fixedClasses,
             const std::vector<double> & classTerms,
             double                      beta,
             double                      intensityShift,
             float                       progressWeight);

  const PottsMeanField::Layout &                   m_Layout;
  const TValue *                                   m_Values;
  float *                                          m_Posteriors;
  const unsigned int                               K;
  ProcessObject *                                  m_ProcessObject;
  MultiThreaderBase::Pointer                       m_OwnThreader;
  std::vector<std::vector<int>>                    m_Neighbourhood;
  std::vector<std::uint64_t>                       m_SpanStarts;
  std::vector<std::int64_t>                        m_FullBase;
  std::vector<std::int64_t>                        m_CompactBase;
  GaussianMixtureDetail::HugePageBuffer<float>     m_Compact;
  std::vector<double>                              m_SliceSums;
  std::vector<double>                              m_SliceEnergy;
  Field                                            m_Previous{};
  Field                                            m_Current{};
  SizeValueType                                    m_TotalPixels{ 0 };
};

template <typename TValue>
template <typename TFixed>
void
MeanFieldRun<TValue>::SweepSlice(SizeValueType               slice,
                                 TFixed                      fixedClasses,
                                 const std::vector<double> & classTerms,
                                 double                      beta,
                                 double                      intensityShift,
                                 float                       progressWeight)
{
  // The number of classes is a compile-time constant for 2 to 4 classes (FixedClasses 0: the run-time number), so
  // that the per-class loops unroll; the arithmetic is the same.
  constexpr unsigned int FixedClasses = decltype(fixedClasses)::value;
  const unsigned int     k0 = FixedClasses > 0 ? FixedClasses : K;
  const std::int64_t     rowLength = static_cast<std::int64_t>(m_Layout.GetRowLength());
  const std::uint64_t    rowsPerSlice = m_Layout.GetRowsPerSlice();
  TotalProgressReporter  progress(m_ProcessObject, m_TotalPixels, 100, progressWeight);
  GaussianMixtureDetail::ClassValues<double, FixedClasses, 1> energyStorage(k0);
  GaussianMixtureDetail::ClassValues<double, FixedClasses, 3> termStorage(k0);
  GaussianMixtureDetail::ClassValues<double, FixedClasses, 3> sumStorage(k0);
  double * const                                              energy = energyStorage.data();
  double * const                                              terms = termStorage.data();
  double * const                                              sums = sumStorage.data();
  std::copy(classTerms.begin(), classTerms.end(), terms);
  // Neighbour sums in single precision, like the posteriors they add (at most 8 terms of at most 1).
  std::vector<float> field(static_cast<std::size_t>(rowLength) * k0);
  // Energy sum_i log sum_k exp(energy_ik) = sum_i maximum_i + log prod_i sum_k exp(energy_ik - maximum_i).
  double                              maximumSum = 0.0;
  GaussianMixtureDetail::LogOfProduct logOfTotals;
  for (std::uint64_t row = slice * rowsPerSlice; row < (slice + 1) * rowsPerSlice; ++row)
  {
    const auto first = static_cast<std::int64_t>(m_Layout.GetSpanFirst(row));
    const auto end = static_cast<std::int64_t>(m_Layout.GetSpanEnd(row));
    if (first == end)
    {
      continue;
    }
    // Neighbour sums of the row's span, one neighbour after the other in the neighbourhood's order (the same order
    // for every voxel): neighbour n of voxel x is voxel x + delta[0] of the neighbouring row, present where that
    // lies in the neighbouring row's span. Element (x - first) K + k of field: class k of voxel x.
    std::fill(field.begin(), field.begin() + (end - first) * k0, 0.0f);
    for (const auto & delta : m_Neighbourhood)
    {
      const std::int64_t other = m_Layout.NeighbourRow(row, delta);
      if (other < 0)
      {
        continue;
      }
      const std::int64_t shiftAlongRow = delta[0];
      const auto         otherFirst = static_cast<std::int64_t>(m_Layout.GetSpanFirst(other));
      const auto         otherEnd = static_cast<std::int64_t>(m_Layout.GetSpanEnd(other));
      const std::int64_t low = std::max(first, otherFirst - shiftAlongRow);
      const std::int64_t high = std::min(end, otherEnd - shiftAlongRow);
      if (low >= high)
      {
        continue;
      }
      const float * source = m_Previous.Data + (m_Previous.Base[other] + low + shiftAlongRow) * k0;
      float *       target = field.data() + (low - first) * k0;
      const auto    count = static_cast<std::size_t>(high - low) * k0;
      for (std::size_t j = 0; j < count; ++j)
      {
        target[j] += source[j];
      }
    }
    const TValue * const rowValues = m_Values + m_SpanStarts[row];
    float * const        q0 = m_Current.Data + (m_Current.Base[row] + first) * k0;
    const float * const  f0 = field.data();
    for (std::int64_t x = 0; x < end - first; ++x)
    {
      float * const q = q0 + x * k0;
      if (std::isnan(rowValues[x]))
      {
        for (unsigned int k = 0; k < k0; ++k)
        {
          q[k] = 0.0f;
        }
        continue;
      }
      const double  value = static_cast<double>(rowValues[x]) - intensityShift;
      const double  value2 = value * value;
      const float * f = f0 + x * k0;
      double        maximum = -std::numeric_limits<double>::infinity();
      for (unsigned int k = 0; k < k0; ++k)
      {
        const double d = value - terms[3 * k];
        energy[k] = (terms[3 * k + 1] - d * d * terms[3 * k + 2]) + beta * f[k];
        maximum = std::max(maximum, energy[k]);
      }
      double total = 0.0;
      for (unsigned int k = 0; k < k0; ++k)
      {
        energy[k] = GaussianMixtureDetail::ExpNonPositive(energy[k] - maximum); // exactly 1 for the largest
        total += energy[k];
      }
      maximumSum += maximum;
      logOfTotals.Multiply(total);
      const double inverse = 1.0 / total;
      for (unsigned int k = 0; k < k0; ++k)
      {
        const double r = energy[k] * inverse;
        q[k] = static_cast<float>(r);
        sums[3 * k] += r;
        sums[3 * k + 1] += r * value;
        sums[3 * k + 2] += r * value2;
      }
    }
  }
  std::copy(sums, sums + 3 * k0, m_SliceSums.data() + slice * 3 * k0);
  m_SliceEnergy[slice] = maximumSum + logOfTotals.Get();
  progress.CheckAbortGenerateData();
  progress.Completed(rowsPerSlice * m_Layout.GetRowLength());
}

template <typename TValue>
void
MeanFieldRun<TValue>::Finish(const std::vector<unsigned int> & order)
{
  const std::uint64_t rowLength = m_Layout.GetRowLength();
  const std::uint64_t rowsPerSlice = m_Layout.GetRowsPerSlice();
  Threader()->ParallelizeArray(
    0,
    m_Layout.GetNumberOfSlices(),
    [&](SizeValueType slice) {
      TotalProgressReporter progress(m_ProcessObject, m_TotalPixels, 100, 0.1f);
      std::vector<float>    source(K);
      for (std::uint64_t row = slice * rowsPerSlice; row < (slice + 1) * rowsPerSlice; ++row)
      {
        const std::uint64_t  rowStart = row * rowLength;
        const std::uint64_t  first = m_Layout.GetSpanFirst(row);
        const TValue * const rowValues = m_Values + m_SpanStarts[row] - first;
        for (std::uint64_t x = first; x < m_Layout.GetSpanEnd(row); ++x)
        {
          if (std::isnan(rowValues[x]))
          {
            continue;
          }
          const auto offset = static_cast<std::int64_t>(x);
          std::copy_n(m_Previous.Data + (m_Previous.Base[row] + offset) * K, K, source.data());
          float * const q = m_Posteriors + (rowStart + x) * K;
          for (unsigned int k = 0; k < K; ++k)
          {
            q[k] = source[order[k]];
          }
        }
      }
      progress.Completed(rowsPerSlice * rowLength);
    },
    nullptr);
}
} // namespace

template <typename TValue>
void
PottsMeanField::Run(const Layout &                     layout,
                    const TValue *                     values,
                    float *                            posteriors,
                    GaussianMixtureOnLevels::Mixture & mixture,
                    double                             shift,
                    double                             origin)
{
  const auto           numberOfClasses = static_cast<unsigned int>(mixture.Mean.size());
  const Parameters &   p = m_Parameters;
  MeanFieldRun<TValue> run(layout, values, posteriors, numberOfClasses, m_ProcessObject);
  m_NumberOfIterations = 0;

  // The iterations use each voxel's own intensity, measured from the mean of all samples (shift, in the mixture's
  // coordinates; the intensity minus intensityShift) for accurate sums.
  const double        intensityShift = origin + shift;
  const float         progressWeight = 0.8f / static_cast<float>(std::max(1u, p.MaximumNumberOfIterations));
  std::vector<double> classTerms(3 * numberOfClasses);
  std::vector<double> totals;
  double              previousEnergy = 0.0;
  for (unsigned int iteration = 0; iteration < p.MaximumNumberOfIterations; ++iteration)
  {
    // Data term of class k at intensity x (from the shift): logNormaliser_k - (x - mean_k)^2 halfPrecision_k.
    for (unsigned int k = 0; k < numberOfClasses; ++k)
    {
      classTerms[3 * k] = mixture.Mean[k] - shift;
      classTerms[3 * k + 1] = -0.5 * std::log(2.0 * Math::pi * mixture.Variance[k]) + std::log(mixture.Proportion[k]);
      classTerms[3 * k + 2] = 0.5 / mixture.Variance[k];
    }
    run.Sweep(classTerms, p.Weight, intensityShift, progressWeight);
    ++m_NumberOfIterations;

    // Parameter update from the new posteriors: sums added in slice order.
    const double energyTotal = run.Totals(totals);
    double       weightTotal = 0.0;
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
      mixture.Variance[k] = std::max(totals[3 * k + 2] / weight - mean * mean, p.VarianceFloor);
      mixture.Proportion[k] = weight / weightTotal;
    }
    if (p.CommonVariance)
    {
      GaussianMixtureOnLevels::PoolVariances(mixture, p.VarianceFloor);
    }
    const bool converged =
      iteration > 0 && std::abs(energyTotal - previousEnergy) <= p.ConvergenceThreshold * std::abs(previousEnergy);
    previousEnergy = energyTotal;
    if (converged)
    {
      break;
    }
  }
  // Ascending means: the posteriors of the voxels taking part follow the new class order.
  run.Finish(GaussianMixtureOnLevels::SortByMean(mixture));
}

template KMeansSegmentation_EXPORT void
PottsMeanField::Run<float>(const Layout &, const float *, float *, GaussianMixtureOnLevels::Mixture &, double, double);
template KMeansSegmentation_EXPORT void
PottsMeanField::Run<double>(const Layout &, const double *, float *, GaussianMixtureOnLevels::Mixture &, double, double);
} // namespace itk
