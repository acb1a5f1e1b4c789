// matmul (NumPy semantics, broadcast batch dims) and gemm.
//
// FP32 goes to sgemm, f64 to dgemm (gemm.h: split over the pool, K never
// split, so results do not depend on the thread count). FP16/BF16 operands
// are widened to FP32 exactly, multiplied by sgemm (FP32 accumulation) and the
// FP32 result is rounded once (RNE) to the output type.
#include <cblas.h>

#include <algorithm>

#include "cpu/cpu_common.h"
#include "cpu/gemm.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

// Grows on demand and is kept, so steady-state steps do not allocate.
float *scratchFloats(int slot, size_t n) {
  thread_local std::vector<float> buffers[3];
  std::vector<float> &b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

template <typename T> void widen(ThreadPool *pool, const T *src, float *dst, int64_t n) {
  parallelFor(pool, n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = Elem<T>::load(src[i]);
  });
}

template <typename T> void narrow(ThreadPool *pool, const float *src, T *dst, int64_t n) {
  parallelFor(pool, n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = Elem<T>::store(src[i]);
  });
}

// ---- matmul ----

struct MatmulShape {
  int64_t m = 1, n = 1, k = 1;
  int batchRank = 0;
  int64_t batch[kMaxRank] = {};
  int64_t aStride[kMaxRank] = {}; // element strides per batch dim (0: broadcast)
  int64_t bStride[kMaxRank] = {};
  int64_t numBatches = 1;
};

Status matmulShape(const KernelCall &call, MatmulShape *s) {
  const TensorView &a = call.inputs[0];
  const TensorView &b = call.inputs[1];
  const TensorView &y = call.outputs[0];
  if (a.rank < 1 || b.rank < 1) return kernelError(call, "operands must have rank >= 1");
  s->m = a.rank == 1 ? 1 : a.dims[a.rank - 2];
  s->k = a.dims[a.rank - 1];
  const int64_t kb = b.rank == 1 ? b.dims[0] : b.dims[b.rank - 2];
  s->n = b.rank == 1 ? 1 : b.dims[b.rank - 1];
  if (kb != s->k) return kernelError(call, "inner dimensions differ: " + shapeString(a) + " x " + shapeString(b));
  const int aBatch = std::max(0, a.rank - 2);
  const int bBatch = std::max(0, b.rank - 2);
  s->batchRank = std::max(aBatch, bBatch);
  // Expected output shape: batch dims, then M (unless a is 1-D), then N (unless b is 1-D).
  TensorView want;
  want.rank = s->batchRank + (a.rank > 1) + (b.rank > 1);
  if (want.rank > kMaxRank) return kernelError(call, "rank too large");
  int64_t aSt = s->m * s->k, bSt = s->k * s->n;
  for (int d = s->batchRank - 1; d >= 0; --d) {
    const int ia = d - (s->batchRank - aBatch), ib = d - (s->batchRank - bBatch);
    const int64_t da = ia >= 0 ? a.dims[ia] : 1, db = ib >= 0 ? b.dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return kernelError(call, "batch dimensions do not broadcast: " + shapeString(a) + " x " + shapeString(b));
    s->batch[d] = std::max(da, db);
    s->aStride[d] = da == 1 ? 0 : aSt;
    s->bStride[d] = db == 1 ? 0 : bSt;
    aSt *= da;
    bSt *= db;
    want.dims[d] = s->batch[d];
    s->numBatches *= s->batch[d];
  }
  int r = s->batchRank;
  if (a.rank > 1) want.dims[r++] = s->m;
  if (b.rank > 1) want.dims[r++] = s->n;
  MPC_RETURN_IF_ERROR(checkShape(call, y, want, "output"));
  return Status::ok();
}

Status checkMatmul(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[1], call.inputs[0].dtype, "input 1"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], call.inputs[0].dtype, "output"));
  MatmulShape s;
  return matmulShape(call, &s);
}

