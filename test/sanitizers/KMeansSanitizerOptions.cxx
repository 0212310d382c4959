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
// Default leak suppressions for the programs and tests of a -DKMEANS_SANITIZE=ON build (linked into each of
// them). LeakSanitizer reads them at start-up, besides any suppressions file given in LSAN_OPTIONS.

#define KMEANS_SANITIZER_API extern "C" __attribute__((visibility("default"), used))

/** Suppressed leaks are not listed at exit: the programs' stderr stays what their users see. */
KMEANS_SANITIZER_API const char *
__lsan_default_options()
{
  return "print_suppressions=0";
}

/** Leaks inside ITK 5.2's NrrdIO, which does not free its state when it stops on a truncated file. */
KMEANS_SANITIZER_API const char *
__lsan_default_suppressions()
{
  return "leak:libITKNrrdIO\n"
         "leak:inflateInit2_\n";
}
