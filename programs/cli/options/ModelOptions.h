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
#ifndef KMeansCLIModelOptions_h
#define KMeansCLIModelOptions_h

#include <optional>
#include <string>

namespace CLI
{
class App;
}

namespace kmeans_cli
{
struct Options;

/** Options of the intensity model (itk::GaussianMixtureSegmentationImageFilter): --model, --mrf,
 * --common-variance / --per-class-variance, --posteriors, --max-k; "-k auto" sets AutomaticNumberOfClasses.
 *
 * With --model gmm the variance is common to all classes unless --per-class-variance is given: on the accuracy
 * benchmark (benchmarks/accuracy) the common variance meets the targets (grey-matter Dice 0.952 on the 9 % noise
 * phantom with the MRF, MNI152 no tissue below K-means) where per-class variances do not (0.933; white matter
 * 0.823 on MNI152 against 0.931 for K-means).
 *
 * "-k auto" chooses K from 1..--max-k by itk::GaussianMixtureOnLevels::SelectNumberOfClasses() (the smallest K
 * after which one more class raises the log-likelihood per voxel by less than 0.0075 nats in a Gaussian mixture
 * with a variance per class or in a partial-volume mixture; the tissue count on real brains, where BIC keeps
 * adding classes); the BIC of each K is still reported. With --model kmeans the K-means then runs with that K:
 * the choice is the mixtures', reported as such. A choice equal to --max-k is warned about. */
struct ModelOptions
{
  /** --model: "kmeans" (default) or "gmm"; --mrf implies "gmm". */
  std::string Name{ "kmeans" };
  /** True when --model was given on the command line. */
  bool NameGiven{ false };
  /** --mrf BETA: weight of the Potts prior (0 = no prior). */
  std::optional<double> MRFWeight;
  /** --per-class-variance: one variance per class instead of one common variance. */
  bool PerClassVariance{ false };
  /** --common-variance given explicitly (the default of --model gmm). */
  bool CommonVarianceGiven{ false };
  /** --posteriors FILE: the per-class posterior probabilities as a vector image (NRRD or NIfTI). */
  std::string Posteriors;
  /** -k auto: K chosen by BIC from 1..MaximumNumberOfClasses. */
  bool AutomaticNumberOfClasses{ false };
  /** --max-k: largest K tried by -k auto. */
  unsigned int MaximumNumberOfClasses{ 6 };
  /** True when --max-k was given (it needs -k auto). */
  bool MaximumNumberOfClassesGiven{ false };
  /** --pve PREFIX: the partial-volume model; one tissue-fraction map per class, PREFIX_pve_<label> plus the
   * output's extension. Implies --model gmm and, without --mrf, the default Potts weight PartialVolumeMRFWeight. */
  std::string PartialVolumePrefix;
  /** --bias-field: a smooth multiplicative bias field estimated inside the EM (implies --model gmm). */
  bool BiasField{ false };
  /** --bias-field-output FILE: that field as an image (1 outside the mask). */
  std::string BiasFieldOutput;
};

/** The Potts weight --pve uses when --mrf is not given: on the accuracy benchmark (see README) the best hard labels
 * on MNI152 and a grey-matter fraction sum between those of 0.3 and 1.0 on the 9 % partial-volume phantom. */
constexpr double PartialVolumeMRFWeight = 0.6;

/** Register --model, --mrf, --common-variance, --per-class-variance, --posteriors, --max-k, --pve,
 * --bias-field and --bias-field-output on app. */
void
AddModelOptions(CLI::App & app, Options & options);

/** The path of the fraction map of label (1..K): PREFIX_pve_<label> plus the extension of output (.nii.gz,
 * .nii, .nrrd, .nhdr, .mha, .mhd; .nrrd for a Slicer .seg.nrrd; .nii.gz when output has none of them). */
std::string
PartialVolumeMapPath(const std::string & prefix, const std::string & output, unsigned int label);

/** True when the Gaussian mixture segments (--model gmm or --mrf). */
bool
UsesGaussianMixture(const Options & options);

/** True for the Gaussian mixture fitted on the histogram alone (--model gmm without --mrf, --pve, --bias-field,
 * --posteriors or -k auto): it streams, and its model can be saved, applied and fitted on merged histograms. */
bool
IsHistogramMixture(const Options & options);

/** Check the model options against each other and the rest, before any work: one-line FileError or
 * std::invalid_argument messages naming the option. */
void
CheckModelOptions(const Options & options);
} // namespace kmeans_cli

#endif
