// Precision ops: cast (every pair of runtime dtypes), quantize, dequantize and
// amax.
//
// cast semantics (docs/ops.md): float -> float rounds to nearest even (f64
// sources go through round-to-odd FP32, so they are rounded once); to FP8 the
// `saturate` attribute (default 1) maps overflow and +-inf to +-max finite;
// float -> int truncates toward zero and saturates at the integer range, NaN
// becomes 0 (ONNX leaves these undefined; we pick the CUDA cvt.rzi.sat
// behaviour so both backends agree); int -> int wraps; anything -> bool is
// `x != 0` (NaN is true); bool -> anything is 0/1.
#include <cmath>
#include <limits>

#include "cpu/cpu_common.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

struct E4M3 {
  uint8_t bits;
};
struct E5M2 {
  uint8_t bits;
};
struct Bool {
  uint8_t v;
};

template <typename Fn> bool visitAll(DType dt, Fn &&fn) {
  switch (dt) {
  case DType::kF8E4M3FN: fn(TypeTag<E4M3>{}); return true;
  case DType::kF8E5M2: fn(TypeTag<E5M2>{}); return true;
  case DType::kBool: fn(TypeTag<Bool>{}); return true;
  case DType::kI8: fn(TypeTag<int8_t>{}); return true;
  default: return visitNumeric(dt, fn);
  }
}

template <typename T> constexpr bool kIsInt = std::is_integral_v<T>;
template <typename T> constexpr bool kIsFloat = !kIsInt<T> && !std::is_same_v<T, Bool>;

// Exact value of a float storage element as double.
template <typename S> double toDouble(S v) {
  if constexpr (std::is_same_v<S, E4M3>)
    return e4m3fnToFloat(v.bits);
  else if constexpr (std::is_same_v<S, E5M2>)
    return e5m2ToFloat(v.bits);
  else
    return static_cast<double>(Elem<S>::load(v));
}

// FP32 value to a float storage type (RNE; FP8 with the saturate flag).
template <typename D> D fromFloat(float f, bool saturate) {
  if constexpr (std::is_same_v<D, E4M3>)
    return E4M3{floatToE4M3FN(f, saturate)};
  else if constexpr (std::is_same_v<D, E5M2>)
    return E5M2{floatToE5M2(f, saturate)};
  else if constexpr (std::is_same_v<D, double>)
    return static_cast<double>(f);
  else
    return Elem<D>::store(f);
}

template <typename D> D fromDouble(double d, bool saturate) {
  if constexpr (std::is_same_v<D, double>)
    return d;
  else if constexpr (std::is_same_v<D, float>)
    return static_cast<float>(d);
  else
    return fromFloat<D>(doubleToFloatRoundToOdd(d), saturate);
}

template <typename I> I floatToInt(double d) {
  if (d != d) return 0;
  const double t = std::trunc(d);
  // 2^(bits-1) is exact in double; compare before converting (no UB).
  const double limit = std::ldexp(1.0, std::numeric_limits<I>::digits);
  if (t >= limit) return std::numeric_limits<I>::max();
  if (t < -limit) return std::numeric_limits<I>::min();
  return static_cast<I>(t);
}

template <typename S, typename D> D convert(S v, bool saturate) {
  if constexpr (std::is_same_v<S, D>) {
    return v;
  } else if constexpr (std::is_same_v<D, Bool>) {
    if constexpr (std::is_same_v<S, Bool>)
      return v;
    else if constexpr (kIsInt<S>)
      return Bool{static_cast<uint8_t>(v != 0)};
    else
      return Bool{static_cast<uint8_t>(toDouble(v) != 0.0)};
  } else if constexpr (std::is_same_v<S, Bool>) {
    if constexpr (kIsInt<D>)
      return static_cast<D>(v.v != 0);
    else
      return fromFloat<D>(v.v != 0 ? 1.0f : 0.0f, saturate);
  } else if constexpr (kIsInt<S> && kIsInt<D>) {
    // Two's complement wrap, as numpy astype.
    return static_cast<D>(static_cast<std::make_unsigned_t<D>>(static_cast<uint64_t>(static_cast<int64_t>(v))));
  } else if constexpr (kIsInt<S>) {
    if constexpr (std::is_same_v<D, float>) return static_cast<float>(v); // correctly rounded
    // Exact below 2^53; larger magnitudes may round twice (documented limit).
    return fromDouble<D>(static_cast<double>(v), saturate);
  } else if constexpr (kIsInt<D>) {
    return floatToInt<D>(toDouble(v));
  } else if constexpr (std::is_same_v<S, double>) {
    return fromDouble<D>(v, saturate);
  } else {
    // Every other float source is exact in FP32.
    return fromFloat<D>(static_cast<float>(toDouble(v)), saturate);
  }
}

Status checkCast(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  int64_t sat;
  MPC_RETURN_IF_ERROR(getInt(call, "saturate", 1, &sat));
  if (call.inputs[0].dtype == DType::kInvalid || call.outputs[0].dtype == DType::kInvalid)
    return kernelError(call, "invalid dtype");
  return checkShape(call, call.outputs[0], call.inputs[0], "output");
}

