// gather_grad (indices, dy) -> ddata and slice_grad (dy) -> dx; the result
// type is the specification of the result's shape.
//
// gather_grad scatter-adds dy rows into a zeroed ddata (repeated indices
// accumulate, negative indices count from the end), accumulating in FP32
// (double for f64) in index order; each output element is owned by one thread.
// slice_grad zeroes dx and copies dy to the sliced positions (bytes: any dtype).
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

Status checkGatherGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  const TensorView &ind = call.inputs[0], &dy = call.inputs[1], &data = call.outputs[0];
  if (ind.dtype != DType::kI32 && ind.dtype != DType::kI64) return kernelError(call, "indices must be i32 or i64");
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, dy, "dy"));
  MPC_RETURN_IF_ERROR(checkDType(call, data, dy.dtype, "ddata"));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", 0, &axis));
  if (axis < 0 || axis >= data.rank)
    return kernelError(call, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(data.rank));
  TensorView want = data;
  want.rank = data.rank - 1 + ind.rank;
  if (want.rank > kMaxRank) return kernelError(call, "dy rank too large");
  int r = 0;
  for (int d = 0; d < axis; ++d) want.dims[r++] = data.dims[d];
  for (int d = 0; d < ind.rank; ++d) want.dims[r++] = ind.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < data.rank; ++d) want.dims[r++] = data.dims[d];
  return checkShape(call, dy, want, "dy");
}

Status gatherGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkGatherGrad(call));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", 0, &axis));
  const TensorView &ind = call.inputs[0], &dy = call.inputs[1], &data = call.outputs[0];
  const int64_t numInd = ind.numel(), dim = data.dims[axis];
  std::vector<int64_t> idx(numInd);
  for (int64_t i = 0; i < numInd; ++i) {
    const int64_t v = loadIndex(ind, i);
    if (v < -dim || v >= dim)
      return kernelError(call, "index " + std::to_string(v) + " out of range for axis of size " + std::to_string(dim));
    idx[i] = v < 0 ? v + dim : v;
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= data.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < data.rank; ++d) inner *= data.dims[d];
  visitFloat(dy.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *g = dy.as<const T>();
    T *out = data.as<T>();
    // f32/f64 accumulate in the output itself; FP16/BF16 in an FP32 buffer.
    thread_local std::vector<float> wide;
    A *acc;
    if constexpr (std::is_same_v<A, T>) {
      acc = out;
    } else {
      wide.resize(static_cast<size_t>(data.numel()));
      acc = wide.data();
    }
    // Chunks over (outer, column) pairs: a chunk owns its columns of ddata.
    parallelFor(call.pool, outer * inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(numInd, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t start = b; start < e;) {
                    const int64_t o = start / inner, j0 = start % inner;
                    const int64_t j1 = std::min(inner, j0 + (e - start));
                    for (int64_t k = 0; k < dim; ++k)
                      for (int64_t j = j0; j < j1; ++j) acc[(o * dim + k) * inner + j] = A(0);
                    for (int64_t i = 0; i < numInd; ++i) {
                      A *dst = acc + (o * dim + idx[i]) * inner;
                      const T *src = g + (o * numInd + i) * inner;
                      for (int64_t j = j0; j < j1; ++j) dst[j] += Elem<T>::load(src[j]);
                    }
                    if constexpr (!std::is_same_v<A, T>) {
                      for (int64_t k = 0; k < dim; ++k)
                        for (int64_t j = j0; j < j1; ++j) {
                          const int64_t q = (o * dim + k) * inner + j;
                          out[q] = Elem<T>::store(acc[q]);
                        }
                    }
                    start += j1 - j0;
                  }
                });
  });
  return Status::ok();
}

// ---- slice_grad ----

Status sliceGradParams(const KernelCall &call, std::vector<int64_t> *starts, std::vector<int64_t> *steps) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  const TensorView &dy = call.inputs[0], &dx = call.outputs[0];
  MPC_RETURN_IF_ERROR(checkDType(call, dx, dy.dtype, "dx"));
  std::vector<int64_t> ends;
  MPC_RETURN_IF_ERROR(getInts(call, "starts", starts));
  MPC_RETURN_IF_ERROR(getInts(call, "ends", &ends));
  MPC_RETURN_IF_ERROR(getInts(call, "steps", steps));
  if (steps->empty()) steps->assign(dx.rank, 1);
  if (static_cast<int>(starts->size()) != dx.rank || static_cast<int>(ends.size()) != dx.rank ||
      static_cast<int>(steps->size()) != dx.rank)
    return kernelError(call, "attributes 'starts', 'ends' and 'steps' need one entry per dim of dx");
  TensorView want = dx;
  for (int d = 0; d < dx.rank; ++d) {
    const int64_t s = (*starts)[d], e = ends[d], st = (*steps)[d];
    if (st == 0) return kernelError(call, "slice step must not be 0");
    int64_t n;
    if (st > 0) {
      if (s < 0 || e > dx.dims[d] || s > dx.dims[d])
        return kernelError(call, "slice bounds not clamped in dim " + std::to_string(d));
      n = e > s ? (e - s + st - 1) / st : 0;
    } else {
      if (s >= dx.dims[d] || e < -1 || s < -1) return kernelError(call, "slice bounds not clamped in dim " + std::to_string(d));
      n = s > e ? (s - e + (-st) - 1) / (-st) : 0;
    }
    want.dims[d] = n;
  }
  return checkShape(call, dy, want, "dy");
}

Status checkSliceGrad(const KernelCall &call) {
  std::vector<int64_t> starts, steps;
  return sliceGradParams(call, &starts, &steps);
}

Status sliceGrad(const KernelCall &call) {
  std::vector<int64_t> starts, steps;
  MPC_RETURN_IF_ERROR(sliceGradParams(call, &starts, &steps));
  const TensorView &dy = call.inputs[0], &dx = call.outputs[0];
  const size_t elem = dtypeSize(dx.dtype);
  if (dx.nbytes()) std::memset(dx.data, 0, dx.nbytes());
  if (dy.numel() == 0) return Status::ok();
  int64_t xs[kMaxRank], st[1][kMaxRank];
  int64_t s = 1;
  for (int d = dx.rank - 1; d >= 0; --d) {
    xs[d] = s;
    s *= dx.dims[d];
  }
  int64_t start = 0;
  for (int d = 0; d < dx.rank; ++d) {
    start += starts[d] * xs[d];
    st[0][d] = steps[d] * xs[d];
  }
  const char *src = dy.as<const char>();
  char *dst = dx.as<char>();
  // Distinct dy elements land on distinct dx elements: chunks never collide.
  parallelFor(call.pool, dy.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    forEachBroadcast<1>(dy, st, b, e, [&](int64_t i, int64_t off, int64_t, int64_t) {
      std::memcpy(dst + (start + off) * elem, src + i * elem, elem);
    });
  });
  return Status::ok();
}

}  // namespace

void registerGradMovementKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes())
    for (DType i : {DType::kI32, DType::kI64}) addKernel(reg, "gather_grad", {i, t, t}, gatherGrad, checkGatherGrad);
  addKernel(reg, "slice_grad", {DType::kInvalid, DType::kInvalid}, sliceGrad, checkSliceGrad);
}

}  // namespace mpc::rt::cpu
