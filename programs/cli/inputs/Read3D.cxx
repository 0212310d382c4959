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
// The readers of the 3-D scalar images, compiled once for the whole program (ImageInput.h, ScanPipeline.h):
// 3-D images, compiled with the 3-D pipelines' optimization (KMEANS_PIPELINE_OPTIMIZATION, -O2): reading is on every
// scan's path.
#include "cli/run/ScanPipeline.h"

KMEANS_CLI_FOR_EACH_SCALAR_PIXEL(KMEANS_CLI_READ_SCALAR_IMAGE, , 3)
KMEANS_CLI_FOR_EACH_SCALAR_PIXEL(KMEANS_CLI_READ_SCAN_INPUT, , 3)
