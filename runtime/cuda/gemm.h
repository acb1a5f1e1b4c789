// GEMMs through cuBLASLt: one handle per session (cuda::Context), matmul
// descriptors, layouts and the heuristic's algorithm cached per problem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/kernel.h"
#include "core/status.h"

namespace mpc::rt::cuda {

class Context;

// One (strided-batched) row-major product:
//   D[b] = alpha * op(A[b]) op(B[b]) + beta * D[b]  (+ bias[n] broadcast over rows)
// with op(A) m x k, op(B) k x n, D m x n. A, B and D have one element type
// (f32, f16 or bf16); the math is FP32 (TF32 products when the context allows
// it for f32). Batch strides are in elements; 0 broadcasts an operand. beta
// != 0 reads D before it is overwritten (cuBLASLt's C is D).
struct GemmProblem {
  DType dtype = DType::kF32;
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  int64_t strideA = 0, strideB = 0, strideD = 0;
  float alpha = 1.0f, beta = 0.0f;
  const void *bias = nullptr;  // n elements of dtype, or null
};

Status runGemm(const KernelCall &call, const GemmProblem &p, const void *a, const void *b, void *d);

// The cached descriptors (opaque outside gemm.cpp).
class GemmCache {
public:
  GemmCache();
  ~GemmCache();
  struct Entry;
  Entry *find(const std::vector<int64_t> &key);
  Entry *insert(const std::vector<int64_t> &key, std::unique_ptr<Entry> entry);

private:
  std::map<std::vector<int64_t>, std::unique_ptr<Entry>> entries_;
};

// dst = src broadcast NumPy-style to dst's shape (same dtype); nothing when
// src is dst. Implemented in cuda/movement.cu.
Status broadcastCopy(const KernelCall &call, const TensorView &src, const TensorView &dst);

// Registration of matmul and gemm (cuda/gemm.cpp).
void registerGemmKernels(KernelRegistry &reg);

}  // namespace mpc::rt::cuda
