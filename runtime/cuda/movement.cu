// Data movement on CUDA: reshape, copy, transpose, slice, expand, concat,
// split, slice_grad. No arithmetic: each op is one strided copy of 1-, 2-, 4-
// or 8-byte elements,
//   dst[dstBase + sum_d idx_d * dstStrides[d]] = src[srcBase + sum_d idx_d * srcStrides[d]]
// over an index space `dims`, so one kernel per element size serves every op
// and dtype.
//
// gather and gather_grad (the CPU's semantics: negative indices count from the
// end) check every index on the device; one out of [-dim, dim) is recorded in
// the context's DeviceError and reported by the run's synchronize as
// "node '...' (gather): index V out of range for axis of size D" (the CPU
// reports it before writing anything; here the run fails after its kernels).
#include "cuda/device.cuh"
#include "cuda/gemm.h"
#include "cuda/register.h"

namespace mpc::rt::cuda {
namespace movement {

struct Copy {
  Indexer<2> ix;  // strides[0]: destination, strides[1]: source (elements)
  int64_t dstBase = 0, srcBase = 0;
  int64_t numel = 0;
};

template <typename U> Status stridedCopyTyped(const KernelCall &call, const Copy &c, void *dst, const void *src) {
  U *d = static_cast<U *>(dst) + c.dstBase;
  const U *s = static_cast<const U *>(src) + c.srcBase;
  return launchForEach(call, c.numel, c.ix, [=] __device__(int64_t, const int64_t *off) { d[off[0]] = s[off[1]]; });
}

Status stridedCopy(const KernelCall &call, const Copy &c, size_t elemSize, void *dst, const void *src) {
  switch (elemSize) {
  case 1: return stridedCopyTyped<uint8_t>(call, c, dst, src);
  case 2: return stridedCopyTyped<uint16_t>(call, c, dst, src);
  case 4: return stridedCopyTyped<uint32_t>(call, c, dst, src);
  case 8: return stridedCopyTyped<uint64_t>(call, c, dst, src);
  default: return unsupportedDTypes(call);
  }
}

// The index space of `t` with `t`'s dense strides as the destination.
Copy denseDestination(const TensorView &t) {
  Copy c;
  c.ix.rank = t.rank;
  for (int d = 0; d < t.rank; ++d) c.ix.dims[d] = t.dims[d];
  denseStrides(t, c.ix.strides[0]);
  c.numel = t.numel();
  return c;
}

Status bytesCopy(const KernelCall &call, void *dst, const void *src, size_t bytes) {
  if (dst == src || bytes == 0) return Status::ok();
  if (cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, streamOf(call)) != cudaSuccess)
    return launchStatus(call);
  return Status::ok();
}

// reshape and copy: the bytes are unchanged.
Status reshapeKernel(const KernelCall &call) {
  return bytesCopy(call, call.outputs[0].data, call.inputs[0].data, call.inputs[0].nbytes());
}

Status transposeKernel(const KernelCall &call) {
  const TensorView &x = call.inputs[0], &y = call.outputs[0];
  std::vector<int64_t> perm;
  MPC_RETURN_IF_ERROR(cpu::getInts(call, "perm", &perm));
  if (perm.empty())
    for (int d = x.rank - 1; d >= 0; --d) perm.push_back(d);  // ONNX default: reverse
  int64_t xs[kMaxRank];
  denseStrides(x, xs);
  Copy c = denseDestination(y);
  for (int d = 0; d < y.rank; ++d) c.ix.strides[1][d] = xs[perm[d]];
  return stridedCopy(call, c, dtypeSize(x.dtype), y.data, x.data);
}

// The window of `whole` that a slice reads (and slice_grad writes): element
// strides `steps[d] * dense[d]` from the offset of `starts`. The attributes
// are the forward slice's, already clamped (checked at load).
void sliceWindow(const TensorView &whole, const std::vector<int64_t> &starts, const std::vector<int64_t> &steps,
                 int64_t *strides, int64_t *base) {
  int64_t ws[kMaxRank];
  denseStrides(whole, ws);
  *base = 0;
  for (int d = 0; d < whole.rank; ++d) {
    *base += starts[d] * ws[d];
    strides[d] = (steps.empty() ? 1 : steps[d]) * ws[d];
  }
}

Status sliceKernel(const KernelCall &call) {
  std::vector<int64_t> starts, steps;
  MPC_RETURN_IF_ERROR(cpu::getInts(call, "starts", &starts));
  MPC_RETURN_IF_ERROR(cpu::getInts(call, "steps", &steps));
  const TensorView &x = call.inputs[0], &y = call.outputs[0];
  Copy c = denseDestination(y);
  sliceWindow(x, starts, steps, c.ix.strides[1], &c.srcBase);
  return stridedCopy(call, c, dtypeSize(x.dtype), y.data, x.data);
}

// dx = zeros with dy written into the forward's window.
Status sliceGradKernel(const KernelCall &call) {
  std::vector<int64_t> starts, steps;
  MPC_RETURN_IF_ERROR(cpu::getInts(call, "starts", &starts));
  MPC_RETURN_IF_ERROR(cpu::getInts(call, "steps", &steps));
  const TensorView &dy = call.inputs[0], &dx = call.outputs[0];
  if (cudaMemsetAsync(dx.data, 0, dx.nbytes(), streamOf(call)) != cudaSuccess) return launchStatus(call);
  Copy c = denseDestination(dy);
  std::swap(c.ix.strides[0], c.ix.strides[1]);  // dy is the dense source
  sliceWindow(dx, starts, steps, c.ix.strides[0], &c.dstBase);
  return stridedCopy(call, c, dtypeSize(dx.dtype), dx.data, dy.data);
}

Status expandKernel(const KernelCall &call) { return broadcastCopy(call, call.inputs[0], call.outputs[0]); }

// concat copies each input into its band of the output along `axis`; split
// copies each band of the input to an output.
Status concatSplit(const KernelCall &call, bool isConcat) {
  int64_t axis;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "axis", 0, &axis));
  const TensorView &whole = isConcat ? call.outputs[0] : call.inputs[0];
  const TensorView *parts = isConcat ? call.inputs : call.outputs;
  const int numParts = isConcat ? call.numInputs : call.numOutputs;
  int64_t ws[kMaxRank];
  denseStrides(whole, ws);
  int64_t offset = 0;
  for (int i = 0; i < numParts; ++i) {
    Copy c = denseDestination(parts[i]);  // strides[0]: the part, dense
    for (int d = 0; d < whole.rank; ++d) c.ix.strides[1][d] = ws[d];
    const int64_t band = offset * ws[axis];
    if (isConcat) {
      std::swap(c.ix.strides[0], c.ix.strides[1]);
      c.dstBase = band;
      MPC_RETURN_IF_ERROR(stridedCopy(call, c, dtypeSize(whole.dtype), whole.data, parts[i].data));
    } else {
      c.srcBase = band;
      MPC_RETURN_IF_ERROR(stridedCopy(call, c, dtypeSize(whole.dtype), parts[i].data, whole.data));
    }
    offset += parts[i].dims[axis];
  }
  return Status::ok();
}

