// Pooling, normalisation, softmax, reductions and losses against
// double-precision references.
#include <limits>

#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

// ---- pooling ----

struct PoolCase {
  Dims x;
  Ints k, s, pads, d;
  bool ceil, includePad;
};

// PyTorch/ONNX output size, dropping a last window that starts in the padding.
int64_t poolOut(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1, bool ceil) {
  const double span = static_cast<double>(in + p0 + p1 - d * (k - 1) - 1) / s;
  int64_t out = static_cast<int64_t>(ceil ? std::ceil(span) : std::floor(span)) + 1;
  if (ceil && (out - 1) * s >= in + p0) --out;
  return out;
}

const std::vector<PoolCase> &poolCases() {
  static const std::vector<PoolCase> c = {
      {{2, 3, 7, 7}, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, false, false},
      {{1, 2, 7, 8}, {3, 2}, {2, 2}, {1, 0, 1, 1}, {1, 1}, true, false}, // ceil_mode, asymmetric pads
      {{1, 2, 6, 6}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, true, true},  // count_include_pad
      {{1, 1, 9, 9}, {2, 2}, {3, 3}, {0, 0, 1, 1}, {2, 2}, true, false}, // dilation (max only)
      {{1, 1, 5, 5}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, true, true},  // ceil window past the end
  };
  return c;
}

TEST(Pool, MaxPool) {
  for (DType t : floatTypes())
    for (const PoolCase &c : poolCases()) {
      Tensor x = randomTensor(t, c.x, 51);
      if (x.numel() > 10) x.set(10, NAN);
      const int64_t oh = poolOut(c.x[2], c.k[0], c.s[0], c.d[0], c.pads[0], c.pads[2], c.ceil);
      const int64_t ow = poolOut(c.x[3], c.k[1], c.s[1], c.d[1], c.pads[1], c.pads[3], c.ceil);
      Tensor y(t, {c.x[0], c.x[1], oh, ow});
      ASSERT_KERNEL_OK(runKernel("max_pool", {&x}, {&y},
                                 {attr("kernel_shape", c.k), attr("strides", c.s), attr("pads", c.pads),
                                  attr("dilations", c.d), attr("ceil_mode", int64_t(c.ceil))}));
      std::vector<double> want;
      const int64_t h = c.x[2], w = c.x[3];
      for (int64_t p = 0; p < c.x[0] * c.x[1]; ++p)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            double m = -INFINITY;
            for (int64_t i = 0; i < c.k[0]; ++i)
              for (int64_t j = 0; j < c.k[1]; ++j) {
                const int64_t iy = oy * c.s[0] - c.pads[0] + i * c.d[0], ix = ox * c.s[1] - c.pads[1] + j * c.d[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const double v = x.get((p * h + iy) * w + ix);
                m = std::isnan(v) || std::isnan(m) ? NAN : std::max(m, v);
              }
            want.push_back(m);
          }
      EXPECT_TRUE(allClose(y, want, {0, 0})) << dtypeName(t);
    }
}

TEST(Pool, AvgPool) {
  for (DType t : floatTypes())
    for (const PoolCase &c : poolCases()) {
      if (c.d[0] != 1) continue;
      Tensor x = randomTensor(t, c.x, 52);
      const int64_t oh = poolOut(c.x[2], c.k[0], c.s[0], 1, c.pads[0], c.pads[2], c.ceil);
      const int64_t ow = poolOut(c.x[3], c.k[1], c.s[1], 1, c.pads[1], c.pads[3], c.ceil);
      Tensor y(t, {c.x[0], c.x[1], oh, ow});
      ASSERT_KERNEL_OK(
          runKernel("avg_pool", {&x}, {&y},
                    {attr("kernel_shape", c.k), attr("strides", c.s), attr("pads", c.pads),
                     attr("ceil_mode", int64_t(c.ceil)), attr("count_include_pad", int64_t(c.includePad))}));
      std::vector<double> want;
      const int64_t h = c.x[2], w = c.x[3];
      for (int64_t p = 0; p < c.x[0] * c.x[1]; ++p)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            double s = 0;
            int64_t valid = 0, padded = 0;
            for (int64_t i = 0; i < c.k[0]; ++i)
              for (int64_t j = 0; j < c.k[1]; ++j) {
                const int64_t iy = oy * c.s[0] - c.pads[0] + i, ix = ox * c.s[1] - c.pads[1] + j;
                // Positions inside the padded input count with count_include_pad.
                if (iy < h + c.pads[2] && ix < w + c.pads[3]) ++padded;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                s += x.get((p * h + iy) * w + ix);
                ++valid;
              }
            want.push_back(s / (c.includePad ? padded : valid));
          }
      EXPECT_TRUE(allClose(y, want, tolFor(t, 2))) << dtypeName(t);
    }
}

