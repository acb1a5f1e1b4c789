// Optimizer kernels: sgd_update, momentum_update, adam_update against
// hand-written double-precision references of the torch.optim formulas over
// several steps (weight decay, dampening, nesterov, first-step momentum,
// AdamW), run in place (outputs aliasing the state inputs); onnx_adagrad,
// onnx_momentum, onnx_adam against values computed by onnx's reference
// implementation (gen_onnx_optimizer_refs.py).
#include <cmath>

#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

constexpr int kSteps = 5;
const Dims kShape{3, 7};

// The gradient of step k (varies in sign and size across steps).
Tensor gradAt(DType t, int k) {
  Tensor g(t, kShape);
  for (int64_t i = 0; i < g.numel(); ++i) g.set(i, std::sin(0.9 * i + 1.7 * k) * (1.0 + 0.3 * k));
  return g;
}

Tensor scalarF32(double v) { return fromValues(DType::kF32, {}, {v}); }
Tensor stepTensor(int64_t s) { return fromValues(DType::kI64, {}, {static_cast<double>(s)}); }

struct TorchSgd {
  double lr = 0, momentum = 0, dampening = 0, wd = 0;
  bool nesterov = false;
  std::vector<double> buf;
  bool hasBuf = false;
  void step(std::vector<double> &p, const std::vector<double> &g) {
    if (buf.empty()) buf.assign(p.size(), 0);
    for (size_t i = 0; i < p.size(); ++i) {
      double d = g[i] + wd * p[i];
      if (momentum != 0) {
        buf[i] = hasBuf ? momentum * buf[i] + (1 - dampening) * d : d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
    hasBuf = true;
  }
};

struct TorchAdam {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0;
  bool decoupled = false;
  std::vector<double> m, v;
  int t = 0;
  void step(std::vector<double> &p, const std::vector<double> &g) {
    if (m.empty()) m.assign(p.size(), 0), v.assign(p.size(), 0);
    ++t;
    const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
    for (size_t i = 0; i < p.size(); ++i) {
      double gi = g[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else gi += wd * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * gi;
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
      const double denom = std::sqrt(v[i]) / std::sqrt(bc2) + eps;
      p[i] -= lr / bc1 * m[i] / denom;
    }
  }
};

Tol tolForParam(DType p) { return p == DType::kF64 ? Tol{1e-12, 1e-13} : Tol{2e-5, 2e-6}; }

TEST(SgdUpdate, MatchesTorchInPlace) {
  for (DType p : {DType::kF32, DType::kF64})
    for (DType gt : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64})
      for (double wd : {0.0, 0.01}) {
        if ((p == DType::kF64) != (gt == DType::kF64)) continue;
        // Learning rates are powers of two: exact in the f32 lr tensor.
        Tensor param = randomTensor(p, kShape, 101), lr = scalarF32(0.0625);
        TorchSgd ref;
        ref.lr = 0.0625;
        ref.wd = wd;
        std::vector<double> want = param.values();
        for (int k = 0; k < kSteps; ++k) {
          Tensor g = gradAt(gt, k);
          ASSERT_KERNEL_OK(runOp("sgd_update", {&param, &g, &lr}, {&param}, {attr("weight_decay", wd)}, false));
          ref.step(want, g.values());
        }
        EXPECT_TRUE(allClose(param, want, tolForParam(p))) << dtypeName(p) << " grad " << dtypeName(gt) << " wd " << wd;
      }
}

TEST(MomentumUpdate, MatchesTorchInPlace) {
  struct Cfg {
    double momentum, dampening, wd;
    bool nesterov;
  };
  const Cfg cfgs[] = {{0.9, 0, 0, false}, {0.9, 0.1, 0.01, false}, {0.8, 0, 0.01, true}, {0.0, 0, 0.02, false}};
  for (DType p : {DType::kF32, DType::kF64})
    for (const Cfg &c : cfgs) {
      Tensor param = randomTensor(p, kShape, 102), buf(p, kShape), lr = scalarF32(0.03125);
      std::memset(buf.bytes.data(), 0, buf.bytes.size());
      TorchSgd ref;
      ref.lr = 0.03125, ref.momentum = c.momentum, ref.dampening = c.dampening, ref.wd = c.wd, ref.nesterov = c.nesterov;
      std::vector<double> want = param.values();
      const std::vector<Attr> at = {attr("momentum", c.momentum), attr("dampening", c.dampening),
                                    attr("weight_decay", c.wd), attr("nesterov", int64_t(c.nesterov))};
      for (int k = 0; k < kSteps; ++k) {
        Tensor g = gradAt(p, k), step = stepTensor(k);
        ASSERT_KERNEL_OK(runOp("momentum_update", {&param, &g, &buf, &step, &lr}, {&param, &buf}, at, false));
        ref.step(want, g.values());
        if (k == 0 && c.momentum != 0) {
          // First step: the buffer is the (decayed) gradient itself, whatever it held.
          std::vector<double> d;
          for (int64_t i = 0; i < g.numel(); ++i) d.push_back(ref.buf[i]);
          EXPECT_TRUE(allClose(buf, d, tolForParam(p)));
        }
      }
      EXPECT_TRUE(allClose(param, want, tolForParam(p))) << dtypeName(p) << " momentum " << c.momentum;
      if (c.momentum != 0) {
        EXPECT_TRUE(allClose(buf, ref.buf, tolForParam(p)));
      }
    }
}

TEST(MomentumUpdate, FirstStepIgnoresStaleBuffer) {
  Tensor param = randomTensor(DType::kF32, kShape, 103), buf = randomTensor(DType::kF32, kShape, 104);
  Tensor g = gradAt(DType::kF32, 0), step = stepTensor(0), lr = scalarF32(0.1);
  Tensor outP(DType::kF32, kShape), outB(DType::kF32, kShape);
  ASSERT_KERNEL_OK(runOp("momentum_update", {&param, &g, &buf, &step, &lr}, {&outP, &outB}, {attr("momentum", 0.9)}));
  EXPECT_TRUE(allClose(outB, g.values(), {0, 0}));
}

TEST(AdamUpdate, MatchesTorchInPlace) {
  struct Cfg {
    double wd;
    bool decoupled;
  };
  for (DType p : {DType::kF32, DType::kF64})
    for (Cfg c : {Cfg{0, false}, Cfg{0.05, false}, Cfg{0.05, true}, Cfg{0.0, true}})
      for (DType gt : {DType::kF32, DType::kBF16, DType::kF64}) {
        if ((p == DType::kF64) != (gt == DType::kF64)) continue;
        Tensor param = randomTensor(p, kShape, 105), m(p, kShape), v(p, kShape), lr = scalarF32(0.015625);
        std::memset(m.bytes.data(), 0, m.bytes.size());
        std::memset(v.bytes.data(), 0, v.bytes.size());
        TorchAdam ref;
        ref.lr = 0.015625, ref.beta1 = 0.8, ref.beta2 = 0.95, ref.eps = 1e-6, ref.wd = c.wd, ref.decoupled = c.decoupled;
        std::vector<double> want = param.values();
        const std::vector<Attr> at = {attr("beta1", 0.8), attr("beta2", 0.95), attr("epsilon", 1e-6),
                                      attr("weight_decay", c.wd), attr("decoupled", int64_t(c.decoupled))};
        for (int k = 0; k < kSteps; ++k) {
          Tensor g = gradAt(gt, k), step = stepTensor(k);
          ASSERT_KERNEL_OK(runOp("adam_update", {&param, &g, &m, &v, &step, &lr}, {&param, &m, &v}, at, false));
          ref.step(want, g.values());
        }
        EXPECT_TRUE(allClose(param, want, tolForParam(p))) << dtypeName(p) << " wd " << c.wd << " decoupled " << c.decoupled;
        EXPECT_TRUE(allClose(m, ref.m, tolForParam(p)));
        EXPECT_TRUE(allClose(v, ref.v, tolForParam(p)));
      }
}

TEST(AdamUpdate, BiasCorrectionUsesStepPlusOne) {
  // After one step from zero moments, Adam moves every element by ~lr.
  Tensor param = fromValues(DType::kF32, {3}, {1, 2, 3}), g = fromValues(DType::kF32, {3}, {0.5, -2, 1e-3});
  Tensor m(DType::kF32, {3}), v(DType::kF32, {3}), step = stepTensor(0), lr = scalarF32(0.1);
  std::memset(m.bytes.data(), 0, m.bytes.size());
  std::memset(v.bytes.data(), 0, v.bytes.size());
  Tensor op(DType::kF32, {3}), om(DType::kF32, {3}), ov(DType::kF32, {3});
  ASSERT_KERNEL_OK(runOp("adam_update", {&param, &g, &m, &v, &step, &lr}, {&op, &om, &ov}, {attr("epsilon", 0.0)}));
  EXPECT_TRUE(allClose(op, {0.9, 2.1, 2.9}, {1e-6, 1e-6}));
}

TEST(Optimizer, RejectsBadOperandsAndAttributes) {
  Tensor p(DType::kF32, {4}), g(DType::kF32, {4}), b(DType::kF32, {4}), s = stepTensor(0), lr = scalarF32(0.1);
  Tensor lrVec(DType::kF32, {2}), g5(DType::kF32, {5}), p16(DType::kF16, {4});
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g, &lrVec}, {&p}), "learning rate must be a scalar");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g5, &lr}, {&p}), "gradient has shape");
  EXPECT_KERNEL_ERROR(checkOp("momentum_update", {&p, &g, &b, &s, &lr}, {&p, &b},
                              {attr("momentum", 0.9), attr("dampening", 0.1), attr("nesterov", int64_t(1))}),
                      "nesterov");
  EXPECT_KERNEL_ERROR(checkOp("adam_update", {&p, &g, &b, &b, &s, &lr}, {&p, &b, &b}, {attr("beta1", 1.0)}), "beta1");
  EXPECT_KERNEL_ERROR(checkOp("onnx_momentum", {&lr, &s, &p, &g, &b}, {&p, &b}, {attr("alpha", 0.9), attr("beta", 0.1)}),
                      "required");
  Tensor neg = stepTensor(-1);
  EXPECT_KERNEL_ERROR(runOp("momentum_update", {&p, &g, &b, &neg, &lr}, {&p, &b}, {attr("momentum", 0.9)}, false),
                      "negative");
}

