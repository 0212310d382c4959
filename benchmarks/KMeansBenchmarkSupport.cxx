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
#include "KMeansBenchmark.h"

#include "itkConfigure.h"
#include "itkMultiThreaderBase.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <malloc.h>
#include <new>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

// ---------------------------------------------------------------------------------------------------------------
// Heap accounting: the global operator new/delete of this program count the bytes in use and their peak, so that a
// memory probe can tell what a filter allocated. The other forms of new and delete forward to these two.
namespace
{
std::atomic<std::int64_t> g_HeapInUse{ 0 };
std::atomic<std::int64_t> g_HeapPeak{ 0 };

void
AddHeap(std::int64_t bytes)
{
  const std::int64_t now = g_HeapInUse.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::int64_t       peak = g_HeapPeak.load(std::memory_order_relaxed);
  while (now > peak && !g_HeapPeak.compare_exchange_weak(peak, now, std::memory_order_relaxed))
  {
  }
}
} // namespace

void *
operator new(std::size_t size)
{
  void * p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr)
  {
    throw std::bad_alloc();
  }
  AddHeap(static_cast<std::int64_t>(malloc_usable_size(p)));
  return p;
}

void
operator delete(void * p) noexcept
{
  if (p != nullptr)
  {
    g_HeapInUse.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
    std::free(p);
  }
}

void
operator delete(void * p, std::size_t) noexcept
{
  ::operator delete(p);
}

