// The torch-style optimizer updates on CUDA: sgd_update, momentum_update and
// adam_update, per tensor, with the semantics of cpu/optimizer.cpp: FP32
// math, per-step scalars (bias corrections) computed in double and rounded
// once, the optional trailing `skip` input (a device-side flag: a skipped
// step copies every input to its output, bit for bit) and `working` output
// (the updated parameter rounded to f16/bf16), and `lr_scale`.
//
// The step counter, learning rate and skip flag are read on the device, so a
// captured CUDA graph replays correctly as they change. The per-step scalars
// use libdevice's double pow/sqrt, which may differ from the host libm in the
// last bit of a double; after rounding to FP32 that almost never shows.
// The ONNX preview-training ops (onnx_adagrad, onnx_momentum, onnx_adam) and
// f64 parameters stay CPU-only. A fused multi-tensor kernel is future work.
#include <cmath>

#include "cuda/device.cuh"
#include "cuda/register.h"

namespace mpc::rt::cuda {
namespace optim {

enum class Opt { kSgd, kMomentum, kAdam };

struct Hyper {
  double weightDecay = 0, momentum = 0, dampening = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool decoupled = false;
  double lrScale = 1;
};

// Operand indices (the CPU kernel's layouts).
struct Layout {
  int numInputs, numOutputs, grad, lr, step, state0, state1;
  int skip = -1, working = -1;
};

Layout layoutOf(Opt op, const KernelCall &call) {
  Layout l = op == Opt::kSgd        ? Layout{3, 1, 1, 2, -1, -1, -1}
             : op == Opt::kMomentum ? Layout{5, 2, 1, 4, 3, 2, -1}
                                    : Layout{6, 3, 1, 5, 4, 2, 3};
  if (call.numInputs == l.numInputs + 1) l.skip = l.numInputs;
  if (call.numOutputs == l.numOutputs + 1) l.working = l.numOutputs;
  return l;
}

Status hyperOf(const KernelCall &call, Opt op, Hyper *h) {
  int64_t flag = 0;
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "lr_scale", 1.0, &h->lrScale));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "weight_decay", 0, &h->weightDecay));
  if (op == Opt::kMomentum) {
    MPC_RETURN_IF_ERROR(cpu::getFloat(call, "momentum", 0, &h->momentum));
    MPC_RETURN_IF_ERROR(cpu::getFloat(call, "dampening", 0, &h->dampening));
    MPC_RETURN_IF_ERROR(cpu::getInt(call, "nesterov", 0, &flag));
    h->nesterov = flag != 0;
  }
  if (op == Opt::kAdam) {
    MPC_RETURN_IF_ERROR(cpu::getFloat(call, "beta1", 0.9, &h->beta1));
    MPC_RETURN_IF_ERROR(cpu::getFloat(call, "beta2", 0.999, &h->beta2));
    MPC_RETURN_IF_ERROR(cpu::getFloat(call, "epsilon", 1e-8, &h->eps));
    MPC_RETURN_IF_ERROR(cpu::getInt(call, "decoupled", 0, &flag));
    h->decoupled = flag != 0;
  }
  return Status::ok();
}

// Device pointers of one call.
template <typename P, typename G> struct Operands {
  const P *param;
  const G *grad;
  const float *s0, *s1, *lr, *skip;
  const int64_t *step;
  P *outParam;
  float *out0, *out1;
  void *working;
  bool workingIsHalf;
};

template <typename P> __device__ __forceinline__ void storeWorking(void *w, bool isHalf, int64_t i, P p) {
  const float v = static_cast<float>(Elem<P>::load(p));
  if (isHalf) static_cast<Half *>(w)[i] = Elem<Half>::store(v);
  else static_cast<BFloat16 *>(w)[i] = Elem<BFloat16>::store(v);
}

