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
#ifndef itkKMeansSegmentationEstimator_h
#define itkKMeansSegmentationEstimator_h

#include "itkImageSink.h"
#include "itkIntensityLevelHistogram.h"
#include "itkKMeansIntensityModel.h"
#include "itkKMeansSegmentationFilterSupport.h"
#include "itkKMeansSegmentationMacros.h"

#include <mutex>

namespace itk
{
/** \class KMeansSegmentationEstimator
 * \brief The estimation stage of exact scalar K-means as a streaming sink: accumulates the exact histogram of
 * its input region by region (NumberOfStreamDivisions pieces, as ImageFileWriter and StreamingImageFilter
 * stream), then solves the optimal K-class model once.
 *
 * The input pipeline (for example an ImageFileReader of a MetaImage, NRRD or uncompressed NIfTI file) runs once
 * per piece, so memory stays proportional to one piece, however large the image. Integer images of at most 16
 * bits take one pass; other types take two: one for the range of the voxels that take part (which fixes the
 * bins) and one for the counts. Counts and ranges are integers and minima/maxima merged piece by piece and
 * thread by thread, so the histogram, the model (GetModel()) and the labels that KMeansLabelImageFilter makes
 * from it are bit-identical to KMeansSegmentationImageFilter on the whole image, for any number of pieces and
 * threads (masks and foreground threshold included).
 *
 * With NumberOfClasses 0 only the histogram is accumulated (GetHistogram()), for example to save it and merge it
 * with those of other images (IntensityHistogramCounts::Merge()).
 *
 * Which models stream: those fitted on the histogram alone. Exact scalar K-means (the default) and, with
 * GaussianMixture on, the Gaussian mixture without Markov random field (GaussianMixtureOnLevels, with
 * GetGaussianMixtureParameters(): common variance, iterations, convergence, -k auto by BIC), whose model
 * (KMeansIntensityModel::FitMixture()) labels every bin by the class of largest posterior of its level: with
 * KMeansLabelImageFilter its labels are bit-identical to GaussianMixtureSegmentationImageFilter's (MRFWeight 0,
 * no tissue model) for any number of pieces and threads. A fit in which a class ends below 0.1 % of the voxels is
 * refused, since that filter then re-fits voxel-wise (its collapse guard). The Potts MRF, the posterior maps, the
 * partial-volume model and the bias field need the whole image, its posteriors and labels in memory (about 4 + 8 K
 * bytes per voxel for float input), as does multi-channel K-means (Lloyd's iterations revisit every voxel of
 * every channel).
 *
 * \sa KMeansLabelImageFilter, KMeansSegmentationImageFilter, IntensityLevelHistogram, ImageSink
 * \ingroup KMeansSegmentation
 */
template <typename TInputImage, typename TMaskImage = KMeansByteImage<TInputImage>>
class ITK_TEMPLATE_EXPORT KMeansSegmentationEstimator : public ImageSink<TInputImage>
{
public:
  itkKMeansSegmentationObjectMacro(KMeansSegmentationEstimator, ImageSink<TInputImage>);

  using InputImageType = TInputImage;
  using MaskImageType = TMaskImage;
  using InputImageRegionType = typename TInputImage::RegionType;
  using HistogramType = IntensityLevelHistogram<TInputImage, TMaskImage>;

  /** Number of pieces the input is divided into (default 1); the upstream pipeline runs once per piece and pass. */
  using Superclass::SetNumberOfStreamDivisions;
  using Superclass::GetNumberOfStreamDivisions;

  /** Number of classes K (default 3); 0: accumulate the histogram only. */
  itkSetMacro(NumberOfClasses, unsigned int);
  itkGetConstMacro(NumberOfClasses, unsigned int);

  /** Optional mask: only voxels where it is non-zero take part. Same size and geometry as the input. */
  itkSetInputMacro(MaskImage, MaskImageType);
  itkGetInputMacro(MaskImage, MaskImageType);

  /** Only voxels strictly above ForegroundThreshold take part when UseForegroundThreshold is on (default off). */
  itkKMeansForegroundThresholdMacro();

  /** Run the passes over the pieces (one or two, see the class documentation) and solve. */
  void
  Update() override;

  /** Fit the Gaussian mixture without prior instead of the exact K-means (default off); its parameters, of which
   * NumberOfClasses is replaced by this estimator's unless AutomaticNumberOfClasses is on. */
  itkSetMacro(GaussianMixture, bool);
  itkGetConstMacro(GaussianMixture, bool);
  itkBooleanMacro(GaussianMixture);
  void
  SetGaussianMixtureParameters(const GaussianMixtureOnLevels::Parameters & parameters)
  {
    m_GaussianMixtureParameters = parameters;
    this->Modified();
  }
  const GaussianMixtureOnLevels::Parameters &
  GetGaussianMixtureParameters() const
  {
    return m_GaussianMixtureParameters;
  }

  /** The accumulated histogram (valid after Update()). */
  const HistogramType &
  GetHistogram() const
  {
    return m_Histogram;
  }
  /** The solved model (valid after Update() with NumberOfClasses > 0). */
  const KMeansIntensityModel &
  GetModel() const
  {
    return m_Model;
  }
  /** Pieces per pass and passes of the last Update(). */
  itkGetConstMacro(NumberOfPieces, unsigned int);
  itkGetConstMacro(NumberOfPasses, unsigned int);

protected:
  KMeansSegmentationEstimator();
  ~KMeansSegmentationEstimator() override = default;

  void
  BeforeStreamedGenerateData() override;

  void
  VerifyPreconditions() const override;

  itkKMeansMaskGeometryCheckMacro();

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  void
  ThreadedStreamedGenerateData(const InputImageRegionType & region) override;

  void
  AfterStreamedGenerateData() override;

private:
  enum class Pass
  {
    Range,
    Count
  };

  unsigned int m_NumberOfClasses{ 3 };
  bool         m_UseForegroundThreshold{ false };
  double       m_ForegroundThreshold{ 0.0 };
  unsigned int m_NumberOfPieces{ 0 };
  unsigned int m_NumberOfPasses{ 0 };
  bool         m_GaussianMixture{ false };

  GaussianMixtureOnLevels::Parameters m_GaussianMixtureParameters;

  Pass                     m_Pass{ Pass::Count };
  std::mutex               m_Mutex;
  IntensityRange           m_Range;
  IntensityHistogramCounts m_Counts;
  HistogramType            m_Histogram;
  KMeansIntensityModel     m_Model;
};
} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkKMeansSegmentationEstimator.hxx"
#endif

#endif
