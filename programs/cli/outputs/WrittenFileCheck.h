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
#ifndef KMeansCLIWrittenFileCheck_h
#define KMeansCLIWrittenFileCheck_h

#include <cstdint>
#include <string>

namespace kmeans_cli
{
/** Checks that an image file just written (before it is moved into place) holds everything that was meant to
 * be written. ITK 5.2's NIfTI and MetaImage writers only print a message on a short write (a full disk) and
 * return normally, so the file itself is checked, by what its format needs:
 * - NIfTI (.nii, .nii.gz; .hdr + .img[.gz]): vox_offset + pixelBytes bytes of (decompressed) content;
 * - MetaImage (.mha, .mhd + data file): pixelBytes of data after the header, or CompressedDataSize bytes that
 *   decompress to pixelBytes;
 * - NRRD (.nrrd, .nhdr + data file), raw or gzip encoding: pixelBytes of (decompressed) data after the header;
 * - PNG: the file ends with its IEND chunk;
 * - any other format: ITK reads the file back without an error.
 * A compressed stream must also end properly (a cut stream fails). writtenPath is the file written (in the
 * writer's temporary directory, with its companion data file beside it); userPath is the name used in the
 * messages; writerMessages is what the writer printed, quoted in the message. Throws FileError. */
void
CheckWrittenImage(const std::string & writtenPath, const std::string & userPath, std::uint64_t pixelBytes,
                  const std::string & writerMessages);

/** Checks that a text file just written holds exactly expectedBytes bytes (throws FileError naming userPath). */
void
CheckWrittenSize(const std::string & writtenPath, const std::string & userPath, std::uint64_t expectedBytes);

/** " (no space left on device)" when the file system of writtenPath has (almost) no space left, else "". */
std::string
NoSpaceNote(const std::string & writtenPath);

/** While alive, what the process writes to its standard error (file descriptor 2, so also what C libraries
 * such as niftilib print with fprintf) is kept in memory instead. Text() gives it; the destructor restores
 * the standard error. */
class CapturedStandardError
{
public:
  CapturedStandardError();
  ~CapturedStandardError();
  CapturedStandardError(const CapturedStandardError &) = delete;
  CapturedStandardError &
  operator=(const CapturedStandardError &) = delete;

  /** Stop capturing and return everything captured. */
  std::string
  Release();

private:
  int m_SavedDescriptor{ -1 };
  int m_CaptureDescriptor{ -1 };
};
} // namespace kmeans_cli

#endif
