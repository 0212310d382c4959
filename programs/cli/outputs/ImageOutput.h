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
#ifndef KMeansCLIImageOutput_h
#define KMeansCLIImageOutput_h

#include "cli/run/ErrorReporting.h"
#include "cli/outputs/WrittenFileCheck.h"

#include "itkImageFileWriter.h"

#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace kmeans_cli
{
/** Checks, before any work, that path can be written: not empty, not a directory, its directory exists and is
 * writable, and it differs from every path in readPaths (by name and, when it exists, by device and inode, so
 * a link or another spelling of an input is refused too). When isImage, ITK must have a writer for its
 * extension. Throws FileError. */
void
CheckOutputPath(const std::string & path, const std::vector<std::string> & readPaths, bool isImage);

/** Checks, before any work, that directory (an output directory the program creates when missing) can be
 * written: an existing directory must be writable, a missing one must be creatable in its nearest existing
 * parent. Throws FileError naming directory. */
void
CheckOutputDirectory(const std::string & directory);

/** Check every output of a run against every input and against each other (two outputs to one file). */
void
CheckOutputPaths(const std::vector<std::string> & writePaths, const std::vector<std::string> & imagePaths,
                 const std::vector<std::string> & readPaths);

/** Writes a file without ever leaving a partial one at its path: the content goes into a temporary directory
 * created beside the target (same file system), under the target's own file name so that format selection
 * by extension and companion files (.mhd + .raw, .hdr + .img) work unchanged; Commit() then renames the files
 * into place, the file named like the target last. If Commit() is not reached (an exception), the destructor
 * removes the temporary directory and everything in it. Both are registered with the interrupt handler
 * (cli/run/Interruption.h): SIGINT or SIGTERM removes the temporary directory, and the files already moved into
 * place by this run. */
class AtomicFileWriter
{
public:
  explicit AtomicFileWriter(const std::string & targetPath);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter &) = delete;
  AtomicFileWriter &
  operator=(const AtomicFileWriter &) = delete;

  /** Where to write: a path inside the temporary directory with the target's file name. */
  const std::string &
  TemporaryPath() const
  {
    return m_TemporaryPath;
  }

  /** Move the written file(s) into place. */
  void
  Commit();

private:
  std::string m_TargetPath;
  std::string m_TemporaryDirectory;
  std::string m_TemporaryPath;
  int         m_CleanupHandle{ -1 };
};

/** message with every occurrence of temporaryPath replaced by path (the user's name for the file). */
std::string
WithUserPath(std::string message, const std::string & temporaryPath, const std::string & path);

/** Write a text file (such as the JSON report) atomically; a short write (a full disk) is an error. */
void
WriteTextFileAtomically(const std::string & path, const std::string & content);

/** Write an image with ITK atomically (compressed where the format allows); ITK exceptions become FileError
 * naming path. With pieces > 1 the writer streams: it asks its input pipeline for that many pieces in turn
 * and writes them uncompressed (only formats whose ImageIO can stream writing, such as MetaImage, keep memory to
 * one piece). What the writer prints on the standard error is held back; the written file is checked
 * (CheckWrittenImage: ITK 5.2's NIfTI and MetaImage writers only print a message on a short write) before it
 * is moved into place, so a full disk is an error naming path and leaves no file. */
template <typename TImage>
void
WriteImageAtomically(const TImage * image, const std::string & path, bool useCompression = true,
                     unsigned int pieces = 1)
{
  AtomicFileWriter atomic(path);
  auto             writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(atomic.TemporaryPath());
  writer->SetUseCompression(useCompression && pieces <= 1);
  writer->SetNumberOfStreamDivisions(pieces);
  CapturedStandardError captured;
  try
  {
    writer->Update();
  }
  catch (const itk::ExceptionObject & exception)
  {
    captured.Release();
    throw FileError(path, "cannot write: " + WithUserPath(OneLine(exception), atomic.TemporaryPath(), path) +
                            NoSpaceNote(atomic.TemporaryPath()));
  }
  const std::string messages = WithUserPath(captured.Release(), atomic.TemporaryPath(), path);
  // The whole image's bytes: a streamed write leaves only the last piece in the image's buffer.
  const auto bytes = static_cast<std::uint64_t>(image->GetLargestPossibleRegion().GetNumberOfPixels()) *
                     image->GetNumberOfComponentsPerPixel() * sizeof(typename TImage::PixelContainer::Element);
  CheckWrittenImage(atomic.TemporaryPath(), path, bytes, messages);
  std::cerr << messages; // the writer's warnings, when the file is whole
  atomic.Commit();
}
} // namespace kmeans_cli

#endif
