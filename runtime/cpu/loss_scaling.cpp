// Loss scaling, gradient clipping and gradient accumulation kernels
// (docs/ops.md, "Loss scaling, clipping and accumulation"):
//
//   unscale_and_check (g_0..g_{n-1}, scale) -> (u_0..u_{n-1}, found_inf, nonfinite_index, grad_norm)
//   clip_grad_norm    (g_0..g_{n-1}, norm) -> (c_0..c_{n-1})
//   accumulate_grad   (acc, grad, micro_step) -> acc'
//   accumulation_skip (micro_step) -> skip
//   count_step        (step[, skip]) -> step'
//   loss_scale_update (scale, tracker, found_inf[, hold]) -> (scale', tracker')
//
// The semantics follow PyTorch's GradScaler (torch._amp_foreach_non_finite_check_and_unscale_,
// torch._amp_update_scale_) and torch.nn.utils.clip_grad_norm_. Every kernel
// whose outputs may alias its inputs reads element i before writing it.
//
// The reductions (found_inf, grad_norm) are deterministic: each tensor is cut
// into fixed-size chunks (kElementwiseGrain elements, independent of the
// thread count), each chunk sums its squares in double in index order, and the
// chunk sums are added in (tensor, chunk) order by the calling thread.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

Status checkScalarOf(const KernelCall &call, const TensorView &t, DType want, const char *what) {
  MPC_RETURN_IF_ERROR(checkDType(call, t, want, what));
  if (t.numel() != 1) return kernelError(call, std::string(what) + " must be a scalar, got shape " + shapeString(t));
  return Status::ok();
}

bool isLowOrF32(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

// The dtype gradient arithmetic works in: f64 for f64 gradients (FP64
// gradient checks), f32 otherwise.
DType wideOf(DType t) { return t == DType::kF64 ? DType::kF64 : DType::kF32; }

// Splits the '\n'-joined `names` attribute.
std::vector<std::string> splitNames(const std::string &s) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (true) {
    size_t nl = s.find('\n', begin);
    out.push_back(s.substr(begin, nl == std::string::npos ? std::string::npos : nl - begin));
    if (nl == std::string::npos) break;
    begin = nl + 1;
  }
  return out;
}

// ---- unscale_and_check ----

Status checkUnscale(const KernelCall &call) {
  if (call.numInputs < 2) return kernelError(call, "expected at least 2 inputs (gradients then scale), got " +
                                                       std::to_string(call.numInputs));
  const int n = call.numInputs - 1;
  MPC_RETURN_IF_ERROR(checkArity(call, n + 1, n + 1, n + 3));
  for (int i = 0; i < n; ++i) {
    const TensorView &g = call.inputs[i];
    if (!isLowOrF32(g.dtype) && g.dtype != DType::kF64)
      return kernelError(call, "gradient " + std::to_string(i) + " has dtype " + std::string(dtypeName(g.dtype)) +
                                   ", expected f32, f16, bf16 or f64");
    MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[i], wideOf(g.dtype), "unscaled gradient"));
    MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[i], g, "unscaled gradient"));
  }
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[n], DType::kF32, "scale"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.outputs[n], DType::kF32, "found_inf"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.outputs[n + 1], DType::kI64, "nonfinite_index"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.outputs[n + 2], DType::kF32, "grad_norm"));
  std::string names;
  MPC_RETURN_IF_ERROR(getString(call, "names", "", &names));
  if (call.attrs && call.attrs->has("names")) {
    const size_t count = splitNames(names).size();
    if (count != static_cast<size_t>(n))
      return kernelError(call, "attribute 'names' lists " + std::to_string(count) + " names for " + std::to_string(n) +
                                   " gradients");
  }
  return Status::ok();
}

// One chunk of one gradient: u = g * inv over [b, e) in W (float, or double
// for f64 gradients); returns the sum of u^2 (double) and whether some g was
// not finite.
template <typename G, typename W>
void unscaleChunk(const G *g, W *u, W inv, int64_t b, int64_t e, double *sumSq, bool *nonfinite) {
  double s = 0;
  bool bad = false;
  for (int64_t i = b; i < e; ++i) {
    const W x = static_cast<W>(Elem<G>::load(g[i]));
    bad |= !std::isfinite(x);
    const W y = x * inv;
    u[i] = y;
    s += static_cast<double>(y) * static_cast<double>(y);
  }
  *sumSq = s;
  *nonfinite = bad;
}

struct ChunkResult {
  double sumSq;
  bool nonfinite;
};

