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

// kmeans-segment-preview.so: the VTK preview of kmeans-segment (--preview, --vtk-dir, --show), loaded by the
// program only when one of those options is given. See cli/outputs/PreviewPlugin.h.

#include "cli/outputs/PreviewPlugin.h"

#include "itkMacro.h"

#include <exception>

namespace
{
namespace preview = itk::KMeansPreview;

/** Run action; an exception becomes its message (the program makes it one line). */
template <typename TAction>
std::string
Guarded(TAction && action)
{
  std::string message;
  try
  {
    action();
    return message;
  }
  catch (const itk::ExceptionObject & error)
  {
    message = error.GetDescription();
  }
  catch (const std::exception & error)
  {
    message = error.what();
  }
  catch (...)
  {
    message = "unknown error";
  }
  return message.empty() ? std::string("unknown error") : message;
}

std::string
RenderPicture(const preview::Segmentation & segmentation, const std::string & fileName)
{
  return Guarded([&] { preview::RenderPreviewPNG(segmentation, fileName); });
}

std::string
WriteParaView(const preview::Segmentation & segmentation, const std::string & directory, preview::ParaViewFiles & files)
{
  return Guarded([&] { files = preview::WriteParaViewFiles(segmentation, directory, "segmentation"); });
}

std::string
ShowViewer(const preview::Segmentation & segmentation)
{
  return Guarded([&] { preview::ShowViewer(segmentation); });
}

const kmeans_cli::PreviewPluginFunctions Functions{ kmeans_cli::PreviewPluginInterfaceVersion,
                                                    &RenderPicture,
                                                    &WriteParaView,
                                                    &ShowViewer };
} // namespace

extern "C" __attribute__((visibility("default"))) const kmeans_cli::PreviewPluginFunctions *
kmeans_segment_preview_plugin()
{
  return &Functions;
}
