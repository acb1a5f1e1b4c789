// Elementwise kernels on CUDA: unary ops, binary ops with broadcasting,
// comparisons, and/or, where, cast, quantize, dequantize and amax.
//
// One generic launcher (device.cuh) and one opcode switch (math.cuh) serve
// every op: the op name selects the opcode at call time, so each dtype needs
// one kernel instantiation, not one per op. Element i is read before element
// i is written, so an output may alias an input of its shape.
#include "core/fused_program.h"
#include "cuda/device.cuh"
#include "cuda/math.cuh"
#include "cuda/register.h"

namespace mpc::rt::cuda {
// A named namespace (not an anonymous one): nvcc's extended __device__
// lambdas need enclosing functions with external linkage.
namespace elementwise {

using fused::Opcode;

Opcode opcodeOf(const KernelCall &call) { return static_cast<Opcode>(fused::opcodeFromName(call.op)); }

// ---- unary ----

template <typename T> Status unaryTyped(const KernelCall &call, Opcode op, double alpha) {
  using A = typename Elem<T>::Acc;
  const T *x = call.inputs[0].as<const T>();
  T *y = call.outputs[0].as<T>();
  return launchFlat(call, call.inputs[0].numel(),
                    [=] __device__(int64_t i) { y[i] = Elem<T>::store(applyUnary<A>(op, Elem<T>::load(x[i]), alpha)); });
}

Status unaryKernel(const KernelCall &call) {
  const Opcode op = opcodeOf(call);
  double alpha = 0;
  if (op == Opcode::kLeakyRelu) MPC_RETURN_IF_ERROR(cpu::getFloat(call, "alpha", 0.01, &alpha));
  if (op == Opcode::kGelu) {
    std::string approx;
    MPC_RETURN_IF_ERROR(cpu::getString(call, "approximate", "none", &approx));
    alpha = approx == "tanh" ? 1 : 0;
  }
  Status st = unsupportedDTypes(call);
  visitNumeric(call.inputs[0].dtype, [&](auto tag) { st = unaryTyped<typename decltype(tag)::type>(call, op, alpha); });
  return st;
}

Status notKernel(const KernelCall &call) {
  const uint8_t *x = call.inputs[0].as<const uint8_t>();
  uint8_t *y = call.outputs[0].as<uint8_t>();
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) { y[i] = x[i] == 0; });
}

// ---- binary ----

// Runs f(a, b) -> out over the broadcast of inputs 0 and 1 to output 0.
template <typename TA, typename TB, typename TO, typename F> Status binaryLoop(const KernelCall &call, F f) {
  Indexer<2> ix;
  MPC_RETURN_IF_ERROR(broadcastIndexer(call, 0, &ix));
  const TA *a = call.inputs[0].as<const TA>();
  const TB *b = call.inputs[1].as<const TB>();
  TO *out = call.outputs[0].as<TO>();
  const TensorView &o = call.outputs[0];
  if (cpu::sameShape(call.inputs[0], o) && cpu::sameShape(call.inputs[1], o))
    return launchFlat(call, o.numel(), [=] __device__(int64_t i) { out[i] = f(a[i], b[i]); });
  return launchForEach(call, o.numel(), ix, [=] __device__(int64_t i, const int64_t *off) { out[i] = f(a[off[0]], b[off[1]]); });
}

template <typename T> Status arithTyped(const KernelCall &call, Opcode op) {
  using A = typename Elem<T>::Acc;
  return binaryLoop<T, T, T>(
      call, [=] __device__(T x, T y) { return Elem<T>::store(applyBinary<A>(op, Elem<T>::load(x), Elem<T>::load(y))); });
}

Status arithKernel(const KernelCall &call) {
  const Opcode op = opcodeOf(call);
  Status st = unsupportedDTypes(call);
  visitNumeric(call.inputs[0].dtype, [&](auto tag) { st = arithTyped<typename decltype(tag)::type>(call, op); });
  return st;
}

// The exponent is rounded to the base's compute type (FP32 here).
template <typename T, typename E> Status powTyped(const KernelCall &call) {
  return binaryLoop<T, E, T>(call, [] __device__(T x, E y) {
    return Elem<T>::store(math::pow<float>(Elem<T>::load(x), static_cast<float>(Elem<E>::load(y))));
  });
}