template <typename G, typename W>
void unscaleTensor(const KernelCall &call, const TensorView &gv, const TensorView &uv, W inv,
                   std::vector<ChunkResult> *chunks) {
  const G *g = gv.as<const G>();
  W *u = uv.as<W>();
  const int64_t n = gv.numel();
  const int64_t numChunks = (n + kElementwiseGrain - 1) / kElementwiseGrain;
  chunks->assign(static_cast<size_t>(numChunks), ChunkResult{0.0, false});
  ChunkResult *out = chunks->data();
  auto body = [&](int64_t b, int64_t e) {
    ChunkResult &r = out[b / kElementwiseGrain];
    unscaleChunk(g, u, inv, b, e, &r.sumSq, &r.nonfinite);
  };
  if (numChunks <= 1) {
    if (n > 0) body(0, n);
  } else {
    parallelFor(call.pool, n, kElementwiseGrain, body);
  }
}

Status unscaleAndCheck(const KernelCall &call) {
  const int n = call.numInputs - 1;
  const float scale = call.inputs[n].as<const float>()[0];
  // GradScaler: the reciprocal in double, rounded to float.
  const float inv = static_cast<float>(1.0 / static_cast<double>(scale));
  thread_local std::vector<ChunkResult> chunks;
  double total = 0;
  bool anyBad = false;
  int64_t firstBad = -1;
  for (int i = 0; i < n; ++i) {
    const TensorView &g = call.inputs[i];
    switch (g.dtype) {
    case DType::kF32: unscaleTensor<float, float>(call, g, call.outputs[i], inv, &chunks); break;
    case DType::kF16: unscaleTensor<Half, float>(call, g, call.outputs[i], inv, &chunks); break;
    case DType::kBF16: unscaleTensor<BFloat16, float>(call, g, call.outputs[i], inv, &chunks); break;
    case DType::kF64:
      unscaleTensor<double, double>(call, g, call.outputs[i], 1.0 / static_cast<double>(scale), &chunks);
      break;
    default: return kernelError(call, "unsupported gradient dtype " + std::string(dtypeName(g.dtype)));
    }
    bool bad = false;
    for (const ChunkResult &r : chunks) {
      total += r.sumSq;
      bad |= r.nonfinite;
    }
    if (bad && !anyBad) firstBad = i;
    anyBad |= bad;
  }
  call.outputs[n].as<float>()[0] = anyBad ? 1.0f : 0.0f;
  call.outputs[n + 1].as<int64_t>()[0] = firstBad;
  call.outputs[n + 2].as<float>()[0] = static_cast<float>(std::sqrt(total));
  return Status::ok();
}

// ---- clip_grad_norm ----

Status maxNormAttr(const KernelCall &call, double *maxNorm) {
  if (!(call.attrs && call.attrs->has("max_norm"))) return kernelError(call, "attribute 'max_norm' is required");
  MPC_RETURN_IF_ERROR(getFloat(call, "max_norm", 0.0, maxNorm));
  if (!(std::isfinite(*maxNorm) && *maxNorm > 0))
    return kernelError(call, "attribute 'max_norm' must be a finite number > 0, got " + std::to_string(*maxNorm));
  return Status::ok();
}

Status checkClip(const KernelCall &call) {
  if (call.numInputs < 2) return kernelError(call, "expected at least 2 inputs (gradients then norm), got " +
                                                       std::to_string(call.numInputs));
  const int n = call.numInputs - 1;
  MPC_RETURN_IF_ERROR(checkArity(call, n + 1, n + 1, n));
  for (int i = 0; i < n; ++i) {
    const DType t = call.inputs[i].dtype;
    if (t != DType::kF32 && t != DType::kF64)
      return kernelError(call, "gradient " + std::to_string(i) + " has dtype " + std::string(dtypeName(t)) +
                                   ", expected f32 or f64");
    MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[i], t, "clipped gradient"));
    MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[i], call.inputs[i], "clipped gradient"));
  }
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[n], DType::kF32, "norm"));
  double maxNorm;
  return maxNormAttr(call, &maxNorm);
}

Status clipGradNorm(const KernelCall &call) {
  const int n = call.numInputs - 1;
  double maxNormD;
  MPC_RETURN_IF_ERROR(maxNormAttr(call, &maxNormD));
  const float norm = call.inputs[n].as<const float>()[0];
  // torch.nn.utils.clip_grad_norm_: max_norm / (total_norm + 1e-6), in f32.
  const float coef = static_cast<float>(maxNormD) / (norm + 1e-6f);
  const bool scaleIt = std::isfinite(norm) && coef < 1.0f;
  for (int i = 0; i < n; ++i) {
    const TensorView &in = call.inputs[i];
    const TensorView &out = call.outputs[i];
    if (scaleIt && in.dtype == DType::kF64) {
      const double *g = in.as<const double>();
      double *c = out.as<double>();
      parallelFor(call.pool, in.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) c[k] = g[k] * static_cast<double>(coef);
      });
    } else if (scaleIt) {
      const float *g = in.as<const float>();
      float *c = out.as<float>();
      parallelFor(call.pool, in.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) c[k] = g[k] * coef;
      });
    } else if (out.data != in.data && in.nbytes() > 0) {
      std::memcpy(out.data, in.data, in.nbytes());
    }
  }
  return Status::ok();
}

