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

// kmeans-segment --preview / --vtk-dir: the program's side of the VTK preview.

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"

#include <vtkDataArray.h>
#include <vtkImageData.h>
#include <vtkMatrix3x3.h>
#include <vtkPNGReader.h>
#include <vtkPointData.h>
#include <vtkSmartPointer.h>
#include <vtkXMLImageDataReader.h>

#include "PreviewTestSupport.h"

#include "gtest/gtest.h"

#include <array>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/prctl.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char ** environ;

namespace
{
namespace fs = std::filesystem;
using ScanType = itk::Image<short, 3>;
using LabelType = itk::Image<unsigned char, 3>;

struct Files
{
  fs::path Directory;
  fs::path Scan;
};

/** A scan of nested boxes (intensity 100, 200, 300, spread -3..3; background 0) with an oblique direction. */
Files
WriteScan(const std::string & name)
{
  Files files;
  files.Directory = fs::temp_directory_path() / ("kmeans-segment-preview-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(files.Directory);
  fs::create_directories(files.Directory);
  files.Scan = files.Directory / "scan.nrrd";
  auto                  scan = ScanType::New();
  ScanType::RegionType  region;
  region.SetSize({ { 40, 36, 30 } });
  scan->SetRegions(region);
  ScanType::SpacingType spacing;
  spacing[0] = 0.9, spacing[1] = 1.0, spacing[2] = 1.2;
  scan->SetSpacing(spacing);
  ScanType::DirectionType direction;
  direction.Fill(0.0);
  direction[0][1] = 1.0, direction[1][0] = -1.0, direction[2][2] = 1.0;
  scan->SetDirection(direction);
  scan->Allocate();
  const unsigned int size[3] = { 40, 36, 30 };
  for (itk::ImageRegionIteratorWithIndex<ScanType> it(scan, region); !it.IsAtEnd(); ++it)
  {
    double r = 0;
    for (unsigned int d = 0; d < 3; ++d)
    {
      r = std::max(r, std::abs((it.GetIndex()[d] + 0.5) / size[d] - 0.5) * 2);
    }
    const int label = r < 0.25 ? 3 : r < 0.5 ? 2 : r < 0.8 ? 1 : 0;
    const int spread = label == 0 ? 0 : static_cast<int>((7 * it.GetIndex()[0] + 3 * it.GetIndex()[1]) % 7) - 3;
    it.Set(static_cast<short>(100 * label + spread));
  }
  itk::WriteImage(scan, files.Scan.string());
  return files;
}

/** Run kmeans-segment (or a copy of it, program) with arguments; stderr goes to errors. environment: variable
 * assignments for `env`. */
int
RunProgram(const std::string & arguments,
           const fs::path &    errors,
           bool                withDisplay = true,
           const std::string & environment = "",
           const std::string & program = KMEANS_SEGMENT_PROGRAM)
{
  const std::string command = "env " + std::string(withDisplay ? "" : "-u DISPLAY ") + environment + " " + program +
                              " " + arguments + " > /dev/null 2> " + errors.string();
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string>
Lines(const fs::path & file)
{
  std::ifstream            in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
  {
    lines.push_back(line);
  }
  return lines;
}

std::string
ReadText(const fs::path & file)
{
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/** kmeans-segment on f.Scan writing labels.nrrd, preview.png, vtk/ and report.json into f.Directory (stderr to
 * stderr.txt there). */
int
RunPreview(const Files & f, bool withDisplay)
{
  return RunProgram(f.Scan.string() + " -o " + (f.Directory / "labels.nrrd").string() + " -k 3 --nonzero --preview " +
                      (f.Directory / "preview.png").string() + " --vtk-dir " + (f.Directory / "vtk").string() +
                      " --report " + (f.Directory / "report.json").string(),
                    f.Directory / "stderr.txt",
                    withDisplay);
}

/** Width and height of a PNG picture. */
std::array<int, 2>
PngSize(const fs::path & png)
{
  auto reader = vtkSmartPointer<vtkPNGReader>::New();
  reader->SetFileName(png.string().c_str());
  reader->Update();
  int dims[3];
  reader->GetOutput()->GetDimensions(dims);
  return { dims[0], dims[1] };
}

/** Whether an Xvfb executable is on PATH. */
bool
HaveXvfb()
{
  return std::system("command -v Xvfb > /dev/null 2>&1") == 0;
}

/** Whether process pid still runs (a zombie does not: it has exited). */
bool
Running(pid_t pid)
{
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string   text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto    end = text.rfind(')');
  return end != std::string::npos && end + 2 < text.size() && text[end + 2] != 'Z';
}

/** The Xvfb child of process parent, or 0. */
pid_t
XvfbChildOf(pid_t parent)
{
  for (const auto & entry : fs::directory_iterator("/proc"))
  {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
    {
      continue;
    }
    std::ifstream stat(entry.path() / "stat");
    std::string   text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto    open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || text.substr(open + 1, close - open - 1) != "Xvfb")
    {
      continue;
    }
    std::istringstream rest(text.substr(close + 2));
    char               state = 0;
    pid_t              ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent)
    {
      return static_cast<pid_t>(std::stol(name));
    }
  }
  return 0;
}

/** Waits up to seconds for process pid to end. */
bool
Ended(pid_t pid, double seconds)
{
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (Running(pid) && std::chrono::steady_clock::now() < deadline)
  {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !Running(pid);
}

using KMeansPreviewTestSupport::HaveDisplay;
} // namespace

TEST(KMeansSegmentPreviewOptions, PreviewAndParaViewFilesOfTheResult)
{
  if (!HaveDisplay())
  {
    GTEST_SKIP() << "no X display: rendering needs one; install xvfb so that ctest runs this test under xvfb-run -a";
  }
  const Files    f = WriteScan("ok");
  const fs::path labels = f.Directory / "labels.nrrd";
  const fs::path png = f.Directory / "preview.png";
  const fs::path vtk = f.Directory / "vtk";
  const fs::path report = f.Directory / "report.json";
  ASSERT_EQ(RunPreview(f, true), 0)
    << (Lines(f.Directory / "stderr.txt").empty() ? "" : Lines(f.Directory / "stderr.txt")[0]);

  const auto size = PngSize(png);
  EXPECT_EQ(size[0], 1600);
  EXPECT_EQ(size[1], 1000);

  // The .vti holds the program's label map, voxel for voxel, with the scan's geometry.
  auto vti = vtkSmartPointer<vtkXMLImageDataReader>::New();
  vti->SetFileName((vtk / "segmentation.vti").string().c_str());
  vti->Update();
  const auto   written = itk::ReadImage<LabelType>(labels.string());
  vtkDataArray * array = vti->GetOutput()->GetPointData()->GetArray("Labels");
  ASSERT_NE(array, nullptr);
  ASSERT_EQ(array->GetNumberOfTuples(), static_cast<vtkIdType>(written->GetBufferedRegion().GetNumberOfPixels()));
  vtkIdType i = 0, mismatches = 0, classified = 0;
  for (itk::ImageRegionConstIterator<LabelType> it(written, written->GetBufferedRegion()); !it.IsAtEnd(); ++it, ++i)
  {
    mismatches += array->GetTuple1(i) != it.Get() ? 1 : 0;
    classified += it.Get() != 0 ? 1 : 0;
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(classified, 0);
  EXPECT_DOUBLE_EQ(vti->GetOutput()->GetDirectionMatrix()->GetElement(1, 0), -1.0);
  EXPECT_DOUBLE_EQ(vti->GetOutput()->GetSpacing()[2], 1.2);
  EXPECT_TRUE(fs::exists(vtk / "segmentation.vtm"));
  unsigned int surfaces = 0;
  for (const auto & entry : fs::directory_iterator(vtk))
  {
    surfaces += entry.path().extension() == ".vtp" ? 1 : 0;
  }
  EXPECT_EQ(surfaces, 3u);

  // The report names the outputs.
  std::ifstream in(report);
  std::string   text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"preview\""), std::string::npos);
  EXPECT_NE(text.find("preview.png"), std::string::npos);
  EXPECT_NE(text.find("segmentation.vtm"), std::string::npos);
  fs::remove_all(f.Directory);
}

TEST(KMeansSegmentPreviewOptions, BadPreviewRequestsAreUsageErrorsBeforeAnyOutput)
{
  const Files    f = WriteScan("bad");
  const fs::path labels = f.Directory / "labels.nrrd";
  const fs::path errors = f.Directory / "stderr.txt";

  // Not a PNG name.
  EXPECT_EQ(RunProgram(f.Scan.string() + " -o " + labels.string() + " -k 3 --preview " + (f.Directory / "p.jpg").string(),
                errors),
            2);
  auto lines = Lines(errors);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(".png"), std::string::npos) << lines[0];
  EXPECT_FALSE(fs::exists(labels));

