// Loss scaling, clipping and accumulation kernels (cpu/loss_scaling.cpp)
// against hand-written references of the PyTorch semantics:
// unscale_and_check (GradScaler's unscale + found_inf, plus the global norm
// and the first non-finite tensor), clip_grad_norm (clip_grad_norm_),
// accumulate_grad / accumulation_skip / count_step, and loss_scale_update
// (torch._amp_update_scale_ plus min/max scale and hold).
#include <cfloat>
#include <cmath>
#include <limits>

#include "core/thread_pool.h"
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

Tensor scalarF32(double v) { return fromValues(DType::kF32, {}, {v}); }
Tensor scalarI64(int64_t v) { return fromValues(DType::kI64, {}, {static_cast<double>(v)}); }
float f32At(const Tensor &t, int64_t i = 0) { return static_cast<float>(t.get(i)); }
int64_t i64At(const Tensor &t) {
  int64_t v;
  std::memcpy(&v, t.bytes.data(), 8);
  return v;
}
uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// The reference of unscale_and_check: u and the four scalars.
struct UnscaleRef {
  std::vector<std::vector<float>> u;
  bool foundInf = false;
  int64_t index = -1;
  float norm = 0;
};

UnscaleRef unscaleRef(const std::vector<Tensor *> &grads, float scale) {
  UnscaleRef r;
  const float inv = static_cast<float>(1.0 / static_cast<double>(scale));
  long double sum = 0;  // an independent, more precise accumulation
  for (size_t i = 0; i < grads.size(); ++i) {
    std::vector<float> u;
    for (int64_t k = 0; k < grads[i]->numel(); ++k) {
      const float g = static_cast<float>(grads[i]->get(k));
      if (!std::isfinite(g) && r.index < 0) r.index = static_cast<int64_t>(i);
      r.foundInf |= !std::isfinite(g);
      u.push_back(g * inv);
      sum += static_cast<long double>(u.back()) * u.back();
    }
    r.u.push_back(u);
  }
  r.norm = static_cast<float>(std::sqrt(sum));
  return r;
}

// Runs unscale_and_check on grads; outputs are fresh f32 tensors.
struct UnscaleOut {
  std::vector<Tensor> u;
  Tensor foundInf = scalarF32(-1), index = scalarI64(-7), norm = scalarF32(-1);
};

Status runUnscale(std::vector<Tensor *> grads, float scale, UnscaleOut *out, std::vector<Attr> attrs = {},
                  ThreadPool *pool = testPool()) {
  Tensor s = scalarF32(scale);
  out->u.clear();
  for (Tensor *g : grads) out->u.emplace_back(DType::kF32, g->dims);
  std::vector<Tensor *> ins = grads, outs;
  ins.push_back(&s);
  for (Tensor &u : out->u) outs.push_back(&u);
  outs.push_back(&out->foundInf);
  outs.push_back(&out->index);
  outs.push_back(&out->norm);
  return runOp("unscale_and_check", ins, outs, std::move(attrs), true, pool);
}

void expectMatches(const UnscaleOut &got, const UnscaleRef &want) {
  ASSERT_EQ(got.u.size(), want.u.size());
  for (size_t i = 0; i < want.u.size(); ++i)
    for (size_t k = 0; k < want.u[i].size(); ++k) {
      const float g = f32At(got.u[i], static_cast<int64_t>(k));
      if (std::isnan(want.u[i][k])) EXPECT_TRUE(std::isnan(g)) << "u_" << i << "[" << k << "]";
      else EXPECT_EQ(bitsOf(g), bitsOf(want.u[i][k])) << "u_" << i << "[" << k << "] " << g << " vs " << want.u[i][k];
    }
  EXPECT_EQ(f32At(got.foundInf), want.foundInf ? 1.0f : 0.0f);
  EXPECT_EQ(i64At(got.index), want.index);
  const float n = f32At(got.norm);
  if (std::isnan(want.norm)) EXPECT_TRUE(std::isnan(n));
  else if (std::isinf(want.norm)) EXPECT_EQ(n, want.norm);
  else EXPECT_NEAR(n, want.norm, 2e-7 * want.norm);
}