Status concatKernel(const KernelCall &call) { return concatSplit(call, true); }
Status splitKernel(const KernelCall &call) { return concatSplit(call, false); }

// ---- gather (data, indices) -> out; gather_grad (indices, dy) -> ddata ----

struct GatherGeom {
  int64_t outer = 1, dim = 0, inner = 1, numInd = 0;
};

GatherGeom gatherGeom(const KernelCall &call, const TensorView &data, const TensorView &ind, int64_t *axisOut) {
  int64_t axis = 0;
  cpu::getInt(call, "axis", 0, &axis);  // validated at load (the CPU check)
  GatherGeom g;
  for (int d = 0; d < axis; ++d) g.outer *= data.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < data.rank; ++d) g.inner *= data.dims[d];
  g.dim = data.dims[axis];
  g.numInd = ind.numel();
  *axisOut = axis;
  return g;
}

template <typename I> __device__ __forceinline__ bool loadIndex(const I *ind, int64_t i, int64_t dim, int64_t *v) {
  int64_t x = static_cast<int64_t>(ind[i]);
  if (x < -dim || x >= dim) {
    *v = x;
    return false;
  }
  *v = x < 0 ? x + dim : x;
  return true;
}

template <typename E, typename I>
Status gatherTyped(const KernelCall &call, const GatherGeom g, DeviceError *err, int site) {
  const E *src = call.inputs[0].as<const E>();
  const I *ind = call.inputs[1].as<const I>();
  E *dst = call.outputs[0].as<E>();
  return launchFlat(call, call.outputs[0].numel(), [=] __device__(int64_t r) {
    const int64_t j = r % g.inner, i = (r / g.inner) % g.numInd, o = r / (g.inner * g.numInd);
    int64_t v;
    if (!loadIndex(ind, i, g.dim, &v)) {
      reportIndexError(err, site, v, g.dim);
      return;
    }
    dst[r] = src[(o * g.dim + v) * g.inner + j];
  });
}

