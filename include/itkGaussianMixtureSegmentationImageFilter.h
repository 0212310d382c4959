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
#ifndef itkGaussianMixtureSegmentationImageFilter_h
#define itkGaussianMixtureSegmentationImageFilter_h

#include "itkGaussianMixtureOnLevels.h"
#include "itkImageToImageFilter.h"
#include "itkIntensityLevelHistogram.h"
#include "itkKMeansSegmentationFilterSupport.h"
#include "itkKMeansSegmentationMacros.h"
#include "itkOptimalScalarKMeans.h"
#include "itkPartialVolumeTissueModel.h"
#include "itkVectorImage.h"

#include <cstdint>
#include <type_traits>
#include <vector>

namespace itk
{
/** \class GaussianMixtureSegmentationImageFilter
 * \brief Gaussian mixture segmentation of a scalar image, optionally with a Potts Markov random field prior,
 * with per-class posterior probabilities and automatic choice of the number of classes.
 *
 * The voxels that take part (finite intensity, non-zero mask if a mask is set, above the foreground threshold
 * if one is in use; the same rules as KMeansSegmentationImageFilter) are modelled as a mixture of K Gaussian
 * classes, each with a mean, a variance and a proportion.
 *
 * Initialisation: the exact K-means partition (IntensityLevelHistogram and OptimalScalarKMeans, as in
 * KMeansSegmentationImageFilter): means, variances SS/count and proportions count/N.
 *
 * Mixture fit: expectation-maximisation on the histogram levels (each occupied level with its count and
 * moments) instead of the voxels. For integer intensities (and floating-point images holding integers) this is
 * the voxel-wise likelihood exactly; otherwise each of the at most 65536 levels stands for its voxels at the
 * level mean, and the M-step uses the levels' exact moments. The fit stops when the relative change of the
 * log-likelihood is at most ConvergenceThreshold or after MaximumNumberOfIterations updates. Variances are
 * kept at least max(w^2/12, 1e-6 v), w the histogram bin width and v the variance of all the voxels taking
 * part, so that no class collapses onto a single intensity.
 *
 * Markov random field (MRFWeight beta > 0): a Potts prior, P(labels) proportional to
 * prod_i pi_{l_i} exp(beta * number of neighbouring pairs with equal labels) (the class proportions act as an
 * external field), over the face neighbours (6 in 3-D) and, in 2-D, the diagonal neighbours too (8). It is
 * fitted by HMRF-EM (Zhang, Brady & Smith, "Segmentation of brain MR images through a hidden Markov random field
 * model and the expectation-maximization algorithm", IEEE TMI 20(1), 2001, the model of FSL FAST), with the
 * label field estimated by mean field rather than iterated conditional modes: each iteration replaces every
 * voxel's posterior q_i by q_i(k) proportional to pi_k N(x_i; mu_k, sigma_k^2) exp(beta sum_{j ~ i} q_j(k)), all
 * voxels at once from the previous iteration's posteriors (synchronous, Jacobi updates), then re-estimates
 * means, variances and proportions from the new posteriors. Mean field is chosen because it gives soft
 * posteriors (the posterior output is meaningful) and, updated synchronously, does not depend on a visiting
 * order, so the result is the same for any number of threads; in-place ICM depends on the visiting order and
 * gives hard labels only. Neighbours that do not take part contribute nothing. The HMRF iterations start from
 * the mixture fit without prior and stop when the relative change of sum_i log sum_k exp(energy_ik) is at most
 * ConvergenceThreshold or after MaximumNumberOfMRFIterations. The HMRF iterations use each voxel's own intensity
 * (for integer intensities the same as its level's). Voxel spacing is not used: every neighbour has weight beta.
 *
 * Speed: the posteriors are kept in single precision, in two buffers the iterations alternate between: the
 * posterior output, and one holding for every image row only the span from its first to its last voxel taking
 * part, so that the neighbour sums of a row are sums of contiguous runs; exponentials come from an inline
 * table-and-polynomial function (relative error below 1e-10) and the energy's logarithms from running products.
 * Fresh buffers are advised as huge pages (KMeansSegmentationMemory).
 *
 * Automatic number of classes (AutomaticNumberOfClasses on): K is chosen from 1..MaximumNumberOfClasses by
 * GaussianMixtureOnLevels::SelectNumberOfClasses(): a further class is kept only when it raises the
 * log-likelihood per voxel by at least MinimumLogLikelihoodGain (default 0.0075 nats) both in a Gaussian mixture
 * with a variance per class and in a partial-volume mixture (pure classes and mixed classes between neighbours),
 * which gives the tissue count on real brains where BIC keeps adding classes
 * (GetNumberOfClassesSelection(), GetNumberOfClassesUsed()). The BIC of the mixture of every K is still reported
 * (GetBayesianInformationCriterionForEachK(); BIC = -2 log L + p log N, p = 3K - 1 free parameters, 2K with
 * UseCommonVariance). NumberOfClasses is then ignored. The MRF, when on, is fitted for the chosen K only. When the
 * chosen K is the largest tried, GetNumberOfClassesSelection().LargestChosen is true: callers should warn.
 *
 * Outputs: output 0 is the label image, labels 1..K in ascending order of class mean (the class of largest
 * posterior; ties go to the lower label), 0 for voxels that do not take part. The named output "Posteriors"
 * (GetPosteriorsOutput()) is a VectorImage<float> with K components, the posterior probability of each class
 * (component k is label k+1); they add up to 1 at voxels taking part and are all 0 elsewhere. Geometry is
 * copied from the input. The optional mask must have the input's size and physical space (checked as in
 * KMeansSegmentationImageFilter).
 *
 * Determinism: the histogram is integer, the level fit runs on one thread, the mean-field update of a voxel
 * reads only the previous iteration and is a pure function of it, and the sums of the parameter updates are
 * accumulated per slice (the slowest image dimension, a split that does not depend on the number of threads) and
 * added in slice order, so labels, posteriors and parameters are bit-identical for any number of threads.
 *
 * Tissue model (PartialVolume or EstimateBiasField on), in two stages. First the pure tissues with the Potts
 * prior of weight MRFWeight, which give the labels and posteriors: without EstimateBiasField the filter's own
 * Potts model (so labels and posteriors are bit for bit those with PartialVolume off); with it,
 * PartialVolumeTissueModel started from the mixture fitted on the histogram, with a smooth multiplicative bias
 * field estimated inside its EM (the named output "BiasField", GetBiasFieldOutput(), 1 outside the voxels taking
 * part). Then, with PartialVolume, PartialVolumeTissueModel adds K - 1 mixed classes for a few sweeps, started
 * from the first stage's posteriors and parameters, and the tissue fractions go to the named output "Fractions"
 * (GetFractionsOutput(), K components adding up to 1 in the voxels taking part, 0 elsewhere).
 *
 * Collapse guard: a class whose proportion ends below NegligibleProportion (default 1e-3) after the fit
 * without the tissue model is fitted again by PartialVolumeTissueModel (no mixed classes, no bias field), which
 * re-seeds a vanishing class from the exact K-means; GetReseededClasses() lists them, and
 * GetNegligibleClasses() the classes (0-based) still holding less than that share, for callers to warn.
 *
 * Memory and streaming: this filter requests its whole input and produces its whole output. The mixture without
 * prior (MRFWeight 0, PartialVolume and EstimateBiasField off) depends on the image only through its histogram:
 * KMeansSegmentationEstimator with GaussianMixture on estimates it from a streamed input and KMeansLabelImageFilter
 * labels any requested region, with the same labels as this filter (not the posteriors). The MRF, the posteriors
 * and the tissue model need the whole image in memory.
 *
 * \sa KMeansSegmentationImageFilter, OptimalScalarKMeans, IntensityLevelHistogram, PartialVolumeTissueModel,
 * GaussianMixtureOnLevels, PottsMeanField, KMeansSegmentationEstimator
 * \ingroup KMeansSegmentation
 */
template <typename TInputImage, typename TOutputImage = KMeansByteImage<TInputImage>, typename TMaskImage = KMeansByteImage<TInputImage>>
class ITK_TEMPLATE_EXPORT GaussianMixtureSegmentationImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  /** The preamble (see itkKMeansScalarSegmentationFilterMacro), with the number of classes K (default 3; ignored
   * when AutomaticNumberOfClasses is on) and the foreground threshold (UseForegroundThreshold,
   * ForegroundThreshold). */
  itkKMeansScalarSegmentationFilterMacro(GaussianMixtureSegmentationImageFilter, TInputImage, TOutputImage, TMaskImage);

