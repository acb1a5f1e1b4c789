// Data movement: reshape, transpose, concat, split, slice, gather, expand,
// constant. No arithmetic: elements are copied as bytes, so one kernel serves
// every dtype (registered with wildcard dtypes; the kernels check that input
// and output dtypes agree).
#include <algorithm>
#include <cmath>

#include "cpu/cpu_common.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

// Variadic ops (concat inputs, split outputs) are registered for up to this
// many tensors, since registry entries have a fixed dtype list.
constexpr int kMaxVariadic = 64;

Status checkSameDType(const KernelCall &call) {
  const DType t = call.numInputs ? call.inputs[0].dtype : call.outputs[0].dtype;
  for (int i = 0; i < call.numInputs; ++i) MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[i], t, "input"));
  for (int i = 0; i < call.numOutputs; ++i) MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[i], t, "output"));
  return Status::ok();
}

// ---- reshape ----

Status checkReshape(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkSameDType(call));
  if (call.inputs[0].numel() != call.outputs[0].numel())
    return kernelError(call, "cannot reshape " + shapeString(call.inputs[0]) + " to " + shapeString(call.outputs[0]));
  return Status::ok();
}

Status reshape(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkReshape(call));
  if (call.outputs[0].data != call.inputs[0].data)
    std::memmove(call.outputs[0].data, call.inputs[0].data, call.inputs[0].nbytes());
  return Status::ok();
}

// ---- strided copy shared by transpose, slice, expand ----

// Copies rows of the innermost output dimension: row r of `out` (n elements)
// starts at input element rowOff and steps by `step` elements.
template <typename E> void copyRow(E *o, const E *in, int64_t rowOff, int64_t step, int64_t n) {
  if (step == 1) {
    std::memcpy(o, in + rowOff, n * sizeof(E));
    return;
  }
  for (int64_t j = 0; j < n; ++j) o[j] = in[rowOff + j * step];
}

// out[i] = in[start + sum_d idx_d * inStrides[d]] for each output index, in bytes.
// Walks the output row by row (its innermost dimension): a row whose input
// elements are adjacent is one memcpy, others copy element by element with
// the element's own width.
void stridedCopy(ThreadPool *pool, const TensorView &out, const char *in, int64_t startElem, const int64_t *inStrides,
                 size_t elemSize) {
  if (out.numel() == 0) return;
  if (out.rank == 0) {
    std::memcpy(out.data, in + startElem * elemSize, elemSize);
    return;
  }
  const int64_t rowLen = out.dims[out.rank - 1], step = inStrides[out.rank - 1];
  // The outer dimensions as a tensor of rows.
  TensorView rows = out;
  rows.rank = out.rank - 1;
  int64_t strides[1][kMaxRank];
  for (int d = 0; d < rows.rank; ++d) strides[0][d] = inStrides[d];
  char *o = out.as<char>();
  auto run = [&](auto tag) {
    using E = decltype(tag);
    const E *src = reinterpret_cast<const E *>(in) + startElem;
    E *dst = reinterpret_cast<E *>(o);
    parallelFor(pool, rows.numel(), std::max<int64_t>(1, kElementwiseGrain / rowLen), [&](int64_t b, int64_t e) {
      forEachBroadcast<1>(rows, strides, b, e,
                          [&](int64_t r, int64_t off, int64_t, int64_t) { copyRow(dst + r * rowLen, src, off, step, rowLen); });
    });
  };
  switch (elemSize) {
  case 1: run(uint8_t()); break;
  case 2: run(uint16_t()); break;
  case 4: run(uint32_t()); break;
  case 8: run(uint64_t()); break;
  default:
    parallelFor(pool, out.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      int64_t all[1][kMaxRank];
      for (int d = 0; d < out.rank; ++d) all[0][d] = inStrides[d];
      forEachBroadcast<1>(out, all, b, e, [&](int64_t i, int64_t off, int64_t, int64_t) {
        std::memcpy(o + i * elemSize, in + (startElem + off) * elemSize, elemSize);
      });
    });
  }
}

void denseStrides(const TensorView &t, int64_t *strides) {
  int64_t s = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    strides[d] = s;
    s *= t.dims[d];
  }
}

// ---- transpose ----

