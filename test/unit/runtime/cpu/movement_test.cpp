// Data-movement kernels (byte copies, so exact) for several dtypes.
#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

const std::vector<DType> kMoveTypes = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64,
                                       DType::kI64, DType::kI32, DType::kBool, DType::kF8E4M3FN};

Tensor iota(DType t, const Dims &d) {
  Tensor x(t, d);
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, t == DType::kBool ? i % 2 : (i % 200) - 50);
  return x;
}

TEST(Movement, ReshapeAndExpand) {
  for (DType t : kMoveTypes) {
    Tensor x = iota(t, {2, 3, 4});
    Tensor y(t, {4, 6});
    ASSERT_KERNEL_OK(runKernel("reshape", {&x}, {&y}));
    EXPECT_EQ(y.values(), x.values());
    Tensor bad(t, {5, 5});
    EXPECT_FALSE(runKernel("reshape", {&x}, {&bad}).isOk());
    Tensor s = iota(t, {3, 1});
    Tensor e(t, {2, 3, 4});
    ASSERT_KERNEL_OK(runKernel("expand", {&s}, {&e}));
    std::vector<double> want;
    for (int64_t i = 0; i < e.numel(); ++i) want.push_back(s.get((i / 4) % 3));
    EXPECT_EQ(e.values(), want) << dtypeName(t);
  }
}

TEST(Movement, Transpose) {
  for (DType t : kMoveTypes)
    for (const Ints &perm : {Ints{2, 0, 1}, Ints{1, 0, 2}, Ints{0, 1, 2}, Ints{}}) {
      const Dims d = {2, 3, 4};
      Tensor x = iota(t, d);
      const Ints p = perm.empty() ? Ints{2, 1, 0} : perm;
      Dims od = {d[p[0]], d[p[1]], d[p[2]]};
      Tensor y(t, od);
      ASSERT_KERNEL_OK(runKernel("transpose", {&x}, {&y},
                                 perm.empty() ? std::vector<Attr>{} : std::vector<Attr>{attr("perm", perm)}));
      std::vector<double> want;
      for (int64_t i = 0; i < y.numel(); ++i) {
        const Dims oi = unravel(i, od);
        Dims ii(3);
        for (int k = 0; k < 3; ++k) ii[p[k]] = oi[k];
        want.push_back(x.get(ravel(ii, d)));
      }
      EXPECT_EQ(y.values(), want) << dtypeName(t);
    }
  Tensor x(DType::kF32, {2, 3}), y(DType::kF32, {3, 2});
  EXPECT_FALSE(runKernel("transpose", {&x}, {&y}, {attr("perm", Ints{0, 0})}).isOk());
}

TEST(Movement, ConcatAndSplit) {
  for (DType t : kMoveTypes)
    for (int64_t axis : {0, 1, 2}) {
      const Dims base = {2, 3, 4};
      Dims d0 = base, d1 = base, d2 = base;
      d1[axis] = 1;
      d2[axis] = 2;
      Tensor a = iota(t, d0), b = iota(t, d1), c = iota(t, d2);
      for (int64_t i = 0; i < b.numel(); ++i) b.set(i, t == DType::kBool ? 1 : 100 + i);
      Dims od = base;
      od[axis] = base[axis] + 3;
      Tensor y(t, od);
      ASSERT_KERNEL_OK(runKernel("concat", {&a, &b, &c}, {&y}, {attr("axis", axis)}));
      std::vector<double> want;
      for (int64_t i = 0; i < y.numel(); ++i) {
        Dims idx = unravel(i, od);
        if (idx[axis] < base[axis]) {
          want.push_back(a.get(ravel(idx, d0)));
        } else if (idx[axis] < base[axis] + 1) {
          idx[axis] -= base[axis];
          want.push_back(b.get(ravel(idx, d1)));
        } else {
          idx[axis] -= base[axis] + 1;
          want.push_back(c.get(ravel(idx, d2)));
        }
      }
      EXPECT_EQ(y.values(), want) << dtypeName(t) << " axis " << axis;
      // split undoes concat.
      Tensor sa(t, d0), sb(t, d1), sc(t, d2);
      ASSERT_KERNEL_OK(
          runKernel("split", {&y}, {&sa, &sb, &sc}, {attr("axis", axis), attr("sizes", Ints{base[axis], 1, 2})}));
      EXPECT_EQ(sa.values(), a.values());
      EXPECT_EQ(sb.values(), b.values());
      EXPECT_EQ(sc.values(), c.values());
      Tensor wrong(t, d0);
      EXPECT_FALSE(runKernel("concat", {&a, &b}, {&wrong}, {attr("axis", axis)}).isOk());
    }
}

