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
#include "itkMultiChannelKMeans.h"
#include "itkMultiChannelKMeansPointSet.h"

#include "itkMultiThreaderBase.h"
#include "itkProcessObject.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <type_traits>

namespace itk
{
namespace
{
using namespace MultiChannelKMeansDetail;

/** 2^53: doubles hold every integer of at most this magnitude. */
constexpr double TwoToThe53 = 9007199254740992.0;

/** Calls function with std::integral_constant<unsigned int, C> for 1 to 4 channels (0: any other number), so
 * that the per-voxel loops are unrolled for the usual channel counts. */
template <typename TFunction>
void
DispatchChannels(unsigned int channels, TFunction && function)
{
  switch (channels)
  {
    case 1:
      function(std::integral_constant<unsigned int, 1>{});
      break;
    case 2:
      function(std::integral_constant<unsigned int, 2>{});
      break;
    case 3:
      function(std::integral_constant<unsigned int, 3>{});
      break;
    case 4:
      function(std::integral_constant<unsigned int, 4>{});
      break;
    default:
      function(std::integral_constant<unsigned int, 0>{});
  }
}

/** Reads count components, from index first on, of a feature buffer of one component type as doubles. */
using ComponentLoader = void (*)(const void * features, std::size_t first, std::size_t count, double * out);

template <typename TComponent>
void
LoadComponents(const void * features, std::size_t first, std::size_t count, double * out)
{
  const TComponent * in = static_cast<const TComponent *>(features) + first;
  for (std::size_t i = 0; i < count; ++i)
  {
    out[i] = static_cast<double>(in[i]);
  }
}

/** The feature vectors of the voxels as TValue (float or double), so that the passes are compiled for two value
 * types instead of every component type. Float and double buffers are read in place; the other component types
 * are converted to double block by block (BlockSize voxels, which stay in the first-level cache between their
 * conversion and their use). Every pass computes in double, as static_cast<double> of each component. */
template <typename TValue>
class FeatureBlocks
{
public:
  static constexpr bool Converts = std::is_same<TValue, double>::value; // only double features may be converted

  /** load: null when the features are TValue already (always for float). */
  FeatureBlocks(const void * features, ComponentLoader load, unsigned int channels)
    : m_Features(features)
    , m_Load(load)
    , m_C(channels)
  {}

  /** Calls function(first, last, values) for consecutive blocks [first, last) covering [begin, end) in order,
   * values the m_C components of voxel first, then of the next voxels. */
  template <typename TFunction>
  void
  ForEachBlock(std::size_t begin, std::size_t end, TFunction && function) const
  {
    if constexpr (Converts)
    {
      if (m_Load != nullptr)
      {
        std::vector<double> block(BlockSize * m_C);
        for (std::size_t first = begin; first < end; first += BlockSize)
        {
          const std::size_t last = std::min(end, first + BlockSize);
          m_Load(m_Features, first * m_C, (last - first) * m_C, block.data());
          function(first, last, block.data());
        }
        return;
      }
    }
    function(begin, end, static_cast<const TValue *>(m_Features) + begin * m_C);
  }

  /** Calls function(v, x) for every voxel v of [begin, end) in order, x its m_C components. */
  template <typename TFunction>
  void
  ForEach(std::size_t begin, std::size_t end, TFunction && function) const
  {
    ForEachBlock(begin, end, [&](std::size_t first, std::size_t last, const TValue * values) {
      for (std::size_t v = first; v < last; ++v)
      {
        function(v, values + (v - first) * m_C);
      }
    });
  }

  /** The components of voxel v, as doubles. */
  void
  Load(std::size_t v, double * x) const
  {
    if constexpr (Converts)
    {
      if (m_Load != nullptr)
      {
        m_Load(m_Features, v * m_C, m_C, x);
        return;
      }
    }
    const TValue * in = static_cast<const TValue *>(m_Features) + v * m_C;
    std::transform(in, in + m_C, x, [](TValue value) { return static_cast<double>(value); });
  }

