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
#ifndef KMeansCLIPreviewOutput_h
#define KMeansCLIPreviewOutput_h

#include "cli/options/Options.h"
#include "cli/outputs/Report.h"

#include "itkIntTypes.h"
#include "itkKMeansSegmentationPreview.h"

#include <string>
#include <vector>

namespace kmeans_cli
{
/** Whether --preview, --vtk-dir and --show can work: this build has the VTK preview (VTK 9 was found at
 * configure time) and its plugin, kmeans-segment-preview.so (see PreviewPlugin.h), is where the program looks
 * for it: beside the executable, or in the library directory of an installation. */
bool
PreviewAvailable();

/** Register --preview FILE.png, --vtk-dir DIR and --show on app, bound to options. When the preview is not
 * available each of them is a usage error that says why; --preview and --show without an X display are usage
 * errors that advise `xvfb-run -a`. */
void
AddPreviewOptions(CLI::App & app, Options & options);

/** The class statistics the preview shows, from the segmentation filter. */
struct PreviewClasses
{
  std::vector<double>             Means;
  std::vector<itk::SizeValueType> Counts;
  std::vector<double>             Thresholds;
};

/** True when the options ask for a preview picture, ParaView files or the viewer. */
inline bool
PreviewRequested(const Options & options)
{
  return !options.Preview.empty() || !options.VtkDirectory.empty() || options.Show;
}

/** Write the preview picture and the ParaView files, then open the viewer, as the options ask, through the
 * preview plugin (loaded on first use; not at all when nothing is asked for). */
void
WritePreviewOutputs(const Options &                          options,
                    const itk::KMeansPreview::ImageType *      image,
                    const itk::KMeansPreview::LabelImageType * labels,
                    const PreviewClasses &                   classes,
                    Report &                                 report);

/** The same for the program's own image types (any scalar 2-D or 3-D image and its label map): converts them
 * to the preview's types when an output of the preview was asked for; otherwise does nothing. */
template <typename TImage, typename TLabelImage>
void
WritePreviewOutputs(const Options &        options,
                    const TImage *         image,
                    const TLabelImage *    labels,
                    const PreviewClasses & classes,
                    Report &               report)
{
  if (!PreviewRequested(options))
  {
    return;
  }
  const auto previewImage = itk::KMeansPreview::ToPreviewImage(image);
  const auto previewLabels = itk::KMeansPreview::ToPreviewLabels(labels);
  WritePreviewOutputs(options, previewImage.GetPointer(), previewLabels.GetPointer(), classes, report);
}
} // namespace kmeans_cli

#endif
