// Reductions on CUDA: reduce_sum, reduce_mean, reduce_max, softmax and
// log_softmax. Each output element (each softmax row) is reduced by one
// thread in the CPU kernel's order with FP32 accumulation (the integer types
// wrap), so results are the CPU's bits up to the libdevice exp/log. Simple
// and exact; a block-per-row variant is the obvious next step for long rows.
#include <cfloat>

#include "cuda/device.cuh"
#include "cuda/math.cuh"
#include "cuda/register.h"

namespace mpc::rt::cuda {
namespace reduce {

enum class Kind { kSum, kMean, kMax };

// The reduced dims of x in row-major order, with their element strides.
struct Reduced {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  int64_t count = 1;
};

template <typename A> __device__ __forceinline__ A lowest() {
  if constexpr (std::is_same_v<A, float>) return -INFINITY;
  else return static_cast<A>(uint64_t(1) << (sizeof(A) * 8 - 1));  // INT_MIN of A
}

template <typename T> Status reduceTyped(const KernelCall &call, Kind kind, const Indexer<1> &kept, const Reduced &red) {
  using A = typename Elem<T>::Acc;
  const T *x = call.inputs[0].as<const T>();
  T *y = call.outputs[0].as<T>();
  return launchForEach(call, call.outputs[0].numel(), kept, [=] __device__(int64_t o, const int64_t *base) {
    A acc = kind == Kind::kMax ? lowest<A>() : A(0);
    int64_t idx[kMaxRank] = {};
    int64_t off = base[0];
    for (int64_t i = 0; i < red.count; ++i) {
      const A v = Elem<T>::load(x[off]);
      if (kind == Kind::kMax) {
        if (v > acc || v != v) acc = v;
      } else {
        acc = math::add(acc, v);
      }
      for (int d = red.rank - 1; d >= 0; --d) {
        off += red.strides[d];
        if (++idx[d] < red.dims[d]) break;
        off -= idx[d] * red.strides[d];
        idx[d] = 0;
      }
    }
    if (kind == Kind::kMean) {
      if constexpr (std::is_integral_v<A>) acc = red.count ? acc / static_cast<A>(red.count) : A(0);
      else acc = acc / static_cast<A>(red.count);  // empty: NaN, as numpy
    }
    y[o] = Elem<T>::store(acc);
  });
}

Status reduceKernel(const KernelCall &call) {
  const Kind kind = call.op == "reduce_max" ? Kind::kMax : call.op == "reduce_mean" ? Kind::kMean : Kind::kSum;
  const TensorView &x = call.inputs[0];
  std::vector<int64_t> axes;
  MPC_RETURN_IF_ERROR(cpu::getInts(call, "axes", &axes));
  bool reduced[kMaxRank] = {};
  for (int64_t a : axes)
    if (a >= 0 && a < x.rank) reduced[a] = true;
  int64_t xs[kMaxRank];
  denseStrides(x, xs);
  Indexer<1> kept;  // output index -> offset of its first input element
  Reduced red;
  for (int d = 0; d < x.rank; ++d) {
    if (reduced[d]) {
      red.dims[red.rank] = x.dims[d];
      red.strides[red.rank++] = xs[d];
      red.count *= x.dims[d];
    } else {
      kept.dims[kept.rank] = x.dims[d];
      kept.strides[0][kept.rank++] = xs[d];
    }
  }
  Status st = unsupportedDTypes(call);
  visitNumeric(x.dtype, [&](auto tag) { st = reduceTyped<typename decltype(tag)::type>(call, kind, kept, red); });
  return st;
}

// One thread per (outer, inner) row of length `len` along the axis.
template <typename T> Status softmaxTyped(const KernelCall &call, bool isLog, int64_t inner, int64_t len) {
  const T *x = call.inputs[0].as<const T>();
  T *y = call.outputs[0].as<T>();
  const int64_t rows = len ? call.inputs[0].numel() / len : 0;
  return launchFlat(call, rows, [=] __device__(int64_t v) {
    const int64_t base = (v / inner) * len * inner + v % inner;
    float m = -INFINITY;
    for (int64_t i = 0; i < len; ++i) {
      const float xv = Elem<T>::load(x[base + i * inner]);
      if (xv > m || xv != xv) m = xv;
    }
    // A row of -inf gives NaN (0/0), as the ONNX reference.
    float sum = 0;
    for (int64_t i = 0; i < len; ++i) sum += math::exp(static_cast<float>(Elem<T>::load(x[base + i * inner])) - m);
    const float logSum = math::log(sum);
    for (int64_t i = 0; i < len; ++i) {
      const float d = static_cast<float>(Elem<T>::load(x[base + i * inner])) - m;
      y[base + i * inner] = Elem<T>::store(isLog ? d - logSum : math::exp(d) / sum);
    }
  });
}

Status softmaxKernel(const KernelCall &call) {
  int64_t axis;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "axis", -1, &axis));
  const TensorView &x = call.inputs[0];
  int64_t inner = 1;
  for (int d = static_cast<int>(axis) + 1; d < x.rank; ++d) inner *= x.dims[d];
  const bool isLog = call.op == "log_softmax";
  Status st = unsupportedDTypes(call);
  visitFloat(x.dtype, [&](auto tag) {
    st = softmaxTyped<typename decltype(tag)::type>(call, isLog, inner, x.dims[axis]);
  });
  return st;
}

}  // namespace reduce

using namespace reduce;

void registerReduceKernels(KernelRegistry &reg) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kI32, DType::kI64})
    for (const char *op : {"reduce_sum", "reduce_mean", "reduce_max"}) addKernel(reg, op, {t, t}, reduceKernel);
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    addKernel(reg, "softmax", {t, t}, softmaxKernel);
    addKernel(reg, "log_softmax", {t, t}, softmaxKernel);
  }
}

}  // namespace mpc::rt::cuda