  static constexpr std::size_t BlockSize = 256;

private:
  const void *    m_Features;
  ComponentLoader m_Load;
  unsigned int    m_C;
};

/** One chunk of a Lloyd pass over voxels [begin, end): labels (class + 1, 0 = not taking part) are updated in
 * place, and the chunk's per-class sums, counts, sums of squared distances and number of changed labels are
 * accumulated in voxel order. A voxel closer to its own centre than half the distance from that centre to the
 * nearest other centre (squared: half2) keeps its label without further comparisons; with full, every voxel is
 * compared with every centre. Distances are summed in channel order, exactly as Metric::Distance2(). */
template <unsigned int CC, typename TValue, typename TLabel>
void
LloydChunk(const FeatureBlocks<TValue> & in,
           TLabel *                      out,
           std::size_t                   begin,
           std::size_t                   end,
           unsigned int                  channels,
           unsigned int                  classes,
           const double *                centers,
           const double *                weights,
           const double *                half2,
           bool                          full,
           double *                      partial)
{
  const unsigned int C = CC ? CC : channels;
  const unsigned int K = classes;
  double *           sums = partial;
  double *           counts = partial + std::size_t{ K } * C;
  double *           squares = counts + K;
  double &           changes = squares[K];
  double              fixed[CC ? CC : 1];
  std::vector<double> dynamic(CC ? 0 : C);
  double *            x = CC ? fixed : dynamic.data();
  auto                distance2 = [&](const double * center) {
    double d = 0.0;
    for (unsigned int c = 0; c < C; ++c)
    {
      const double t = x[c] - center[c];
      d += weights[c] * t * t;
    }
    return d;
  };
  in.ForEachBlock(begin, end, [&](std::size_t first, std::size_t last, const TValue * values) {
    for (std::size_t v = first; v < last; ++v)
    {
      const TLabel label = out[v];
      if (label == TLabel{})
      {
        continue;
      }
      for (unsigned int c = 0; c < C; ++c)
      {
        x[c] = static_cast<double>(values[(v - first) * C + c]);
      }
      unsigned int a = static_cast<unsigned int>(label) - 1;
      double       da = full ? 0.0 : distance2(centers + std::size_t{ a } * C);
      if (full || !(da < half2[a]))
      {
        unsigned int b = 0;
        double       db = std::numeric_limits<double>::infinity();
        for (unsigned int j = 0; j < K; ++j)
        {
          const double d = distance2(centers + std::size_t{ j } * C);
          if (d < db)
          {
            db = d;
            b = j;
          }
        }
        if (b != a)
        {
          changes += 1.0;
          out[v] = static_cast<TLabel>(b + 1);
        }
        a = b;
        da = db;
      }
      for (unsigned int c = 0; c < C; ++c)
      {
        sums[std::size_t{ a } * C + c] += x[c];
      }
      counts[a] += 1.0;
      squares[a] += da;
    }
  });
}

/** Threads, progress and abort of a run: the process object's, or ITK's default threader. */
class Runner
{
public:
  Runner(ProcessObject * processObject, std::size_t numberOfVoxels)
    : m_ProcessObject(processObject)
    , m_NumberOfVoxels(numberOfVoxels)
  {
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

  void
  Progress(float value) const
  {
    if (m_ProcessObject)
    {
      m_ProcessObject->UpdateProgress(value);
    }
  }

  std::size_t
  NumberOfChunks() const
  {
    return (m_NumberOfVoxels + ChunkSize - 1) / ChunkSize;
  }

  /** Calls function(chunk, begin, end) for every chunk of ChunkSize voxels, in parallel; throws
   * itk::ProcessAborted when the process object was asked to abort. */
  template <typename TFunction>
  void
  ForEachChunk(TFunction && function) const
  {
    Threader()->ParallelizeArray(
      0,
      NumberOfChunks(),
      [&](SizeValueType chunk) {
        if (Aborted())
        {
          return;
        }
        const std::size_t begin = chunk * ChunkSize;
        function(static_cast<std::size_t>(chunk), begin, std::min(begin + ChunkSize, m_NumberOfVoxels));
      },
      nullptr);
    if (Aborted())
    {
      ProcessAborted e(__FILE__, __LINE__);
      e.SetDescription("MultiChannelKMeansSegmentationImageFilter: aborted");
      throw e;
    }
  }

  static constexpr std::size_t ChunkSize = 65536;

private:
  bool
  Aborted() const
  {
    return m_ProcessObject != nullptr && m_ProcessObject->GetAbortGenerateData();
  }

  ProcessObject *            m_ProcessObject;
  std::size_t                m_NumberOfVoxels;
  MultiThreaderBase::Pointer m_OwnThreader;
};

/** Per-chunk statistics of the first pass. */
struct ChunkScan
{
  std::vector<double> Sum, SumOfSquares; // per chunk, in voxel order
  std::uint64_t       Count{ 0 };
  bool                Integral{ true };
};

/** The passes over all voxels, for one value type (FeatureBlocks) and label type. */
template <typename TValue, typename TLabel>
class VoxelPasses
{
public:
  /** integralComponents: the component type is an integer type. */
  VoxelPasses(const Runner &                runner,
              const FeatureBlocks<TValue> & in,
              bool                          integralComponents,
              TLabel *                      out,
              unsigned int                  channels)
    : m_Runner(runner)
    , m_In(in)
    , m_IntegralComponents(integralComponents)
    , m_Out(out)
    , m_C(channels)
  {}

