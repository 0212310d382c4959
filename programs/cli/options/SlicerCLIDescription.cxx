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
#include "cli/options/SlicerCLIDescription.h"

#include <sstream>
#include <string_view>

namespace kmeans_cli
{
namespace
{
std::string
Escape(const std::string & text)
{
  std::string escaped;
  for (const char c : text)
  {
    switch (c)
    {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

void
Element(std::ostringstream & xml, const std::string & indent, const std::string & name, const std::string & value)
{
  if (!value.empty())
  {
    xml << indent << "<" << name << ">" << Escape(value) << "</" << name << ">\n";
  }
}
} // namespace

const std::vector<SlicerParameter> &
KMeansSegmentSlicerParameters()
{
  // Group, tag, name, long flag, flag, index, label, description, default, channel, image type, file extensions,
  // minimum, maximum, step, enumeration elements, hidden.
  static const std::vector<SlicerParameter> parameters = {
    { "Input and output", "image", "inputVolume", "", "", 0, "Input volume",
      "Scalar image to segment (any file ITK reads; a DICOM series directory from the command line)", "", "input",
      "scalar", "", "", "", "", {}, false },
    { "Input and output", "image", "outputLabelMap", "output", "o", -1, "Output label map",
      "Label map: 0 = not classified, 1..K by ascending class mean. A name ending in .seg.nrrd is written as a 3D "
      "Slicer segmentation with segment names and colours",
      "", "output", "label", "", "", "", "", {}, false },
    { "Input and output", "file", "report", "report", "", -1, "Report (JSON)",
      "Optional JSON report: classes, means, volumes, thresholds, preprocessing, timings", "", "output", "",
      ".json", "", "", "", {}, false },
    { "K-means", "integer", "numberOfClasses", "classes", "k", -1, "Number of classes (K)",
      "Number of intensity classes; 3 for CSF, grey and white matter of a skull-stripped brain. On the command "
      "line, -k auto chooses K from 1..--max-k: the smallest K after which one more class raises the "
      "log-likelihood per voxel by less than 0.0075 nats in a Gaussian mixture (variance per class) or in a "
      "partial-volume mixture; it gives 3 on skull-stripped T1 brains, and warns when it chooses the largest K "
      "tried",
      "3", "", "", "",
      "1", "255", "1", {}, false },
    { "K-means", "image", "maskVolume", "mask", "", -1, "Mask volume",
      "Optional mask of the input's geometry: only voxels where it is non-zero are classified", "", "input",
      "label", "", "", "", "", {}, false },
    { "K-means", "boolean", "nonzero", "nonzero", "", -1, "Only voxels above 0",
      "Classify only voxels above 0, the background convention of skull-stripped scans", "false", "", "", "", "",
      "", "", {}, false },
    { "K-means", "double", "foregroundThreshold", "foreground-threshold", "", -1, "Foreground threshold",
      "Classify only voxels with intensity above this value (leave empty for no threshold)", "", "", "", "", "", "",
      "", {}, false },
    { "K-means", "boolean", "tissues", "tissues", "", -1, "Brain tissue names",
      "Name the three classes CSF, Grey matter and White matter (K = 3 inside a brain mask) in the segmentation",
      "false", "", "", "", "", "", "", {}, false },
    { "Model", "string-enumeration", "model", "model", "", -1, "Intensity model",
      "kmeans: exact K-means. gmm: Gaussian mixture fitted by EM from the exact K-means, labels by largest "
      "posterior probability",
      "kmeans", "", "", "", "", "", "", { "kmeans", "gmm" }, false },
    { "Model", "double", "mrfWeight", "mrf", "", -1, "MRF weight (beta)",
      "Weight of a Potts Markov random field prior over the 6-neighbourhood (HMRF-EM, mean field); needs the "
      "gmm model; 0 = no prior, 0.6 suits brain MRI",
      "0", "", "", "", "0", "10", "0.1", {}, false },
    { "Model", "boolean", "commonVariance", "common-variance", "", -1, "Common variance",
      "Gaussian mixture with one variance common to all classes (the default of the gmm model; excludes the "
      "variance per class)",
      "false", "", "", "", "", "", "", {}, false },
    { "Model", "boolean", "perClassVariance", "per-class-variance", "", -1, "Variance per class",
      "Gaussian mixture with one variance per class instead of one common variance (the common variance is more "
      "accurate on brain MRI)",
      "false", "", "", "", "", "", "", {}, false },
    { "Model", "image", "posteriorsVolume", "posteriors", "", -1, "Posterior probabilities",
      "Optional K-component vector image of the per-class posterior probabilities (gmm model; 0 outside the "
      "mask)",
      "", "output", "vector", "", "", "", "", {}, false },
    { "Model", "boolean", "biasField", "bias-field", "", -1, "Bias field inside the EM",
      "Estimate a smooth multiplicative bias field inside the EM, alternating with the tissue parameters (as FSL "
      "FAST); with the kmeans model, the K-means runs on the image divided by that field; prefer it to N4 on "
      "noisy scans",
      "false", "", "", "", "", "", "", {}, false },
    { "Model", "image", "biasFieldVolume", "bias-field-output", "", -1, "Bias field",
      "Optional image of the bias field estimated inside the EM (1 outside the mask)", "", "output", "scalar", "",
      "", "", "", {}, false },
    { "Model", "string", "partialVolumePrefix", "pve", "", -1, "Partial-volume maps prefix",
      "Partial-volume model: one tissue-fraction map per class, PREFIX_pve_<label> with the output's extension "
      "(command line: --pve PREFIX)",
      "", "", "", "", "", "", "", {}, true },
    { "Model", "integer", "maximumNumberOfClasses", "max-k", "", -1, "Largest K of automatic K",
      "Largest number of classes tried when K is chosen automatically (command line: -k auto --max-k N); "
      "a choice equal to it is reported with a warning", "", "", "", "",
      "1", "255", "1", {}, true },
    { "Preprocessing", "boolean", "autoMask", "auto-mask", "", -1, "Automatic head mask",
      "Classify only the head: Otsu threshold, holes filled, largest component (combined with the mask volume)",
      "false", "", "", "", "", "", "", {}, false },
    { "Preprocessing", "boolean", "n4", "n4", "", -1, "N4 bias-field correction",
      "Correct the intensity non-uniformity with ITK's N4 before segmentation", "false", "", "", "", "", "", "", {},
      false },
    { "Preprocessing", "integer", "n4Shrink", "n4-shrink", "", -1, "N4 shrink factor",
      "Shrink factor of the image the bias field is fitted on", "4", "", "", "", "1", "16", "1", {}, false },
    { "Preprocessing", "integer-vector", "n4Iterations", "n4-iterations", "", -1, "N4 iterations",
      "Maximum iterations of each fitting level, comma-separated", "50,50,30,20", "", "", "", "", "", "", {}, false },
    { "Preprocessing", "boolean", "denoise", "denoise", "", -1, "Edge-preserving denoising",
      "Curvature anisotropic diffusion before segmentation", "false", "", "", "", "", "", "", {}, false },
    { "Preprocessing", "integer", "denoiseIterations", "denoise-iterations", "", -1, "Denoising iterations",
      "Iterations of the anisotropic diffusion", "5", "", "", "", "1", "100", "1", {}, false },
    { "Preprocessing", "double", "denoiseConductance", "denoise-conductance", "", -1, "Denoising conductance",
      "Conductance of the anisotropic diffusion (lower keeps more edges)", "1.0", "", "", "", "0.01", "100", "0.1",
      {}, false },
    { "Outputs", "file", "preview", "preview", "", -1, "Preview picture",
      "Optional PNG picture of the result (slices with the classes and the histogram)", "", "output", "", ".png",
      "", "", "", {}, false },
    { "Outputs", "directory", "vtkDirectory", "vtk-dir", "", -1, "ParaView files",
      "Optional directory for VTK XML files of the image, labels and class surfaces (ParaView)", "", "output", "",
      "", "", "", "", {}, false },
    { "Large scans and saved models", "string", "maxMemory", "max-memory", "", -1, "Memory limit",
      "Memory the run may use, e.g. 256M or 4G (empty: what the machine has); a larger scan is read and written in "
      "pieces (MetaImage without compression)",
      "", "", "", "", "", "", "", {}, false },
    { "Large scans and saved models", "integer", "pieces", "pieces", "", -1, "Pieces",
      "Read and write in this many pieces whatever the memory (command line only)", "", "", "", "", "1", "1048576",
      "1", {}, true },
    { "Large scans and saved models", "file", "saveModel", "save-model", "", -1, "Save model",
      "Optional JSON file of the fitted model (K, class means and variances, thresholds, intensity look-up)", "",
      "output", "", ".json", "", "", "", {}, false },
    { "Large scans and saved models", "file", "applyModel", "apply-model", "", -1, "Apply model",
      "Label with a model saved by Save model instead of fitting", "", "input", "", ".json", "", "", "", {}, false },
    { "Large scans and saved models", "file", "saveHistogram", "save-histogram", "", -1, "Save histogram",
      "Optional JSON file of the exact histogram of the classified voxels (to merge with others)", "", "output", "",
      ".json", "", "", "", {}, false },
    { "Large scans and saved models", "file", "fitHistograms", "fit-histograms", "", -1, "Fit histograms",
      "Fit on the merge of saved histograms (command line only: several files)", "", "input", "", ".json", "", "",
      "", {}, true },
    { "Advanced", "integer", "threads", "threads", "", -1, "Threads",
      "Number of threads (0 = all cores); the result does not depend on it", "0", "", "", "", "0", "1024", "1", {},
      false },
    { "Advanced", "boolean", "slicerProgress", "slicer-progress", "", -1, "Progress for Slicer",
      "Report progress as <filter-progress> lines on standard output (set by Slicer)", "true", "", "", "", "", "",
      "", {}, true },
  };
  return parameters;
}

std::string
SlicerCLIDescriptionXML(const std::vector<SlicerParameter> & parameters, const std::string & version)
{
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      << "<executable>\n"
      << "  <category>Segmentation</category>\n"
      << "  <title>K-means Segmentation</title>\n"
      << "  <description>" << Escape("Globally optimal K-means segmentation of a scalar image (brain MRI tissue "
                                     "classes): exact 1-D K-means by dynamic programming on the intensity "
                                     "histogram; labels 1..K by ascending class mean, 0 outside the mask.")
      << "</description>\n"
      << "  <version>" << Escape(version) << "</version>\n"
      << "  <documentation-url>https://github.com/InsightSoftwareConsortium/ITKKMeansSegmentation</documentation-url>\n"
      << "  <license>Apache 2.0</license>\n"
      << "  <contributor>ITKKMeansSegmentation contributors</contributor>\n"
      << "  <acknowledgements>Built on the Insight Toolkit (ITK).</acknowledgements>\n";
  std::vector<std::string> groups;
  for (const SlicerParameter & parameter : parameters)
  {
    bool known = false;
    for (const std::string & group : groups)
    {
      known = known || group == parameter.Group;
    }
    if (!known)
    {
      groups.push_back(parameter.Group);
    }
  }
  for (const std::string & group : groups)
  {
    xml << "  <parameters" << (group == "Advanced" ? " advanced=\"true\"" : "") << ">\n"
        << "    <label>" << Escape(group) << "</label>\n"
        << "    <description>" << Escape(group) << "</description>\n";
    for (const SlicerParameter & p : parameters)
    {
      if (p.Group != group)
      {
        continue;
      }
      xml << "    <" << p.Tag;
      if (!p.ImageType.empty())
      {
        xml << " type=\"" << Escape(p.ImageType) << "\"";
      }
      if (!p.FileExtensions.empty())
      {
        xml << " fileExtensions=\"" << Escape(p.FileExtensions) << "\"";
      }
      if (p.Hidden)
      {
        xml << " hidden=\"true\"";
      }
      xml << ">\n";
      const std::string indent = "      ";
      Element(xml, indent, "name", p.Name);
      if (p.Index >= 0)
      {
        Element(xml, indent, "index", std::to_string(p.Index));
      }
      Element(xml, indent, "flag", p.Flag);
      Element(xml, indent, "longflag", p.LongFlag);
      Element(xml, indent, "label", p.Label);
      Element(xml, indent, "description", p.Description);
      Element(xml, indent, "channel", p.Channel);
      Element(xml, indent, "default", p.Default);
      for (const std::string & element : p.Elements)
      {
        Element(xml, indent, "element", element);
      }
      if (!p.Minimum.empty() || !p.Maximum.empty() || !p.Step.empty())
      {
        xml << indent << "<constraints>\n";
        Element(xml, indent + "  ", "minimum", p.Minimum);
        Element(xml, indent + "  ", "maximum", p.Maximum);
        Element(xml, indent + "  ", "step", p.Step);
        xml << indent << "</constraints>\n";
      }
      xml << "    </" << p.Tag << ">\n";
    }
    xml << "  </parameters>\n";
  }
  xml << "</executable>\n";
  return xml.str();
}

bool
IsSlicerXMLRequest(int argc, const char * const * argv)
{
  return argc == 2 && argv[1] != nullptr && std::string_view(argv[1]) == "--xml";
}
} // namespace kmeans_cli
