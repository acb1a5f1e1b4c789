// conv: 2-D NCHW convolution with groups, strides, explicit pads and
// dilations, as im2col + GEMM per (image, group).
//
// FP32 uses sgemm directly, f64 dgemm; FP16/BF16 widen x and w to FP32
// exactly, run the FP32 path and round the result once.
#include <cblas.h>

#include <algorithm>

#include "cpu/conv_geometry.h"
#include "cpu/cpu_common.h"
#include "cpu/gemm.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

using ConvParams = ConvGeometry;

Status getPair(const KernelCall &call, const char *name, int64_t *a, int64_t *b) {
  std::vector<int64_t> v;
  MPC_RETURN_IF_ERROR(getInts(call, name, &v));
  if (v.empty()) return Status::ok(); // keep defaults
  if (v.size() != 2) return kernelError(call, "attribute '" + std::string(name) + "' must have 2 values");
  *a = v[0];
  *b = v[1];
  return Status::ok();
}

Status convParams(const KernelCall &call, ConvParams *p) {
  const TensorView &x = call.inputs[0], &w = call.inputs[1], &y = call.outputs[0];
  if (x.rank != 4 || w.rank != 4) return kernelError(call, "x and w must be 4-D (NCHW, MCkHkW)");
  p->n = x.dims[0], p->c = x.dims[1], p->h = x.dims[2], p->w = x.dims[3];
  p->m = w.dims[0], p->kh = w.dims[2], p->kw = w.dims[3];
  p->sh = p->sw = p->dh = p->dw = 1;
  MPC_RETURN_IF_ERROR(getPair(call, "strides", &p->sh, &p->sw));
  MPC_RETURN_IF_ERROR(getPair(call, "dilations", &p->dh, &p->dw));
  MPC_RETURN_IF_ERROR(getInt(call, "group", 1, &p->group));
  std::vector<int64_t> pads;
  MPC_RETURN_IF_ERROR(getInts(call, "pads", &pads));
  if (pads.empty()) pads.assign(4, 0);
  if (pads.size() != 4) return kernelError(call, "attribute 'pads' must have 4 values [top, left, bottom, right]");
  p->padTop = pads[0], p->padLeft = pads[1], p->padBottom = pads[2], p->padRight = pads[3];
  if (p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1) return kernelError(call, "strides and dilations must be >= 1");
  if (std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v < 0; }))
    return kernelError(call, "pads must be >= 0");
  if (p->group < 1 || p->c % p->group != 0 || p->m % p->group != 0)
    return kernelError(call, "group " + std::to_string(p->group) + " must divide the input channels " +
                                 std::to_string(p->c) + " and the filters " + std::to_string(p->m));
  if (w.dims[1] != p->c / p->group)
    return kernelError(call, "w has shape " + shapeString(w) + " but x has " + std::to_string(p->c) + " channels in " +
                                 std::to_string(p->group) + " groups");
  const int64_t effH = p->dh * (p->kh - 1) + 1, effW = p->dw * (p->kw - 1) + 1;
  const int64_t padH = p->h + p->padTop + p->padBottom, padW = p->w + p->padLeft + p->padRight;
  if (effH > padH || effW > padW) return kernelError(call, "kernel is larger than the padded input");
  p->oh = (padH - effH) / p->sh + 1;
  p->ow = (padW - effW) / p->sw + 1;
  TensorView want;
  want.rank = 4;
  want.dims[0] = p->n, want.dims[1] = p->m, want.dims[2] = p->oh, want.dims[3] = p->ow;
  MPC_RETURN_IF_ERROR(checkShape(call, y, want, "output"));
  if (call.numInputs == 3 && (call.inputs[2].rank != 1 || call.inputs[2].dims[0] != p->m))
    return kernelError(call,
                       "bias has shape " + shapeString(call.inputs[2]) + ", expected [" + std::to_string(p->m) + "]");
  return Status::ok();
}

Status checkConv(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 3, 1));
  for (int i = 1; i < call.numInputs; ++i)
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[i], call.inputs[0].dtype, "input"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], call.inputs[0].dtype, "output"));
  ConvParams p;
  return convParams(call, &p);
}

template <typename A> struct Scratch {
  static A *get(int slot, size_t n) {
    thread_local std::vector<A> buffers[4];
    if (buffers[slot].size() < n) buffers[slot].resize(n);
    return buffers[slot].data();
  }
};



// y = conv(x, w) + bias on compute-type buffers.
template <typename A>
void convCompute(const ConvParams &p, ThreadPool *pool, const A *x, const A *w, const A *bias, A *y) {
  const int64_t cg = p.c / p.group, mg = p.m / p.group;
  const int64_t kdim = cg * p.kh * p.kw, cols = p.oh * p.ow;
  const bool direct = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.padTop == 0 && p.padLeft == 0 &&
                      p.padBottom == 0 && p.padRight == 0;
  A *col = direct ? nullptr : Scratch<A>::get(0, static_cast<size_t>(kdim * cols));
  for (int64_t n = 0; n < p.n; ++n) {
    for (int64_t g = 0; g < p.group; ++g) {
      const A *xg = x + (n * p.c + g * cg) * p.h * p.w;
      if (!direct) im2col(p, pool, xg, cg, col);
      A *yg = y + (n * p.m + g * mg) * cols;
      parallelGemm(pool, false, false, mg, cols, kdim, A(1), w + g * mg * kdim, kdim, direct ? xg : col, cols, A(0),
                   yg, cols);
    }
  }
  if (bias) {
    parallelFor(pool, p.n * p.m, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(cols, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t r = b; r < e; ++r) {
                    const A bv = bias[r % p.m];
                    for (int64_t i = 0; i < cols; ++i) y[r * cols + i] += bv;
                  }
                });
  }
}

Status convKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkConv(call));
  ConvParams p;
  MPC_RETURN_IF_ERROR(convParams(call, &p));
  const TensorView &x = call.inputs[0], &w = call.inputs[1], &y = call.outputs[0];
  const bool hasBias = call.numInputs == 3;
  if (y.numel() == 0) return Status::ok();
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      convCompute<T>(p, call.pool, x.as<const T>(), w.as<const T>(), hasBias ? call.inputs[2].as<const T>() : nullptr,
                     y.as<T>());
    } else {
      auto widen = [&](const TensorView &t, int slot) {
        float *dst = Scratch<float>::get(slot, t.numel());
        const T *src = t.as<const T>();
        parallelFor(call.pool, t.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) dst[i] = Elem<T>::load(src[i]);
        });
        return dst;
      };
      const float *x32 = widen(x, 1);
      const float *w32 = widen(w, 2);
      float *y32 = Scratch<float>::get(3, y.numel() + p.m);
      float *b32 = y32 + y.numel(); // the bias lives after the output
      if (hasBias)
        for (int64_t i = 0; i < p.m; ++i) b32[i] = Elem<T>::load(call.inputs[2].as<const T>()[i]);
      convCompute<float>(p, call.pool, x32, w32, hasBias ? b32 : nullptr, y32);
      T *out = y.as<T>();
      parallelFor(call.pool, y.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = Elem<T>::store(y32[i]);
      });
    }
  });
  return Status::ok();
}

} // namespace

void registerConvKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "conv", {t, t, t}, convKernel, checkConv);
    addKernel(reg, "conv", {t, t, t, t}, convKernel, checkConv);
  }
}

} // namespace mpc::rt::cpu