Status powKernel(const KernelCall &call) {
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto baseTag) {
    visitFloat(call.inputs[1].dtype, [&](auto expTag) {
      st = powTyped<typename decltype(baseTag)::type, typename decltype(expTag)::type>(call);
    });
  });
  return st;
}

enum class Cmp { kEq, kLt, kLe, kGt, kGe, kAnd, kOr };

Cmp cmpOf(std::string_view op) {
  if (op == "less") return Cmp::kLt;
  if (op == "less_equal") return Cmp::kLe;
  if (op == "greater") return Cmp::kGt;
  if (op == "greater_equal") return Cmp::kGe;
  if (op == "and") return Cmp::kAnd;
  if (op == "or") return Cmp::kOr;
  return Cmp::kEq;
}

template <typename A> __device__ __forceinline__ uint8_t compare(Cmp c, A a, A b) {
  switch (c) {
  case Cmp::kEq: return a == b;
  case Cmp::kLt: return a < b;
  case Cmp::kLe: return a <= b;
  case Cmp::kGt: return a > b;
  case Cmp::kGe: return a >= b;
  case Cmp::kAnd: return a != 0 && b != 0;
  case Cmp::kOr: return a != 0 || b != 0;
  }
  return 0;
}

template <typename T> Status compareTyped(const KernelCall &call, Cmp c) {
  return binaryLoop<T, T, uint8_t>(call,
                                   [=] __device__(T x, T y) { return compare(c, Elem<T>::load(x), Elem<T>::load(y)); });
}

Status compareKernel(const KernelCall &call) {
  const Cmp c = cmpOf(call.op);
  if (call.inputs[0].dtype == DType::kBool) return compareTyped<uint8_t>(call, c);
  Status st = unsupportedDTypes(call);
  visitNumeric(call.inputs[0].dtype, [&](auto tag) { st = compareTyped<typename decltype(tag)::type>(call, c); });
  return st;
}

// A pure selection of elements of 1, 2, 4 or 8 bytes.
template <typename U> Status whereLoop(const KernelCall &call) {
  Indexer<3> ix;
  MPC_RETURN_IF_ERROR(broadcastIndexer(call, 0, &ix));
  const uint8_t *cond = call.inputs[0].as<const uint8_t>();
  const U *x = call.inputs[1].as<const U>();
  const U *y = call.inputs[2].as<const U>();
  U *out = call.outputs[0].as<U>();
  return launchForEach(call, call.outputs[0].numel(), ix,
                       [=] __device__(int64_t i, const int64_t *off) { out[i] = cond[off[0]] ? x[off[1]] : y[off[2]]; });
}

Status whereKernel(const KernelCall &call) {
  switch (dtypeSize(call.outputs[0].dtype)) {
  case 1: return whereLoop<uint8_t>(call);
  case 2: return whereLoop<uint16_t>(call);
  case 4: return whereLoop<uint32_t>(call);
  case 8: return whereLoop<uint64_t>(call);
  default: return unsupportedDTypes(call);
  }
}

// ---- cast: every pair of runtime dtypes, the CPU's rules (cpu/precision.cpp) ----

template <typename T> constexpr bool kIsInt = std::is_integral_v<T>;

template <typename Fn> bool visitAll(DType dt, Fn &&fn) {
  switch (dt) {
  case DType::kF64: fn(Tag<double>{}); return true;
  case DType::kF8E4M3FN: fn(Tag<E4M3>{}); return true;
  case DType::kF8E5M2: fn(Tag<E5M2>{}); return true;
  case DType::kBool: fn(Tag<Bool>{}); return true;
  case DType::kI8: fn(Tag<int8_t>{}); return true;
  default: return visitNumeric(dt, fn);
  }
}

// The exact value of a float storage element.
template <typename S> __device__ __forceinline__ double toDouble(S v) {
  if constexpr (std::is_same_v<S, E4M3>)
    return e4m3fnToFloat(v.bits);
  else if constexpr (std::is_same_v<S, E5M2>)
    return e5m2ToFloat(v.bits);
  else
    return static_cast<double>(Elem<S>::load(v));
}

template <typename D> __device__ __forceinline__ D fromFloat(float f, bool saturate) {
  if constexpr (std::is_same_v<D, E4M3>)
    return E4M3{floatToE4M3FN(f, saturate)};
  else if constexpr (std::is_same_v<D, E5M2>)
    return E5M2{floatToE5M2(f, saturate)};
  else if constexpr (std::is_same_v<D, double>)
    return static_cast<double>(f);
  else
    return Elem<D>::store(f);
}

