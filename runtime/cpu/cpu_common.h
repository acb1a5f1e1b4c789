// Shared helpers for the CPU kernels: element access for every storage type,
// dtype dispatch, shape checks and error messages, broadcasting.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "core/float_formats.h"
#include "core/kernel.h"
#include "core/status.h"
#include "core/thread_pool.h"

namespace mpc::rt::cpu {

// How a storage type is loaded into its compute type and stored back.
// FP16/BF16 compute in FP32 and round once on store (RNE); f64 computes in
// double; integers compute in themselves.
template <typename T> struct Elem {
  using Acc = T;
  static Acc load(T v) { return v; }
  static T store(Acc v) { return v; }
};
template <> struct Elem<Half> {
  using Acc = float;
  static float load(Half v) { return halfToFloat(v.bits); }
  static Half store(float v) { return Half{floatToHalf(v)}; }
};
template <> struct Elem<BFloat16> {
  using Acc = float;
  static float load(BFloat16 v) { return bfloat16ToFloat(v.bits); }
  static BFloat16 store(float v) { return BFloat16{floatToBFloat16(v)}; }
};

template <typename T> using AccT = typename Elem<T>::Acc;

template <typename T> struct TypeTag { using type = T; };

// Calls fn(TypeTag<T>{}) for the float storage types; false when dt is not one.
template <typename Fn> bool visitFloat(DType dt, Fn &&fn) {
  switch (dt) {
  case DType::kF32: fn(TypeTag<float>{}); return true;
  case DType::kF64: fn(TypeTag<double>{}); return true;
  case DType::kF16: fn(TypeTag<Half>{}); return true;
  case DType::kBF16: fn(TypeTag<BFloat16>{}); return true;
  default: return false;
  }
}

// Float types plus i32/i64.
template <typename Fn> bool visitNumeric(DType dt, Fn &&fn) {
  switch (dt) {
  case DType::kI32: fn(TypeTag<int32_t>{}); return true;
  case DType::kI64: fn(TypeTag<int64_t>{}); return true;
  default: return visitFloat(dt, fn);
  }
}

inline const std::vector<DType> &floatDTypes() {
  static const std::vector<DType> v{DType::kF32, DType::kF16, DType::kBF16, DType::kF64};
  return v;
}
inline const std::vector<DType> &numericDTypes() {
  static const std::vector<DType> v{DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32, DType::kI64};
  return v;
}

std::string shapeString(const TensorView &t);
bool sameShape(const TensorView &a, const TensorView &b);

// "node 'loc' (op): msg"
Status kernelError(const KernelCall &call, const std::string &msg, StatusCode code = StatusCode::kInvalidArgument);

// Checks operand counts and that no tensor is missing its data.
Status checkArity(const KernelCall &call, int minInputs, int maxInputs, int numOutputs);
Status checkDType(const KernelCall &call, const TensorView &t, DType want, const char *what);
Status checkShape(const KernelCall &call, const TensorView &t, const TensorView &want, const char *what);

// Attribute getters that turn a wrong attribute kind into a kernel error.
Status getInt(const KernelCall &call, const char *name, int64_t dflt, int64_t *out);
Status getFloat(const KernelCall &call, const char *name, double dflt, double *out);
Status getString(const KernelCall &call, const char *name, const char *dflt, std::string *out);
Status getInts(const KernelCall &call, const char *name, std::vector<int64_t> *out);

// NumPy broadcasting of `in` to the output shape: per-output-dim element
// strides of `in` (0 on broadcast dims). Error when the shapes don't broadcast.
Status broadcastStrides(const KernelCall &call, const TensorView &in, const TensorView &out, int64_t *strides);

// Walks output elements [begin, end) with up to 3 broadcast inputs, calling
// body(outIndex, off0, off1, off2) with the matching input element offsets.
template <int N, typename Body>
void forEachBroadcast(const TensorView &out, const int64_t (*strides)[kMaxRank], int64_t begin, int64_t end,
                      Body &&body) {
  const int rank = out.rank;
  int64_t idx[kMaxRank] = {};
  int64_t off[3] = {0, 0, 0};
  int64_t rem = begin;
  for (int d = rank - 1; d >= 0; --d) {
    idx[d] = rem % out.dims[d];
    rem /= out.dims[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * strides[k][d];
  }
  for (int64_t i = begin; i < end; ++i) {
    body(i, off[0], off[1], off[2]);
    for (int d = rank - 1; d >= 0; --d) {
      ++idx[d];
      for (int k = 0; k < N; ++k) off[k] += strides[k][d];
      if (idx[d] < out.dims[d]) break;
      for (int k = 0; k < N; ++k) off[k] -= idx[d] * strides[k][d];
      idx[d] = 0;
    }
  }
}

// Grain for elementwise loops: a fixed chunk size so partitioning never
// depends on the thread count.
inline constexpr int64_t kElementwiseGrain = 1 << 15;

// Registration helpers.
void addKernel(KernelRegistry &reg, const char *op, std::vector<DType> dtypes, KernelFn fn,
               KernelCheckFn check = nullptr);
// An op over any number of operands of any dtype (KernelEntry::variadic);
// `check` validates them at load time.
void addVariadicKernel(KernelRegistry &reg, const char *op, KernelFn fn, KernelCheckFn check);

} // namespace mpc::rt::cpu
