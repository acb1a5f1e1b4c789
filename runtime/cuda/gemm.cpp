// matmul and gemm on CUDA through cuBLASLt (host code: the C++ compiler
// builds it). Semantics are cpu/matmul.cpp's: NumPy matmul with broadcast
// batch dims; gemm's y = alpha * op(a) op(b) + beta * c with c broadcast to y.
//
// Row-major to cuBLASLt's column-major: a row-major R x C matrix is the
// column-major C x R matrix, its transpose, so D = op(A) op(B) is computed as
// D^T = op(B)^T op(A)^T: cuBLASLt's A is our b, its B is our a, its m is n.
#include "cuda/gemm.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>

#include "cpu/cpu_common.h"
#include "cuda/context.h"
#include "cuda/register.h"

namespace mpc::rt::cuda {

using cpu::kernelError;

struct GemmCache::Entry {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo;
  ~Entry() {
    if (op) cublasLtMatmulDescDestroy(op);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

GemmCache::GemmCache() = default;
GemmCache::~GemmCache() = default;

GemmCache::Entry *GemmCache::find(const std::vector<int64_t> &key) {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.get();
}

GemmCache::Entry *GemmCache::insert(const std::vector<int64_t> &key, std::unique_ptr<Entry> entry) {
  Entry *e = entry.get();
  entries_[key] = std::move(entry);
  return e;
}

namespace {

// The largest power of two (<= 256) dividing the address and, for batches,
// every batch's offset: what cuBLASLt may assume about the operand's alignment.
int64_t alignmentOf(const void *p, int64_t batch, int64_t strideBytes) {
  uint64_t bits = reinterpret_cast<uintptr_t>(p) | 256u;
  if (batch > 1 && strideBytes != 0) bits |= static_cast<uint64_t>(strideBytes);
  return static_cast<int64_t>(bits & (~bits + 1));
}

cudaDataType_t cudaTypeOf(DType t) {
  return t == DType::kF16 ? CUDA_R_16F : t == DType::kBF16 ? CUDA_R_16BF : CUDA_R_32F;
}

Status blasError(const KernelCall &call, cublasStatus_t s, const std::string &what) {
  return kernelError(call, "cuBLASLt " + what + " failed: " + cublasLtGetStatusName(s) + " (" +
                               cublasLtGetStatusString(s) + ")", StatusCode::kInternal);
}

#define MPC_LT(call_, expr, what)                                    \
  do {                                                               \
    const cublasStatus_t lt_status_ = (expr);                        \
    if (lt_status_ != CUBLAS_STATUS_SUCCESS) return blasError(call_, lt_status_, what); \
  } while (0)

Status layout(const KernelCall &call, cublasLtMatrixLayout_t *out, cudaDataType_t t, int64_t rows, int64_t cols,
              int64_t batch, int64_t stride) {
  MPC_LT(call, cublasLtMatrixLayoutCreate(out, t, rows, cols, rows), "matrix layout");
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    MPC_LT(call, cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
           "batch count");
    MPC_LT(call, cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                                  sizeof(stride)),
           "batch stride");
  }
  return Status::ok();
}

// Builds descriptors and picks an algorithm for one problem.
Status buildEntry(const KernelCall &call, Context &ctx, const GemmProblem &p, const int64_t align[3],
                  std::unique_ptr<GemmCache::Entry> *out) {
  auto e = std::make_unique<GemmCache::Entry>();
  const cudaDataType_t t = cudaTypeOf(p.dtype);
  const cublasComputeType_t compute = p.dtype == DType::kF32 && ctx.options().allowTF32
                                          ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : CUBLAS_COMPUTE_32F;
  MPC_LT(call, cublasLtMatmulDescCreate(&e->op, compute, CUDA_R_32F), "matmul descriptor");
  const cublasOperation_t opA = p.transB ? CUBLAS_OP_T : CUBLAS_OP_N;  // cuBLASLt's A is our b
  const cublasOperation_t opB = p.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  MPC_LT(call, cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof(opA)), "transa");
  MPC_LT(call, cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof(opB)), "transb");
  if (p.bias) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    MPC_LT(call, cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), "epilogue");
    MPC_LT(call, cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &t, sizeof(t)),
           "bias type");
  }
  // Stored shapes (column-major rows x cols, leading dimension = rows).
  MPC_RETURN_IF_ERROR(layout(call, &e->a, t, p.transB ? p.k : p.n, p.transB ? p.n : p.k, p.batch, p.strideB));
  MPC_RETURN_IF_ERROR(layout(call, &e->b, t, p.transA ? p.m : p.k, p.transA ? p.k : p.m, p.batch, p.strideA));
  MPC_RETURN_IF_ERROR(layout(call, &e->d, t, p.n, p.m, p.batch, p.strideD));

  cublasLtMatmulPreference_t pref;
  MPC_LT(call, cublasLtMatmulPreferenceCreate(&pref), "preference");
  const uint64_t ws = ctx.workspaceBytes();
  const uint32_t alignA = static_cast<uint32_t>(align[1]), alignB = static_cast<uint32_t>(align[0]),
                 alignD = static_cast<uint32_t>(align[2]);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alignA, sizeof(alignA));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alignB, sizeof(alignB));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alignD, sizeof(alignD));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alignD, sizeof(alignD));
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  const cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(static_cast<cublasLtHandle_t>(ctx.blasLtHandle()), e->op,
                                                          e->a, e->b, e->d, e->d, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS || found == 0)
    return kernelError(call, "cuBLASLt has no algorithm for " + std::string(dtypeName(p.dtype)) + " m=" +
                                 std::to_string(p.m) + " n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) +
                                 " batch=" + std::to_string(p.batch), StatusCode::kUnsupported);
  e->algo = result.algo;
  *out = std::move(e);
  return Status::ok();
}

}  // namespace