Status gatherKernel(const KernelCall &call) {
  int64_t axis;
  const GatherGeom g = gatherGeom(call, call.inputs[0], call.inputs[1], &axis);
  DeviceError *err;
  int site;
  MPC_RETURN_IF_ERROR(errorSiteOf(call, &err, &site));
  const bool i32 = call.inputs[1].dtype == DType::kI32;
  switch (dtypeSize(call.inputs[0].dtype)) {
  case 1: return i32 ? gatherTyped<uint8_t, int32_t>(call, g, err, site) : gatherTyped<uint8_t, int64_t>(call, g, err, site);
  case 2: return i32 ? gatherTyped<uint16_t, int32_t>(call, g, err, site) : gatherTyped<uint16_t, int64_t>(call, g, err, site);
  case 4: return i32 ? gatherTyped<uint32_t, int32_t>(call, g, err, site) : gatherTyped<uint32_t, int64_t>(call, g, err, site);
  case 8: return i32 ? gatherTyped<uint64_t, int32_t>(call, g, err, site) : gatherTyped<uint64_t, int64_t>(call, g, err, site);
  default: return unsupportedDTypes(call);
  }
}

// gather_grad: one thread per column (o, j) of ddata, as the CPU: zero the
// column, then add the dy rows in index order, in FP32. f32 accumulates in
// ddata itself; f16/bf16 in an FP32 column of the workspace owned by the
// thread (laid out [k][thread] for coalescing) and round at the end, so the
// results are the CPU's bits. The columns go in slabs whose FP32 columns fit
// the workspace.
template <typename T, typename I>
__global__ void gatherGradColumns(const I *ind, const T *dy, T *out, float *wide, GatherGeom g, int64_t colBegin,
                                  int64_t colEnd, DeviceError *err, int site) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t col = colBegin + t;
  if (col >= colEnd) return;
  const int64_t slab = colEnd - colBegin;
  const int64_t o = col / g.inner, j = col % g.inner;
  auto at = [&](int64_t k) { return (o * g.dim + k) * g.inner + j; };
  auto accAt = [&](int64_t k) -> float & { return wide[k * slab + t]; };
  for (int64_t k = 0; k < g.dim; ++k) {
    if constexpr (std::is_same_v<T, float>) out[at(k)] = 0.0f;
    else accAt(k) = 0.0f;
  }
  for (int64_t i = 0; i < g.numInd; ++i) {
    int64_t v;
    if (!loadIndex(ind, i, g.dim, &v)) {
      if (col == 0) reportIndexError(err, site, v, g.dim);
      continue;
    }
    const float d = Elem<T>::load(dy[(o * g.numInd + i) * g.inner + j]);
    if constexpr (std::is_same_v<T, float>) out[at(v)] += d;
    else accAt(v) += d;
  }
  if constexpr (!std::is_same_v<T, float>)
    for (int64_t k = 0; k < g.dim; ++k) out[at(k)] = Elem<T>::store(accAt(k));
}

