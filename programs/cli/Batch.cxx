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
#include "cli/Batch.h"

#include "cli/ImageOutput.h"
#include "cli/Options.h"

#include <CLI/CLI.hpp>

#include <cerrno>
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

int
RunBatch(const Options & options, const std::string & executable, const std::vector<std::string> & childArguments,
         std::ostream & log)
{
  const std::string & directory = options.Scan.OutputDirectory;
  std::error_code     error;
  fs::create_directories(directory, error);
  if (error || !fs::is_directory(directory))
  {
    throw FileError(directory, "cannot create the output directory" + (error ? ": " + error.message() : ""));
  }
  std::vector<BatchItem> items = PlanBatch(options.Inputs, directory, options.Scan.OutputSuffix);

  struct Running
  {
    size_t                                Item;
    std::string                           ErrorFile;
    std::chrono::steady_clock::time_point Start;
  };
  std::map<pid_t, Running> running;
  size_t                   next = 0, finished = 0;
  const size_t             jobs = std::max(1u, options.Scan.Jobs);

  auto start = [&](size_t index) {
    BatchItem &              item = items[index];
    std::vector<std::string> arguments = { executable, item.Input };
    arguments.insert(arguments.end(), childArguments.begin(), childArguments.end());
    for (const char * extra : { "-o", "--report", "--quiet" })
    {
      arguments.push_back(extra);
      if (std::string(extra) == "-o")
      {
        arguments.push_back(item.Output);
      }
      else if (std::string(extra) == "--report")
      {
        arguments.push_back(item.Report);
      }
    }
    std::vector<char *> pointers;
    for (std::string & argument : arguments)
    {
      pointers.push_back(argument.data());
    }
    pointers.push_back(nullptr);
    const std::string errorFile =
      (fs::path(directory) / ("." + fs::path(item.Report).stem().string() + ".stderr")).string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errorFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t     pid = 0;
    const int status = posix_spawn(&pid, executable.c_str(), &actions, nullptr, pointers.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (status != 0)
    {
      item.Error = "cannot run " + executable + ": " + std::strerror(status);
      ++finished;
      return;
    }
    running[pid] = { index, errorFile, std::chrono::steady_clock::now() };
  };

  while (finished < items.size())
  {
    while (next < items.size() && running.size() < jobs)
    {
      start(next++);
    }
    if (running.empty())
    {
      continue;
    }
    int         status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0)
    {
      if (errno == EINTR)
      {
        continue;
      }
      throw std::runtime_error(std::string("batch: waiting for a segmentation failed: ") + std::strerror(errno));
    }
    const auto found = running.find(pid);
    if (found == running.end())
    {
      continue;
    }
    BatchItem & item = items[found->second.Item];
    item.Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - found->second.Start).count();
    std::stringstream errors;
    errors << std::ifstream(found->second.ErrorFile).rdbuf();
    fs::remove(found->second.ErrorFile, error);
    running.erase(found);
    ++finished;
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
    }
    else
    {
      item.Error = ErrorLine(errors.str());
      if (item.Error.empty())
      {
        item.Error = WIFSIGNALED(status) ? "terminated by signal " + std::to_string(WTERMSIG(status))
                                         : "exit status " + std::to_string(item.ExitCode);
      }
    }
    log << "[" << finished << "/" << items.size() << "] " << item.Input << ": "
        << (item.Succeeded ? "ok" : "failed: " + item.Error) << std::endl;
  }

  WriteTextFileAtomically((fs::path(directory) / "summary.csv").string(), BatchSummaryCSV(items));
  WriteTextFileAtomically((fs::path(directory) / "summary.json").string(), BatchSummaryJSON(items).dump(2) + "\n");
  size_t failed = 0;
  for (const BatchItem & item : items)
  {
    failed += !item.Succeeded;
  }
  log << items.size() - failed << " of " << items.size() << " inputs segmented; summary in "
      << (fs::path(directory) / "summary.csv").string() << std::endl;
  return failed == 0 ? 0 : 1;
}
} // namespace kmeans_cli
