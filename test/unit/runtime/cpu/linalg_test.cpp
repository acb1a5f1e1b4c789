// matmul, gemm and conv against naive double-precision references.
#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

// Accumulation error grows with the reduction length k.
Tol gemmTol(DType t, int64_t k) {
  Tol tol = tolFor(t, 2);
  tol.atol += 2e-6 * static_cast<double>(k);
  return tol;
}

struct MatmulCase {
  Dims a, b, y;
};

TEST(Matmul, NumpySemantics) {
  const std::vector<MatmulCase> cases = {
      {{5, 7}, {7, 3}, {5, 3}},                // plain
      {{7}, {7, 3}, {3}},                      // 1-D a: promoted, then the dim dropped
      {{5, 7}, {7}, {5}},                      // 1-D b
      {{7}, {7}, {}},                          // dot product
      {{2, 1, 3, 4}, {5, 4, 2}, {2, 5, 3, 2}}, // batch broadcast both ways
      {{3, 4, 6}, {6, 5}, {3, 4, 5}},          // shared b: folded into one GEMM
      {{6}, {2, 6, 3}, {2, 3}},                // 1-D a against a batch
      {{2, 3, 0}, {0, 4}, {2, 3, 4}},          // empty reduction: zeros
  };
  for (DType t : floatTypes()) {
    for (const MatmulCase &c : cases) {
      Tensor a = randomTensor(t, c.a, 21), b = randomTensor(t, c.b, 22);
      Tensor y(t, c.y);
      ASSERT_KERNEL_OK(runKernel("matmul", {&a, &b}, {&y}));
      // Reference: promote to >= 2-D, broadcast batches, then drop the added dims.
      Dims da = c.a, db = c.b;
      if (da.size() == 1) da.insert(da.begin(), 1);
      if (db.size() == 1) db.push_back(1);
      const int64_t m = da[da.size() - 2], k = da.back(), n = db.back();
      Dims ba(da.begin(), da.end() - 2), bb(db.begin(), db.end() - 2);
      Dims batch(std::max(ba.size(), bb.size()), 1);
      for (size_t i = 0; i < batch.size(); ++i) {
        const size_t ia = i + ba.size(), ib = i + bb.size();
        const int64_t xa = ia >= batch.size() ? ba[ia - batch.size()] : 1;
        const int64_t xb = ib >= batch.size() ? bb[ib - batch.size()] : 1;
        batch[i] = std::max(xa, xb);
      }
      std::vector<double> want;
      for (int64_t bi = 0; bi < numelOf(batch); ++bi) {
        const Dims idx = unravel(bi, batch);
        const int64_t oa = batch.empty() ? 0 : broadcastIndex(idx, ba.empty() ? Dims{1} : ba);
        const int64_t ob = batch.empty() ? 0 : broadcastIndex(idx, bb.empty() ? Dims{1} : bb);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t p = 0; p < k; ++p) s += a.get(oa * m * k + i * k + p) * b.get(ob * k * n + p * n + j);
            want.push_back(s);
          }
      }
      EXPECT_TRUE(allClose(y, want, gemmTol(t, k))) << dtypeName(t) << " case a rank " << c.a.size();
    }
  }
}

TEST(Matmul, Errors) {
  Tensor a(DType::kF32, {2, 3}), b(DType::kF32, {4, 5}), y(DType::kF32, {2, 5});
  EXPECT_FALSE(runKernel("matmul", {&a, &b}, {&y}).isOk());
  Tensor b2(DType::kF32, {3, 5}), y2(DType::kF32, {5, 2});
  EXPECT_FALSE(runKernel("matmul", {&a, &b2}, {&y2}).isOk());
  Tensor a3(DType::kF32, {2, 2, 3}), b3(DType::kF32, {3, 3, 5}), y3(DType::kF32, {3, 2, 5});
  EXPECT_FALSE(runKernel("matmul", {&a3, &b3}, {&y3}).isOk());
}

TEST(Gemm, TransposesAlphaBetaBroadcastC) {
  const int64_t m = 6, n = 5, k = 9;
  const std::vector<Dims> cShapes = {{}, {n}, {m, 1}, {m, n}, {1, n}};
  for (DType t : floatTypes())
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (size_t ci = 0; ci <= cShapes.size(); ++ci) {
          Tensor a = randomTensor(t, ta ? Dims{k, m} : Dims{m, k}, 31);
          Tensor b = randomTensor(t, tb ? Dims{n, k} : Dims{k, n}, 32);
          const bool hasC = ci < cShapes.size();
          Tensor c = randomTensor(t, hasC ? cShapes[ci] : Dims{1}, 33);
          Tensor y(t, {m, n});
          const double alpha = 0.75, beta = -1.5;
          std::vector<Attr> attrs = {attr("alpha", alpha), attr("beta", beta), attr("trans_a", int64_t(ta)),
                                     attr("trans_b", int64_t(tb))};
          std::vector<Tensor *> ins = {&a, &b};
          if (hasC) ins.push_back(&c);
          ASSERT_KERNEL_OK(runKernel("gemm", ins, {&y}, attrs));
          std::vector<double> want;
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double s = 0;
              for (int64_t p = 0; p < k; ++p)
                s += a.get(ta ? p * m + i : i * k + p) * b.get(tb ? j * k + p : p * n + j);
              double r = alpha * s;
              if (hasC) r += beta * c.get(broadcastIndex({i, j}, c.dims));
              want.push_back(r);
            }
          EXPECT_TRUE(allClose(y, want, gemmTol(t, k))) << dtypeName(t) << " ta=" << ta << " tb=" << tb << " c=" << ci;
        }
}

