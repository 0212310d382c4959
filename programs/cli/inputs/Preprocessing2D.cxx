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
// The 2-D instantiations of the preprocessing steps (single slices; see KMEANS_LIGHT_OPTIMIZATION in
// programs/CMakeLists.txt).
// GCC 12 reports a false -Warray-bounds inside ITK 5.2's NeighborhoodOperator for 2-D images (instantiated by the
// anisotropic diffusion); the diagnostic points into ITK's itkSize.h, so it is silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Warray-bounds"
#endif
#include "cli/inputs/Preprocessing.hxx"

namespace kmeans_cli
{
KMEANS_CLI_INSTANTIATE_PREPROCESSING(2);
} // namespace kmeans_cli