// ---- ONNX preview-training optimizers, against onnx.reference ----

// Generated by gen_onnx_optimizer_refs.py (onnx 1.23.2): rows per step {x, states...}.
// Adagrad {'decay_factor': 0.1, 'epsilon': 1e-06, 'norm_coefficient': 0.01}
const std::vector<std::vector<std::vector<double>>> k_adagrad = {
    {{0.400020003, -1.3499999, 1.90000021, 0.199999854, -0.200000122}, {2.49999994e-05, 0.90451169, 0.286761701, 0.471647739, 0.785801947}},
    {{0.309112221, -1.42432666, 1.9342258, 0.282546848, -0.151272982}, {0.941558897, 2.72821665, 0.334119529, 2.68738866, 1.10256267}},
    {{0.23432596, -1.46212053, 2.01194668, 0.341870606, -0.193722621}, {4.83819771, 3.43468475, 2.56694055, 5.44866657, 1.48891187}},
    {{0.18042466, -1.43654084, 2.07655668, 0.363824964, -0.26042369}, {9.50538063, 3.86171293, 8.71579647, 5.93185854, 6.00094318}},
};
// Momentum {'alpha': 0.9, 'beta': 0.5, 'mode': 'standard', 'norm_coefficient': 0.01}
const std::vector<std::vector<std::vector<double>>> k_momentum_standard = {
    {{0.499500006, -1.34510577, 1.94644988, 0.168676615, -0.211354539}, {0.00499999989, 0.951058209, 0.535501361, -0.686766148, -0.886454701}},
    {{0.450483918, -1.49822581, 1.90911245, 0.304928064, -0.103427194}, {0.490160763, 1.53119993, 0.373374164, -1.36251426, -1.07927346}},
    {{0.307599247, -1.67802262, 1.95023441, 0.510628641, -0.0373950079}, {1.42884684, 1.79796863, -0.411220193, -2.05700564, -0.660321832}},
    {{0.0709480643, -1.8070581, 2.11125946, 0.730430782, -0.0842519253}, {2.36651182, 1.29035521, -1.61025095, -2.19802117, 0.46856916}},
};
// Momentum {'alpha': 0.9, 'beta': 0.5, 'mode': 'nesterov', 'norm_coefficient': 0.01}
const std::vector<std::vector<std::vector<double>>> k_momentum_nesterov = {
    {{0.499049991, -1.43070102, 1.89825475, 0.230485559, -0.131573617}, {0.00499999989, 0.951058209, 0.535501361, -0.686766148, -0.886454701}},
    {{0.357804, -1.70343447, 1.88643634, 0.501907229, 0.0217381567}, {0.490158528, 1.53077197, 0.373133212, -1.36220527, -1.07887459}},
    {{0.0318019092, -1.94889712, 2.07294989, 0.85287571, 0.0187484827}, {1.42838144, 1.79655743, -0.411550432, -2.05574274, -0.659337044}},
    {{-0.396856487, -1.99895871, 2.46575189, 1.11944234, -0.236155644}, {2.36471415, 1.28773069, -1.60993469, -2.1951735, 0.469736099}},
};
// Adam {'alpha': 0.85, 'beta': 0.99, 'epsilon': 0.001, 'norm_coefficient': 0.01, 'norm_coefficient_post': 0.02}
const std::vector<std::vector<std::vector<double>>> k_adam = {
    {{0.440999985, -1.37047052, 1.81569469, 0.242890283, -0.148639753}, {0.00074999989, 0.14265871, 0.0803251937, -0.103014909, -0.132968187}, {2.49999744e-07, 0.00904510822, 0.00286761438, 0.0047164727, 0.00785801187}},
    {{0.334755838, -1.4705894, 1.7397846, 0.361275315, -0.0235584453}, {0.146247968, 0.323796093, 0.0355071835, -0.310778767, -0.19736816}, {0.00942353345, 0.0271861609, 0.00331619242, 0.0268139299, 0.0109412577}},
    {{0.233190373, -1.54904318, 1.76501513, 0.463488221, 0.00719562965}, {0.420447767, 0.401234746, -0.194249928, -0.51330024, -0.0743358806}, {0.0483057722, 0.0339711979, 0.025669368, 0.054132387, 0.0147112273}},
    {{0.131815568, -1.57238352, 1.80918491, 0.551683843, -0.0385465249}, {0.681433856, 0.242898092, -0.537436068, -0.54039079, 0.255738974}, {0.0944940224, 0.0379131325, 0.0870236978, 0.0584060848, 0.0597697832}},
};

