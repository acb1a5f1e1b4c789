// gather_grad and slice_grad against naive scatter loops and central finite
// differences of the forward kernels.
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

TEST(GatherGrad, ScatterAddsRepeatedIndices) {
  for (DType t : floatTypes())
    for (DType it : {DType::kI32, DType::kI64})
      for (int64_t axis : {0, 1, 2}) {
        const Dims data{4, 5, 3};
        // Repeated and negative indices.
        Tensor ind = fromValues(it, {2, 3}, {1, -1, 1, 0, static_cast<double>(data[axis] - 1), 1});
        Dims dyDims;
        for (int64_t d = 0; d < axis; ++d) dyDims.push_back(data[d]);
        dyDims.push_back(2);
        dyDims.push_back(3);
        for (int64_t d = axis + 1; d < 3; ++d) dyDims.push_back(data[d]);
        Tensor dy = randomTensor(t, dyDims, 91), dd(t, data);
        ASSERT_KERNEL_OK(runOp("gather_grad", {&ind, &dy}, {&dd}, {attr("axis", axis)}));
        std::vector<double> want(dd.numel(), 0.0);
        for (int64_t i = 0; i < dy.numel(); ++i) {
          Dims idx = unravel(i, dyDims);
          int64_t k = static_cast<int64_t>(ind.get(idx[axis] * 3 + idx[axis + 1]));
          if (k < 0) k += data[axis];
          Dims di;
          for (int64_t d = 0; d < axis; ++d) di.push_back(idx[d]);
          di.push_back(k);
          for (int64_t d = axis + 2; d < static_cast<int64_t>(idx.size()); ++d) di.push_back(idx[d]);
          want[ravel(di, data)] += dy.get(i);
        }
        EXPECT_TRUE(allClose(dd, want, tolFor(t, 4))) << dtypeName(t) << " axis " << axis;
      }
}

TEST(GatherGrad, F64MatchesFiniteDifferences) {
  Tensor data = randomTensor(DType::kF64, {6, 4}, 92), ind = fromValues(DType::kI64, {5}, {0, 5, 0, 2, -1});
  Tensor dy = randomTensor(DType::kF64, {5, 4}, 93), dd(DType::kF64, {6, 4}), y(DType::kF64, {5, 4});
  ASSERT_KERNEL_OK(runOp("gather_grad", {&ind, &dy}, {&dd}, {attr("axis", int64_t(0))}));
  auto f = [&] {
    EXPECT_TRUE(runKernel("gather", {&data, &ind}, {&y}, {attr("axis", int64_t(0))}).isOk());
    return dot(y, dy);
  };
  EXPECT_TRUE(allClose(dd, numericGrad(data, f), {1e-7, 1e-8}));
}

TEST(GatherGrad, RejectsBadIndices) {
  Tensor ind = fromValues(DType::kI64, {2}, {0, 9}), dy(DType::kF32, {2, 3}), dd(DType::kF32, {4, 3});
  EXPECT_KERNEL_ERROR(runOp("gather_grad", {&ind, &dy}, {&dd}, {attr("axis", int64_t(0))}), "out of range");
  Tensor dyBad(DType::kF32, {3, 3});
  EXPECT_KERNEL_ERROR(checkOp("gather_grad", {&ind, &dyBad}, {&dd}, {attr("axis", int64_t(0))}), "dy");
}

TEST(SliceGrad, ZerosOutsideTheSlice) {
  struct Case {
    Ints starts, ends, steps;
  };
  const Dims xd{5, 6};
  const std::vector<Case> cases = {{{1, 0}, {4, 6}, {1, 2}}, {{4, 5}, {-1, 0}, {-2, -1}}, {{0, 2}, {5, 2}, {1, 1}}};
  for (const Case &c : cases) {
    Dims yd;
    for (int d = 0; d < 2; ++d) {
      const int64_t s = c.starts[d], e = c.ends[d], st = c.steps[d];
      yd.push_back(st > 0 ? std::max<int64_t>(0, (e - s + st - 1) / st) : std::max<int64_t>(0, (s - e - st - 1) / -st));
    }
    const std::vector<Attr> at = {attr("starts", c.starts), attr("ends", c.ends), attr("steps", c.steps)};
    for (DType t : {DType::kF64, DType::kF32, DType::kBF16, DType::kI64}) {
      Tensor x = convertTo(randomTensor(DType::kF64, xd, 94), t), dy = convertTo(randomTensor(DType::kF64, yd, 95), t);
      Tensor dx(t, xd), y(t, yd);
      ASSERT_KERNEL_OK(runOp("slice_grad", {&dy}, {&dx}, at));
      std::vector<double> want(dx.numel(), 0.0);
      for (int64_t i = 0; i < dy.numel(); ++i) {
        Dims idx = unravel(i, yd);
        want[ravel({c.starts[0] + idx[0] * c.steps[0], c.starts[1] + idx[1] * c.steps[1]}, xd)] = dy.get(i);
      }
      EXPECT_TRUE(allClose(dx, want, {0, 0})) << dtypeName(t);
      if (t == DType::kF64) {
        auto f = [&] {
          EXPECT_TRUE(runKernel("slice", {&x}, {&y}, at).isOk());
          return dot(y, dy);
        };
        EXPECT_TRUE(allClose(dx, numericGrad(x, f), {1e-7, 1e-8}));
      }
    }
  }
  Tensor dy(DType::kF32, {2, 2}), dx(DType::kF32, {5, 6});
  EXPECT_KERNEL_ERROR(checkOp("slice_grad", {&dy}, {&dx}, {attr("starts", Ints{0, 0}), attr("ends", Ints{3, 2}),
                                                           attr("steps", Ints{1, 1})}),
                      "dy has shape");
}

}  // namespace
}  // namespace mpc::rt::test