TEST(Pool, GlobalAvgPool) {
  for (DType t : floatTypes()) {
    Tensor x = randomTensor(t, {2, 3, 5, 7}, 53);
    Tensor y(t, {2, 3, 1, 1});
    ASSERT_KERNEL_OK(runKernel("global_avg_pool", {&x}, {&y}));
    std::vector<double> want(6, 0);
    for (int64_t i = 0; i < x.numel(); ++i) want[i / 35] += x.get(i) / 35;
    EXPECT_TRUE(allClose(y, want, tolFor(t, 2))) << dtypeName(t);
  }
}

TEST(Pool, Errors) {
  Tensor x(DType::kF32, {1, 1, 4, 4}), y(DType::kF32, {1, 1, 2, 2}); // stride 1 gives 3x3
  EXPECT_FALSE(runKernel("max_pool", {&x}, {&y}, {attr("kernel_shape", Ints{2, 2})}).isOk());
  EXPECT_FALSE(runKernel("max_pool", {&x}, {&y}).isOk()); // no kernel_shape
}

// ---- normalisation ----

TEST(Norm, BatchNormInference) {
  for (DType t : floatTypes())
    for (DType p : {t, DType::kF32}) {
      Tensor x = randomTensor(t, {2, 3, 4, 5}, 61);
      Tensor scale = randomTensor(p, {3}, 62), bias = randomTensor(p, {3}, 63), mean = randomTensor(p, {3}, 64);
      Tensor var = randomTensor(p, {3}, 65, 0.1, 2);
      Tensor y(t, x.dims);
      ASSERT_KERNEL_OK(runKernel("batch_norm", {&x, &scale, &bias, &mean, &var}, {&y}, {attr("epsilon", 1e-3)}));
      std::vector<double> want;
      for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t c = (i / 20) % 3;
        want.push_back((x.get(i) - mean.get(c)) / std::sqrt(var.get(c) + 1e-3) * scale.get(c) + bias.get(c));
      }
      EXPECT_TRUE(allClose(y, want, tolFor(t, 4))) << dtypeName(t) << " params " << dtypeName(p);
    }
}

TEST(Norm, BatchNormTraining) {
  for (DType t : floatTypes())
    for (DType p : {t, DType::kF32}) {
      Tensor x = randomTensor(t, {4, 3, 2, 5}, 66, -1, 3);
      Tensor scale = randomTensor(p, {3}, 67), bias = randomTensor(p, {3}, 68), rm = randomTensor(p, {3}, 69);
      Tensor rv = randomTensor(p, {3}, 70, 0.1, 2);
      Tensor y(t, x.dims), nm(p, {3}), nv(p, {3});
      const double eps = 1e-5, mom = 0.9;
      ASSERT_KERNEL_OK(runKernel("batch_norm_train", {&x, &scale, &bias, &rm, &rv}, {&y, &nm, &nv},
                                 {attr("epsilon", eps), attr("momentum", mom)}));
      std::vector<double> mean(3, 0), var(3, 0), wantY, wantM, wantV;
      const int64_t per = 4 * 10;
      for (int64_t i = 0; i < x.numel(); ++i) mean[(i / 10) % 3] += x.get(i) / per;
      for (int64_t i = 0; i < x.numel(); ++i) {
        const double d = x.get(i) - mean[(i / 10) % 3];
        var[(i / 10) % 3] += d * d / per; // biased
      }
      for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t c = (i / 10) % 3;
        wantY.push_back((x.get(i) - mean[c]) / std::sqrt(var[c] + eps) * scale.get(c) + bias.get(c));
      }
      for (int c = 0; c < 3; ++c) {
        wantM.push_back(mom * rm.get(c) + (1 - mom) * mean[c]);
        wantV.push_back(mom * rv.get(c) + (1 - mom) * var[c]);
      }
      EXPECT_TRUE(allClose(y, wantY, tolFor(t, 8))) << dtypeName(t);
      EXPECT_TRUE(allClose(nm, wantM, tolFor(p, 4))) << dtypeName(p);
      EXPECT_TRUE(allClose(nv, wantV, tolFor(p, 4))) << dtypeName(p);
    }
}

