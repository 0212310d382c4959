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
// kmeans-benchmark: measures KMeansSegmentationImageFilter on a synthetic 256^3 int16 brain-like volume against
// ITK's threshold labeler, ITK's K-means, scikit-learn's K-means, its memory beyond the input, and the
// kmeans-segment program against a read-threshold-write program, and prints one table. Run by scripts/benchmark.
#include "KMeansBenchmark.h"

#include "itkMultiThreaderBase.h"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <unistd.h>

#ifndef KMEANS_BENCHMARK_SOURCE_DIR
#  define KMEANS_BENCHMARK_SOURCE_DIR ""
#endif
#ifndef KMEANS_SEGMENT_PROGRAM
#  define KMEANS_SEGMENT_PROGRAM ""
#endif
#ifndef KMEANS_BASELINE_PROGRAM
#  define KMEANS_BASELINE_PROGRAM ""
#endif

namespace
{
const char * const Usage = R"(usage: kmeans-benchmark [options]
  --size N                 edge of the cubic phantom in voxels (default 256)
  -k N                     number of classes (default 4)
  --repetitions N          runs of each fast filter, interleaved; the best is reported (default 11)
  --program-repetitions N  runs of each whole program, interleaved; the best is reported (default 5)
  --threads N              ITK (and OpenMP) threads (default: ITK's default)
  --no-itk-kmeans          skip ITK's ScalarImageKmeansImageFilter (about 30 s)
  --no-sklearn             skip scikit-learn
  --no-memory              skip the memory probes
  --no-programs            skip the whole-program comparison
  --no-compressed          whole programs on .nii only, not .nii.gz
  --quick                  --no-itk-kmeans --no-sklearn --no-compressed, 5 repetitions, 3 program repetitions
  --work-dir DIR           directory for temporary files (default: a new one under $TMPDIR or /tmp)
  --keep                   keep the temporary files
  --python PATH            Python with numpy and scikit-learn (default /usr/bin/python3)
  --python-script PATH     sklearn_kmeans.py (default: next to this program's sources)
  --kmeans-segment PATH    the kmeans-segment program (default: from the build tree)
  --read-threshold-write PATH
  --strict                 exit 1 when a target is missed
)";

bool
ParseUnsigned(const char * text, unsigned int & value)
{
  char *              end = nullptr;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (end == text || *end != '\0' || v == 0 || v > 100000)
  {
    return false;
  }
  value = static_cast<unsigned int>(v);
  return true;
}

std::string
ExecutableDirectory()
{
  char        path[4096];
  const auto  n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  std::string exe = n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string();
  const auto  slash = exe.rfind('/');
  return slash == std::string::npos ? "." : exe.substr(0, slash);
}

std::string
FirstExisting(const std::vector<std::string> & candidates)
{
  for (const auto & c : candidates)
  {
    if (KMeansBenchmark::FileExists(c))
    {
      return c;
    }
  }
  return candidates.empty() ? std::string() : candidates.front();
}
} // namespace

int
main(int argc, char * argv[])
{
  using namespace KMeansBenchmark;
  Options             options;
  std::string         probeMethod, probeRaw;
  std::vector<double> probeThresholds;
  bool                strict = false;
  for (int i = 1; i < argc; ++i)
  {
    const std::string arg = argv[i];
    auto              next = [&]() -> const char * {
      if (i + 1 >= argc)
      {
        std::cerr << "kmeans-benchmark: " << arg << " needs a value" << std::endl;
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&](unsigned int & value) {
      const char * text = next();
      if (!ParseUnsigned(text, value))
      {
        std::cerr << "kmeans-benchmark: " << arg << " '" << text << "' is not a positive integer" << std::endl;
        std::exit(2);
      }
    };
    if (arg == "--size")
      number(options.Size);
    else if (arg == "-k")
      number(options.NumberOfClasses);
    else if (arg == "--repetitions")
      number(options.Repetitions);
    else if (arg == "--program-repetitions")
      number(options.ProgramRepetitions);
    else if (arg == "--threads")
      number(options.Threads);
    else if (arg == "--no-itk-kmeans")
      options.RunItkKMeans = false;
    else if (arg == "--no-sklearn")
      options.RunScikitLearn = false;
    else if (arg == "--no-memory")
      options.RunMemory = false;
    else if (arg == "--no-programs")
      options.RunPrograms = false;
    else if (arg == "--no-compressed")
      options.RunCompressed = false;
    else if (arg == "--quick")
    {
      options.RunItkKMeans = options.RunScikitLearn = options.RunCompressed = false;
      options.Repetitions = 5;
      options.ProgramRepetitions = 3;
    }
    else if (arg == "--work-dir")
      options.WorkDirectory = next();
    else if (arg == "--keep")
      options.KeepFiles = true;
    else if (arg == "--python")
      options.Python = next();
    else if (arg == "--python-script")
      options.PythonScript = next();
    else if (arg == "--kmeans-segment")
      options.KMeansSegmentProgram = next();
    else if (arg == "--read-threshold-write")
      options.BaselineProgram = next();
    else if (arg == "--strict")
      strict = true;
    else if (arg == "--probe-memory") // child mode used by the memory section
      probeMethod = next();
    else if (arg == "--raw")
      probeRaw = next();
    else if (arg == "--thresholds")
    {
      std::istringstream words(next());
      double             t;
      while (words >> t)
      {
        probeThresholds.push_back(t);
      }
    }
    else if (arg == "-h" || arg == "--help")
    {
      std::cout << Usage;
      return 0;
    }
    else
    {
      std::cerr << "kmeans-benchmark: unknown option " << arg << "\n" << Usage;
      return 2;
    }
  }
  if (options.Threads)
  {
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(options.Threads);
  }
  if (probeMethod == "multichannel")
  {
    return RunMultiChannelMemoryProbe(options, probeRaw);
  }
  if (!probeMethod.empty())
  {
    return RunMemoryProbe(probeMethod, options, probeRaw, probeThresholds);
  }

  const std::string exeDir = ExecutableDirectory();
  options.SelfExecutable = exeDir + "/kmeans-benchmark";
  if (options.PythonScript.empty())
  {
    options.PythonScript = FirstExisting({ std::string(KMEANS_BENCHMARK_SOURCE_DIR) + "/sklearn_kmeans.py",
                                           exeDir + "/sklearn_kmeans.py" });
  }
  if (options.KMeansSegmentProgram.empty())
  {
    options.KMeansSegmentProgram =
      FirstExisting({ KMEANS_SEGMENT_PROGRAM, exeDir + "/../programs/kmeans-segment", exeDir + "/kmeans-segment" });
  }
  if (options.BaselineProgram.empty())
  {
    options.BaselineProgram = FirstExisting({ KMEANS_BASELINE_PROGRAM, exeDir + "/read-threshold-write" });
  }
  bool madeWorkDirectory = false;
  if (options.WorkDirectory.empty())
  {
    const char * tmp = std::getenv("TMPDIR");
    std::string  pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/kmeans-benchmark-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
    {
      std::cerr << "kmeans-benchmark: cannot create a temporary directory " << pattern << ": "
                << std::strerror(errno) << std::endl;
      return 1;
    }
    options.WorkDirectory = pattern;
    madeWorkDirectory = true;
  }

  std::cout << "Machine: " << DescribeMachine() << "\n"
            << "Phantom " << options.Size << "^3 int16, K = " << options.NumberOfClasses
            << "; fast filters: best of " << options.Repetitions << " interleaved runs (new filter each run, "
            << "output allocated each run); work directory " << options.WorkDirectory << "\n"
            << std::endl;

  Table   table;
  Context context;
  int     status = 0;
  try
  {
    RunScalarSection(options, context, table);
    // Further sections go here, each a function in its own source file.
    RunMultiChannelSection(options, context, table);
    if (options.RunPrograms)
    {
      RunWholeProgramSection(options, context, table);
    }
    else
    {
      table.Add({ "program", "kmeans-segment vs read-threshold-write", "", "", "<= 1.1x", "skipped",
                  "--no-programs" });
    }
  }
  catch (const std::exception & e)
  {
    std::cerr << "kmeans-benchmark: " << e.what() << std::endl;
    status = 1;
  }
  std::cout << "\n";
  table.Print(std::cout);
  std::cout << "\nMachine: " << DescribeMachine() << std::endl;

  if (!context.RawPhantomPath.empty() && !options.KeepFiles)
  {
    std::remove(context.RawPhantomPath.c_str());
  }
  if (madeWorkDirectory && !options.KeepFiles)
  {
    rmdir(options.WorkDirectory.c_str());
  }
  if (status == 0 && strict && !table.AllPassed())
  {
    status = 1;
  }
  return status;
}
