// Optimizer update kernels (docs/ops.md, "Optimizer ops"): one tensor each.
//
//   sgd_update      (param, grad, lr) -> param'                 torch.optim.SGD, momentum 0
//   momentum_update (param, grad, buf, step, lr) -> (param', buf')   torch.optim.SGD with momentum
//   adam_update     (param, grad, m, v, step, lr) -> (param', m', v') torch.optim.Adam / AdamW
//   onnx_adagrad    (r, t, x, g, h) -> (x', h')                 ONNX Adagrad (preview training)
//   onnx_momentum   (r, t, x, g, v) -> (x', v')                 ONNX Momentum
//   onnx_adam       (r, t, x, g, v, h) -> (x', v', h')          ONNX Adam
//
// Arithmetic is FP32 for f32 parameters (double for f64 parameters, which
// only FP64 gradient checks use); per-step scalars (bias corrections, decayed
// learning rates) are computed in double and rounded once, as torch does with
// its Python-float scalars. The gradient may be f32, f16 or bf16 for f32
// parameters (widened exactly). `step` / `t` is an i64 scalar holding the
// number of steps already taken; `lr` / `r` is an f32 (or the parameter's
// dtype) scalar.
//
// Results are written in place: an output may alias the parameter or state
// input it replaces (the plan writes param' into param's state buffer). Each
// element's inputs are all read before any of its outputs is written.
//
// The torch-style ops (sgd_update, momentum_update, adam_update) also take
//   - an optional trailing input `skip` (f32 scalar): when != 0 every output
//     equals its input (a step skipped by dynamic loss scaling or by gradient
//     accumulation), bit for bit;
//   - an optional trailing output `working` (f16 / bf16, the parameter's
//     shape): the parameter after the step rounded to nearest even (the
//     low-precision working copy of an FP32 master weight);
//   - f16 / bf16 parameters ("no master weights"): the math is FP32 on the
//     widened value and param' is rounded once to the parameter's dtype; the
//     moments / momentum buffer stay f32;
//   - the attribute `lr_scale` (default 1): the learning rate used is
//     lr * lr_scale, computed in double (parameter groups).
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

enum class Opt { kSgd, kMomentum, kAdam, kOnnxAdagrad, kOnnxMomentum, kOnnxAdam };

// Operand layout of each op: which inputs are the param-shaped tensors, the
// grad, the scalars; which outputs mirror which inputs.
struct Layout {
  int numInputs, numOutputs;
  int param, grad, lr, step;  // input indices (-1: absent)
  int state[2];               // state inputs (-1: absent), outputs 1 and 2 mirror them
  int skip = -1;              // optional trailing `skip` input (-1: absent)
  int working = -1;           // optional trailing `working` output (-1: absent)
};

constexpr bool isTorchOptC(Opt op) { return op == Opt::kSgd || op == Opt::kMomentum || op == Opt::kAdam; }
bool isTorchOpt(Opt op) { return isTorchOptC(op); }

// The layout of one call: the torch-style ops accept one extra input (skip)
// and one extra output (working copy).
Layout layoutOf(Opt op, const KernelCall &call);

Layout layoutOf(Opt op) {
  switch (op) {
  case Opt::kSgd: return {3, 1, 0, 1, 2, -1, {-1, -1}};
  case Opt::kMomentum: return {5, 2, 0, 1, 4, 3, {2, -1}};
  case Opt::kAdam: return {6, 3, 0, 1, 5, 4, {2, 3}};
  case Opt::kOnnxAdagrad: return {5, 2, 2, 3, 0, 1, {4, -1}};
  case Opt::kOnnxMomentum: return {5, 2, 2, 3, 0, 1, {4, -1}};
  case Opt::kOnnxAdam: return {6, 3, 2, 3, 0, 1, {4, 5}};
  }
  return {};
}

Layout layoutOf(Opt op, const KernelCall &call) {
  Layout l = layoutOf(op);
  if (isTorchOpt(op)) {
    if (call.numInputs == l.numInputs + 1) l.skip = l.numInputs++;
    if (call.numOutputs == l.numOutputs + 1) l.working = l.numOutputs++;
  }
  return l;
}

