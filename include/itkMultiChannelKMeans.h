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
#ifndef itkMultiChannelKMeans_h
#define itkMultiChannelKMeans_h

#include "KMeansSegmentationExport.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace itk
{
class ProcessObject;

/** \class MultiChannelKMeans
 * \brief K-means of feature vectors (one per voxel, several channels) with Lloyd's algorithm, Hamerly's bounds,
 * greedy k-means++ seeding, restarts and distinct-vector compression.
 *
 * The input is a plain array of N feature vectors of C components each, stored voxel by voxel (the buffer of an
 * itk::VectorImage), and a label array of N entries that says which voxels may take part (non-zero). Run()
 * classifies every voxel that may take part and whose components are all finite into one of K classes and
 * writes its label (1..K, in ascending order of the class mean of the first channel, then the next channels);
 * the other voxels get label 0.
 *
 * Algorithm. Lloyd's algorithm minimises the within-class sum of squares (WCSS), sum over voxels of sum over
 * channels of w_c (x_c - mean_c)^2, with w_c = 1, or w_c = 1 / variance of channel c when Standardize is on.
 * Each of NumberOfRestarts runs starts from greedy k-means++ seeding (Arthur & Vassilvitskii, "k-means++: the
 * advantages of careful seeding", SODA 2007; 2 + floor(ln K) candidates per centre, as scikit-learn does) drawn
 * from a std::mt19937_64 seeded from Seed and the restart number, with the sampling arithmetic done here so that
 * the draws are the same with every standard library. Assignment steps use Hamerly's bounds (Hamerly, "Making
 * k-means even faster", SDM 2010). The run with the lowest WCSS is kept.
 * - Distinct vectors: when every component is integer-valued and there are at most
 *   MaximumNumberOfDistinctVectors distinct feature vectors, the sorted distinct vectors with their voxel counts
 *   are clustered as a weighted point set, and one pass labels the voxels with their nearest mean.
 * - Voxels: otherwise seeding and restarts run on a deterministic pseudo-random sample of at most
 *   MaximumSampleSize voxels, and the best restart is iterated with Lloyd's algorithm over all voxels (with
 *   Elkan's centre-centre bound) until no label changes or MaximumNumberOfIterations.
 * Either way the result is a fixed point of Lloyd's algorithm on all voxels. Sums over voxels are made in chunks
 * of fixed size added in chunk order: the result is bit-identical for any number of threads.
 *
 * Supported component types: the signed and unsigned integer types of 1, 2, 4 and 8 bytes and float, double;
 * labels: unsigned integers of 1, 2 or 4 bytes. The algorithm keeps no per-voxel memory besides the labels.
 *
 * Threads, progress and abort come from an optional itk::ProcessObject (the filter that runs it). Bad
 * parameters and inputs throw std::invalid_argument / std::runtime_error with a message naming the values;
 * an abort throws itk::ProcessAborted.
 *
 * \sa MultiChannelKMeansSegmentationImageFilter, OptimalScalarKMeans
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT MultiChannelKMeans
{
public:
  struct Parameters
  {
    unsigned int  NumberOfClasses{ 3 };
    std::uint64_t Seed{ 5489 };
    unsigned int  NumberOfRestarts{ 8 };
    unsigned int  MaximumNumberOfIterations{ 300 };
    bool          Standardize{ false };
    bool          UseDistinctVectors{ true };
    std::uint64_t MaximumNumberOfDistinctVectors{ std::uint64_t{ 1 } << 16 };
    std::uint64_t MaximumSampleSize{ std::uint64_t{ 1 } << 13 };
  };

  /** What Run() found. Index k is label k+1; means in input units, sums of squares in the clustering metric. */
  struct Result
  {
    std::vector<std::vector<double>> ClassMeans;
    std::vector<std::uint64_t>       ClassCounts;
    std::vector<double>              ClassSumsOfSquares;
    std::vector<double>              RestartWithinClassSumsOfSquares;
    std::vector<double>              ChannelMeans;
    std::vector<double>              ChannelStandardDeviations;
    std::vector<double>              ChannelWeights;
    double                           WithinClassSumOfSquares{ 0.0 };
    unsigned int                     NumberOfIterations{ 0 };
    std::uint64_t                    NumberOfClassifiedPixels{ 0 };
    bool                             UsedDistinctVectors{ false };
    std::uint64_t                    NumberOfDistinctVectors{ 0 };
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

  /** The process object whose multi-threader, progress and abort flag are used (may be null: ITK's default
   * threader, no progress). */
  void
  SetProcessObject(ProcessObject * processObject)
  {
    m_ProcessObject = processObject;
  }

  /** Thrown by Run() when no voxel takes part (all excluded, or a component is not finite everywhere else). */
  class NoVoxelError : public std::runtime_error
  {
  public:
    using std::runtime_error::runtime_error;
  };

  /** Cluster numberOfVoxels feature vectors of numberOfChannels components (features[v * C + c]); labels holds
   * non-zero for the voxels that may take part on entry and the labels on return. Throws std::invalid_argument
   * for bad parameters and NoVoxelError when no voxel takes part and std::runtime_error when fewer than K distinct vectors take part. */
  template <typename TComponent, typename TLabel>
  void
  Run(const TComponent * features, TLabel * labels, std::size_t numberOfVoxels, unsigned int numberOfChannels);

  /** Valid after Run(). */
  const Result &
  GetResult() const
  {
    return m_Result;
  }

  /** Checks the parameters alone; throws std::invalid_argument naming the offending value. */
  static void
  VerifyParameters(const Parameters & parameters);

private:
  Parameters      m_Parameters;
  ProcessObject * m_ProcessObject{ nullptr };
  Result          m_Result;
};
} // namespace itk

#endif
