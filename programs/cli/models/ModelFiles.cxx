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
// --save-model / --apply-model and --save-histogram / --fit-histograms files (JSON). Doubles are written with
// the shortest text that reads back to the same double, so a saved look-up labels exactly as the fit did.
#include "cli/outputs/ImageOutput.h"
#include "cli/models/Streaming.h"

#include <fstream>
#include <sstream>

namespace kmeans_cli
{
namespace
{
constexpr const char * ModelFormat = "kmeans-segment model";
constexpr const char * HistogramFormat = "kmeans-segment histogram";

ReportJson
BinningToJson(const itk::IntensityBinning & binning)
{
  return { { "exact", binning.GetExact() },
           { "origin", binning.GetOrigin() },
           { "bin_width", binning.GetBinWidth() },
           { "number_of_bins", binning.GetNumberOfBins() } };
}

itk::IntensityBinning
BinningFromJson(const ReportJson & bins, const ReportJson & threshold)
{
  itk::IntensityBinning binning;
  binning.SetBins(bins.at("exact").get<bool>(), bins.at("origin").get<double>(), bins.at("bin_width").get<double>(),
                  bins.at("number_of_bins").get<std::size_t>());
  binning.SetForegroundThreshold(!threshold.is_null(), threshold.is_null() ? 0.0 : threshold.get<double>());
  return binning;
}

ReportJson
ThresholdToJson(const itk::IntensityBinning & binning)
{
  return binning.GetUseForegroundThreshold() ? ReportJson(binning.GetForegroundThreshold()) : ReportJson(nullptr);
}

/** The JSON document of path, checked to be of the given format and version 1. */
ReportJson
ReadDocument(const std::string & path, const std::string & format)
{
  std::ifstream file(path);
  if (!file)
  {
    throw FileError(path, "cannot read");
  }
  ReportJson document;
  try
  {
    document = ReportJson::parse(file);
  }
  catch (const ReportJson::exception &)
  {
    throw FileError(path, "not a " + format + " file: not valid JSON (damaged or cut short?)");
  }
  if (!document.is_object() || document.value("format", std::string()) != format)
  {
    throw FileError(path, "not a " + format + " file (its \"format\" is not \"" + format + "\")");
  }
  if (document.value("version", 0) != 1)
  {
    throw FileError(path, "unsupported " + format + " version " + document.value("version", ReportJson()).dump());
  }
  return document;
}

template <typename TFunction>
auto
Parse(const std::string & path, const std::string & format, TFunction && function)
{
  try
  {
    return function();
  }
  catch (const ReportJson::exception & error)
  {
    throw FileError(path, "corrupt " + format + " file: " + OneLine(error.what()));
  }
  catch (const std::invalid_argument & error)
  {
    throw FileError(path, "corrupt " + format + " file: " + error.what());
  }
}
} // namespace

void
WriteModelFile(const itk::KMeansIntensityModel & model, const std::string & path)
{
  ReportJson variances = ReportJson::array();
  for (std::size_t k = 0; k < model.ClassMeans.size(); ++k)
  {
    variances.push_back(model.ModelName == "gmm"   ? model.ClassVariances[k]
                        : model.ClassCounts[k] ? model.ClassSumsOfSquares[k] / model.ClassCounts[k]
                                               : 0.0);
  }
  ReportJson document = { { "format", ModelFormat },
                          { "version", 1 },
                          { "model", model.ModelName },
                          { "pixel_type", model.PixelType },
                          { "number_of_classes", model.NumberOfClasses },
                          { "foreground_threshold", ThresholdToJson(model.Binning) },
                          { "class_means", model.ClassMeans },
                          { "class_variances", variances },
                          { "class_counts", model.ClassCounts },
                          { "class_sums_of_squares", model.ClassSumsOfSquares },
                          { "thresholds", model.Thresholds },
                          { "within_class_sum_of_squares", model.WithinClassSumOfSquares },
                          { "within_class_sum_of_squares_for_each_k", model.WithinClassSumOfSquaresForEachK },
                          { "optimality_gap", model.OptimalityGap },
                          { "classified_voxels", model.NumberOfClassifiedPixels },
                          { "intensity_lookup", BinningToJson(model.Binning) } };
  document["intensity_lookup"]["class_first_bins"] = model.ClassFirstBins;
  if (model.ModelName == "gmm")
  {
    // The mixture's parameters and the label of every bin (classes need not be runs of bins).
    document["class_proportions"] = model.ClassProportions;
    document["log_likelihood"] = model.LogLikelihood;
    document["iterations"] = model.NumberOfIterations;
    document["intensity_lookup"]["bin_labels"] = model.BinLabels;
  }
  WriteTextFileAtomically(path, document.dump(2) + "\n");
}

itk::KMeansIntensityModel
ReadModelFile(const std::string & path, const std::string & pixelType, unsigned int numberOfClasses)
{
  const ReportJson document = ReadDocument(path, ModelFormat);
  auto model = Parse(path, "model", [&]() {
    itk::KMeansIntensityModel m;
    m.PixelType = document.at("pixel_type").get<std::string>();
    m.NumberOfClasses = document.at("number_of_classes").get<unsigned int>();
    const ReportJson & lookup = document.at("intensity_lookup");
    m.Binning = BinningFromJson(lookup, document.at("foreground_threshold"));
    m.ClassFirstBins = lookup.at("class_first_bins").get<std::vector<std::size_t>>();
    m.ClassMeans = document.at("class_means").get<std::vector<double>>();
    m.ClassCounts = document.at("class_counts").get<std::vector<std::uint64_t>>();
    m.ClassSumsOfSquares = document.at("class_sums_of_squares").get<std::vector<double>>();
    m.Thresholds = document.at("thresholds").get<std::vector<double>>();
    m.WithinClassSumOfSquares = document.at("within_class_sum_of_squares").get<double>();
    m.WithinClassSumOfSquaresForEachK = document.at("within_class_sum_of_squares_for_each_k").get<std::vector<double>>();
    m.OptimalityGap = document.at("optimality_gap").get<double>();
    m.NumberOfClassifiedPixels = document.at("classified_voxels").get<std::uint64_t>();
    m.ModelName = document.at("model").get<std::string>();
    if (m.ModelName == "gmm")
    {
      m.ClassVariances = document.at("class_variances").get<std::vector<double>>();
      m.ClassProportions = document.at("class_proportions").get<std::vector<double>>();
      m.LogLikelihood = document.at("log_likelihood").get<double>();
      m.NumberOfIterations = document.at("iterations").get<unsigned int>();
      m.BinLabels = lookup.at("bin_labels").get<std::vector<std::uint32_t>>();
    }
    m.Validate();
    return m;
  });
  if (model.NumberOfClasses != numberOfClasses)
  {
    throw FileError(path, "the model has K = " + std::to_string(model.NumberOfClasses) + ", not -k " +
                            std::to_string(numberOfClasses));
  }
  if (model.PixelType != pixelType)
  {
    throw FileError(path, "the model was fitted on " + model.PixelType + " images, the input is " + pixelType);
  }
  return model;
}

void
WriteHistogramFile(const itk::IntensityHistogramCounts & histogram, const std::string & path)
{
  ReportJson bins = ReportJson::array();
  const bool exact = histogram.Binning.GetExact();
  for (std::size_t b = 0; b < histogram.Count.size(); ++b)
  {
    if (histogram.Count[b] == 0)
    {
      continue;
    }
    bins.push_back(exact ? ReportJson{ b, histogram.Count[b] }
                         : ReportJson{ b, histogram.Count[b], histogram.SubSum[b], histogram.SubSumOfSquares[b] });
  }
  const auto & r = histogram.Range;
  ReportJson   document = { { "format", HistogramFormat },
                            { "version", 1 },
                            { "pixel_type", histogram.PixelType },
                            { "foreground_threshold", ThresholdToJson(histogram.Binning) },
                            { "range", { { "minimum", r.Count ? r.Minimum : 0.0 },
                                         { "maximum", r.Count ? r.Maximum : 0.0 },
                                         { "count", r.Count },
                                         { "all_integers", r.AllIntegers } } },
                            { "bins", BinningToJson(histogram.Binning) },
                            { "sub_bin_resolution", itk::IntensityHistogramCounts::SubBinResolution },
                            { "counts", bins } };
  WriteTextFileAtomically(path, document.dump() + "\n");
}

itk::IntensityHistogramCounts
ReadHistogramFile(const std::string & path, const std::string & pixelType)
{
  const ReportJson document = ReadDocument(path, HistogramFormat);
  auto histogram = Parse(path, "histogram", [&]() {
    itk::IntensityHistogramCounts h;
    itk::IntensityRange           range;
    const ReportJson &            r = document.at("range");
    range.Count = r.at("count").get<std::uint64_t>();
    range.AllIntegers = r.at("all_integers").get<bool>();
    if (range.Count > 0)
    {
      range.Minimum = r.at("minimum").get<double>();
      range.Maximum = r.at("maximum").get<double>();
    }
    h.Reset(BinningFromJson(document.at("bins"), document.at("foreground_threshold")), range);
    h.PixelType = document.at("pixel_type").get<std::string>();
    const bool exact = h.Binning.GetExact();
    for (const auto & bin : document.at("counts"))
    {
      const auto b = bin.at(0).get<std::size_t>();
      if (b >= h.Count.size() || bin.size() != (exact ? 2u : 4u))
      {
        throw std::invalid_argument("bin entry " + bin.dump() + " does not fit the bins");
      }
      h.Count[b] = bin.at(1).get<std::uint64_t>();
      if (!exact)
      {
        h.SubSum[b] = bin.at(2).get<std::uint64_t>();
        h.SubSumOfSquares[b] = bin.at(3).get<std::uint64_t>();
      }
    }
    return h;
  });
  if (histogram.PixelType != pixelType)
  {
    throw FileError(path, "the histogram is of " + histogram.PixelType + " images, the input is " + pixelType);
  }
  return histogram;
}

itk::IntensityHistogramCounts
MergeHistogramFiles(const std::vector<std::string> & paths, const std::string & pixelType)
{
  std::vector<itk::IntensityHistogramCounts> parts;
  for (const auto & path : paths)
  {
    parts.push_back(ReadHistogramFile(path, pixelType));
  }
  try
  {
    return itk::IntensityHistogramCounts::Merge(parts);
  }
  catch (const std::invalid_argument & error)
  {
    // "histogram N cannot be merged ...": name the file.
    const std::string message = error.what();
    std::size_t       index = 0;
    std::istringstream(message.substr(std::string("histogram ").size())) >> index;
    const std::string file = index >= 1 && index <= paths.size() ? paths[index - 1] : paths.front();
    throw FileError(file, message);
  }
}
} // namespace kmeans_cli
