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
#ifndef itkPartialVolumeTissueModel_h
#define itkPartialVolumeTissueModel_h

#include "KMeansSegmentationExport.h"

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace itk
{
/** \class PartialVolumeTissueModel
 * \brief Voxel-wise tissue model of FSL FAST's kind: pure and partial-volume classes, a Markov random field
 * prior, a multiplicative bias field estimated inside the EM, and tissue fractions.
 *
 * Input: the intensities of the voxels that take part (a plain array), the index of each in a grid of at most
 * three dimensions (fastest first), and initial parameters of K pure tissues in ascending order of mean (the
 * exact K-means and the Gaussian mixture fitted on the histogram give them).
 *
 * Classes (Santago & Gage, "Quantification of MR brain images by mixture density and partial volume modeling",
 * IEEE TMI 12(3), 1993; Shattuck et al., "Magnetic resonance image tissue classification using a partial volume
 * model", NeuroImage 13(5), 2001): the K pure tissues, Gaussian N(mu_k, sigma_k^2), and with PartialVolume on
 * K - 1 mixed classes between tissues adjacent in mean, whose voxels hold a fraction f of the upper tissue,
 * uniform on [0, 1]: p(x | a,b) = integral_0^1 N(x; (1 - f) mu_a + f mu_b, sigma_ab^2) df
 * = [Phi((x - mu_a) / sigma_ab) - Phi((x - mu_b) / sigma_ab)] / (mu_b - mu_a), sigma_ab^2 the mean of the two
 * variances. A voxel's fraction in a mixed class is the posterior mean of f (a normal truncated to [0, 1]); its
 * tissue fractions are sum_c q(c) times the fractions of class c (1 for the tissue of a pure class), so they lie
 * in [0, 1] and add up to 1.
 *
 * Prior: a Potts-type Markov random field acting on the tissues, over the neighbourhood of
 * GaussianMixtureSegmentationImageFilter (the 6 face neighbours in 3-D; in 2-D the 4 face and 4 diagonal ones, so
 * that a 2-D prior holds about as many neighbours as a 3-D one and a slice is smoothed alike in every direction):
 * class c has the tissue content t_c (e_k for pure tissue k, (e_a + e_b) / 2 for a mixed class), and
 * q_i(c) is proportional to pi_c p(x_i / b_i | c) exp(beta t_c . sum_{j ~ i} T_j), T_j = sum_c q_j(c) t_c, by
 * synchronous mean-field updates (as Zhang, Brady & Smith, "Segmentation of brain MR images through a hidden
 * Markov random field model and the expectation-maximization algorithm", IEEE TMI 20(1), 2001). Inside a
 * tissue a pure class is favoured over a mixed one; at a boundary between two tissues the mixed class is not
 * penalised.
 *
 * Two stages, as FSL FAST segments first and estimates the partial volumes from the segmentation's tissue
 * model. Stage 1, the pure tissues only: mean-field sweeps and the usual M-step (means, variances, pi_c = Q_c / N,
 * Q_c the sum of the posteriors of class c), started from Start and StartProportions when given (the mixture
 * fitted on the histogram, near the fixed point) and otherwise from the initial parameters with equal
 * proportions, until the relative change of the mean-field energy is at most ConvergenceThreshold or after
 * MaximumNumberOfIterations; the bias field is refitted in it. Its posteriors and labels (the tissue of largest
 * posterior) are the outputs GetPosteriors() and GetLabels(): without the mixed classes and the field they are
 * those of the Potts model of GaussianMixtureSegmentationImageFilter. Stage 2, with PartialVolume:
 * PartialVolumeIterations sweeps with the mixed classes added (starting with a fifth of the voxels), the means
 * kept from stage 1 (the variance measured around them from the pure and mixed classes' expected squared
 * residuals), the proportions calibrated, pi_c <- pi_c (Q_c / R_c)^3 (the step capped at a factor of 2), R_c the
 * sum over the voxels of the prior of class c alone (pi and the field): the prior then predicts as many voxels of
 * each class as the data put there. The usual pi_c = Q_c / N counts the field twice, and then the mixed classes,
 * which the field never favours, die out within a few iterations. The fractions come from this stage's last
 * sweep. The mixed proportions are not run to a fixed point: on noisy images they keep shrinking slowly (the
 * pure variances absorb the partial-volume spread), and a fixed number of sweeps from a fixed start gives
 * fractions that depend little on that number (measured on a 9 % noise phantom: grey matter volume +0.9 % after
 * 3 sweeps, -0.1 % after 5).
 *
 * Speed: the class likelihoods (as ratios to the largest), the mixed fractions and residuals are tabulated over
 * the intensity (32 nodes per standard deviation, linear interpolation); the sweep runs in single precision with
 * an inline exponential, the number of tissues a compile-time constant for 2 to 4, four voxels at a time in
 * SIMD lanes (each lane the scalar arithmetic, the sums over the voxels added one voxel after the other, so the
 * results do not depend on the lanes); the intensity divided by the field is stored once per bias fit. The
 * neighbours are found by one forward cursor per direction over the ascending grid indices (no map of the grid).
 * The mixed stage's sweeps skip what nothing reads: the mean-field energy (a fixed number of sweeps), and in the
 * last one the prior sums, the labels and the contents. Memory: given StartPosteriorGrid and FractionGrid (a
 * filter's posterior and fraction image buffers), the model reads the posteriors in place and keeps its two
 * content buffers and the fractions in FractionGrid, and its neighbour table too where the grid has room for it
 * (a brain mask in a head image, K >= 3), so that it takes no other memory for them.
 *
 * Bias field (EstimateBiasField on; Wells et al., "Adaptive segmentation of MRI data", IEEE TMI 15(4), 1996,
 * the scheme of FAST and SPM): from iteration BiasFieldDelay on (the first iterations classify the uncorrected
 * image), after every M-step (of both stages, but the last sweep) the field b is refitted as a polynomial of
 * total degree BiasFieldDegree in the grid coordinates (scaled to [-1, 1] over the voxels taking part) by weighted least squares to x_i / m_i, m_i
 * the voxel's expected intensity under its pure classes, weighted by w_i^2 m_i^2 / sigma_i^2 (w_i its pure
 * posterior: in a mixed class the fraction would follow the intensity and absorb the field), on a fixed
 * subsample of at most about 2^16 voxels. A ridge of BiasFieldRegularization times the total weight on the
 * non-constant terms keeps the field from trading against the class means (on a head, whose tissues lie in
 * nested shells, a radial field and the means are nearly interchangeable; measured on a 9 % noise phantom,
 * 0.03 holds the field where 0.003 lets it absorb the white matter). log b has mean 0 over the voxels, so the
 * class means keep the image's scale. Model and field alternate until the relative change of the mean-field
 * energy is at most ConvergenceThreshold or MaximumNumberOfIterations iterations were made (stage 1).
 *
 * Collapse guard: after every M-step a pure class whose share (its pure proportion plus half of the adjacent
 * mixed classes') falls below NegligibleProportion, or whose mean leaves the order of the means, is re-seeded
 * from the initial parameters (at most twice per class); GetReseededClasses() names them. A class still below
 * NegligibleProportion at the end is listed by GetNegligibleClasses(), for the caller to warn.
 *
 * Determinism: the voxels are processed in fixed blocks, each with its own partial sums, added in block order,
 * so every result is bit-identical for any number of threads.
 *
 * \sa GaussianMixtureSegmentationImageFilter, OptimalScalarKMeans
 * \ingroup KMeansSegmentation
 */
class KMeansSegmentation_EXPORT PartialVolumeTissueModel
{
public:
  /** Parameters of the pure tissues, ascending means. */
  struct Tissues
  {
    std::vector<double> Mean;
    std::vector<double> Variance;
  };

  bool         PartialVolume{ true };
  double       MRFWeight{ 0.3 };
  bool         EstimateBiasField{ false };
  unsigned int BiasFieldDegree{ 3 };
  unsigned int BiasFieldDelay{ 5 };
  double       BiasFieldRegularization{ 0.03 };
  unsigned int MaximumNumberOfIterations{ 20 };
  unsigned int PartialVolumeIterations{ 3 }; ///< sweeps of stage 2 (with the mixed classes)
  double       ConvergenceThreshold{ 1e-5 };
  bool         CommonVariance{ true };
  double       VarianceFloor{ 1e-6 };
  double       NegligibleProportion{ 1e-3 };
  unsigned int NumberOfWorkUnits{ 0 }; ///< 0: ITK's default
  /** Parameters and proportions the pure stage starts from (e.g. the mixture fitted on the histogram); when
   * either is empty, the initial parameters of Fit() with equal proportions. The initial parameters stay those the
   * collapse guard re-seeds from. */
  Tissues             Start;
  std::vector<double> StartProportions;
  /** With PartialVolume, the posteriors of the K pure tissues in every voxel (voxel-major) from a Potts model
   * the caller fitted with the parameters Start: stage 1 is then skipped, these are GetPosteriors(), their
   * largest gives GetLabels(), and stage 2 starts from them. Ignored unless it holds K values per voxel. */
  std::vector<float> StartPosteriors;
  /** The same posteriors read in place from the caller's grid (K per grid voxel, voxel-major, e.g. a posterior
   * image's buffer), at each voxel's grid index; used where StartPosteriors is not given. GetPosteriors() then
   * stays empty (the caller holds them). */
  const float * StartPosteriorGrid{ nullptr };
  /** Where the fractions go, in the grid's layout (K per grid voxel, e.g. a fraction image's buffer of the whole
   * grid): the model leaves each voxel's fractions at its grid index and 0 at every other grid voxel, and
   * GetFractions() stays empty. Its previous contents are never read: where the grid holds at least twice as many
   * voxels as take part, the mixed stage keeps its two content buffers in it (no other memory for them). */
  float * FractionGrid{ nullptr };
  /** Called after every iteration with the share of the work done (0 to 1), and with 1 at the end; it may throw
   * (an ITK filter throws ProcessAborted there when asked to abort) to stop the fit. */
  std::function<void(double)> Progress;

  /** Fits the model. values[i] is voxel i's intensity (positive where EstimateBiasField is on), gridIndex[i] its
   * linear index in a grid of size gridSize (fastest first; gridSize[2] = 1 in 2-D), strictly ascending.
   * Throws itk::ExceptionObject naming the offending value for an empty or inconsistent input. */
  void
  Fit(const std::vector<float> &         values,
      const std::vector<std::uint64_t> & gridIndex,
      const std::array<std::uint64_t, 3> & gridSize,
      const Tissues &                    initial);

  /** Results, valid after Fit(); voxel-major arrays (voxel i, tissue k at i K + k). */
  const Tissues &
  GetTissues() const
  {
    return m_Tissues;
  }
  /** Fractions of the K tissues in each voxel (sum 1); empty with FractionGrid. */
  const std::vector<float> &
  GetFractions() const
  {
    return m_Fractions;
  }
  /** Tissue posteriors of stage 1 (sum 1); empty with StartPosteriorGrid. */
  const std::vector<float> &
  GetPosteriors() const
  {
    return m_Posteriors;
  }
  /** Label 1..K of each voxel: the tissue of largest posterior in stage 1 (the lower on ties). */
  const std::vector<std::uint8_t> &
  GetLabels() const
  {
    return m_Labels;
  }
  /** The multiplicative bias field b_i of each voxel (all 1 when EstimateBiasField is off). */
  const std::vector<float> &
  GetBiasField() const
  {
    return m_BiasField;
  }
  /** Proportions of all classes: K pure, then the K - 1 mixed (k, k+1). */
  const std::vector<double> &
  GetClassProportions() const
  {
    return m_Proportions;
  }
  /** Sum of each tissue's fractions over the voxels (in voxels), in block order. */
  const std::vector<double> &
  GetFractionSums() const
  {
    return m_FractionSums;
  }
  /** Sweeps of both stages. */
  unsigned int
  GetNumberOfIterations() const
  {
    return m_Iterations;
  }
  /** Tissues (0-based) re-seeded from the initial parameters during the fit. */
  const std::vector<unsigned int> &
  GetReseededClasses() const
  {
    return m_Reseeded;
  }
  /** Tissues (0-based) whose fraction sum is below NegligibleProportion of the voxels after the fit. */
  std::vector<unsigned int>
  GetNegligibleClasses() const;

  void
  Print(std::ostream & os) const;

private:
  struct Workspace;

  void
  Check(const std::vector<float> &           values,
        const std::vector<std::uint64_t> &   gridIndex,
        const std::array<std::uint64_t, 3> & gridSize,
        const Tissues &                      initial) const;
  void
  Prepare(Workspace &                          w,
          const std::vector<float> &           values,
          const std::vector<std::uint64_t> &   gridIndex,
          const std::array<std::uint64_t, 3> & gridSize) const;
  void
  BuildTable(Workspace & w) const;
  double
  Sweep(Workspace & w, bool final);
  void
  UpdateTissues(Workspace & w, const Tissues & initial);
  void
  FitBiasField(Workspace & w, const std::vector<float> & values);
  void
  FitPureTissues(Workspace & w, const std::vector<float> & values, const Tissues & initial, double totalIterations);
  void
  FitMixedClasses(Workspace &                w,
                  const std::vector<float> & values,
                  const Tissues &            initial,
                  unsigned int               iterations,
                  double                     totalIterations);
  void
  Finish(Workspace & w);
  void
  PlaceContents(Workspace & w, std::uint64_t gridVoxels) const;
  void
  StartFromPosteriors(Workspace & w, const std::vector<std::uint64_t> & gridIndex);
  void
  WriteFractionGrid(Workspace & w, const std::vector<std::uint64_t> & gridIndex, std::uint64_t gridVoxels);

  Tissues                   m_Tissues;
  std::vector<double>       m_Proportions;
  std::vector<float>        m_Fractions;
  std::vector<float>        m_Posteriors;
  std::vector<std::uint8_t> m_Labels;
  std::vector<float>        m_BiasField;
  std::vector<double>       m_FractionSums;
  std::vector<unsigned int> m_Reseeded;
  unsigned int              m_Iterations{ 0 };
};
} // namespace itk

#endif
