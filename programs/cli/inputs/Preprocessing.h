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
#ifndef KMeansCLI_Preprocessing_h
#define KMeansCLI_Preprocessing_h

#include "itkImage.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kmeans_cli
{
class ProgressReporter;

/** Preprocessing chained before the segmentation; every step is off by default. */
struct PreprocessingOptions
{
  /** --auto-mask: foreground (head) mask by Otsu's threshold, holes filled, the largest connected component,
   * so that air and background do not take a class. Combined with a --mask by intersection. */
  bool AutoMask{ false };
  /** --n4: N4 bias-field correction, fitted on the image shrunk by N4ShrinkFactor inside the mask (the user's,
   * the automatic one, or else Otsu's foreground), applied at full resolution through the log bias field. */
  bool                      N4{ false };
  unsigned int              N4ShrinkFactor{ 4 };
  std::vector<unsigned int> N4Iterations{ 50, 50, 30, 20 }; // one entry per fitting level
  double                    N4ConvergenceThreshold{ 0.001 };
  /** --denoise: edge-preserving curvature anisotropic diffusion. */
  bool         Denoise{ false };
  unsigned int DenoiseIterations{ 5 };
  double       DenoiseConductance{ 1.0 };

  bool
  Any() const
  {
    return AutoMask || N4 || Denoise;
  }
};

template <unsigned int VDimension>
struct PreprocessingResult
{
  typename itk::Image<float, VDimension>::Pointer         Image; //!< the image to segment
  typename itk::Image<unsigned char, VDimension>::Pointer Mask;  //!< the mask to use (null: none)
  nlohmann::json                                          Record = nlohmann::json::array(); //!< for the report
};

/** Otsu foreground (1) of \a image with its holes filled (3-D: regions not connected to the image border), then
 * its largest connected component; 0 elsewhere. */
template <unsigned int VDimension>
typename itk::Image<unsigned char, VDimension>::Pointer
AutomaticForegroundMask(const itk::Image<float, VDimension> * image);

/** N4 bias-field correction by the usual recipe; \a mask may be null (Otsu's foreground is then used). Voxels
 * at or below 0 never enter the fit. The corrected image keeps the input's geometry. */
template <unsigned int VDimension>
typename itk::Image<float, VDimension>::Pointer
CorrectBiasField(const itk::Image<float, VDimension> *         image,
                 const itk::Image<unsigned char, VDimension> * mask,
                 const PreprocessingOptions &                  options,
                 ProgressReporter *                            progress = nullptr,
                 nlohmann::json *                              record = nullptr);

/** Curvature anisotropic diffusion with a stable time step for the image's spacing. */
template <unsigned int VDimension>
typename itk::Image<float, VDimension>::Pointer
DenoiseImage(const itk::Image<float, VDimension> * image,
             const PreprocessingOptions &          options,
             ProgressReporter *                    progress = nullptr,
             nlohmann::json *                      record = nullptr);

/** Runs the enabled steps in the order auto-mask, N4, denoising. \a mask (optional) is the user's mask. */
template <unsigned int VDimension>
PreprocessingResult<VDimension>
Preprocess(const itk::Image<float, VDimension> *         image,
           const itk::Image<unsigned char, VDimension> * mask,
           const PreprocessingOptions &                  options,
           ProgressReporter *                            progress = nullptr);
} // namespace kmeans_cli

#endif
