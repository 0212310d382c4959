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
#ifndef KMeansTestData_h
#define KMeansTestData_h

#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace KMeansTest
{
/** The directory of real brain scans (see shared/data/SOURCES.md): $KMEANS_DATA_DIR, else
 * $KMEANS_DEFAULT_DATA_DIR (set by the build for ctest), else ../shared/data relative to the working directory.
 * Empty when none exists; tests then skip with GTEST_SKIP() << KMeansTest::MissingDataMessage(). */
inline std::string
DataDirectory()
{
  auto isDirectory = [](const std::string & path) {
    struct stat info;
    return !path.empty() && stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
  };
  for (const char * variable : { "KMEANS_DATA_DIR", "KMEANS_DEFAULT_DATA_DIR" })
  {
    const char * value = std::getenv(variable);
    if (value != nullptr && isDirectory(value))
    {
      return value;
    }
  }
  return isDirectory("../shared/data") ? std::string("../shared/data") : std::string();
}

/** Path of a file in the data directory, or empty when the directory or the file is missing. */
inline std::string
DataFile(const std::string & relative)
{
  const std::string directory = DataDirectory();
  if (directory.empty())
  {
    return {};
  }
  const std::string path = directory + "/" + relative;
  struct stat       info;
  return stat(path.c_str(), &info) == 0 ? path : std::string();
}

inline std::string
MissingDataMessage(const std::string & relative)
{
  return "real scan data not found (" + relative +
         "): set KMEANS_DATA_DIR to the shared data directory (see shared/data/SOURCES.md) to run this test";
}

/** This process's scratch directory, <temporary directory>/kmeans-test-<pid> (ctest points TMPDIR into the build
 * tree): made on the first call and removed with everything in it when the process exits. Tests keep their
 * files in subdirectories of their own. */
inline const std::filesystem::path &
ProcessDirectory()
{
  struct Owned
  {
    std::filesystem::path Path;
    ~Owned()
    {
      std::error_code ignored;
      std::filesystem::remove_all(Path, ignored);
    }
  };
  static const Owned directory{ std::filesystem::temp_directory_path() / ("kmeans-test-" + std::to_string(::getpid())) };
  return directory.Path;
}
} // namespace KMeansTest

#endif