  /** Pass 1: which voxels take part (label 1, else 0), per-chunk channel moments, whether all are integers. */
  std::vector<ChunkScan>
  Scan() const
  {
    std::vector<ChunkScan> scans(m_Runner.NumberOfChunks());
    DispatchChannels(m_C, [&](auto channels) {
      constexpr unsigned int CC = decltype(channels)::value;
      m_Runner.ForEachChunk([&](std::size_t chunk, std::size_t begin, std::size_t end) {
        ScanChunk<CC>(scans[chunk], begin, end);
      });
    });
    return scans;
  }

  /** The distinct vectors of the voxels taking part, sorted, with their counts; false when there are more than
   * limit. */
  bool
  CollectDistinctVectors(PointSet & points, std::uint64_t limit) const;

  /** A Bernoulli sample of about sampleSize voxels taking part (all when classified <= sampleSize), keyed by a
   * hash of the voxel index and the seed: independent of threads and chunking. */
  void
  CollectSample(PointSet & points, std::uint64_t seed, std::uint64_t sampleSize, std::uint64_t classified) const;

  /** Lloyd's algorithm over all voxels from centers; the labels hold the classes (class + 1). */
  RunResult
  IterateOverVoxels(const Metric & metric, std::vector<double> centers, unsigned int maximumIterations) const;

  /** Label every voxel taking part with its nearest centre. */
  void
  LabelVoxels(const Metric & metric, const std::vector<double> & centers) const
  {
    const unsigned int        K = metric.NumberOfClasses;
    const std::vector<double> half2(K, 0.0);
    DispatchChannels(m_C, [&](auto channels) {
      m_Runner.ForEachChunk([&](std::size_t, std::size_t begin, std::size_t end) {
        std::vector<double> partial(std::size_t{ K } * m_C + 2 * K + 1, 0.0);
        LloydChunk<decltype(channels)::value>(
          m_In, m_Out, begin, end, m_C, K, centers.data(), metric.Weights.data(), half2.data(), true, partial.data());
      });
    });
  }

  /** Replace every label l by relabel[l]. */
  void
  Relabel(const std::vector<TLabel> & relabel) const
  {
    m_Runner.ForEachChunk([&](std::size_t, std::size_t begin, std::size_t end) {
      for (std::size_t v = begin; v < end; ++v)
      {
        m_Out[v] = relabel[static_cast<std::size_t>(m_Out[v])];
      }
    });
  }

private:
  template <unsigned int CC>
  void
  ScanChunk(ChunkScan & s, std::size_t begin, std::size_t end) const
  {
    const unsigned int nc = CC ? CC : m_C;
    // Local accumulators: the label stores below could otherwise alias them.
    double              fixedSums[2 * (CC ? CC : 1)] = {};
    std::vector<double> dynamicSums(CC ? 0 : 2 * m_C, 0.0);
    double *            sums = CC ? fixedSums : dynamicSums.data();
    double *            squares = sums + nc;
    std::uint64_t       count = 0;
    bool                integral = !m_IntegralComponents;
    m_In.ForEach(begin, end, [&](std::size_t v, const TValue * x) {
      bool include = m_Out[v] != TLabel{};
      for (unsigned int c = 0; c < nc; ++c)
      {
        include = include && std::isfinite(static_cast<double>(x[c]));
      }
      m_Out[v] = include ? TLabel{ 1 } : TLabel{};
      if (!include)
      {
        return;
      }
      ++count;
      for (unsigned int c = 0; c < nc; ++c)
      {
        const auto value = static_cast<double>(x[c]);
        sums[c] += value;
        squares[c] += value * value;
      }
      if (integral)
      {
        // Integer-valued floating-point data (within +-2^53, where doubles hold every integer)?
        for (unsigned int c = 0; c < nc; ++c)
        {
          const auto value = static_cast<double>(x[c]);
          integral = integral && std::abs(value) <= TwoToThe53 &&
                     static_cast<double>(static_cast<std::int64_t>(value)) == value;
        }
      }
    });
    s.Sum.assign(sums, sums + nc);
    s.SumOfSquares.assign(squares, squares + nc);
    s.Count = count;
    s.Integral = m_IntegralComponents || integral;
  }