// ---- accumulate_grad, accumulation_skip ----

Status stepsAttr(const KernelCall &call, int64_t *k) {
  if (!(call.attrs && call.attrs->has("steps"))) return kernelError(call, "attribute 'steps' is required");
  MPC_RETURN_IF_ERROR(getInt(call, "steps", 1, k));
  if (*k < 1) return kernelError(call, "attribute 'steps' must be >= 1, got " + std::to_string(*k));
  return Status::ok();
}

Status microStepOf(const KernelCall &call, const TensorView &t, int64_t *m) {
  *m = t.as<const int64_t>()[0];
  if (*m < 0) return kernelError(call, "micro-step counter is negative (" + std::to_string(*m) + ")");
  return Status::ok();
}

Status checkAccumulate(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 3, 3, 1));
  const TensorView &acc = call.inputs[0], &grad = call.inputs[1];
  if (!isLowOrF32(grad.dtype) && grad.dtype != DType::kF64)
    return kernelError(call, "gradient has dtype " + std::string(dtypeName(grad.dtype)) +
                                 ", expected f32, f16, bf16 or f64");
  MPC_RETURN_IF_ERROR(checkDType(call, acc, wideOf(grad.dtype), "accumulator"));
  MPC_RETURN_IF_ERROR(checkShape(call, grad, acc, "gradient"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[2], DType::kI64, "micro_step"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], acc.dtype, "updated accumulator"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], acc, "updated accumulator"));
  int64_t k;
  return stepsAttr(call, &k);
}

template <typename G, typename W = float> void accumulate(const KernelCall &call, bool first) {
  const W *acc = call.inputs[0].as<const W>();
  const G *g = call.inputs[1].as<const G>();
  W *out = call.outputs[0].as<W>();
  parallelFor(call.pool, call.inputs[0].numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    if (first) {
      for (int64_t i = b; i < e; ++i) out[i] = static_cast<W>(Elem<G>::load(g[i]));
    } else {
      for (int64_t i = b; i < e; ++i) out[i] = acc[i] + static_cast<W>(Elem<G>::load(g[i]));
    }
  });
}

Status accumulateGrad(const KernelCall &call) {
  int64_t k, m;
  MPC_RETURN_IF_ERROR(stepsAttr(call, &k));
  MPC_RETURN_IF_ERROR(microStepOf(call, call.inputs[2], &m));
  const bool first = m % k == 0;
  switch (call.inputs[1].dtype) {
  case DType::kF32: accumulate<float>(call, first); break;
  case DType::kF16: accumulate<Half>(call, first); break;
  case DType::kBF16: accumulate<BFloat16>(call, first); break;
  case DType::kF64: accumulate<double, double>(call, first); break;
  default: return kernelError(call, "unsupported gradient dtype " + std::string(dtypeName(call.inputs[1].dtype)));
  }
  return Status::ok();
}

Status checkAccumulationSkip(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[0], DType::kI64, "micro_step"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.outputs[0], DType::kF32, "skip"));
  int64_t k;
  return stepsAttr(call, &k);
}

Status accumulationSkip(const KernelCall &call) {
  int64_t k, m;
  MPC_RETURN_IF_ERROR(stepsAttr(call, &k));
  MPC_RETURN_IF_ERROR(microStepOf(call, call.inputs[0], &m));
  call.outputs[0].as<float>()[0] = m % k == k - 1 ? 0.0f : 1.0f;
  return Status::ok();
}

// ---- count_step ----

Status checkCountStep(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 2, 1));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[0], DType::kI64, "step"));
  if (call.numInputs == 2) MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[1], DType::kF32, "skip"));
  return checkScalarOf(call, call.outputs[0], DType::kI64, "updated step");
}

Status countStep(const KernelCall &call) {
  const int64_t step = call.inputs[0].as<const int64_t>()[0];
  const bool skip = call.numInputs == 2 && call.inputs[1].as<const float>()[0] != 0.0f;
  call.outputs[0].as<int64_t>()[0] = skip ? step : step + 1;
  return Status::ok();
}

// ---- loss_scale_update ----

struct ScaleHyper {
  double growth = 2.0, backoff = 0.5, minScale = 0, maxScale = 0;
  int64_t interval = 2000;
};

