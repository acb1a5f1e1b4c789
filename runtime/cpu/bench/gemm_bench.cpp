// FP32 GEMM: the mpc `matmul` kernel (through the registry) vs cblas_sgemm
// called directly, on transformer (768/3072) shapes and squares.
//   mpc_gemm_bench [threads=2] [repeats=5]
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/kernel.h"
#include "core/thread_pool.h"
#include "cpu/register.h"

using namespace mpc::rt;

namespace {

double seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <typename F> double bestOf(int repeats, F f) {
  f(); // warm-up
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = seconds();
    f();
    best = std::min(best, seconds() - t0);
  }
  return best;
}

TensorView view(float *p, std::initializer_list<int64_t> dims) {
  TensorView t;
  t.data = p;
  t.dtype = DType::kF32;
  for (int64_t d : dims) t.dims[t.rank++] = d;
  return t;
}

} // namespace

int main(int argc, char **argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  KernelRegistry reg;
  registerCpuKernels(reg);
  setCpuBlasThreads(threads);
  ThreadPool pool(threads);
  const KernelEntry *mm = reg.lookup("matmul", Device::kCPU, {DType::kF32, DType::kF32, DType::kF32});
  if (!mm) {
    std::fprintf(stderr, "no f32 matmul kernel\n");
    return 1;
  }
  struct Shape {
    int64_t m, k, n;
  };
  const Shape shapes[] = {{8192, 768, 768},   {8192, 768, 3072},  {8192, 3072, 768},
                          {1024, 1024, 1024}, {2048, 2048, 2048}, {4096, 4096, 4096}};
  std::printf("FP32 GEMM, %d threads, best of %d\n", threads, repeats);
  std::printf("%-20s %12s %12s %8s\n", "M x K x N", "mpc GFLOP/s", "cblas GFLOP/s", "ratio");
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (const Shape &s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
    for (float &v : a) v = dist(rng);
    for (float &v : b) v = dist(rng);
    TensorView in[2] = {view(a.data(), {s.m, s.k}), view(b.data(), {s.k, s.n})};
    TensorView out = view(c.data(), {s.m, s.n});
    Attrs attrs;
    KernelCall call;
    call.op = "matmul";
    call.location = "bench";
    call.inputs = in;
    call.numInputs = 2;
    call.outputs = &out;
    call.numOutputs = 1;
    call.attrs = &attrs;
    call.pool = &pool;
    bool ok = true;
    const double tMpc = bestOf(repeats, [&] { ok &= mm->fn(call).isOk(); });
    // The reference is OpenBLAS with its own threads; the runtime keeps
    // OpenBLAS on one thread and splits GEMMs over its pool instead.
    openblas_set_num_threads(threads);
    const double tBlas = bestOf(repeats, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k, 1.f, a.data(), s.k, b.data(), s.n, 0.f,
                  c.data(), s.n);
    });
    setCpuBlasThreads(threads);
    if (!ok) {
      std::fprintf(stderr, "matmul kernel failed\n");
      return 1;
    }
    const double flops = 2.0 * s.m * s.n * s.k;
    char name[64];
    std::snprintf(name, sizeof(name), "%lldx%lldx%lld", (long long)s.m, (long long)s.k, (long long)s.n);
    std::printf("%-20s %12.1f %12.1f %8.3f\n", name, flops / tMpc * 1e-9, flops / tBlas * 1e-9, tBlas / tMpc);
  }
  return 0;
}