Status checkTranspose(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkSameDType(call));
  const TensorView &x = call.inputs[0];
  std::vector<int64_t> perm;
  MPC_RETURN_IF_ERROR(getInts(call, "perm", &perm));
  if (perm.empty())
    for (int d = x.rank - 1; d >= 0; --d) perm.push_back(d); // ONNX default: reverse
  if (static_cast<int>(perm.size()) != x.rank) return kernelError(call, "attribute 'perm' must have rank entries");
  std::vector<bool> seen(x.rank, false);
  TensorView want = x;
  for (int d = 0; d < x.rank; ++d) {
    if (perm[d] < 0 || perm[d] >= x.rank || seen[perm[d]])
      return kernelError(call, "attribute 'perm' is not a permutation");
    seen[perm[d]] = true;
    want.dims[d] = x.dims[perm[d]];
  }
  return checkShape(call, call.outputs[0], want, "output");
}

Status transpose(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkTranspose(call));
  const TensorView &x = call.inputs[0];
  std::vector<int64_t> perm;
  MPC_RETURN_IF_ERROR(getInts(call, "perm", &perm));
  if (perm.empty())
    for (int d = x.rank - 1; d >= 0; --d) perm.push_back(d);
  int64_t xs[kMaxRank], st[kMaxRank];
  denseStrides(x, xs);
  for (int d = 0; d < x.rank; ++d) st[d] = xs[perm[d]];
  stridedCopy(call.pool, call.outputs[0], x.as<const char>(), 0, st, dtypeSize(x.dtype));
  return Status::ok();
}

// ---- concat / split: copy blocks of (dim(axis) * inner) elements per outer index ----

Status checkConcatSplit(const KernelCall &call, bool isConcat) {
  if (isConcat ? call.numInputs < 1 || call.numOutputs != 1 : call.numInputs != 1 || call.numOutputs < 1)
    return kernelError(call, "wrong number of operands");
  MPC_RETURN_IF_ERROR(checkArity(call, call.numInputs, call.numInputs, call.numOutputs));
  MPC_RETURN_IF_ERROR(checkSameDType(call));
  const TensorView &whole = isConcat ? call.outputs[0] : call.inputs[0];
  const TensorView *parts = isConcat ? call.inputs : call.outputs;
  const int numParts = isConcat ? call.numInputs : call.numOutputs;
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", 0, &axis));
  if (axis < 0 || axis >= whole.rank) return kernelError(call, "axis " + std::to_string(axis) + " out of range");
  if (!isConcat) {
    std::vector<int64_t> sizes;
    MPC_RETURN_IF_ERROR(getInts(call, "sizes", &sizes));
    if (!sizes.empty()) {
      if (static_cast<int>(sizes.size()) != numParts)
        return kernelError(call, "attribute 'sizes' must have one entry per output");
      for (int i = 0; i < numParts; ++i)
        if (parts[i].rank == whole.rank && parts[i].dims[axis] != sizes[i])
          return kernelError(call, "output " + std::to_string(i) + " does not match attribute 'sizes'");
    }
  }
  int64_t total = 0;
  for (int i = 0; i < numParts; ++i) {
    TensorView want = whole;
    if (parts[i].rank == whole.rank) want.dims[axis] = parts[i].dims[axis];
    MPC_RETURN_IF_ERROR(checkShape(call, parts[i], want, isConcat ? "input" : "output"));
    total += parts[i].dims[axis];
  }
  if (total != whole.dims[axis])
    return kernelError(call, "the parts' sizes along axis " + std::to_string(axis) + " add up to " +
                                 std::to_string(total) + ", not " + std::to_string(whole.dims[axis]));
  return Status::ok();
}

Status checkConcat(const KernelCall &call) { return checkConcatSplit(call, true); }
Status checkSplit(const KernelCall &call) { return checkConcatSplit(call, false); }

Status concatSplit(const KernelCall &call, bool isConcat) {
  MPC_RETURN_IF_ERROR(checkConcatSplit(call, isConcat));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", 0, &axis));
  const TensorView &whole = isConcat ? call.outputs[0] : call.inputs[0];
  const TensorView *parts = isConcat ? call.inputs : call.outputs;
  const int numParts = isConcat ? call.numInputs : call.numOutputs;
  const size_t es = dtypeSize(whole.dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= whole.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < whole.rank; ++d) inner *= whole.dims[d];
  const int64_t wholeRow = whole.dims[axis] * inner;
  int64_t offset = 0;
  for (int i = 0; i < numParts; ++i) {
    const int64_t partRow = parts[i].dims[axis] * inner;
    char *w = whole.as<char>();
    char *p = parts[i].as<char>();
    parallelFor(call.pool, outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(partRow, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t o = b; o < e; ++o) {
                    char *wp = w + (o * wholeRow + offset) * es;
                    char *pp = p + o * partRow * es;
                    if (isConcat)
                      std::memcpy(wp, pp, partRow * es);
                    else
                      std::memcpy(pp, wp, partRow * es);
                  }
                });
    offset += partRow;
  }
  return Status::ok();
}