TEST(Norm, LayerNorm) {
  for (DType t : floatTypes())
    for (int64_t axis : {1, 2})
      for (bool hasBias : {true, false}) {
        const Dims dims = {3, 4, 6};
        Tensor x = randomTensor(t, dims, 71, -2, 4);
        const Dims norm(dims.begin() + axis, dims.end());
        Tensor scale = randomTensor(t, norm, 72), bias = randomTensor(t, norm, 73);
        Dims statDims = dims;
        for (size_t d = axis; d < dims.size(); ++d) statDims[d] = 1;
        Tensor y(t, dims), mean(DType::kF32, statDims), inv(DType::kF32, statDims);
        std::vector<Tensor *> ins = {&x, &scale};
        if (hasBias) ins.push_back(&bias);
        ASSERT_KERNEL_OK(runKernel("layer_norm", ins, {&y, &mean, &inv}, {attr("axis", axis), attr("epsilon", 1e-5)}));
        const int64_t inner = numelOf(norm), rows = x.numel() / inner;
        std::vector<double> wantY, wantM, wantI;
        for (int64_t r = 0; r < rows; ++r) {
          double m = 0, v = 0;
          for (int64_t i = 0; i < inner; ++i) m += x.get(r * inner + i) / inner;
          for (int64_t i = 0; i < inner; ++i) v += std::pow(x.get(r * inner + i) - m, 2) / inner;
          const double is = 1 / std::sqrt(v + 1e-5);
          for (int64_t i = 0; i < inner; ++i)
            wantY.push_back((x.get(r * inner + i) - m) * is * scale.get(i) + (hasBias ? bias.get(i) : 0));
          wantM.push_back(m);
          wantI.push_back(is);
        }
        EXPECT_TRUE(allClose(y, wantY, tolFor(t, 8))) << dtypeName(t) << " axis " << axis;
        // Statistics are f32 whatever x is; their accuracy follows x's compute type.
        EXPECT_TRUE(allClose(mean, wantM, tolFor(t == DType::kF64 ? DType::kF32 : DType::kF32, 8)));
        EXPECT_TRUE(allClose(inv, wantI, tolFor(DType::kF32, 8)));
      }
}

// ---- softmax ----

TEST(Softmax, AllAxes) {
  for (DType t : floatTypes())
    for (bool isLog : {false, true})
      for (int64_t axis : {0, 1, 2}) {
        const Dims dims = {3, 5, 4};
        Tensor x = randomTensor(t, dims, 81, -5, 5);
        x.set(7, 80); // large values must not overflow
        Tensor y(t, dims);
        ASSERT_KERNEL_OK(runKernel(isLog ? "log_softmax" : "softmax", {&x}, {&y}, {attr("axis", axis)}));
        std::vector<double> want(x.numel());
        int64_t inner = 1;
        for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
        const int64_t len = dims[axis];
        for (int64_t i = 0; i < x.numel(); ++i) {
          const int64_t base = (i / (len * inner)) * len * inner + i % inner;
          double m = -INFINITY, s = 0;
          for (int64_t k = 0; k < len; ++k) m = std::max(m, x.get(base + k * inner));
          for (int64_t k = 0; k < len; ++k) s += std::exp(x.get(base + k * inner) - m);
          want[i] = isLog ? x.get(i) - m - std::log(s) : std::exp(x.get(i) - m) / s;
        }
        EXPECT_TRUE(allClose(y, want, tolFor(t, 8))) << dtypeName(t) << " axis " << axis << " log " << isLog;
      }
}

