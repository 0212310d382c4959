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
#include "cli/outputs/ImageOutput.h"

#include "cli/run/Interruption.h"

#include "itkImageIOFactory.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace kmeans_cli
{
namespace
{
std::string
DirectoryOf(const std::string & path)
{
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos)
  {
    return ".";
  }
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

std::string
FileNameOf(const std::string & path)
{
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/** Absolute, normalised path (the directory resolved through realpath, the file name kept). */
std::string
Canonical(const std::string & path)
{
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) != nullptr)
  {
    return resolved;
  }
  if (realpath(DirectoryOf(path).c_str(), resolved) != nullptr)
  {
    return std::string(resolved) + "/" + FileNameOf(path);
  }
  return path;
}

bool
SameFile(const std::string & a, const std::string & b)
{
  if (Canonical(a) == Canonical(b))
  {
    return true;
  }
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
} // namespace

void
CheckOutputPath(const std::string & path, const std::vector<std::string> & readPaths, bool isImage)
{
  if (path.empty())
  {
    throw FileError("(empty path)", "no output file name given");
  }
  for (const auto & input : readPaths)
  {
    if (SameFile(path, input))
    {
      throw FileError(path, "is also an input (" + input + "); refusing to overwrite an input");
    }
  }
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
  {
    throw FileError(path, "is a directory; an output file name is expected");
  }
  const std::string directory = DirectoryOf(path);
  if (stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
  {
    throw FileError(path, "its directory " + directory + " does not exist");
  }
  if (access(directory.c_str(), W_OK | X_OK) != 0)
  {
    throw FileError(path, "its directory " + directory +
                            (errno == EROFS ? " is on a read-only file system" : " is not writable"));
  }
  if (isImage)
  {
    CapturedMessages quiet;
    if (!itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::IOFileModeEnum::WriteMode))
    {
      throw FileError(path, "ITK has no writer for this file name extension (use e.g. .nii.gz, .nrrd, .mha, .png)");
    }
  }
}

void
CheckOutputDirectory(const std::string & directory)
{
  if (directory.empty())
  {
    throw FileError("(empty path)", "no output directory given");
  }
  std::string existing = directory;
  struct stat info
  {};
  while (stat(existing.c_str(), &info) != 0 && existing != "." && existing != "/")
  {
    existing = DirectoryOf(existing);
  }
  if (!S_ISDIR(info.st_mode))
  {
    throw FileError(directory, existing == directory ? "is not a directory" : existing + " is not a directory");
  }
  if (access(existing.c_str(), W_OK | X_OK) != 0)
  {
    const std::string reason = errno == EROFS ? "is on a read-only file system" : "is not writable";
    throw FileError(directory, existing == directory ? reason : "cannot be created: " + existing + " " + reason);
  }
}

void
CheckOutputPaths(const std::vector<std::string> & writePaths, const std::vector<std::string> & imagePaths,
                 const std::vector<std::string> & readPaths)
{
  for (std::size_t i = 0; i < writePaths.size(); ++i)
  {
    const bool isImage = std::find(imagePaths.begin(), imagePaths.end(), writePaths[i]) != imagePaths.end();
    CheckOutputPath(writePaths[i], readPaths, isImage);
    for (std::size_t j = 0; j < i; ++j)
    {
      if (SameFile(writePaths[i], writePaths[j]))
      {
        throw FileError(writePaths[i], "is given for two outputs");
      }
    }
  }
}

AtomicFileWriter::AtomicFileWriter(const std::string & targetPath)
  : m_TargetPath(targetPath)
{
  InterruptsHeld    held; // the directory exists only together with its entry in the interrupt handler's table
  std::string pattern = DirectoryOf(targetPath) + "/." + FileNameOf(targetPath) + ".tmp-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr)
  {
    throw FileError(targetPath, std::string("cannot create a temporary directory beside it: ") + std::strerror(errno));
  }
  m_TemporaryDirectory = buffer.data();
  m_TemporaryPath = m_TemporaryDirectory + "/" + FileNameOf(targetPath);
  m_CleanupHandle = RegisterCleanup(CleanupKind::TemporaryDirectory, m_TemporaryDirectory);
}

AtomicFileWriter::~AtomicFileWriter()
{
  InterruptsHeld held;
  if (DIR * directory = opendir(m_TemporaryDirectory.c_str()))
  {
    while (const dirent * entry = readdir(directory))
    {
      const std::string name = entry->d_name;
      if (name != "." && name != "..")
      {
        std::remove((m_TemporaryDirectory + "/" + name).c_str());
      }
    }
    closedir(directory);
  }
  rmdir(m_TemporaryDirectory.c_str());
  UnregisterCleanup(m_CleanupHandle);
}

void
AtomicFileWriter::Commit()
{
  const std::string targetDirectory = DirectoryOf(m_TargetPath);
  const std::string mainName = FileNameOf(m_TargetPath);
  std::vector<std::string> companions;
  bool                     mainWritten = false;
  if (DIR * directory = opendir(m_TemporaryDirectory.c_str()))
  {
    while (const dirent * entry = readdir(directory))
    {
      const std::string name = entry->d_name;
      if (name == mainName)
      {
        mainWritten = true;
      }
      else if (name != "." && name != "..")
      {
        companions.push_back(name);
      }
    }
    closedir(directory);
  }
  if (!mainWritten)
  {
    throw FileError(m_TargetPath, "the writer produced no file");
  }
  companions.push_back(mainName); // the file the user named appears last, when everything it needs is there
  InterruptsHeld held;
  for (const auto & name : companions)
  {
    const std::string from = m_TemporaryDirectory + "/" + name;
    const std::string to = targetDirectory + "/" + name;
    if (std::rename(from.c_str(), to.c_str()) != 0)
    {
      throw FileError(to, std::string("cannot move the written file into place: ") + std::strerror(errno));
    }
    RegisterCleanup(CleanupKind::WrittenFile, to);
  }
}

void
WriteTextFileAtomically(const std::string & path, const std::string & content)
{
  AtomicFileWriter atomic(path);
  {
    std::ofstream stream(atomic.TemporaryPath(), std::ios::binary);
    stream << content;
    stream.close(); // the last buffered bytes reach the file (or fail) here
    if (!stream)
    {
      throw FileError(path, std::string("cannot write: ") + std::strerror(errno));
    }
  }
  CheckWrittenSize(atomic.TemporaryPath(), path, content.size());
  atomic.Commit();
}

std::string
WithUserPath(std::string message, const std::string & temporaryPath, const std::string & path)
{
  for (auto at = message.find(temporaryPath); at != std::string::npos; at = message.find(temporaryPath, at + path.size()))
  {
    message.replace(at, temporaryPath.size(), path);
  }
  return message;
}
} // namespace kmeans_cli
