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
#include "cli/models/NumberOfClasses.h"

#include <algorithm>
#include <string>

namespace kmeans_cli
{
ReportJson
NumberOfClassesSelectionReport(const itk::GaussianMixtureOnLevels::Selection & selection,
                               const std::vector<double> &                      bic,
                               bool                                             byMixture,
                               unsigned int                                     maximumNumberOfClasses,
                               Report &                                         report,
                               std::ostream &                                   err)
{
  const auto & gaussian = selection.GaussianLogLikelihoodPerSample;
  const auto & partialVolume = selection.PartialVolumeLogLikelihoodPerSample;
  ReportJson   forEachK = ReportJson::array();
  ReportJson   bicForEachK = ReportJson::array();
  for (std::size_t k = 0; k < bic.size(); ++k)
  {
    bicForEachK.push_back({ { "k", k + 1 }, { "bic", bic[k] } });
  }
  for (std::size_t k = 0; k < gaussian.size(); ++k)
  {
    ReportJson entry = { { "k", k + 1 },
                         { "gaussian_log_likelihood_per_voxel", gaussian[k] },
                         { "partial_volume_log_likelihood_per_voxel", partialVolume[k] } };
    if (k > 0)
    {
      entry["gain_per_voxel"] = std::min(gaussian[k] - gaussian[k - 1], partialVolume[k] - partialVolume[k - 1]);
    }
    if (k < bic.size())
    {
      entry["bic"] = bic[k];
    }
    forEachK.push_back(entry);
  }
  const unsigned int chosen = selection.NumberOfClasses;
  ReportJson         json = {
    { "criterion", "log-likelihood gain per voxel" },
    { "models", "Gaussian mixture (variance per class) and partial-volume mixture (pure and mixed classes)" },
    { "by", byMixture ? "gmm" : "gmm (the mixtures choose K for the K-means)" },
    { "maximum_k", maximumNumberOfClasses },
    { "largest_k_tried", selection.LargestTried },
    { "required_gain_per_voxel", selection.RequiredGain },
    { "for_each_k", forEachK },
    { "bic_for_each_k", bicForEachK },
    { "chosen_k", chosen },
    { "largest_k_chosen", selection.LargestChosen }
  };
  if (selection.LargestChosen)
  {
    const std::string reason =
      selection.LargestTried < maximumNumberOfClasses
        ? " (the histogram has only " + std::to_string(selection.LargestTried) +
            " distinct intensity levels): check that the image is not quantised to a few values, or give K with -k"
        : ": more classes may still fit better (try a larger --max-k), or give K with -k";
    const std::string warning = "-k auto chose K = " + std::to_string(chosen) + ", the largest K tried" + reason;
    report.AddWarning(warning);
    err << "kmeans-segment: warning: " << warning << std::endl;
  }
  return json;
}
} // namespace kmeans_cli
