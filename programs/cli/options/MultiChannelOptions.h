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
#ifndef KMeansCLIMultiChannelOptions_h
#define KMeansCLIMultiChannelOptions_h

#include <cstdint>
#include <optional>

namespace kmeans_cli
{
/** Options of multi-channel K-means (used only with several INPUT channels). */
struct MultiChannelOptions
{
  /** --standardize: divide each channel by its standard deviation in the distance (recorded in the report). */
  bool Standardize{ false };
  /** --seed: seed of the k-means++ draws (the filter's default when not given). */
  std::optional<std::uint64_t> Seed;
  /** --restarts: number of seeded runs, the lowest within-class sum of squares is kept (filter's default when
   * not given). */
  std::optional<unsigned int> Restarts;

  /** Whether any of them was given on the command line. */
  bool
  Any() const
  {
    return Standardize || Seed || Restarts;
  }
};
} // namespace kmeans_cli

#endif