template <typename D> __device__ __forceinline__ D fromDouble(double d, bool saturate) {
  if constexpr (std::is_same_v<D, double>)
    return d;
  else if constexpr (std::is_same_v<D, float>)
    return static_cast<float>(d);
  else
    return fromFloat<D>(doubleToFloatRoundToOdd(d), saturate);  // one rounding
}

// Truncation toward zero, saturating at the integer's range, NaN -> 0.
template <typename I> __device__ __forceinline__ I floatToInt(double d) {
  if (d != d) return 0;
  const double t = trunc(d);
  const double limit = ldexp(1.0, static_cast<int>(sizeof(I) * 8 - 1));
  const I maxV = static_cast<I>((uint64_t(1) << (sizeof(I) * 8 - 1)) - 1);
  if (t >= limit) return maxV;
  if (t < -limit) return static_cast<I>(-maxV - 1);
  return static_cast<I>(t);
}

template <typename S, typename D> __device__ __forceinline__ D convert(S v, bool saturate) {
  if constexpr (std::is_same_v<S, D>) {
    return v;
  } else if constexpr (std::is_same_v<D, Bool>) {
    if constexpr (kIsInt<S>)
      return Bool{static_cast<uint8_t>(v != 0)};
    else
      return Bool{static_cast<uint8_t>(toDouble(v) != 0.0)};
  } else if constexpr (std::is_same_v<S, Bool>) {
    if constexpr (kIsInt<D>)
      return static_cast<D>(v.v != 0);
    else
      return fromFloat<D>(v.v != 0 ? 1.0f : 0.0f, saturate);
  } else if constexpr (kIsInt<S> && kIsInt<D>) {
    return static_cast<D>(static_cast<std::make_unsigned_t<D>>(static_cast<uint64_t>(static_cast<int64_t>(v))));
  } else if constexpr (kIsInt<S>) {
    if constexpr (std::is_same_v<D, float>) return static_cast<float>(v);  // correctly rounded
    return fromDouble<D>(static_cast<double>(v), saturate);
  } else if constexpr (kIsInt<D>) {
    return floatToInt<D>(toDouble(v));
  } else if constexpr (std::is_same_v<S, double>) {
    return fromDouble<D>(v, saturate);
  } else {
    return fromFloat<D>(static_cast<float>(toDouble(v)), saturate);  // exact in FP32
  }
}

template <typename S, typename D> Status castTyped(const KernelCall &call, bool saturate) {
  const S *x = call.inputs[0].as<const S>();
  D *y = call.outputs[0].as<D>();
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) { y[i] = convert<S, D>(x[i], saturate); });
}

Status castKernel(const KernelCall &call) {
  int64_t sat;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "saturate", 1, &sat));
  Status st = unsupportedDTypes(call);
  visitAll(call.inputs[0].dtype, [&](auto src) {
    visitAll(call.outputs[0].dtype, [&](auto dst) {
      st = castTyped<typename decltype(src)::type, typename decltype(dst)::type>(call, sat != 0);
    });
  });
  return st;
}

// ---- FP8 quantize / dequantize / amax ----

template <typename T> Status quantizeTyped(const KernelCall &call) {
  const bool e4m3 = call.outputs[0].dtype == DType::kF8E4M3FN;
  const float *scale = call.inputs[1].as<const float>();
  const T *x = call.inputs[0].as<const T>();
  uint8_t *q = call.outputs[0].as<uint8_t>();
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) {
    const float v = static_cast<float>(Elem<T>::load(x[i])) * *scale;  // FP32 multiply
    q[i] = e4m3 ? floatToE4M3FN(v, true) : floatToE5M2(v, true);
  });
}

Status quantizeKernel(const KernelCall &call) {
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto tag) { st = quantizeTyped<typename decltype(tag)::type>(call); });
  return st;
}

template <typename T> Status dequantizeTyped(const KernelCall &call) {
  const bool e4m3 = call.inputs[0].dtype == DType::kF8E4M3FN;
  const float *scaleInv = call.inputs[1].as<const float>();
  const uint8_t *q = call.inputs[0].as<const uint8_t>();
  T *y = call.outputs[0].as<T>();
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) {
    const float v = (e4m3 ? e4m3fnToFloat(q[i]) : e5m2ToFloat(q[i])) * *scaleInv;
    y[i] = fromFloat<T>(v, true);
  });
}