Status scaleHyperOf(const KernelCall &call, ScaleHyper *h) {
  MPC_RETURN_IF_ERROR(getFloat(call, "growth_factor", 2.0, &h->growth));
  MPC_RETURN_IF_ERROR(getFloat(call, "backoff_factor", 0.5, &h->backoff));
  MPC_RETURN_IF_ERROR(getInt(call, "growth_interval", 2000, &h->interval));
  MPC_RETURN_IF_ERROR(getFloat(call, "min_scale", 0.0, &h->minScale));
  MPC_RETURN_IF_ERROR(getFloat(call, "max_scale", 0.0, &h->maxScale));
  if (!(std::isfinite(h->growth) && h->growth > 0))
    return kernelError(call, "attribute 'growth_factor' must be a finite number > 0");
  if (!(std::isfinite(h->backoff) && h->backoff > 0))
    return kernelError(call, "attribute 'backoff_factor' must be a finite number > 0");
  if (h->interval < 1)
    return kernelError(call, "attribute 'growth_interval' must be >= 1, got " + std::to_string(h->interval));
  if (!(std::isfinite(h->minScale) && h->minScale >= 0))
    return kernelError(call, "attribute 'min_scale' must be a finite number >= 0 (0: no floor)");
  if (!(std::isfinite(h->maxScale) && h->maxScale >= 0))
    return kernelError(call, "attribute 'max_scale' must be a finite number >= 0 (0: no ceiling)");
  if (h->minScale > 0 && h->maxScale > 0 && h->minScale > h->maxScale)
    return kernelError(call, "attribute 'min_scale' (" + std::to_string(h->minScale) + ") exceeds 'max_scale' (" +
                                 std::to_string(h->maxScale) + ")");
  return Status::ok();
}

Status checkScaleUpdate(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 3, 4, 2));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[0], DType::kF32, "scale"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[1], DType::kI64, "growth tracker"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[2], DType::kF32, "found_inf"));
  if (call.numInputs == 4) MPC_RETURN_IF_ERROR(checkScalarOf(call, call.inputs[3], DType::kF32, "hold"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.outputs[0], DType::kF32, "updated scale"));
  MPC_RETURN_IF_ERROR(checkScalarOf(call, call.outputs[1], DType::kI64, "updated growth tracker"));
  ScaleHyper h;
  return scaleHyperOf(call, &h);
}

Status lossScaleUpdate(const KernelCall &call) {
  ScaleHyper h;
  MPC_RETURN_IF_ERROR(scaleHyperOf(call, &h));
  const float scale = call.inputs[0].as<const float>()[0];
  const int64_t tracker = call.inputs[1].as<const int64_t>()[0];
  const float foundInf = call.inputs[2].as<const float>()[0];
  const bool hold = call.numInputs == 4 && call.inputs[3].as<const float>()[0] != 0.0f;
  float newScale = scale;
  int64_t newTracker = tracker;
  if (!hold) {
    if (foundInf != 0.0f) {
      newScale = static_cast<float>(static_cast<double>(scale) * h.backoff);
      newTracker = 0;
    } else {
      const int64_t t = tracker + 1;
      if (t == h.interval) {
        const float grown = static_cast<float>(static_cast<double>(scale) * h.growth);
        if (std::isfinite(grown)) newScale = grown;
        newTracker = 0;
      } else {
        newTracker = t;
      }
    }
    if (h.minScale > 0) newScale = std::fmax(newScale, static_cast<float>(h.minScale));
    if (h.maxScale > 0) newScale = std::fmin(newScale, static_cast<float>(h.maxScale));
  }
  call.outputs[0].as<float>()[0] = newScale;
  call.outputs[1].as<int64_t>()[0] = newTracker;
  return Status::ok();
}

}  // namespace

void registerLossScalingKernels(KernelRegistry &reg) {
  const DType any = DType::kInvalid;
  addVariadicKernel(reg, "unscale_and_check", unscaleAndCheck, checkUnscale);
  addVariadicKernel(reg, "clip_grad_norm", clipGradNorm, checkClip);
  addKernel(reg, "accumulate_grad", {any, any, any, any}, accumulateGrad, checkAccumulate);
  addKernel(reg, "accumulation_skip", {any, any}, accumulationSkip, checkAccumulationSkip);
  addKernel(reg, "count_step", {any, any}, countStep, checkCountStep);
  addKernel(reg, "count_step", {any, any, any}, countStep, checkCountStep);
  addKernel(reg, "loss_scale_update", {any, any, any, any, any}, lossScaleUpdate, checkScaleUpdate);
  addKernel(reg, "loss_scale_update", {any, any, any, any, any, any}, lossScaleUpdate, checkScaleUpdate);
}

}  // namespace mpc::rt::cpu
