// The scalar math of the elementwise kernels, shared by the per-op kernels
// (elementwise.cpp, binary.cpp) and the fused kernel (fused_elementwise.cpp)
// so that a fused chain computes the very same values. A is the compute type:
// float for f32/f16/bf16, double for f64, the integer itself for i32/i64.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace mpc::rt::cpu::math {

// ---- FP32 exp and erf ----
//
// glibc's expf/erff are scalar calls; these are branch-free (selects only, no
// calls, no table lookups) so that a loop over an array of floats vectorises.
// Both stay within 2 ulp of the correctly rounded result over the whole float
// range, special values included (test/unit/runtime/cpu/vector_math_test.cpp
// measures it). They use only +, -, *, / and exact integer bit manipulation,
// never FMA (the CPU backend builds with -ffp-contract=off), so the scalar code
// and every vector width give the same bits on every ISA.

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float floatFromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// exp(x) = 2^n * exp(r) with n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2].
// - n is rounded by adding and subtracting 1.5 * 2^23 (round to nearest);
// - r is computed with ln2 split in two (Cody and Waite): ln2Hi has 15
//   significant bits, so n * ln2Hi is exact for |n| < 512 and x - n * ln2Hi is
//   exact; ln2Lo carries the remaining bits;
// - exp(r) = 1 + r + r^2 P(r), P of degree 4: a minimax fit of the relative error
//   of exp on [-ln2/2, ln2/2] (max 1.9e-9) with the first two Taylor
//   coefficients pinned to 1;
// - 2^n is applied as two exact powers of two 2^(n/2) 2^(n - n/2), so that
//   results that overflow become inf and results in the subnormal range are
//   rounded once.
// x is first clamped to [-104, 89]: exp(-104) rounds to 0 and exp(89)
// overflows, so the clamp changes no result; it also maps NaN to -104, which
// the last select replaces by NaN again.
inline float expF32(float x) {
  float xc = x > -104.0f ? x : -104.0f;
  xc = xc < 89.0f ? xc : 89.0f;
  constexpr float kShift = 12582912.0f; // 1.5 * 2^23
  const float n = (xc * 1.44269502f + kShift) - kShift;
  constexpr float kLn2Hi = 0.693145751953125f;    // 0x3f317200
  constexpr float kLn2Lo = 1.42860676533018705e-6f; // ln2 - kLn2Hi
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.383684576e-3f;
  p = p * r + 8.374815807e-3f;
  p = p * r + 4.166822508e-2f;
  p = p * r + 1.666641980e-1f;
  p = p * r + 4.999999106e-1f;
  const float e = 1.0f + (r + (r * r) * p);
  const int32_t ni = static_cast<int32_t>(n); // in [-150, 129]
  const int32_t n1 = ni >> 1, n2 = ni - n1;   // floor(n / 2): each in [-75, 65]
  const float s1 = floatFromBits(static_cast<uint32_t>(n1 + 127) << 23);
  const float s2 = floatFromBits(static_cast<uint32_t>(n2 + 127) << 23);
  const float y = (e * s1) * s2;
  const float quietNaN = x + x; // computed unconditionally: the select stays branch-free
  return x != x ? quietNaN : y;
}

// erf(x) = sign(x) erf(|x|), a = |x|:
// - a < 1: erf(a) = a + a R(a^2), R of degree 6 fitted so that 1 + R matches
//   erf(a) / a on [0, 1] (relative error 1.2e-9); |a R| < 0.13 a, so its
//   rounding errors hardly reach the sum. erf(+-0) = +-0.
// - 1 <= a < 3.93: erf(a) = 1 - exp(-a^2) Q(t), t = 1/a - 0.6, where Q of
//   degree 9 fits erfc(a) exp(a^2) on [1, 3.93] (relative error 1.3e-8).
//   erfc(a) <= 0.16 here, so its rounding errors shrink against the result.
// - a >= 3.93 (inf included): erf rounds to 1 in FP32; the second branch gives
//   exactly 1 there once a is clamped to 3.93.
// Both branches are evaluated and one is selected, so the loop has no branches.
inline float erfF32(float x) {
  const float a = std::fabs(x);
  const float u = a * a;
  float p = 7.853860734e-5f;
  p = p * u - 8.010193706e-4f;
  p = p * u + 5.188327748e-3f;
  p = p * u - 2.685381286e-2f;
  p = p * u + 1.128358543e-1f;
  p = p * u - 3.761262596e-1f;
  p = p * u + 1.283791661e-1f;
  const float small = a + a * p;
  const float ac = a < 3.93f ? a : 3.93f; // NaN -> 3.93 (replaced below)
  const float b = ac > 1.0f ? ac : 1.0f;  // the small branch's range -> 1
  const float t = 1.0f / b - 0.6f;
  float q = 2.966886945e-2f;
  q = q * t - 1.354851574e-2f;
  q = q * t - 2.605427988e-2f;
  q = q * t + 4.936051369e-2f;
  q = q * t - 5.386874080e-2f;
  q = q * t + 2.954858914e-2f;
  q = q * t + 4.112869874e-2f;
  q = q * t - 1.755809486e-1f;
  q = q * t + 3.909839988e-1f;
  q = q * t + 2.962874770e-1f;
  const float large = 1.0f - expF32(-(b * b)) * q;
  const float y = a < 1.0f ? small : large;
  const float signedY = floatFromBits(floatBits(y) | (floatBits(x) & 0x80000000u));
  const float quietNaN = x + x;
  return x != x ? quietNaN : signedY;
}