namespace KMeansBenchmark
{
std::int64_t
HeapInUse()
{
  return g_HeapInUse.load();
}
std::int64_t
HeapPeak()
{
  return g_HeapPeak.load();
}
void
ResetHeapPeak()
{
  g_HeapPeak.store(g_HeapInUse.load());
}

// ---------------------------------------------------------------------------------------------------------------
// The phantom.
namespace
{
std::uint64_t
SplitMix64(std::uint64_t x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/** Two independent standard normal numbers from the voxel's own random stream (Box-Muller). */
void
GaussianPair(std::uint64_t seed, std::uint64_t index, double & g1, double & g2)
{
  const std::uint64_t a = SplitMix64(seed ^ (index * 0xD1B54A32D192ED03ull));
  const std::uint64_t b = SplitMix64(a);
  const double        u1 = (static_cast<double>(a >> 11) + 1.0) * 0x1.0p-53; // (0, 1]
  const double        u2 = static_cast<double>(b >> 11) * 0x1.0p-53;         // [0, 1)
  const double        r = std::sqrt(-2.0 * std::log(u1));
  g1 = r * std::cos(2.0 * M_PI * u2);
  g2 = r * std::sin(2.0 * M_PI * u2);
}

/** Fraction (0..1) of a voxel on the inner side of an edge at depth edge, partial volume over one voxel. */
double
Inside(double depth, double edge)
{
  return std::min(1.0, std::max(0.0, depth - edge + 0.5));
}

double
Mix(double outer, double inner, double fraction)
{
  return outer + (inner - outer) * fraction;
}
} // namespace

FloatImageType::Pointer
GeneratePhantom(unsigned int size, const PhantomContrast & contrast, std::uint64_t seed)
{
  auto                      image = FloatImageType::New();
  FloatImageType::SizeType  imageSize;
  imageSize.Fill(size);
  image->SetRegions(FloatImageType::RegionType(imageSize));
  const double              s = size / 256.0; // geometry scale: 1 mm voxels at 256
  FloatImageType::SpacingType spacing;
  spacing.Fill(1.0 / s);
  image->SetSpacing(spacing);
  FloatImageType::PointType origin;
  origin.Fill(-0.5 * (size - 1) / s);
  image->SetOrigin(origin);
  image->Allocate();

  const double c = 0.5 * (size - 1);
  // Head ellipsoid (semi-axes in voxels) and the mean radius that turns ellipsoidal radius into depth.
  const double ax = 92.0 * s, ay = 112.0 * s, az = 100.0 * s, meanRadius = 100.0 * s;
  // Cortical folding and sulci from separable sinusoids of the position in millimetres.
  std::vector<double> foldX(size), foldY(size), foldZ(size), foldX2(size), sulX(size), sulY(size), sulZ(size);
  for (unsigned int i = 0; i < size; ++i)
  {
    const double mm = i / s;
    foldX[i] = std::sin(0.19 * mm);
    foldY[i] = std::cos(0.23 * mm);
    foldZ[i] = std::sin(0.21 * mm + 0.7);
    foldX2[i] = std::cos(0.17 * mm + 0.3);
    sulX[i] = std::sin(0.31 * mm + 0.2);
    sulY[i] = std::sin(0.29 * mm + 1.1);
    sulZ[i] = std::sin(0.27 * mm + 2.3);
  }
  struct Blob
  {
    double X, Y, Z, A, B, C, Radius, Value;
  };
  const std::vector<Blob> blobs = {
    // lateral ventricles (CSF), then thalami (deep grey matter)
    { c - 11 * s, c + 6 * s, c + 10 * s, 6 * s, 26 * s, 11 * s, 8 * s, contrast.CSF },
    { c + 11 * s, c + 6 * s, c + 10 * s, 6 * s, 26 * s, 11 * s, 8 * s, contrast.CSF },
    { c - 15 * s, c - 12 * s, c - 2 * s, 9 * s, 13 * s, 9 * s, 9 * s, contrast.DeepGreyMatter },
    { c + 15 * s, c - 12 * s, c - 2 * s, 9 * s, 13 * s, 9 * s, 9 * s, contrast.DeepGreyMatter },
  };

  float * buffer = image->GetBufferPointer();
  auto    threader = itk::MultiThreaderBase::New();
  threader->ParallelizeArray(
    0,
    size,
    [&](itk::SizeValueType z) {
      const double w = (z - c) / az;
      for (unsigned int y = 0; y < size; ++y)
      {
        const double v = (y - c) / ay;
        for (unsigned int x = 0; x < size; ++x)
        {
          const double        u = (x - c) / ax;
          const std::uint64_t index = (static_cast<std::uint64_t>(z) * size + y) * size + x;
          const double        depth = (1.0 - std::sqrt(u * u + v * v + w * w)) * meanRadius / s; // mm
          if (depth <= -0.5)
          {
            buffer[index] = 0.0f;
            continue;
          }
          const double fold = 0.5 * (foldX[x] * foldY[y] + foldZ[z] * foldX2[x]);
          const double sulcus = sulX[x] * sulY[y] * sulZ[z];
          const double whiteEdge = 18.0 + 3.0 * fold;
          double       value = Mix(0.0, contrast.Scalp, Inside(depth, 0.0));
          value = Mix(value, contrast.Skull, Inside(depth, 5.0));
          value = Mix(value, contrast.CSF, Inside(depth, 11.0));
          // Sulci: CSF reaching into the cortex where the sulcus field is high.
          const double sulcal = std::min(1.0, std::max(0.0, (sulcus - 0.55) * 4.0)) * (depth < whiteEdge ? 1.0 : 0.0);
          value = Mix(value, contrast.GreyMatter, Inside(depth, 14.0) * (1.0 - sulcal));
          value = Mix(value, contrast.WhiteMatter, Inside(depth, whiteEdge));
          for (const auto & b : blobs)
          {
            const double bx = (x - b.X) / b.A, by = (y - b.Y) / b.B, bz = (z - b.Z) / b.C;
            const double blobDepth = (1.0 - std::sqrt(bx * bx + by * by + bz * bz)) * b.Radius / s;
            if (blobDepth > -0.5)
            {
              value = Mix(value, b.Value, Inside(blobDepth, 0.0));
            }
          }
          const double bias = 1.0 + contrast.BiasAmplitude * (0.6 * u + 0.4 * v - 0.5 * w * w + 0.2 * u * v);
          double       g1, g2;
          GaussianPair(seed, index, g1, g2);
          const double re = value * bias + contrast.NoiseSigma * g1;
          const double im = contrast.NoiseSigma * g2;
          buffer[index] = static_cast<float>(std::sqrt(re * re + im * im));
        }
      }
    },
    nullptr);
  return image;
}

ShortImageType::Pointer
RoundToShort(const FloatImageType * image)
{
  auto out = ShortImageType::New();
  out->CopyInformation(image);
  out->SetRegions(image->GetLargestPossibleRegion());
  out->Allocate();
  const float *     in = image->GetBufferPointer();
  short *           o = out->GetBufferPointer();
  const std::size_t n = image->GetLargestPossibleRegion().GetNumberOfPixels();
  for (std::size_t i = 0; i < n; ++i)
  {
    o[i] = static_cast<short>(std::min(32767.0f, std::max(-32768.0f, std::nearbyint(in[i]))));
  }
  return out;
}

void
WriteRaw(const std::string & path, const void * data, std::size_t bytes)
{
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char *>(data), static_cast<std::streamsize>(bytes));
  if (!out)
  {
    throw std::runtime_error("cannot write " + path);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Timing.
double
Now()
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::vector<double>>
TimeInterleaved(unsigned int rounds, const std::vector<std::function<void()>> & functions)
{
  std::vector<std::vector<double>> seconds(functions.size());
  for (unsigned int r = 0; r < rounds; ++r)
  {
    for (std::size_t f = 0; f < functions.size(); ++f)
    {
      const double start = Now();
      functions[f]();
      seconds[f].push_back(Now() - start);
    }
  }
  return seconds;
}

double
Median(std::vector<double> values)
{
  if (values.empty())
  {
    return 0.0;
  }
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double
Minimum(const std::vector<double> & values)
{
  return values.empty() ? 0.0 : *std::min_element(values.begin(), values.end());
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes.
namespace
{
std::string
ReadWholeFile(const std::string & path)
{
  std::ifstream      in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
} // namespace

ProcessResult
RunProcess(const std::vector<std::string> &         argv,
           const std::string &                      workDirectory,
           const std::map<std::string, std::string> & environment)
{
  ProcessResult     result;
  const std::string outPath = workDirectory + "/child.out";
  const std::string errPath = workDirectory + "/child.err";
  std::vector<char *> args;
  for (const auto & a : argv)
  {
    args.push_back(const_cast<char *>(a.c_str()));
  }
  args.push_back(nullptr);
  std::cout.flush();
  const double start = Now();
  const pid_t  pid = fork();
  if (pid < 0)
  {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0)
  {
    const int out = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0)
    {
      _exit(126);
    }
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto & kv : environment)
    {
      setenv(kv.first.c_str(), kv.second.c_str(), 1);
    }
    execv(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  int           status = 0;
  struct rusage usage;
  std::memset(&usage, 0, sizeof(usage));
  while (wait4(pid, &status, 0, &usage) < 0)
  {
    if (errno != EINTR)
    {
      throw std::runtime_error("wait4 failed");
    }
  }
  result.Seconds = Now() - start;
  result.ExitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.MaximumResidentKiB = usage.ru_maxrss;
  result.CpuSeconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                      1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  result.Output = ReadWholeFile(outPath);
  result.Error = ReadWholeFile(errPath);
  std::remove(outPath.c_str());
  std::remove(errPath.c_str());
  return result;
}

std::map<std::string, std::string>
ParseKeyValues(const std::string & text, const std::string & prefix)
{
  std::map<std::string, std::string> values;
  std::istringstream                 lines(text);
  std::string                        line, found;
  while (std::getline(lines, line))
  {
    if (line.compare(0, prefix.size(), prefix) == 0)
    {
      found = line.substr(prefix.size());
    }
  }
  std::istringstream words(found);
  std::string        word;
  while (words >> word)
  {
    const auto eq = word.find('=');
    if (eq != std::string::npos)
    {
      values[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting and the table.
std::string
FormatSeconds(double seconds)
{
  std::ostringstream os;
  os << std::fixed << std::setprecision(seconds < 0.1 ? 4 : (seconds < 10 ? 3 : 1)) << seconds << " s";
  return os.str();
}

std::string
FormatMiB(double bytes)
{
  std::ostringstream os;
  os << std::fixed << std::setprecision(2) << bytes / (1024.0 * 1024.0) << " MiB";
  return os.str();
}

std::string
FormatRatio(double ratio)
{
  std::ostringstream os;
  os << std::fixed << std::setprecision(ratio < 10 ? 2 : 0) << ratio << "x";
  return os.str();
}

bool
FileExists(const std::string & path)
{
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void
Table::Print(std::ostream & os) const
{
  const std::vector<std::string> headers = { "section", "method", "time / size", "ratio", "target", "result" };
  std::vector<std::size_t>       widths(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i)
  {
    widths[i] = headers[i].size();
  }
  auto cells = [](const Row & r) {
    return std::vector<std::string>{ r.Section, r.Method, r.Value, r.Ratio, r.Target, r.Verdict };
  };
  for (const auto & r : m_Rows)
  {
    const auto c = cells(r);
    for (std::size_t i = 0; i < c.size(); ++i)
    {
      widths[i] = std::max(widths[i], c[i].size());
    }
  }
  auto printLine = [&](const std::vector<std::string> & c, const std::string & note) {
    os << "| ";
    for (std::size_t i = 0; i < c.size(); ++i)
    {
      os << std::left << std::setw(static_cast<int>(widths[i])) << c[i] << " | ";
    }
    os << note << "\n";
  };
  printLine(headers, "");
  std::vector<std::string> rule;
  for (const auto w : widths)
  {
    rule.push_back(std::string(w, '-'));
  }
  printLine(rule, "");
  for (const auto & r : m_Rows)
  {
    printLine(cells(r), r.Note);
  }
}

bool
Table::AllPassed() const
{
  return std::none_of(m_Rows.begin(), m_Rows.end(), [](const Row & r) { return r.Verdict == "FAIL"; });
}

// ---------------------------------------------------------------------------------------------------------------
// Memory of this process.
namespace
{
long
StatusKiB(const char * key)
{
  std::ifstream in("/proc/self/status");
  std::string   line;
  const std::size_t n = std::strlen(key);
  while (std::getline(in, line))
  {
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
    {
      return std::atol(line.c_str() + n + 1);
    }
  }
  return -1;
}
} // namespace

long
ResidentKiB()
{
  return StatusKiB("VmRSS");
}

long
PeakResidentKiB()
{
  return StatusKiB("VmHWM");
}

bool
ResetPeakResident()
{
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out) && PeakResidentKiB() <= ResidentKiB() + 4;
}

std::string
DescribeMachine()
{
  std::string   model = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  std::string   line;
  while (std::getline(in, line))
  {
    if (line.compare(0, 10, "model name") == 0)
    {
      const auto colon = line.find(':');
      model = colon == std::string::npos ? line : line.substr(colon + 2);
      break;
    }
  }
  std::ostringstream os;
  os << model << ", " << std::thread::hardware_concurrency() << " logical cores, ITK " << ITK_VERSION_MAJOR << "."
     << ITK_VERSION_MINOR << "." << ITK_VERSION_PATCH << ", "
     << itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads() << " ITK threads ("
     << itk::MultiThreaderBase::GetGlobalDefaultThreader() << ")";
  return os.str();
}
} // namespace KMeansBenchmark
