// gelu_grad, softmax_grad, log_softmax_grad, dropout_grad and copy: f64
// against central finite differences of the forward kernels, every float
// dtype against a double-precision formula.
#include <cmath>

#include "cpu/dropout.h"
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

TEST(GeluGrad, MatchesFiniteDifferencesOfForward) {
  for (const char *approx : {"none", "tanh"}) {
    Tensor x = randomTensor(DType::kF64, {3, 7}, 1, -3, 3);
    Tensor dy = randomTensor(DType::kF64, {3, 7}, 2);
    Tensor dx(DType::kF64, {3, 7});
    ASSERT_KERNEL_OK(runOp("gelu_grad", {&x, &dy}, {&dx}, {attr("approximate", std::string(approx))}));
    Tensor y(DType::kF64, {3, 7});
    auto loss = [&] {
      EXPECT_TRUE(runKernel("gelu", {&x}, {&y}, {attr("approximate", std::string(approx))}).isOk());
      return dot(y, dy);
    };
    EXPECT_TRUE(allClose(dx, numericGrad(x, loss), {1e-7, 1e-8})) << approx;
  }
}

TEST(GeluGrad, AllDTypesMatchFormula) {
  for (DType t : floatTypes())
    for (const char *approx : {"none", "tanh"}) {
      Tensor x = randomTensor(t, {5, 9}, 3, -4, 4);
      Tensor dy = randomTensor(t, {5, 9}, 4);
      Tensor dx(t, {5, 9});
      ASSERT_KERNEL_OK(runOp("gelu_grad", {&x, &dy}, {&dx}, {attr("approximate", std::string(approx))}));
      std::vector<double> want;
      for (int64_t i = 0; i < x.numel(); ++i) {
        const double v = x.get(i);
        double d;
        if (std::string(approx) == "tanh") {
          const double k = std::sqrt(2 / M_PI), u = k * (v + 0.044715 * v * v * v), th = std::tanh(u);
          d = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v);
        } else {
          d = 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-v * v / 2) / std::sqrt(2 * M_PI);
        }
        want.push_back(dy.get(i) * d);
      }
      EXPECT_TRUE(allClose(dx, want, tolFor(t, 4))) << dtypeName(t) << " " << approx;
    }
}

TEST(GeluGrad, RejectsBadApproximate) {
  Tensor x(DType::kF32, {2}), dy(DType::kF32, {2}), dx(DType::kF32, {2});
  EXPECT_KERNEL_ERROR(checkOp("gelu_grad", {&x, &dy}, {&dx}, {attr("approximate", std::string("fast"))}), "approximate");
  Tensor bad(DType::kF32, {3});
  EXPECT_KERNEL_ERROR(checkOp("gelu_grad", {&x, &bad}, {&dx}), "dy");
}