TEST(Gemm, InPlaceBias) {
  // y shares c's buffer (the planner may reuse the bias buffer).
  Tensor a = randomTensor(DType::kF32, {4, 3}, 1), b = randomTensor(DType::kF32, {3, 2}, 2);
  Tensor c = randomTensor(DType::kF32, {4, 2}, 3);
  const std::vector<double> cv = c.values();
  TensorView in[3] = {a.view(), b.view(), c.view()};
  TensorView out = c.view();
  Attrs attrs;
  KernelCall call;
  call.op = "gemm";
  call.location = "inplace";
  call.inputs = in;
  call.numInputs = 3;
  call.outputs = &out;
  call.numOutputs = 1;
  call.attrs = &attrs;
  const KernelEntry *e =
      cpuRegistry().lookup("gemm", Device::kCPU, {DType::kF32, DType::kF32, DType::kF32, DType::kF32});
  ASSERT_NE(e, nullptr);
  ASSERT_KERNEL_OK(e->fn(call));
  std::vector<double> want;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      double s = cv[i * 2 + j];
      for (int p = 0; p < 3; ++p) s += a.get(i * 3 + p) * b.get(p * 2 + j);
      want.push_back(s);
    }
  EXPECT_TRUE(allClose(c, want, gemmTol(DType::kF32, 3)));
}

struct ConvCase {
  Dims x, w;
  Ints strides, pads, dilations;
  int64_t group;
  bool bias;
};

TEST(Conv, GroupsStridesPadsDilations) {
  const std::vector<ConvCase> cases = {
      {{2, 3, 7, 6}, {4, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true},
      {{1, 4, 9, 8}, {6, 2, 3, 2}, {2, 3}, {0, 1, 2, 0}, {1, 1}, 2, false}, // groups, asymmetric pads
      {{1, 4, 10, 9}, {4, 1, 3, 3}, {1, 2}, {2, 2, 2, 2}, {2, 3}, 4, true}, // depthwise, dilated
      {{2, 5, 4, 4}, {3, 5, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true},  // 1x1: no im2col
  };
  for (DType t : floatTypes())
    for (const ConvCase &c : cases) {
      Tensor x = randomTensor(t, c.x, 41), w = randomTensor(t, c.w, 42), bias = randomTensor(t, {c.w[0]}, 43);
      const int64_t n = c.x[0], ci = c.x[1], h = c.x[2], wd = c.x[3], m = c.w[0], kh = c.w[2], kw = c.w[3];
      const int64_t oh = (h + c.pads[0] + c.pads[2] - c.dilations[0] * (kh - 1) - 1) / c.strides[0] + 1;
      const int64_t ow = (wd + c.pads[1] + c.pads[3] - c.dilations[1] * (kw - 1) - 1) / c.strides[1] + 1;
      Tensor y(t, {n, m, oh, ow});
      std::vector<Tensor *> ins = {&x, &w};
      if (c.bias) ins.push_back(&bias);
      ASSERT_KERNEL_OK(runKernel(
          "conv", ins, {&y},
          {attr("strides", c.strides), attr("pads", c.pads), attr("dilations", c.dilations), attr("group", c.group)}));
      const int64_t cg = ci / c.group, mg = m / c.group;
      std::vector<double> want;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t o = 0; o < m; ++o)
          for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox) {
              double s = c.bias ? bias.get(o) : 0;
              const int64_t g = o / mg;
              for (int64_t cc = 0; cc < cg; ++cc)
                for (int64_t i = 0; i < kh; ++i)
                  for (int64_t j = 0; j < kw; ++j) {
                    const int64_t iy = oy * c.strides[0] - c.pads[0] + i * c.dilations[0];
                    const int64_t ix = ox * c.strides[1] - c.pads[1] + j * c.dilations[1];
                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                    s += x.get(((b * ci + g * cg + cc) * h + iy) * wd + ix) * w.get(((o * cg + cc) * kh + i) * kw + j);
                  }
              want.push_back(s);
            }
      EXPECT_TRUE(allClose(y, want, gemmTol(t, cg * kh * kw))) << dtypeName(t) << " group " << c.group;
    }
}

TEST(Conv, Errors) {
  Tensor x(DType::kF32, {1, 3, 5, 5}), w(DType::kF32, {4, 2, 3, 3}), y(DType::kF32, {1, 4, 3, 3});
  EXPECT_FALSE(runKernel("conv", {&x, &w}, {&y}).isOk()); // channel mismatch
  Tensor w2(DType::kF32, {4, 3, 3, 3}), yBad(DType::kF32, {1, 4, 4, 4});
  EXPECT_FALSE(runKernel("conv", {&x, &w2}, {&yBad}).isOk());
  Tensor y3(DType::kF32, {1, 4, 3, 3});
  EXPECT_FALSE(runKernel("conv", {&x, &w2}, {&y3}, {attr("group", int64_t(2))}).isOk());
}

} // namespace
} // namespace mpc::rt::test
