// The CPU kernels of docs/ops.md's "Gradient ops" and "Optimizer ops"
// sections (with "Loss scaling, clipping and accumulation"), plus `copy`. registerCpuKernels (register.cpp) calls
// registerCpuTrainingKernels.
#pragma once

#include "core/kernel.h"
#include "cpu/cpu_common.h"

namespace mpc::rt {

// Adds every gradient and optimizer kernel (and `copy`) to `reg`.
void registerCpuTrainingKernels(KernelRegistry &reg);

namespace cpu {
void registerGradElementwiseKernels(KernelRegistry &reg); // grad_elementwise.cpp
void registerGradConvKernels(KernelRegistry &reg);        // grad_conv.cpp
void registerGradPoolKernels(KernelRegistry &reg);        // grad_pool.cpp
void registerGradNormKernels(KernelRegistry &reg);        // grad_norm.cpp
void registerGradLossKernels(KernelRegistry &reg);        // grad_loss.cpp
void registerGradMovementKernels(KernelRegistry &reg);    // grad_movement.cpp
void registerOptimizerKernels(KernelRegistry &reg);       // optimizer.cpp
void registerLossScalingKernels(KernelRegistry &reg);     // loss_scaling.cpp

// Element i of a float tensor of any float dtype (f32, f64, f16, bf16) as A.
template <typename A> inline A loadFloat(const TensorView &t, int64_t i) {
  switch (t.dtype) {
  case DType::kF32: return static_cast<A>(t.as<const float>()[i]);
  case DType::kF64: return static_cast<A>(t.as<const double>()[i]);
  case DType::kF16: return static_cast<A>(halfToFloat(t.as<const Half>()[i].bits));
  case DType::kBF16: return static_cast<A>(bfloat16ToFloat(t.as<const BFloat16>()[i].bits));
  default: return A(0);
  }
}

// Stores v into element i of a float tensor, rounding once to its dtype
// (double -> f16/bf16 goes through FP32: callers pass FP32 values there).
template <typename A> inline void storeFloat(const TensorView &t, int64_t i, A v) {
  switch (t.dtype) {
  case DType::kF32: t.as<float>()[i] = static_cast<float>(v); break;
  case DType::kF64: t.as<double>()[i] = static_cast<double>(v); break;
  case DType::kF16: t.as<Half>()[i] = Half{floatToHalf(static_cast<float>(v))}; break;
  case DType::kBF16: t.as<BFloat16>()[i] = BFloat16{floatToBFloat16(static_cast<float>(v))}; break;
  default: break;
  }
}

// An i32/i64 element as int64.
inline int64_t loadIndex(const TensorView &t, int64_t i) {
  return t.dtype == DType::kI32 ? t.as<const int32_t>()[i] : t.as<const int64_t>()[i];
}

// True for the float dtypes the gradient kernels accept.
inline bool isGradFloat(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16;
}

Status checkFloatTensor(const KernelCall &call, const TensorView &t, const char *what);

} // namespace cpu
} // namespace mpc::rt
