// Elementwise unary kernels: neg, abs, exp, log, sqrt, reciprocal, tanh,
// sigmoid, relu, erf, leaky_relu, gelu, not. The scalar math lives in
// elementwise_math.h, shared with the fused kernel.
//
// Every kernel reads element i before writing element i, so the output may
// alias the input (the memory planner reuses buffers in place).
#include <cmath>

#include "cpu/cpu_common.h"
#include "cpu/elementwise_math.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

Status checkUnary(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], call.inputs[0].dtype, "output"));
  return checkShape(call, call.outputs[0], call.inputs[0], "output");
}

template <typename T, typename F> void unaryLoop(const KernelCall &call, F f) {
  const T *x = call.inputs[0].as<const T>();
  T *y = call.outputs[0].as<T>();
  parallelFor(call.pool, call.inputs[0].numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = Elem<T>::store(f(Elem<T>::load(x[i])));
  });
}

// Runs f on the compute type of the input's dtype; f is a generic lambda.
template <typename F> Status runFloat(const KernelCall &call, F f) {
  MPC_RETURN_IF_ERROR(checkUnary(call));
  if (!visitFloat(call.inputs[0].dtype, [&](auto tag) { unaryLoop<typename decltype(tag)::type>(call, f); }))
    return kernelError(call, "unsupported dtype " + std::string(dtypeName(call.inputs[0].dtype)));
  return Status::ok();
}

template <typename F> Status runNumeric(const KernelCall &call, F f) {
  MPC_RETURN_IF_ERROR(checkUnary(call));
  if (!visitNumeric(call.inputs[0].dtype, [&](auto tag) { unaryLoop<typename decltype(tag)::type>(call, f); }))
    return kernelError(call, "unsupported dtype " + std::string(dtypeName(call.inputs[0].dtype)));
  return Status::ok();
}

Status neg(const KernelCall &c) {
  return runNumeric(c, [](auto v) { return math::neg(v); });
}
Status abs(const KernelCall &c) {
  return runNumeric(c, [](auto v) { return math::abs(v); });
}
Status exp(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::exp(v); });
}
Status log(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::log(v); });
}
Status sqrt(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::sqrt(v); });
}
Status reciprocal(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::reciprocal(v); });
}
Status tanh(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::tanh(v); });
}
Status erf(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::erf(v); });
}
Status relu(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::relu(v); });
}
Status sigmoid(const KernelCall &c) {
  return runFloat(c, [](auto v) { return math::sigmoid(v); });
}

Status leakyRelu(const KernelCall &c) {
  double alpha;
  MPC_RETURN_IF_ERROR(getFloat(c, "alpha", 0.01, &alpha));
  return runFloat(c, [alpha](auto v) { return math::leakyRelu(v, alpha); });
}

Status checkGelu(const KernelCall &c) {
  MPC_RETURN_IF_ERROR(checkUnary(c));
  std::string approx;
  MPC_RETURN_IF_ERROR(getString(c, "approximate", "none", &approx));
  if (approx != "none" && approx != "tanh")
    return kernelError(c, "attribute 'approximate' must be \"none\" or \"tanh\", got \"" + approx + "\"");
  return Status::ok();
}

Status gelu(const KernelCall &c) {
  MPC_RETURN_IF_ERROR(checkGelu(c));
  std::string approx;
  MPC_RETURN_IF_ERROR(getString(c, "approximate", "none", &approx));
  if (approx == "tanh") return runFloat(c, [](auto v) { return math::geluTanh(v); });
  return runFloat(c, [](auto v) { return math::geluErf(v); });
}

Status logicalNot(const KernelCall &c) {
  MPC_RETURN_IF_ERROR(checkUnary(c));
  MPC_RETURN_IF_ERROR(checkDType(c, c.inputs[0], DType::kBool, "input"));
  unaryLoop<uint8_t>(c, [](uint8_t v) { return static_cast<uint8_t>(v == 0); });
  return Status::ok();
}

} // namespace

void registerElementwiseKernels(KernelRegistry &reg) {
  struct Op {
    const char *name;
    KernelFn fn;
    bool numeric;
  };
  const Op ops[] = {{"neg", neg, true},
                    {"abs", abs, true},
                    {"exp", exp, false},
                    {"log", log, false},
                    {"sqrt", sqrt, false},
                    {"reciprocal", reciprocal, false},
                    {"tanh", tanh, false},
                    {"sigmoid", sigmoid, false},
                    {"relu", relu, false},
                    {"erf", erf, false},
                    {"leaky_relu", leakyRelu, false},
                    {"gelu", gelu, false}};
  for (const Op &op : ops) {
    for (DType t : op.numeric ? numericDTypes() : floatDTypes())
      addKernel(reg, op.name, {t, t}, op.fn, op.fn == gelu ? checkGelu : checkUnary);
  }
  addKernel(reg, "not", {DType::kBool, DType::kBool}, logicalNot, checkUnary);
}

} // namespace mpc::rt::cpu