  using PosteriorImageType = VectorImage<float, ImageDimension>;
  using FractionImageType = VectorImage<float, ImageDimension>;
  using BiasFieldImageType = Image<float, ImageDimension>;
  using RegionType = typename TInputImage::RegionType;
  using DataObjectPointerArraySizeType = typename Superclass::DataObjectPointerArraySizeType;

  /** Choose K by BIC among 1..MaximumNumberOfClasses (default Off, maximum 6). */
  itkSetMacro(AutomaticNumberOfClasses, bool);
  itkGetConstMacro(AutomaticNumberOfClasses, bool);
  itkBooleanMacro(AutomaticNumberOfClasses);
  itkSetMacro(MaximumNumberOfClasses, unsigned int);
  itkGetConstMacro(MaximumNumberOfClasses, unsigned int);
  /** Least rise of the log-likelihood per voxel (nats) a further class must bring in automatic mode (default
   * 0.0075; see GaussianMixtureOnLevels). */
  itkSetClampMacro(MinimumLogLikelihoodGain, double, 0.0, NumericTraits<double>::max());
  itkGetConstMacro(MinimumLogLikelihoodGain, double);

  /** Largest number of EM updates of the mixture without prior (default 200). */
  itkSetMacro(MaximumNumberOfIterations, unsigned int);
  itkGetConstMacro(MaximumNumberOfIterations, unsigned int);
  /** Stop when |L - L_previous| <= ConvergenceThreshold * |L_previous| (default 1e-5). */
  itkSetMacro(ConvergenceThreshold, double);
  itkGetConstMacro(ConvergenceThreshold, double);

