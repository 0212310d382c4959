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
#ifndef itkKMeansSegmentationMemory_h
#define itkKMeansSegmentationMemory_h

#include "KMeansSegmentationExport.h"

#include <cstddef>

namespace itk
{
/** \brief Memory advice for the large image buffers of the module's filters and programs.
 *
 * A new image buffer is backed by the operating system page by page as it is first written. On Linux that
 * means one page fault per 4 KiB, which in some virtual machines costs more than the computation that fills
 * the buffer: about 18 microseconds a page, 75 ms for a 16 MiB label map, against 9 ms when the same buffer
 * is backed by 2 MiB transparent huge pages. AdviseHugePages() asks the kernel for transparent huge pages for
 * one buffer (madvise(MADV_HUGEPAGE), as NumPy does for its arrays of 4 MiB and more). Call it after the
 * buffer is allocated and before it is first written.
 *
 * It is advice only: results never change. It does nothing for buffers under 4 MiB, on systems other than
 * Linux, and where the administrator has turned transparent huge pages off.
 *
 * \ingroup KMeansSegmentation
 */
namespace KMeansSegmentationMemory
{
/** Buffers smaller than this are left alone (NumPy's threshold). */
constexpr std::size_t HugePageAdviceThreshold = std::size_t{ 4 } << 20;

/** Advise transparent huge pages for the whole 4 KiB pages inside [buffer, buffer + bytes). */
KMeansSegmentation_EXPORT void
AdviseHugePages(const void * buffer, std::size_t bytes) noexcept;

/** The same for the pixel buffer of an image (itk::Image or itk::VectorImage) once it is allocated. */
template <typename TImage>
void
AdviseHugePages(const TImage * image) noexcept
{
  if (image != nullptr && image->GetPixelContainer() != nullptr)
  {
    using ElementType = typename TImage::PixelContainer::Element;
    AdviseHugePages(image->GetBufferPointer(),
                    image->GetPixelContainer()->Size() * sizeof(ElementType));
  }
}
} // namespace KMeansSegmentationMemory
} // end namespace itk

#endif
