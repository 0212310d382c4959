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
// kmeans-segment: globally optimal K-means segmentation of a scalar image from the command line.
// Usage: kmeans-segment INPUT -o OUTPUT -k K [--mask MASK | --foreground-threshold V | --nonzero]
//                       [--threads N] [--report REPORT.json] [--quiet] [--version]
// Exit status: 0 success, 1 runtime error (one line on stderr naming the file), 2 usage error.
// The program is kmeans_cli::KMeansSegmentMain() (cli/run/Main.cxx), in the program's library with the rest.
#include "cli/run/Main.h"

int
main(int argc, char * argv[])
{
  return kmeans_cli::KMeansSegmentMain(argc, argv);
}
