// reduce_sum, reduce_mean, reduce_max over a sorted, unique, non-empty axis
// list, with keepdims. Every output element is reduced by one thread in
// row-major order of the reduced dims (FP32 accumulation for FP32/FP16/BF16,
// double for f64), so results do not depend on the thread count.
#include <cmath>
#include <limits>

#include "cpu/cpu_common.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

enum class Reduce { kSum, kMean, kMax };

struct ReducePlan {
  int keptRank = 0, redRank = 0;
  int64_t keptDims[kMaxRank], keptStrides[kMaxRank]; // input strides of kept dims
  int64_t redDims[kMaxRank], redStrides[kMaxRank];
  int64_t outCount = 1, redCount = 1;
};

Status reducePlan(const KernelCall &call, ReducePlan *p) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  const TensorView &x = call.inputs[0], &y = call.outputs[0];
  MPC_RETURN_IF_ERROR(checkDType(call, y, x.dtype, "output"));
  std::vector<int64_t> axes;
  int64_t keepdims;
  MPC_RETURN_IF_ERROR(getInts(call, "axes", &axes));
  MPC_RETURN_IF_ERROR(getInt(call, "keepdims", 1, &keepdims));
  if (axes.empty()) return kernelError(call, "attribute 'axes' must not be empty");
  bool reduced[kMaxRank] = {};
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= x.rank || (i > 0 && axes[i] <= axes[i - 1]))
      return kernelError(call, "attribute 'axes' must be sorted, unique and in [0, rank)");
    reduced[axes[i]] = true;
  }
  TensorView want;
  want.rank = 0;
  int64_t stride = 1;
  int64_t strides[kMaxRank];
  for (int d = x.rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= x.dims[d];
  }
  for (int d = 0; d < x.rank; ++d) {
    if (reduced[d]) {
      p->redDims[p->redRank] = x.dims[d];
      p->redStrides[p->redRank++] = strides[d];
      p->redCount *= x.dims[d];
      if (keepdims) want.dims[want.rank++] = 1;
    } else {
      p->keptDims[p->keptRank] = x.dims[d];
      p->keptStrides[p->keptRank++] = strides[d];
      p->outCount *= x.dims[d];
      want.dims[want.rank++] = x.dims[d];
    }
  }
  return checkShape(call, y, want, "output");
}

Status checkReduce(const KernelCall &call) {
  ReducePlan p;
  return reducePlan(call, &p);
}

template <Reduce K> Status reduceKernel(const KernelCall &call) {
  ReducePlan p;
  MPC_RETURN_IF_ERROR(reducePlan(call, &p));
  const bool ok = visitNumeric(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *x = call.inputs[0].as<const T>();
    T *y = call.outputs[0].as<T>();
    auto reduceOne = [&](int64_t base) {
      A acc;
      if constexpr (K == Reduce::kMax) {
        // The identity of max: -inf for floats, the lowest value for ints.
        acc = std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity()
                                                   : std::numeric_limits<A>::lowest();
      } else {
        acc = 0;
      }
      int64_t idx[kMaxRank] = {};
      int64_t off = base;
      for (int64_t i = 0; i < p.redCount; ++i) {
        const A v = Elem<T>::load(x[off]);
        if constexpr (K == Reduce::kMax) {
          if (v > acc || v != v) acc = v;
        } else if constexpr (std::is_integral_v<A>) {
          acc = static_cast<A>(static_cast<std::make_unsigned_t<A>>(acc) + static_cast<std::make_unsigned_t<A>>(v));
        } else {
          acc += v;
        }
        for (int d = p.redRank - 1; d >= 0; --d) {
          off += p.redStrides[d];
          if (++idx[d] < p.redDims[d]) break;
          off -= idx[d] * p.redStrides[d];
          idx[d] = 0;
        }
      }
      if constexpr (K == Reduce::kMean) {
        if constexpr (std::is_integral_v<A>)
          acc = p.redCount ? acc / static_cast<A>(p.redCount) : 0;
        else
          acc = acc / static_cast<A>(p.redCount); // empty: NaN (0/0), as numpy
      }
      return acc;
    };
    parallelFor(call.pool, p.outCount, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(p.redCount, 1)),
                [&](int64_t b, int64_t e) {
                  int64_t idx[kMaxRank] = {};
                  int64_t rem = b, base = 0;
                  for (int d = p.keptRank - 1; d >= 0; --d) {
                    idx[d] = rem % p.keptDims[d];
                    rem /= p.keptDims[d];
                    base += idx[d] * p.keptStrides[d];
                  }
                  for (int64_t o = b; o < e; ++o) {
                    y[o] = Elem<T>::store(reduceOne(base));
                    for (int d = p.keptRank - 1; d >= 0; --d) {
                      base += p.keptStrides[d];
                      if (++idx[d] < p.keptDims[d]) break;
                      base -= idx[d] * p.keptStrides[d];
                      idx[d] = 0;
                    }
                  }
                });
  });
  if (!ok) return kernelError(call, "unsupported dtype " + std::string(dtypeName(call.inputs[0].dtype)));
  return Status::ok();
}

} // namespace

void registerReduceKernels(KernelRegistry &reg) {
  for (DType t : numericDTypes()) {
    addKernel(reg, "reduce_sum", {t, t}, reduceKernel<Reduce::kSum>, checkReduce);
    addKernel(reg, "reduce_mean", {t, t}, reduceKernel<Reduce::kMean>, checkReduce);
    addKernel(reg, "reduce_max", {t, t}, reduceKernel<Reduce::kMax>, checkReduce);
  }
}

} // namespace mpc::rt::cpu