Status checkScalar(const KernelCall &call, const TensorView &t, const char *what) {
  if (t.numel() != 1) return kernelError(call, std::string(what) + " must be a scalar, got shape " + shapeString(t));
  return Status::ok();
}

Status floatAttr(const KernelCall &call, const char *name, double dflt, bool required, double *out) {
  if (required && !(call.attrs && call.attrs->has(name)))
    return kernelError(call, "attribute '" + std::string(name) + "' is required");
  MPC_RETURN_IF_ERROR(getFloat(call, name, dflt, out));
  if (!std::isfinite(*out)) return kernelError(call, "attribute '" + std::string(name) + "' must be finite");
  return Status::ok();
}

// Hyper-parameters of one call, validated.
struct Hyper {
  double weightDecay = 0, momentum = 0, dampening = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool decoupled = false;
  double decay = 0, normCoef = 0, normCoefPost = 0, alpha = 0, beta = 0;
  double lrScale = 1;
};

Status hyperOf(const KernelCall &call, Opt op, Hyper *h) {
  int64_t flag = 0;
  if (isTorchOpt(op)) MPC_RETURN_IF_ERROR(floatAttr(call, "lr_scale", 1.0, false, &h->lrScale));
  switch (op) {
  case Opt::kSgd:
    MPC_RETURN_IF_ERROR(floatAttr(call, "weight_decay", 0, false, &h->weightDecay));
    break;
  case Opt::kMomentum:
    MPC_RETURN_IF_ERROR(floatAttr(call, "weight_decay", 0, false, &h->weightDecay));
    MPC_RETURN_IF_ERROR(floatAttr(call, "momentum", 0, false, &h->momentum));
    MPC_RETURN_IF_ERROR(floatAttr(call, "dampening", 0, false, &h->dampening));
    MPC_RETURN_IF_ERROR(getInt(call, "nesterov", 0, &flag));
    h->nesterov = flag != 0;
    if (h->nesterov && (h->momentum <= 0 || h->dampening != 0))
      return kernelError(call, "nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD)");
    break;
  case Opt::kAdam:
    MPC_RETURN_IF_ERROR(floatAttr(call, "weight_decay", 0, false, &h->weightDecay));
    MPC_RETURN_IF_ERROR(floatAttr(call, "beta1", 0.9, false, &h->beta1));
    MPC_RETURN_IF_ERROR(floatAttr(call, "beta2", 0.999, false, &h->beta2));
    MPC_RETURN_IF_ERROR(floatAttr(call, "epsilon", 1e-8, false, &h->eps));
    MPC_RETURN_IF_ERROR(getInt(call, "decoupled", 0, &flag));
    h->decoupled = flag != 0;
    if (!(h->beta1 >= 0 && h->beta1 < 1) || !(h->beta2 >= 0 && h->beta2 < 1))
      return kernelError(call, "attributes 'beta1' and 'beta2' must be in [0, 1)");
    break;
  case Opt::kOnnxAdagrad:
    MPC_RETURN_IF_ERROR(floatAttr(call, "decay_factor", 0, false, &h->decay));
    MPC_RETURN_IF_ERROR(floatAttr(call, "epsilon", 1e-6, false, &h->eps));
    MPC_RETURN_IF_ERROR(floatAttr(call, "norm_coefficient", 0, false, &h->normCoef));
    break;
  case Opt::kOnnxMomentum: {
    MPC_RETURN_IF_ERROR(floatAttr(call, "alpha", 0, true, &h->alpha));
    MPC_RETURN_IF_ERROR(floatAttr(call, "beta", 0, true, &h->beta));
    MPC_RETURN_IF_ERROR(floatAttr(call, "norm_coefficient", 0, true, &h->normCoef));
    if (!(call.attrs && call.attrs->has("mode"))) return kernelError(call, "attribute 'mode' is required");
    std::string mode;
    MPC_RETURN_IF_ERROR(getString(call, "mode", "standard", &mode));
    if (mode != "standard" && mode != "nesterov")
      return kernelError(call, "attribute 'mode' must be \"standard\" or \"nesterov\", got \"" + mode + "\"");
    h->nesterov = mode == "nesterov";
    break;
  }
  case Opt::kOnnxAdam:
    MPC_RETURN_IF_ERROR(floatAttr(call, "alpha", 0.9, false, &h->alpha));
    MPC_RETURN_IF_ERROR(floatAttr(call, "beta", 0.999, false, &h->beta));
    MPC_RETURN_IF_ERROR(floatAttr(call, "epsilon", 1e-6, false, &h->eps));
    MPC_RETURN_IF_ERROR(floatAttr(call, "norm_coefficient", 0, false, &h->normCoef));
    MPC_RETURN_IF_ERROR(floatAttr(call, "norm_coefficient_post", 0, false, &h->normCoefPost));
    break;
  }
  return Status::ok();
}