template <typename T, typename I>
Status gatherGradTyped(const KernelCall &call, const GatherGeom g, DeviceError *err, int site) {
  const int64_t cols = g.outer * g.inner;
  if (cols == 0 || g.dim == 0) return Status::ok();
  int64_t slab = cols;
  if constexpr (!std::is_same_v<T, float>) {
    const int64_t fit = static_cast<int64_t>(call.workspaceBytes / (sizeof(float) * static_cast<size_t>(g.dim)));
    if (fit < 1 || !call.workspace)
      return kernelError(call, "the axis of size " + std::to_string(g.dim) + " needs more FP32 workspace than the " +
                                   std::to_string(call.workspaceBytes) + " bytes of the context",
                         StatusCode::kOutOfMemory);
    slab = fit < cols ? fit : cols;
  }
  for (int64_t b = 0; b < cols; b += slab) {
    const int64_t e = b + slab < cols ? b + slab : cols;
    const unsigned blocks = static_cast<unsigned>((e - b + kBlockSize - 1) / kBlockSize);
    gatherGradColumns<T, I><<<blocks, kBlockSize, 0, streamOf(call)>>>(
        call.inputs[0].as<const I>(), call.inputs[1].as<const T>(), call.outputs[0].as<T>(),
        static_cast<float *>(call.workspace), g, b, e, err, site);
    MPC_RETURN_IF_ERROR(launchStatus(call));
  }
  return Status::ok();
}

Status gatherGradKernel(const KernelCall &call) {
  int64_t axis;
  const GatherGeom g = gatherGeom(call, call.outputs[0], call.inputs[0], &axis);
  DeviceError *err;
  int site;
  MPC_RETURN_IF_ERROR(errorSiteOf(call, &err, &site));
  const bool i32 = call.inputs[0].dtype == DType::kI32;
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[1].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    st = i32 ? gatherGradTyped<T, int32_t>(call, g, err, site) : gatherGradTyped<T, int64_t>(call, g, err, site);
  });
  return st;
}

}  // namespace movement

using namespace movement;

Status broadcastCopy(const KernelCall &call, const TensorView &src, const TensorView &dst) {
  if (src.data == dst.data && cpu::sameShape(src, dst)) return Status::ok();
  Copy c = denseDestination(dst);
  MPC_RETURN_IF_ERROR(cpu::broadcastStrides(call, src, dst, c.ix.strides[1]));
  return stridedCopy(call, c, dtypeSize(src.dtype), dst.data, src.data);
}

void registerMovementKernels(KernelRegistry &reg) {
  const DType any = DType::kInvalid;
  addKernel(reg, "reshape", {any, any}, reshapeKernel);
  addKernel(reg, "copy", {any, any}, reshapeKernel);
  addKernel(reg, "transpose", {any, any}, transposeKernel);
  addKernel(reg, "slice", {any, any}, sliceKernel);
  addKernel(reg, "slice_grad", {any, any}, sliceGradKernel);
  addKernel(reg, "expand", {any, any}, expandKernel);
  addKernel(reg, "gather", {any, DType::kI32, any}, gatherKernel);
  addKernel(reg, "gather", {any, DType::kI64, any}, gatherKernel);
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16})
    for (DType i : {DType::kI32, DType::kI64}) addKernel(reg, "gather_grad", {i, t, t}, gatherGradKernel);
  // As the CPU backend: variadic entries for up to 64 parts.
  for (int n = 1; n <= 64; ++n) {
    addKernel(reg, "concat", std::vector<DType>(n + 1, any), concatKernel);
    addKernel(reg, "split", std::vector<DType>(n + 1, any), splitKernel);
  }
}

}  // namespace mpc::rt::cuda