Status dequantizeKernel(const KernelCall &call) {
  Status st = unsupportedDTypes(call);
  visitFloat(call.outputs[0].dtype, [&](auto tag) { st = dequantizeTyped<typename decltype(tag)::type>(call); });
  return st;
}

// max |x| as FP32 bits: for non-negative floats the bit patterns order like
// the values, and the canonical NaN (0x7FC00000) is above +inf, so an
// unsigned atomicMax propagates NaN.
template <typename T> __global__ void amaxKernel(const T *x, int64_t n, unsigned *out) {
  unsigned m = 0;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const float v = fabsf(static_cast<float>(Elem<T>::load(x[i])));
    const unsigned bits = v != v ? 0x7FC00000u : floatBits(v);
    m = bits > m ? bits : m;
  }
  if (m) atomicMax(out, m);
}

Status amax(const KernelCall &call) {
  unsigned *out = call.outputs[0].as<unsigned>();
  if (cudaMemsetAsync(out, 0, sizeof(float), streamOf(call)) != cudaSuccess) return launchStatus(call);
  const int64_t n = call.inputs[0].numel();
  if (n == 0) return Status::ok();
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    amaxKernel<T><<<gridFor(n) < 1024 ? gridFor(n) : 1024, kBlockSize, 0, streamOf(call)>>>(call.inputs[0].as<const T>(), n, out);
    st = launchStatus(call);
  });
  return st;
}

}  // namespace elementwise

using namespace elementwise;

void registerElementwiseKernels(KernelRegistry &reg) {
  const DType floats[] = {DType::kF32, DType::kF16, DType::kBF16};
  const DType ints[] = {DType::kI32, DType::kI64};
  for (const char *op : {"neg", "abs", "exp", "log", "sqrt", "reciprocal", "tanh", "sigmoid", "relu", "erf",
                         "leaky_relu", "gelu"})
    for (DType t : floats) addKernel(reg, op, {t, t}, unaryKernel);
  for (const char *op : {"neg", "abs"})
    for (DType t : ints) addKernel(reg, op, {t, t}, unaryKernel);
  addKernel(reg, "not", {DType::kBool, DType::kBool}, notKernel);

  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kI32, DType::kI64}) {
    const bool isInt = t == DType::kI32 || t == DType::kI64;
    for (const char *op : {"add", "sub", "mul", "div", "max", "min"})
      if (!isInt || std::string_view(op) != "div") addKernel(reg, op, {t, t, t}, arithKernel);
    for (const char *op : {"equal", "less", "less_equal", "greater", "greater_equal"})
      addKernel(reg, op, {t, t, DType::kBool}, compareKernel);
    addKernel(reg, "where", {DType::kBool, t, t, t}, whereKernel);
  }
  addKernel(reg, "where", {DType::kBool, DType::kF64, DType::kF64, DType::kF64}, whereKernel);
  addKernel(reg, "where", {DType::kBool, DType::kBool, DType::kBool, DType::kBool}, whereKernel);
  addKernel(reg, "equal", {DType::kBool, DType::kBool, DType::kBool}, compareKernel);
  addKernel(reg, "and", {DType::kBool, DType::kBool, DType::kBool}, compareKernel);
  addKernel(reg, "or", {DType::kBool, DType::kBool, DType::kBool}, compareKernel);
  for (DType b : floats)
    for (DType e : floats) addKernel(reg, "pow", {b, e, b}, powKernel);

  const DType all[] = {DType::kF32,    DType::kF16,  DType::kBF16, DType::kF64, DType::kF8E4M3FN,
                       DType::kF8E5M2, DType::kBool, DType::kI8,   DType::kI32, DType::kI64};
  for (DType s : all)
    for (DType d : all) addKernel(reg, "cast", {s, d}, castKernel);
  for (DType x : floats) {
    for (DType q : {DType::kF8E4M3FN, DType::kF8E5M2}) {
      addKernel(reg, "quantize", {x, DType::kF32, q}, quantizeKernel);
      addKernel(reg, "dequantize", {q, DType::kF32, x}, dequantizeKernel);
    }
    addKernel(reg, "amax", {x, DType::kF32}, amax);
  }
}

}  // namespace mpc::rt::cuda