TEST(UnscaleAndCheck, MatchesGradScalerForEveryGradientDtype) {
  Tensor g0 = randomTensor(DType::kF32, {3, 5}, 1, -3000, 3000);
  Tensor g1 = randomTensor(DType::kF16, {7}, 2, -60000, 60000);
  Tensor g2 = randomTensor(DType::kBF16, {2, 2, 3}, 3, -1e30, 1e30);
  Tensor g3 = randomTensor(DType::kF32, {}, 4);
  // 65536 (power of two) and 3 (1/3 rounded in double, then to float).
  for (float scale : {65536.0f, 3.0f, 0.5f, 1.0f}) {
    UnscaleOut out;
    ASSERT_KERNEL_OK(runUnscale({&g0, &g1, &g2, &g3}, scale, &out));
    expectMatches(out, unscaleRef({&g0, &g1, &g2, &g3}, scale));
  }
  // inv_scale is (float)(1.0 / (double)scale): for 3 that is 0x3eaaaaab.
  Tensor one = fromValues(DType::kF32, {1}, {1.0});
  UnscaleOut out;
  ASSERT_KERNEL_OK(runUnscale({&one}, 3.0f, &out));
  EXPECT_EQ(bitsOf(f32At(out.u[0])), 0x3eaaaaabu);
  EXPECT_EQ(f32At(out.norm), f32At(out.u[0]));
}

TEST(UnscaleAndCheck, FindsTheFirstNonFiniteTensor) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  Tensor g0 = randomTensor(DType::kF32, {4}, 5);
  Tensor g1 = randomTensor(DType::kF16, {6}, 6);
  Tensor g2 = randomTensor(DType::kBF16, {5}, 7);
  g1.set(3, inf);   // f16 overflow, as a scaled f16 gradient would show it
  g2.set(0, nan);
  UnscaleOut out;
  ASSERT_KERNEL_OK(runUnscale({&g0, &g1, &g2}, 1024.0f, &out));
  expectMatches(out, unscaleRef({&g0, &g1, &g2}, 1024.0f));
  EXPECT_EQ(i64At(out.index), 1);
  EXPECT_EQ(f32At(out.foundInf), 1.0f);
  EXPECT_TRUE(std::isnan(f32At(out.norm)));  // inf and NaN together: NaN

  // Only -inf: the norm is +inf.
  Tensor h0 = randomTensor(DType::kF32, {4}, 8), h1 = randomTensor(DType::kF32, {4}, 9);
  h1.set(2, -inf);
  ASSERT_KERNEL_OK(runUnscale({&h0, &h1}, 2.0f, &out));
  EXPECT_EQ(i64At(out.index), 1);
  EXPECT_EQ(f32At(out.norm), std::numeric_limits<float>::infinity());

  // A huge finite gradient that overflows only after the multiply (scale < 1)
  // is not "found": found_inf looks at the gradients as given.
  Tensor big = fromValues(DType::kF32, {2}, {3e38, 1});
  ASSERT_KERNEL_OK(runUnscale({&big}, 0.25f, &out));
  EXPECT_EQ(f32At(out.foundInf), 0.0f);
  EXPECT_EQ(i64At(out.index), -1);
  EXPECT_TRUE(std::isinf(f32At(out.u[0], 0)));
}