  // No X display and no Xvfb to start (not on PATH): says how to get one.
  EXPECT_EQ(RunProgram(f.Scan.string() + " -o " + labels.string() + " -k 3 --preview " + (f.Directory / "p.png").string(),
                errors,
                false,
                "PATH=/nonexistent"),
            2);
  lines = Lines(errors);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("xvfb-run"), std::string::npos) << lines[0];
  EXPECT_FALSE(fs::exists(labels));
  EXPECT_FALSE(fs::exists(f.Directory / "p.png"));

  fs::remove_all(f.Directory);
}

TEST(KMeansSegmentPreviewOptions, VTKIsLoadedOnlyWhenThePreviewIsAskedFor)
{
  // The dynamic loader lists every library it loads (LD_DEBUG=files): a plain segmentation must not start VTK.
  const Files    f = WriteScan("loading");
  const fs::path labels = f.Directory / "labels.nrrd";
  const fs::path errors = f.Directory / "stderr.txt";
  ASSERT_EQ(RunProgram(f.Scan.string() + " -o " + labels.string() + " -k 3 --quiet", errors, true, "LD_DEBUG=files"), 0);
  std::string loaded = ReadText(errors);
  EXPECT_NE(loaded.find("libITKCommon"), std::string::npos) << "LD_DEBUG listed no library: the check is void";
  EXPECT_EQ(loaded.find("libvtk"), std::string::npos) << "a segmentation without preview options loaded VTK";
  EXPECT_EQ(loaded.find("kmeans-segment-preview"), std::string::npos);

  // --vtk-dir (no display needed) loads the plugin and VTK with it.
  ASSERT_EQ(RunProgram(f.Scan.string() + " -o " + labels.string() + " -k 3 --quiet --vtk-dir " +
                         (f.Directory / "vtk").string(),
                       errors, true, "LD_DEBUG=files"),
            0);
  loaded = ReadText(errors);
  EXPECT_NE(loaded.find("kmeans-segment-preview.so"), std::string::npos);
  EXPECT_NE(loaded.find("libvtk"), std::string::npos);
  EXPECT_TRUE(fs::exists(f.Directory / "vtk" / "segmentation.vtm"));
  fs::remove_all(f.Directory);
}