// Runs the batched product on compute-type buffers a, b, y.
template <typename A> void matmulBatches(ThreadPool *pool, const MatmulShape &s, const A *a, const A *b, A *y) {
  // Fold the batch into M when b is shared by every batch and a is dense:
  // one large GEMM instead of many small ones.
  bool bShared = true, aDense = true;
  int64_t expect = s.m * s.k;
  for (int d = s.batchRank - 1; d >= 0; --d) {
    bShared &= s.bStride[d] == 0;
    aDense &= s.aStride[d] == expect || s.batch[d] == 1;
    expect *= s.batch[d];
  }
  if (bShared && aDense) {
    parallelGemm(pool, false, false, s.numBatches * s.m, s.n, s.k, A(1), a, s.k, b, s.n, A(0), y, s.n);
    return;
  }
  // One GEMM per batch: batches in parallel when there are enough of them,
  // otherwise each GEMM is split.
  auto offsets = [&](int64_t i, int64_t *aOff, int64_t *bOff) {
    *aOff = *bOff = 0;
    for (int d = s.batchRank - 1; d >= 0; --d) {
      const int64_t id = i % s.batch[d];
      i /= s.batch[d];
      *aOff += id * s.aStride[d];
      *bOff += id * s.bStride[d];
    }
  };
  const int threads = pool ? pool->numThreads() : 1;
  if (s.numBatches >= threads) {
    parallelFor(pool, s.numBatches, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        int64_t aOff, bOff;
        offsets(i, &aOff, &bOff);
        gemmRowMajor(false, false, s.m, s.n, s.k, A(1), a + aOff, s.k, b + bOff, s.n, A(0), y + i * s.m * s.n, s.n);
      }
    });
    return;
  }
  for (int64_t i = 0; i < s.numBatches; ++i) {
    int64_t aOff, bOff;
    offsets(i, &aOff, &bOff);
    parallelGemm(pool, false, false, s.m, s.n, s.k, A(1), a + aOff, s.k, b + bOff, s.n, A(0), y + i * s.m * s.n,
                 s.n);
  }
}

Status matmulKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkMatmul(call));
  MatmulShape s;
  MPC_RETURN_IF_ERROR(matmulShape(call, &s));
  const TensorView &a = call.inputs[0], &b = call.inputs[1], &y = call.outputs[0];
  if (y.numel() == 0) return Status::ok();
  if (s.k == 0) {
    // Empty sum: zeros (BLAS would not touch C with k == 0 and beta == 0 reliably).
    std::memset(y.data, 0, y.nbytes());
    return Status::ok();
  }
  switch (a.dtype) {
  case DType::kF32: matmulBatches(call.pool, s, a.as<const float>(), b.as<const float>(), y.as<float>()); break;
  case DType::kF64: matmulBatches(call.pool, s, a.as<const double>(), b.as<const double>(), y.as<double>()); break;
  case DType::kF16:
  case DType::kBF16:
    visitFloat(a.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      float *a32 = scratchFloats(0, a.numel());
      float *b32 = scratchFloats(1, b.numel());
      float *y32 = scratchFloats(2, y.numel());
      widen(call.pool, a.as<const T>(), a32, a.numel());
      widen(call.pool, b.as<const T>(), b32, b.numel());
      matmulBatches(call.pool, s, a32, b32, y32);
      narrow(call.pool, y32, y.as<T>(), y.numel());
    });
    break;
  default: return kernelError(call, "unsupported dtype " + std::string(dtypeName(a.dtype)));
  }
  return Status::ok();
}

// ---- gemm ----

struct GemmShape {
  int64_t m, n, k;
  bool ta, tb;
  double alpha, beta;
  int64_t cStride[2] = {0, 0};
  bool hasC;
};

