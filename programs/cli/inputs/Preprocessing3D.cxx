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
// The 3-D instantiations of the preprocessing steps (split from the 2-D ones, which compile with less optimization).
#include "cli/inputs/Preprocessing.hxx"

namespace kmeans_cli
{
KMEANS_CLI_INSTANTIATE_PREPROCESSING(3);
} // namespace kmeans_cli