TEST(KMeansSegmentPreviewOptions, WithoutThePluginPreviewOptionsAreUsageErrorsNamingIt)
{
  // A copy of the program in a directory without kmeans-segment-preview.so: segmenting still works, and the
  // preview options say what is missing and where it was looked for, before any output is written.
  const Files    f = WriteScan("noplugin");
  const fs::path program = f.Directory / "kmeans-segment";
  fs::copy_file(KMEANS_SEGMENT_PROGRAM, program);
  const fs::path labels = f.Directory / "labels.nrrd";
  const fs::path errors = f.Directory / "stderr.txt";
  EXPECT_EQ(RunProgram(f.Scan.string() + " -o " + labels.string() + " -k 3 --quiet", errors, true, "", program.string()), 0);
  EXPECT_TRUE(fs::exists(labels));
  fs::remove(labels);

  EXPECT_EQ(RunProgram(f.Scan.string() + " -o " + labels.string() + " -k 3 --vtk-dir " + (f.Directory / "vtk").string(),
                       errors, true, "", program.string()),
            2);
  const auto lines = Lines(errors);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("kmeans-segment-preview.so"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find((f.Directory / "kmeans-segment-preview.so").string()), std::string::npos) << lines[0];
  EXPECT_FALSE(fs::exists(labels));
  EXPECT_FALSE(fs::exists(f.Directory / "vtk"));
  fs::remove_all(f.Directory);
}