  /** One variance shared by all classes (the pooled within-class variance) instead of one per class (default
   * Off). MR noise has the same variance in every tissue; per-class variances also absorb partial-volume and
   * bias spread, which lets a wide class take the tails of a narrow one. */
  itkSetMacro(UseCommonVariance, bool);
  itkGetConstMacro(UseCommonVariance, bool);
  itkBooleanMacro(UseCommonVariance);

  /** Potts prior weight beta; 0 (default) switches the Markov random field off. */
  itkSetMacro(MRFWeight, double);
  itkGetConstMacro(MRFWeight, double);
  /** Largest number of HMRF-EM iterations (mean-field sweep and parameter update) when MRFWeight > 0
   * (default 20). */
  itkSetMacro(MaximumNumberOfMRFIterations, unsigned int);
  itkGetConstMacro(MaximumNumberOfMRFIterations, unsigned int);

  /** Partial-volume model: tissue fractions in the named output "Fractions" (default Off). */
  itkSetMacro(PartialVolume, bool);
  itkGetConstMacro(PartialVolume, bool);
  itkBooleanMacro(PartialVolume);
  /** Multiplicative bias field estimated inside the EM, the named output "BiasField" (default Off). */
  itkSetMacro(EstimateBiasField, bool);
  itkGetConstMacro(EstimateBiasField, bool);
  itkBooleanMacro(EstimateBiasField);
  /** Total degree of the bias field's polynomial in the voxel coordinates (default 3). */
  itkSetClampMacro(BiasFieldDegree, unsigned int, 0, 6);
  itkGetConstMacro(BiasFieldDegree, unsigned int);
  /** A class below this share of the voxels is re-fitted and, if still below, listed as negligible (1e-3). */
  itkSetClampMacro(NegligibleProportion, double, 0.0, 1.0);
  itkGetConstMacro(NegligibleProportion, double);

