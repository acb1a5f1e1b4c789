// conv_grad_input and conv_grad_weight: the gradients of `conv` (2-D NCHW,
// groups, strides, explicit pads, dilations) with respect to x and w.
//
//   conv_grad_input  (dy, w) -> dx: per (image, group) col = w_g^T * dy_g
//                                   (GEMM), then col2im scatter-adds col into dx
//   conv_grad_weight (x, dy) -> dw: per group dw_g = sum_n dy_{n,g} * im2col(x_{n,g})^T
//
// The result type is the specification of the result's shape. f32 uses
// sgemm, f64 dgemm; FP16/BF16 widen the operands to FP32 exactly, run the FP32
// path (accumulating in FP32) and round the result once.
#include <algorithm>
#include <vector>

#include "cpu/conv_geometry.h"
#include "cpu/gemm.h"
#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

using ConvGeom = ConvGeometry;

Status getPair(const KernelCall &call, const char *name, int64_t *a, int64_t *b) {
  std::vector<int64_t> v;
  MPC_RETURN_IF_ERROR(getInts(call, name, &v));
  if (v.empty()) return Status::ok();
  if (v.size() != 2) return kernelError(call, "attribute '" + std::string(name) + "' must have 2 values");
  *a = v[0];
  *b = v[1];
  return Status::ok();
}

// Shapes: xShape [N, C, H, W], wShape [M, C/group, kH, kW], dyShape must be
// the forward conv's output [N, M, oH, oW].
Status convGeom(const KernelCall &call, const TensorView &x, const TensorView &w, const TensorView &dy, ConvGeom *p) {
  if (x.rank != 4 || w.rank != 4 || dy.rank != 4)
    return kernelError(call, "x (or dx), w (or dw) and dy must be 4-D, got " + shapeString(x) + ", " +
                                 shapeString(w) + ", " + shapeString(dy));
  p->n = x.dims[0], p->c = x.dims[1], p->h = x.dims[2], p->w = x.dims[3];
  p->m = w.dims[0], p->kh = w.dims[2], p->kw = w.dims[3];
  MPC_RETURN_IF_ERROR(getPair(call, "strides", &p->sh, &p->sw));
  MPC_RETURN_IF_ERROR(getPair(call, "dilations", &p->dh, &p->dw));
  MPC_RETURN_IF_ERROR(getInt(call, "group", 1, &p->group));
  std::vector<int64_t> pads;
  MPC_RETURN_IF_ERROR(getInts(call, "pads", &pads));
  if (pads.empty()) pads.assign(4, 0);
  if (pads.size() != 4) return kernelError(call, "attribute 'pads' must have 4 values [top, left, bottom, right]");
  p->padTop = pads[0], p->padLeft = pads[1], p->padBottom = pads[2], p->padRight = pads[3];
  if (p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1) return kernelError(call, "strides and dilations must be >= 1");
  if (std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v < 0; })) return kernelError(call, "pads must be >= 0");
  if (p->group < 1 || p->c % p->group != 0 || p->m % p->group != 0)
    return kernelError(call, "group " + std::to_string(p->group) + " must divide the input channels " +
                                 std::to_string(p->c) + " and the filters " + std::to_string(p->m));
  if (w.dims[1] != p->c / p->group)
    return kernelError(call, "filter shape " + shapeString(w) + " does not match " + std::to_string(p->c) +
                                 " input channels in " + std::to_string(p->group) + " groups");
  const int64_t effH = p->dh * (p->kh - 1) + 1, effW = p->dw * (p->kw - 1) + 1;
  const int64_t padH = p->h + p->padTop + p->padBottom, padW = p->w + p->padLeft + p->padRight;
  if (p->kh < 1 || p->kw < 1 || effH > padH || effW > padW) return kernelError(call, "kernel is larger than the padded input");
  p->oh = (padH - effH) / p->sh + 1;
  p->ow = (padW - effW) / p->sw + 1;
  if (dy.dims[0] != p->n || dy.dims[1] != p->m || dy.dims[2] != p->oh || dy.dims[3] != p->ow)
    return kernelError(call, "dy has shape " + shapeString(dy) + ", expected the forward output [" +
                                 std::to_string(p->n) + "x" + std::to_string(p->m) + "x" + std::to_string(p->oh) +
                                 "x" + std::to_string(p->ow) + "]");
  return Status::ok();
}

Status checkSameDTypes(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, call.inputs[0], "input 0"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[1], call.inputs[0].dtype, "input 1"));
  return checkDType(call, call.outputs[0], call.inputs[0].dtype, "result");
}

Status checkGradInput(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  MPC_RETURN_IF_ERROR(checkSameDTypes(call));
  ConvGeom p;
  return convGeom(call, call.outputs[0], call.inputs[1], call.inputs[0], &p);
}

Status checkGradWeight(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  MPC_RETURN_IF_ERROR(checkSameDTypes(call));
  ConvGeom p;
  return convGeom(call, call.inputs[0], call.outputs[0], call.inputs[1], &p);
}

template <typename A> A *scratch(int slot, size_t n) {
  thread_local std::vector<A> buffers[4];
  if (buffers[slot].size() < n) buffers[slot].resize(n);
  return buffers[slot].data();
}


