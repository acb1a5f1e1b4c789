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

// On x86-64 the FP32 exp/erf array loops are also compiled for AVX2 and
// AVX-512 and the version is picked at load time (GNU ifunc); the baseline
// build stays valid on any x86-64. The code is the same: no FMA contraction
// (-ffp-contract=off), so every version gives the bits of the scalar
// functions. This file builds with -fno-trapping-math (runtime/cpu/
// CMakeLists.txt): the selects of expF32/erfF32 only become vector blends when
// GCC may evaluate both sides; no kernel reads the FP exception flags.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define MPC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MPC_VECTOR_CLONES
#endif

namespace mpc::rt::cpu {

namespace math {
MPC_VECTOR_CLONES void expArray(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = expF32(x[i]);
}
MPC_VECTOR_CLONES void erfArray(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = erfF32(x[i]);
}
MPC_VECTOR_CLONES void geluErfArray(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = geluErf(x[i]);
}
} // namespace math

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
// FP32 exp, erf and gelu (erf form) run the array forms (vectorised); the
// other dtypes the scalar function, which gives the same FP32 values.
template <typename F> Status runF32Array(const KernelCall &c, void (*array)(const float *, float *, int64_t), F f) {
  MPC_RETURN_IF_ERROR(checkUnary(c));
  if (c.inputs[0].dtype != DType::kF32)
    return runFloat(c, f);
  const float *x = c.inputs[0].as<const float>();
  float *y = c.outputs[0].as<float>();
  parallelFor(c.pool, c.inputs[0].numel(), kElementwiseGrain,
              [&](int64_t begin, int64_t end) { array(x + begin, y + begin, end - begin); });
  return Status::ok();
}

Status exp(const KernelCall &c) {
  return runF32Array(c, math::expArray, [](auto v) { return math::exp(v); });
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
  return runF32Array(c, math::erfArray, [](auto v) { return math::erf(v); });
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
  return runF32Array(c, math::geluErfArray, [](auto v) { return math::geluErf(v); });
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
