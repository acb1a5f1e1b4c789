// conv_grad_input and conv_grad_weight: f64 against central finite
// differences of the forward conv kernel, lower precisions against a naive
// double loop over the forward definition.
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

struct ConvCase {
  Dims x, w;
  Ints strides, pads, dilations;
  int64_t group;
};

const std::vector<ConvCase> &convCases() {
  static const std::vector<ConvCase> c = {
      {{2, 3, 6, 6}, {4, 3, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
      {{1, 2, 7, 6}, {3, 2, 3, 2}, {2, 1}, {1, 0, 2, 1}, {1, 1}, 1},  // strides, asymmetric pads
      {{1, 4, 7, 7}, {4, 2, 2, 2}, {1, 2}, {1, 1, 1, 1}, {2, 1}, 2},  // groups, dilation
      {{2, 3, 4, 5}, {2, 3, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},  // 1x1
  };
  return c;
}

Dims outDims(const ConvCase &c) {
  const int64_t kh = c.dilations[0] * (c.w[2] - 1) + 1, kw = c.dilations[1] * (c.w[3] - 1) + 1;
  return {c.x[0], c.w[0], (c.x[2] + c.pads[0] + c.pads[2] - kh) / c.strides[0] + 1,
          (c.x[3] + c.pads[1] + c.pads[3] - kw) / c.strides[1] + 1};
}

std::vector<Attr> convAttrs(const ConvCase &c) {
  return {attr("strides", c.strides), attr("pads", c.pads), attr("dilations", c.dilations), attr("group", c.group)};
}

// Naive adjoints in double: for every (output, filter tap) pair that the
// forward conv multiplies, accumulate the products into dx and dw.
void naiveGrads(const ConvCase &c, const Tensor &x, const Tensor &w, const Tensor &dy, std::vector<double> *dx,
                std::vector<double> *dw) {
  const Dims o = outDims(c);
  const int64_t cg = c.x[1] / c.group, mg = c.w[0] / c.group;
  dx->assign(x.numel(), 0);
  dw->assign(w.numel(), 0);
  for (int64_t n = 0; n < o[0]; ++n)
    for (int64_t m = 0; m < o[1]; ++m)
      for (int64_t oy = 0; oy < o[2]; ++oy)
        for (int64_t ox = 0; ox < o[3]; ++ox) {
          const double g = dy.get(ravel({n, m, oy, ox}, o));
          const int64_t grp = m / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t i = 0; i < c.w[2]; ++i)
              for (int64_t j = 0; j < c.w[3]; ++j) {
                const int64_t iy = oy * c.strides[0] - c.pads[0] + i * c.dilations[0];
                const int64_t ix = ox * c.strides[1] - c.pads[1] + j * c.dilations[1];
                if (iy < 0 || iy >= c.x[2] || ix < 0 || ix >= c.x[3]) continue;
                const int64_t xi = ravel({n, grp * cg + ci, iy, ix}, c.x), wi = ravel({m, ci, i, j}, c.w);
                (*dx)[xi] += g * w.get(wi);
                (*dw)[wi] += g * x.get(xi);
              }
        }
}

TEST(ConvGrad, F64MatchesFiniteDifferences) {
  for (const ConvCase &c : convCases()) {
    Tensor x = randomTensor(DType::kF64, c.x, 21), w = randomTensor(DType::kF64, c.w, 22);
    Tensor dy = randomTensor(DType::kF64, outDims(c), 23);
    Tensor dx(DType::kF64, c.x), dw(DType::kF64, c.w), y(DType::kF64, outDims(c));
    ASSERT_KERNEL_OK(runOp("conv_grad_input", {&dy, &w}, {&dx}, convAttrs(c)));
    ASSERT_KERNEL_OK(runOp("conv_grad_weight", {&x, &dy}, {&dw}, convAttrs(c)));
    auto loss = [&] {
      EXPECT_TRUE(runKernel("conv", {&x, &w}, {&y}, convAttrs(c)).isOk());
      return dot(y, dy);
    };
    EXPECT_TRUE(allClose(dx, numericGrad(x, loss), {1e-7, 1e-7})) << "dx, case x=" << c.x[1] << "ch";
    EXPECT_TRUE(allClose(dw, numericGrad(w, loss), {1e-7, 1e-7})) << "dw";
  }
}

TEST(ConvGrad, AllDTypesMatchNaiveLoops) {
  for (DType t : floatTypes())
    for (const ConvCase &c : convCases()) {
      Tensor x = randomTensor(t, c.x, 31), w = randomTensor(t, c.w, 32), dy = randomTensor(t, outDims(c), 33);
      Tensor dx(t, c.x), dw(t, c.w);
      ASSERT_KERNEL_OK(runOp("conv_grad_input", {&dy, &w}, {&dx}, convAttrs(c)));
      ASSERT_KERNEL_OK(runOp("conv_grad_weight", {&x, &dy}, {&dw}, convAttrs(c)));
      std::vector<double> wantDx, wantDw;
      naiveGrads(c, x, w, dy, &wantDx, &wantDw);
      // Sums of up to a few hundred products: scale the tolerance with them.
      EXPECT_TRUE(allClose(dx, wantDx, tolFor(t, 8))) << dtypeName(t);
      EXPECT_TRUE(allClose(dw, wantDw, tolFor(t, 30))) << dtypeName(t);
    }
}

TEST(ConvGrad, RejectsMismatchedShapes) {
  ConvCase c = convCases()[0];
  Tensor w(DType::kF32, c.w), dy(DType::kF32, {2, 4, 5, 5}), dx(DType::kF32, c.x);  // dy should be 4x4
  EXPECT_KERNEL_ERROR(checkOp("conv_grad_input", {&dy, &w}, {&dx}, convAttrs(c)), "dy has shape");
  Tensor x(DType::kF32, c.x), dw(DType::kF32, {4, 2, 3, 3});
  Tensor dyOk(DType::kF32, outDims(c));
  EXPECT_KERNEL_ERROR(checkOp("conv_grad_weight", {&x, &dyOk}, {&dw}, convAttrs(c)), "filter shape");
  EXPECT_KERNEL_ERROR(checkOp("conv_grad_input", {&dyOk, &w}, {&dx}, {attr("group", int64_t(2))}), "group");
}

}  // namespace
}  // namespace mpc::rt::test
