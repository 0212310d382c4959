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
#ifndef itkMultiChannelKMeansSegmentationImageFilter_hxx
#define itkMultiChannelKMeansSegmentationImageFilter_hxx

#include "itkKMeansSegmentationMemory.h"
#include "itkMultiThreaderBase.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

namespace itk
{
namespace MultiChannelKMeansDetail
{
/** SplitMix64 finaliser: a fixed 64-bit mixing function (Steele et al. 2014). */
inline std::uint64_t
Mix(std::uint64_t x)
{
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/** Uniform double in [0, 1) from the top 53 bits of a draw (the same on every platform). */
inline double
Uniform(std::mt19937_64 & rng)
{
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

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

/** One chunk of a Lloyd pass over voxels [begin, end): labels (class + 1, 0 = not taking part) are updated in
 * place, and the chunk's per-class sums, counts, sums of squared distances and number of changed labels are
 * accumulated in voxel order. A voxel closer to its own centre than half the distance from that centre to the
 * nearest other centre (squared: half2) keeps its label without further comparisons; with full, every voxel is
 * compared with every centre. Distances are sum over c of weight[c] * (x[c] - centre[c])^2, summed in channel
 * order, exactly as the filter's Distance2(). */
template <unsigned int CC, typename TComponent, typename TLabel>
void
LloydChunk(const TComponent * in,
           TLabel *           out,
           std::size_t        begin,
           std::size_t        end,
           unsigned int       channels,
           unsigned int       classes,
           const double *     centers,
           const double *     weights,
           const double *     half2,
           bool               full,
           double *           partial)
{
  const unsigned int  C = CC ? CC : channels;
  const unsigned int  K = classes;
  double *            sums = partial;
  double *            counts = partial + std::size_t{ K } * C;
  double *            squares = counts + K;
  double &            changes = squares[K];
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
  for (std::size_t v = begin; v < end; ++v)
  {
    const TLabel label = out[v];
    if (label == TLabel{})
    {
      continue;
    }
    for (unsigned int c = 0; c < C; ++c)
    {
      x[c] = static_cast<double>(in[v * C + c]);
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
}

template <typename T>
std::string
Join(const T & values, unsigned int n)
{
  std::ostringstream os;
  os << "[";
  for (unsigned int i = 0; i < n; ++i)
  {
    os << (i ? ", " : "") << values[i];
  }
  os << "]";
  return os.str();
}
} // namespace MultiChannelKMeansDetail

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::
  MultiChannelKMeansSegmentationImageFilter()
{
  this->SetNumberOfRequiredInputs(1);
  this->AddOptionalInputName("MaskImage");
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
template <typename TImage>
std::string
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::DescribeGeometry(
  const TImage * image)
{
  using MultiChannelKMeansDetail::Join;
  constexpr unsigned int D = TImage::ImageDimension;
  const auto &           region = image->GetLargestPossibleRegion();
  std::ostringstream     os;
  os << "size " << Join(region.GetSize(), D) << ", start index " << Join(region.GetIndex(), D) << ", origin "
     << Join(image->GetOrigin(), D) << ", spacing " << Join(image->GetSpacing(), D) << ", direction [";
  for (unsigned int r = 0; r < D; ++r)
  {
    os << (r ? ", " : "") << Join(image->GetDirection()[r], D);
  }
  os << "]";
  return os.str();
}

namespace MultiChannelKMeansDetail
{
/** Whether two images occupy the same voxel grid, with ITK's default tolerances. */
template <typename TA, typename TB>
bool
SameGeometry(const TA * a, const TB * b)
{
  constexpr unsigned int D = TA::ImageDimension;
  if (a->GetLargestPossibleRegion().GetSize() != b->GetLargestPossibleRegion().GetSize() ||
      a->GetLargestPossibleRegion().GetIndex() != b->GetLargestPossibleRegion().GetIndex())
  {
    return false;
  }
  const double coordinateTolerance = 1.0e-6 * a->GetSpacing()[0];
  for (unsigned int d = 0; d < D; ++d)
  {
    if (std::abs(a->GetOrigin()[d] - b->GetOrigin()[d]) > coordinateTolerance ||
        std::abs(a->GetSpacing()[d] - b->GetSpacing()[d]) > coordinateTolerance)
    {
      return false;
    }
    for (unsigned int e = 0; e < D; ++e)
    {
      if (std::abs(a->GetDirection()[d][e] - b->GetDirection()[d][e]) > 1.0e-6)
      {
        return false;
      }
    }
  }
  return true;
}
} // namespace MultiChannelKMeansDetail

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
template <typename TChannelImage>
auto
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::ComposeChannels(
  const std::vector<const TChannelImage *> & channels,
  const std::vector<std::string> &           names) -> typename InputImageType::Pointer
{
  static_assert(TChannelImage::ImageDimension == ImageDimension, "channels must have the input's dimension");
  auto nameOf = [&names](std::size_t i) {
    std::string name = "channel " + std::to_string(i);
    if (i < names.size() && !names[i].empty())
    {
      name += " (" + names[i] + ")";
    }
    return name;
  };
  if (channels.empty())
  {
    itkGenericExceptionMacro(<< "no channel given");
  }
  for (std::size_t i = 0; i < channels.size(); ++i)
  {
    if (channels[i] == nullptr)
    {
      itkGenericExceptionMacro(<< nameOf(i) << " is null");
    }
    if (channels[i]->GetBufferedRegion() != channels[i]->GetLargestPossibleRegion())
    {
      itkGenericExceptionMacro(<< nameOf(i) << " does not hold its whole image in memory (call Update() first)");
    }
    if (i > 0 && !MultiChannelKMeansDetail::SameGeometry(channels[0], channels[i]))
    {
      itkGenericExceptionMacro(<< nameOf(i) << " geometry (" << DescribeGeometry(channels[i])
                               << ") differs from " << nameOf(0) << " geometry (" << DescribeGeometry(channels[0])
                               << ")");
    }
  }
  const auto numberOfChannels = static_cast<unsigned int>(channels.size());
  auto       image = InputImageType::New();
  image->SetRegions(channels[0]->GetLargestPossibleRegion());
  image->SetOrigin(channels[0]->GetOrigin());
  image->SetSpacing(channels[0]->GetSpacing());
  image->SetDirection(channels[0]->GetDirection());
  image->SetNumberOfComponentsPerPixel(numberOfChannels);
  image->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(image.GetPointer());
  ComponentType *     out = image->GetBufferPointer();
  const SizeValueType n = channels[0]->GetLargestPossibleRegion().GetNumberOfPixels();
  for (unsigned int c = 0; c < numberOfChannels; ++c)
  {
    const auto * in = channels[c]->GetBufferPointer();
    for (SizeValueType i = 0; i < n; ++i)
    {
      out[i * numberOfChannels + c] = static_cast<ComponentType>(in[i]);
    }
  }
  return image;
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  if (m_NumberOfClasses < 1)
  {
    itkExceptionMacro(<< "NumberOfClasses is " << m_NumberOfClasses << "; it must be at least 1");
  }
  const auto maximumLabel = static_cast<unsigned long long>(NumericTraits<OutputPixelType>::max());
  if (m_NumberOfClasses > maximumLabel)
  {
    itkExceptionMacro(<< "NumberOfClasses is " << m_NumberOfClasses << ", more than the output pixel type holds ("
                      << maximumLabel << ")");
  }
  if (m_NumberOfRestarts < 1)
  {
    itkExceptionMacro(<< "NumberOfRestarts is " << m_NumberOfRestarts << "; it must be at least 1");
  }
  if (m_MaximumNumberOfIterations < 1)
  {
    itkExceptionMacro(<< "MaximumNumberOfIterations is " << m_MaximumNumberOfIterations
                      << "; it must be at least 1");
  }
  if (m_MaximumSampleSize < m_NumberOfClasses)
  {
    itkExceptionMacro(<< "MaximumSampleSize is " << m_MaximumSampleSize << "; it must be at least NumberOfClasses ("
                      << m_NumberOfClasses << ")");
  }
  if (this->GetInput()->GetNumberOfComponentsPerPixel() < 1)
  {
    itkExceptionMacro(<< "the input has no channel (0 components per pixel)");
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyInputInformation() const
{
  const TInputImage * input = this->GetInput();
  const TMaskImage *  mask = this->GetMaskImage();
  if (input == nullptr || mask == nullptr)
  {
    return;
  }
  if (!MultiChannelKMeansDetail::SameGeometry(input, mask))
  {
    itkExceptionMacro(<< "mask geometry (" << DescribeGeometry(mask) << ") differs from input geometry ("
                      << DescribeGeometry(input) << ")");
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  // Class statistics are global: the whole input (and mask) is needed.
  if (auto * input = const_cast<TInputImage *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * mask = const_cast<TMaskImage *>(this->GetMaskImage()))
  {
    mask->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::EnlargeOutputRequestedRegion(
  DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
template <typename TFunction>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::ForEachChunk(
  TFunction && function) const
{
  const SizeValueType numberOfChunks = (m_NumberOfVoxels + ChunkSize - 1) / ChunkSize;
  MultiThreaderBase * threader = this->GetMultiThreader();
  threader->ParallelizeArray(
    0,
    numberOfChunks,
    [&](SizeValueType chunk) {
      if (this->GetAbortGenerateData())
      {
        return;
      }
      const SizeValueType begin = chunk * ChunkSize;
      function(chunk, begin, std::min(begin + ChunkSize, m_NumberOfVoxels));
    },
    nullptr);
  if (this->GetAbortGenerateData())
  {
    ProcessAborted e(__FILE__, __LINE__);
    e.SetDescription("MultiChannelKMeansSegmentationImageFilter: aborted");
    throw e;
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
bool
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::SeedCenters(
  const PointSet &      points,
  std::uint64_t         seed,
  std::vector<double> & centers) const
{
  // Greedy k-means++: each new centre is the best (lowest potential) of 2 + floor(ln K) candidates drawn with
  // probability proportional to weight times squared distance to the nearest centre chosen so far.
  const unsigned int  K = m_NumberOfClasses;
  const unsigned int  C = m_NumberOfChannels;
  const std::size_t   n = points.Size();
  const double *      x = points.Coordinates.data();
  std::mt19937_64     rng(seed);
  std::vector<double> prefix(n);
  auto                draw = [&]() {
    const double u = MultiChannelKMeansDetail::Uniform(rng) * prefix[n - 1];
    const auto   it = std::upper_bound(prefix.begin(), prefix.end(), u);
    std::size_t  i = it == prefix.end() ? n - 1 : static_cast<std::size_t>(it - prefix.begin());
    while (i > 0 && prefix[i] == prefix[i - 1]) // only when u rounds to the total: step back to a heavy point
    {
      --i;
    }
    return i;
  };
  centers.assign(std::size_t{ K } * C, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i)
  {
    total += static_cast<double>(points.Weight(i));
    prefix[i] = total;
  }
  std::size_t first = draw();
  std::copy(x + first * C, x + first * C + C, centers.begin());
  std::vector<double> nearest(n);
  for (std::size_t i = 0; i < n; ++i)
  {
    nearest[i] = Distance2(x + i * C, centers.data());
  }
  const unsigned int trials = 2 + static_cast<unsigned int>(std::log(static_cast<double>(K)));
  for (unsigned int k = 1; k < K; ++k)
  {
    double potential = 0.0;
    for (std::size_t i = 0; i < n; ++i)
    {
      potential += static_cast<double>(points.Weight(i)) * nearest[i];
      prefix[i] = potential;
    }
    if (!(potential > 0.0))
    {
      return false; // fewer than K distinct points
    }
    double      bestPotential = std::numeric_limits<double>::infinity();
    std::size_t bestIndex = 0;
    for (unsigned int t = 0; t < trials; ++t)
    {
      const std::size_t c = draw();
      double            p = 0.0;
      for (std::size_t i = 0; i < n; ++i)
      {
        p += static_cast<double>(points.Weight(i)) * std::min(nearest[i], Distance2(x + i * C, x + c * C));
      }
      if (p < bestPotential)
      {
        bestPotential = p;
        bestIndex = c;
      }
    }
    for (std::size_t i = 0; i < n; ++i)
    {
      nearest[i] = std::min(nearest[i], Distance2(x + i * C, x + bestIndex * C));
    }
    std::copy(x + bestIndex * C, x + bestIndex * C + C, centers.begin() + std::size_t{ k } * C);
  }
  return true;
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
auto
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::RunLloyd(const PointSet & points,
                                                                                          unsigned int restart) const
  -> RunResult
{
  using MultiChannelKMeansDetail::Mix;
  const unsigned int K = m_NumberOfClasses;
  const unsigned int C = m_NumberOfChannels;
  const std::size_t  n = points.Size();
  const double *     x = points.Coordinates.data();

  RunResult result;
  if (!SeedCenters(points, Mix(Mix(m_Seed) + restart), result.Centers))
  {
    return result;
  }
  result.Seeded = true;
  std::vector<double> & centers = result.Centers;

  std::vector<std::uint32_t> assignment(n, 0);
  std::vector<double>        upper(n), lower(n);
  std::vector<double>        d2(K), sums(std::size_t{ K } * C), newCenters(std::size_t{ K } * C);
  std::vector<double>        moved(K), half(K);
  std::vector<std::uint64_t> counts(K);

  // Full assignment of point i: nearest centre (first on ties) and the two smallest distances.
  auto assignFully = [&](std::size_t i) {
    double       b1 = std::numeric_limits<double>::infinity(), b2 = b1;
    unsigned int a = 0;
    for (unsigned int j = 0; j < K; ++j)
    {
      const double d = Distance2(x + i * C, centers.data() + std::size_t{ j } * C);
      if (d < b1)
      {
        b2 = b1;
        b1 = d;
        a = j;
      }
      else if (d < b2)
      {
        b2 = d;
      }
    }
    const bool changed = assignment[i] != a;
    assignment[i] = a;
    upper[i] = std::sqrt(b1);
    lower[i] = std::sqrt(b2);
    return changed;
  };
  for (std::size_t i = 0; i < n; ++i)
  {
    assignFully(i);
  }

  bool bounded = true; // false: assign every point fully (after a relocation, and to confirm convergence)
  for (unsigned int iteration = 1;; ++iteration)
  {
    // Update step: class means, summed in point order.
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::size_t i = 0; i < n; ++i)
    {
      const unsigned int a = assignment[i];
      const auto         wi = static_cast<double>(points.Weight(i));
      for (unsigned int c = 0; c < C; ++c)
      {
        sums[std::size_t{ a } * C + c] += wi * x[i * C + c];
      }
      counts[a] += points.Weight(i);
    }
    bool relocated = false;
    for (unsigned int j = 0; j < K; ++j)
    {
      if (counts[j] == 0)
      {
        // Empty class: move its centre to the point farthest from its own centre.
        std::size_t far = 0;
        for (std::size_t i = 1; i < n; ++i)
        {
          if (upper[i] > upper[far])
          {
            far = i;
          }
        }
        std::copy(x + far * C, x + far * C + C, newCenters.begin() + std::size_t{ j } * C);
        upper[far] = 0.0;
        relocated = true;
        continue;
      }
      for (unsigned int c = 0; c < C; ++c)
      {
        newCenters[std::size_t{ j } * C + c] = sums[std::size_t{ j } * C + c] / static_cast<double>(counts[j]);
      }
    }
    double maxMove = 0.0, secondMove = 0.0;
    unsigned int maxMoved = 0;
    for (unsigned int j = 0; j < K; ++j)
    {
      moved[j] = std::sqrt(Distance2(centers.data() + std::size_t{ j } * C, newCenters.data() + std::size_t{ j } * C));
      if (moved[j] > maxMove)
      {
        secondMove = maxMove;
        maxMove = moved[j];
        maxMoved = j;
      }
      else if (moved[j] > secondMove)
      {
        secondMove = moved[j];
      }
    }
    centers = newCenters;
    result.Iterations = iteration;
    if (iteration >= m_MaximumNumberOfIterations && (!relocated || iteration >= m_MaximumNumberOfIterations + K))
    {
      break;
    }
    for (unsigned int j = 0; j < K; ++j)
    {
      double m = std::numeric_limits<double>::infinity();
      for (unsigned int l = 0; l < K; ++l)
      {
        if (l != j)
        {
          m = std::min(m, Distance2(centers.data() + std::size_t{ j } * C, centers.data() + std::size_t{ l } * C));
        }
      }
      half[j] = 0.5 * std::sqrt(m);
    }

    // Assignment step with Hamerly's bounds.
    std::size_t changed = 0;
    const bool  useBounds = bounded && !relocated;
    for (std::size_t i = 0; i < n; ++i)
    {
      if (!useBounds)
      {
        changed += assignFully(i) ? 1 : 0;
        continue;
      }
      const unsigned int a = assignment[i];
      upper[i] += moved[a];
      lower[i] -= a == maxMoved ? secondMove : maxMove;
      const double z = std::max(lower[i], half[a]);
      if (upper[i] <= z)
      {
        continue;
      }
      upper[i] = std::sqrt(Distance2(x + i * C, centers.data() + std::size_t{ a } * C));
      if (upper[i] <= z)
      {
        continue;
      }
      changed += assignFully(i) ? 1 : 0;
    }
    if (changed == 0)
    {
      if (!useBounds)
      {
        break; // a full assignment changed nothing: a fixed point of Lloyd's algorithm
      }
      bounded = false; // confirm with one full assignment (guards against rounding in the bounds)
    }
  }

  // Class statistics of the final assignment.
  result.Counts.assign(K, 0);
  result.SumsOfSquares.assign(K, 0.0);
  for (std::size_t i = 0; i < n; ++i)
  {
    const unsigned int a = assignment[i];
    result.Counts[a] += points.Weight(i);
    result.SumsOfSquares[a] += static_cast<double>(points.Weight(i)) * Distance2(x + i * C, centers.data() + std::size_t{ a } * C);
  }
  result.WCSS = std::accumulate(result.SumsOfSquares.begin(), result.SumsOfSquares.end(), 0.0);
  return result;
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
bool
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::CollectDistinctVectors(
  PointSet & points)
{
  using MultiChannelKMeansDetail::Mix;
  const unsigned int      C = m_NumberOfChannels;
  const ComponentType *   in = this->GetInput()->GetBufferPointer();
  const OutputPixelType * out = this->GetOutput()->GetBufferPointer();
  const SizeValueType     numberOfChunks = (m_NumberOfVoxels + ChunkSize - 1) / ChunkSize;
  const SizeValueType     limit = m_MaximumNumberOfDistinctVectors;

  // Per chunk: an open-addressing hash table from vector to count.
  struct ChunkVectors
  {
    std::vector<std::int64_t>  Keys;
    std::vector<std::uint64_t> Counts;
  };
  std::vector<ChunkVectors> chunks(numberOfChunks);
  std::atomic<bool>         tooMany{ false };
  std::atomic<std::size_t>  entries{ 0 };
  ForEachChunk([&](SizeValueType chunk, SizeValueType begin, SizeValueType end) {
    if (tooMany.load())
    {
      return;
    }
    ChunkVectors &             cv = chunks[chunk];
    std::size_t                capacity = 1;
    while (capacity < 2 * (end - begin))
    {
      capacity <<= 1;
    }
    std::vector<std::uint32_t> table(capacity, 0); // 0: empty, else 1 + index into Counts
    std::vector<std::int64_t>  key(C);
    for (SizeValueType v = begin; v < end; ++v)
    {
      if (out[v] == OutputPixelType{})
      {
        continue;
      }
      std::uint64_t h = 0;
      for (unsigned int c = 0; c < C; ++c)
      {
        key[c] = static_cast<std::int64_t>(in[v * C + c]);
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
    }
    // The chunk lists together hold at least as many entries as there are distinct vectors: stop early (and
    // deterministically, as the running total only grows) when they would need more than 2 * limit entries.
    if (entries.fetch_add(cv.Counts.size()) + cv.Counts.size() > 2 * limit)
    {
      tooMany = true;
    }
  });
  if (tooMany)
  {
    return false;
  }
  // Merge: all chunk entries, sorted lexicographically, equal vectors summed. The result does not depend on the
  // chunking.
  std::size_t total = 0;
  for (const auto & cv : chunks)
  {
    total += cv.Counts.size();
  }
  std::vector<std::int64_t>  keys;
  std::vector<std::uint64_t> counts;
  keys.reserve(total * C);
  counts.reserve(total);
  for (auto & cv : chunks)
  {
    keys.insert(keys.end(), cv.Keys.begin(), cv.Keys.end());
    counts.insert(counts.end(), cv.Counts.begin(), cv.Counts.end());
    ChunkVectors().Keys.swap(cv.Keys);
    ChunkVectors().Counts.swap(cv.Counts);
  }
  std::vector<std::size_t> order(total);
  std::iota(order.begin(), order.end(), std::size_t{ 0 });
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::lexicographical_compare(
      keys.begin() + a * C, keys.begin() + a * C + C, keys.begin() + b * C, keys.begin() + b * C + C);
  });
  points.Coordinates.clear();
  points.Weights.clear();
  for (std::size_t r = 0; r < total; ++r)
  {
    const std::size_t i = order[r];
    if (r > 0 && std::equal(keys.begin() + i * C, keys.begin() + i * C + C, keys.begin() + order[r - 1] * C))
    {
      points.Weights.back() += counts[i];
      continue;
    }
    if (points.Weights.size() == limit)
    {
      return false;
    }
    for (unsigned int c = 0; c < C; ++c)
    {
      points.Coordinates.push_back(static_cast<double>(keys[i * C + c]));
    }
    points.Weights.push_back(counts[i]);
  }
  points.NumberOfPoints = points.Weights.size();
  return true;
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::CollectSample(PointSet & points)
{
  // Bernoulli sample keyed by a hash of the voxel index and the seed: independent of threads and chunking.
  using MultiChannelKMeansDetail::Mix;
  const unsigned int      C = m_NumberOfChannels;
  const ComponentType *   in = this->GetInput()->GetBufferPointer();
  const OutputPixelType * out = this->GetOutput()->GetBufferPointer();
  const SizeValueType     numberOfChunks = (m_NumberOfVoxels + ChunkSize - 1) / ChunkSize;
  const bool              all = m_NumberOfClassifiedPixels <= m_MaximumSampleSize;
  const double            fraction =
    all ? 1.0 : static_cast<double>(m_MaximumSampleSize) / static_cast<double>(m_NumberOfClassifiedPixels);
  // Keep voxel v when its hash falls below fraction * 2^64.
  const std::uint64_t threshold = std::ldexp(fraction, 64) >= std::ldexp(1.0, 64)
                                   ? std::numeric_limits<std::uint64_t>::max()
                                   : static_cast<std::uint64_t>(std::ldexp(fraction, 64));
  const std::uint64_t                     salt = Mix(m_Seed ^ 0x5A4D504C45ULL);
  std::vector<std::vector<SizeValueType>> chunks(numberOfChunks);
  ForEachChunk([&](SizeValueType chunk, SizeValueType begin, SizeValueType end) {
    auto & selected = chunks[chunk];
    for (SizeValueType v = begin; v < end; ++v)
    {
      if (out[v] != OutputPixelType{} && (all || Mix(v ^ salt) < threshold))
      {
        selected.push_back(v);
      }
    }
  });
  // Voxel indices in chunk order, then their feature vectors.
  std::vector<SizeValueType> indices;
  for (auto & selected : chunks)
  {
    indices.insert(indices.end(), selected.begin(), selected.end());
    std::vector<SizeValueType>().swap(selected);
  }
  points.Coordinates.resize(indices.size() * C);
  for (std::size_t i = 0; i < indices.size(); ++i)
  {
    for (unsigned int c = 0; c < C; ++c)
    {
      points.Coordinates[i * C + c] = static_cast<double>(in[indices[i] * C + c]);
    }
  }
  points.Weights.clear();
  points.NumberOfPoints = indices.size();
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
auto
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::IterateOverVoxels(
  std::vector<double> centers) -> RunResult
{
  // Lloyd's algorithm over all voxels; the output holds the labels (0: not taking part, else class + 1).
  const unsigned int      K = m_NumberOfClasses;
  const unsigned int      C = m_NumberOfChannels;
  const ComponentType *   in = this->GetInput()->GetBufferPointer();
  OutputPixelType *       out = this->GetOutput()->GetBufferPointer();
  const SizeValueType     numberOfChunks = (m_NumberOfVoxels + ChunkSize - 1) / ChunkSize;
  const std::size_t       stride = std::size_t{ K } * C + 2 * K + 1; // sums, counts, sums of squares, changes
  std::vector<double>     partial(numberOfChunks * stride);
  std::vector<double>     half2(K);
  RunResult               result;

  for (unsigned int iteration = 1;; ++iteration)
  {
    const bool full = iteration == 1; // the first pass does not trust the initial labels
    for (unsigned int j = 0; j < K; ++j)
    {
      double m = std::numeric_limits<double>::infinity();
      for (unsigned int l = 0; l < K; ++l)
      {
        if (l != j)
        {
          m = std::min(m, Distance2(centers.data() + std::size_t{ j } * C, centers.data() + std::size_t{ l } * C));
        }
      }
      half2[j] = 0.25 * m; // (half the distance to the nearest other centre)^2
    }
    MultiChannelKMeansDetail::DispatchChannels(C, [&](auto channels) {
      ForEachChunk([&](SizeValueType chunk, SizeValueType begin, SizeValueType end) {
        double * p = partial.data() + chunk * stride;
        std::fill(p, p + stride, 0.0);
        MultiChannelKMeansDetail::LloydChunk<decltype(channels)::value>(
          in, out, begin, end, C, K, centers.data(), m_ChannelWeights.data(), half2.data(), full, p);
      });
    });
    // Reduce in chunk order.
    std::vector<double> total(stride, 0.0);
    for (SizeValueType chunk = 0; chunk < numberOfChunks; ++chunk)
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
    this->UpdateProgress(std::min(0.95f, 0.3f + 0.05f * static_cast<float>(iteration)));
    if ((!full && changes == 0.0) || iteration >= m_MaximumNumberOfIterations)
    {
      // No label changed: the means computed in this pass equal the centres it used, and the sums of squares
      // are those of the final labels about their means.
      break;
    }
  }
  result.Centers = centers;
  return result;
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::LabelVoxels(
  const std::vector<double> & centers)
{
  const unsigned int    K = m_NumberOfClasses;
  const unsigned int    C = m_NumberOfChannels;
  const ComponentType * in = this->GetInput()->GetBufferPointer();
  OutputPixelType *     out = this->GetOutput()->GetBufferPointer();
  const std::vector<double> half2(K, 0.0);
  MultiChannelKMeansDetail::DispatchChannels(C, [&](auto channels) {
    ForEachChunk([&](SizeValueType, SizeValueType begin, SizeValueType end) {
      std::vector<double> partial(std::size_t{ K } * C + 2 * K + 1, 0.0);
      MultiChannelKMeansDetail::LloydChunk<decltype(channels)::value>(
        in, out, begin, end, C, K, centers.data(), m_ChannelWeights.data(), half2.data(), true, partial.data());
    });
  });
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateData()
{
  const TInputImage * input = this->GetInput();
  const TMaskImage *  mask = this->GetMaskImage();
  TOutputImage *      output = this->GetOutput();

  m_ClassMeans.clear();
  m_ClassCounts.clear();
  m_ClassSumsOfSquares.clear();
  m_RestartWithinClassSumsOfSquares.clear();
  m_ChannelMeans.clear();
  m_ChannelStandardDeviations.clear();
  m_WithinClassSumOfSquares = 0.0;
  m_NumberOfIterations = 0;
  m_NumberOfClassifiedPixels = 0;
  m_UsedDistinctVectors = false;
  m_NumberOfDistinctVectors = 0;

  const unsigned int K = m_NumberOfClasses;
  const unsigned int C = input->GetNumberOfComponentsPerPixel();
  m_NumberOfChannels = C;
  m_NumberOfVoxels = input->GetLargestPossibleRegion().GetNumberOfPixels();
  this->GetMultiThreader()->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());

  output->SetBufferedRegion(output->GetRequestedRegion());
  output->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(output);

  // Pass 1: which voxels take part (recorded as label 1 in the output), channel moments, integer check.
  const ComponentType *   in = input->GetBufferPointer();
  const MaskPixelType *   maskBuffer = mask ? mask->GetBufferPointer() : nullptr;
  OutputPixelType *       out = output->GetBufferPointer();
  const SizeValueType     numberOfChunks = (m_NumberOfVoxels + ChunkSize - 1) / ChunkSize;
  struct ChunkScan
  {
    std::vector<double> Sum, SumOfSquares; // per chunk, in voxel order
    SizeValueType       Count{ 0 };
    bool                Integral{ true };
  };
  std::vector<ChunkScan> scans(numberOfChunks);
  MultiChannelKMeansDetail::DispatchChannels(C, [&](auto channels) {
    constexpr unsigned int CC = decltype(channels)::value;
    ForEachChunk([&](SizeValueType chunk, SizeValueType begin, SizeValueType end) {
      const unsigned int  nc = CC ? CC : C;
      ChunkScan &         s = scans[chunk];
      // Local accumulators: the label stores below could otherwise alias them.
      double              fixedSums[2 * (CC ? CC : 1)] = {};
      std::vector<double> dynamicSums(CC ? 0 : 2 * C, 0.0);
      double *            sums = CC ? fixedSums : dynamicSums.data();
      double *            squares = sums + nc;
      SizeValueType       count = 0;
      bool                integral = !std::is_integral<ComponentType>::value;
      for (SizeValueType v = begin; v < end; ++v)
      {
        bool include = maskBuffer == nullptr || maskBuffer[v] != MaskPixelType{};
        for (unsigned int c = 0; c < nc; ++c)
        {
          include = include && std::isfinite(static_cast<double>(in[v * nc + c]));
        }
        out[v] = include ? OutputPixelType{ 1 } : OutputPixelType{};
        if (!include)
        {
          continue;
        }
        ++count;
        for (unsigned int c = 0; c < nc; ++c)
        {
          const auto value = static_cast<double>(in[v * nc + c]);
          sums[c] += value;
          squares[c] += value * value;
        }
        if (integral)
        {
          // Integer-valued floating-point data (within +-2^53, where doubles hold every integer)?
          for (unsigned int c = 0; c < nc; ++c)
          {
            const auto value = static_cast<double>(in[v * nc + c]);
            integral = integral && std::abs(value) <= 0x1.0p53 &&
                       static_cast<double>(static_cast<std::int64_t>(value)) == value;
          }
        }
      }
      s.Sum.assign(sums, sums + nc);
      s.SumOfSquares.assign(squares, squares + nc);
      s.Count = count;
      s.Integral = std::is_integral<ComponentType>::value || integral;
    });
  });
  std::vector<long double> sum(C, 0.0L), sumOfSquares(C, 0.0L);
  bool                     integral = true;
  for (const auto & s : scans) // chunk order
  {
    m_NumberOfClassifiedPixels += s.Count;
    integral = integral && s.Integral;
    for (unsigned int c = 0; c < C; ++c)
    {
      sum[c] += s.Sum[c];
      sumOfSquares[c] += s.SumOfSquares[c];
    }
  }
  std::vector<ChunkScan>().swap(scans);
  if (std::is_integral<ComponentType>::value && sizeof(ComponentType) >= 8)
  {
    // 64-bit integers beyond 2^53 are not exact as doubles; the voxel path handles them.
    integral = false;
  }
  if (m_NumberOfClassifiedPixels == 0)
  {
    if (mask != nullptr)
    {
      itkExceptionMacro(<< "no voxel to classify: the mask is empty or covers only voxels with a non-finite channel");
    }
    itkExceptionMacro(<< "the image has no voxel whose channels are all finite");
  }
  const auto n = static_cast<long double>(m_NumberOfClassifiedPixels);
  m_ChannelWeights.assign(C, 1.0);
  for (unsigned int c = 0; c < C; ++c)
  {
    const long double mean = sum[c] / n;
    const long double variance = std::max(0.0L, sumOfSquares[c] / n - mean * mean);
    m_ChannelMeans.push_back(static_cast<double>(mean));
    m_ChannelStandardDeviations.push_back(static_cast<double>(std::sqrt(variance)));
    if (m_Standardize && variance > 0.0L)
    {
      m_ChannelWeights[c] = static_cast<double>(1.0L / variance);
    }
  }
  this->UpdateProgress(0.1f);

  // Points held in memory: the distinct vectors, or a sample of voxels.
  PointSet points;
  m_UsedDistinctVectors = m_UseDistinctVectors && integral && CollectDistinctVectors(points);
  if (m_UsedDistinctVectors)
  {
    m_NumberOfDistinctVectors = points.Size();
  }
  else
  {
    CollectSample(points);
  }
  this->UpdateProgress(0.2f);

  // Restarts, one per work unit, each on its own: the result does not depend on the number of threads.
  std::vector<RunResult> runs(m_NumberOfRestarts);
  this->GetMultiThreader()->ParallelizeArray(
    0, m_NumberOfRestarts, [&](SizeValueType r) { runs[r] = RunLloyd(points, static_cast<unsigned int>(r)); }, nullptr);
  std::size_t best = 0;
  for (std::size_t r = 0; r < runs.size(); ++r)
  {
    if (!runs[r].Seeded)
    {
      std::vector<double> v = points.Coordinates;
      std::size_t         distinct = 0;
      std::vector<std::size_t> order(points.Size());
      std::iota(order.begin(), order.end(), std::size_t{ 0 });
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::lexicographical_compare(v.begin() + a * C, v.begin() + a * C + C, v.begin() + b * C,
                                            v.begin() + b * C + C);
      });
      for (std::size_t i = 0; i < order.size(); ++i)
      {
        distinct += (i == 0 || !std::equal(v.begin() + order[i] * C, v.begin() + order[i] * C + C,
                                           v.begin() + order[i - 1] * C))
                      ? 1
                      : 0;
      }
      itkExceptionMacro(<< "NumberOfClasses is " << K << " but only " << distinct << " distinct feature vector"
                        << (distinct == 1 ? "" : "s") << " take part"
                        << (m_UsedDistinctVectors || points.Size() == m_NumberOfClassifiedPixels ? ""
                                                                                                 : " (in the sample)"));
    }
    m_RestartWithinClassSumsOfSquares.push_back(runs[r].WCSS);
    if (runs[r].WCSS < runs[best].WCSS)
    {
      best = r;
    }
  }
  this->UpdateProgress(0.3f);

  RunResult final;
  if (m_UsedDistinctVectors)
  {
    final = runs[best];
    LabelVoxels(final.Centers);
  }
  else
  {
    std::vector<double>().swap(points.Coordinates);
    std::vector<std::uint64_t>().swap(points.Weights);
    final = IterateOverVoxels(runs[best].Centers);
  }

  // Order the classes by the mean of the first channel, then the next channels; relabel.
  std::vector<unsigned int> order(K);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](unsigned int a, unsigned int b) {
    return std::lexicographical_compare(final.Centers.begin() + std::size_t{ a } * C,
                                        final.Centers.begin() + std::size_t{ a } * C + C,
                                        final.Centers.begin() + std::size_t{ b } * C,
                                        final.Centers.begin() + std::size_t{ b } * C + C);
  });
  std::vector<OutputPixelType> relabel(std::size_t{ K } + 1, OutputPixelType{});
  for (unsigned int k = 0; k < K; ++k)
  {
    relabel[order[k] + 1] = static_cast<OutputPixelType>(k + 1);
    m_ClassMeans.emplace_back(final.Centers.begin() + std::size_t{ order[k] } * C,
                              final.Centers.begin() + std::size_t{ order[k] } * C + C);
    m_ClassCounts.push_back(static_cast<SizeValueType>(final.Counts[order[k]]));
    m_ClassSumsOfSquares.push_back(final.SumsOfSquares[order[k]]);
  }
  m_WithinClassSumOfSquares = final.WCSS;
  m_NumberOfIterations = final.Iterations;
  bool identity = true;
  for (unsigned int k = 0; k < K; ++k)
  {
    identity = identity && order[k] == k;
  }
  if (!identity)
  {
    ForEachChunk([&](SizeValueType, SizeValueType begin, SizeValueType end) {
      for (SizeValueType v = begin; v < end; ++v)
      {
        out[v] = relabel[static_cast<std::size_t>(out[v])];
      }
    });
  }
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::PrintSelf(std::ostream & os,
                                                                                            Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  auto printArray = [&os, indent](const char * name, const auto & values) {
    os << indent << name << ": [";
    for (std::size_t i = 0; i < values.size(); ++i)
    {
      os << (i ? ", " : "") << values[i];
    }
    os << "]" << std::endl;
  };
  os << indent << "NumberOfClasses: " << m_NumberOfClasses << std::endl;
  os << indent << "Seed: " << m_Seed << std::endl;
  os << indent << "NumberOfRestarts: " << m_NumberOfRestarts << std::endl;
  os << indent << "MaximumNumberOfIterations: " << m_MaximumNumberOfIterations << std::endl;
  os << indent << "Standardize: " << (m_Standardize ? "On" : "Off") << std::endl;
  os << indent << "UseDistinctVectors: " << (m_UseDistinctVectors ? "On" : "Off") << std::endl;
  os << indent << "MaximumNumberOfDistinctVectors: " << m_MaximumNumberOfDistinctVectors << std::endl;
  os << indent << "MaximumSampleSize: " << m_MaximumSampleSize << std::endl;
  os << indent << "NumberOfChannels: " << m_NumberOfChannels << std::endl;
  os << indent << "NumberOfVoxels: " << m_NumberOfVoxels << std::endl;
  printArray("ChannelWeights", m_ChannelWeights);
  os << indent << "ClassMeans: [";
  for (std::size_t k = 0; k < m_ClassMeans.size(); ++k)
  {
    os << (k ? ", " : "") << MultiChannelKMeansDetail::Join(m_ClassMeans[k], static_cast<unsigned int>(m_ClassMeans[k].size()));
  }
  os << "]" << std::endl;
  printArray("ClassCounts", m_ClassCounts);
  printArray("ClassSumsOfSquares", m_ClassSumsOfSquares);
  printArray("RestartWithinClassSumsOfSquares", m_RestartWithinClassSumsOfSquares);
  printArray("ChannelMeans", m_ChannelMeans);
  printArray("ChannelStandardDeviations", m_ChannelStandardDeviations);
  os << indent << "WithinClassSumOfSquares: " << m_WithinClassSumOfSquares << std::endl;
  os << indent << "NumberOfIterations: " << m_NumberOfIterations << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_NumberOfClassifiedPixels << std::endl;
  os << indent << "UsedDistinctVectors: " << (m_UsedDistinctVectors ? "Yes" : "No") << std::endl;
  os << indent << "NumberOfDistinctVectors: " << m_NumberOfDistinctVectors << std::endl;
}
} // namespace itk

#endif