  /** Tissue fractions ("Fractions"; allocated with PartialVolume on) and bias field ("BiasField"; with
   * EstimateBiasField on). */
  FractionImageType *
  GetFractionsOutput()
  {
    return dynamic_cast<FractionImageType *>(this->ProcessObject::GetOutput("Fractions"));
  }
  BiasFieldImageType *
  GetBiasFieldOutput()
  {
    return dynamic_cast<BiasFieldImageType *>(this->ProcessObject::GetOutput("BiasField"));
  }
  /** Sum of each tissue's fractions over the voxels when the tissue model ran (the posteriors' sums without
   * PartialVolume); empty otherwise. */
  const ValueArrayType &
  GetFractionSums() const
  {
    return m_FractionSums;
  }
  /** Classes (0-based) re-seeded from the exact K-means, and classes still below NegligibleProportion. */
  const std::vector<unsigned int> &
  GetReseededClasses() const
  {
    return m_ReseededClasses;
  }
  const std::vector<unsigned int> &
  GetNegligibleClasses() const
  {
    return m_NegligibleClasses;
  }

  /** The posterior probabilities (the named output "Posteriors"). */
  PosteriorImageType *
  GetPosteriorsOutput()
  {
    return dynamic_cast<PosteriorImageType *>(this->ProcessObject::GetOutput("Posteriors"));
  }
  const PosteriorImageType *
  GetPosteriorsOutput() const
  {
    return dynamic_cast<const PosteriorImageType *>(this->ProcessObject::GetOutput("Posteriors"));
  }

  /** Results, valid after Update(); index k is label k+1. Means and variances in input intensity units. */
  const ValueArrayType &
  GetClassMeans() const
  {
    return m_ClassMeans;
  }
  const ValueArrayType &
  GetClassVariances() const
  {
    return m_ClassVariances;
  }
  const ValueArrayType &
  GetClassProportions() const
  {
    return m_ClassProportions;
  }
  /** Means of the exact K-means partition the mixture started from. */
  const ValueArrayType &
  GetInitialClassMeans() const
  {
    return m_InitialClassMeans;
  }
  /** BIC for K = 1..MaximumNumberOfClasses (element K-1) in automatic mode; empty otherwise. K above the number
   * of distinct intensity levels is not tried. */
  const ValueArrayType &
  GetBayesianInformationCriterionForEachK() const
  {
    return m_BayesianInformationCriterionForEachK;
  }
#ifndef ITK_WRAPPING_PARSER
  /** How K was chosen in automatic mode: both models' log-likelihoods per voxel for every K, the gain required,
   * and LargestChosen (the chosen K is the largest tried). */
  const GaussianMixtureOnLevels::Selection &
  GetNumberOfClassesSelection() const
  {
    return m_NumberOfClassesSelection;
  }
#endif
  /** In automatic mode, true when the chosen K is the largest K tried (a larger MaximumNumberOfClasses may fit
   * better: warn). */
  bool
  GetLargestNumberOfClassesChosen() const
  {
    return m_NumberOfClassesSelection.LargestChosen;
  }
  /** In automatic mode, the log-likelihood per voxel for K = 1.. of the Gaussian mixture with a variance per class
   * and of the partial-volume mixture that chose K. */
  ValueArrayType
  GetGaussianLogLikelihoodPerVoxelForEachK() const
  {
    return m_NumberOfClassesSelection.GaussianLogLikelihoodPerSample;
  }
  ValueArrayType
  GetPartialVolumeLogLikelihoodPerVoxelForEachK() const
  {
    return m_NumberOfClassesSelection.PartialVolumeLogLikelihoodPerSample;
  }
  /** The K used: NumberOfClasses, or the one chosen automatically. */
  itkGetConstMacro(NumberOfClassesUsed, unsigned int);
  /** Log-likelihood of the mixture without prior over the voxels taking part (histogram levels). */
  itkGetConstMacro(LogLikelihood, double);
  /** EM updates made by the mixture fit without prior. */
  itkGetConstMacro(NumberOfIterations, unsigned int);
  /** HMRF-EM iterations made (0 when MRFWeight is 0). */
  itkGetConstMacro(NumberOfMRFIterations, unsigned int);
  /** Number of voxels that were classified. */
  itkGetConstMacro(NumberOfClassifiedPixels, SizeValueType);

protected:
  GaussianMixtureSegmentationImageFilter();
  ~GaussianMixtureSegmentationImageFilter() override = default;

  using Superclass::MakeOutput;
  DataObject::Pointer
  MakeOutput(const ProcessObject::DataObjectIdentifierType & name) override;

  void
  VerifyPreconditions() const override;

  itkKMeansWholeImageFilterMacro();

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  void
  GenerateOutputInformation() override;

