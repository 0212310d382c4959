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
#ifndef KMeansCLIPreviewPlugin_h
#define KMeansCLIPreviewPlugin_h

#include "itkKMeansSegmentationPreview.h"

#include <string>

namespace kmeans_cli
{
/** The interface between kmeans-segment and its VTK preview plugin (`kmeans-segment-preview.so`).
 *
 * kmeans-segment does not link VTK: it loads the plugin with dlopen() only when --preview, --vtk-dir or --show
 * is given, so that a plain segmentation starts without loading VTK's libraries (and the MPI and OpenGL
 * libraries they bring). The plugin is a thin wrapper of the KMeansSegmentationPreview library.
 *
 * Each function returns an empty string on success and the error's description on failure: no exception
 * crosses the boundary between the program and the plugin. */
struct PreviewPluginFunctions
{
  /** PreviewPluginInterfaceVersion of the plugin; the program refuses a plugin of another version. */
  unsigned int InterfaceVersion;

  /** itk::KMeansPreview::RenderPreviewPNG(). */
  std::string (*RenderPicture)(const itk::KMeansPreview::Segmentation & segmentation, const std::string & fileName);

  /** itk::KMeansPreview::WriteParaViewFiles() with the base name "segmentation"; files receives what was
   * written. */
  std::string (*WriteParaView)(const itk::KMeansPreview::Segmentation & segmentation,
                               const std::string &                      directory,
                               itk::KMeansPreview::ParaViewFiles &      files);

  /** itk::KMeansPreview::ShowViewer(): returns when the window is closed. */
  std::string (*ShowViewer)(const itk::KMeansPreview::Segmentation & segmentation);
};

/** Raised whenever the meaning or layout of PreviewPluginFunctions changes. */
constexpr unsigned int PreviewPluginInterfaceVersion = 2;

/** The plugin's one exported symbol: `extern "C" const PreviewPluginFunctions * kmeans_segment_preview_plugin()`. */
constexpr const char * PreviewPluginEntryPoint = "kmeans_segment_preview_plugin";

using PreviewPluginEntry = const PreviewPluginFunctions * (*)();
} // namespace kmeans_cli

#endif
