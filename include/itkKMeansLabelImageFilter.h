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
#ifndef itkKMeansLabelImageFilter_h
#define itkKMeansLabelImageFilter_h

#include "itkImageToImageFilter.h"
#include "itkKMeansIntensityModel.h"
#include "itkKMeansSegmentationFilterSupport.h"
#include "itkKMeansSegmentationMacros.h"
#include "itkTotalProgressReporter.h"

#include <string>
#include <type_traits>
#include <vector>

namespace itk
{
namespace KMeansSegmentationDetail
{
/** Label the voxels of region: lut[bin] where the voxel takes part (mask non-zero, binning.Includes()), else
 * 0. Input, mask and output may have different buffered regions, each containing region. */
template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
LabelRegion(const TInputImage *                          input,
            const TMaskImage *                           mask,
            TOutputImage *                               output,
            const typename TOutputImage::RegionType &    region,
            const typename TOutputImage::PixelType *     lut,
            const IntensityBinning &                     binning,
            TotalProgressReporter &                      progress);

} // namespace KMeansSegmentationDetail

/** \class KMeansLabelImageFilter
 * \brief The labeling stage of exact scalar K-means: labels an image with a solved KMeansIntensityModel through
 * a per-bin look-up table, region by region, so that it streams.
 *
 * Each output voxel depends only on the input voxel (and mask voxel) at the same index: the filter asks its
 * inputs for exactly the output's requested region, so reader -> KMeansLabelImageFilter -> ImageFileWriter with
 * the writer's SetNumberOfStreamDivisions(n) (or a StreamingImageFilter) runs in memory proportional to one
 * piece, and any requested sub-region is the same region of the whole-image result. Voxels that do not take part
 * (mask zero, non-finite, at or below the model's foreground threshold) get label 0; the others label
 * 1..K, in ascending order of class mean, from the bin of their intensity (IntensityBinning::Bin()).
 *
 * The model (exact K-means, or the Gaussian mixture without MRF: KMeansIntensityModel::FitMixture(), labels of
 * GaussianMixtureSegmentationImageFilter without MRF) comes from KMeansSegmentationEstimator (a streamed fit),
 * KMeansSegmentationImageFilter::GetModel() or a saved model; it must have been fitted on images of the input's pixel type, since the bins are those of
 * that type. Labeling the image the model was fitted on reproduces KMeansSegmentationImageFilter's labels bit
 * for bit, for any stream division and number of threads.
 *
 * \sa KMeansSegmentationEstimator, KMeansSegmentationImageFilter, KMeansIntensityModel
 * \ingroup KMeansSegmentation
 */
template <typename TInputImage, typename TOutputImage = KMeansByteImage<TInputImage>, typename TMaskImage = KMeansByteImage<TInputImage>>
class ITK_TEMPLATE_EXPORT KMeansLabelImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  itkKMeansSegmentationFilterMacro(KMeansLabelImageFilter, TInputImage, TOutputImage, TMaskImage);

  using InputPixelType = typename TInputImage::PixelType;
  using OutputRegionType = typename TOutputImage::RegionType;

  static_assert(std::is_arithmetic<InputPixelType>::value, "KMeansLabelImageFilter needs a scalar input");

  /** The solved model to label with (required). */
  void
  SetModel(const KMeansIntensityModel & model)
  {
    m_Model = model;
    this->Modified();
  }
  const KMeansIntensityModel &
  GetModel() const
  {
    return m_Model;
  }

protected:
  KMeansLabelImageFilter();
  ~KMeansLabelImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  itkKMeansMaskGeometryCheckMacro();

  void
  VerifyPreconditions() const override;

  void
  BeforeThreadedGenerateData() override;

  void
  DynamicThreadedGenerateData(const OutputRegionType & region) override;

private:
  KMeansIntensityModel         m_Model;
  std::vector<OutputPixelType> m_LookUpTable;
};
} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkKMeansLabelImageFilter.hxx"
#endif

#endif