// softmax_grad / log_softmax_grad take the forward OUTPUT y. The reference
// differentiates L(x) = sum(forward(x) * dy) by central differences.
void checkSoftmaxFamily(bool isLog) {
  const char *fwd = isLog ? "log_softmax" : "softmax";
  const char *bwd = isLog ? "log_softmax_grad" : "softmax_grad";
  for (int64_t axis : {0, 1, 2}) {
    Dims d{3, 4, 5};
    Tensor x = randomTensor(DType::kF64, d, 5 + axis);
    Tensor dy = randomTensor(DType::kF64, d, 6 + axis);
    Tensor y(DType::kF64, d), dx(DType::kF64, d);
    ASSERT_KERNEL_OK(runKernel(fwd, {&x}, {&y}, {attr("axis", axis)}));
    ASSERT_KERNEL_OK(runOp(bwd, {&y, &dy}, {&dx}, {attr("axis", axis)}));
    Tensor y2(DType::kF64, d);
    auto loss = [&] {
      EXPECT_TRUE(runKernel(fwd, {&x}, {&y2}, {attr("axis", axis)}).isOk());
      return dot(y2, dy);
    };
    EXPECT_TRUE(allClose(dx, numericGrad(x, loss), {1e-7, 1e-8})) << bwd << " axis " << axis;
    // Lower precisions against the same formula evaluated in double on the
    // rounded operands.
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
      Tensor yt = convertTo(y, t), dyt = convertTo(dy, t), dxt(t, d);
      ASSERT_KERNEL_OK(runOp(bwd, {&yt, &dyt}, {&dxt}, {attr("axis", axis)}));
      std::vector<double> want(dxt.numel());
      for (int64_t i = 0; i < dxt.numel(); ++i) {
        Dims idx = unravel(i, d);
        double sum = 0;
        for (int64_t k = 0; k < d[axis]; ++k) {
          Dims j = idx;
          j[axis] = k;
          const int64_t q = ravel(j, d);
          sum += isLog ? dyt.get(q) : dyt.get(q) * yt.get(q);
        }
        want[i] = isLog ? dyt.get(i) - std::exp(yt.get(i)) * sum : yt.get(i) * (dyt.get(i) - sum);
      }
      EXPECT_TRUE(allClose(dxt, want, tolFor(t, 8))) << bwd << " " << dtypeName(t);
    }
  }
}

TEST(SoftmaxGrad, MatchesFiniteDifferences) { checkSoftmaxFamily(false); }
TEST(LogSoftmaxGrad, MatchesFiniteDifferences) { checkSoftmaxFamily(true); }

TEST(SoftmaxGrad, RejectsBadAxis) {
  Tensor y(DType::kF32, {2, 3}), dy(DType::kF32, {2, 3}), dx(DType::kF32, {2, 3});
  EXPECT_KERNEL_ERROR(checkOp("softmax_grad", {&y, &dy}, {&dx}, {attr("axis", int64_t(2))}), "axis");
}

TEST(DropoutGrad, MatchesForwardMaskAndScale) {
  for (DType t : floatTypes()) {
    for (double ratio : {0.0, 0.25, 0.5, 1.0}) {
      Tensor x = randomTensor(t, {4, 33}, 9), y(t, {4, 33}), mask(DType::kBool, {4, 33});
      ASSERT_KERNEL_OK(runKernel("dropout", {&x}, {&y, &mask}, {attr("ratio", ratio), attr("seed", int64_t(7))}));
      Tensor dy = randomTensor(t, {4, 33}, 10), dx(t, {4, 33});
      ASSERT_KERNEL_OK(runOp("dropout_grad", {&dy, &mask}, {&dx}, {attr("ratio", ratio)}));
      std::vector<double> want;
      int kept = 0;
      for (int64_t i = 0; i < dy.numel(); ++i) {
        kept += mask.get(i) != 0;
        want.push_back(mask.get(i) != 0 ? dy.get(i) / (1 - ratio) : 0.0);
      }
      if (ratio == 0.0) {
        EXPECT_EQ(kept, dy.numel());
      }
      if (ratio == 1.0) {
        EXPECT_EQ(kept, 0);
      }
      if (ratio == 0.5) {
        EXPECT_GT(kept, 0);
        EXPECT_LT(kept, dy.numel());
      }
      EXPECT_TRUE(allClose(dx, want, tolFor(t))) << dtypeName(t) << " ratio " << ratio;
    }
  }
}

TEST(DropoutGrad, RejectsBadRatioAndMask) {
  Tensor dy(DType::kF32, {3}), mask(DType::kBool, {3}), dx(DType::kF32, {3});
  EXPECT_KERNEL_ERROR(checkOp("dropout_grad", {&dy, &mask}, {&dx}, {attr("ratio", 1.5)}), "ratio");
  Tensor mask2(DType::kBool, {4});
  EXPECT_KERNEL_ERROR(checkOp("dropout_grad", {&dy, &mask2}, {&dx}, {attr("ratio", 0.5)}), "mask");
}