TEST(UnscaleAndCheck, BigTensorsAreDeterministicAcrossThreadCounts) {
  // Several chunks per tensor; a non-finite value deep in the last chunk.
  Tensor g0 = randomTensor(DType::kF32, {100003}, 10, -100, 100);
  Tensor g1 = randomTensor(DType::kBF16, {70001}, 11, -100, 100);
  Tensor g2 = randomTensor(DType::kF16, {40000}, 12, -100, 100);
  ThreadPool one(1), four(4);
  UnscaleOut a, b, c;
  ASSERT_KERNEL_OK(runUnscale({&g0, &g1, &g2}, 512.0f, &a, {}, &one));
  ASSERT_KERNEL_OK(runUnscale({&g0, &g1, &g2}, 512.0f, &b, {}, &four));
  ASSERT_KERNEL_OK(runUnscale({&g0, &g1, &g2}, 512.0f, &c, {}, nullptr));
  expectMatches(a, unscaleRef({&g0, &g1, &g2}, 512.0f));
  EXPECT_EQ(bitsOf(f32At(a.norm)), bitsOf(f32At(b.norm)));
  EXPECT_EQ(bitsOf(f32At(a.norm)), bitsOf(f32At(c.norm)));
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(a.u[i].bytes, b.u[i].bytes);

  g1.set(69999, std::numeric_limits<double>::infinity());
  g2.set(39999, std::nan(""));
  ASSERT_KERNEL_OK(runUnscale({&g0, &g1, &g2}, 512.0f, &a, {}, &four));
  EXPECT_EQ(f32At(a.foundInf), 1.0f);
  EXPECT_EQ(i64At(a.index), 1);
}

TEST(UnscaleAndCheck, InPlaceOnF32Gradients) {
  Tensor g0 = randomTensor(DType::kF32, {50000}, 13, -1000, 1000), g1 = randomTensor(DType::kF32, {3, 3}, 14);
  const UnscaleRef want = unscaleRef({&g0, &g1}, 4096.0f);
  Tensor s = scalarF32(4096.0f), found = scalarF32(-1), index = scalarI64(9), norm = scalarF32(-1);
  ASSERT_KERNEL_OK(runOp("unscale_and_check", {&g0, &g1, &s}, {&g0, &g1, &found, &index, &norm}, {}, false));
  UnscaleOut got;
  got.u = {g0, g1};
  got.foundInf = found, got.index = index, got.norm = norm;
  expectMatches(got, want);
}

TEST(UnscaleAndCheck, F64GradientsStayF64) {
  Tensor g = fromValues(DType::kF64, {3}, {0.1, -3.0, 1e-300});
  Tensor u(DType::kF64, {3}), s = scalarF32(4.0f), found = scalarF32(-1), index = scalarI64(9), norm = scalarF32(-1);
  ASSERT_KERNEL_OK(runOp("unscale_and_check", {&g, &s}, {&u, &found, &index, &norm}, {}, false));
  EXPECT_EQ(u.get(0), 0.1 * 0.25);
  EXPECT_EQ(u.get(1), -0.75);
  EXPECT_EQ(u.get(2), 1e-300 * 0.25);
  EXPECT_EQ(found.get(0), 0.0);
  EXPECT_EQ(index.get(0), -1.0);
  EXPECT_EQ(norm.get(0), static_cast<float>(std::sqrt(0.1 * 0.25 * 0.1 * 0.25 + 0.75 * 0.75)));
}

