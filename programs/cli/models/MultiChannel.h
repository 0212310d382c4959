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
#ifndef KMeansCLIMultiChannel_h
#define KMeansCLIMultiChannel_h

// Several INPUTs with -o: the co-registered channels of one scan (T1, T2, PD, FLAIR...), segmented together by
// itk::MultiChannelKMeansSegmentationImageFilter. Several INPUTs with --output-dir remain a batch (cli/batch/Batch.h).
#include "cli/inputs/ImageInput.h"
#include "cli/options/Options.h"
#include "cli/outputs/Report.h"

#include <iosfwd>
#include <vector>

namespace CLI
{
class App;
}

namespace kmeans_cli
{
/** Register --standardize, --seed and --restarts on app, bound to options.Channels. */
void
AddMultiChannelOptions(CLI::App & app, Options & options);

/** The multi-channel run (options.Inputs holds two or more channels): checks the outputs against the inputs,
 * probes every channel (header, supported pixel type, completeness), reads each as float, composes them (one
 * error naming both files and both geometries when they differ), segments, writes the label map (.seg.nrrd
 * too), the report and the preview, and prints the class table with one mean per channel unless quiet.
 * With one INPUT it only checks that no multi-channel option was given (throws FileError then).
 *
 * Rules: channels are converted to float (exact for integers up to 2^24 in magnitude); --mask applies as for one
 * channel; --foreground-threshold V / --nonzero classify only voxels whose FIRST channel is above V (combined
 * with --mask when both are given); labels 1..K are in ascending order of the first channel's class mean. */
void
RunMultiChannelSegment(const Options & options, Report & report);

/** Throws FileError when a multi-channel option is given with a single INPUT. */
void
CheckSingleChannelOptions(const Options & options);

/** The typed part for dimension VDimension (MultiChannel2D.cxx, MultiChannel3D.cxx): read, compose, segment,
 * write, report. */
template <unsigned int VDimension>
void
SegmentChannels(const Options & options, std::vector<ImageInfo> & channels, const ImageInfo * mask, Report & report);

/** The class table with one mean column per channel. */
void
PrintMultiChannelSummary(const Report & report, std::ostream & os);
} // namespace kmeans_cli

#endif
