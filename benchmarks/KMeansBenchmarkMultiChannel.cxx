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
// Multi-channel section of kmeans-benchmark: MultiChannelKMeansSegmentationImageFilter on a three-channel
// (T1-, T2- and PD-like) float phantom against scikit-learn's KMeans: time against one start (n_init=1), WCSS
// against the best of ten (n_init=10), and the memory the filter needs beyond its input.
#include "KMeansBenchmark.h"

#include "itkMultiChannelKMeansSegmentationImageFilter.h"
#include "itkMultiThreaderBase.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace KMeansBenchmark
{
namespace
{
using MultiChannelImageType = itk::VectorImage<float, 3>;
using MultiChannelFilterType = itk::MultiChannelKMeansSegmentationImageFilter<MultiChannelImageType, LabelImageType>;
constexpr unsigned int NumberOfChannels = 3;

/** T1-, T2- and PD-like tissue intensities of the three channels (the T1 one is the scalar section's). */
std::vector<PhantomContrast>
Contrasts()
{
  PhantomContrast t1;
  PhantomContrast t2;
  t2.Scalp = 1300.0;
  t2.Skull = 300.0;
  t2.CSF = 2800.0;
  t2.GreyMatter = 1600.0;
  t2.DeepGreyMatter = 1450.0;
  t2.WhiteMatter = 1100.0;
  PhantomContrast pd;
  pd.Scalp = 2000.0;
  pd.Skull = 400.0;
  pd.CSF = 2400.0;
  pd.GreyMatter = 2200.0;
  pd.DeepGreyMatter = 2100.0;
  pd.WhiteMatter = 1800.0;
  return { t1, t2, pd };
}

/** The three channels, each generated with its own noise seed and interleaved into one vector image. */
MultiChannelImageType::Pointer
MakeMultiChannelPhantom(unsigned int size)
{
  const auto                     contrasts = Contrasts();
  MultiChannelImageType::Pointer image;
  for (unsigned int c = 0; c < NumberOfChannels; ++c)
  {
    const auto channel = GeneratePhantom(size, contrasts[c], 20260101u + 17u * c);
    if (!image)
    {
      image = MultiChannelImageType::New();
      image->SetRegions(channel->GetLargestPossibleRegion());
      image->SetSpacing(channel->GetSpacing());
      image->SetOrigin(channel->GetOrigin());
      image->SetDirection(channel->GetDirection());
      image->SetNumberOfComponentsPerPixel(NumberOfChannels);
      image->Allocate();
    }
    const float *     in = channel->GetBufferPointer();
    float *           out = image->GetBufferPointer();
    const std::size_t n = channel->GetLargestPossibleRegion().GetNumberOfPixels();
    for (std::size_t i = 0; i < n; ++i)
    {
      out[i * NumberOfChannels + c] = in[i];
    }
  }
  return image;
}

LabelImageType::Pointer
RunFilter(const MultiChannelImageType * image, unsigned int k, MultiChannelFilterType::Pointer * keep = nullptr)
{
  return RunSegmentationFilter<MultiChannelFilterType>(image, k, keep);
}

std::string
JoinMeans(const MultiChannelFilterType::MeanVectorArrayType & means)
{
  std::ostringstream os;
  os << std::fixed << std::setprecision(1);
  for (std::size_t k = 0; k < means.size(); ++k)
  {
    os << (k ? " " : "") << "(";
    for (std::size_t c = 0; c < means[k].size(); ++c)
    {
      os << (c ? "," : "") << means[k][c];
    }
    os << ")";
  }
  return os.str();
}

std::string
Verdict(bool pass)
{
  return pass ? "PASS" : "FAIL";
}
} // namespace

void
RunMultiChannelSection(const Options & options, Context & /*context*/, Table & table)
{
  const unsigned int k = options.NumberOfClasses;
  const std::string  section = "multi-channel";

  // 1. The phantom: three float channels, interleaved; also written raw for scikit-learn and the memory probe.
  double     start = Now();
  auto       image = MakeMultiChannelPhantom(options.Size);
  const auto voxels = image->GetLargestPossibleRegion().GetNumberOfPixels();
  const std::string rawPath = options.WorkDirectory + "/phantom-3ch-float32.raw";
  WriteRaw(rawPath, image->GetBufferPointer(), voxels * NumberOfChannels * sizeof(float));
  std::cout << "Multi-channel phantom: " << options.Size << "^3 x " << NumberOfChannels
            << " float (T1-, T2-, PD-like), generated in " << FormatSeconds(Now() - start) << std::endl;

  // 2. Our filter, once for its results, then timed.
  MultiChannelFilterType::Pointer ours;
  RunFilter(image, k, &ours);
  const double wcss = ours->GetWithinClassSumOfSquares();
  std::cout << "Ours (multi-channel): class means " << JoinMeans(ours->GetClassMeans()) << "; WCSS "
            << std::setprecision(10) << wcss << std::setprecision(6) << "; " << ours->GetNumberOfIterations()
            << " Lloyd passes over all voxels; restart WCSS on the sample:";
  for (const double r : ours->GetRestartWithinClassSumsOfSquares())
  {
    std::cout << " " << r;
  }
  std::cout << std::endl;
  const unsigned int repetitions = std::min(options.Repetitions, 5u);
  const auto         times = TimeInterleaved(repetitions, { [&] { RunFilter(image, k); } });
  const double       oursSeconds = Median(times[0]);
  {
    std::ostringstream note;
    note << "median of " << repetitions << ", min " << FormatSeconds(Minimum(times[0])) << "; "
         << ours->GetNumberOfIterations() << " passes over all voxels; "
         << ours->GetNumberOfRestarts() << " k-means++ restarts on a sample of "
         << ours->GetMaximumSampleSize() << " voxels";
    table.Add({ section, "ours: MultiChannelKMeansSegmentationImageFilter", FormatSeconds(oursSeconds), "1.00x", "",
                "info", note.str() });
  }
  image = nullptr;

  // 3. Memory beyond the input, in a fresh process.
  const double outputBytes = static_cast<double>(voxels) * sizeof(unsigned char);
  if (options.RunMemory)
  {
    std::vector<std::string> argv = { options.SelfExecutable, "--probe-memory", "multichannel", "--raw", rawPath,
                                      "--size", std::to_string(options.Size), "-k", std::to_string(k) };
    if (options.Threads)
    {
      argv.push_back("--threads");
      argv.push_back(std::to_string(options.Threads));
    }
    const ProcessResult r = RunProcess(argv, options.WorkDirectory);
    const auto          probe = ParseKeyValues(r.Output, "probe ");
    if (r.ExitCode != 0 || probe.count("hwm_kib") == 0)
    {
      table.Add({ section, "memory beyond input: ours", "", "", "<= output + 10 %", "FAIL",
                  "probe failed (exit " + std::to_string(r.ExitCode) + "): " + r.Error.substr(0, 200) });
    }
    else
    {
      const double rssDelta = 1024.0 * (std::stod(probe.at("hwm_kib")) - std::stod(probe.at("rss_before_kib")));
      const double heapDelta = std::stod(probe.at("heap_peak_bytes")) - std::stod(probe.at("heap_before_bytes"));
      const double measured = std::max(rssDelta, heapDelta);
      std::ostringstream note;
      note << "peak RSS delta " << FormatMiB(rssDelta) << (probe.at("hwm_reset") == "1" ? "" : " (peak not reset)")
           << ", peak heap delta " << FormatMiB(heapDelta) << "; output " << FormatMiB(outputBytes) << "; input "
           << FormatMiB(static_cast<double>(voxels) * NumberOfChannels * sizeof(float));
      table.Add({ section, "memory beyond input: ours", FormatMiB(measured),
                  FormatRatio(measured / outputBytes) + " of output", "<= output + 10 %",
                  Verdict(measured <= 1.1 * outputBytes), note.str() });
    }
  }
  else
  {
    table.Add({ section, "memory beyond input: ours", "", "", "<= output + 10 %", "skipped", "--no-memory" });
  }

  // 4. scikit-learn: one start for time, ten starts for the WCSS.
  if (options.RunScikitLearn)
  {
    std::map<std::string, std::string> environment;
    if (options.Threads)
    {
      environment["OMP_NUM_THREADS"] = std::to_string(options.Threads);
    }
    std::string script = options.PythonScript;
    const auto  slash = script.rfind('/');
    script = (slash == std::string::npos ? std::string() : script.substr(0, slash + 1)) +
             "multichannel_kmeans_sklearn.py";
    const ProcessResult r = RunProcess({ options.Python, script, rawPath, std::to_string(voxels),
                                         std::to_string(NumberOfChannels), std::to_string(k) },
                                       options.WorkDirectory,
                                       environment);
    const auto values = ParseKeyValues(r.Output, "sklearn-multichannel ");
    if (r.ExitCode != 0 || values.count("n_init_1_seconds") == 0)
    {
      const std::string failure = "python failed (exit " + std::to_string(r.ExitCode) + "): " + r.Error.substr(0, 200);
      table.Add({ section, "scikit-learn KMeans(n_init=1) fit", "", "", ">= 10x", "FAIL", failure });
      table.Add({ section, "WCSS vs scikit-learn best of 10", "", "", "<= 1", "FAIL", failure });
    }
    else
    {
      const double       seconds = std::stod(values.at("n_init_1_seconds"));
      const double       ratio = seconds / oursSeconds;
      std::ostringstream note;
      note << "one fit (" << values.at("n_init_1_iterations") << " iterations, scikit-learn " << values.at("version")
           << "); its inertia " << std::setprecision(8) << std::stod(values.at("n_init_1_inertia")) / wcss
           << "x ours";
      table.Add({ section, "scikit-learn KMeans(n_init=1) fit", FormatSeconds(seconds),
                  FormatRatio(ratio) + " it/ours", ">= 10x", Verdict(ratio >= 10.0), note.str() });
      const double       best = std::stod(values.at("n_init_10_inertia"));
      std::ostringstream value, note10;
      value << std::setprecision(10) << wcss / best;
      note10 << "ours " << std::setprecision(10) << wcss << ", scikit-learn n_init=10 " << best << " (fit "
             << FormatSeconds(std::stod(values.at("n_init_10_seconds"))) << "); both in float64 about the centres";
      table.Add({ section, "WCSS vs scikit-learn best of 10", value.str() + "x", "", "<= 1 (+1e-9)",
                  Verdict(wcss <= best * (1.0 + 1e-9)), note10.str() });
    }
  }
  else
  {
    table.Add({ section, "scikit-learn KMeans(n_init=1) fit", "", "", ">= 10x", "skipped", "--no-sklearn" });
    table.Add({ section, "WCSS vs scikit-learn best of 10", "", "", "<= 1", "skipped", "--no-sklearn" });
  }
  if (!options.KeepFiles)
  {
    std::remove(rawPath.c_str());
  }
}

int
RunMultiChannelMemoryProbe(const Options & options, const std::string & rawPath)
{
  // The input, read straight into its buffer.
  auto                            image = MultiChannelImageType::New();
  MultiChannelImageType::SizeType size;
  size.Fill(options.Size);
  image->SetRegions(MultiChannelImageType::RegionType(size));
  image->SetNumberOfComponentsPerPixel(NumberOfChannels);
  image->Allocate();
  const std::size_t bytes =
    image->GetLargestPossibleRegion().GetNumberOfPixels() * NumberOfChannels * sizeof(float);
  std::ifstream in(rawPath, std::ios::binary);
  in.read(reinterpret_cast<char *>(image->GetBufferPointer()), static_cast<std::streamsize>(bytes));
  if (!in || in.gcount() != static_cast<std::streamsize>(bytes))
  {
    std::cerr << rawPath << ": cannot read " << bytes << " bytes" << std::endl;
    return 1;
  }
  // Start ITK's thread pool before measuring: it belongs to the process, not to one filter.
  itk::MultiThreaderBase::New()->ParallelizeArray(0, 64, [](itk::SizeValueType) {}, nullptr);

  const bool         reset = ResetPeakResident();
  const long         rssBefore = ResidentKiB();
  const std::int64_t heapBefore = HeapInUse();
  ResetHeapPeak();
  int          label = 0;
  const double       start = Now();
  const std::clock_t cpuStart = std::clock();
  double             seconds = 0.0, cpuSeconds = 0.0;
  {
    const auto out = RunFilter(image, options.NumberOfClasses);
    seconds = Now() - start;
    cpuSeconds = static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    label = out->GetBufferPointer()[bytes / NumberOfChannels / sizeof(float) / 2];
  }
  std::cout << "probe method=multichannel rss_before_kib=" << rssBefore << " hwm_kib=" << PeakResidentKiB()
            << " hwm_reset=" << (reset ? 1 : 0) << " heap_before_bytes=" << heapBefore
            << " heap_peak_bytes=" << HeapPeak() << " label=" << label << " seconds=" << seconds
            << " cpu_seconds=" << cpuSeconds << std::endl;
  return 0;
}
} // namespace KMeansBenchmark
