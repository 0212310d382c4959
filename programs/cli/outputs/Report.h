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
#ifndef KMeansCLIReport_h
#define KMeansCLIReport_h

#include <nlohmann/json.hpp>

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace kmeans_cli
{
/** The report's JSON type: an nlohmann::json that keeps keys in insertion order, so the file reads in the
 * order of the run. */
using ReportJson = nlohmann::ordered_json;

/** The run's JSON report. The document is a JSON object that every step fills with its own keys:
 *
 *   program   {name, version, itk_version}
 *   inputs    [{path, format, pixel_type, components, conversion?, dimension, size, spacing, origin,
 *              scaling: {slope, intercept} or "none"}]
 *   mask      {path} or {foreground_threshold}         (absent when every finite voxel is classified)
 *   output    {path}
 *   model     {name: "kmeans", number_of_classes, threads, optimality_gap}
 *   voxel_volume_mm3 (3-D) or pixel_area_mm2 (2-D), classified_voxels
 *   classes   [{label, mean, voxels, sum_of_squares, volume_ml (3-D) | area_mm2 (2-D)}]
 *   thresholds, within_class_sum_of_squares, within_class_sum_of_squares_for_each_k
 *   timings_s {read, segment, write, total, ...}
 *   warnings  ["..."]                                   (absent when there is nothing to warn about)
 *
 * A feature adds its own object under a new key (for example report["preprocessing"] as an array of steps,
 * report["model"]["bic"]); readers of the report ignore keys they do not know. */
class Report
{
public:
  Report();

  ReportJson &
  Json()
  {
    return m_Json;
  }
  const ReportJson &
  Json() const
  {
    return m_Json;
  }
  ReportJson &
  operator[](const std::string & key)
  {
    return m_Json[key];
  }

  /** Record the size of one voxel in mm³ ("voxel_volume_mm3", 3-D) or of one pixel in mm² ("pixel_area_mm2",
   * 2-D) from an image's spacing; AddClassSize() uses it. */
  template <typename TImage>
  void
  SetCellSize(const TImage * image)
  {
    double cellSize = 1.0;
    for (unsigned int d = 0; d < TImage::ImageDimension; ++d)
    {
      cellSize *= image->GetSpacing()[d];
    }
    SetCellSize(cellSize, TImage::ImageDimension == 3);
  }

  void
  SetCellSize(double cellSize, bool volumetric);

  /** Give reportClass (an element of "classes") its size from its voxel count and the cell size recorded by
   * SetCellSize(): "volume_ml" in 3-D, "area_mm2" in 2-D. */
  void
  AddClassSize(ReportJson & reportClass, double voxels, const std::string & prefix = "") const;

  /** Append a one-line warning to "warnings" (printed after the class table by PrintSummary()). */
  void
  AddWarning(const std::string & warning);

  /** Warn about every class of "classes" holding fewer than share of "classified_voxels" (by its hard count, or
   * by its fraction sum "fraction_voxels" where present), and about the classes (0-based) re-seeded during
   * the fit: a K-class result with an empty class is never reported silently. */
  void
  WarnAboutSmallClasses(double share, const std::vector<unsigned int> & reseeded);

  /** Record the seconds a named step took under "timings_s". */
  void
  SetTiming(const std::string & step, double seconds);

  /** Pretty-printed JSON text. */
  std::string
  Dump() const;

  /** Write the report to path atomically (throws FileError). */
  void
  Write(const std::string & path) const;

  /** With tissues (--tissues) and a K that has tissue names (itk::KMeansClassColors), record each class's
   * name ("CSF", "Grey matter", "White matter") under "name" in "classes"; otherwise leave them unnamed. */
  void
  NameClasses(bool tissues);

  /** The short class table (label, mean, voxels, mL or mm², and the name of named classes) and the total time. */
  void
  PrintSummary(std::ostream & os) const;

  /** "  NAME" for a class that has a name in the report (see NameClasses()), otherwise "": the table's last
   * column. */
  static std::string
  ClassNameColumn(const ReportJson & reportClass);

  /** The heading of that column for the report's "classes": "  name" when they are named, otherwise "". */
  static std::string
  ClassNameHeader(const ReportJson & reportClasses);

private:
  ReportJson m_Json;
  double     m_CellSize{ 1.0 };
  bool       m_Volumetric{ true };
};

/** Seconds since construction (steady clock). */
class Stopwatch
{
public:
  Stopwatch()
    : m_Start(std::chrono::steady_clock::now())
  {}
  double
  Seconds() const
  {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_Start).count();
  }

private:
  std::chrono::steady_clock::time_point m_Start;
};
} // namespace kmeans_cli

#endif