Status gemmShape(const KernelCall &call, GemmShape *g) {
  const TensorView &a = call.inputs[0], &b = call.inputs[1], &y = call.outputs[0];
  int64_t ta, tb;
  MPC_RETURN_IF_ERROR(getInt(call, "trans_a", 0, &ta));
  MPC_RETURN_IF_ERROR(getInt(call, "trans_b", 0, &tb));
  MPC_RETURN_IF_ERROR(getFloat(call, "alpha", 1.0, &g->alpha));
  MPC_RETURN_IF_ERROR(getFloat(call, "beta", 1.0, &g->beta));
  g->ta = ta != 0;
  g->tb = tb != 0;
  if (a.rank != 2 || b.rank != 2) return kernelError(call, "a and b must have rank 2");
  g->m = g->ta ? a.dims[1] : a.dims[0];
  g->k = g->ta ? a.dims[0] : a.dims[1];
  const int64_t kb = g->tb ? b.dims[1] : b.dims[0];
  g->n = g->tb ? b.dims[0] : b.dims[1];
  if (kb != g->k) return kernelError(call, "inner dimensions differ: " + shapeString(a) + " x " + shapeString(b));
  TensorView want;
  want.rank = 2;
  want.dims[0] = g->m;
  want.dims[1] = g->n;
  MPC_RETURN_IF_ERROR(checkShape(call, y, want, "output"));
  g->hasC = call.numInputs == 3;
  if (g->hasC) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[2], a.dtype, "c"));
    MPC_RETURN_IF_ERROR(broadcastStrides(call, call.inputs[2], y, g->cStride));
  }
  return Status::ok();
}

Status checkGemm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 3, 1));
  MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[1], call.inputs[0].dtype, "b"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], call.inputs[0].dtype, "output"));
  GemmShape g;
  return gemmShape(call, &g);
}

// y = alpha * op(a) op(b) + beta * c on compute-type buffers; y may be the FP32 scratch.
template <typename A, typename TC>
void gemmCompute(ThreadPool *pool, const GemmShape &g, const A *a, const A *b, const TC *c, A *y) {
  A beta = 0;
  if (g.hasC && g.beta != 0) {
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) y[i * g.n + j] = Elem<TC>::load(c[i * g.cStride[0] + j * g.cStride[1]]);
    beta = static_cast<A>(g.beta);
  }
  if (g.k == 0) {
    for (int64_t i = 0; i < g.m * g.n; ++i) y[i] = beta == 0 ? A(0) : beta * y[i];
    return;
  }
  parallelGemm(pool, g.ta, g.tb, g.m, g.n, g.k, static_cast<A>(g.alpha), a, g.ta ? g.m : g.k, b, g.tb ? g.k : g.n,
               beta, y, g.n);
}

Status gemmKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkGemm(call));
  GemmShape g;
  MPC_RETURN_IF_ERROR(gemmShape(call, &g));
  const TensorView &a = call.inputs[0], &b = call.inputs[1], &y = call.outputs[0];
  if (y.numel() == 0) return Status::ok();
  visitFloat(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *c = g.hasC ? call.inputs[2].as<const T>() : nullptr;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      if (g.hasC && g.beta != 0 && call.inputs[2].data == y.data && sameShape(call.inputs[2], y)) {
        // c is y (in-place bias): copy first, since y is overwritten with c.
        T *copy = reinterpret_cast<T *>(scratchFloats(2, y.nbytes() / sizeof(float) + 1));
        std::memcpy(copy, c, y.nbytes());
        c = copy;
      }
      gemmCompute<T, T>(call.pool, g, a.as<const T>(), b.as<const T>(), c, y.as<T>());
    } else {
      float *a32 = scratchFloats(0, a.numel());
      float *b32 = scratchFloats(1, b.numel());
      float *y32 = scratchFloats(2, y.numel());
      widen(call.pool, a.as<const T>(), a32, a.numel());
      widen(call.pool, b.as<const T>(), b32, b.numel());
      gemmCompute<float, T>(call.pool, g, a32, b32, c, y32);
      narrow(call.pool, y32, y.as<T>(), y.numel());
    }
  });
  return Status::ok();
}

} // namespace

void registerMatmulKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "matmul", {t, t, t}, matmulKernel, checkMatmul);
    addKernel(reg, "gemm", {t, t, t}, gemmKernel, checkGemm);
    addKernel(reg, "gemm", {t, t, t, t}, gemmKernel, checkGemm);
  }
}

} // namespace mpc::rt::cpu

namespace mpc::rt {
// The pool parallelises GEMMs itself (parallelGemm); OpenBLAS stays on the
// calling thread so that only one set of threads runs on the cores.
void setCpuBlasThreads(int /*numThreads*/) { openblas_set_num_threads(1); }
} // namespace mpc::rt
