// Elementwise binary kernels with NumPy broadcasting (add, sub, mul, div, max,
// min, pow, comparisons, and, or) and the three-way `where`.
//
// The output is written in index order and element i reads its inputs before
// it is written, so an input with the output's shape may alias the output.
#include <cmath>
#include <limits>

#include "cpu/cpu_common.h"
#include "cpu/elementwise_math.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

Status checkBinaryShapes(const KernelCall &call, int64_t (*strides)[kMaxRank]) {
  const TensorView &out = call.outputs[0];
  for (int i = 0; i < call.numInputs; ++i) MPC_RETURN_IF_ERROR(broadcastStrides(call, call.inputs[i], out, strides[i]));
  // The output must be exactly the broadcast shape, not merely compatible.
  for (int d = 0; d < out.rank; ++d) {
    int64_t want = 1;
    for (int i = 0; i < call.numInputs; ++i) {
      const TensorView &in = call.inputs[i];
      const int id = d - (out.rank - in.rank);
      if (id >= 0 && in.dims[id] != 1) want = in.dims[id];
    }
    if (out.dims[d] != want)
      return kernelError(call, "output shape " + shapeString(out) + " is not the broadcast shape of the inputs");
  }
  return Status::ok();
}

// Shared checks: arity, matching input dtypes (except pow), output dtype
// (kInvalid: the dtype of the first value input), shapes.
Status checkBinaryLike(const KernelCall &call, int numInputs, DType outDType, bool sameInputTypes) {
  MPC_RETURN_IF_ERROR(checkArity(call, numInputs, numInputs, 1));
  int first = numInputs == 3 ? 1 : 0; // where: cond, x, y
  if (outDType == DType::kInvalid) outDType = call.inputs[first].dtype;
  if (sameInputTypes)
    for (int i = first + 1; i < numInputs; ++i)
      MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[i], call.inputs[first].dtype, "input"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], outDType, "output"));
  int64_t strides[3][kMaxRank];
  return checkBinaryShapes(call, strides);
}

template <typename TA, typename TB, typename TO, typename F> void binaryLoop(const KernelCall &call, F f) {
  int64_t strides[3][kMaxRank] = {};
  checkBinaryShapes(call, strides);
  const TA *a = call.inputs[0].as<const TA>();
  const TB *b = call.inputs[1].as<const TB>();
  TO *out = call.outputs[0].as<TO>();
  const TensorView &o = call.outputs[0];
  const bool flat = sameShape(call.inputs[0], o) && sameShape(call.inputs[1], o);
  // One operand a single element (a scalar constant): plain loops that vectorise.
  const bool aFlat = sameShape(call.inputs[0], o), bFlat = sameShape(call.inputs[1], o);
  const bool bScalar = aFlat && call.inputs[1].numel() == 1, aScalar = bFlat && call.inputs[0].numel() == 1;
  parallelFor(call.pool, o.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    if (flat) {
      for (int64_t i = begin; i < end; ++i) out[i] = f(a[i], b[i]);
      return;
    }
    if (bScalar) {
      const TB b0 = b[0]; // read before out (which may alias a) is written
      for (int64_t i = begin; i < end; ++i) out[i] = f(a[i], b0);
      return;
    }
    if (aScalar) {
      const TA a0 = a[0];
      for (int64_t i = begin; i < end; ++i) out[i] = f(a0, b[i]);
      return;
    }
    forEachBroadcast<2>(o, strides, begin, end,
                        [&](int64_t i, int64_t ia, int64_t ib, int64_t) { out[i] = f(a[ia], b[ib]); });
  });
}

enum class Arith { kAdd, kSub, kMul, kDiv, kMax, kMin };

// The scalar math is elementwise_math.h's, shared with the fused kernel.
template <Arith K, typename A> A arith(A x, A y) {
  if constexpr (K == Arith::kAdd)
    return math::add(x, y);
  else if constexpr (K == Arith::kSub)
    return math::sub(x, y);
  else if constexpr (K == Arith::kMul)
    return math::mul(x, y);
  else if constexpr (K == Arith::kDiv)
    return math::div(x, y); // integer y == 0 is rejected before the loop
  else if constexpr (K == Arith::kMax)
    return math::max(x, y);
  else
    return math::min(x, y);
}

template <Arith K> Status arithKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBinaryLike(call, 2, DType::kInvalid, true));
  if constexpr (K == Arith::kDiv) {
    const TensorView &b = call.inputs[1];
    bool zero = false;
    if (b.dtype == DType::kI32)
      for (int64_t i = 0; i < b.numel(); ++i) zero |= b.as<const int32_t>()[i] == 0;
    if (b.dtype == DType::kI64)
      for (int64_t i = 0; i < b.numel(); ++i) zero |= b.as<const int64_t>()[i] == 0;
    if (zero) return kernelError(call, "integer division by zero");
  }
  if (!visitNumeric(call.inputs[0].dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        binaryLoop<T, T, T>(call,
                            [](T x, T y) { return Elem<T>::store(arith<K>(Elem<T>::load(x), Elem<T>::load(y))); });
      }))
    return kernelError(call, "unsupported dtype " + std::string(dtypeName(call.inputs[0].dtype)));
  return Status::ok();
}

Status checkPow(const KernelCall &call) { return checkBinaryLike(call, 2, DType::kInvalid, false); }

