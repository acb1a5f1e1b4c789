// max_pool_grad and avg_pool_grad against naive loops (and, for avg_pool in
// f64, central finite differences of the forward kernel).
#include <limits>

#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

struct PoolCase {
  Dims x;
  Ints k, s, pads, d;
  bool ceil, includePad;
};

int64_t poolOut(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1, bool ceil) {
  const double span = static_cast<double>(in + p0 + p1 - d * (k - 1) - 1) / s;
  int64_t out = static_cast<int64_t>(ceil ? std::ceil(span) : std::floor(span)) + 1;
  if (ceil && (out - 1) * s >= in + p0) --out;
  return out;
}

const std::vector<PoolCase> &cases() {
  static const std::vector<PoolCase> c = {
      {{2, 3, 7, 7}, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, false, false},
      {{1, 2, 7, 8}, {3, 2}, {2, 2}, {1, 0, 1, 1}, {1, 1}, true, false},
      {{1, 2, 6, 6}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true, true},   // overlapping windows
      {{1, 1, 9, 9}, {2, 2}, {3, 3}, {0, 0, 1, 1}, {2, 2}, true, false},  // dilation (max only)
  };
  return c;
}

Dims outOf(const PoolCase &c) {
  return {c.x[0], c.x[1], poolOut(c.x[2], c.k[0], c.s[0], c.d[0], c.pads[0], c.pads[2], c.ceil),
          poolOut(c.x[3], c.k[1], c.s[1], c.d[1], c.pads[1], c.pads[3], c.ceil)};
}

std::vector<Attr> maxAttrs(const PoolCase &c) {
  return {attr("kernel_shape", c.k), attr("strides", c.s), attr("pads", c.pads), attr("dilations", c.d),
          attr("ceil_mode", int64_t(c.ceil))};
}
std::vector<Attr> avgAttrs(const PoolCase &c) {
  return {attr("kernel_shape", c.k), attr("strides", c.s), attr("pads", c.pads), attr("ceil_mode", int64_t(c.ceil)),
          attr("count_include_pad", int64_t(c.includePad))};
}

TEST(MaxPoolGrad, RoutesToFirstMaximum) {
  for (DType t : floatTypes())
    for (const PoolCase &c : cases()) {
      // Few distinct values, so windows hold ties: the first maximum wins.
      Tensor x = randomInts(DType::kF64, c.x, 41, -3, 3);
      x = convertTo(x, t);
      const Dims o = outOf(c);
      Tensor dy = randomTensor(t, o, 42), dx(t, c.x);
      ASSERT_KERNEL_OK(runOp("max_pool_grad", {&x, &dy}, {&dx}, maxAttrs(c)));
      std::vector<double> want(x.numel(), 0.0);
      for (int64_t p = 0; p < c.x[0] * c.x[1]; ++p)
        for (int64_t oy = 0; oy < o[2]; ++oy)
          for (int64_t ox = 0; ox < o[3]; ++ox) {
            int64_t best = -1;
            double m = -INFINITY;
            for (int64_t i = 0; i < c.k[0]; ++i)
              for (int64_t j = 0; j < c.k[1]; ++j) {
                const int64_t iy = oy * c.s[0] - c.pads[0] + i * c.d[0], ix = ox * c.s[1] - c.pads[1] + j * c.d[1];
                if (iy < 0 || iy >= c.x[2] || ix < 0 || ix >= c.x[3]) continue;
                const int64_t q = (p * c.x[2] + iy) * c.x[3] + ix;
                if (best < 0 || x.get(q) > m) best = q, m = x.get(q);
              }
            want[best] += dy.get((p * o[2] + oy) * o[3] + ox);
          }
      EXPECT_TRUE(allClose(dx, want, tolFor(t, 4))) << dtypeName(t);
    }
}

TEST(MaxPoolGrad, NaNWindowRoutesToTheNaN) {
  Tensor x = fromValues(DType::kF32, {1, 1, 2, 2}, {1, NAN, 5, 2});
  Tensor dy = fromValues(DType::kF32, {1, 1, 1, 1}, {3}), dx(DType::kF32, {1, 1, 2, 2});
  ASSERT_KERNEL_OK(runOp("max_pool_grad", {&x, &dy}, {&dx}, {attr("kernel_shape", Ints{2, 2})}));
  EXPECT_TRUE(allClose(dx, {0, 3, 0, 0}, {0, 0}));
}

TEST(AvgPoolGrad, F64MatchesFiniteDifferences) {
  for (const PoolCase &c : cases()) {
    if (c.d[0] != 1) continue;
    const Dims o = outOf(c);
    Tensor x = randomTensor(DType::kF64, c.x, 43), dy = randomTensor(DType::kF64, o, 44);
    Tensor dx(DType::kF64, c.x), y(DType::kF64, o);
    ASSERT_KERNEL_OK(runOp("avg_pool_grad", {&dy}, {&dx}, avgAttrs(c)));
    auto loss = [&] {
      EXPECT_TRUE(runKernel("avg_pool", {&x}, {&y}, avgAttrs(c)).isOk());
      return dot(y, dy);
    };
    EXPECT_TRUE(allClose(dx, numericGrad(x, loss), {1e-7, 1e-8}));
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
      Tensor dyt = convertTo(dy, t), dxt(t, c.x), dx64(DType::kF64, c.x), dy64 = convertTo(dyt, DType::kF64);
      ASSERT_KERNEL_OK(runOp("avg_pool_grad", {&dyt}, {&dxt}, avgAttrs(c)));
      ASSERT_KERNEL_OK(runOp("avg_pool_grad", {&dy64}, {&dx64}, avgAttrs(c)));
      EXPECT_TRUE(allClose(dxt, dx64.values(), tolFor(t, 4))) << dtypeName(t);
    }
  }
}

TEST(PoolGrad, RejectsWrongDyShape) {
  const PoolCase &c = cases()[0];
  Tensor x(DType::kF32, c.x), dy(DType::kF32, {2, 3, 2, 2}), dx(DType::kF32, c.x);
  EXPECT_KERNEL_ERROR(checkOp("max_pool_grad", {&x, &dy}, {&dx}, maxAttrs(c)), "dy has shape");
  EXPECT_KERNEL_ERROR(checkOp("avg_pool_grad", {&dy}, {&dx}, avgAttrs(c)), "dy has shape");
  Tensor dyOk(DType::kF32, outOf(c));
  EXPECT_KERNEL_ERROR(checkOp("avg_pool_grad", {&dyOk}, {&dx}, {}), "kernel_shape");
}

}  // namespace
}  // namespace mpc::rt::test
