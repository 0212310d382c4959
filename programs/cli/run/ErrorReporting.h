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
#ifndef KMeansCLIErrorReporting_h
#define KMeansCLIErrorReporting_h

#include "itkMacro.h"

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kmeans_cli
{
/** A runtime error about one file: what() is "FILE: problem", on one line. The program prints it as
 * "kmeans-segment: error: FILE: problem" and exits with status 1. */
class FileError : public std::runtime_error
{
public:
  FileError(const std::string & file, const std::string & problem);

  const std::string &
  File() const
  {
    return m_File;
  }

private:
  std::string m_File;
};

/** Collapse whitespace runs (newlines included) to single spaces and trim. */
std::string
OneLine(const std::string & text);

/** The description of an ITK exception on one line, without ITK's "ITK ERROR: Class(0x...):" prefix and
 * without the source location. */
std::string
OneLine(const itk::ExceptionObject & exception);

/** The same for the text of an ITK exception description (as itk::ExceptionObject::GetDescription() gives). */
std::string
OneLineDescription(std::string description);

/** While alive, collects the text that ITK (itk::OutputWindow) and GDCM (gdcm::Trace warnings and errors)
 * print, instead of letting it reach the console. Readers report some failures only this way (a MetaImage
 * "not read completely", a DICOM file with "Incomplete Pixel Data"). Not thread-safe: use around one
 * reader's Update() at a time. */
class CapturedMessages
{
public:
  CapturedMessages();
  ~CapturedMessages();
  CapturedMessages(const CapturedMessages &) = delete;
  CapturedMessages &
  operator=(const CapturedMessages &) = delete;

  /** Everything captured so far. */
  std::string
  Text() const;

  /** The first captured line that says data is missing or a read failed, or empty. */
  std::string
  FirstFailure() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};
} // namespace kmeans_cli

#endif