TEST(UnscaleAndCheck, RejectsBadOperands) {
  Tensor g = randomTensor(DType::kF32, {4}, 1), g64 = randomTensor(DType::kF64, {4}, 1), s = scalarF32(2);
  Tensor u(DType::kF32, {4}), u16(DType::kF16, {4}), u5(DType::kF32, {5});
  Tensor f = scalarF32(0), idx = scalarI64(0), n = scalarF32(0), idx32 = fromValues(DType::kI32, {}, {0});
  Tensor s2 = fromValues(DType::kF32, {2}, {1, 2});
  Tensor gi = fromValues(DType::kI32, {4}, {1, 2, 3, 4});
  EXPECT_KERNEL_ERROR(checkOp("unscale_and_check", {&gi, &s}, {&u, &f, &idx, &n}), "expected f32, f16, bf16 or f64");
  // f64 gradients (FP64 gradient checks) unscale into f64.
  EXPECT_KERNEL_ERROR(checkOp("unscale_and_check", {&g64, &s}, {&u, &f, &idx, &n}),
                      "unscaled gradient has dtype f32, expected f64");
  EXPECT_KERNEL_ERROR(checkOp("unscale_and_check", {&g, &s}, {&u16, &f, &idx, &n}), "unscaled gradient");
  EXPECT_KERNEL_ERROR(checkOp("unscale_and_check", {&g, &s}, {&u5, &f, &idx, &n}), "unscaled gradient");
  EXPECT_KERNEL_ERROR(checkOp("unscale_and_check", {&g, &s2}, {&u, &f, &idx, &n}), "scale must be a scalar");
  EXPECT_KERNEL_ERROR(checkOp("unscale_and_check", {&g, &s}, {&u, &f, &idx32, &n}), "nonfinite_index");
  EXPECT_KERNEL_ERROR(checkOp("unscale_and_check", {&g, &g, &s}, {&u, &u, &f, &idx, &n},
                              {attr("names", std::string("a\nb\nc"))}),
                      "lists 3 names for 2 gradients");
  EXPECT_TRUE(checkOp("unscale_and_check", {&g, &g, &s}, {&u, &u, &f, &idx, &n}, {attr("names", std::string("a\nb"))})
                  .isOk());
}

// The variadic ops take any number of gradients (a model with thousands of
// parameters has thousands), and the check ties the output count to the input
// count.
TEST(UnscaleAndCheck, TakesAnyNumberOfGradients) {
  const int n = 3000;
  std::vector<Tensor> grads;
  for (int i = 0; i < n; ++i) grads.push_back(randomTensor(i % 2 ? DType::kF16 : DType::kF32, {3}, 100 + i));
  grads[2500].set(1, std::nan(""));
  std::vector<Tensor *> ptrs;
  for (Tensor &g : grads) ptrs.push_back(&g);
  UnscaleOut out;
  ASSERT_KERNEL_OK(runUnscale(ptrs, 8.0f, &out));
  expectMatches(out, unscaleRef(ptrs, 8.0f));
  EXPECT_EQ(i64At(out.index), 2500);

  grads[2500].set(1, 0.5);
  std::vector<Tensor> clipped;
  for (const Tensor &g : grads) clipped.emplace_back(DType::kF32, g.dims);
  std::vector<Tensor *> f32Grads, outs;
  for (Tensor &u : out.u) f32Grads.push_back(&u);
  for (Tensor &c : clipped) outs.push_back(&c);
  Tensor norm = scalarF32(4.0);
  f32Grads.push_back(&norm);
  ASSERT_KERNEL_OK(runOp("clip_grad_norm", f32Grads, outs, {attr("max_norm", 1.0)}));
  const float coef = 1.0f / (4.0f + 1e-6f);
  EXPECT_EQ(bitsOf(f32At(clipped[2999], 2)), bitsOf(f32At(out.u[2999], 2) * coef));

  // One output too few: named, not a lookup failure or an out-of-bounds write.
  outs.pop_back();
  EXPECT_KERNEL_ERROR(checkOp("clip_grad_norm", f32Grads, outs, {attr("max_norm", 1.0)}), "output");
}