Status powKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkPow(call));
  bool expOk = false;
  const bool baseOk = visitFloat(call.inputs[0].dtype, [&](auto baseTag) {
    using T = typename decltype(baseTag)::type;
    using A = AccT<T>;
    expOk = visitFloat(call.inputs[1].dtype, [&](auto expTag) {
      using E = typename decltype(expTag)::type;
      binaryLoop<T, E, T>(call, [](T x, E y) {
        // The exponent is rounded to the compute type of the base (FP32 for
        // every low-precision base).
        return Elem<T>::store(math::pow<A>(Elem<T>::load(x), static_cast<A>(Elem<E>::load(y))));
      });
    });
  });
  if (!baseOk || !expOk) return kernelError(call, "unsupported dtypes");
  return Status::ok();
}

enum class Cmp { kEq, kLt, kLe, kGt, kGe };

template <Cmp K> Status compareKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBinaryLike(call, 2, DType::kBool, true));
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    binaryLoop<T, T, uint8_t>(call, [](T x, T y) {
      const auto a = Elem<T>::load(x);
      const auto b = Elem<T>::load(y);
      bool r;
      if constexpr (K == Cmp::kEq)
        r = a == b;
      else if constexpr (K == Cmp::kLt)
        r = a < b;
      else if constexpr (K == Cmp::kLe)
        r = a <= b;
      else if constexpr (K == Cmp::kGt)
        r = a > b;
      else
        r = a >= b;
      return static_cast<uint8_t>(r);
    });
  };
  if (call.inputs[0].dtype == DType::kBool) {
    run(TypeTag<uint8_t>{}); // bool compares as 0/1 (only `equal` is registered for it)
    return Status::ok();
  }
  if (!visitNumeric(call.inputs[0].dtype, run))
    return kernelError(call, "unsupported dtype " + std::string(dtypeName(call.inputs[0].dtype)));
  return Status::ok();
}

template <bool kAnd> Status logicKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBinaryLike(call, 2, DType::kBool, true));
  MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[0], DType::kBool, "input 0"));
  binaryLoop<uint8_t, uint8_t, uint8_t>(
      call, [](uint8_t x, uint8_t y) { return static_cast<uint8_t>(kAnd ? (x != 0 && y != 0) : (x != 0 || y != 0)); });
  return Status::ok();
}

Status checkWhere(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBinaryLike(call, 3, DType::kInvalid, true));
  return checkDType(call, call.inputs[0], DType::kBool, "condition");
}

Status whereKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkWhere(call));
  int64_t strides[3][kMaxRank] = {};
  checkBinaryShapes(call, strides);
  const size_t size = dtypeSize(call.outputs[0].dtype);
  const uint8_t *cond = call.inputs[0].as<const uint8_t>();
  const char *x = call.inputs[1].as<const char>();
  const char *y = call.inputs[2].as<const char>();
  char *out = call.outputs[0].as<char>();
  // A pure selection: copy bytes, no arithmetic.
  parallelFor(call.pool, call.outputs[0].numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    forEachBroadcast<3>(call.outputs[0], strides, begin, end, [&](int64_t i, int64_t ic, int64_t ix, int64_t iy) {
      const char *src = cond[ic] ? x + ix * size : y + iy * size;
      std::memmove(out + i * size, src, size);
    });
  });
  return Status::ok();
}

} // namespace

void registerBinaryKernels(KernelRegistry &reg) {
  for (DType t : numericDTypes()) {
    const KernelCheckFn check = [](const KernelCall &c) { return checkBinaryLike(c, 2, DType::kInvalid, true); };
    const KernelCheckFn checkCmp = [](const KernelCall &c) { return checkBinaryLike(c, 2, DType::kBool, true); };
    addKernel(reg, "add", {t, t, t}, arithKernel<Arith::kAdd>, check);
    addKernel(reg, "sub", {t, t, t}, arithKernel<Arith::kSub>, check);
    addKernel(reg, "mul", {t, t, t}, arithKernel<Arith::kMul>, check);
    addKernel(reg, "div", {t, t, t}, arithKernel<Arith::kDiv>, check);
    addKernel(reg, "max", {t, t, t}, arithKernel<Arith::kMax>, check);
    addKernel(reg, "min", {t, t, t}, arithKernel<Arith::kMin>, check);
    addKernel(reg, "equal", {t, t, DType::kBool}, compareKernel<Cmp::kEq>, checkCmp);
    addKernel(reg, "less", {t, t, DType::kBool}, compareKernel<Cmp::kLt>, checkCmp);
    addKernel(reg, "less_equal", {t, t, DType::kBool}, compareKernel<Cmp::kLe>, checkCmp);
    addKernel(reg, "greater", {t, t, DType::kBool}, compareKernel<Cmp::kGt>, checkCmp);
    addKernel(reg, "greater_equal", {t, t, DType::kBool}, compareKernel<Cmp::kGe>, checkCmp);
  }
  addKernel(reg, "equal", {DType::kBool, DType::kBool, DType::kBool}, compareKernel<Cmp::kEq>,
            [](const KernelCall &c) { return checkBinaryLike(c, 2, DType::kBool, true); });
  for (DType base : floatDTypes())
    for (DType e : floatDTypes()) addKernel(reg, "pow", {base, e, base}, powKernel, checkPow);
  const KernelCheckFn checkLogic = [](const KernelCall &c) { return checkBinaryLike(c, 2, DType::kBool, true); };
  addKernel(reg, "and", {DType::kBool, DType::kBool, DType::kBool}, logicKernel<true>, checkLogic);
  addKernel(reg, "or", {DType::kBool, DType::kBool, DType::kBool}, logicKernel<false>, checkLogic);
  std::vector<DType> whereTypes = numericDTypes();
  whereTypes.push_back(DType::kBool);
  for (DType t : whereTypes) addKernel(reg, "where", {DType::kBool, t, t, t}, whereKernel, checkWhere);
}

} // namespace mpc::rt::cpu
