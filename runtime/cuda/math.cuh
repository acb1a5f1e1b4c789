// Device twins of the scalar functions in cpu/elementwise_math.h: the same
// expressions in the same order (no FMA contraction, see CMakeLists.txt), so
// arithmetic, comparisons and selections give the CPU's bits. The
// transcendental functions (exp, log, tanh, erf, pow) are CUDA's libdevice,
// within a few ulp of the host libm; the parity tests bound the difference.
#pragma once

#include <cuda_runtime.h>

#include <type_traits>

namespace mpc::rt::cuda::math {

template <typename A> __device__ __forceinline__ A neg(A v) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(U(0) - static_cast<U>(v));
  } else {
    return -v;
  }
}
template <typename A> __device__ __forceinline__ A abs(A v) {
  if constexpr (std::is_same_v<A, float>)
    return ::fabsf(v);
  else if constexpr (std::is_floating_point_v<A>)
    return ::fabs(v);
  else
    return v < 0 ? neg(v) : v;
}
// The libdevice function of the compute type (expf for float, exp for double).
#define MPC_CUDA_UNARY_LIBM(name, fname)                                   \
  template <typename A> __device__ __forceinline__ A name(A v) {          \
    if constexpr (std::is_same_v<A, float>) return ::fname(v);            \
    else return ::name(v);                                                 \
  }
MPC_CUDA_UNARY_LIBM(exp, expf)
MPC_CUDA_UNARY_LIBM(log, logf)
MPC_CUDA_UNARY_LIBM(sqrt, sqrtf)
MPC_CUDA_UNARY_LIBM(tanh, tanhf)
MPC_CUDA_UNARY_LIBM(erf, erff)
#undef MPC_CUDA_UNARY_LIBM
template <typename A> __device__ __forceinline__ A reciprocal(A v) { return A(1) / v; }
template <typename A> __device__ __forceinline__ A relu(A v) { return v < 0 ? A(0) : v; }
template <typename A> __device__ __forceinline__ A sigmoid(A v) {
  if (v >= 0) return A(1) / (A(1) + exp(-v));
  const A e = exp(v);
  return e / (A(1) + e);
}
template <typename A> __device__ __forceinline__ A leakyRelu(A v, A alpha) { return v < 0 ? v * alpha : v; }
template <typename A> __device__ __forceinline__ A geluTanh(A v) {
  const A k = A(0.7978845608028654);
  return A(0.5) * v * (A(1) + tanh(k * (v + A(0.044715) * v * v * v)));
}
template <typename A> __device__ __forceinline__ A geluErf(A v) {
  return A(0.5) * v * (A(1) + erf(v * A(0.7071067811865476)));
}

template <typename A> __device__ __forceinline__ A add(A x, A y) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(x) + static_cast<U>(y));
  } else {
    return x + y;
  }
}
template <typename A> __device__ __forceinline__ A sub(A x, A y) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(x) - static_cast<U>(y));
  } else {
    return x - y;
  }
}
template <typename A> __device__ __forceinline__ A mul(A x, A y) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    return static_cast<A>(static_cast<U>(x) * static_cast<U>(y));
  } else {
    return x * y;
  }
}
// Float only: integer division needs the CPU's division-by-zero check, which a
// device kernel cannot report, so i32/i64 `div` is not registered on CUDA.
template <typename A> __device__ __forceinline__ A div(A x, A y) { return x / y; }
template <typename A> __device__ __forceinline__ A max(A x, A y) { return (x > y || x != x) ? x : y; }
template <typename A> __device__ __forceinline__ A min(A x, A y) { return (x < y || x != x) ? x : y; }
template <typename A> __device__ __forceinline__ A pow(A x, A y) {
  if constexpr (std::is_same_v<A, float>) return ::powf(x, y);
  else return ::pow(x, y);
}

}  // namespace mpc::rt::cuda::math

#include "core/fused_program.h"

namespace mpc::rt::cuda {

// One switch over the elementwise opcodes (core/fused_program.h), shared by
// the per-op kernels and the fused interpreter, so both compute alike. A is
// the compute type; integer types support neg/abs and add/sub/mul/max/min
// (the only integer ops registered). `alpha` is leaky_relu's slope, or gelu's
// approximate flag (1 = tanh).
template <typename A> __device__ __forceinline__ A applyUnary(fused::Opcode op, A v, double alpha) {
  using fused::Opcode;
  if constexpr (std::is_integral_v<A>) {
    return op == Opcode::kNeg ? math::neg(v) : math::abs(v);
  } else {
    switch (op) {
    case Opcode::kNeg: return math::neg(v);
    case Opcode::kAbs: return math::abs(v);
    case Opcode::kExp: return math::exp(v);
    case Opcode::kLog: return math::log(v);
    case Opcode::kSqrt: return math::sqrt(v);
    case Opcode::kReciprocal: return math::reciprocal(v);
    case Opcode::kTanh: return math::tanh(v);
    case Opcode::kSigmoid: return math::sigmoid(v);
    case Opcode::kRelu: return math::relu(v);
    case Opcode::kErf: return math::erf(v);
    case Opcode::kLeakyRelu: return math::leakyRelu(v, static_cast<A>(alpha));
    case Opcode::kGelu: return alpha != 0 ? math::geluTanh(v) : math::geluErf(v);
    default: return v;
    }
  }
}

template <typename A> __device__ __forceinline__ A applyBinary(fused::Opcode op, A x, A y) {
  using fused::Opcode;
  switch (op) {
  case Opcode::kAdd: return math::add(x, y);
  case Opcode::kSub: return math::sub(x, y);
  case Opcode::kMul: return math::mul(x, y);
  case Opcode::kMax: return math::max(x, y);
  case Opcode::kMin: return math::min(x, y);
  default: break;
  }
  if constexpr (std::is_integral_v<A>) {
    return x;
  } else {
    switch (op) {
    case Opcode::kDiv: return math::div(x, y);
    case Opcode::kPow: return math::pow(x, y);
    default: return x;
    }
  }
}

}  // namespace mpc::rt::cuda