Status cast(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkCast(call));
  int64_t sat;
  MPC_RETURN_IF_ERROR(getInt(call, "saturate", 1, &sat));
  const bool saturate = sat != 0;
  const TensorView &x = call.inputs[0], &y = call.outputs[0];
  bool inner = false;
  const bool outer = visitAll(x.dtype, [&](auto st) {
    using S = typename decltype(st)::type;
    inner = visitAll(y.dtype, [&](auto dt) {
      using D = typename decltype(dt)::type;
      const S *src = x.as<const S>();
      D *dst = y.as<D>();
      // Same-size casts may run in place: element i is read before it is written.
      parallelFor(call.pool, x.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = convert<S, D>(src[i], saturate);
      });
    });
  });
  if (!outer || !inner) return kernelError(call, "unsupported dtypes");
  return Status::ok();
}

// ---- quantize / dequantize / amax ----

Status checkScalar(const KernelCall &call, const TensorView &t, const char *what) {
  MPC_RETURN_IF_ERROR(checkDType(call, t, DType::kF32, what));
  if (t.numel() != 1) return kernelError(call, std::string(what) + " must have one element, got " + shapeString(t));
  return Status::ok();
}

bool isFp8(DType t) { return t == DType::kF8E4M3FN || t == DType::kF8E5M2; }
bool isWideFloat(DType t) { return isFloat(t) && !isFp8(t); }

Status checkQuantize(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  if (!isWideFloat(call.inputs[0].dtype)) return kernelError(call, "x must be f32, f16, bf16 or f64");
  if (!isFp8(call.outputs[0].dtype)) return kernelError(call, "result must be f8E4M3FN or f8E5M2");
  MPC_RETURN_IF_ERROR(checkScalar(call, call.inputs[1], "scale"));
  return checkShape(call, call.outputs[0], call.inputs[0], "output");
}

Status quantize(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkQuantize(call));
  const float scale = *call.inputs[1].as<const float>();
  const bool e4m3 = call.outputs[0].dtype == DType::kF8E4M3FN;
  uint8_t *q = call.outputs[0].as<uint8_t>();
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *x = call.inputs[0].as<const T>();
    parallelFor(call.pool, call.inputs[0].numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const float v = static_cast<float>(Elem<T>::load(x[i])) * scale; // FP32 multiply
        q[i] = e4m3 ? floatToE4M3FN(v, true) : floatToE5M2(v, true);
      }
    });
  });
  return Status::ok();
}

Status checkDequantize(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  if (!isFp8(call.inputs[0].dtype)) return kernelError(call, "q must be f8E4M3FN or f8E5M2");
  if (!isWideFloat(call.outputs[0].dtype)) return kernelError(call, "result must be f32, f16, bf16 or f64");
  MPC_RETURN_IF_ERROR(checkScalar(call, call.inputs[1], "scale_inv"));
  return checkShape(call, call.outputs[0], call.inputs[0], "output");
}

Status dequantize(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkDequantize(call));
  const float scaleInv = *call.inputs[1].as<const float>();
  const bool e4m3 = call.inputs[0].dtype == DType::kF8E4M3FN;
  const uint8_t *q = call.inputs[0].as<const uint8_t>();
  visitFloat(call.outputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T *y = call.outputs[0].as<T>();
    parallelFor(call.pool, call.inputs[0].numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const float v = (e4m3 ? e4m3fnToFloat(q[i]) : e5m2ToFloat(q[i])) * scaleInv;
        y[i] = fromFloat<T>(v, true);
      }
    });
  });
  return Status::ok();
}

Status checkAmax(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  if (!isWideFloat(call.inputs[0].dtype)) return kernelError(call, "x must be f32, f16, bf16 or f64");
  return checkScalar(call, call.outputs[0], "result");
}

Status amax(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkAmax(call));
  const TensorView &x = call.inputs[0];
  const int64_t n = x.numel();
  const int64_t chunks = (n + kElementwiseGrain - 1) / kElementwiseGrain;
  std::vector<double> partial(std::max<int64_t>(chunks, 1), 0.0);
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xp = x.as<const T>();
    // max is exact, so the per-chunk partials combine to the same result for any partition.
    parallelFor(call.pool, n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      double m = 0;
      for (int64_t i = b; i < e; ++i) {
        const double v = std::fabs(static_cast<double>(Elem<T>::load(xp[i])));
        if (v > m || v != v) m = v;
        if (m != m) break;
      }
      partial[b / kElementwiseGrain] = m;
    });
  });
  double m = 0;
  for (double v : partial)
    if (v > m || v != v) m = v;
  *call.outputs[0].as<float>() = m != m ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(m);
  return Status::ok();
}

} // namespace

void storeDoubleAs(const TensorView &t, int64_t i, double v) {
  visitAll(t.dtype, [&](auto tag) {
    using D = typename decltype(tag)::type;
    t.as<D>()[i] = convert<double, D>(v, true);
  });
}

void registerPrecisionKernels(KernelRegistry &reg) {
  const DType all[] = {DType::kF32,    DType::kF16,  DType::kBF16, DType::kF64, DType::kF8E4M3FN,
                       DType::kF8E5M2, DType::kBool, DType::kI8,   DType::kI32, DType::kI64};
  for (DType s : all)
    for (DType d : all) addKernel(reg, "cast", {s, d}, cast, checkCast);
  for (DType x : floatDTypes()) {
    for (DType q : {DType::kF8E4M3FN, DType::kF8E5M2}) {
      addKernel(reg, "quantize", {x, DType::kF32, q}, quantize, checkQuantize);
      addKernel(reg, "dequantize", {q, DType::kF32, x}, dequantize, checkDequantize);
    }
    addKernel(reg, "amax", {x, DType::kF32}, amax, checkAmax);
  }
}

} // namespace mpc::rt::cpu