Status concat(const KernelCall &call) { return concatSplit(call, true); }
Status split(const KernelCall &call) { return concatSplit(call, false); }

// ---- slice ----

Status sliceParams(const KernelCall &call, std::vector<int64_t> *starts, std::vector<int64_t> *steps) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkSameDType(call));
  const TensorView &x = call.inputs[0];
  std::vector<int64_t> ends;
  MPC_RETURN_IF_ERROR(getInts(call, "starts", starts));
  MPC_RETURN_IF_ERROR(getInts(call, "ends", &ends));
  MPC_RETURN_IF_ERROR(getInts(call, "steps", steps));
  if (steps->empty()) steps->assign(x.rank, 1);
  if (static_cast<int>(starts->size()) != x.rank || static_cast<int>(ends.size()) != x.rank ||
      static_cast<int>(steps->size()) != x.rank)
    return kernelError(call, "attributes 'starts', 'ends' and 'steps' need one entry per dim of x");
  TensorView want = x;
  for (int d = 0; d < x.rank; ++d) {
    const int64_t s = (*starts)[d], e = ends[d], st = (*steps)[d];
    if (st == 0) return kernelError(call, "slice step must not be 0");
    int64_t n;
    if (st > 0) {
      if (s < 0 || e > x.dims[d] || s > x.dims[d])
        return kernelError(call, "slice bounds not clamped in dim " + std::to_string(d));
      n = e > s ? (e - s + st - 1) / st : 0;
    } else {
      // Walking down: s in [0, dim-1] (or -1 for empty), e in [-1, dim-1].
      if (s >= x.dims[d] || e < -1 || s < -1)
        return kernelError(call, "slice bounds not clamped in dim " + std::to_string(d));
      n = s > e ? (s - e + (-st) - 1) / (-st) : 0;
    }
    want.dims[d] = n;
  }
  return checkShape(call, call.outputs[0], want, "output");
}

Status checkSlice(const KernelCall &call) {
  std::vector<int64_t> starts, steps;
  return sliceParams(call, &starts, &steps);
}

Status slice(const KernelCall &call) {
  std::vector<int64_t> starts, steps;
  MPC_RETURN_IF_ERROR(sliceParams(call, &starts, &steps));
  const TensorView &x = call.inputs[0];
  if (call.outputs[0].numel() == 0) return Status::ok();
  int64_t xs[kMaxRank], st[kMaxRank];
  denseStrides(x, xs);
  int64_t start = 0;
  for (int d = 0; d < x.rank; ++d) {
    start += starts[d] * xs[d];
    st[d] = steps[d] * xs[d];
  }
  stridedCopy(call.pool, call.outputs[0], x.as<const char>(), start, st, dtypeSize(x.dtype));
  return Status::ok();
}

// ---- gather ----

Status checkGather(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  const TensorView &data = call.inputs[0], &ind = call.inputs[1];
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], data.dtype, "output"));
  if (ind.dtype != DType::kI32 && ind.dtype != DType::kI64) return kernelError(call, "indices must be i32 or i64");
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", 0, &axis));
  if (axis < 0 || axis >= data.rank) return kernelError(call, "axis " + std::to_string(axis) + " out of range");
  TensorView want = data;
  want.rank = data.rank - 1 + ind.rank;
  if (want.rank > kMaxRank) return kernelError(call, "result rank too large");
  int r = 0;
  for (int d = 0; d < axis; ++d) want.dims[r++] = data.dims[d];
  for (int d = 0; d < ind.rank; ++d) want.dims[r++] = ind.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < data.rank; ++d) want.dims[r++] = data.dims[d];
  return checkShape(call, call.outputs[0], want, "output");
}

Status gather(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkGather(call));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", 0, &axis));
  const TensorView &data = call.inputs[0], &ind = call.inputs[1];
  const int64_t numInd = ind.numel(), dim = data.dims[axis];
  std::vector<int64_t> idx(numInd);
  for (int64_t i = 0; i < numInd; ++i) {
    int64_t v = ind.dtype == DType::kI32 ? ind.as<const int32_t>()[i] : ind.as<const int64_t>()[i];
    if (v < -dim || v >= dim)
      return kernelError(call, "index " + std::to_string(v) + " out of range for axis of size " + std::to_string(dim));
    idx[i] = v < 0 ? v + dim : v;
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= data.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < data.rank; ++d) inner *= data.dims[d];
  const size_t rowBytes = inner * dtypeSize(data.dtype);
  const char *src = data.as<const char>();
  char *dst = call.outputs[0].as<char>();
  parallelFor(call.pool, outer * numInd, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
              [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                  const int64_t o = r / numInd, i = r % numInd;
                  std::memcpy(dst + r * rowBytes, src + (o * dim + idx[i]) * rowBytes, rowBytes);
                }
              });
  return Status::ok();
}

