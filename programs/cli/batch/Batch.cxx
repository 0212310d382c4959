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
#include "cli/batch/Batch.h"

#include "cli/outputs/ImageOutput.h"
#include "cli/run/Interruption.h"
#include "cli/options/Options.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char ** environ;

namespace kmeans_cli
{
namespace
{
namespace fs = std::filesystem;

std::string
Stem(std::string path)
{
  while (path.size() > 1 && path.back() == '/')
  {
    path.pop_back();
  }
  std::string name = fs::path(path).filename().string();
  for (const char * extension : { ".gz", ".bz2" })
  {
    const std::string e(extension);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
    {
      name.erase(name.size() - e.size());
    }
  }
  if (!fs::is_directory(path))
  {
    const auto dot = name.find_last_of('.');
    if (dot != std::string::npos && dot > 0)
    {
      name.erase(dot);
    }
  }
  return name.empty() ? std::string("input") : name;
}

std::string
CsvField(const std::string & text)
{
  if (text.find_first_of(",\"\n") == std::string::npos)
  {
    return text;
  }
  std::string quoted = "\"";
  for (const char c : text)
  {
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return quoted + "\"";
}

/** The last line of \a text that holds an error message, without the program name. */
std::string
ErrorLine(const std::string & text)
{
  std::istringstream lines(text);
  std::string        line, last;
  while (std::getline(lines, line))
  {
    if (!line.empty())
    {
      last = line;
    }
    if (line.find("error:") != std::string::npos)
    {
      last = line;
      break;
    }
  }
  const auto at = last.find("error: ");
  return at == std::string::npos ? last : last.substr(at + 7);
}
} // namespace

std::vector<BatchItem>
PlanBatch(const std::vector<std::string> & inputs, const std::string & outputDirectory, const std::string & suffix)
{
  std::vector<BatchItem>     items;
  std::map<std::string, int> uses;
  for (const std::string & input : inputs)
  {
    std::string stem = Stem(input);
    const int   use = ++uses[stem];
    if (use > 1)
    {
      stem += "-" + std::to_string(use);
    }
    BatchItem item;
    item.Input = input;
    item.Output = (fs::path(outputDirectory) / (stem + suffix)).string();
    item.Report = (fs::path(outputDirectory) / (stem + ".json")).string();
    items.push_back(item);
  }
  return items;
}

namespace
{
/** Write summary.csv and summary.json of items; end by signal when the batch was interrupted (signal != 0, or
 * a signal came meanwhile), else return 0 when every input succeeded, 1 otherwise. */
int
FinishBatch(const std::vector<BatchItem> & items, const std::string & directory, int signal, std::ostream & log)
{
  size_t failed = 0;
  for (const BatchItem & item : items)
  {
    failed += !item.Succeeded;
  }
  WriteTextFileAtomically((fs::path(directory) / "summary.csv").string(), BatchSummaryCSV(items));
  WriteTextFileAtomically((fs::path(directory) / "summary.json").string(), BatchSummaryJSON(items).dump(2) + "\n");
  log << items.size() - failed << " of " << items.size() << " inputs segmented; summary in "
      << (fs::path(directory) / "summary.csv").string() << std::endl;
  if (const int received = signal != 0 ? signal : InterruptSignal())
  {
    EndBySignal(received); // also for a signal that came while the summary was written
  }
  return failed == 0 ? 0 : 1;
}
} // namespace

std::vector<std::string>
BatchChildArguments(const CLI::App & app, const Options & options, int argc, const char * const * argv)
{
  const std::set<std::string> dropWithValue = { "--output-dir", "-j", "--jobs", "--output-suffix", "--report" };
  const std::set<std::string> inputs(options.Inputs.begin(), options.Inputs.end());
  std::vector<std::string>    arguments;
  bool                        previousTakesValue = false;
  for (int i = 1; i < argc; ++i)
  {
    const std::string argument = argv[i];
    const std::string name = argument.substr(0, argument.find('='));
    if (dropWithValue.count(name) != 0)
    {
      i += argument.find('=') == std::string::npos ? 1 : 0;
      previousTakesValue = false;
      continue;
    }
    if (argument.size() > 2 && argument.compare(0, 2, "-j") == 0 && std::isdigit(static_cast<unsigned char>(argument[2])))
    {
      continue;
    }
    if (!previousTakesValue && inputs.count(argument) != 0)
    {
      continue;
    }
    arguments.push_back(argument);
    previousTakesValue = false;
    if (argument.size() > 1 && argument[0] == '-' && argument.find('=') == std::string::npos)
    {
      const CLI::Option * option = app.get_option_no_throw(argument);
      previousTakesValue = option != nullptr && option->get_type_size_min() > 0;
    }
  }
  return arguments;
}

int
RunBatchFromCommandLine(const CLI::App & app, const Options & options, int argc, const char * const * argv)
{
  std::error_code   error;
  const fs::path    self = fs::read_symlink("/proc/self/exe", error);
  const std::string executable = error ? std::string(argv[0]) : self.string();
  try
  {
    return RunBatch(options, executable, BatchChildArguments(app, options, argc, argv), std::cerr);
  }
  catch (const std::exception & exception)
  {
    std::cerr << "kmeans-segment: error: " << OneLine(exception.what()) << std::endl;
    return 1;
  }
}

std::string
BatchSummaryCSV(const std::vector<BatchItem> & items)
{
  size_t classes = 0;
  for (const BatchItem & item : items)
  {
    classes = std::max(classes, item.Classes.size());
  }
  std::ostringstream csv;
  csv << "input,status,output,seconds";
  for (size_t k = 1; k <= classes; ++k)
  {
    csv << ",class" << k << "_volume_ml";
  }
  csv << ",error\n";
  for (const BatchItem & item : items)
  {
    csv << CsvField(item.Input) << "," << (item.Succeeded ? "ok" : "failed") << ","
        << CsvField(item.Succeeded ? item.Output : std::string()) << "," << item.Seconds;
    for (size_t k = 0; k < classes; ++k)
    {
      csv << ",";
      if (k < item.Classes.size())
      {
        const nlohmann::json & c = item.Classes[k];
        if (c.contains("volume_ml"))
        {
          csv << c["volume_ml"].get<double>();
        }
        else if (c.contains("area_mm2"))
        {
          csv << c["area_mm2"].get<double>();
        }
      }
    }
    csv << "," << CsvField(item.Error) << "\n";
  }
  return csv.str();
}

nlohmann::json
BatchSummaryJSON(const std::vector<BatchItem> & items)
{
  nlohmann::json list = nlohmann::json::array();
  size_t         failed = 0;
  for (const BatchItem & item : items)
  {
    failed += !item.Succeeded;
    nlohmann::json entry = { { "input", item.Input },
                             { "status", item.Succeeded ? "ok" : "failed" },
                             { "seconds", item.Seconds },
                             { "exit_code", item.ExitCode } };
    if (item.Succeeded)
    {
      entry["output"] = item.Output;
      entry["report"] = item.Report;
      entry["classes"] = item.Classes;
    }
    else
    {
      entry["error"] = item.Error;
    }
    list.push_back(entry);
  }
  return { { "inputs", items.size() }, { "failed", failed }, { "results", list } };
}

namespace
{
/** A child of the batch: which item it segments, where its standard error goes, when it started. */
struct RunningChild
{
  size_t                                Item;
  std::string                           ErrorFile;
  std::chrono::steady_clock::time_point Start;
};

const char *
SignalName(int signal)
{
  switch (signal)
  {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

/** Start the program on item (stdout to /dev/null, stderr to a hidden file in the output directory, the signal
 * mask the batch started with); returns 0 and sets item.Error when it cannot be started. */
pid_t
StartChild(BatchItem & item, const std::string & executable, const std::vector<std::string> & childArguments,
           const std::string & errorFile, const sigset_t & childMask)
{
  std::vector<std::string> arguments = { executable, item.Input };
  arguments.insert(arguments.end(), childArguments.begin(), childArguments.end());
  arguments.insert(arguments.end(), { "-o", item.Output, "--report", item.Report, "--quiet" });
  std::vector<char *> pointers;
  for (std::string & argument : arguments)
  {
    pointers.push_back(argument.data());
  }
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errorFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setsigmask(&attributes, &childMask);
  pid_t     pid = 0;
  const int status = posix_spawn(&pid, executable.c_str(), &actions, &attributes, pointers.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (status != 0)
  {
    item.Error = "cannot run " + executable + ": " + std::strerror(status);
    return 0;
  }
  return pid;
}

/** Record how the child of item ended (wait status), from its exit status, stderr and JSON report. */
void
FinishChild(BatchItem & item, const RunningChild & child, int status)
{
  item.Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - child.Start).count();
  std::stringstream errors;
  errors << std::ifstream(child.ErrorFile).rdbuf();
  std::error_code ignored;
  fs::remove(child.ErrorFile, ignored);
  item.ExitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (item.ExitCode == 0)
  {
    try
    {
      std::ifstream  reportFile(item.Report);
      nlohmann::json report = nlohmann::json::parse(reportFile);
      item.Classes = report.value("classes", nlohmann::json::array());
      item.Succeeded = true;
    }
    catch (const std::exception & exception)
    {
      item.Error = item.Report + ": unreadable report: " + exception.what();
    }
    return;
  }
  item.Error = WIFSIGNALED(status) ? std::string() : ErrorLine(errors.str());
  if (item.Error.empty())
  {
    item.Error = WIFSIGNALED(status) ? std::string("interrupted by ") + SignalName(WTERMSIG(status))
                                     : "exit status " + std::to_string(item.ExitCode);
  }
}

/** Pass signal on to every running child and wait for them (SIGKILL after 10 s): each removes its own
 * temporary files and outputs. */
void
StopChildren(std::map<pid_t, RunningChild> & running, std::vector<BatchItem> & items, int signal)
{
  for (const auto & child : running)
  {
    kill(child.first, signal);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!running.empty())
  {
    int         status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0 && running.count(pid) != 0)
    {
      FinishChild(items[running[pid].Item], running[pid], status);
      running.erase(pid);
    }
    else if (pid < 0 && errno != EINTR)
    {
      break;
    }
    else if (pid == 0)
    {
      if (std::chrono::steady_clock::now() > deadline)
      {
        for (const auto & child : running)
        {
          kill(child.first, SIGKILL);
        }
      }
      usleep(20000);
    }
  }
}

void
NoteChildEnded(int)
{}
} // namespace

int
RunBatch(const Options & options, const std::string & executable, const std::vector<std::string> & childArguments,
         std::ostream & log)
{
  const std::string & directory = options.Scan.OutputDirectory;
  CheckOutputDirectory(directory);
  std::error_code error;
  fs::create_directories(directory, error);
  if (error || !fs::is_directory(directory))
  {
    throw FileError(directory, "cannot create the output directory" + (error ? ": " + error.message() : ""));
  }
  std::vector<BatchItem> items = PlanBatch(options.Inputs, directory, options.Scan.OutputSuffix);

  // SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked except inside sigsuspend(), so none is lost between a
  // check and the wait; the children start with the mask the batch had.
  InstallInterruptHandlers(InterruptMode::Defer);
  struct sigaction onChild;
  std::memset(&onChild, 0, sizeof(onChild));
  onChild.sa_handler = NoteChildEnded;
  sigaction(SIGCHLD, &onChild, nullptr);
  sigset_t blocked, childMask;
  sigemptyset(&blocked);
  for (const int signal : { SIGINT, SIGTERM, SIGHUP, SIGCHLD })
  {
    sigaddset(&blocked, signal);
  }
  sigprocmask(SIG_BLOCK, &blocked, &childMask);
  sigset_t waitMask = childMask;
  for (const int signal : { SIGINT, SIGTERM, SIGHUP, SIGCHLD })
  {
    sigdelset(&waitMask, signal);
  }

  std::map<pid_t, RunningChild> running;
  size_t                        next = 0, finished = 0;
  const size_t                  jobs = std::max(1u, options.Scan.Jobs);
  auto report = [&](const BatchItem & item) {
    log << "[" << ++finished << "/" << items.size() << "] " << item.Input << ": "
        << (item.Succeeded ? "ok" : "failed: " + item.Error) << std::endl;
  };
  while (finished < items.size() && InterruptSignal() == 0)
  {
    while (next < items.size() && running.size() < jobs)
    {
      BatchItem &       item = items[next];
      const std::string errorFile =
        (fs::path(directory) / ("." + fs::path(item.Report).stem().string() + ".stderr")).string();
      if (const pid_t pid = StartChild(item, executable, childArguments, errorFile, childMask))
      {
        running[pid] = { next, errorFile, std::chrono::steady_clock::now() };
      }
      else
      {
        report(item);
      }
      ++next;
    }
    int   status = 0;
    pid_t pid = 0;
    bool  reaped = false;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0)
    {
      if (const auto found = running.find(pid); found != running.end())
      {
        FinishChild(items[found->second.Item], found->second, status);
        report(items[found->second.Item]);
        running.erase(found);
        reaped = true;
      }
    }
    if (!reaped && !running.empty() && InterruptSignal() == 0)
    {
      sigsuspend(&waitMask);
    }
  }
  // Unblocked, a signal still pending (children killed by the same Ctrl-C can all end, and be reaped, before
  // the batch waits again) reaches the handler now.
  sigprocmask(SIG_SETMASK, &childMask, nullptr);
  const int signal = InterruptSignal();
  if (signal != 0)
  {
    log << "kmeans-segment: interrupted by " << SignalName(signal) << ": stopping " << running.size()
        << " running segmentation" << (running.size() == 1 ? "" : "s") << std::endl;
    StopChildren(running, items, signal);
    for (BatchItem & item : items)
    {
      if (!item.Succeeded && item.Error.empty())
      {
        item.Error = std::string("not run: the batch was interrupted by ") + SignalName(signal);
      }
    }
  }
  return FinishBatch(items, directory, signal, log);
}
} // namespace kmeans_cli
