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
#include "cli/options/ModelOptions.h"

#include "cli/options/Options.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace kmeans_cli
{
namespace
{
bool
EndsWith(const std::string & text, const std::string & ending)
{
  return text.size() >= ending.size() && text.compare(text.size() - ending.size(), ending.size(), ending) == 0;
}

bool
IsVectorImagePath(const std::string & path)
{
  std::string lower = path;
  for (char & c : lower)
  {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return !EndsWith(lower, ".seg.nrrd") && (EndsWith(lower, ".nrrd") || EndsWith(lower, ".nhdr") ||
                                           EndsWith(lower, ".nii") || EndsWith(lower, ".nii.gz"));
}
} // namespace

std::string
PartialVolumeMapPath(const std::string & prefix, const std::string & output, unsigned int label)
{
  std::string lower = output;
  for (char & c : lower)
  {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::string extension = ".nii.gz";
  for (const char * candidate : { ".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd" })
  {
    if (EndsWith(lower, candidate))
    {
      extension = std::string(candidate) == ".seg.nrrd" ? ".nrrd" : output.substr(output.size() - std::strlen(candidate));
      break;
    }
  }
  return prefix + "_pve_" + std::to_string(label) + extension;
}

bool
UsesGaussianMixture(const Options & options)
{
  return options.Model.Name == "gmm";
}

bool
IsHistogramMixture(const Options & options)
{
  const ModelOptions & m = options.Model;
  return UsesGaussianMixture(options) && !(m.MRFWeight && *m.MRFWeight > 0.0) && m.PartialVolumePrefix.empty() &&
         !m.BiasField && m.Posteriors.empty() && !m.AutomaticNumberOfClasses;
}

/** The model options that cannot go together, checked once the command line is parsed (CLI::ValidationError). */
static void
CheckModelOptionCombinations(const Options & options)
{
  const ModelOptions & m = options.Model;
  const bool           gmm = UsesGaussianMixture(options);
  if (m.MRFWeight && *m.MRFWeight > 0.0 && !gmm)
  {
    throw CLI::ValidationError("--mrf", "the Markov random field prior needs --model gmm, not --model kmeans");
  }
  if ((m.CommonVarianceGiven || m.PerClassVariance) && !gmm)
  {
    throw CLI::ValidationError(m.CommonVarianceGiven ? "--common-variance" : "--per-class-variance",
                               "the variance model needs --model gmm");
  }
  if (!m.Posteriors.empty() && !gmm)
  {
    throw CLI::ValidationError("--posteriors", "posterior probabilities need --model gmm (K-means assigns "
                                               "each voxel to one class)");
  }
  if (!m.Posteriors.empty() && !IsVectorImagePath(m.Posteriors))
  {
    throw CLI::ValidationError("--posteriors", "'" + m.Posteriors +
                                                 "' must end in .nrrd, .nhdr, .nii or .nii.gz (a vector image)");
  }
  if (m.MaximumNumberOfClassesGiven && !m.AutomaticNumberOfClasses)
  {
    throw CLI::ValidationError("--max-k", "--max-k needs -k auto");
  }
  if (!m.Posteriors.empty() && !options.Scan.OutputDirectory.empty())
  {
    throw CLI::ValidationError("--posteriors", "a batch (--output-dir) names its outputs itself: no --posteriors");
  }
  if ((gmm || m.AutomaticNumberOfClasses) && options.Inputs.size() > 1 && options.Scan.OutputDirectory.empty())
  {
    throw CLI::ValidationError(gmm ? "--model" : "-k", std::string(gmm ? "--model gmm" : "-k auto") +
                                                         " works on one scalar INPUT, not on several channels");
  }
  if (!m.PartialVolumePrefix.empty() && !gmm)
  {
    throw CLI::ValidationError("--pve", "the tissue model needs --model gmm, not --model kmeans");
  }
  if (m.BiasField && !gmm && (m.AutomaticNumberOfClasses || options.Inputs.size() > 1))
  {
    throw CLI::ValidationError("--bias-field", "--model kmeans --bias-field needs one scalar INPUT and a "
                                               "number of classes (-k K, not -k auto)");
  }
  if (!m.BiasFieldOutput.empty() && !m.BiasField)
  {
    throw CLI::ValidationError("--bias-field-output", "--bias-field-output needs --bias-field");
  }
  if ((!m.PartialVolumePrefix.empty() || !m.BiasFieldOutput.empty()) && !options.Scan.OutputDirectory.empty())
  {
    throw CLI::ValidationError("--pve", "a batch (--output-dir) names its outputs itself: no --pve or "
                                        "--bias-field-output");
  }
  if (m.AutomaticNumberOfClasses && options.Scan.Tissues)
  {
    throw CLI::ValidationError("--tissues", "--tissues names three classes: use -k 3, not -k auto");
  }
}

void
AddModelOptions(CLI::App & app, Options & options)
{
  ModelOptions & model = options.Model;
  app.add_option_function<std::string>(
       "--model",
       [&model](const std::string & value) {
         model.Name = value;
         model.NameGiven = true;
       },
       "Intensity model: kmeans (exact K-means, default) or gmm (Gaussian mixture fitted by EM from the exact "
       "K-means; labels by largest posterior)")
    ->check(CLI::IsMember({ "kmeans", "gmm" }));
  app.add_option_function<double>(
       "--mrf",
       [&model](const double & value) {
         model.MRFWeight = value;
         if (!model.NameGiven)
         {
           model.Name = "gmm";
         }
       },
       "Weight BETA of a Potts Markov random field prior over the 6-neighbourhood (8 in 2-D), HMRF-EM with "
       "mean-field updates; implies --model gmm; 0 = no prior (0.6 suits brain MRI)")
    ->check(CLI::Validator(
      [](std::string & value) -> std::string {
        double beta = -1.0;
        try
        {
          std::size_t used = 0;
          beta = std::stod(value, &used);
          if (used != value.size())
          {
            beta = -1.0;
          }
        }
        catch (const std::exception &)
        {
        }
        if (!(beta >= 0.0) || !std::isfinite(beta))
        {
          return "--mrf BETA must be a finite number not below 0, not '" + value + "'";
        }
        return {};
      },
      "BETA", "non-negative"));
  auto * common = app.add_flag("--common-variance", model.CommonVarianceGiven,
                               "Gaussian mixture with one variance common to all classes (default of --model gmm)");
  auto * perClass =
    app.add_flag("--per-class-variance", model.PerClassVariance, "Gaussian mixture with one variance per class");
  common->excludes(perClass);
  app.add_option("--posteriors", model.Posteriors,
                 "Write the per-class posterior probabilities of the Gaussian mixture as a K-component vector "
                 "image (.nrrd, .nhdr, .nii, .nii.gz; 0 outside the mask)");
  auto impliesMixture = [&model]() {
    if (!model.NameGiven)
    {
      model.Name = "gmm";
    }
  };
  app.add_option_function<std::string>(
       "--pve",
       [&model, impliesMixture](const std::string & prefix) {
         model.PartialVolumePrefix = prefix;
         impliesMixture();
       },
       "Partial-volume model (pure tissues and mixed classes between tissues adjacent in intensity, as FSL FAST): "
       "writes each class's tissue fractions (0..1, summing to 1 in the mask, 0 outside) to PREFIX_pve_<label> "
       "with the output's extension, labels 1..K; implies --model gmm and, without --mrf, --mrf 0.6")
    ->type_name("PREFIX");
  app.add_flag_callback(
    "--bias-field",
    [&model, impliesMixture]() {
      model.BiasField = true;
      impliesMixture();
    },
    "Estimate a smooth multiplicative bias field (polynomial of degree 3 in log) inside the EM, alternating with "
    "the tissue parameters (as FSL FAST); implies --model gmm; works with or without --mrf and --pve. With "
    "--model kmeans the exact K-means runs on the image divided by the field of a Gaussian mixture (common "
    "variance) of the same K. Prefer it to --n4 on noisy scans");
  app.add_option("--bias-field-output", model.BiasFieldOutput,
                 "Write the bias field estimated by --bias-field (1 outside the mask)");
  app.add_option_function<unsigned int>(
       "--max-k",
       [&model](const unsigned int & value) {
         model.MaximumNumberOfClasses = value;
         model.MaximumNumberOfClassesGiven = true;
       },
       "Largest K tried by -k auto (default 6); choosing it gives a warning")
    ->check(CLI::Range(1U, 255U).description("an integer from 1 to 255"));

  // "-k auto": K chosen by GaussianMixtureOnLevels::SelectNumberOfClasses(). The transform runs before the
  // checks of -k; NumberOfClasses holds 1 until the model has chosen K.
  if (CLI::Option * classes = app.get_option_no_throw("-k"))
  {
    classes->transform(
      [&model](std::string value) {
        if (value == "auto")
        {
          model.AutomaticNumberOfClasses = true;
          return std::string("1");
        }
        return value;
      },
      "", "");
    classes->description(classes->get_description() +
                         ", or auto: the smallest K from 1..--max-k after which one more class raises the "
                         "log-likelihood per voxel by less than 0.0075 nats in a Gaussian mixture (variance per "
                         "class) or a partial-volume mixture; 3 on skull-stripped T1 brains; warns when it is "
                         "--max-k");
  }

  app.parse_complete_callback([&options]() { CheckModelOptionCombinations(options); });
}

void
CheckModelOptions(const Options & options)
{
  // Everything is checked while parsing (AddModelOptions); this catches Options filled without the parser.
  const ModelOptions & m = options.Model;
  if (m.Name != "kmeans" && m.Name != "gmm")
  {
    throw std::invalid_argument("--model must be kmeans or gmm, not '" + m.Name + "'");
  }
  if (m.MRFWeight && (!(*m.MRFWeight >= 0.0) || !std::isfinite(*m.MRFWeight)))
  {
    throw std::invalid_argument("--mrf BETA must be a finite number not below 0, not " +
                                std::to_string(*m.MRFWeight));
  }
  if (!m.Posteriors.empty() && !UsesGaussianMixture(options))
  {
    throw std::invalid_argument("--posteriors needs --model gmm");
  }
  if (m.AutomaticNumberOfClasses && (m.MaximumNumberOfClasses < 1 || m.MaximumNumberOfClasses > 255))
  {
    throw std::invalid_argument("--max-k must be from 1 to 255, not " + std::to_string(m.MaximumNumberOfClasses));
  }
}
} // namespace kmeans_cli