// ---- expand ----

Status checkExpand(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkSameDType(call));
  int64_t strides[kMaxRank];
  return broadcastStrides(call, call.inputs[0], call.outputs[0], strides);
}

Status expand(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkExpand(call));
  int64_t strides[kMaxRank];
  MPC_RETURN_IF_ERROR(broadcastStrides(call, call.inputs[0], call.outputs[0], strides));
  stridedCopy(call.pool, call.outputs[0], call.inputs[0].as<const char>(), 0, strides, dtypeSize(call.inputs[0].dtype));
  return Status::ok();
}

// ---- constant: attribute `value` holds the elements (ints for integer and
// bool results, floats for float results; one value is splatted). Large
// constants live in the plan's data section instead. ----

Status checkConstant(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 0, 0, 1));
  const TensorView &y = call.outputs[0];
  const Attr *a = call.attrs ? call.attrs->find("value") : nullptr;
  if (!a) return kernelError(call, "attribute 'value' is required");
  size_t count = 0;
  if (auto *ints = std::get_if<std::vector<int64_t>>(&a->value))
    count = ints->size();
  else if (auto *fl = std::get_if<std::vector<double>>(&a->value))
    count = fl->size();
  else if (std::holds_alternative<int64_t>(a->value) || std::holds_alternative<double>(a->value))
    count = 1;
  else
    return kernelError(call, "attribute 'value' must be numbers");
  if (count != 1 && static_cast<int64_t>(count) != y.numel())
    return kernelError(call, "attribute 'value' has " + std::to_string(count) + " elements, the result " +
                                 shapeString(y) + " needs " + std::to_string(y.numel()));
  if (y.dtype == DType::kInvalid) return kernelError(call, "result has no dtype");
  return Status::ok();
}

double constantValue(const AttrValue &v, int64_t i) {
  if (auto *ints = std::get_if<std::vector<int64_t>>(&v))
    return static_cast<double>((*ints)[ints->size() == 1 ? 0 : i]);
  if (auto *fl = std::get_if<std::vector<double>>(&v)) return (*fl)[fl->size() == 1 ? 0 : i];
  if (auto *x = std::get_if<int64_t>(&v)) return static_cast<double>(*x);
  return std::get<double>(v);
}

int64_t constantInt(const AttrValue &v, int64_t i) {
  if (auto *ints = std::get_if<std::vector<int64_t>>(&v)) return (*ints)[ints->size() == 1 ? 0 : i];
  if (auto *x = std::get_if<int64_t>(&v)) return *x;
  return static_cast<int64_t>(constantValue(v, i));
}

} // namespace

// Defined in precision.cpp: one element of a cast from double.
void storeDoubleAs(const TensorView &t, int64_t i, double v);

namespace {
Status constant(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkConstant(call));
  const TensorView &y = call.outputs[0];
  const AttrValue &v = call.attrs->find("value")->value;
  for (int64_t i = 0; i < y.numel(); ++i) {
    switch (y.dtype) {
    case DType::kBool: y.as<uint8_t>()[i] = constantValue(v, i) != 0; break;
    case DType::kI8: y.as<int8_t>()[i] = static_cast<int8_t>(constantInt(v, i)); break;
    case DType::kI32: y.as<int32_t>()[i] = static_cast<int32_t>(constantInt(v, i)); break;
    case DType::kI64: y.as<int64_t>()[i] = constantInt(v, i); break;
    default: storeDoubleAs(y, i, constantValue(v, i)); break;
    }
  }
  return Status::ok();
}
} // namespace

void registerMovementKernels(KernelRegistry &reg) {
  const DType any = DType::kInvalid;
  addKernel(reg, "reshape", {any, any}, reshape, checkReshape);
  addKernel(reg, "transpose", {any, any}, transpose, checkTranspose);
  addKernel(reg, "slice", {any, any}, slice, checkSlice);
  addKernel(reg, "expand", {any, any}, expand, checkExpand);
  addKernel(reg, "gather", {any, DType::kI32, any}, gather, checkGather);
  addKernel(reg, "gather", {any, DType::kI64, any}, gather, checkGather);
  addKernel(reg, "constant", {any}, constant, checkConstant);
  for (int n = 1; n <= kMaxVariadic; ++n) {
    addKernel(reg, "concat", std::vector<DType>(n + 1, any), concat, checkConcat);
    addKernel(reg, "split", std::vector<DType>(n + 1, any), split, checkSplit);
  }
}

} // namespace mpc::rt::cpu
