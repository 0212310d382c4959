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
#ifndef PartialVolumePhantom_h
#define PartialVolumePhantom_h

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace kmeans_test
{
/** A cube of n^3 voxels (1 mm): white matter (850) inside radius 0.28 n, a folded grey-matter shell (600) to
 * 0.4 n, CSF (250) elsewhere. Drawn at 4x resolution and averaged down, so that Fraction[i * 3 + k] is the
 * exact fraction of tissue k in voxel i; the intensity is the fraction-weighted mean times a smooth multiplicative
 * bias field spanning 1 -+ biasPercent / 200, plus Rician noise of noisePercent % of 850. */
struct PartialVolumePhantom
{
  std::array<std::uint64_t, 3> Size{};
  std::vector<float>           Values;
  std::vector<float>           Bias;
  std::vector<double>          Fraction;
};

inline PartialVolumePhantom
MakePartialVolumePhantom(unsigned int n, double noisePercent, double biasPercent, unsigned int seed)
{
  PartialVolumePhantom phantom;
  phantom.Size = { n, n, n };
  const std::size_t total = static_cast<std::size_t>(n) * n * n;
  phantom.Values.resize(total);
  phantom.Bias.resize(total);
  phantom.Fraction.assign(total * 3, 0.0);
  const double                     means[3] = { 250.0, 600.0, 850.0 };
  const double                     sigma = noisePercent / 100.0 * 850.0;
  std::mt19937                     rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  const double                     c = 0.5 * n;
  for (std::size_t i = 0; i < total; ++i)
  {
    const std::size_t x = i % n, y = (i / n) % n, z = i / (static_cast<std::size_t>(n) * n);
    for (unsigned int s = 0; s < 64; ++s)
    {
      const double px = x + (s % 4 + 0.5) / 4.0 - c, py = y + (s / 4 % 4 + 0.5) / 4.0 - c;
      const double pz = z + (s / 16 + 0.5) / 4.0 - c;
      const double r = std::sqrt(px * px + py * py + pz * pz) / n;
      const double fold = 0.03 * std::sin(6.0 * std::atan2(py, px)) * std::cos(5.0 * pz / n * 3.14159);
      const int    k = r < 0.28 + fold ? 2 : (r < 0.4 + fold ? 1 : 0);
      phantom.Fraction[i * 3 + k] += 1.0 / 64.0;
    }
    const double u = 2.0 * x / (n - 1) - 1.0, v = 2.0 * y / (n - 1) - 1.0, w = 2.0 * z / (n - 1) - 1.0;
    const double field = (0.6 * u + 0.3 * v - 0.5 * w + 0.4 * u * v) / 1.8;
    phantom.Bias[i] = static_cast<float>(1.0 + 0.5 * biasPercent / 100.0 * field);
    double clean = 0.0;
    for (unsigned int k = 0; k < 3; ++k)
    {
      clean += phantom.Fraction[i * 3 + k] * means[k];
    }
    clean *= phantom.Bias[i];
    const double a = clean + sigma * noise(rng), b = sigma * noise(rng);
    phantom.Values[i] = static_cast<float>(std::sqrt(a * a + b * b));
  }
  return phantom;
}
} // namespace kmeans_test

#endif
