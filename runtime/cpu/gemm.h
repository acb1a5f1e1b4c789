// GEMM on the CPU: row-major BLAS calls, split over the runtime's thread pool.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace mpc::rt::cpu {

// Row-major C[M,N] = alpha * op(A) op(B) + beta * C.
inline void gemmRowMajor(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}
inline void gemmRowMajor(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t lda,
                  const double *b, int64_t ldb, double beta, double *c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

// Splits one GEMM over the pool: row blocks of C (or column blocks when C has
// few rows), each a single-threaded BLAS call. OpenBLAS itself runs on one
// thread (setCpuBlasThreads): two thread pools on the same cores make
// OpenBLAS's spinning helpers compete with ours between GEMMs. K is never
// split, so every element sums in the same order whatever the thread count.
template <typename A>
inline void parallelGemm(ThreadPool *pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, A alpha, const A *a,
                  int64_t lda, const A *b, int64_t ldb, A beta, A *c, int64_t ldc) {
  const int threads = pool ? pool->numThreads() : 1;
  constexpr int64_t kMinFlopsPerTask = int64_t(1) << 21;
  const int64_t flops = 2 * m * n * k;
  if (threads <= 1 || flops < 2 * kMinFlopsPerTask) {
    gemmRowMajor(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int64_t tasks = std::min<int64_t>(threads, flops / kMinFlopsPerTask);
  if (m >= n || m >= 16 * tasks) {
    // Row blocks, multiples of 16 rows (the BLAS micro-tile height).
    const int64_t rows = (m + tasks - 1) / tasks;
    const int64_t step = std::max<int64_t>(16, (rows + 15) / 16 * 16);
    parallelFor(pool, (m + step - 1) / step, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t r0 = t * step, r1 = std::min(m, r0 + step);
        gemmRowMajor(ta, tb, r1 - r0, n, k, alpha, ta ? a + r0 : a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc,
                     ldc);
      }
    });
    return;
  }
  const int64_t cols = (n + tasks - 1) / tasks;
  const int64_t step = std::max<int64_t>(16, (cols + 15) / 16 * 16);
  parallelFor(pool, (n + step - 1) / step, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t c0 = t * step, c1 = std::min(n, c0 + step);
      gemmRowMajor(ta, tb, m, c1 - c0, k, alpha, a, lda, tb ? b + c0 * ldb : b + c0, ldb, beta, c + c0, ldc);
    }
  });
}

} // namespace mpc::rt::cpu