TEST(Copy, CopiesAnyDType) {
  for (DType t : {DType::kF32, DType::kF16, DType::kI64, DType::kBool, DType::kF8E4M3FN}) {
    Tensor x = randomInts(t, {3, 5}, 11, 0, 1);
    if (t != DType::kBool) x = randomTensor(t, {3, 5}, 11);
    Tensor y(t, {3, 5});
    ASSERT_KERNEL_OK(runOp("copy", {&x}, {&y}));
    EXPECT_EQ(0, std::memcmp(x.bytes.data(), y.bytes.data(), x.numel() * dtypeSize(t))) << dtypeName(t);
  }
  Tensor x(DType::kF32, {3}), y(DType::kF64, {3});
  EXPECT_KERNEL_ERROR(checkOp("copy", {&x}, {&y}), "dtype");
}

TEST(Dropout, OffsetSelectsTheStreamWindow) {
  const Dims d{3, 50};
  const int64_t numel = 150, seed = 11;
  const double ratio = 0.5;
  Tensor x = randomTensor(DType::kF32, d, 12);
  Tensor y0(DType::kF32, d), m0(DType::kBool, d);
  ASSERT_KERNEL_OK(runOp("dropout", {&x}, {&y0, &m0}, {attr("ratio", ratio), attr("seed", seed)}));
  std::vector<std::vector<uint8_t>> masks;
  for (int64_t offset : {0, 1, 2}) {
    Tensor off = fromValues(DType::kI64, {}, {static_cast<double>(offset)});
    Tensor y(DType::kF32, d), m(DType::kBool, d);
    ASSERT_KERNEL_OK(runOp("dropout", {&x, &off}, {&y, &m}, {attr("ratio", ratio), attr("seed", seed)}));
    for (int64_t i = 0; i < numel; ++i) {
      const bool keep = cpu::dropoutUniform(static_cast<uint64_t>(seed), offset * numel + i) >= static_cast<float>(ratio);
      ASSERT_EQ(m.get(i) != 0, keep) << "offset " << offset << " element " << i;
      ASSERT_EQ(y.get(i), keep ? x.get(i) * 2.0 : 0.0);
    }
    masks.push_back(std::vector<uint8_t>(m.bytes.begin(), m.bytes.begin() + numel));
  }
  // Offset 0 is the stream without an offset; other offsets draw new masks.
  EXPECT_EQ(masks[0], std::vector<uint8_t>(m0.bytes.begin(), m0.bytes.begin() + numel));
  EXPECT_NE(masks[0], masks[1]);
  EXPECT_NE(masks[1], masks[2]);
  Tensor badOff(DType::kI64, {2}), y(DType::kF32, d), m(DType::kBool, d);
  EXPECT_KERNEL_ERROR(checkOp("dropout", {&x, &badOff}, {&y, &m}, {attr("ratio", ratio)}), "offset");
}

TEST(Registry, CpuKernelsIncludeEveryTrainingOp) {
  KernelRegistry reg;
  registerCpuKernels(reg);
  for (const char *op : {"gelu_grad", "softmax_grad", "log_softmax_grad", "conv_grad_input", "conv_grad_weight",
                         "max_pool_grad", "avg_pool_grad", "batch_norm_train_grad", "layer_norm_grad",
                         "softmax_cross_entropy_loss_grad", "nll_loss_grad", "gather_grad", "slice_grad",
                         "dropout_grad", "sgd_update", "momentum_update", "adam_update", "onnx_adagrad",
                         "onnx_momentum", "onnx_adam", "copy"}) {
    bool found = false, f64 = false;
    for (const KernelEntry &e : reg.entries()) {
      if (e.op != op) continue;
      found = true;
      for (DType t : e.dtypes) f64 |= t == DType::kF64 || t == DType::kInvalid;
    }
    EXPECT_TRUE(found) << op;
    EXPECT_TRUE(f64) << op << " has no f64 kernel";
  }
}

}  // namespace
}  // namespace mpc::rt::test