template <Opt kOp, typename P, typename G> Status updateTyped(const KernelCall &call, const Layout &l, const Hyper h) {
  Operands<P, G> o;
  o.param = call.inputs[0].as<const P>();
  o.grad = call.inputs[l.grad].as<const G>();
  o.s0 = l.state0 >= 0 ? call.inputs[l.state0].as<const float>() : nullptr;
  o.s1 = l.state1 >= 0 ? call.inputs[l.state1].as<const float>() : nullptr;
  o.lr = call.inputs[l.lr].as<const float>();
  o.step = l.step >= 0 ? call.inputs[l.step].as<const int64_t>() : nullptr;
  o.skip = l.skip >= 0 ? call.inputs[l.skip].as<const float>() : nullptr;
  o.outParam = call.outputs[0].as<P>();
  o.out0 = l.numOutputs > 1 ? call.outputs[1].as<float>() : nullptr;
  o.out1 = l.numOutputs > 2 ? call.outputs[2].as<float>() : nullptr;
  o.working = l.working >= 0 ? call.outputs[l.working].data : nullptr;
  o.workingIsHalf = l.working >= 0 && call.outputs[l.working].dtype == DType::kF16;
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) {
    // Each element reads all its inputs before writing (outputs alias inputs).
    const P p0 = o.param[i];
    if (o.skip && *o.skip != 0.0f) {
      const float m0 = o.s0 ? o.s0[i] : 0.0f, v0 = o.s1 ? o.s1[i] : 0.0f;
      o.outParam[i] = p0;
      if (o.out0) o.out0[i] = m0;
      if (o.out1) o.out1[i] = v0;
      if (o.working) storeWorking(o.working, o.workingIsHalf, i, p0);
      return;
    }
    const double lr = static_cast<double>(*o.lr) * h.lrScale;
    const int64_t step = o.step ? *o.step : 0;
    const float p = Elem<P>::load(p0), g = Elem<G>::load(o.grad[i]);
    const float wd = static_cast<float>(h.weightDecay), lrA = static_cast<float>(lr);
    float np;
    if constexpr (kOp == Opt::kSgd) {
      np = p - lrA * (g + wd * p);
    } else if constexpr (kOp == Opt::kMomentum) {
      const float c0 = static_cast<float>(h.momentum), c1 = static_cast<float>(1.0 - h.dampening);
      const float d = g + wd * p;
      const float buf = step == 0 ? d : c0 * o.s0[i] + c1 * d;
      const float upd = h.nesterov ? d + c0 * buf : buf;
      o.out0[i] = buf;
      np = p - lrA * upd;
    } else {
      const double t = static_cast<double>(step) + 1.0;
      const double bc1 = 1.0 - pow(h.beta1, t), bc2 = 1.0 - pow(h.beta2, t);
      const float c0 = static_cast<float>(lr / bc1), c1 = static_cast<float>(sqrt(bc2));
      const float c2 = static_cast<float>(1.0 - lr * h.weightDecay), c3 = static_cast<float>(1.0 - h.beta1);
      const float m0 = o.s0[i], v0 = o.s1[i];
      float pp = p, gg = g;
      if (h.decoupled) pp = p * c2;
      else gg = g + wd * p;
      const float m = m0 + c3 * (gg - m0);
      const float v = static_cast<float>(h.beta2) * v0 + static_cast<float>(1.0 - h.beta2) * gg * gg;
      const float denom = sqrtf(v) / c1 + static_cast<float>(h.eps);
      o.out0[i] = m;
      o.out1[i] = v;
      np = pp - c0 * (m / denom);
    }
    const P stored = Elem<P>::store(np);
    o.outParam[i] = stored;
    if (o.working) storeWorking(o.working, o.workingIsHalf, i, stored);
  });
}

template <Opt kOp> Status optimizerKernel(const KernelCall &call) {
  const Layout l = layoutOf(kOp, call);
  Hyper h;
  MPC_RETURN_IF_ERROR(hyperOf(call, kOp, &h));
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto pt) {
    visitFloat(call.inputs[l.grad].dtype, [&](auto gt) {
      st = updateTyped<kOp, typename decltype(pt)::type, typename decltype(gt)::type>(call, l, h);
    });
  });
  return st;
}

}  // namespace optim

void registerOptimizerKernels(KernelRegistry &reg) {
  using namespace optim;
  const DType f32 = DType::kF32, i64 = DType::kI64;
  for (DType p : {DType::kF32, DType::kF16, DType::kBF16})
    for (DType g : {DType::kF32, DType::kF16, DType::kBF16})
      for (int skip = 0; skip < 2; ++skip)
        for (DType working : {DType::kInvalid, DType::kF16, DType::kBF16}) {
          // Inputs, then outputs (the CPU's layouts); moments are f32, lr f32.
          std::vector<DType> sgd = {p, g, f32}, mom = {p, g, f32, i64, f32}, adam = {p, g, f32, f32, i64, f32};
          if (skip) {
            sgd.push_back(f32);
            mom.push_back(f32);
            adam.push_back(f32);
          }
          sgd.push_back(p);
          mom.insert(mom.end(), {p, f32});
          adam.insert(adam.end(), {p, f32, f32});
          if (working != DType::kInvalid) {
            sgd.push_back(working);
            mom.push_back(working);
            adam.push_back(working);
          }
          addKernel(reg, "sgd_update", sgd, optimizerKernel<Opt::kSgd>);
          addKernel(reg, "momentum_update", mom, optimizerKernel<Opt::kMomentum>);
          addKernel(reg, "adam_update", adam, optimizerKernel<Opt::kAdam>);
        }
}

}  // namespace mpc::rt::cuda
