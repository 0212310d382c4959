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
#ifndef KMeansBenchmark_h
#define KMeansBenchmark_h

// Shared support of the kmeans-benchmark program: options, the synthetic brain phantom, timing, child
// processes (Python, whole programs, memory probes) and the result table. Each section of the benchmark
// (scalar filter, whole program, ...) is a function in its own source file that appends rows to the table.

#include "itkImage.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace KMeansBenchmark
{
using ShortImageType = itk::Image<short, 3>;
using FloatImageType = itk::Image<float, 3>;
using LabelImageType = itk::Image<unsigned char, 3>;

/** Command-line options shared by all sections. */
struct Options
{
  unsigned int Size{ 256 };           // edge of the cubic phantom, voxels
  unsigned int NumberOfClasses{ 4 };  // K
  unsigned int Repetitions{ 11 };     // repetitions of the fast filters (median reported)
  unsigned int ProgramRepetitions{ 5 };
  unsigned int Threads{ 0 };          // 0: ITK's default
  bool         RunItkKMeans{ true };
  bool         RunScikitLearn{ true };
  bool         RunPrograms{ true };
  bool         RunCompressed{ true };
  bool         RunMemory{ true };
  bool         KeepFiles{ false };
  std::string  WorkDirectory;         // temporary directory (created when empty)
  std::string  Python{ "/usr/bin/python3" };
  std::string  PythonScript;          // sklearn_kmeans.py
  std::string  KMeansSegmentProgram;  // kmeans-segment
  std::string  BaselineProgram;       // read-threshold-write
  std::string  SelfExecutable;        // this program, for the memory probes
};

/** One line of the result table. Ratio and target are free text ("0.82x ours/it", "<= 1.2x"). */
struct Row
{
  std::string Section;
  std::string Method;
  std::string Value; // e.g. "0.0712 s" or "16.4 MiB"
  std::string Ratio;
  std::string Target;
  std::string Verdict; // "PASS", "FAIL", "info" or "skipped"
  std::string Note;
};

class Table
{
public:
  void
  Add(Row row)
  {
    m_Rows.push_back(std::move(row));
  }
  void
  Print(std::ostream & os) const;
  bool
  AllPassed() const;

private:
  std::vector<Row> m_Rows;
};

/** State handed from one section to the next (the phantom, our result on it, files written). */
struct Context
{
  ShortImageType::Pointer Phantom;
  std::string             RawPhantomPath; // int16 voxels, x fastest, no header
  std::vector<double>     Thresholds;     // our filter's thresholds on the phantom
  std::vector<double>     ClassMeans;
  double                  WithinClassSumOfSquares{ 0.0 };
  double                  OursSeconds{ 0.0 };
};

/** Tissue intensities of one contrast of the phantom. */
struct PhantomContrast
{
  double Scalp{ 2900.0 };
  double Skull{ 450.0 };
  double CSF{ 1000.0 };
  double GreyMatter{ 2000.0 };
  double DeepGreyMatter{ 2250.0 };
  double WhiteMatter{ 2850.0 };
  double NoiseSigma{ 60.0 };    // Rician noise: sigma of each of the two Gaussian components
  double BiasAmplitude{ 0.12 }; // smooth multiplicative bias, 1 +- about this much across the head
};

/** Deterministic brain-like head of size^3 voxels (1 mm at 256): background exactly 0 around an ellipsoidal head
 * of scalp, skull, CSF, a folded grey-matter cortex, white matter, ventricles and deep grey matter, with partial
 * volume at the edges, a smooth bias field and Rician noise. The same seed gives the same image on any machine
 * and thread count. */
FloatImageType::Pointer
GeneratePhantom(unsigned int size, const PhantomContrast & contrast, std::uint64_t seed);

/** Rounds and clamps to int16. */
ShortImageType::Pointer
RoundToShort(const FloatImageType * image);

/** Writes the voxel buffer to path, x fastest. */
void
WriteRaw(const std::string & path, const void * data, std::size_t bytes);

/** Wall-clock seconds since an arbitrary origin. */
double
Now();

/** Runs every function of functions once per round, in turn (interleaved, so that a load on the machine affects
 * all alike), for the given number of rounds; returns the seconds of each run, per function. */
std::vector<std::vector<double>>
TimeInterleaved(unsigned int rounds, const std::vector<std::function<void()>> & functions);

double
Median(std::vector<double> values);
double
Minimum(const std::vector<double> & values);

/** Result of a child process. */
struct ProcessResult
{
  int         ExitCode{ -1 };
  double      Seconds{ 0.0 };
  double      CpuSeconds{ 0.0 };       // user + system time of the child (wait4)
  long        MaximumResidentKiB{ 0 }; // peak RSS of the child (wait4)
  std::string Output;                  // standard output
  std::string Error;                   // standard error
};

/** Runs argv[0] with the arguments (no shell), standard output and error captured through files in
 * workDirectory; extra environment variables are added to the inherited environment. */
ProcessResult
RunProcess(const std::vector<std::string> &         argv,
           const std::string &                      workDirectory,
           const std::map<std::string, std::string> & environment = {});

/** key=value pairs of the last line of text that starts with prefix. */
std::map<std::string, std::string>
ParseKeyValues(const std::string & text, const std::string & prefix);

/** "1.234 s", "16.0 MiB", "123x" style formatting. */
std::string
FormatSeconds(double seconds);
std::string
FormatMiB(double bytes);
std::string
FormatRatio(double ratio);

bool
FileExists(const std::string & path);

/** Resident set size and its peak, in KiB, from /proc/self/status. */
long
ResidentKiB();
long
PeakResidentKiB();
/** Resets the peak RSS to the current RSS (Linux /proc/self/clear_refs "5"); false when not possible. */
bool
ResetPeakResident();

/** Bytes currently allocated through global operator new, and the peak since ResetHeapPeak(). */
std::int64_t
HeapInUse();
std::int64_t
HeapPeak();
void
ResetHeapPeak();

/** Machine description: CPU model, logical cores, ITK version and thread count. */
std::string
DescribeMachine();

/** Sections. Each appends rows to table; the scalar section fills context for the later ones. */
void
RunScalarSection(const Options & options, Context & context, Table & table);
void
RunWholeProgramSection(const Options & options, Context & context, Table & table);
/** Multi-channel K-means (KMeansBenchmarkMultiChannel.cxx): three float channels against scikit-learn. */
void
RunMultiChannelSection(const Options & options, Context & context, Table & table);

/** Child mode: --probe-memory METHOD. Reads the raw phantom, runs one filter and prints the memory it needed. */
int
RunMemoryProbe(const std::string & method, const Options & options, const std::string & rawPath,
               const std::vector<double> & thresholds);
/** Child mode: --probe-memory multichannel. Reads the raw three-channel phantom and runs the multi-channel filter. */
int
RunMultiChannelMemoryProbe(const Options & options, const std::string & rawPath);
/** Run a segmentation filter of the module with k classes and return its output, disconnected from the
 * pipeline; keep, when given, receives the filter (for its statistics). */
template <typename TFilter>
typename TFilter::OutputImageType::Pointer
RunSegmentationFilter(const typename TFilter::InputImageType * image,
                      unsigned int                             k,
                      typename TFilter::Pointer *              keep = nullptr)
{
  auto filter = TFilter::New();
  filter->SetInput(image);
  filter->SetNumberOfClasses(k);
  filter->Update();
  typename TFilter::OutputImageType::Pointer labels = filter->GetOutput();
  labels->DisconnectPipeline();
  if (keep != nullptr)
  {
    *keep = filter;
  }
  return labels;
}
} // namespace KMeansBenchmark

#endif
