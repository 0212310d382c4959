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
#ifndef itkMultiChannelKMeansSegmentationImageFilter_h
#define itkMultiChannelKMeansSegmentationImageFilter_h

#include "itkImage.h"
#include "itkImageToImageFilter.h"
#include "itkKMeansSegmentationFilterSupport.h"
#include "itkKMeansSegmentationMacros.h"
#include "itkMultiChannelKMeans.h"
#include "itkVectorImage.h"

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace itk
{
/** \class MultiChannelKMeansSegmentationImageFilter
 * \brief K-means segmentation of co-registered channels (T1, T2, PD, FLAIR...) in feature space.
 *
 * The multi-channel sibling of KMeansSegmentationImageFilter, with the same conventions: every voxel whose
 * channels are all finite and where the optional mask ("MaskImage") is non-zero is assigned to one of K
 * classes; the others get label 0. Labels 1..K are in ascending order of the class mean of the first channel;
 * classes with equal first-channel means are ordered by the second channel, and so on.
 *
 * Input: an itk::VectorImage whose components are the channels (any scalar component type). Several scalar
 * images of one geometry are composed into such an image by ComposeChannels(), which names both geometries
 * when they differ.
 *
 * Algorithm. Lloyd's algorithm minimises the within-class sum of squares (WCSS) of the feature vectors,
 * sum over voxels of sum over channels of w_c (x_c - mean_c)^2, with w_c = 1, or w_c = 1 / variance of channel
 * c when Standardize is on (equivalent to clustering z-scores; the class means are still reported in input
 * units). Each of NumberOfRestarts runs starts from greedy k-means++ seeding (Arthur & Vassilvitskii 2007;
 * 2 + floor(ln K) candidates per centre, as scikit-learn does) drawn from a std::mt19937_64 seeded from Seed and
 * the restart number, with the sampling arithmetic done here so that the draws are the same with every
 * standard library. Assignment steps use Hamerly's bounds (Hamerly, SDM 2010): a point is examined only when
 * its upper bound to its own centre exceeds both its lower bound to the others and half the distance from
 * its centre to the nearest other centre. The run with the lowest WCSS is kept.
 *
 * Two ways to the same kind of result:
 * - Distinct vectors. When every channel is integer-valued (integer pixel types, or floating-point data whose
 *   values are all integers) and there are at most MaximumNumberOfDistinctVectors distinct feature vectors,
 *   the distinct vectors (sorted, with their voxel counts) are clustered as a weighted point set: each
 *   iteration costs the number of distinct vectors instead of the number of voxels, and the WCSS is exactly
 *   that of the voxels. One labeling pass then gives each voxel the class of its nearest mean.
 * - Voxels. Otherwise the seeding and the restarts run on a deterministic pseudo-random sample of at most
 *   MaximumSampleSize voxels (all of them for smaller images), and the best restart is then iterated with
 *   Lloyd's algorithm over all voxels until no label changes (or MaximumNumberOfIterations). The full-data
 *   passes keep the labels in the output image and need no other per-voxel memory; a voxel whose distance to
 *   its own mean is below half the distance from that mean to the nearest other mean is not compared with the
 *   others (Elkan's centre-centre bound).
 * Either way the result is a fixed point of Lloyd's algorithm on all voxels: every voxel is labeled with its
 * nearest class mean and every mean is the mean of its voxels.
 *
 * Determinism. Sums over voxels are made in chunks of fixed size that do not depend on the number of threads
 * and are added in chunk order; the restarts run one per work unit but each on its own; distinct vectors are
 * sorted before use. Labels and statistics are therefore bit-identical for any number of threads and from run
 * to run.
 *
 * The algorithm is MultiChannelKMeans, compiled once in the module's library; this filter hands it the
 * VectorImage's buffer (the feature vectors) and the voxels the mask admits, and it writes the labels into the
 * output image.
 *
 * After Update(): GetClassMeans() (one vector of channel means per label, input units), GetClassCounts(),
 * GetClassSumsOfSquares(), GetWithinClassSumOfSquares() (in the clustering metric, i.e. standardised units when
 * Standardize is on), GetNumberOfIterations(), GetRestartWithinClassSumsOfSquares(), and whether the distinct
 * vectors were used.
 *
 * \sa MultiChannelKMeans, KMeansSegmentationImageFilter, ScalarImageKmeansImageFilter, ComposeImageFilter
 * \ingroup KMeansSegmentation
 */
template <typename TInputImage, typename TOutputImage = KMeansByteImage<TInputImage>, typename TMaskImage = KMeansByteImage<TInputImage>>
class ITK_TEMPLATE_EXPORT MultiChannelKMeansSegmentationImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  itkKMeansSegmentationFilterMacro(MultiChannelKMeansSegmentationImageFilter, TInputImage, TOutputImage, TMaskImage);

  using ComponentType = typename TInputImage::InternalPixelType;
  using ChannelImageType = Image<ComponentType, ImageDimension>;
  using MeanVectorType = std::vector<double>;
  using MeanVectorArrayType = std::vector<MeanVectorType>;
  using ValueArrayType = std::vector<double>;
  using CountArrayType = std::vector<SizeValueType>;

  static_assert(std::is_same<TInputImage, VectorImage<ComponentType, ImageDimension>>::value,
                "MultiChannelKMeansSegmentationImageFilter needs an itk::VectorImage input");
  static_assert(std::is_arithmetic<ComponentType>::value,
                "MultiChannelKMeansSegmentationImageFilter needs scalar channel components");

  /** Number of classes K (default 3). Labels are 1..K. */
  itkSetMacro(NumberOfClasses, unsigned int);
  itkGetConstMacro(NumberOfClasses, unsigned int);

  /** Seed of the k-means++ draws (default 5489). The same seed gives the same result on every platform. */
  itkSetMacro(Seed, std::uint64_t);
  itkGetConstMacro(Seed, std::uint64_t);

  /** Number of seeded runs of Lloyd's algorithm; the one with the lowest WCSS is kept (default 8). */
  itkSetMacro(NumberOfRestarts, unsigned int);
  itkGetConstMacro(NumberOfRestarts, unsigned int);

  /** Upper limit on Lloyd iterations of each run and of the final pass over all voxels (default 300). */
  itkSetMacro(MaximumNumberOfIterations, unsigned int);
  itkGetConstMacro(MaximumNumberOfIterations, unsigned int);

  /** Divide each channel by its standard deviation (over the voxels taking part) in the distance. Off by
   * default. */
  itkSetMacro(Standardize, bool);
  itkGetConstMacro(Standardize, bool);
  itkBooleanMacro(Standardize);

  /** Cluster the distinct feature vectors with their counts when the channels are integer-valued (default
   * on; turning it off clusters the voxels, which finds the same partition with more work). */
  itkSetMacro(UseDistinctVectors, bool);
  itkGetConstMacro(UseDistinctVectors, bool);
  itkBooleanMacro(UseDistinctVectors);

  /** The distinct-vector path is used only up to this many distinct vectors (default 2^16 = 65536): every
   * restart iterates over all of them, so beyond that the sample of the voxel path is cheaper. Collecting them
   * stops early once the chunks together hold more than twice as many. */
  itkSetMacro(MaximumNumberOfDistinctVectors, SizeValueType);
  itkGetConstMacro(MaximumNumberOfDistinctVectors, SizeValueType);

  /** On the voxel path, seeding and restarts use a deterministic sample of about this many voxels
   * (default 2^13 = 8192; all voxels when there are fewer). */
  itkSetMacro(MaximumSampleSize, SizeValueType);
  itkGetConstMacro(MaximumSampleSize, SizeValueType);

  /** Compose scalar channel images of one geometry into a vector image (component i is channels[i]). Throws
   * an ExceptionObject naming both geometries (size, start index, origin, spacing, direction) when a channel
   * differs from the first; names (optional, e.g. file names) label the channels in that message. */
  template <typename TChannelImage>
  static typename InputImageType::Pointer
  ComposeChannels(const std::vector<const TChannelImage *> & channels, const std::vector<std::string> & names = {});

  /** One-line description of an image's geometry, as used in error messages. */
  template <typename TImage>
  static std::string
  DescribeGeometry(const TImage * image);

  /** Results, valid after Update(). Index k is label k+1. Means in input units, one value per channel. */
  const MeanVectorArrayType &
  GetClassMeans() const
  {
    return m_ClassMeans;
  }
  const CountArrayType &
  GetClassCounts() const
  {
    return m_ClassCounts;
  }
  /** Per-class sums of squared distances to the class mean (clustering metric). */
  const ValueArrayType &
  GetClassSumsOfSquares() const
  {
    return m_ClassSumsOfSquares;
  }
  /** Final WCSS of each restart (on the sample, for the voxel path of a large image). */
  const ValueArrayType &
  GetRestartWithinClassSumsOfSquares() const
  {
    return m_RestartWithinClassSumsOfSquares;
  }
  /** Per-channel mean and standard deviation over the voxels taking part (used when Standardize is on). */
  const ValueArrayType &
  GetChannelMeans() const
  {
    return m_ChannelMeans;
  }
  const ValueArrayType &
  GetChannelStandardDeviations() const
  {
    return m_ChannelStandardDeviations;
  }
  itkGetConstMacro(WithinClassSumOfSquares, double);
  /** Lloyd iterations of the final run over all voxels (voxel path) or of the best run (distinct vectors). */
  itkGetConstMacro(NumberOfIterations, unsigned int);
  itkGetConstMacro(NumberOfClassifiedPixels, SizeValueType);
  itkGetConstMacro(UsedDistinctVectors, bool);
  /** Number of distinct feature vectors (0 when the distinct-vector path was not taken). */
  itkGetConstMacro(NumberOfDistinctVectors, SizeValueType);

protected:
  MultiChannelKMeansSegmentationImageFilter();
  ~MultiChannelKMeansSegmentationImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  itkKMeansWholeImageRegionsMacro();

  void
  VerifyPreconditions() const override;

  void
  VerifyInputInformation() const override;

  void
  GenerateData() override;

private:
  /** The algorithm's parameters: the filter's settings. */
  MultiChannelKMeans::Parameters
  MakeParameters() const;

  /** Keeps what the algorithm found (an empty result before a run). */
  void
  SetResult(const MultiChannelKMeans::Result & result);

  unsigned int  m_NumberOfClasses{ 3 };
  std::uint64_t m_Seed{ 5489 };
  unsigned int  m_NumberOfRestarts{ 8 };
  unsigned int  m_MaximumNumberOfIterations{ 300 };
  bool          m_Standardize{ false };
  bool          m_UseDistinctVectors{ true };
  SizeValueType m_MaximumNumberOfDistinctVectors{ SizeValueType{ 1 } << 16 };
  SizeValueType m_MaximumSampleSize{ SizeValueType{ 1 } << 13 };

  unsigned int        m_NumberOfChannels{ 0 };
  SizeValueType       m_NumberOfVoxels{ 0 };
  std::vector<double> m_ChannelWeights;

  MeanVectorArrayType m_ClassMeans;
  CountArrayType      m_ClassCounts;
  ValueArrayType      m_ClassSumsOfSquares;
  ValueArrayType      m_RestartWithinClassSumsOfSquares;
  ValueArrayType      m_ChannelMeans;
  ValueArrayType      m_ChannelStandardDeviations;
  double              m_WithinClassSumOfSquares{ 0.0 };
  unsigned int        m_NumberOfIterations{ 0 };
  SizeValueType       m_NumberOfClassifiedPixels{ 0 };
  bool                m_UsedDistinctVectors{ false };
  SizeValueType       m_NumberOfDistinctVectors{ 0 };
};
} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkMultiChannelKMeansSegmentationImageFilter.hxx"
#endif

#endif