std::vector<double> onnxX0() { return {0.5, -1.25, 2.0, 0.1, -0.3}; }
Tensor onnxGrad(int step) {
  Tensor g(DType::kF32, {5});
  for (int i = 0; i < 5; ++i) g.set(i, static_cast<float>(std::sin(1.3 * i + 0.7 * step) * (1 + 0.5 * step)));
  return g;
}

// Runs `op` for 4 steps (T = 0..3, R = 0.1) in place and compares with the
// reference rows {x, states...} after each step.
void checkOnnx(const char *op, std::vector<Attr> attrs, int numStates,
               const std::vector<std::vector<std::vector<double>>> &want) {
  Tensor x = fromValues(DType::kF32, {5}, onnxX0()), r = scalarF32(0.1);
  std::vector<Tensor> states(numStates, Tensor(DType::kF32, {5}));
  for (Tensor &s : states) std::memset(s.bytes.data(), 0, s.bytes.size());
  for (int t = 0; t < 4; ++t) {
    Tensor g = onnxGrad(t), tt = stepTensor(t);
    std::vector<Tensor *> in = {&r, &tt, &x, &g}, out = {&x};
    for (Tensor &s : states) in.push_back(&s), out.push_back(&s);
    ASSERT_KERNEL_OK(runOp(op, in, out, attrs, false));
    EXPECT_TRUE(allClose(x, want[t][0], {1e-5, 1e-6})) << op << " step " << t << " x";
    for (int k = 0; k < numStates; ++k)
      EXPECT_TRUE(allClose(states[k], want[t][1 + k], {1e-5, 1e-7})) << op << " step " << t << " state " << k;
  }
}