TEST(KMeansSegmentPreviewOptions, WithoutDisplayThePreviewRendersOnAPrivateXvfbThatIsStoppedAfterwards)
{
  if (!HaveXvfb())
  {
    GTEST_SKIP() << "Xvfb is not installed (Debian: xvfb): without DISPLAY the preview is then a usage error";
  }
  const Files       f = WriteScan("headless");
  const int         status = RunPreview(f, false);
  const std::string errors = ReadText(f.Directory / "stderr.txt");
  ASSERT_EQ(status, 0) << errors;
  EXPECT_TRUE(errors.empty()) << errors;
  const auto size = PngSize(f.Directory / "preview.png");
  EXPECT_EQ(size[0], 1600);
  EXPECT_EQ(size[1], 1000);
  EXPECT_TRUE(fs::exists(f.Directory / "vtk" / "segmentation.vtm"));

  // The report names the private server; it is gone once the program has finished.
  const std::string text = ReadText(f.Directory / "report.json");
  const auto        server = text.find("\"x_server\"");
  ASSERT_NE(server, std::string::npos) << text;
  const auto pidAt = text.find("\"pid\":", server);
  ASSERT_NE(pidAt, std::string::npos) << text;
  const auto pid = static_cast<pid_t>(std::stol(text.substr(text.find_first_of("0123456789", pidAt))));
  EXPECT_GT(pid, 0);
  EXPECT_FALSE(Running(pid)) << "Xvfb " << pid << " is still running after the program ended";
  fs::remove_all(f.Directory);
}

TEST(KMeansSegmentPreviewOptions, AKilledRunLeavesNoXvfbBehind)
{
  if (!HaveXvfb())
  {
    GTEST_SKIP() << "Xvfb is not installed (Debian: xvfb)";
  }
  const Files       f = WriteScan("killed");
  const std::string labels = (f.Directory / "labels.nrrd").string(), png = (f.Directory / "p.png").string();
  const std::string scan = f.Scan.string();
  std::vector<const char *> argv{ KMEANS_SEGMENT_PROGRAM, scan.c_str(), "-o", labels.c_str(), "-k", "3",
                                  "--nonzero", "--quiet", "--preview", png.c_str(), nullptr };
  std::vector<char *> environment;
  for (char ** e = environ; *e != nullptr; ++e)
  {
    if (std::string(*e).rfind("DISPLAY=", 0) != 0)
    {
      environment.push_back(*e);
    }
  }
  environment.push_back(nullptr);
  // Orphans (the Xvfb of the killed program) become children of this test, which reaps them: a zombie left to a
  // container's init that does not reap would look like a process left behind.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t program = 0;
  ASSERT_EQ(::posix_spawn(&program, KMEANS_SEGMENT_PROGRAM, nullptr, nullptr, const_cast<char **>(argv.data()),
                          environment.data()),
            0);
  // Kill the program (SIGKILL: it cannot clean up) as soon as its Xvfb runs.
  pid_t xvfb = 0;
  while (xvfb == 0 && Running(program))
  {
    xvfb = XvfbChildOf(program);
  }
  ::kill(program, SIGKILL);
  ::waitpid(program, nullptr, 0);
  ASSERT_NE(xvfb, 0) << "the program ended before its Xvfb was seen";
  EXPECT_TRUE(Ended(xvfb, 10.0)) << "Xvfb " << xvfb << " survived the killed program";
  ::waitpid(xvfb, nullptr, WNOHANG);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  EXPECT_FALSE(fs::exists(png)) << "a killed run left a picture";
  fs::remove_all(f.Directory);
}

