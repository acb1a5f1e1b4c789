// Shared device-side helpers of the CUDA kernels: element load/store for every
// storage type (the bit-exact conversions of core/float_formats.h, the very
// code the CPU backend runs), broadcast indexing, and one generic launcher.
//
// The kernels follow the CPU reference: FP16/BF16 load to FP32, compute in
// FP32 and round once on store (RNE). Build flags (cuda/CMakeLists.txt) turn
// off FMA contraction so expressions round exactly as on the CPU.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <utility>

#include "core/float_formats.h"
#include "core/kernel.h"
#include "cpu/cpu_common.h"
#include "cuda/context.h"
#include "cuda/register.h"

namespace mpc::rt::cuda {

using cpu::kernelError;

// FP8 storage tags (the 16-bit ones are Half and BFloat16 from float_formats.h).
struct E4M3 {
  uint8_t bits;
};
struct E5M2 {
  uint8_t bits;
};
struct Bool {
  uint8_t v;
};

// Load to the compute type and store back with one rounding.
template <typename T> struct Elem {
  using Acc = T;
  static __device__ __forceinline__ T load(T v) { return v; }
  static __device__ __forceinline__ T store(T v) { return v; }
};
template <> struct Elem<Half> {
  using Acc = float;
  static __device__ __forceinline__ float load(Half v) { return halfToFloat(v.bits); }
  static __device__ __forceinline__ Half store(float v) { return Half{floatToHalf(v)}; }
};
template <> struct Elem<BFloat16> {
  using Acc = float;
  static __device__ __forceinline__ float load(BFloat16 v) { return bfloat16ToFloat(v.bits); }
  static __device__ __forceinline__ BFloat16 store(float v) { return BFloat16{floatToBFloat16(v)}; }
};

template <typename T> struct Tag {
  using type = T;
};

// f32, f16, bf16: the float types of the CUDA kernels (f64 stays on the CPU).
template <typename Fn> bool visitFloat(DType dt, Fn &&fn) {
  switch (dt) {
  case DType::kF32: fn(Tag<float>{}); return true;
  case DType::kF16: fn(Tag<Half>{}); return true;
  case DType::kBF16: fn(Tag<BFloat16>{}); return true;
  default: return false;
  }
}
template <typename Fn> bool visitNumeric(DType dt, Fn &&fn) {
  switch (dt) {
  case DType::kI32: fn(Tag<int32_t>{}); return true;
  case DType::kI64: fn(Tag<int64_t>{}); return true;
  default: return visitFloat(dt, fn);
  }
}

// Element offsets of up to N operands for a flat index over `dims`: operand
// k's offset is sum(index[d] * strides[k][d]). Broadcast dims have stride 0.
template <int N> struct Indexer {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[N][kMaxRank] = {};

  __device__ __forceinline__ void offsets(int64_t i, int64_t *off) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t idx = i % dims[d];
      i /= dims[d];
      for (int k = 0; k < N; ++k) off[k] += idx * strides[k][d];
    }
  }
};

// Row-major (contiguous) strides of a view.
inline void denseStrides(const TensorView &t, int64_t *strides) {
  int64_t s = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    strides[d] = s;
    s *= t.dims[d];
  }
}

// Calls f(i, offsets) for every flat index i < n, one thread per index
// (grid-stride). f is a __device__ lambda.
template <int N, typename F> __global__ void forEachKernel(int64_t n, Indexer<N> ix, F f) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[N];
    ix.offsets(i, off);
    f(i, off);
  }
}

// Flat loop without index arithmetic, for operands of the output's shape.
template <typename F> __global__ void forEachFlatKernel(int64_t n, F f) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) f(i);
}

constexpr int kBlockSize = 256;

inline unsigned gridFor(int64_t n) {
  const int64_t blocks = (n + kBlockSize - 1) / kBlockSize;
  // Grid-stride loops cover the rest; 2^16 blocks keep every SM busy.
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65536 ? 65536 : blocks));
}

inline cudaStream_t streamOf(const KernelCall &call) { return static_cast<cudaStream_t>(call.stream); }

// The launch status of the last kernel, as a kernel error.
inline Status launchStatus(const KernelCall &call) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return Status::ok();
  return kernelError(call, std::string("CUDA launch failed: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")",
                     StatusCode::kInternal);
}

template <int N, typename F> Status launchForEach(const KernelCall &call, int64_t n, const Indexer<N> &ix, F f) {
  if (n == 0) return Status::ok();
  forEachKernel<N><<<gridFor(n), kBlockSize, 0, streamOf(call)>>>(n, ix, f);
  return launchStatus(call);
}

template <typename F> Status launchFlat(const KernelCall &call, int64_t n, F f) {
  if (n == 0) return Status::ok();
  forEachFlatKernel<<<gridFor(n), kBlockSize, 0, streamOf(call)>>>(n, f);
  return launchStatus(call);
}

// Broadcast indexer of the call's inputs [first, first + N) against output 0.
template <int N> Status broadcastIndexer(const KernelCall &call, int first, Indexer<N> *ix) {
  const TensorView &out = call.outputs[0];
  ix->rank = out.rank;
  for (int d = 0; d < out.rank; ++d) ix->dims[d] = out.dims[d];
  for (int k = 0; k < N; ++k) MPC_RETURN_IF_ERROR(cpu::broadcastStrides(call, call.inputs[first + k], out, ix->strides[k]));
  return Status::ok();
}

// Block-wide sum for kernels launched with kReduceThreads threads: a fixed
// tree over shared memory, so the result is deterministic (run to run and
// graph replay to replay). Every thread gets the sum; all must call it.
constexpr int kReduceThreads = 256;
template <typename A> __device__ A blockSum(A v) {
  __shared__ A buf[kReduceThreads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = kReduceThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] = buf[threadIdx.x] + buf[threadIdx.x + s];
    __syncthreads();
  }
  const A r = buf[0];
  __syncthreads();  // buf is reused by the next call
  return r;
}

// Records an index out of range for Context::synchronize to report (the
// first error of a run is kept: later kernels see it and leave it). Plain
// stores to mapped host memory, no atomics: racing threads of one kernel write
// the same site and bound, and any of their offending values will do.
__device__ __forceinline__ void reportIndexError(DeviceError *err, int site, int64_t value, int64_t bound) {
  volatile DeviceError *e = err;
  if (e->site != 0) return;
  e->kind = 1;
  e->value = value;
  e->bound = bound;
  __threadfence_system();
  e->site = site + 1;
}

// The session's context and the error site of this call (for kernels with a
// data-dependent error path).
inline Status errorSiteOf(const KernelCall &call, DeviceError **err, int *site) {
  Context *ctx = static_cast<Context *>(call.context);
  if (!ctx || !ctx->deviceError())
    return kernelError(call, "needs the CUDA context (KernelCall::context) to report index errors", StatusCode::kInternal);
  *err = ctx->deviceError();
  *site = ctx->errorSite(call.op, call.location);
  return Status::ok();
}

inline Status unsupportedDTypes(const KernelCall &call) {
  return kernelError(call, "dtypes not supported by the CUDA kernel", StatusCode::kUnsupported);
}


}  // namespace mpc::rt::cuda