  const Runner &        m_Runner;
  const FeatureBlocks<TValue> & m_In;
  bool                          m_IntegralComponents;
  TLabel *                      m_Out;
  unsigned int                  m_C;
};

template <typename TValue, typename TLabel>
bool
VoxelPasses<TValue, TLabel>::CollectDistinctVectors(PointSet & points, std::uint64_t limit) const
{
  const unsigned int C = m_C;
  // Per chunk: an open-addressing hash table from vector to count.
  std::vector<DistinctVectors> chunks(m_Runner.NumberOfChunks());
  std::atomic<bool>            tooMany{ false };
  std::atomic<std::size_t>     entries{ 0 };
  m_Runner.ForEachChunk([&](std::size_t chunk, std::size_t begin, std::size_t end) {
    if (tooMany.load())
    {
      return;
    }
    DistinctVectors & cv = chunks[chunk];
    std::size_t       capacity = 1;
    while (capacity < 2 * (end - begin))
    {
      capacity <<= 1;
    }
    std::vector<std::uint32_t> table(capacity, 0); // 0: empty, else 1 + index into Counts
    std::vector<std::int64_t>  key(C);
    // Called only when every component taking part is an integer of at most 2^53 in magnitude: exact as a double.
    m_In.ForEach(begin, end, [&](std::size_t v, const TValue * x) {
      if (m_Out[v] == TLabel{})
      {
        return;
      }
      std::uint64_t h = 0;
      for (unsigned int c = 0; c < C; ++c)
      {
        key[c] = static_cast<std::int64_t>(static_cast<double>(x[c]));
        h = Mix(h ^ static_cast<std::uint64_t>(key[c]));
      }
      std::size_t slot = h & (capacity - 1);
      for (;;)
      {
        const std::uint32_t e = table[slot];
        if (e == 0)
        {
          table[slot] = static_cast<std::uint32_t>(cv.Counts.size() + 1);
          cv.Keys.insert(cv.Keys.end(), key.begin(), key.end());
          cv.Counts.push_back(1);
          break;
        }
        if (std::equal(key.begin(), key.end(), cv.Keys.begin() + std::size_t{ e - 1 } * C))
        {
          ++cv.Counts[e - 1];
          break;
        }
        slot = (slot + 1) & (capacity - 1);
      }
    });
    // The chunk lists together hold at least as many entries as there are distinct vectors: stop early (and
    // deterministically, as the running total only grows) when they would need more than 2 * limit entries.
    if (entries.fetch_add(cv.Counts.size()) + cv.Counts.size() > 2 * limit)
    {
      tooMany = true;
    }
  });
  return !tooMany && MergeDistinctVectors(chunks, C, limit, points);
}

template <typename TValue, typename TLabel>
void
VoxelPasses<TValue, TLabel>::CollectSample(PointSet &    points,
                                   std::uint64_t seed,
                                   std::uint64_t sampleSize,
                                   std::uint64_t classified) const
{
  const unsigned int C = m_C;
  const bool         all = classified <= sampleSize;
  const double fraction = all ? 1.0 : static_cast<double>(sampleSize) / static_cast<double>(classified);
  // Keep voxel v when its hash falls below fraction * 2^64.
  const std::uint64_t threshold = std::ldexp(fraction, 64) >= std::ldexp(1.0, 64)
                                   ? std::numeric_limits<std::uint64_t>::max()
                                   : static_cast<std::uint64_t>(std::ldexp(fraction, 64));
  const std::uint64_t                   salt = Mix(seed ^ 0x5A4D504C45ULL);
  std::vector<std::vector<std::size_t>> chunks(m_Runner.NumberOfChunks());
  m_Runner.ForEachChunk([&](std::size_t chunk, std::size_t begin, std::size_t end) {
    auto & selected = chunks[chunk];
    for (std::size_t v = begin; v < end; ++v)
    {
      if (m_Out[v] != TLabel{} && (all || Mix(v ^ salt) < threshold))
      {
        selected.push_back(v);
      }
    }
  });
  // Voxel indices in chunk order, then their feature vectors.
  std::vector<std::size_t> indices;
  for (auto & selected : chunks)
  {
    indices.insert(indices.end(), selected.begin(), selected.end());
    std::vector<std::size_t>().swap(selected);
  }
  points.Coordinates.resize(indices.size() * C);
  for (std::size_t i = 0; i < indices.size(); ++i)
  {
    m_In.Load(indices[i], points.Coordinates.data() + i * C);
  }
  points.Weights.clear();
  points.NumberOfPoints = indices.size();
}

template <typename TValue, typename TLabel>
RunResult
VoxelPasses<TValue, TLabel>::IterateOverVoxels(const Metric &      metric,
                                                   std::vector<double> centers,
                                                   unsigned int        maximumIterations) const
{
  const unsigned int  K = metric.NumberOfClasses;
  const unsigned int  C = m_C;
  const std::size_t   numberOfChunks = m_Runner.NumberOfChunks();
  const std::size_t   stride = std::size_t{ K } * C + 2 * K + 1; // sums, counts, sums of squares, changes
  std::vector<double> partial(numberOfChunks * stride);
  std::vector<double> half2(K);
  RunResult           result;
  for (unsigned int iteration = 1;; ++iteration)
  {
    const bool full = iteration == 1; // the first pass does not trust the initial labels
    metric.NearestOtherCenterDistances2(centers, half2);
    for (auto & h : half2)
    {
      h = 0.25 * h; // (half the distance to the nearest other centre)^2
    }
    DispatchChannels(C, [&](auto channels) {
      m_Runner.ForEachChunk([&](std::size_t chunk, std::size_t begin, std::size_t end) {
        double * p = partial.data() + chunk * stride;
        std::fill(p, p + stride, 0.0);
        LloydChunk<decltype(channels)::value>(
          m_In, m_Out, begin, end, C, K, centers.data(), metric.Weights.data(), half2.data(), full, p);
      });
    });
    // Reduce in chunk order.
    std::vector<double> total(stride, 0.0);
    for (std::size_t chunk = 0; chunk < numberOfChunks; ++chunk)
    {
      for (std::size_t e = 0; e < stride; ++e)
      {
        total[e] += partial[chunk * stride + e];
      }
    }
    const double changes = total[stride - 1];
    result.Iterations = iteration;
    result.Counts.assign(K, 0);
    result.SumsOfSquares.assign(total.begin() + std::size_t{ K } * C + K, total.begin() + std::size_t{ K } * C + 2 * K);
    result.WCSS = std::accumulate(result.SumsOfSquares.begin(), result.SumsOfSquares.end(), 0.0);
    for (unsigned int j = 0; j < K; ++j)
    {
      const double count = total[std::size_t{ K } * C + j];
      result.Counts[j] = static_cast<std::uint64_t>(count);
      if (count > 0.0)
      {
        for (unsigned int c = 0; c < C; ++c)
        {
          centers[std::size_t{ j } * C + c] = total[std::size_t{ j } * C + c] / count;
        }
      }
    }
    m_Runner.Progress(std::min(0.95f, 0.3f + 0.05f * static_cast<float>(iteration)));
    if ((!full && changes == 0.0) || iteration >= maximumIterations)
    {
      // No label changed: the means computed in this pass equal the centres it used, and the sums of squares
      // are those of the final labels about their means.
      break;
    }
  }
  result.Centers = centers;
  return result;
}

/** Channel means, standard deviations and distance weights from the per-chunk moments (in chunk order). */
void
ChannelMoments(const std::vector<ChunkScan> &  scans,
               unsigned int                    C,
               bool                            standardize,
               MultiChannelKMeans::Result &    result,
               bool &                          integral)
{
  std::vector<long double> sum(C, 0.0L), sumOfSquares(C, 0.0L);
  integral = true;
  for (const auto & s : scans) // chunk order
  {
    result.NumberOfClassifiedPixels += s.Count;
    integral = integral && s.Integral;
    for (unsigned int c = 0; c < C; ++c)
    {
      sum[c] += s.Sum[c];
      sumOfSquares[c] += s.SumOfSquares[c];
    }
  }
  if (result.NumberOfClassifiedPixels == 0)
  {
    return;
  }
  const auto n = static_cast<long double>(result.NumberOfClassifiedPixels);
  result.ChannelWeights.assign(C, 1.0);
  for (unsigned int c = 0; c < C; ++c)
  {
    const long double mean = sum[c] / n;
    const long double variance = std::max(0.0L, sumOfSquares[c] / n - mean * mean);
    result.ChannelMeans.push_back(static_cast<double>(mean));
    result.ChannelStandardDeviations.push_back(static_cast<double>(std::sqrt(variance)));
    if (standardize && variance > 0.0L)
    {
      result.ChannelWeights[c] = static_cast<double>(1.0L / variance);
    }
  }
}

/** The order of the classes by mean (first channel, then the next) and the relabeling table it gives. */
template <typename TLabel>
std::vector<TLabel>
OrderClasses(const RunResult & final, unsigned int K, unsigned int C, MultiChannelKMeans::Result & result)
{
  std::vector<unsigned int> order(K);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](unsigned int a, unsigned int b) {
    return std::lexicographical_compare(final.Centers.begin() + std::size_t{ a } * C,
                                        final.Centers.begin() + std::size_t{ a } * C + C,
                                        final.Centers.begin() + std::size_t{ b } * C,
                                        final.Centers.begin() + std::size_t{ b } * C + C);
  });
  std::vector<TLabel> relabel(std::size_t{ K } + 1, TLabel{});
  bool                identity = true;
  for (unsigned int k = 0; k < K; ++k)
  {
    relabel[order[k] + 1] = static_cast<TLabel>(k + 1);
    result.ClassMeans.emplace_back(final.Centers.begin() + std::size_t{ order[k] } * C,
                                   final.Centers.begin() + std::size_t{ order[k] } * C + C);
    result.ClassCounts.push_back(final.Counts[order[k]]);
    result.ClassSumsOfSquares.push_back(final.SumsOfSquares[order[k]]);
    identity = identity && order[k] == k;
  }
  result.WithinClassSumOfSquares = final.WCSS;
  result.NumberOfIterations = final.Iterations;
  return identity ? std::vector<TLabel>{} : relabel;
}
/** What the passes need to know of the component type. */
struct ComponentKind
{
  bool Integral;    // an integer type
  bool WideInteger; // an integer type of 8 bytes (not every value exact as a double)
};

/** MultiChannelKMeans::Run() once the features are read as TValue (one instantiation per value and label type). */
template <typename TValue, typename TLabel>
void
RunOnBlocks(const MultiChannelKMeans::Parameters & p,
            ProcessObject *                        processObject,
            const FeatureBlocks<TValue> &          blocks,
            ComponentKind                          kind,
            TLabel *                               labels,
            std::size_t                            numberOfVoxels,
            unsigned int                           numberOfChannels,
            MultiChannelKMeans::Result &           result)
{
  const unsigned int          C = numberOfChannels;
  const Runner                runner(processObject, numberOfVoxels);
  const VoxelPasses<TValue, TLabel> passes(runner, blocks, kind.Integral, labels, C);

  bool integral = true;
  ChannelMoments(passes.Scan(), C, p.Standardize, result, integral);
  integral = integral && !kind.WideInteger;
  if (result.NumberOfClassifiedPixels == 0)
  {
    throw MultiChannelKMeans::NoVoxelError("no voxel takes part");
  }
  runner.Progress(0.1f);

  // Points held in memory: the distinct vectors, or a sample of voxels.
  const Metric metric{ p.NumberOfClasses, C, result.ChannelWeights };
  PointSet     points;
  result.UsedDistinctVectors =
    p.UseDistinctVectors && integral && passes.CollectDistinctVectors(points, p.MaximumNumberOfDistinctVectors);
  if (result.UsedDistinctVectors)
  {
    result.NumberOfDistinctVectors = points.Size();
  }
  else
  {
    passes.CollectSample(points, p.Seed, p.MaximumSampleSize, result.NumberOfClassifiedPixels);
  }
  runner.Progress(0.2f);

  const std::vector<RunResult> runs = RunRestarts(metric, points, p, runner.Threader());
  const bool sampled = !result.UsedDistinctVectors && points.Size() != result.NumberOfClassifiedPixels;
  const std::size_t best = BestRun(runs, points, metric, sampled, result.RestartWithinClassSumsOfSquares);
  runner.Progress(0.3f);

  RunResult final;
  if (result.UsedDistinctVectors)
  {
    final = runs[best];
    passes.LabelVoxels(metric, final.Centers);
  }
  else
  {
    PointSet().Coordinates.swap(points.Coordinates);
    final = passes.IterateOverVoxels(metric, runs[best].Centers, p.MaximumNumberOfIterations);
  }
  const std::vector<TLabel> relabel = OrderClasses<TLabel>(final, p.NumberOfClasses, C, result);
  if (!relabel.empty())
  {
    passes.Relabel(relabel);
  }
  runner.Progress(1.0f);
}


} // namespace

