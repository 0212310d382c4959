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
#ifndef KMeansCLIHeaderBytes_h
#define KMeansCLIHeaderBytes_h

// Reading file headers byte by byte: shared by the NIfTI header reader (cli/inputs/NiftiHeader.cxx) and the check of
// written files (cli/outputs/WrittenFileCheck.cxx).
#include <algorithm>
#include <cstring>
#include <string>

namespace kmeans_cli
{
/** Whether name ends with suffix, ignoring case (".NII.GZ" ends with ".nii.gz"). */
bool
HasSuffix(const std::string & name, const std::string & suffix);

/** The value of type T stored at offset of bytes (which holds at least offset + sizeof(T) bytes), in the other
 * byte order when swap. */
template <typename T>
T
ReadField(const std::string & bytes, std::size_t offset, bool swap)
{
  char raw[sizeof(T)];
  std::memcpy(raw, bytes.data() + offset, sizeof(T));
  if (swap)
  {
    std::reverse(raw, raw + sizeof(T));
  }
  T value;
  std::memcpy(&value, raw, sizeof(T));
  return value;
}
} // namespace kmeans_cli

#endif
