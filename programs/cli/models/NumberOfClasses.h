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
#ifndef KMeansCLINumberOfClasses_h
#define KMeansCLINumberOfClasses_h

// -k auto: the report's "model_selection" and the warning when the chosen K is the largest tried.
#include "cli/outputs/Report.h"

#include "itkGaussianMixtureOnLevels.h"

#include <ostream>
#include <vector>

namespace kmeans_cli
{
/** The report's "model_selection" for -k auto: for every K tried, both models' log-likelihoods per voxel, the
 * gain over K - 1 that decided, and the BIC of the mixture fitted (bic); the gain required, the chosen K and
 * "largest_k_chosen". byMixture says whether the Gaussian mixture segments (false: it only chooses K for the
 * K-means). When the chosen K is the largest tried, adds a report warning and writes it as one line on err. */
ReportJson
NumberOfClassesSelectionReport(const itk::GaussianMixtureOnLevels::Selection & selection,
                               const std::vector<double> &                      bic,
                               bool                                             byMixture,
                               unsigned int                                     maximumNumberOfClasses,
                               Report &                                         report,
                               std::ostream &                                   err);
} // namespace kmeans_cli

#endif
