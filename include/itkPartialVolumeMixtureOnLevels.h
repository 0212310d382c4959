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
#ifndef itkPartialVolumeMixtureOnLevels_h
#define itkPartialVolumeMixtureOnLevels_h

#include "KMeansSegmentationExport.h"
#include "itkOptimalScalarKMeans.h"

#include <vector>

namespace itk
{
/** \class PartialVolumeMixtureOnLevels
 * \brief Partial-volume mixture of a scalar intensity distribution (K pure classes and K - 1 mixed classes between
 * classes adjacent in intensity) fitted by expectation-maximisation on the levels of its histogram.
 *
 * A voxel of pure class k has intensity mu_k + e; a voxel of the mixed class between k and k + 1 holds a fraction
 * f of class k + 1, uniform on [0, 1], and has intensity (1 - f) mu_k + f mu_{k+1} + e; e ~ N(0, sigma^2) with one
 * common variance. The mixed density is the convolution of the uniform distribution on [mu_k, mu_{k+1}] with the
 * noise: (Phi((x - mu_k) / sigma) - Phi((x - mu_{k+1}) / sigma)) / (mu_{k+1} - mu_k) (Santago & Gage 1993; the
 * mixed classes of FSL FAST and BrainSuite's PVC).
 *
 * The EM treats the class and the fraction f as missing data: the posterior of f in a mixed class is a normal
 * truncated to [0, 1], whose first two moments are closed-form; the M-step solves the normal equations of the
 * means (tridiagonal: a mixed class ties two neighbouring means), then updates the common variance (from the
 * levels' exact second moments) and the 2K - 1 proportions. It starts from a K-means partition of the levels
 * (means, pooled variance, 90 % of each class's share on its pure class and 10 % spread over the mixed classes).
 * Each level stands for its count of samples at its mean; the computation is sequential and depends only on the
 * levels. K = 1 is the single Gaussian.
 *
 * Reference: Santago & Gage, "Quantification of MR brain images by mixture density and partial volume modeling",
 * IEEE TMI 12(3), 1993; Zhang, Brady & Smith, "Segmentation of brain MR images through a hidden Markov random field
 * model and the expectation-maximization algorithm", IEEE TMI 20(1), 2001.
 *
 * \sa GaussianMixtureOnLevels, PartialVolumeTissueModel
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT PartialVolumeMixtureOnLevels
{
public:
  using Level = OptimalScalarKMeans::Level;

  /** A fitted mixture: Mean[k] of pure class k (ascending, in the levels' coordinates), the common Variance,
   * Proportion[k] of pure class k (k < K) and Proportion[K + j] of the mixed class between j and j + 1. */
  struct Mixture
  {
    std::vector<double> Mean;
    double              Variance{ 0.0 };
    std::vector<double> Proportion;
    double              LogLikelihood{ 0.0 };
    unsigned int        Iterations{ 0 };
  };

  /** Fits the mixture to the levels (ascending, counts not 0), starting from the K-means partition classes (K =
   * classes.size() >= 1), the variance never below varianceFloor; EM until the relative change of the
   * log-likelihood is at most convergenceThreshold or after maximumNumberOfIterations updates. */
  static Mixture
  Fit(const std::vector<Level> &                      levels,
      const std::vector<OptimalScalarKMeans::Class> & classes,
      double                                          varianceFloor,
      unsigned int                                    maximumNumberOfIterations,
      double                                          convergenceThreshold);

  /** Log-likelihood of the levels under the mixture (each level stands for its count of samples at its mean). */
  static double
  LogLikelihood(const std::vector<Level> & levels, const Mixture & mixture);
};
} // namespace itk

#endif