template <Opt kOp> Status checkOptimizer(const KernelCall &call) {
  const Layout base = layoutOf(kOp);
  if (isTorchOpt(kOp))
    MPC_RETURN_IF_ERROR(checkArity(call, base.numInputs, base.numInputs + 1, call.numOutputs));
  const Layout l = layoutOf(kOp, call);
  MPC_RETURN_IF_ERROR(checkArity(call, l.numInputs, l.numInputs, l.numOutputs));
  const TensorView &param = call.inputs[l.param];
  const bool lowParam = param.dtype == DType::kF16 || param.dtype == DType::kBF16;
  if (isTorchOpt(kOp)) {
    if (param.dtype != DType::kF32 && param.dtype != DType::kF64 && !lowParam)
      return kernelError(call, "parameter has dtype " + std::string(dtypeName(param.dtype)) +
                                   ", expected f32, f64, f16 or bf16");
  } else if (param.dtype != DType::kF32 && param.dtype != DType::kF64) {
    return kernelError(call, "parameter has dtype " + std::string(dtypeName(param.dtype)) + ", expected f32 or f64");
  }
  // The moments / buffers: f64 for f64 parameters, f32 otherwise.
  const DType stateType = param.dtype == DType::kF64 ? DType::kF64 : DType::kF32;
  const TensorView &grad = call.inputs[l.grad];
  if (param.dtype == DType::kF64) {
    MPC_RETURN_IF_ERROR(checkDType(call, grad, DType::kF64, "gradient"));
  } else if (grad.dtype != DType::kF32 && grad.dtype != DType::kF16 && grad.dtype != DType::kBF16) {
    return kernelError(call, "gradient has dtype " + std::string(dtypeName(grad.dtype)) +
                                 ", expected f32, f16 or bf16");
  }
  MPC_RETURN_IF_ERROR(checkShape(call, grad, param, "gradient"));
  for (int s : l.state)
    if (s >= 0) {
      MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[s], stateType, "optimizer state"));
      MPC_RETURN_IF_ERROR(checkShape(call, call.inputs[s], param, "optimizer state"));
    }
  const TensorView &lr = call.inputs[l.lr];
  if (lr.dtype != DType::kF32 && lr.dtype != param.dtype)
    return kernelError(call, "learning rate has dtype " + std::string(dtypeName(lr.dtype)) + ", expected f32");
  MPC_RETURN_IF_ERROR(checkScalar(call, lr, "learning rate"));
  if (l.step >= 0) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[l.step], DType::kI64, "step"));
    MPC_RETURN_IF_ERROR(checkScalar(call, call.inputs[l.step], "step"));
  }
  if (l.skip >= 0) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[l.skip], DType::kF32, "skip"));
    MPC_RETURN_IF_ERROR(checkScalar(call, call.inputs[l.skip], "skip"));
  }
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], param.dtype, "updated parameter"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], param, "updated parameter"));
  for (int i = 0; i < 2; ++i)
    if (l.state[i] >= 0) {
      MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[1 + i], stateType, "updated optimizer state"));
      MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[1 + i], param, "updated optimizer state"));
    }
  if (l.working >= 0) {
    const TensorView &w = call.outputs[l.working];
    if (w.dtype != DType::kF16 && w.dtype != DType::kBF16)
      return kernelError(call, "working copy has dtype " + std::string(dtypeName(w.dtype)) + ", expected f16 or bf16");
    if (param.dtype == DType::kF64)
      return kernelError(call, "a working copy needs an f32, f16 or bf16 parameter, got f64");
    MPC_RETURN_IF_ERROR(checkShape(call, w, param, "working copy"));
  }
  Hyper h;
  return hyperOf(call, kOp, &h);
}

