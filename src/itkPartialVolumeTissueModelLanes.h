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
#ifndef itkPartialVolumeTissueModelLanes_h
#define itkPartialVolumeTissueModelLanes_h

// Four single-precision lanes for the sweep of PartialVolumeTissueModel (four voxels at a time). Private to the
// library (not installed). Every operation is the IEEE single-precision operation of each lane, so a lane computes
// bit for bit what scalar code computes: SSE2 where the compiler targets it (every x86-64 compiler), a plain array
// elsewhere.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#  include <emmintrin.h>
#  define ITK_PARTIAL_VOLUME_LANES_SSE2 1
#endif

namespace itk
{
namespace PartialVolumeTissueModelDetail
{
#ifdef ITK_PARTIAL_VOLUME_LANES_SSE2
struct Lanes
{
  __m128 V;

  static Lanes
  Broadcast(float x)
  {
    return { _mm_set1_ps(x) };
  }
  /** Two floats at p (no alignment asked, unlike a load of a double) in the low lanes; 0 in the others. */
  static __m128
  Low2(const float * p)
  {
    return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)));
  }
  /** The first count (1 to 4) floats at p; 0 in the other lanes. */
  static Lanes
  Load(const float * p, unsigned int count = 4)
  {
    switch (count)
    {
      case 4:
        return { _mm_loadu_ps(p) };
      case 3:
        return { _mm_movelh_ps(Low2(p), _mm_load_ss(p + 2)) };
      case 2:
        return { Low2(p) };
      default:
        return { _mm_load_ss(p) };
    }
  }
  /** Stores the first count (1 to 4) lanes at p. */
  void
  Store(float * p, unsigned int count = 4) const
  {
    switch (count)
    {
      case 4:
        _mm_storeu_ps(p, V);
        break;
      case 3:
        _mm_storel_epi64(reinterpret_cast<__m128i *>(p), _mm_castps_si128(V));
        _mm_store_ss(p + 2, _mm_movehl_ps(V, V));
        break;
      case 2:
        _mm_storel_epi64(reinterpret_cast<__m128i *>(p), _mm_castps_si128(V));
        break;
      default:
        _mm_store_ss(p, V);
    }
  }
  friend Lanes
  operator+(Lanes a, Lanes b)
  {
    return { _mm_add_ps(a.V, b.V) };
  }
  friend Lanes
  operator-(Lanes a, Lanes b)
  {
    return { _mm_sub_ps(a.V, b.V) };
  }
  friend Lanes
  operator*(Lanes a, Lanes b)
  {
    return { _mm_mul_ps(a.V, b.V) };
  }
  friend Lanes
  operator/(Lanes a, Lanes b)
  {
    return { _mm_div_ps(a.V, b.V) };
  }
  /** The larger (smaller) of a and b; either where they are equal. */
  friend Lanes
  Max(Lanes a, Lanes b)
  {
    return { _mm_max_ps(a.V, b.V) };
  }
  friend Lanes
  Min(Lanes a, Lanes b)
  {
    return { _mm_min_ps(a.V, b.V) };
  }
  friend Lanes
  Sqrt(Lanes a)
  {
    return { _mm_sqrt_ps(a.V) };
  }
  /** floor(a) for |a| < 2^31. */
  friend Lanes
  Floor(Lanes a)
  {
    const __m128 truncated = _mm_cvtepi32_ps(_mm_cvttps_epi32(a.V));
    return { _mm_sub_ps(truncated, _mm_and_ps(_mm_cmpgt_ps(truncated, a.V), _mm_set1_ps(1.0f))) };
  }
  /** 2^n for integer n in [-126, 127]. */
  friend Lanes
  PowerOfTwo(Lanes n)
  {
    return { _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(n.V), _mm_set1_epi32(127)), 23)) };
  }
  /** Lane i of a, b, c, d becomes lanes 0..3 of the i-th of them. */
  friend void
  Transpose(Lanes & a, Lanes & b, Lanes & c, Lanes & d)
  {
    _MM_TRANSPOSE4_PS(a.V, b.V, c.V, d.V);
  }
};
#else
struct Lanes
{
  float V[4];

