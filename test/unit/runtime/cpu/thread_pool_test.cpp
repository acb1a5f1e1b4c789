// ThreadPool behaviour and thread-count independence of kernel results.
#include <atomic>

#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

TEST(ThreadPool, CoversRangeOnceWithFixedChunks) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.numThreads(), threads);
    std::vector<std::atomic<int>> hits(10007);
    std::vector<std::pair<int64_t, int64_t>> chunks(11);
    pool.parallelFor(10007, 1000, [&](int64_t b, int64_t e) {
      chunks[b / 1000] = {b, e};
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (auto &h : hits) ASSERT_EQ(h.load(), 1);
    for (int64_t c = 0; c < 11; ++c)
      EXPECT_EQ(chunks[c], std::make_pair(c * 1000, std::min<int64_t>(10007, (c + 1) * 1000)));
    pool.parallelFor(0, 10, [&](int64_t, int64_t) { ADD_FAILURE() << "called for n = 0"; });
    // Nested calls run inline instead of deadlocking.
    std::atomic<int64_t> total{0};
    pool.parallelFor(8, 1,
                     [&](int64_t, int64_t) { pool.parallelFor(10, 3, [&](int64_t b, int64_t e) { total += e - b; }); });
    EXPECT_EQ(total.load(), 80);
  }
}

// Runs an op under pools of 1 and 4 threads; the outputs must be bit-identical.
void expectThreadIndependent(const std::string &op, std::vector<Tensor *> ins, std::vector<Tensor> outs,
                             std::vector<Attr> attrs) {
  ThreadPool one(1), four(4);
  std::vector<Tensor> outs4 = outs;
  std::vector<Tensor *> o1, o4;
  for (auto &t : outs) o1.push_back(&t);
  for (auto &t : outs4) o4.push_back(&t);
  ASSERT_KERNEL_OK(runKernel(op, ins, o1, attrs, &one));
  ASSERT_KERNEL_OK(runKernel(op, ins, o4, attrs, &four));
  for (size_t i = 0; i < outs.size(); ++i) EXPECT_EQ(outs[i].bytes, outs4[i].bytes) << op << " output " << i;
}

TEST(ThreadPool, KernelResultsDoNotDependOnThreadCount) {
  // GEMMs are split over the pool by rows, columns or batches (cpu/gemm.h).
  Tensor ma = randomTensor(DType::kF32, {300, 160}, 11), mb = randomTensor(DType::kF32, {160, 200}, 12);
  expectThreadIndependent("matmul", {&ma, &mb}, {Tensor(DType::kF32, {300, 200})}, {});
  Tensor wide = randomTensor(DType::kF32, {8, 512}, 13), wb = randomTensor(DType::kF32, {512, 1024}, 14);
  expectThreadIndependent("matmul", {&wide, &wb}, {Tensor(DType::kF32, {8, 1024})}, {});
  Tensor ba = randomTensor(DType::kF32, {6, 64, 48}, 15), bb = randomTensor(DType::kF32, {6, 48, 64}, 16);
  expectThreadIndependent("matmul", {&ba, &bb}, {Tensor(DType::kF32, {6, 64, 64})}, {});
  Tensor gb = randomTensor(DType::kF32, {200, 160}, 17), gc = randomTensor(DType::kF32, {200}, 18);
  expectThreadIndependent("gemm", {&ma, &gb, &gc}, {Tensor(DType::kF32, {300, 200})},
                          {attr("trans_b", int64_t(1))});
  Tensor x = randomTensor(DType::kF32, {64, 3000}, 1);
  expectThreadIndependent("softmax", {&x}, {Tensor(DType::kF32, {64, 3000})}, {attr("axis", int64_t(1))});
  expectThreadIndependent("reduce_sum", {&x}, {Tensor(DType::kF32, {3000})},
                          {attr("axes", Ints{0}), attr("keepdims", int64_t(0))});
  expectThreadIndependent("reduce_mean", {&x}, {Tensor(DType::kF32, {64})},
                          {attr("axes", Ints{1}), attr("keepdims", int64_t(0))});
  Tensor s = randomTensor(DType::kF32, {3000}, 2), b = randomTensor(DType::kF32, {3000}, 3);
  expectThreadIndependent("layer_norm", {&x, &s, &b},
                          {Tensor(DType::kF32, {64, 3000}), Tensor(DType::kF32, {64, 1}), Tensor(DType::kF32, {64, 1})},
                          {attr("axis", int64_t(1))});
  Tensor img = randomTensor(DType::kBF16, {4, 8, 32, 32}, 4), w = randomTensor(DType::kBF16, {16, 8, 3, 3}, 5);
  expectThreadIndependent("conv", {&img, &w}, {Tensor(DType::kBF16, {4, 16, 32, 32})},
                          {attr("pads", Ints{1, 1, 1, 1})});
  Tensor sc = randomTensor(DType::kF32, {8}, 6), bi = randomTensor(DType::kF32, {8}, 7), rm(DType::kF32, {8});
  Tensor rv = randomTensor(DType::kF32, {8}, 8, 0.5, 1);
  for (int i = 0; i < 8; ++i) rm.set(i, 0);
  expectThreadIndependent("batch_norm_train", {&img, &sc, &bi, &rm, &rv},
                          {Tensor(DType::kBF16, img.dims), Tensor(DType::kF32, {8}), Tensor(DType::kF32, {8})}, {});
}

} // namespace
} // namespace mpc::rt::test
