// The scalar math of the elementwise kernels, shared by the per-op kernels
// (elementwise.cpp, binary.cpp) and the fused kernel (fused_elementwise.cpp)
// so that a fused chain computes the very same values. A is the compute type:
// float for f32/f16/bf16, double for f64, the integer itself for i32/i64.
#pragma once

#include <cmath>
#include <type_traits>

namespace mpc::rt::cpu::math {

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
template <typename A> A exp(A v) { return std::exp(v); }
template <typename A> A log(A v) { return std::log(v); }
template <typename A> A sqrt(A v) { return std::sqrt(v); }
template <typename A> A reciprocal(A v) { return A(1) / v; }
template <typename A> A tanh(A v) { return std::tanh(v); }
template <typename A> A erf(A v) { return std::erf(v); }
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