Status runGemm(const KernelCall &call, const GemmProblem &p, const void *a, const void *b, void *d) {
  Context *ctx = static_cast<Context *>(call.context);
  if (!ctx) return kernelError(call, "no CUDA context in the kernel call", StatusCode::kInternal);
  const int64_t es = static_cast<int64_t>(dtypeSize(p.dtype));
  const int64_t align[3] = {alignmentOf(a, p.batch, p.strideA * es), alignmentOf(b, p.batch, p.strideB * es),
                            alignmentOf(d, p.batch, p.strideD * es)};
  const std::vector<int64_t> key = {static_cast<int64_t>(p.dtype), p.transA, p.transB, p.m, p.n, p.k, p.batch,
                                    p.strideA, p.strideB, p.strideD, p.bias != nullptr,
                                    ctx->options().allowTF32, align[0], align[1], align[2]};
  GemmCache::Entry *e = ctx->gemmCache().find(key);
  if (!e) {
    std::unique_ptr<GemmCache::Entry> built;
    MPC_RETURN_IF_ERROR(buildEntry(call, *ctx, p, align, &built));
    e = ctx->gemmCache().insert(key, std::move(built));
  }
  if (p.bias)
    MPC_LT(call, cublasLtMatmulDescSetAttribute(e->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof(p.bias)),
           "bias pointer");
  MPC_LT(call,
         cublasLtMatmul(static_cast<cublasLtHandle_t>(ctx->blasLtHandle()), e->op, &p.alpha, b, e->a, a, e->b, &p.beta,
                        d, e->d, d, e->d, &e->algo, call.workspace, call.workspaceBytes,
                        static_cast<cudaStream_t>(call.stream)),
         "matmul");
  return Status::ok();
}

