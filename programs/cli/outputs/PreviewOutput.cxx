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
#include "cli/outputs/PreviewOutput.h"

#include "cli/run/Interruption.h"
#include "cli/run/ErrorReporting.h"
#include "cli/outputs/PreviewPlugin.h"

#include "itkKMeansClassColors.h"

#include <CLI/CLI.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

namespace kmeans_cli
{
namespace
{
namespace fs = std::filesystem;

/** Where the plugin may be: beside the executable (the build tree) and in the installed library directory. */
std::vector<fs::path>
PluginCandidates()
{
  std::error_code ec;
  const fs::path  executable = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
  {
    return {};
  }
  const fs::path directory = executable.parent_path();
  return { directory / KMEANS_PREVIEW_PLUGIN_FILE,
           (directory / KMEANS_PREVIEW_PLUGIN_RELATIVE_DIR / KMEANS_PREVIEW_PLUGIN_FILE).lexically_normal() };
}

fs::path
FindPlugin()
{
  for (const auto & candidate : PluginCandidates())
  {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec))
    {
      return candidate;
    }
  }
  return {};
}

std::string
NoPreviewMessage()
{
  std::string looked;
  for (const auto & candidate : PluginCandidates())
  {
    looked += (looked.empty() ? "" : ", ") + candidate.string();
  }
  return std::string("this kmeans-segment has no VTK preview: its plugin " KMEANS_PREVIEW_PLUGIN_FILE
                     " is not installed (looked for ") +
         looked + "); it is built when VTK 9 (libvtk9-dev) is found at configure time";
}

/** The plugin's functions, loaded on first use and kept for the life of the process (VTK is not unloaded). */
const PreviewPluginFunctions &
Plugin()
{
  static const PreviewPluginFunctions * const functions = [] {
    const fs::path path = FindPlugin();
    if (path.empty())
    {
      throw std::runtime_error(NoPreviewMessage());
    }
    void * handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
    {
      const char * reason = dlerror();
      throw FileError(path.string(), std::string("cannot load the VTK preview plugin: ") +
                                       (reason != nullptr ? reason : "unknown reason"));
    }
    const auto entry = reinterpret_cast<PreviewPluginEntry>(dlsym(handle, PreviewPluginEntryPoint));
    if (entry == nullptr)
    {
      throw FileError(path.string(), std::string("not a kmeans-segment preview plugin (no ") + PreviewPluginEntryPoint + ")");
    }
    const PreviewPluginFunctions * loaded = entry();
    if (loaded == nullptr || loaded->InterfaceVersion != PreviewPluginInterfaceVersion)
    {
      throw FileError(path.string(),
                      "preview plugin of interface version " +
                        std::to_string(loaded == nullptr ? 0U : loaded->InterfaceVersion) + ", this program needs " +
                        std::to_string(PreviewPluginInterfaceVersion) + " (a plugin from another build)");
    }
    return loaded;
  }();
  return *functions;
}

bool
HaveDisplay()
{
  const char * display = std::getenv("DISPLAY");
  return display != nullptr && *display != '\0';
}

/** The Xvfb executable on PATH, or an empty path. */
fs::path
FindXvfb()
{
  const char * path = std::getenv("PATH");
  std::string  directories = path != nullptr ? path : "";
  for (std::size_t begin = 0; begin <= directories.size();)
  {
    std::size_t end = directories.find(':', begin);
    end = end == std::string::npos ? directories.size() : end;
    const fs::path candidate = fs::path(directories.substr(begin, end - begin)) / "Xvfb";
    if (end > begin && ::access(candidate.c_str(), X_OK) == 0)
    {
      return candidate;
    }
    begin = end + 1;
  }
  return {};
}

/** A private X server for rendering without a display, as `xvfb-run -a` gives: Xvfb on a free display number
 * (chosen by Xvfb itself and reported through -displayfd), DISPLAY set while it lives. The destructor stops it
 * and waits for it; when the program dies of a signal (even SIGKILL), the kernel sends Xvfb SIGTERM
 * (PR_SET_PDEATHSIG), so no server is left behind. */