// Writes working[i] = round(param'[i]) over [b, e) (param' of storage type P).
template <typename P> void writeWorking(const TensorView &w, const P *src, int64_t b, int64_t e) {
  if (w.dtype == DType::kF16) {
    Half *dst = w.as<Half>();
    for (int64_t i = b; i < e; ++i) dst[i] = Elem<Half>::store(static_cast<float>(Elem<P>::load(src[i])));
  } else {
    BFloat16 *dst = w.as<BFloat16>();
    for (int64_t i = b; i < e; ++i) dst[i] = Elem<BFloat16>::store(static_cast<float>(Elem<P>::load(src[i])));
  }
}

// The loop body of each op for compute type A (FP32, or double for f64
// parameters), gradient storage G and parameter storage P (A, or f16 / bf16
// widened to FP32 and rounded back once).
template <Opt kOp, typename A, typename G, typename P = A>
void update(const KernelCall &call, const Layout &l, const Hyper &h, double lr, int64_t step) {
  const P *param = call.inputs[l.param].as<const P>();
  const G *grad = call.inputs[l.grad].as<const G>();
  const A *s0 = l.state[0] >= 0 ? call.inputs[l.state[0]].as<const A>() : nullptr;
  const A *s1 = l.state[1] >= 0 ? call.inputs[l.state[1]].as<const A>() : nullptr;
  P *outParam = call.outputs[0].as<P>();
  const TensorView *working = l.working >= 0 ? &call.outputs[l.working] : nullptr;
  A *out0 = l.numOutputs > 1 ? call.outputs[1].as<A>() : nullptr;
  A *out1 = l.numOutputs > 2 ? call.outputs[2].as<A>() : nullptr;
  const A wd = static_cast<A>(h.weightDecay);
  const A lrA = static_cast<A>(lr);

  // Per-step scalars, in double, rounded once.
  A c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  bool first = step == 0;
  switch (kOp) {
  case Opt::kSgd: break;
  case Opt::kMomentum:
    c0 = static_cast<A>(h.momentum);
    c1 = static_cast<A>(1.0 - h.dampening);
    break;
  case Opt::kAdam: {
    const double t = static_cast<double>(step) + 1.0;
    const double bc1 = 1.0 - std::pow(h.beta1, t), bc2 = 1.0 - std::pow(h.beta2, t);
    c0 = static_cast<A>(lr / bc1);                      // step size
    c1 = static_cast<A>(std::sqrt(bc2));                // sqrt of bias correction 2
    c2 = static_cast<A>(1.0 - lr * h.weightDecay);      // AdamW decay factor
    c3 = static_cast<A>(1.0 - h.beta1);
    break;
  }
  case Opt::kOnnxAdagrad:
    c0 = static_cast<A>(lr / (1.0 + static_cast<double>(step) * h.decay));
    break;
  case Opt::kOnnxMomentum:
    c0 = static_cast<A>(step > 0 ? h.beta : 1.0);  // the gradient's coefficient is 1 at T = 0
    break;
  case Opt::kOnnxAdam:
    c0 = step > 0 ? static_cast<A>(lr * std::sqrt(1.0 - std::pow(h.beta, static_cast<double>(step))) /
                                   (1.0 - std::pow(h.alpha, static_cast<double>(step))))
                  : lrA;
    break;
  }

  parallelFor(call.pool, call.inputs[l.param].numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const A p = static_cast<A>(Elem<P>::load(param[i]));
      const A g = static_cast<A>(Elem<G>::load(grad[i]));
      if constexpr (kOp == Opt::kSgd) {
        outParam[i] = Elem<P>::store(p - lrA * (g + wd * p));
      } else if constexpr (kOp == Opt::kMomentum) {
        const A d = g + wd * p;
        const A buf = first ? d : c0 * s0[i] + c1 * d;
        const A upd = h.nesterov ? d + c0 * buf : buf;
        out0[i] = buf;
        outParam[i] = Elem<P>::store(p - lrA * upd);
      } else if constexpr (kOp == Opt::kAdam) {
        const A m0 = s0[i], v0 = s1[i];
        A pp = p, gg = g;
        if (h.decoupled) pp = p * c2;
        else gg = g + wd * p;
        const A m = m0 + c3 * (gg - m0);  // torch: exp_avg.lerp_(grad, 1 - beta1)
        const A v = static_cast<A>(h.beta2) * v0 + static_cast<A>(1.0 - h.beta2) * gg * gg;
        const A denom = std::sqrt(v) / c1 + static_cast<A>(h.eps);
        out0[i] = m;
        out1[i] = v;
        outParam[i] = Elem<P>::store(pp - c0 * (m / denom));
      } else if constexpr (kOp == Opt::kOnnxAdagrad) {
        const A gr = static_cast<A>(h.normCoef) * p + g;
        const A hn = s0[i] + gr * gr;
        out0[i] = hn;
        outParam[i] = Elem<P>::store(p - c0 * gr / (std::sqrt(hn) + static_cast<A>(h.eps)));
      } else if constexpr (kOp == Opt::kOnnxMomentum) {
        const A gr = static_cast<A>(h.normCoef) * p + g;
        const A vn = static_cast<A>(h.alpha) * s0[i] + c0 * gr;
        out0[i] = vn;
        outParam[i] = Elem<P>::store(h.nesterov ? p - lrA * (gr + static_cast<A>(h.alpha) * vn) : p - lrA * vn);
      } else {  // kOnnxAdam
        const A gr = static_cast<A>(h.normCoef) * p + g;
        const A vn = static_cast<A>(h.alpha) * s0[i] + static_cast<A>(1.0 - h.alpha) * gr;
        const A hn = static_cast<A>(h.beta) * s1[i] + static_cast<A>(1.0 - h.beta) * gr * gr;
        const A xn = p - c0 * (vn / (std::sqrt(hn) + static_cast<A>(h.eps)));
        out0[i] = vn;
        out1[i] = hn;
        outParam[i] = Elem<P>::store(static_cast<A>(1.0 - h.normCoefPost) * xn);
      }
    }
    if constexpr (!std::is_same_v<A, double>) {
      if (working) writeWorking(*working, outParam, b, e);
    }
  });
}

