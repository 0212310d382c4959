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
#ifndef KMeansBruteForce_h
#define KMeansBruteForce_h

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

/** Reference implementations the tests compare the module against. */
namespace KMeansTest
{
/** WCSS of samples under an assignment to classes 0..k-1 (empty classes allowed). */
inline double
WCSS(const std::vector<double> & samples, const std::vector<unsigned int> & assignment, unsigned int k)
{
  std::vector<double> sum(k, 0.0), count(k, 0.0);
  for (std::size_t i = 0; i < samples.size(); ++i)
  {
    sum[assignment[i]] += samples[i];
    count[assignment[i]] += 1;
  }
  double total = 0;
  for (std::size_t i = 0; i < samples.size(); ++i)
  {
    const double mean = sum[assignment[i]] / count[assignment[i]];
    total += (samples[i] - mean) * (samples[i] - mean);
  }
  return total;
}

/** Minimum WCSS over every assignment of the samples to k non-empty classes (k^n assignments). */
inline double
BruteForceMinimumWCSS(const std::vector<double> & samples, unsigned int k)
{
  const std::size_t          n = samples.size();
  std::vector<unsigned int>  a(n, 0);
  double                     best = std::numeric_limits<double>::infinity();
  for (;;)
  {
    std::vector<bool> used(k, false);
    for (auto c : a)
    {
      used[c] = true;
    }
    if (std::all_of(used.begin(), used.end(), [](bool u) { return u; }))
    {
      best = std::min(best, WCSS(samples, a, k));
    }
    std::size_t i = 0;
    while (i < n && ++a[i] == k)
    {
      a[i++] = 0;
    }
    if (i == n)
    {
      break;
    }
  }
  return best;
}

/** Plain O(k n^2) dynamic program over sorted distinct values with counts: minimum WCSS for 1..k classes. */
inline std::vector<double>
QuadraticDynamicProgram(const std::vector<double> & v, const std::vector<std::uint64_t> & c, unsigned int k)
{
  const std::size_t n = v.size();
  auto              cost = [&](std::size_t i, std::size_t j) {
    long double s = 0, s2 = 0, m = 0;
    for (std::size_t t = i; t <= j; ++t)
    {
      s += c[t] * static_cast<long double>(v[t]);
      s2 += c[t] * static_cast<long double>(v[t]) * v[t];
      m += c[t];
    }
    return static_cast<double>(s2 - s * s / m);
  };
  std::vector<std::vector<double>> d(k, std::vector<double>(n, std::numeric_limits<double>::infinity()));
  for (std::size_t j = 0; j < n; ++j)
  {
    d[0][j] = cost(0, j);
  }
  for (unsigned int q = 1; q < k; ++q)
  {
    for (std::size_t j = q; j < n; ++j)
    {
      for (std::size_t s = q; s <= j; ++s)
      {
        d[q][j] = std::min(d[q][j], d[q - 1][s - 1] + cost(s, j));
      }
    }
  }
  std::vector<double> result(k);
  for (unsigned int q = 0; q < k; ++q)
  {
    result[q] = d[q][n - 1];
  }
  return result;
}
} // namespace KMeansTest

#endif