TEST(KMeansSegmentPreviewOptions, TheParaViewScriptOpensTheWrittenFilesWithTheirColours)
{
  // No ParaView here: the script runs against a stand-in paraview.simple that checks that every file it opens
  // exists and records what it sets. (The picture ParaView itself makes is checked by hand.)
  const Files    f = WriteScan("pvscript");
  const fs::path vtk = f.Directory / "vtk";
  const fs::path errors = f.Directory / "stderr.txt";
  ASSERT_EQ(RunProgram(f.Scan.string() + " -o " + (f.Directory / "labels.nrrd").string() + " -k 3 --nonzero --vtk-dir " +
                         vtk.string(),
                       errors,
                       false),
            0)
    << ReadText(errors);
  const fs::path script = vtk / "open-in-paraview.py";
  ASSERT_TRUE(fs::exists(script));
  const fs::path stub = f.Directory / "stub" / "paraview";
  fs::create_directories(stub);
  std::ofstream(stub / "__init__.py") << "";
  std::ofstream(stub / "simple.py") << R"py(import atexit, os
LOG = []
class _Info:
    def GetExtent(self): return [0, 39, 0, 35, 0, 29]
class _Camera:
    def Elevation(self, a): pass
    def Azimuth(self, a): pass
class _Proxy:
    def __init__(self, kind, **kw):
        self.__dict__["kind"] = kind
        for f in kw.get("FileName", []):
            if not os.path.isfile(f): raise SystemExit("no such file: " + f)
            LOG.append(("open", kind, os.path.basename(f)))
    def __setattr__(self, name, value): LOG.append(("set", self.kind, name, value)); self.__dict__[name] = value
    def UpdatePipeline(self): pass
    def GetDataInformation(self): return _Info()
    def SetRepresentationType(self, t): LOG.append(("representation", self.kind, t))
    def SetScalarBarVisibility(self, view, visible): pass
    def ApplyPreset(self, name, rescale): LOG.append(("preset", name))
    def GetActiveCamera(self): return _Camera()
    def ResetCamera(self): pass
def GetActiveViewOrCreate(kind): return _Proxy("view")
def XMLImageDataReader(**kw): return _Proxy("vti", **kw)
def XMLPolyDataReader(**kw): return _Proxy("vtp", **kw)
def Show(source, view): return _Proxy("display-" + source.kind)
def ColorBy(display, array): LOG.append(("color", display.kind, array[0], array[1]))
def GetColorTransferFunction(name): return _Proxy("lut")
def Render(view=None): pass
def SaveScreenshot(name, view, **kw): open(name, "w").write("picture")
@atexit.register
def _write():
    with open(os.environ["STUB_LOG"], "w") as out:
        for entry in LOG: out.write(repr(entry) + "\n")
)py";
  const fs::path log = f.Directory / "calls.txt";
  const fs::path picture = f.Directory / "screenshot.png";
  const std::string command = "cd / && STUB_LOG=" + log.string() + " PYTHONPATH=" + stub.parent_path().string() +
                              " python3 " + script.string() + " --screenshot " + picture.string() + " 2> " +
                              errors.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << ReadText(errors);
  EXPECT_TRUE(fs::exists(picture));
  const std::string calls = ReadText(log);
  EXPECT_NE(calls.find("('open', 'vti', 'segmentation.vti')"), std::string::npos) << calls;
  EXPECT_NE(calls.find("('representation', 'display-vti', 'Slice')"), std::string::npos) << calls;
  EXPECT_NE(calls.find("('color', 'display-vti', 'POINTS', 'Intensity')"), std::string::npos) << calls;
  unsigned int surfaces = 0;
  for (const auto & entry : fs::directory_iterator(vtk))
  {
    if (entry.path().extension() == ".vtp")
    {
      ++surfaces;
      EXPECT_NE(calls.find("('open', 'vtp', '" + entry.path().filename().string() + "')"), std::string::npos) << calls;
    }
  }
  EXPECT_EQ(surfaces, 3u);
  std::size_t colored = 0, direct = 0;
  for (std::size_t at = 0; (at = calls.find("('color', 'display-vtp', 'POINTS', 'Color')", at)) != std::string::npos; ++at)
  {
    ++colored;
  }
  for (std::size_t at = 0; (at = calls.find("('set', 'display-vtp', 'MapScalars', 0)", at)) != std::string::npos; ++at)
  {
    ++direct;
  }
  EXPECT_EQ(colored, surfaces);
  EXPECT_EQ(direct, surfaces);
  fs::remove_all(f.Directory);
}