TEST(ClipGradNorm, ScalesByMaxNormOverNormPlusEpsilon) {
  Tensor g0 = randomTensor(DType::kF32, {40000}, 20), g1 = randomTensor(DType::kF32, {2, 3}, 21);
  for (double norm : {10.0, 1.0, 0.999999, 0.5, 3.7e30}) {
    Tensor n = scalarF32(norm), c0(DType::kF32, g0.dims), c1(DType::kF32, g1.dims);
    ASSERT_KERNEL_OK(runOp("clip_grad_norm", {&g0, &g1, &n}, {&c0, &c1}, {attr("max_norm", 1.0)}));
    const float coef = 1.0f / (static_cast<float>(norm) + 1e-6f);
    for (auto [g, c] : {std::pair<Tensor *, Tensor *>{&g0, &c0}, {&g1, &c1}})
      for (int64_t k = 0; k < g->numel(); ++k) {
        const float x = f32At(*g, k);
        const float want = coef < 1.0f ? x * coef : x;
        ASSERT_EQ(bitsOf(f32At(*c, k)), bitsOf(want)) << "norm " << norm << " element " << k;
      }
  }
  // A non-finite norm leaves the gradients alone (the step is skipped anyway).
  for (double norm : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    Tensor n = scalarF32(norm), c1(DType::kF32, g1.dims);
    ASSERT_KERNEL_OK(runOp("clip_grad_norm", {&g1, &n}, {&c1}, {attr("max_norm", 1.0)}));
    EXPECT_EQ(c1.values(), g1.values());
  }
  // In place.
  Tensor w = g1, n = scalarF32(20.0);
  ASSERT_KERNEL_OK(runOp("clip_grad_norm", {&w, &n}, {&w}, {attr("max_norm", 2.0)}, false));
  const float coef = 2.0f / (20.0f + 1e-6f);
  for (int64_t k = 0; k < w.numel(); ++k) EXPECT_EQ(bitsOf(f32At(w, k)), bitsOf(f32At(g1, k) * coef));
}

TEST(ClipGradNorm, RejectsBadOperandsAndAttributes) {
  Tensor g = randomTensor(DType::kF32, {4}, 1), g16 = randomTensor(DType::kF16, {4}, 1), n = scalarF32(1);
  Tensor c(DType::kF32, {4});
  EXPECT_KERNEL_ERROR(checkOp("clip_grad_norm", {&g, &n}, {&c}), "'max_norm' is required");
  EXPECT_KERNEL_ERROR(checkOp("clip_grad_norm", {&g, &n}, {&c}, {attr("max_norm", 0.0)}), "max_norm");
  EXPECT_KERNEL_ERROR(checkOp("clip_grad_norm", {&g16, &n}, {&c}, {attr("max_norm", 1.0)}), "gradient");
}

TEST(AccumulateGrad, RestartsEveryKMicroSteps) {
  const int64_t K = 3;
  for (DType gt : {DType::kF32, DType::kF16, DType::kBF16}) {
    Tensor acc(DType::kF32, {5});
    for (int64_t k = 0; k < 5; ++k) acc.set(k, 1e9);  // stale: overwritten at micro-step 0
    std::vector<double> want(5, 0);
    for (int64_t m = 0; m < 7; ++m) {
      Tensor g = randomTensor(gt, {5}, static_cast<uint32_t>(30 + m)), step = scalarI64(m);
      ASSERT_KERNEL_OK(runOp("accumulate_grad", {&acc, &g, &step}, {&acc}, {attr("steps", K)}, false));
      for (int64_t k = 0; k < 5; ++k) {
        const float gv = static_cast<float>(g.get(k));
        want[k] = m % K == 0 ? gv : static_cast<float>(static_cast<float>(want[k]) + gv);
      }
      for (int64_t k = 0; k < 5; ++k) ASSERT_EQ(f32At(acc, k), static_cast<float>(want[k])) << "m " << m;
    }
  }
  // Out of place, with the poisoned-output runner.
  Tensor acc = randomTensor(DType::kF32, {4}, 40), g = randomTensor(DType::kF16, {4}, 41), step = scalarI64(4);
  Tensor out(DType::kF32, {4});
  ASSERT_KERNEL_OK(runOp("accumulate_grad", {&acc, &g, &step}, {&out}, {attr("steps", int64_t(2))}));
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(f32At(out, k), static_cast<float>(g.get(k)));
  step = scalarI64(5);
  ASSERT_KERNEL_OK(runOp("accumulate_grad", {&acc, &g, &step}, {&out}, {attr("steps", int64_t(2))}));
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(f32At(out, k), f32At(acc, k) + static_cast<float>(g.get(k)));

  Tensor neg = scalarI64(-1);
  EXPECT_KERNEL_ERROR(runOp("accumulate_grad", {&acc, &g, &neg}, {&out}, {attr("steps", int64_t(2))}), "negative");
  EXPECT_KERNEL_ERROR(checkOp("accumulate_grad", {&acc, &g, &step}, {&out}), "'steps' is required");
  EXPECT_KERNEL_ERROR(checkOp("accumulate_grad", {&acc, &g, &step}, {&out}, {attr("steps", int64_t(0))}), "steps");
}

