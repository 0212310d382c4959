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

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

/** Helpers shared by the tests that run the programs. */
namespace ProgramTest
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
} // namespace ProgramTest

#endif