TEST(OnnxAdagrad, MatchesOnnxReference) {
  checkOnnx("onnx_adagrad", {attr("decay_factor", 0.1), attr("epsilon", 1e-6), attr("norm_coefficient", 0.01)}, 1,
            k_adagrad);
}

TEST(OnnxMomentum, MatchesOnnxReference) {
  checkOnnx("onnx_momentum", {attr("alpha", 0.9), attr("beta", 0.5), attr("mode", std::string("standard")),
                              attr("norm_coefficient", 0.01)},
            1, k_momentum_standard);
  checkOnnx("onnx_momentum", {attr("alpha", 0.9), attr("beta", 0.5), attr("mode", std::string("nesterov")),
                              attr("norm_coefficient", 0.01)},
            1, k_momentum_nesterov);
}

TEST(OnnxAdam, MatchesOnnxReference) {
  checkOnnx("onnx_adam", {attr("alpha", 0.85), attr("beta", 0.99), attr("epsilon", 1e-3), attr("norm_coefficient", 0.01),
                          attr("norm_coefficient_post", 0.02)},
            2, k_adam);
}

// ---- Mixed precision extensions of sgd/momentum/adam: skip, working copy,
// f16/bf16 parameters, lr_scale ----

// One step of each torch-style op with or without skip / working, on a given
// parameter dtype. Returns the outputs.
struct OptRun {
  Tensor param, s0, s1, working;
};