class PrivateXServer
{
public:
  explicit PrivateXServer(const fs::path & xvfb)
  {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
    {
      throw std::runtime_error("cannot start Xvfb for the preview: no pipe");
    }
    // Everything the child needs is prepared before fork(): it only makes async-signal-safe calls.
    const std::string              fd = std::to_string(fds[1]);
    std::vector<std::string>       arguments{ "Xvfb", "-displayfd", fd, "-screen", "0", "1920x1200x24", "-nolisten", "tcp" };
    std::vector<char *>            argv;
    for (auto & argument : arguments)
    {
      argv.push_back(argument.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    m_Pid = ::fork();
    if (m_Pid == 0)
    {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent)
      {
        ::_exit(127);
      }
      ::fcntl(fds[1], F_SETFD, 0);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      ::execv(xvfb.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    if (m_Pid < 0)
    {
      ::close(fds[0]);
      throw std::runtime_error("cannot start Xvfb for the preview: fork failed");
    }
    const std::string display = ReadDisplay(fds[0]);
    ::close(fds[0]);
    if (display.empty())
    {
      Stop();
      throw std::runtime_error("DISPLAY is not set and " + xvfb.string() +
                               " did not start within 20 s; run the program under `xvfb-run -a`");
    }
    m_Display = ":" + display;
    ::setenv("DISPLAY", m_Display.c_str(), 1);
  }

  ~PrivateXServer()
  {
    ::unsetenv("DISPLAY");
    Stop();
  }

  PrivateXServer(const PrivateXServer &) = delete;
  PrivateXServer &
  operator=(const PrivateXServer &) = delete;

  pid_t
  Pid() const
  {
    return m_Pid;
  }
  const std::string &
  Display() const
  {
    return m_Display;
  }

private:
  /** The display number Xvfb writes when it is ready (empty when it exits first or takes over 20 s). */
  static std::string
  ReadDisplay(int fd)
  {
    std::string number;
    const auto  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline)
    {
      pollfd p{ fd, POLLIN, 0 };
      if (::poll(&p, 1, 100) < 0 && errno != EINTR)
      {
        break;
      }
      char          buffer[32];
      const ssize_t n = (p.revents & (POLLIN | POLLHUP)) ? ::read(fd, buffer, sizeof buffer) : -1;
      if (n == 0)
      {
        return {}; // Xvfb exited
      }
      number.append(buffer, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
      if (number.find('\n') != std::string::npos)
      {
        number.erase(number.find('\n'));
        return number.find_first_not_of("0123456789") == std::string::npos ? number : std::string();
      }
    }
    return {};
  }

  /** SIGTERM, then SIGKILL after 5 s; reaps the process. */
  void
  Stop()
  {
    if (m_Pid <= 0)
    {
      return;
    }
    ::kill(m_Pid, SIGTERM);
    for (int i = 0; i < 500; ++i)
    {
      if (::waitpid(m_Pid, nullptr, WNOHANG) != 0)
      {
        m_Pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(m_Pid, SIGKILL);
    ::waitpid(m_Pid, nullptr, 0);
    m_Pid = -1;
  }

  pid_t       m_Pid{ -1 };
  std::string m_Display;
};

/** What an option needs of an X display: none, one to render into (a private Xvfb does), one to show on. */
enum class DisplayNeed
{
  None,
  Render,
  Screen
};

/** A validator that refuses the option when the preview is not available, and without the display it needs. */
CLI::Validator
PreviewValidator(DisplayNeed need, bool png)
{
  return CLI::Validator(
    [=](std::string & value) -> std::string {
      if (!PreviewAvailable())
      {
        return NoPreviewMessage();
      }
      if (png)
      {
        std::string extension = fs::path(value).extension().string();
        std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) {
          return static_cast<char>(std::tolower(c));
        });
        if (extension != ".png")
        {
          return "the picture is written as PNG; give a file name ending in .png, not '" + value + "'";
        }
      }
      if (need == DisplayNeed::Screen && !HaveDisplay())
      {
        return "it opens a window and needs an X display, and DISPLAY is not set";
      }
      if (need == DisplayNeed::Render && !HaveDisplay() && FindXvfb().empty())
      {
        return "it renders with VTK and needs an X display: DISPLAY is not set and Xvfb is not installed (Debian: "
               "apt-get install xvfb), or run the program under `xvfb-run -a`";
      }
      return {};
    },
    "", "preview");
}
} // namespace

bool
PreviewAvailable()
{
  return !FindPlugin().empty();
}

void
AddPreviewOptions(CLI::App & app, Options & options)
{
  const std::string unavailable = PreviewAvailable() ? "" : " (not available: no VTK preview plugin)";
  app.add_option("--preview", options.Preview,
                 "Write a PNG picture of the result: three orthogonal slices with the label overlay, the class "
                 "surfaces in 3-D, the intensity histogram with class means and thresholds, and a legend" +
                   unavailable)
    ->check(PreviewValidator(DisplayNeed::Render, true));
  app.add_option("--vtk-dir", options.VtkDirectory,
                 "Write files for ParaView into this directory: a .vti image (intensity and labels), one .vtp "
                 "surface per class and a .vtm opening them together (LPS coordinates)" +
                   unavailable)
    ->check(PreviewValidator(DisplayNeed::None, false));
  app.add_flag("--show", options.Show,
               "Open the interactive viewer on the result (slices, overlay, class surfaces)" + unavailable)
    ->check(PreviewValidator(DisplayNeed::Screen, false));
}

namespace
{
/** Run write() (a plugin call that writes files as ".NAME.tmpPID" in directory, then renames them) with those
 * temporary files registered for removal on SIGINT or SIGTERM. */
template <typename TWrite>
std::string
WithInterruptCleanup(const std::string & directory, TWrite && write)
{
  const int         handle = RegisterCleanup(CleanupKind::PreviewTemporaries, directory.empty() ? "." : directory);
  const std::string error = write();
  UnregisterCleanup(handle);
  return error;
}
} // namespace

void
WritePreviewOutputs(const Options &                          options,
                    const itk::KMeansPreview::ImageType *      image,
                    const itk::KMeansPreview::LabelImageType * labels,
                    const PreviewClasses &                   classes,
                    Report &                                 report)
{
  // Also reached directly (not only through the template in PreviewOutput.h) when the program's images already
  // have the preview's types: nothing asked for, nothing loaded.
  if (!PreviewRequested(options))
  {
    return;
  }
  namespace preview = itk::KMeansPreview;
  const PreviewPluginFunctions & plugin = Plugin();
  preview::Segmentation          segmentation;
  segmentation.Image = image;
  segmentation.Labels = labels;
  segmentation.Thresholds = classes.Thresholds;
  segmentation.Title = options.Inputs.empty() ? "" : fs::path(options.Inputs.front()).filename().string();
  const auto   K = static_cast<unsigned int>(classes.Means.size());
  const auto   styles = itk::KMeansClassColors::GetClassStyles(K, options.Scan.Tissues);
  const auto & spacing = image->GetSpacing();
  for (unsigned int k = 0; k < K; ++k)
  {
    preview::ClassSummary c;
    c.Label = k + 1;
    c.Name = styles[k].Name;
    c.Color = styles[k].Color;
    c.Count = k < classes.Counts.size() ? classes.Counts[k] : 0;
    c.Mean = classes.Means[k];
    c.VolumeML = static_cast<double>(c.Count) * spacing[0] * spacing[1] * spacing[2] / 1000.0;
    segmentation.Classes.push_back(c);
  }

  ReportJson entry = ReportJson::object();
  if (!options.Preview.empty())
  {
    Stopwatch                       time;
    std::unique_ptr<PrivateXServer> server;
    if (!HaveDisplay())
    {
      server = std::make_unique<PrivateXServer>(FindXvfb());
      entry["x_server"] = { { "program", "Xvfb" }, { "display", server->Display() }, { "pid", server->Pid() } };
    }
    const std::string error = WithInterruptCleanup(fs::path(options.Preview).parent_path().string(), [&]() {
      return plugin.RenderPicture(segmentation, options.Preview);
    });
    if (!error.empty())
    {
      throw FileError(options.Preview, "cannot write the preview picture: " + OneLineDescription(error));
    }
    RegisterCleanup(CleanupKind::WrittenFile, options.Preview);
    entry["picture"] = options.Preview;
    report.SetTiming("preview", time.Seconds());
  }
  if (!options.VtkDirectory.empty())
  {
    Stopwatch              time;
    preview::ParaViewFiles files;
    const std::string      error = WithInterruptCleanup(options.VtkDirectory, [&]() {
      return plugin.WriteParaView(segmentation, options.VtkDirectory, files);
    });
    if (!error.empty())
    {
      throw FileError(options.VtkDirectory, "cannot write the ParaView files: " + OneLineDescription(error));
    }
    for (const std::string & written : files.SurfaceFiles)
    {
      RegisterCleanup(CleanupKind::WrittenFile, written);
    }
    RegisterCleanup(CleanupKind::WrittenFile, files.ImageFile);
    RegisterCleanup(CleanupKind::WrittenFile, files.MultiBlockFile);
    entry["paraview"] = { { "coordinates", "LPS" },
                          { "image", files.ImageFile },
                          { "surfaces", files.SurfaceFiles },
                          { "multiblock", files.MultiBlockFile },
                          { "paraview_script", files.ScriptFile } };
    report.SetTiming("paraview", time.Seconds());
  }
  if (!entry.empty())
  {
    report["preview"] = entry;
  }
  if (options.Show)
  {
    if (const std::string error = plugin.ShowViewer(segmentation); !error.empty())
    {
      throw std::runtime_error("--show: " + OneLineDescription(error));
    }
  }
}
} // namespace kmeans_cli
