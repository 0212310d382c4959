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
#ifndef KMeansCLI_PngChunks_h
#define KMeansCLI_PngChunks_h

#include <string>

namespace kmeans_cli
{
/** Walks the chunks of a PNG file (PNG specification, section 5) from the signature to the header of the first
 * IDAT chunk, as libpng 1.6's png_read_info reads them, and refuses what makes libpng stop there: a chunk
 * header or chunk cut short by the end of the file, a length over 2^31 - 1 (or over libpng's limits: 8,000,000
 * bytes for a chunk other than IDAT, the compressed size of the whole image for IDAT), a chunk type that is not
 * four letters, a first chunk other than IHDR, an IHDR of a length other than 13 or with invalid fields (size 0
 * or over libpng's 1,000,000 pixels, bit depth, colour type, methods), a CRC error in IHDR or PLTE, a second IHDR
 * or PLTE, an invalid palette, IEND or an unknown critical chunk before IDAT, a palette image without PLTE.
 *
 * ITK 5.2's PNGImageIO::ReadImageInformation calls png_read_info without setting libpng's error jump, so on
 * such a file libpng aborts the program. Reading the chunk headers first turns it into a one-line error.
 *
 * Throws FileError naming \a fileName, the chunk and its byte offset. */
void
CheckPngChunks(const std::string & fileName);
} // namespace kmeans_cli

#endif