enum class Kind { kSgd, kMomentum, kAdam };
const char *opName(Kind k) { return k == Kind::kSgd ? "sgd_update" : k == Kind::kMomentum ? "momentum_update" : "adam_update"; }

std::vector<Attr> attrsOf(Kind k, double lrScale) {
  std::vector<Attr> at = {attr("weight_decay", 0.01), attr("lr_scale", lrScale)};
  if (k == Kind::kMomentum) at.push_back(attr("momentum", 0.9));
  if (k == Kind::kAdam) at.push_back(attr("decoupled", int64_t(1)));
  return at;
}

// Runs `steps` in-place steps from a fixed start; skip (unless -1) is passed as
// the optional input, working (if not kInvalid) requested as the output.
Status runOpt(Kind k, DType pt, DType gt, double lr, double lrScale, double skip, DType workingType, OptRun *r,
              int steps = 3) {
  r->param = randomTensor(pt, kShape, 301);
  r->s0 = randomTensor(DType::kF32, kShape, 302, 0, 1);
  r->s1 = randomTensor(DType::kF32, kShape, 303, 0, 1);
  r->working = Tensor(workingType == DType::kInvalid ? DType::kF16 : workingType, kShape);
  Tensor lrT = scalarF32(lr), skipT = scalarF32(skip);
  for (int i = 0; i < steps; ++i) {
    Tensor g = gradAt(gt, i), step = stepTensor(i + 1);
    std::vector<Tensor *> in, out;
    if (k == Kind::kSgd) in = {&r->param, &g, &lrT}, out = {&r->param};
    if (k == Kind::kMomentum) in = {&r->param, &g, &r->s0, &step, &lrT}, out = {&r->param, &r->s0};
    if (k == Kind::kAdam) in = {&r->param, &g, &r->s0, &r->s1, &step, &lrT}, out = {&r->param, &r->s0, &r->s1};
    if (skip != -1.0) in.push_back(&skipT);  // -1: no skip input
    if (workingType != DType::kInvalid) out.push_back(&r->working);
    MPC_RETURN_IF_ERROR(runOp(opName(k), in, out, attrsOf(k, lrScale), false));
  }
  return Status::ok();
}