// ---- reductions ----

TEST(Reduce, AllAxesSetsAndKeepdims) {
  const Dims dims = {3, 4, 5};
  const std::vector<Ints> axesSets = {{0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}};
  const char *ops[] = {"reduce_sum", "reduce_mean", "reduce_max"};
  for (const char *op : ops)
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32, DType::kI64}) {
      const bool isInt = t == DType::kI32 || t == DType::kI64;
      for (const Ints &axes : axesSets)
        for (int keep = 0; keep < 2; ++keep) {
          Tensor x = isInt ? randomInts(t, dims, 91, -100, 100) : randomTensor(t, dims, 91);
          Dims od;
          for (size_t d = 0; d < dims.size(); ++d) {
            const bool red = std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end();
            if (!red)
              od.push_back(dims[d]);
            else if (keep)
              od.push_back(1);
          }
          Tensor y(t, od);
          ASSERT_KERNEL_OK(runKernel(op, {&x}, {&y}, {attr("axes", axes), attr("keepdims", int64_t(keep))}));
          Dims kept;
          for (size_t d = 0; d < dims.size(); ++d)
            kept.push_back(std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end() ? 1 : dims[d]);
          std::vector<double> sum(numelOf(kept), 0), mx(numelOf(kept), -INFINITY), cnt(numelOf(kept), 0);
          for (int64_t i = 0; i < x.numel(); ++i) {
            const int64_t o = broadcastIndex(unravel(i, dims), kept);
            sum[o] += x.get(i);
            mx[o] = std::max(mx[o], x.get(i));
            cnt[o] += 1;
          }
          std::vector<double> want;
          for (size_t o = 0; o < sum.size(); ++o)
            if (std::string(op) == "reduce_sum")
              want.push_back(sum[o]);
            else if (std::string(op) == "reduce_max")
              want.push_back(mx[o]);
            else
              want.push_back(isInt ? std::trunc(sum[o] / cnt[o]) : sum[o] / cnt[o]); // ints truncate
          EXPECT_TRUE(allClose(y, want, tolFor(t, 20))) << op << " " << dtypeName(t) << " keep " << keep;
        }
    }
}

TEST(Reduce, MaxPropagatesNaNAndErrors) {
  Tensor x = fromValues(DType::kF32, {2, 2}, {1, NAN, 3, 4});
  Tensor y(DType::kF32, {2});
  ASSERT_KERNEL_OK(runKernel("reduce_max", {&x}, {&y}, {attr("axes", Ints{1}), attr("keepdims", int64_t(0))}));
  EXPECT_TRUE(std::isnan(y.get(0)));
  EXPECT_EQ(y.get(1), 4);
  EXPECT_FALSE(runKernel("reduce_sum", {&x}, {&y}, {attr("axes", Ints{1, 0}), attr("keepdims", int64_t(0))}).isOk());
  EXPECT_FALSE(runKernel("reduce_sum", {&x}, {&y}, {attr("axes", Ints{}), attr("keepdims", int64_t(0))}).isOk());
}

// ---- losses (ONNX reference semantics) ----

struct LossSetup {
  bool weights, ignore;
  const char *reduction;
};

std::vector<double> nllReference(const Tensor &logp, const Tensor &labels, const Tensor *w, bool ignore,
                                 int64_t ignoreIndex, const std::string &reduction, int64_t c, int64_t d) {
  const int64_t n = logp.dims[0];
  std::vector<double> loss;
  double sum = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const int64_t l = static_cast<int64_t>(labels.get(i * d + j));
      double li = 0, wi = 0;
      if (!(ignore && l == ignoreIndex)) {
        wi = w ? w->get(l) : 1;
        li = -logp.get((i * c + l) * d + j) * wi;
      }
      loss.push_back(li);
      sum += li;
      wsum += wi;
    }
  if (reduction == "none") return loss;
  if (reduction == "sum") return {sum};
  return {(w || ignore) ? sum / wsum : sum / (n * d)};
}

