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
// Whole-program section: kmeans-segment (read, segment, write) against read-threshold-write (read, one ITK
// threshold-labeling pass with fixed thresholds, write) on the same NIfTI file.
#include "KMeansBenchmark.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace KMeansBenchmark
{
namespace
{
/** Percentage of voxels with equal labels in two label files (-1 when they cannot be compared). */
double
FileAgreement(const std::string & a, const std::string & b)
{
  try
  {
    const auto la = itk::ReadImage<LabelImageType>(a);
    const auto lb = itk::ReadImage<LabelImageType>(b);
    const std::size_t n = la->GetLargestPossibleRegion().GetNumberOfPixels();
    if (n != lb->GetLargestPossibleRegion().GetNumberOfPixels())
    {
      return -1.0;
    }
    std::size_t same = 0;
    for (std::size_t i = 0; i < n; ++i)
    {
      same += la->GetBufferPointer()[i] == lb->GetBufferPointer()[i];
    }
    return 100.0 * static_cast<double>(same) / static_cast<double>(n);
  }
  catch (const itk::ExceptionObject &)
  {
    return -1.0;
  }
}
} // namespace

void
RunWholeProgramSection(const Options & options, Context & context, Table & table)
{
  const std::string section = "program";
  const bool        haveOurs = FileExists(options.KMeansSegmentProgram);
  const bool        haveBaseline = FileExists(options.BaselineProgram);
  if (!haveOurs || !haveBaseline)
  {
    const std::string missing = !haveOurs ? options.KMeansSegmentProgram : options.BaselineProgram;
    std::cout << "Whole-program comparison skipped: " << (missing.empty() ? "program path unknown" : missing)
              << " not found (build the targets kmeans-segment and read-threshold-write)" << std::endl;
    table.Add({ section, "kmeans-segment vs read-threshold-write", "", "", "<= 1.1x", "skipped",
                (missing.empty() ? std::string("program") : missing) + " not found" });
    return;
  }

  std::map<std::string, std::string> environment;
  if (options.Threads)
  {
    environment["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = std::to_string(options.Threads);
  }
  std::vector<std::string> extensions = { ".nii" };
  if (options.RunCompressed)
  {
    extensions.push_back(".nii.gz");
  }
  for (const auto & extension : extensions)
  {
    const std::string input = options.WorkDirectory + "/phantom" + extension;
    const std::string oursOut = options.WorkDirectory + "/labels-kmeans" + extension;
    const std::string baseOut = options.WorkDirectory + "/labels-threshold" + extension;
    itk::WriteImage(context.Phantom.GetPointer(), input, extension == ".nii.gz");

    std::vector<std::string> oursArgs = { options.KMeansSegmentProgram, input, "-o", oursOut, "-k",
                                          std::to_string(options.NumberOfClasses) };
    std::vector<std::string> baseArgs = { options.BaselineProgram, input, baseOut };
    for (const double t : context.Thresholds)
    {
      std::ostringstream os;
      os << std::setprecision(17) << t;
      baseArgs.push_back(os.str());
    }
    ProcessResult oursLast, baseLast;
    bool          failed = false;
    const auto    times = TimeInterleaved(options.ProgramRepetitions,
                                       { [&] {
                                          std::remove(oursOut.c_str());
                                          oursLast = RunProcess(oursArgs, options.WorkDirectory, environment);
                                          failed = failed || oursLast.ExitCode != 0;
                                        },
                                         [&] {
                                           std::remove(baseOut.c_str());
                                           baseLast = RunProcess(baseArgs, options.WorkDirectory, environment);
                                           failed = failed || baseLast.ExitCode != 0;
                                         } });
    const std::string name = "kmeans-segment, " + extension;
    if (failed)
    {
      const ProcessResult & bad = oursLast.ExitCode != 0 ? oursLast : baseLast;
      table.Add({ section, name, "", "", "<= 1.1x", "FAIL",
                  "a program failed (exit " + std::to_string(bad.ExitCode) + "): " + bad.Error.substr(0, 200) });
      continue;
    }
    const double       oursSeconds = Minimum(times[0]);
    const double       baseSeconds = Minimum(times[1]);
    const double       ratio = oursSeconds / baseSeconds;
    const std::string  reps = "best of " + std::to_string(options.ProgramRepetitions);
    std::ostringstream note;
    note << reps << ", median " << FormatSeconds(Median(times[0])) << "; CPU of the last run "
         << FormatSeconds(oursLast.CpuSeconds) << " vs " << FormatSeconds(baseLast.CpuSeconds) << "; peak RSS "
         << FormatMiB(1024.0 * oursLast.MaximumResidentKiB) << "; same labels as read-threshold-write at "
         << std::setprecision(6) << FileAgreement(oursOut, baseOut) << " % of voxels";
    table.Add({ section, name, FormatSeconds(oursSeconds), FormatRatio(ratio) + " ours/it", "<= 1.1x",
                ratio <= 1.1 ? "PASS" : "FAIL", note.str() });
    std::ostringstream baseNote;
    baseNote << reps << ", median " << FormatSeconds(Median(times[1])) << "; peak RSS "
             << FormatMiB(1024.0 * baseLast.MaximumResidentKiB);
    table.Add({ section, "read-threshold-write, " + extension, FormatSeconds(baseSeconds), "", "", "info",
                baseNote.str() });
    if (!options.KeepFiles)
    {
      std::remove(input.c_str());
      std::remove(oursOut.c_str());
      std::remove(baseOut.c_str());
    }
  }
}
} // namespace KMeansBenchmark