  void
  GenerateData() override;

private:
  using FilterImagesType = KMeansSegmentationDetail::FilterImages<Self>;

  /** The mixture without prior at the voxels, through their histogram levels: for each histogram bin its level
   * (-1 where no voxel lies), and for each level its K posteriors (in single precision, as the posterior output
   * holds them) and its label (the class of largest posterior, the lower label on ties). */
  struct LevelPosteriors
  {
    LevelPosteriors(const HistogramType & histogram, const GaussianMixtureOnLevels::Mixture & mixture);

    /** The posteriors of the level of a voxel of intensity value (a voxel that takes part). */
    const float *
    Of(InputPixelType value, std::size_t * level = nullptr) const;

    const HistogramType &        Histogram;
    unsigned int                 NumberOfClasses;
    std::vector<std::int32_t>    BinToLevel;
    std::vector<float>           Posteriors;
    std::vector<OutputPixelType> Labels;
  };

  /** HMRF-EM with mean field (PottsMeanField) over the voxels that take part, started from levels; shift is the
   * mean of the samples (levels' coordinates). Writes the labels (output 0) and posteriors ("Posteriors") of
   * every voxel, in ascending order of mean, and leaves the re-estimated mixture in mixture. */
  void
  FitMarkovRandomField(const FilterImagesType &           images,
                       const LevelPosteriors &            levels,
                       GaussianMixtureOnLevels::Mixture & mixture,
                       double                             varianceFloor,
                       double                             shift);

  /** Labels and posteriors of every voxel from those of its histogram level (the mixture without prior). */
  void
  LabelByLevel(const FilterImagesType & images, const LevelPosteriors & levels);

  /** Fits PartialVolumeTissueModel to the voxels taking part with the filter's settings, started from the
   * mixture start (null: from the exact K-means partition, the collapse guard's re-fit); with posteriors (K per
   * voxel of the whole grid, those of the Potts model fitted with start), only its partial-volume stage from
   * them. Writes outputs 0 to 3 and the class parameters. */
  void
  FitTissueModel(const FilterImagesType &                 images,
                 const HistogramType &                    histogram,
                 double                                   varianceFloor,
                 const GaussianMixtureOnLevels::Mixture * start,
                 const float *                            posteriors);

  unsigned int m_NumberOfClasses{ 3 };
  bool         m_AutomaticNumberOfClasses{ false };
  unsigned int m_MaximumNumberOfClasses{ 6 };
  double       m_MinimumLogLikelihoodGain{ GaussianMixtureOnLevels::Parameters{}.MinimumLogLikelihoodGain };
  bool         m_UseForegroundThreshold{ false };
  double       m_ForegroundThreshold{ 0.0 };
  unsigned int m_MaximumNumberOfIterations{ 200 };
  double       m_ConvergenceThreshold{ 1e-5 };
  bool         m_UseCommonVariance{ false };
  double       m_MRFWeight{ 0.0 };
  unsigned int m_MaximumNumberOfMRFIterations{ 20 };
  bool         m_PartialVolume{ false };
  bool         m_EstimateBiasField{ false };
  unsigned int m_BiasFieldDegree{ 3 };
  double       m_NegligibleProportion{ 1e-3 };

  ValueArrayType            m_InitialClassVariances;
  ValueArrayType            m_FractionSums;
  std::vector<unsigned int> m_ReseededClasses;
  std::vector<unsigned int> m_NegligibleClasses;

  ValueArrayType m_ClassMeans;
  ValueArrayType m_ClassVariances;
  ValueArrayType m_ClassProportions;
  ValueArrayType m_InitialClassMeans;
  ValueArrayType m_BayesianInformationCriterionForEachK;
  GaussianMixtureOnLevels::Selection m_NumberOfClassesSelection;
  unsigned int   m_NumberOfClassesUsed{ 0 };
  double         m_LogLikelihood{ 0.0 };
  unsigned int   m_NumberOfIterations{ 0 };
  unsigned int   m_NumberOfMRFIterations{ 0 };
  SizeValueType  m_NumberOfClassifiedPixels{ 0 };
};
} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkGaussianMixtureSegmentationImageFilter.hxx"
#endif

#endif