// A skipped step: every output equals its input (copied where it does not
// alias), the working copy is the rounded parameter.
void skipUpdate(const KernelCall &call, const Layout &l) {
  auto copyIfDistinct = [](const TensorView &in, const TensorView &out) {
    if (in.data != out.data && in.nbytes() > 0) std::memcpy(out.data, in.data, in.nbytes());
  };
  copyIfDistinct(call.inputs[l.param], call.outputs[0]);
  for (int i = 0; i < 2; ++i)
    if (l.state[i] >= 0) copyIfDistinct(call.inputs[l.state[i]], call.outputs[1 + i]);
  if (l.working < 0) return;
  const TensorView &param = call.inputs[l.param];
  const TensorView &w = call.outputs[l.working];
  parallelFor(call.pool, param.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    switch (param.dtype) {
    case DType::kF32: writeWorking(w, param.as<const float>(), b, e); break;
    case DType::kF16: writeWorking(w, param.as<const Half>(), b, e); break;
    case DType::kBF16: writeWorking(w, param.as<const BFloat16>(), b, e); break;
    default: break;
    }
  });
}

template <Opt kOp, typename G> void updateFloat(const KernelCall &call, const Layout &l, const Hyper &h, double lr,
                                                int64_t step) {
  switch (call.inputs[l.param].dtype) {
  case DType::kF16: update<kOp, float, G, Half>(call, l, h, lr, step); break;
  case DType::kBF16: update<kOp, float, G, BFloat16>(call, l, h, lr, step); break;
  default: update<kOp, float, G, float>(call, l, h, lr, step); break;
  }
}

