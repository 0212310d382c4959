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
#ifndef ProgramTestSupport_h
#define ProgramTestSupport_h

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>
#include <sys/wait.h>

/** Helpers shared by the tests that run the programs. */
namespace ProgramTestSupport
{
/** Exit status and captured output of one program run. */
struct RunResult
{
  int         Status{ -1 };
  std::string Out;
  std::string Err;
  std::size_t
  ErrLines() const
  {
    std::size_t n = 0;
    for (const char c : Err)
    {
      n += (c == '\n');
    }
    return n;
  }
};

/** The whole content of a file (empty when it cannot be read). */
inline std::string
ReadFile(const std::filesystem::path & path)
{
  std::ifstream      stream(path, std::ios::binary);
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

/** A word quoted for the POSIX shell. */
inline std::string
Quote(const std::string & s)
{
  std::string q = "'";
  for (const char c : s)
  {
    q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  }
  return q + "'";
}

/** A new directory for one test (removed with everything in it when the object goes), with a hidden scratch
 * directory where the output of the programs it runs is captured, out of Listing()'s sight. */
class TestDirectory
{
public:
  explicit TestDirectory(const std::string & prefix)
  {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr)
    {
      throw std::runtime_error("cannot create a test directory " + pattern);
    }
    m_Directory = pattern;
    m_Scratch = m_Directory / ".scratch";
    std::filesystem::create_directory(m_Scratch);
  }
  ~TestDirectory()
  {
    std::error_code ignored;
    std::filesystem::remove_all(m_Directory, ignored);
  }
  TestDirectory(const TestDirectory &) = delete;
  TestDirectory &
  operator=(const TestDirectory &) = delete;

  const std::filesystem::path &
  Directory() const
  {
    return m_Directory;
  }

  std::filesystem::path
  Path(const std::string & name) const
  {
    return m_Directory / name;
  }

  /** Run executable with args (each quoted), no standard input; capture its exit status, stdout and stderr. */
  RunResult
  Run(const std::string & executable, const std::vector<std::string> & args) const
  {
    std::string command = Quote(executable);
    for (const auto & a : args)
    {
      command += " " + Quote(a);
    }
    const auto out = m_Scratch / "stdout.txt";
    const auto err = m_Scratch / "stderr.txt";
    command += " >" + Quote(out.string()) + " 2>" + Quote(err.string()) + " </dev/null";
    const int raw = std::system(command.c_str());
    RunResult result;
    result.Status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    result.Out = ReadFile(out);
    result.Err = ReadFile(err);
    return result;
  }

  /** Names in the directory, without the scratch directory. */
  std::set<std::string>
  Listing() const
  {
    std::set<std::string> names;
    for (const auto & entry : std::filesystem::directory_iterator(m_Directory))
    {
      if (entry.path() != m_Scratch)
      {
        names.insert(entry.path().filename().string());
      }
    }
    return names;
  }

private:
  std::filesystem::path m_Directory;
  std::filesystem::path m_Scratch;
};

#ifdef KMEANS_SEGMENT_EXECUTABLE
/** The kmeans-segment program under test. */
inline const std::string Program = KMEANS_SEGMENT_EXECUTABLE;
#endif

/** Writes an image with ITK (compressed if asked and the format can). */
template <typename TImage>
void
WriteTestImage(const TImage * image, const std::filesystem::path & path, bool compress = false)
{
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(path.string());
  writer->SetUseCompression(compress);
  writer->Update();
}

/** Reads an image with ITK. */
template <typename TImage>
typename TImage::Pointer
ReadTestImage(const std::filesystem::path & path)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path.string());
  reader->Update();
  return reader->GetOutput();
}
} // namespace ProgramTestSupport

#endif