TEST(OptimizerMixedPrecision, SkipLeavesEveryStateBitIdentical) {
  for (Kind k : {Kind::kSgd, Kind::kMomentum, Kind::kAdam})
    for (DType pt : {DType::kF32, DType::kF16, DType::kBF16}) {
      OptRun start, skipped;
      ASSERT_KERNEL_OK(runOpt(k, pt, DType::kF32, 0.1, 1.0, 0, DType::kInvalid, &start, 0));
      for (double skipValue : {1.0, -3.0, std::nan("")}) {
        ASSERT_KERNEL_OK(runOpt(k, pt, DType::kF32, 0.1, 1.0, skipValue, DType::kBF16, &skipped));
        EXPECT_EQ(skipped.param.bytes, start.param.bytes) << opName(k) << " " << dtypeName(pt);
        EXPECT_EQ(skipped.s0.bytes, start.s0.bytes);
        EXPECT_EQ(skipped.s1.bytes, start.s1.bytes);
        for (int64_t i = 0; i < skipped.param.numel(); ++i)
          ASSERT_EQ(skipped.working.get(i), static_cast<double>(bfloat16ToFloat(floatToBFloat16(
                                                static_cast<float>(start.param.get(i))))));
      }
      // skip = 0 is an ordinary step.
      OptRun plain, withZero;
      ASSERT_KERNEL_OK(runOpt(k, pt, DType::kF32, 0.1, 1.0, -1, DType::kInvalid, &plain));
      ASSERT_KERNEL_OK(runOpt(k, pt, DType::kF32, 0.1, 1.0, 0.0, DType::kInvalid, &withZero));
      EXPECT_EQ(plain.param.bytes, withZero.param.bytes);
      EXPECT_NE(plain.param.bytes, start.param.bytes);
    }
  // Out of place (outputs not aliasing): the skipped step copies.
  Tensor param = randomTensor(DType::kF32, kShape, 1), g = gradAt(DType::kF32, 0), m = randomTensor(DType::kF32, kShape, 2),
         v = randomTensor(DType::kF32, kShape, 3, 0, 1), step = stepTensor(0), lr = scalarF32(0.1), skip = scalarF32(1);
  Tensor op(DType::kF32, kShape), om(DType::kF32, kShape), ov(DType::kF32, kShape), w(DType::kF16, kShape);
  ASSERT_KERNEL_OK(runOp("adam_update", {&param, &g, &m, &v, &step, &lr, &skip}, {&op, &om, &ov, &w}));
  EXPECT_EQ(std::vector<uint8_t>(op.bytes.begin(), op.bytes.end() - 1),
            std::vector<uint8_t>(param.bytes.begin(), param.bytes.end() - 1));
  EXPECT_EQ(om.values(), m.values());
  EXPECT_EQ(ov.values(), v.values());
}

TEST(OptimizerMixedPrecision, WorkingCopyIsTheRoundedMaster) {
  for (Kind k : {Kind::kSgd, Kind::kMomentum, Kind::kAdam})
    for (DType wt : {DType::kF16, DType::kBF16}) {
      OptRun plain, withWorking;
      ASSERT_KERNEL_OK(runOpt(k, DType::kF32, DType::kBF16, 0.05, 1.0, -1, DType::kInvalid, &plain));
      ASSERT_KERNEL_OK(runOpt(k, DType::kF32, DType::kBF16, 0.05, 1.0, 0, wt, &withWorking));
      EXPECT_EQ(plain.param.bytes, withWorking.param.bytes) << opName(k);
      for (int64_t i = 0; i < plain.param.numel(); ++i) {
        const float master = static_cast<float>(plain.param.get(i));
        const double want = wt == DType::kF16 ? halfToFloat(floatToHalf(master)) : bfloat16ToFloat(floatToBFloat16(master));
        ASSERT_EQ(withWorking.working.get(i), want) << opName(k) << " " << i;
      }
    }
}