template <Opt kOp> Status optimizerKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkOptimizer<kOp>(call));
  const Layout l = layoutOf(kOp, call);
  Hyper h;
  MPC_RETURN_IF_ERROR(hyperOf(call, kOp, &h));
  const double lr = loadFloat<double>(call.inputs[l.lr], 0) * h.lrScale;
  const int64_t step = l.step >= 0 ? call.inputs[l.step].as<const int64_t>()[0] : 0;
  if (step < 0) return kernelError(call, "step counter is negative (" + std::to_string(step) + ")");
  if (l.skip >= 0 && call.inputs[l.skip].as<const float>()[0] != 0.0f) {
    skipUpdate(call, l);
    return Status::ok();
  }
  const DType pt = call.inputs[l.param].dtype, gt = call.inputs[l.grad].dtype;
  if (pt == DType::kF64) {
    update<kOp, double, double>(call, l, h, lr, step);
  } else if constexpr (isTorchOptC(kOp)) {
    switch (gt) {
    case DType::kF32: updateFloat<kOp, float>(call, l, h, lr, step); break;
    case DType::kF16: updateFloat<kOp, Half>(call, l, h, lr, step); break;
    case DType::kBF16: updateFloat<kOp, BFloat16>(call, l, h, lr, step); break;
    default: return kernelError(call, "unsupported gradient dtype " + std::string(dtypeName(gt)));
    }
  } else {
    switch (gt) {
    case DType::kF32: update<kOp, float, float>(call, l, h, lr, step); break;
    case DType::kF16: update<kOp, float, Half>(call, l, h, lr, step); break;
    case DType::kBF16: update<kOp, float, BFloat16>(call, l, h, lr, step); break;
    default: return kernelError(call, "unsupported gradient dtype " + std::string(dtypeName(gt)));
    }
  }
  return Status::ok();
}

// Dtype list of one registration: param p, grad g, lr r, step i64.
std::vector<DType> dtypesOf(Opt op, DType p, DType g, DType r) {
  const DType i64 = DType::kI64;
  switch (op) {
  case Opt::kSgd: return {p, g, r, p};
  case Opt::kMomentum: return {p, g, p, i64, r, p, p};
  case Opt::kAdam: return {p, g, p, p, i64, r, p, p, p};
  case Opt::kOnnxAdagrad: return {r, i64, p, g, p, p, p};
  case Opt::kOnnxMomentum: return {r, i64, p, g, p, p, p};
  case Opt::kOnnxAdam: return {r, i64, p, g, p, p, p, p, p};
  }
  return {};
}

}  // namespace

void registerOptimizerKernels(KernelRegistry &reg) {
  struct Entry {
    const char *name;
    Opt op;
    KernelFn fn;
    KernelCheckFn check;
  };
  const Entry ops[] = {
      {"sgd_update", Opt::kSgd, optimizerKernel<Opt::kSgd>, checkOptimizer<Opt::kSgd>},
      {"momentum_update", Opt::kMomentum, optimizerKernel<Opt::kMomentum>, checkOptimizer<Opt::kMomentum>},
      {"adam_update", Opt::kAdam, optimizerKernel<Opt::kAdam>, checkOptimizer<Opt::kAdam>},
      {"onnx_adagrad", Opt::kOnnxAdagrad, optimizerKernel<Opt::kOnnxAdagrad>, checkOptimizer<Opt::kOnnxAdagrad>},
      {"onnx_momentum", Opt::kOnnxMomentum, optimizerKernel<Opt::kOnnxMomentum>, checkOptimizer<Opt::kOnnxMomentum>},
      {"onnx_adam", Opt::kOnnxAdam, optimizerKernel<Opt::kOnnxAdam>, checkOptimizer<Opt::kOnnxAdam>},
  };
  const DType f32 = DType::kF32, f64 = DType::kF64;
  for (const Entry &e : ops) {
    if (isTorchOpt(e.op)) {
      // Any dtypes, with or without `skip` and `working`: the check validates
      // the combination and names the operand at fault.
      const Layout l = layoutOf(e.op);
      for (int extraIn = 0; extraIn < 2; ++extraIn)
        for (int extraOut = 0; extraOut < 2; ++extraOut)
          addKernel(reg, e.name,
                    std::vector<DType>(static_cast<size_t>(l.numInputs + extraIn + l.numOutputs + extraOut),
                                       DType::kInvalid),
                    e.fn, e.check);
      continue;
    }
    for (DType g : {f32, DType::kF16, DType::kBF16}) addKernel(reg, e.name, dtypesOf(e.op, f32, g, f32), e.fn, e.check);
    addKernel(reg, e.name, dtypesOf(e.op, f64, f64, f64), e.fn, e.check);
    addKernel(reg, e.name, dtypesOf(e.op, f64, f64, f32), e.fn, e.check);
  }
}

}  // namespace mpc::rt::cpu