void
MultiChannelKMeans::VerifyParameters(const Parameters & p)
{
  auto fail = [](const std::string & message) { throw std::invalid_argument(message); };
  if (p.NumberOfClasses < 1)
  {
    fail("NumberOfClasses is " + std::to_string(p.NumberOfClasses) + "; it must be at least 1");
  }
  if (p.NumberOfRestarts < 1)
  {
    fail("NumberOfRestarts is " + std::to_string(p.NumberOfRestarts) + "; it must be at least 1");
  }
  if (p.MaximumNumberOfIterations < 1)
  {
    fail("MaximumNumberOfIterations is " + std::to_string(p.MaximumNumberOfIterations) +
         "; it must be at least 1");
  }
  if (p.MaximumSampleSize < p.NumberOfClasses)
  {
    fail("MaximumSampleSize is " + std::to_string(p.MaximumSampleSize) + "; it must be at least NumberOfClasses (" +
         std::to_string(p.NumberOfClasses) + ")");
  }
}

template <typename TComponent, typename TLabel>
void
MultiChannelKMeans::Run(const TComponent * features,
                        TLabel *           labels,
                        std::size_t        numberOfVoxels,
                        unsigned int       numberOfChannels)
{
  VerifyParameters(m_Parameters);
  if (numberOfChannels < 1)
  {
    throw std::invalid_argument("the input has no channel (0 components per pixel)");
  }
  if (m_Parameters.NumberOfClasses > std::numeric_limits<TLabel>::max())
  {
    throw std::invalid_argument("NumberOfClasses is " + std::to_string(m_Parameters.NumberOfClasses) +
                                ", more than the labels hold (" +
                                std::to_string(std::numeric_limits<TLabel>::max()) + ")");
  }
  m_Result = Result{};
  // Float features are read as float, the others as double (in place when they are double).
  using ValueType = typename std::conditional<std::is_same<TComponent, float>::value, float, double>::type;
  const FeatureBlocks<ValueType> blocks(
    features, std::is_same<TComponent, ValueType>::value ? nullptr : &LoadComponents<TComponent>, numberOfChannels);
  // 64-bit integers beyond 2^53 are not exact as doubles: the voxel path handles them, never distinct vectors.
  const ComponentKind kind{ std::is_integral<TComponent>::value,
                            std::is_integral<TComponent>::value && sizeof(TComponent) >= 8 };
  RunOnBlocks(m_Parameters, m_ProcessObject, blocks, kind, labels, numberOfVoxels, numberOfChannels, m_Result);
}