TEST(OptimizerMixedPrecision, LowPrecisionParametersComputeInFp32AndRoundOnce) {
  // SGD on a bf16 / f16 parameter, checked exactly against the FP32 formula
  // rounded once; momentum and Adam against the double torch reference.
  for (DType pt : {DType::kF16, DType::kBF16}) {
    Tensor param = randomTensor(pt, kShape, 401), g = gradAt(DType::kF32, 2), lr = scalarF32(0.25);
    Tensor out(pt, kShape);
    ASSERT_KERNEL_OK(runOp("sgd_update", {&param, &g, &lr}, {&out}, {attr("weight_decay", 0.5)}));
    for (int64_t i = 0; i < param.numel(); ++i) {
      const float p = static_cast<float>(param.get(i)), gv = static_cast<float>(g.get(i));
      const float upd = p - 0.25f * (gv + 0.5f * p);
      const double want = pt == DType::kF16 ? halfToFloat(floatToHalf(upd)) : bfloat16ToFloat(floatToBFloat16(upd));
      ASSERT_EQ(out.get(i), want) << dtypeName(pt) << " " << i;
    }

    Tensor p2 = randomTensor(pt, kShape, 402), m(DType::kF32, kShape), v(DType::kF32, kShape);
    std::memset(m.bytes.data(), 0, m.bytes.size());
    std::memset(v.bytes.data(), 0, v.bytes.size());
    TorchAdam ref;
    ref.lr = 0.01;
    std::vector<double> want = p2.values();
    for (int k = 0; k < 2; ++k) {
      Tensor gk = gradAt(DType::kF16, k), step = stepTensor(k), lr2 = scalarF32(0.01);
      ASSERT_KERNEL_OK(runOp("adam_update", {&p2, &gk, &m, &v, &step, &lr2}, {&p2, &m, &v}, {}, false));
      ref.step(want, gk.values());
      for (size_t i = 0; i < want.size(); ++i) want[i] = p2.get(static_cast<int64_t>(i));  // the rounded param carries over
    }
    EXPECT_TRUE(allClose(m, ref.m, {2e-5, 2e-6}));
    EXPECT_TRUE(allClose(v, ref.v, {2e-5, 2e-6}));
  }
}

TEST(OptimizerMixedPrecision, LrScaleMultipliesTheLearningRate) {
  for (Kind k : {Kind::kSgd, Kind::kMomentum, Kind::kAdam}) {
    OptRun scaled, direct;
    ASSERT_KERNEL_OK(runOpt(k, DType::kF32, DType::kF32, 0.5, 0.25, -1, DType::kInvalid, &scaled));
    ASSERT_KERNEL_OK(runOpt(k, DType::kF32, DType::kF32, 0.125, 1.0, -1, DType::kInvalid, &direct));
    EXPECT_EQ(scaled.param.bytes, direct.param.bytes) << opName(k);
    EXPECT_EQ(scaled.s0.bytes, direct.s0.bytes);
    EXPECT_EQ(scaled.s1.bytes, direct.s1.bytes);
  }
}

TEST(OptimizerMixedPrecision, RejectsBadOperands) {
  Tensor p(DType::kF32, {4}), g(DType::kF32, {4}), lr = scalarF32(0.1), skip = scalarF32(0), s = stepTensor(0);
  Tensor skip64 = fromValues(DType::kF64, {}, {0}), w32(DType::kF32, {4}), w5(DType::kBF16, {5});
  Tensor p16(DType::kF16, {4}), b16(DType::kF16, {4}), i32(DType::kI32, {4}), p64(DType::kF64, {4}), w16(DType::kF16, {4});
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g, &lr, &skip64}, {&p}), "skip");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g, &lr, &skip}, {&p, &w32}), "working copy has dtype f32");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g, &lr}, {&p, &w5}), "working copy");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p64, &p64, &lr}, {&p64, &w16}), "f64");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&i32, &g, &lr}, {&i32}), "parameter has dtype i32");
  EXPECT_KERNEL_ERROR(checkOp("momentum_update", {&p16, &g, &b16, &s, &lr}, {&p16, &b16}), "optimizer state");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g, &lr, &skip, &skip}, {&p}), "inputs");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g, &lr}, {&p, &w16, &w16}), "outputs");
  EXPECT_KERNEL_ERROR(checkOp("sgd_update", {&p, &g, &lr}, {&p}, {attr("lr_scale", std::nan(""))}), "lr_scale");
  EXPECT_TRUE(checkOp("momentum_update", {&p16, &g, &p, &s, &lr, &skip}, {&p16, &p, &w16}).isOk());
  // The onnx_* ops keep their exact operand lists.
  EXPECT_FALSE(checkOp("onnx_adagrad", {&lr, &s, &p16, &g, &p}, {&p16, &p}).isOk());
}

}  // namespace
}  // namespace mpc::rt::test