namespace {

Status zeroFill(const KernelCall &call, const TensorView &t) {
  const cudaError_t e = cudaMemsetAsync(t.data, 0, t.nbytes(), static_cast<cudaStream_t>(call.stream));
  if (e != cudaSuccess) return kernelError(call, std::string("cudaMemsetAsync: ") + cudaGetErrorString(e), StatusCode::kInternal);
  return Status::ok();
}

// The flat-batch offsets of one operand; `stride` is set when they are
// i * stride (one strided-batched call can then cover them).
bool linearOffsets(const std::vector<int64_t> &offsets, int64_t *stride) {
  *stride = offsets.size() > 1 ? offsets[1] : 0;
  for (size_t i = 0; i < offsets.size(); ++i)
    if (offsets[i] != static_cast<int64_t>(i) * *stride) return false;
  return true;
}

Status matmulKernel(const KernelCall &call) {
  const TensorView &a = call.inputs[0], &b = call.inputs[1], &y = call.outputs[0];
  GemmProblem p;
  p.dtype = a.dtype;
  p.m = a.rank == 1 ? 1 : a.dims[a.rank - 2];
  p.k = a.dims[a.rank - 1];
  p.n = b.rank == 1 ? 1 : b.dims[b.rank - 1];
  if (y.numel() == 0) return Status::ok();
  if (p.k == 0) return zeroFill(call, y);
  // Batch dims broadcast NumPy-style (shapes were checked at load).
  const int aBatch = std::max(0, a.rank - 2), bBatch = std::max(0, b.rank - 2);
  const int batchRank = std::max(aBatch, bBatch);
  int64_t dims[kMaxRank], aStride[kMaxRank], bStride[kMaxRank];
  int64_t aSt = p.m * p.k, bSt = p.k * p.n, numBatches = 1;
  for (int d = batchRank - 1; d >= 0; --d) {
    const int ia = d - (batchRank - aBatch), ib = d - (batchRank - bBatch);
    const int64_t da = ia >= 0 ? a.dims[ia] : 1, db = ib >= 0 ? b.dims[ib] : 1;
    dims[d] = std::max(da, db);
    aStride[d] = da == 1 ? 0 : aSt;
    bStride[d] = db == 1 ? 0 : bSt;
    aSt *= da;
    bSt *= db;
    numBatches *= dims[d];
  }
  std::vector<int64_t> aOff(numBatches), bOff(numBatches);
  for (int64_t i = 0; i < numBatches; ++i) {
    int64_t rem = i, ao = 0, bo = 0;
    for (int d = batchRank - 1; d >= 0; --d) {
      const int64_t id = rem % dims[d];
      rem /= dims[d];
      ao += id * aStride[d];
      bo += id * bStride[d];
    }
    aOff[i] = ao;
    bOff[i] = bo;
  }
  const int64_t es = static_cast<int64_t>(dtypeSize(p.dtype));
  int64_t sa, sb;
  if (linearOffsets(aOff, &sa) && linearOffsets(bOff, &sb)) {
    if (sb == 0 && (sa == p.m * p.k || numBatches == 1)) {
      // b shared by every batch and a dense: one GEMM with the batch folded into M.
      p.m *= numBatches;
    } else {
      p.batch = numBatches;
      p.strideA = sa;
      p.strideB = sb;
      p.strideD = p.m * p.n;
    }
    return runGemm(call, p, a.data, b.data, y.data);
  }
  // Batch patterns one stride cannot describe: one GEMM per batch.
  for (int64_t i = 0; i < numBatches; ++i)
    MPC_RETURN_IF_ERROR(runGemm(call, p, a.as<const char>() + aOff[i] * es, b.as<const char>() + bOff[i] * es,
                                y.as<char>() + i * p.m * p.n * es));
  return Status::ok();
}

Status gemmKernel(const KernelCall &call) {
  const TensorView &a = call.inputs[0], &b = call.inputs[1], &y = call.outputs[0];
  int64_t ta, tb;
  double alpha, beta;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "trans_a", 0, &ta));
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "trans_b", 0, &tb));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "alpha", 1.0, &alpha));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "beta", 1.0, &beta));
  GemmProblem p;
  p.dtype = a.dtype;
  p.transA = ta != 0;
  p.transB = tb != 0;
  p.m = p.transA ? a.dims[1] : a.dims[0];
  p.k = p.transA ? a.dims[0] : a.dims[1];
  p.n = p.transB ? b.dims[0] : b.dims[1];
  p.alpha = static_cast<float>(alpha);
  if (y.numel() == 0) return Status::ok();
  const bool hasC = call.numInputs == 3 && beta != 0;
  if (hasC) {
    const TensorView &c = call.inputs[2];
    const bool isRowVector = c.numel() == p.n && (c.rank == 1 || (c.rank == 2 && c.dims[0] == 1));
    if (isRowVector && beta == 1.0) {
      p.bias = c.data;  // the bias epilogue: y = alpha * ab + c[n] in FP32, rounded once
    } else {
      // y = c broadcast, then the GEMM accumulates into it with beta.
      MPC_RETURN_IF_ERROR(broadcastCopy(call, c, y));
      p.beta = static_cast<float>(beta);
    }
  }
  return runGemm(call, p, a.data, b.data, y.data);
}

// The CPU check, plus what this kernel does not cover: gemm with k == 0.
KernelCheckFn cpuGemmCheck = nullptr;
Status checkGemmCuda(const KernelCall &call) {
  if (cpuGemmCheck) MPC_RETURN_IF_ERROR(cpuGemmCheck(call));
  int64_t ta;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "trans_a", 0, &ta));
  const TensorView &a = call.inputs[0];
  if (a.rank == 2 && (ta ? a.dims[0] : a.dims[1]) == 0)
    return kernelError(call, "gemm with an empty inner dimension (k = 0) is not supported on CUDA",
                       StatusCode::kUnsupported);
  return Status::ok();
}

}  // namespace

void registerGemmKernels(KernelRegistry &reg) {
  const KernelEntry *cpu = reg.lookup("gemm", Device::kCPU, {DType::kF32, DType::kF32, DType::kF32});
  cpuGemmCheck = cpu ? cpu->check : nullptr;
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    addKernel(reg, "matmul", {t, t, t}, matmulKernel);
    addKernel(reg, "gemm", {t, t, t}, gemmKernel, checkGemmCuda);
    addKernel(reg, "gemm", {t, t, t, t}, gemmKernel, checkGemmCuda);
  }
}

}  // namespace mpc::rt::cuda