#define KMEANS_INSTANTIATE_RUN(TComponent)                                                                       \
  template KMeansSegmentation_EXPORT void MultiChannelKMeans::Run(const TComponent *, unsigned char *, std::size_t, unsigned int);  \
  template KMeansSegmentation_EXPORT void MultiChannelKMeans::Run(const TComponent *, unsigned short *, std::size_t, unsigned int); \
  template KMeansSegmentation_EXPORT void MultiChannelKMeans::Run(const TComponent *, unsigned int *, std::size_t, unsigned int)
KMEANS_INSTANTIATE_RUN(signed char);
KMEANS_INSTANTIATE_RUN(unsigned char);
KMEANS_INSTANTIATE_RUN(short);
KMEANS_INSTANTIATE_RUN(unsigned short);
KMEANS_INSTANTIATE_RUN(int);
KMEANS_INSTANTIATE_RUN(unsigned int);
KMEANS_INSTANTIATE_RUN(long);
KMEANS_INSTANTIATE_RUN(unsigned long);
KMEANS_INSTANTIATE_RUN(long long);
KMEANS_INSTANTIATE_RUN(unsigned long long);
KMEANS_INSTANTIATE_RUN(float);
KMEANS_INSTANTIATE_RUN(double);
#undef KMEANS_INSTANTIATE_RUN
} // namespace itk