TEST(AccumulationSkip, OnlyTheLastMicroStepUpdates) {
  for (int64_t K : {1, 2, 4})
    for (int64_t m = 0; m < 9; ++m) {
      Tensor step = scalarI64(m), skip = scalarF32(-1);
      ASSERT_KERNEL_OK(runOp("accumulation_skip", {&step}, {&skip}, {attr("steps", K)}));
      EXPECT_EQ(f32At(skip), m % K == K - 1 ? 0.0f : 1.0f) << "K " << K << " m " << m;
    }
}

TEST(CountStep, CountsUnlessSkipped) {
  Tensor step = scalarI64(41), out = scalarI64(0);
  ASSERT_KERNEL_OK(runOp("count_step", {&step}, {&out}));
  EXPECT_EQ(i64At(out), 42);
  for (double s : {0.0, 1.0, -2.0, std::nan("")}) {
    Tensor skip = scalarF32(s);
    ASSERT_KERNEL_OK(runOp("count_step", {&step, &skip}, {&out}));
    EXPECT_EQ(i64At(out), s == 0.0 ? 42 : 41) << s;
  }
  Tensor f = scalarF32(1);
  EXPECT_KERNEL_ERROR(checkOp("count_step", {&f}, {&out}), "step");
}

// torch._amp_update_scale_ plus the mpc extensions, in plain C++.
struct ScalerRef {
  float scale;
  int64_t tracker = 0;
  double growth = 2, backoff = 0.5, minScale = 0, maxScale = 0;
  int64_t interval = 2000;
  void update(bool foundInf, bool hold = false) {
    if (hold) return;
    if (foundInf) {
      scale = static_cast<float>(scale * backoff);
      tracker = 0;
    } else if (tracker + 1 == interval) {
      const float n = static_cast<float>(scale * growth);
      if (std::isfinite(n)) scale = n;
      tracker = 0;
    } else {
      ++tracker;
    }
    if (minScale > 0 && scale < static_cast<float>(minScale)) scale = static_cast<float>(minScale);
    if (maxScale > 0 && scale > static_cast<float>(maxScale)) scale = static_cast<float>(maxScale);
  }
};

