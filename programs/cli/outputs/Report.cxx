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
#include "cli/outputs/Report.h"

#include "cli/outputs/ImageOutput.h"

#include "itkKMeansClassColors.h"
#include "itkVersion.h"

#include <cmath>
#include <cstdio>
#include <ostream>

#ifndef KMEANS_SEGMENTATION_VERSION
#  define KMEANS_SEGMENTATION_VERSION "unknown"
#endif

namespace kmeans_cli
{
Report::Report()
  : m_Json(ReportJson::object())
{
  m_Json["program"] = { { "name", "kmeans-segment" },
                        { "version", KMEANS_SEGMENTATION_VERSION },
                        { "itk_version", itk::Version::GetITKVersion() } };
  m_Json["timings_s"] = ReportJson::object();
}

void
Report::SetTiming(const std::string & step, double seconds)
{
  m_Json["timings_s"][step] = seconds;
}

std::string
Report::Dump() const
{
  // Non-finite numbers would be written as null; the report holds none by construction.
  return m_Json.dump(2) + "\n";
}

void
Report::Write(const std::string & path) const
{
  WriteTextFileAtomically(path, Dump());
}

void
Report::SetCellSize(double cellSize, bool volumetric)
{
  m_CellSize = cellSize;
  m_Volumetric = volumetric;
  m_Json[volumetric ? "voxel_volume_mm3" : "pixel_area_mm2"] = cellSize;
}

void
Report::AddClassSize(ReportJson & reportClass, double voxels, const std::string & prefix) const
{
  if (m_Volumetric)
  {
    reportClass[prefix + "volume_ml"] = voxels * m_CellSize / 1000.0;
  }
  else
  {
    reportClass[prefix + "area_mm2"] = voxels * m_CellSize;
  }
}

void
Report::AddWarning(const std::string & warning)
{
  m_Json["warnings"].push_back(warning);
}

void
Report::WarnAboutSmallClasses(double share, const std::vector<unsigned int> & reseeded)
{
  if (!m_Json.contains("classes"))
  {
    return;
  }
  const double total = m_Json.value("classified_voxels", 0.0);
  for (const auto & c : m_Json["classes"])
  {
    const auto   label = c.value("label", 0);
    const double voxels = c.value("voxels", 0.0);
    const double fraction = c.value("fraction_voxels", voxels);
    if (voxels < share * total || fraction < share * total)
    {
      char percent[32];
      std::snprintf(percent, sizeof(percent), "%g", 100.0 * share);
      std::string text = "class " + std::to_string(label) + " holds " + std::to_string(std::llround(voxels)) +
                         " voxels";
      if (c.contains("fraction_voxels"))
      {
        text += " (fraction sum " + std::to_string(std::llround(fraction)) + ")";
      }
      AddWarning(text + ", less than " + percent + " % of the " + std::to_string(std::llround(total)) +
                 " classified: the data hold fewer distinct tissues than classes or the mixture collapsed; check "
                 "the result or use a smaller -k");
    }
  }
  for (const unsigned int k : reseeded)
  {
    AddWarning("class " + std::to_string(k + 1) +
               " vanished during the fit and was re-seeded from the exact K-means");
  }
}

void
Report::NameClasses(bool tissues)
{
  if (!tissues || !m_Json.contains("classes"))
  {
    return;
  }
  auto &     classes = m_Json["classes"];
  const auto K = static_cast<unsigned int>(classes.size());
  if (!itk::KMeansClassColors::HasTissueNames(K))
  {
    return;
  }
  const auto names = itk::KMeansClassColors::GetTissueNames(K);
  for (unsigned int k = 0; k < K; ++k)
  {
    classes[k]["name"] = names[k];
  }
}

std::string
Report::ClassNameColumn(const ReportJson & reportClass)
{
  return reportClass.contains("name") ? "  " + reportClass["name"].get<std::string>() : std::string();
}

std::string
Report::ClassNameHeader(const ReportJson & reportClasses)
{
  return !reportClasses.empty() && reportClasses[0].contains("name") ? "  name" : "";
}

void
Report::PrintSummary(std::ostream & os) const
{
  if (!m_Json.contains("classes"))
  {
    return;
  }
  const bool  volumes = m_Json.contains("voxel_volume_mm3");
  char        line[160];
  // With the partial-volume model, the volume from the fractions beside the one from the hard labels.
  const std::string fractionKey = volumes ? "fraction_volume_ml" : "fraction_area_mm2";
  const bool        fractions = !m_Json["classes"].empty() && m_Json["classes"][0].contains(fractionKey);
  std::snprintf(line, sizeof(line), "%5s  %12s  %12s  %12s", "label", "mean", "voxels", volumes ? "mL" : "mm2");
  os << line << (fractions ? (volumes ? "   mL (pve)" : "  mm2 (pve)") : "") << ClassNameHeader(m_Json["classes"])
     << "\n";
  for (const auto & c : m_Json["classes"])
  {
    const double size = volumes ? c.value("volume_ml", 0.0) : c.value("area_mm2", 0.0);
    std::snprintf(line, sizeof(line), "%5d  %12.4g  %12llu  %12.2f", c.value("label", 0), c.value("mean", 0.0),
                  static_cast<unsigned long long>(c.value("voxels", 0ULL)), size);
    os << line;
    if (fractions)
    {
      std::snprintf(line, sizeof(line), "  %9.2f", c.value(fractionKey, 0.0));
      os << line;
    }
    os << ClassNameColumn(c) << "\n";
  }
  for (const auto & warning : m_Json.value("warnings", ReportJson::array()))
  {
    os << "warning: " << warning.get<std::string>() << "\n";
  }
  if (m_Json["timings_s"].contains("total"))
  {
    std::snprintf(line, sizeof(line), "total time %.3f s\n", m_Json["timings_s"]["total"].get<double>());
    os << line;
  }
}
} // namespace kmeans_cli