TEST(Loss, NllAndSoftmaxCrossEntropy) {
  const std::vector<LossSetup> setups = {{false, false, "mean"}, {false, true, "mean"}, {true, false, "mean"},
                                         {true, true, "mean"},   {true, true, "sum"},   {false, true, "none"},
                                         {true, false, "none"}};
  const int64_t n = 4, c = 5, d = 3, ignoreIndex = 2;
  for (DType t : floatTypes())
    for (DType lt : {DType::kI32, DType::kI64})
      for (const LossSetup &s : setups) {
        Tensor scores = randomTensor(t, {n, c, d}, 101, -3, 3);
        Tensor labels = randomInts(lt, {n, d}, 102, 0, c - 1);
        labels.set(0, ignoreIndex); // at least one ignored (when ignore is on)
        Tensor w = randomTensor(t, {c}, 103, 0.2, 2);
        std::vector<Attr> attrs = {attr("reduction", std::string(s.reduction))};
        if (s.ignore) attrs.push_back(attr("ignore_index", ignoreIndex));
        const bool none = std::string(s.reduction) == "none";
        Tensor loss(t, none ? Dims{n, d} : Dims{});
        // nll_loss on the scores directly (it does not need log-probabilities).
        std::vector<Tensor *> ins = {&scores, &labels};
        if (s.weights) ins.push_back(&w);
        ASSERT_KERNEL_OK(runKernel("nll_loss", ins, {&loss}, attrs));
        EXPECT_TRUE(allClose(
            loss, nllReference(scores, labels, s.weights ? &w : nullptr, s.ignore, ignoreIndex, s.reduction, c, d),
            tolFor(t, 8)))
            << "nll " << dtypeName(t) << " " << s.reduction << " w=" << s.weights << " ignore=" << s.ignore;
        // softmax_cross_entropy_loss: log_prob = log_softmax over the class axis.
        Tensor logp(t, {n, c, d});
        ASSERT_KERNEL_OK(runKernel("softmax_cross_entropy_loss", ins, {&loss, &logp}, attrs));
        std::vector<double> wantLogp(logp.numel());
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < d; ++j) {
            double m = -INFINITY, sum = 0;
            for (int64_t k = 0; k < c; ++k) m = std::max(m, scores.get((i * c + k) * d + j));
            for (int64_t k = 0; k < c; ++k) sum += std::exp(scores.get((i * c + k) * d + j) - m);
            for (int64_t k = 0; k < c; ++k)
              wantLogp[(i * c + k) * d + j] = scores.get((i * c + k) * d + j) - m - std::log(sum);
          }
        EXPECT_TRUE(allClose(logp, wantLogp, tolFor(t, 8))) << dtypeName(t);
        // The loss is the NLL of the (rounded) log_prob, as in the ONNX reference.
        EXPECT_TRUE(allClose(
            loss, nllReference(logp, labels, s.weights ? &w : nullptr, s.ignore, ignoreIndex, s.reduction, c, d),
            tolFor(t, 8)))
            << "sce " << dtypeName(t) << " " << s.reduction;
      }
}

TEST(Loss, AllIgnoredMeanIsNaNAndBadLabelsFail) {
  Tensor x = randomTensor(DType::kF32, {2, 3}, 1);
  Tensor labels = fromValues(DType::kI64, {2}, {1, 1});
  Tensor loss(DType::kF32, {});
  ASSERT_KERNEL_OK(runKernel("nll_loss", {&x, &labels}, {&loss}, {attr("ignore_index", int64_t(1))}));
  EXPECT_TRUE(std::isnan(loss.get(0)));
  Tensor bad = fromValues(DType::kI64, {2}, {0, 3});
  const Status st = runKernel("nll_loss", {&x, &bad}, {&loss});
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("test_node"), std::string::npos);
}

} // namespace
} // namespace mpc::rt::test
