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
#include "cli/run/ScanPipeline.h"

#include "cli/outputs/ImageOutput.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <mutex>

namespace kmeans_cli
{
ProgressReporter &
ProgramProgress(const Options & options)
{
  static std::unique_ptr<ProgressReporter> reporter;
  static std::once_flag                    once;
  std::call_once(once, [&options]() {
    reporter = std::make_unique<ProgressReporter>(ChooseProgressMode(options.Scan.SlicerProgress, options.Quiet));
  });
  return *reporter;
}

void
CheckScanOptions(const Options & options)
{
  if (options.Scan.Tissues && options.NumberOfClasses != 3)
  {
    throw FileError(options.Output, "--tissues names three classes (CSF, grey and white matter): use -k 3, not -k " +
                                      std::to_string(options.NumberOfClasses));
  }
  if (!options.VtkDirectory.empty())
  {
    CheckOutputDirectory(options.VtkDirectory);
  }
}

ImageInfo
ProbeScanInput(const std::string & path, const Options & options)
{
  if (!IsDirectory(path))
  {
    CheckSingleDicomFile(path);
    return ProbeImage(path);
  }
  const auto series = ListDicomSeries(path);
  if (options.Scan.Series.empty() && series.size() > 1)
  {
    std::cerr << FormatDicomSeriesList(series);
    throw FileError(path, std::to_string(series.size()) +
                            " DICOM series in the directory (listed above): choose one with --series UID");
  }
  const DicomSeriesInfo &   selected = SelectDicomSeries(path, series, options.Scan.Series);
  const DicomSeriesReadInfo checked = CheckDicomSeries(path, selected);
  const auto                first = std::find_if(selected.Slices.begin(), selected.Slices.end(), [&](const auto & s) {
    return s.FileName == checked.SortedFileNames.front();
  });
  ImageInfo info;
  info.Path = path;
  info.Format = "DICOM series (GDCMImageIO)";
  info.ComponentType = itk::IOComponentEnum::FLOAT;
  info.ComponentTypeName = "float";
  info.PixelTypeName = "scalar";
  info.NumberOfComponents = 1;
  info.FileDimension = 3;
  info.Dimension = 3;
  info.Size = { first->Columns, first->Rows, checked.NumberOfSlices };
  info.Spacing = { first->PixelSpacing[1], first->PixelSpacing[0], checked.SliceSpacing };
  info.Origin = { first->ImagePositionPatient[0], first->ImagePositionPatient[1], first->ImagePositionPatient[2] };
  return info;
}
} // namespace kmeans_cli