// Array forms (elementwise.cpp): y[i] = f(x[i]) for i < n, y may alias x.
// Built for the baseline ISA and, on x86-64, also for AVX2 (chosen at run
// time); every version returns expF32's / erfF32's bits.
void expArray(const float *x, float *y, int64_t n);
void erfArray(const float *x, float *y, int64_t n);
void geluErfArray(const float *x, float *y, int64_t n); // geluErf<float> below

// Integer negation wraps (INT_MIN stays INT_MIN) instead of overflowing.
template <typename A> A neg(A v) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(U(0) - static_cast<U>(v));
  } else {
    return -v;
  }
}
template <typename A> A abs(A v) {
  if constexpr (std::is_floating_point_v<A>)
    return std::fabs(v);
  else
    return v < 0 ? neg(v) : v;
}
template <typename A> A exp(A v) {
  if constexpr (std::is_same_v<A, float>)
    return expF32(v);
  else
    return std::exp(v);
}
template <typename A> A log(A v) { return std::log(v); }
template <typename A> A sqrt(A v) { return std::sqrt(v); }
template <typename A> A reciprocal(A v) { return A(1) / v; }
template <typename A> A tanh(A v) { return std::tanh(v); }
template <typename A> A erf(A v) {
  if constexpr (std::is_same_v<A, float>)
    return erfF32(v);
  else
    return std::erf(v);
}
// NaN propagates, as max(x, 0) does in the ONNX reference.
template <typename A> A relu(A v) { return v < 0 ? A(0) : v; }
// Two branches so exp never overflows.
template <typename A> A sigmoid(A v) {
  if (v >= 0)
    return A(1) / (A(1) + std::exp(-v));
  const A e = std::exp(v);
  return e / (A(1) + e);
}
// The slope at the compute precision: FP32 for FP32/FP16/BF16, double for f64.
template <typename A> A leakyRelu(A v, double alpha) { return v < 0 ? v * static_cast<A>(alpha) : v; }
template <typename A> A geluTanh(A v) {
  const A k = A(0.7978845608028654); // sqrt(2 / pi)
  return A(0.5) * v * (A(1) + std::tanh(k * (v + A(0.044715) * v * v * v)));
}
template <typename A> A geluErf(A v) { return A(0.5) * v * (A(1) + std::erf(v * A(0.7071067811865476))); }

// Integer arithmetic wraps like the hardware instead of being UB.
template <typename A> A add(A x, A y) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(x) + static_cast<U>(y));
  } else {
    return x + y;
  }
}
template <typename A> A sub(A x, A y) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(x) - static_cast<U>(y));
  } else {
    return x - y;
  }
}
template <typename A> A mul(A x, A y) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(x) * static_cast<U>(y));
  } else {
    return x * y;
  }
}
template <typename A> A div(A x, A y) {
  if constexpr (std::is_integral_v<A>) {
    // C++ division truncates toward zero; MIN / -1 wraps to MIN. The caller
    // rejects y == 0.
    if (y == -1)
      return neg(x);
    return x / y;
  } else {
    return x / y;
  }
}
template <typename A> A max(A x, A y) { return (x > y || x != x) ? x : y; } // NaN propagates
template <typename A> A min(A x, A y) { return (x < y || x != x) ? x : y; }
// The exponent is already rounded to the compute type of the base.
template <typename A> A pow(A x, A y) { return std::pow(x, y); }

} // namespace mpc::rt::cpu::math