TEST(LossScaleUpdate, FollowsTorchAmpUpdateScale) {
  struct Cfg {
    float init;
    double growth, backoff, minScale, maxScale;
    int64_t interval;
  };
  const Cfg cfgs[] = {{65536.0f, 2.0, 0.5, 0, 0, 3},         {3.0f, 1.7, 0.1, 0, 0, 2},
                      {1.0f, 2.0, 0.5, 0.25, 8.0, 2},        {FLT_MAX / 3, 2.0, 0.5, 0, 0, 1},
                      {65536.0f, 2.0, 0.5, 0, 0, 2000}};
  // Overflow pattern: bursts and long clean runs.
  const bool pattern[] = {0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  for (const Cfg &c : cfgs)
    for (bool withHold : {false, true}) {
      ScalerRef ref;
      ref.scale = c.init, ref.growth = c.growth, ref.backoff = c.backoff, ref.minScale = c.minScale,
      ref.maxScale = c.maxScale, ref.interval = c.interval;
      Tensor scale = scalarF32(c.init), tracker = scalarI64(0);
      const std::vector<Attr> at = {attr("growth_factor", c.growth), attr("backoff_factor", c.backoff),
                                    attr("growth_interval", c.interval), attr("min_scale", c.minScale),
                                    attr("max_scale", c.maxScale)};
      int k = 0;
      for (bool inf : pattern) {
        const bool hold = withHold && k % 4 == 1;
        Tensor found = scalarF32(inf ? 1.0 : 0.0), h = scalarF32(hold ? 1.0 : 0.0);
        std::vector<Tensor *> ins = {&scale, &tracker, &found};
        if (withHold) ins.push_back(&h);
        ASSERT_KERNEL_OK(runOp("loss_scale_update", ins, {&scale, &tracker}, at, false));
        ref.update(inf, hold);
        ASSERT_EQ(bitsOf(f32At(scale)), bitsOf(ref.scale)) << "init " << c.init << " step " << k;
        ASSERT_EQ(i64At(tracker), ref.tracker) << "step " << k;
        ++k;
      }
    }
}

TEST(LossScaleUpdate, HandComputedCases) {
  auto step = [](float s, int64_t t, float inf, std::vector<Attr> at, float *ns, int64_t *nt) {
    Tensor scale = scalarF32(s), tracker = scalarI64(t), found = scalarF32(inf), os = scalarF32(0), ot = scalarI64(0);
    Status st = runOp("loss_scale_update", {&scale, &tracker, &found}, {&os, &ot}, std::move(at));
    *ns = f32At(os);
    *nt = i64At(ot);
    return st;
  };
  float s;
  int64_t t;
  ASSERT_KERNEL_OK(step(65536.0f, 1999, 0, {}, &s, &t));  // defaults: interval 2000, growth 2
  EXPECT_EQ(s, 131072.0f);
  EXPECT_EQ(t, 0);
  ASSERT_KERNEL_OK(step(65536.0f, 1998, 0, {}, &s, &t));
  EXPECT_EQ(s, 65536.0f);
  EXPECT_EQ(t, 1999);
  ASSERT_KERNEL_OK(step(65536.0f, 1500, 1, {}, &s, &t));  // backoff 0.5, tracker reset
  EXPECT_EQ(s, 32768.0f);
  EXPECT_EQ(t, 0);
  // The product is in double: 3 * 0.1 rounds to 0.3f; the growth past FLT_MAX is refused.
  ASSERT_KERNEL_OK(step(3.0f, 0, 1, {attr("backoff_factor", 0.1)}, &s, &t));
  EXPECT_EQ(s, static_cast<float>(3.0 * 0.1));
  ASSERT_KERNEL_OK(step(FLT_MAX, 0, 0, {attr("growth_interval", int64_t(1))}, &s, &t));
  EXPECT_EQ(s, FLT_MAX);
  EXPECT_EQ(t, 0);
  // Floor and ceiling.
  ASSERT_KERNEL_OK(step(1.0f, 0, 1, {attr("min_scale", 1.0)}, &s, &t));
  EXPECT_EQ(s, 1.0f);
  ASSERT_KERNEL_OK(step(2.0f, 0, 0, {attr("growth_interval", int64_t(1)), attr("max_scale", 3.0)}, &s, &t));
  EXPECT_EQ(s, 3.0f);
  // Errors.
  Tensor scale = scalarF32(1), tracker = scalarI64(0), found = scalarF32(0), t32 = fromValues(DType::kI32, {}, {0});
  EXPECT_KERNEL_ERROR(checkOp("loss_scale_update", {&scale, &t32, &found}, {&scale, &tracker}), "growth tracker");
  EXPECT_KERNEL_ERROR(checkOp("loss_scale_update", {&scale, &tracker, &found}, {&scale, &tracker},
                              {attr("growth_interval", int64_t(0))}),
                      "growth_interval");
  EXPECT_KERNEL_ERROR(checkOp("loss_scale_update", {&scale, &tracker, &found}, {&scale, &tracker},
                              {attr("min_scale", 4.0), attr("max_scale", 2.0)}),
                      "exceeds");
  EXPECT_KERNEL_ERROR(checkOp("loss_scale_update", {&scale, &tracker, &found}, {&scale, &tracker},
                              {attr("backoff_factor", -0.5)}),
                      "backoff_factor");
}

}  // namespace
}  // namespace mpc::rt::test
