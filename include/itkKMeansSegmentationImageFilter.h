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
#ifndef itkKMeansSegmentationImageFilter_h
#define itkKMeansSegmentationImageFilter_h

#include "itkImageToImageFilter.h"
#include "itkIntensityLevelHistogram.h"
#include "itkKMeansLabelImageFilter.h"
#include "itkKMeansSegmentationFilterSupport.h"
#include "itkKMeansSegmentationMacros.h"

#include <type_traits>
#include <vector>

namespace itk
{
/** \class KMeansSegmentationImageFilter
 * \brief Globally optimal K-means segmentation of a scalar image into K intensity classes.
 *
 * Every voxel that takes part (finite intensity, non-zero mask if a mask is set, and above the foreground
 * threshold if one is in use) is assigned to one of K classes so that the total within-class sum of squares
 * (WCSS) of the intensities is the global minimum. Labels are 1..K in ascending order of class mean; voxels
 * that do not take part get label 0.
 *
 * Algorithm. In one dimension the classes of an optimal K-means partition are intervals of intensity, so
 * dynamic programming over the histogram of distinct intensities finds the optimum exactly (Wang & Song,
 * Ckmeans.1d.dp, The R Journal 2011; Gronlund et al. 2017 for the monotone divide-and-conquer rows). The filter
 * makes one histogram pass (IntensityLevelHistogram), solves the dynamic program over the occupied histogram
 * levels (OptimalScalarKMeans), and makes one labeling pass through a per-level look-up table. Unlike Lloyd's
 * algorithm (ScalarImageKmeansImageFilter) it needs no initial means and cannot stop in a local minimum.
 *
 * Exactness. For integer pixel types of at most 16 bits, for other integer types whose intensities span at most
 * 65536 values, and for floating-point images whose values are integers spanning at most 65536 values, each
 * histogram level is one intensity and the result is the exact optimum (GetOptimalityGap() is 0). Otherwise the
 * intensities are binned into 65536 equal bins of width w between the minimum m and the maximum M, the
 * class boundaries lie on bin edges, and the WCSS exceeds the optimum by at most
 * 2 w (M - m) c + 4 N (M - m) w / 32768, where c is the largest bin count and N the number of voxels taking
 * part; GetOptimalityGap() returns that bound.
 *
 * Determinism. The histogram is accumulated in integers and reduced in a fixed order and the dynamic program
 * runs on one thread, so labels and statistics are bit-identical for any number of threads and from run to
 * run. Among partitions of equal WCSS the one with the smallest class boundary found by the monotone search is
 * kept.
 *
 * After Update(): GetClassMeans(), GetClassCounts(), GetClassSumsOfSquares(), GetThresholds() (K-1 decision
 * thresholds, the midpoints between consecutive class means) and GetWithinClassSumOfSquares(), in input
 * intensity units.
 *
 * Streaming. This filter reads its whole input and produces its whole output. For images larger than memory use
 * its two stages, which give bit-identical results: KMeansSegmentationEstimator (a streaming sink that
 * accumulates the histogram piece by piece and solves once) and KMeansLabelImageFilter (labels any requested
 * region from the model), so that reader -> KMeansLabelImageFilter -> writer streams with the writer's
 * NumberOfStreamDivisions. GetModel() returns the fitted model for KMeansLabelImageFilter or to save.
 *
 * Geometry (origin, spacing, direction) is copied to the output. The optional mask must have the input's size
 * and physical space.
 *
 * \sa OptimalScalarKMeans, IntensityLevelHistogram, KMeansSegmentationEstimator, KMeansLabelImageFilter,
 * ScalarImageKmeansImageFilter,
 * OtsuMultipleThresholdsImageFilter
 * \ingroup KMeansSegmentation
 */
template <typename TInputImage, typename TOutputImage = KMeansByteImage<TInputImage>, typename TMaskImage = KMeansByteImage<TInputImage>>
class ITK_TEMPLATE_EXPORT KMeansSegmentationImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  /** The preamble (see itkKMeansScalarSegmentationFilterMacro), with the number of classes K (default 3; labels
   * are 1..K) and the foreground threshold (UseForegroundThreshold, ForegroundThreshold). */
  itkKMeansScalarSegmentationFilterMacro(KMeansSegmentationImageFilter, TInputImage, TOutputImage, TMaskImage);

  using OutputRegionType = typename TOutputImage::RegionType;
  using CountArrayType = std::vector<std::uint64_t>;

  /** Results, valid after Update(). Means and thresholds in input intensity units; index k is label k+1. */
  const ValueArrayType &
  GetClassMeans() const
  {
    return m_Model.ClassMeans;
  }
  const CountArrayType &
  GetClassCounts() const
  {
    return m_Model.ClassCounts;
  }
  const ValueArrayType &
  GetClassSumsOfSquares() const
  {
    return m_Model.ClassSumsOfSquares;
  }
  /** K-1 thresholds: threshold k separates label k+1 from label k+2 (midpoint of their means). */
  const ValueArrayType &
  GetThresholds() const
  {
    return m_Model.Thresholds;
  }
  /** Minimum WCSS for each number of classes 1..K (element k-1), from the same dynamic program. */
  const ValueArrayType &
  GetWithinClassSumOfSquaresForEachK() const
  {
    return m_Model.WithinClassSumOfSquaresForEachK;
  }
  double
  GetWithinClassSumOfSquares() const
  {
    return m_Model.WithinClassSumOfSquares;
  }
  /** Upper bound on WCSS minus the optimal WCSS: 0 for an exact result (see class documentation). */
  double
  GetOptimalityGap() const
  {
    return m_Model.OptimalityGap;
  }
  /** Number of voxels that were classified. */
  SizeValueType
  GetNumberOfClassifiedPixels() const
  {
    return static_cast<SizeValueType>(m_Model.NumberOfClassifiedPixels);
  }
  /** The fitted model (classes and intensity look-up), to label other images or stream pieces with
   * KMeansLabelImageFilter or to save. */
  const KMeansIntensityModel &
  GetModel() const
  {
    return m_Model;
  }

protected:
  KMeansSegmentationImageFilter();
  ~KMeansSegmentationImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  itkKMeansWholeImageFilterMacro();

  void
  VerifyPreconditions() const override;

  void
  GenerateData() override;

private:
  unsigned int m_NumberOfClasses{ 3 };
  bool         m_UseForegroundThreshold{ false };
  double       m_ForegroundThreshold{ 0.0 };

  KMeansIntensityModel m_Model;
};
} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkKMeansSegmentationImageFilter.hxx"
#endif

#endif
