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
#include "itkKMeansSegmentationMemory.h"

#include <cstdint>

#if defined(__linux__)
#  include <sys/mman.h>
#  include <unistd.h>
#endif

namespace itk
{
namespace KMeansSegmentationMemory
{
void
AdviseHugePages(const void * buffer, std::size_t bytes) noexcept
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (buffer == nullptr || bytes < HugePageAdviceThreshold)
  {
    return;
  }
  const long pageSize = sysconf(_SC_PAGESIZE);
  if (pageSize <= 0)
  {
    return;
  }
  const auto page = static_cast<std::uintptr_t>(pageSize);
  const auto first = (reinterpret_cast<std::uintptr_t>(buffer) + page - 1) / page * page;
  const auto last = (reinterpret_cast<std::uintptr_t>(buffer) + bytes) / page * page;
  if (last > first)
  {
    // Advice only: a failure (transparent huge pages disabled, an old kernel) changes nothing but speed.
    (void)madvise(reinterpret_cast<void *>(first), last - first, MADV_HUGEPAGE);
  }
#else
  (void)buffer;
  (void)bytes;
#endif
}
} // namespace KMeansSegmentationMemory
} // end namespace itk
