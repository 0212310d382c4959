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
#ifndef KMeansCLIMain_h
#define KMeansCLIMain_h

namespace kmeans_cli
{
/** The whole kmeans-segment program (its main()): installs the interrupt handlers, answers the early requests
 * (--xml, --list-series), parses the options, and runs one segmentation or a batch. Returns the exit status: 0
 * success, 1 runtime error (one line on stderr naming the file), 2 usage error. */
int
KMeansSegmentMain(int argc, char * argv[]);
} // namespace kmeans_cli

#endif