TEST(Movement, SliceWithNegativeSteps) {
  struct Case {
    Ints starts, ends, steps;
  };
  const Dims d = {5, 6};
  const std::vector<Case> cases = {
      {{0, 0}, {5, 6}, {1, 1}},     {{1, 2}, {4, 6}, {2, 3}},
      {{4, 5}, {-1, -1}, {-1, -2}},                           // walk down to index 0 ("ends = -1": before index 0)
      {{3, 4}, {0, 1}, {-2, -1}},   {{2, 0}, {2, 6}, {1, 1}}, // empty dim
  };
  for (DType t : kMoveTypes)
    for (const Case &c : cases) {
      Tensor x = iota(t, d);
      Dims od;
      for (int k = 0; k < 2; ++k) {
        int64_t n = 0;
        for (int64_t i = c.starts[k]; c.steps[k] > 0 ? i < c.ends[k] : i > c.ends[k]; i += c.steps[k]) ++n;
        od.push_back(n);
      }
      Tensor y(t, od);
      ASSERT_KERNEL_OK(
          runKernel("slice", {&x}, {&y}, {attr("starts", c.starts), attr("ends", c.ends), attr("steps", c.steps)}));
      std::vector<double> want;
      for (int64_t i = c.starts[0]; c.steps[0] > 0 ? i < c.ends[0] : i > c.ends[0]; i += c.steps[0])
        for (int64_t j = c.starts[1]; c.steps[1] > 0 ? j < c.ends[1] : j > c.ends[1]; j += c.steps[1])
          want.push_back(x.get(i * 6 + j));
      EXPECT_EQ(y.values(), want) << dtypeName(t);
    }
}

TEST(Movement, GatherNegativeIndices) {
  for (DType t : kMoveTypes)
    for (DType it : {DType::kI32, DType::kI64})
      for (int64_t axis : {0, 1, 2}) {
        const Dims d = {3, 4, 5};
        Tensor x = iota(t, d);
        Tensor ind = fromValues(it, {2, 2}, {0, -1, 2, -2});
        Dims od;
        for (int64_t k = 0; k < axis; ++k) od.push_back(d[k]);
        od.push_back(2);
        od.push_back(2);
        for (int64_t k = axis + 1; k < 3; ++k) od.push_back(d[k]);
        Tensor y(t, od);
        ASSERT_KERNEL_OK(runKernel("gather", {&x, &ind}, {&y}, {attr("axis", axis)}));
        std::vector<double> want;
        for (int64_t i = 0; i < y.numel(); ++i) {
          const Dims oi = unravel(i, od);
          Dims xi;
          for (int64_t k = 0; k < axis; ++k) xi.push_back(oi[k]);
          int64_t v = static_cast<int64_t>(ind.get(oi[axis] * 2 + oi[axis + 1]));
          xi.push_back(v < 0 ? v + d[axis] : v);
          for (int64_t k = axis + 1; k < 3; ++k) xi.push_back(oi[k + 1]);
          want.push_back(x.get(ravel(xi, d)));
        }
        EXPECT_EQ(y.values(), want) << dtypeName(t) << " axis " << axis;
      }
  Tensor x(DType::kF32, {3}), ind = fromValues(DType::kI64, {1}, {3}), y(DType::kF32, {1});
  const Status st = runKernel("gather", {&x, &ind}, {&y}, {attr("axis", int64_t(0))});
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("out of range"), std::string::npos);
}

TEST(Movement, Constant) {
  Tensor y(DType::kBF16, {2, 2});
  ASSERT_KERNEL_OK(runKernel("constant", {}, {&y}, {attr("value", std::vector<double>{1.5, -2, 1e-3, 3.0})}));
  EXPECT_TRUE(allClose(y, {1.5, -2, 1e-3, 3.0}, tolFor(DType::kBF16)));
  Tensor z(DType::kI64, {3});
  ASSERT_KERNEL_OK(runKernel("constant", {}, {&z}, {attr("value", int64_t(7))}));
  EXPECT_EQ(z.values(), (std::vector<double>{7, 7, 7}));
  EXPECT_FALSE(runKernel("constant", {}, {&z}, {attr("value", Ints{1, 2})}).isOk());
}

} // namespace
} // namespace mpc::rt::test
