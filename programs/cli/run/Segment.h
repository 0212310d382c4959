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
#ifndef KMeansCLISegment_h
#define KMeansCLISegment_h

#include "cli/inputs/ImageInput.h"
#include "cli/options/Options.h"
#include "cli/outputs/Report.h"

namespace kmeans_cli
{
/** What one segmentation run reads: the input's header and, if any, the mask's. */
struct SegmentationInputs
{
  ImageInfo Input;
  bool      HasMask{ false };
  ImageInfo Mask;
};

/** The whole kmeans-segment run after option parsing: checks every output path against the inputs, probes
 * the input (and mask) headers and completeness, dispatches on the input's own pixel type and dimension,
 * segments, writes the label map and the report atomically, and prints the class table unless quiet.
 * Throws FileError (one line naming the file) on any failure; nothing is left at an output path then. */
void
RunKMeansSegment(const Options & options, Report & report);

/** The typed pipeline for pixel type TPixel in VDimension dimensions (instantiated in Segment2D.cxx and
 * Segment3D.cxx for the eight scalar types): read -> KMeansSegmentationImageFilter -> write. */
template <typename TPixel, unsigned int VDimension>
void
SegmentImage(const Options & options, SegmentationInputs & inputs, Report & report);

/** The file an exception of the K-means filter is about: the mask for mask problems, else the input. */
std::string
FileForFilterError(const std::string & message, const Options & options);

/** What the scalar segmentation filters (K-means, Gaussian mixture) take from the options alike: the mask (when
 * not null), the foreground threshold and the number of threads. */
template <typename TFilter, typename TMaskImage>
void
SetScalarFilterOptions(TFilter & filter, const TMaskImage * mask, const Options & options)
{
  if (mask != nullptr)
  {
    filter.SetMaskImage(mask);
  }
  if (options.ForegroundThreshold)
  {
    filter.UseForegroundThresholdOn();
    filter.SetForegroundThreshold(*options.ForegroundThreshold);
  }
  if (options.Threads > 0)
  {
    filter.SetNumberOfWorkUnits(options.Threads);
  }
}

/** Update a segmentation filter of the module. An ITK exception becomes a one-line FileError about the file it
 * concerns (FileForFilterError()), with the filter's parameter names replaced by the program's options
 * ("NumberOfClasses" -> "K (-k)", "MaximumNumberOfClasses" -> "--max-k"). */
void
UpdateSegmentationFilter(itk::ProcessObject & filter, const Options & options);

/** Record an image's header facts in the report (an element of "inputs", or the "mask" object). */
ReportJson
DescribeImage(const ImageInfo & info);
} // namespace kmeans_cli

#endif