// The adjoint of im2col: dx[ci][iy][ix] += col[...]. One thread per input
// channel (each writes only its own plane, in a fixed order).
template <typename A> void col2im(const ConvGeom &p, ThreadPool *pool, const A *col, int64_t cg, A *dx) {
  const int64_t cols = p.oh * p.ow;
  parallelFor(pool, cg, 1, [&](int64_t b, int64_t e) {
    for (int64_t ci = b; ci < e; ++ci) {
      A *plane = dx + ci * p.h * p.w;
      for (int64_t i = 0; i < p.kh; ++i)
        for (int64_t j = 0; j < p.kw; ++j) {
          const A *src = col + ((ci * p.kh + i) * p.kw + j) * cols;
          for (int64_t oy = 0; oy < p.oh; ++oy) {
            const int64_t iy = oy * p.sh - p.padTop + i * p.dh;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t ox = 0; ox < p.ow; ++ox) {
              const int64_t ix = ox * p.sw - p.padLeft + j * p.dw;
              if (ix >= 0 && ix < p.w) plane[iy * p.w + ix] += src[oy * p.ow + ox];
            }
          }
        }
    }
  });
}

template <typename A> void gradInputCompute(const ConvGeom &p, ThreadPool *pool, const A *dy, const A *w, A *dx) {
  const int64_t cg = p.c / p.group, mg = p.m / p.group;
  const int64_t kdim = cg * p.kh * p.kw, cols = p.oh * p.ow;
  std::fill(dx, dx + p.n * p.c * p.h * p.w, A(0));
  if (cols == 0 || kdim == 0) return;
  A *col = scratch<A>(0, static_cast<size_t>(kdim * cols));
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t g = 0; g < p.group; ++g) {
      const A *dyg = dy + (n * p.m + g * mg) * cols;
      const A *wg = w + g * mg * kdim;  // [mg, kdim]
      if (mg == 0) std::fill(col, col + kdim * cols, A(0));
      else gemmRowMajor(true, false, kdim, cols, mg, A(1), wg, kdim, dyg, cols, A(0), col, cols);
      col2im(p, pool, col, cg, dx + (n * p.c + g * cg) * p.h * p.w);
    }
}

template <typename A> void gradWeightCompute(const ConvGeom &p, ThreadPool *pool, const A *x, const A *dy, A *dw) {
  const int64_t cg = p.c / p.group, mg = p.m / p.group;
  const int64_t kdim = cg * p.kh * p.kw, cols = p.oh * p.ow;
  std::fill(dw, dw + p.m * kdim, A(0));
  if (cols == 0 || kdim == 0 || mg == 0) return;
  A *col = scratch<A>(0, static_cast<size_t>(kdim * cols));
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t g = 0; g < p.group; ++g) {
      im2col(p, pool, x + (n * p.c + g * cg) * p.h * p.w, cg, col);
      const A *dyg = dy + (n * p.m + g * mg) * cols;
      gemmRowMajor(false, true, mg, kdim, cols, A(1), dyg, cols, col, cols, A(1), dw + g * mg * kdim, kdim);
    }
}

// Widens a tensor to FP32 in scratch `slot`.
template <typename T> const float *widen(ThreadPool *pool, const TensorView &t, int slot) {
  float *dst = scratch<float>(slot, static_cast<size_t>(t.numel()));
  const T *src = t.as<const T>();
  parallelFor(pool, t.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = Elem<T>::load(src[i]);
  });
  return dst;
}

template <typename T> void narrow(ThreadPool *pool, const float *src, const TensorView &t) {
  T *dst = t.as<T>();
  parallelFor(pool, t.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = Elem<T>::store(src[i]);
  });
}

Status convGradInput(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkGradInput(call));
  ConvGeom p;
  MPC_RETURN_IF_ERROR(convGeom(call, call.outputs[0], call.inputs[1], call.inputs[0], &p));
  const TensorView &dy = call.inputs[0], &w = call.inputs[1], &dx = call.outputs[0];
  visitFloat(dy.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      gradInputCompute<T>(p, call.pool, dy.as<const T>(), w.as<const T>(), dx.as<T>());
    } else {
      const float *dy32 = widen<T>(call.pool, dy, 1);
      const float *w32 = widen<T>(call.pool, w, 2);
      float *dx32 = scratch<float>(3, static_cast<size_t>(dx.numel()));
      gradInputCompute<float>(p, call.pool, dy32, w32, dx32);
      narrow<T>(call.pool, dx32, dx);
    }
  });
  return Status::ok();
}

Status convGradWeight(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkGradWeight(call));
  ConvGeom p;
  MPC_RETURN_IF_ERROR(convGeom(call, call.inputs[0], call.outputs[0], call.inputs[1], &p));
  const TensorView &x = call.inputs[0], &dy = call.inputs[1], &dw = call.outputs[0];
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      gradWeightCompute<T>(p, call.pool, x.as<const T>(), dy.as<const T>(), dw.as<T>());
    } else {
      const float *x32 = widen<T>(call.pool, x, 1);
      const float *dy32 = widen<T>(call.pool, dy, 2);
      float *dw32 = scratch<float>(3, static_cast<size_t>(dw.numel()));
      gradWeightCompute<float>(p, call.pool, x32, dy32, dw32);
      narrow<T>(call.pool, dw32, dw);
    }
  });
  return Status::ok();
}

}  // namespace

void registerGradConvKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "conv_grad_input", {t, t, t}, convGradInput, checkGradInput);
    addKernel(reg, "conv_grad_weight", {t, t, t}, convGradWeight, checkGradWeight);
  }
}

}  // namespace mpc::rt::cpu