  static Lanes
  Broadcast(float x)
  {
    return { { x, x, x, x } };
  }
  static Lanes
  Load(const float * p, unsigned int count = 4)
  {
    Lanes r{ { 0.0f, 0.0f, 0.0f, 0.0f } };
    std::copy(p, p + count, r.V);
    return r;
  }
  void
  Store(float * p, unsigned int count = 4) const
  {
    std::copy(V, V + count, p);
  }
  template <typename TFunction>
  static Lanes
  Each(Lanes a, Lanes b, TFunction f)
  {
    return { { f(a.V[0], b.V[0]), f(a.V[1], b.V[1]), f(a.V[2], b.V[2]), f(a.V[3], b.V[3]) } };
  }
  friend Lanes
  operator+(Lanes a, Lanes b)
  {
    return Each(a, b, [](float x, float y) { return x + y; });
  }
  friend Lanes
  operator-(Lanes a, Lanes b)
  {
    return Each(a, b, [](float x, float y) { return x - y; });
  }
  friend Lanes
  operator*(Lanes a, Lanes b)
  {
    return Each(a, b, [](float x, float y) { return x * y; });
  }
  friend Lanes
  operator/(Lanes a, Lanes b)
  {
    return Each(a, b, [](float x, float y) { return x / y; });
  }
  friend Lanes
  Max(Lanes a, Lanes b)
  {
    return Each(a, b, [](float x, float y) { return std::max(x, y); });
  }
  friend Lanes
  Min(Lanes a, Lanes b)
  {
    return Each(a, b, [](float x, float y) { return std::min(x, y); });
  }
  friend Lanes
  Sqrt(Lanes a)
  {
    return Each(a, a, [](float x, float) { return std::sqrt(x); });
  }
  friend Lanes
  Floor(Lanes a)
  {
    return Each(a, a, [](float x, float) { return std::floor(x); });
  }
  friend Lanes
  PowerOfTwo(Lanes n)
  {
    return Each(n, n, [](float x, float) {
      const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(x) + 127) << 23;
      float      scale;
      std::memcpy(&scale, &bits, sizeof(scale));
      return scale;
    });
  }
  friend void
  Transpose(Lanes & a, Lanes & b, Lanes & c, Lanes & d)
  {
    Lanes * rows[4] = { &a, &b, &c, &d };
    for (unsigned int i = 0; i < 4; ++i)
    {
      for (unsigned int j = i + 1; j < 4; ++j)
      {
        std::swap(rows[i]->V[j], rows[j]->V[i]);
      }
    }
  }
};
#endif

/** e^x in single precision for x <= 0 (flushed to e^-87 below -87), relative error below 3e-7: e^x = 2^n e^r with
 * n the integer nearest to x / ln 2, |r| <= ln(2) / 2, e^r by its Taylor polynomial of degree 6. Pure (every
 * thread gets the same value for the same argument) and several times faster than std::exp. */
inline Lanes
ExpNonPositive(Lanes x)
{
  x = Max(x, Lanes::Broadcast(-87.0f));
  const Lanes n = Floor(x * Lanes::Broadcast(1.44269504f) + Lanes::Broadcast(0.5f));
  // ln 2 in two parts: the high part has 16 significant bits, so n * high is exact.
  const Lanes r = (x - n * Lanes::Broadcast(0.693145752f)) - n * Lanes::Broadcast(1.42860677e-6f);
  Lanes       p = Lanes::Broadcast(1.0f / 720.0f);
  p = p * r + Lanes::Broadcast(1.0f / 120.0f);
  p = p * r + Lanes::Broadcast(1.0f / 24.0f);
  p = p * r + Lanes::Broadcast(1.0f / 6.0f);
  p = p * r + Lanes::Broadcast(0.5f);
  p = p * r + Lanes::Broadcast(1.0f);
  p = p * r + Lanes::Broadcast(1.0f);
  return p * PowerOfTwo(n);
}
} // namespace PartialVolumeTissueModelDetail
} // namespace itk

#endif
