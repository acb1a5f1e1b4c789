// Elementwise and per-axis gradient kernels: gelu_grad, softmax_grad,
// log_softmax_grad, dropout_grad, and the data-movement op `copy`.
//
// FP16/BF16 compute in FP32 and round once; f64 computes in double. The
// elementwise kernels read element i of every input before writing element i,
// so the output may alias an input.
#include <cmath>
#include <cstring>

#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

// (a, b) -> c, all of one float dtype and one shape.
Status checkSameFloat(const KernelCall &call, int numInputs, const char *const *names) {
  MPC_RETURN_IF_ERROR(checkArity(call, numInputs, numInputs, 1));
  const TensorView &first = call.inputs[0];
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, first, names[0]));
  for (int i = 1; i < numInputs; ++i) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[i], first.dtype, names[i]));
    MPC_RETURN_IF_ERROR(checkShape(call, call.inputs[i], first, names[i]));
  }
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], first.dtype, "dx"));
  return checkShape(call, call.outputs[0], first, "dx");
}

// ---- gelu_grad (x, dy) -> dx ----

Status checkGeluGrad(const KernelCall &call) {
  static const char *const names[] = {"x", "dy"};
  MPC_RETURN_IF_ERROR(checkSameFloat(call, 2, names));
  std::string approx;
  MPC_RETURN_IF_ERROR(getString(call, "approximate", "none", &approx));
  if (approx != "none" && approx != "tanh")
    return kernelError(call, "attribute 'approximate' must be \"none\" or \"tanh\", got \"" + approx + "\"");
  return Status::ok();
}

Status geluGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkGeluGrad(call));
  std::string approx;
  MPC_RETURN_IF_ERROR(getString(call, "approximate", "none", &approx));
  const bool useTanh = approx == "tanh";
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *x = call.inputs[0].as<const T>();
    const T *dy = call.inputs[1].as<const T>();
    T *dx = call.outputs[0].as<T>();
    parallelFor(call.pool, call.inputs[0].numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const A v = Elem<T>::load(x[i]), g = Elem<T>::load(dy[i]);
        A d;
        if (useTanh) {
          const A k = A(0.7978845608028654), c = A(0.044715);
          const A t = std::tanh(k * (v + c * v * v * v));
          d = A(0.5) * (A(1) + t) + A(0.5) * v * (A(1) - t * t) * k * (A(1) + A(3) * c * v * v);
        } else {
          const A cdf = A(0.5) * (A(1) + std::erf(v * A(0.7071067811865476)));
          const A pdf = std::exp(A(-0.5) * v * v) * A(0.3989422804014327); // 1 / sqrt(2 pi)
          d = cdf + v * pdf;
        }
        dx[i] = Elem<T>::store(g * d);
      }
    });
  });
  return Status::ok();
}

// ---- softmax_grad / log_softmax_grad (y, dy) -> dx over one axis ----

Status checkSoftmaxGrad(const KernelCall &call) {
  static const char *const names[] = {"y", "dy"};
  MPC_RETURN_IF_ERROR(checkSameFloat(call, 2, names));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  const int rank = call.inputs[0].rank;
  if (axis < 0 || axis >= rank)
    return kernelError(call, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return Status::ok();
}

template <bool kLog> Status softmaxGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkSoftmaxGrad(call));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  const TensorView &y = call.inputs[0];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= y.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < y.rank; ++d) inner *= y.dims[d];
  const int64_t len = y.dims[axis];
  visitFloat(y.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *yp = y.as<const T>();
    const T *dyp = call.inputs[1].as<const T>();
    T *dxp = call.outputs[0].as<T>();
    parallelFor(call.pool, outer * inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(len, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t v = b; v < e; ++v) {
                    const int64_t base = (v / inner) * len * inner + v % inner;
                    A sum = 0;
                    for (int64_t i = 0; i < len; ++i) {
                      const int64_t j = base + i * inner;
                      sum += kLog ? Elem<T>::load(dyp[j]) : Elem<T>::load(dyp[j]) * Elem<T>::load(yp[j]);
                    }
                    // The sum is complete before any dx is written: dx may alias dy or y.
                    for (int64_t i = 0; i < len; ++i) {
                      const int64_t j = base + i * inner;
                      const A yv = Elem<T>::load(yp[j]), g = Elem<T>::load(dyp[j]);
                      dxp[j] = Elem<T>::store(kLog ? g - std::exp(yv) * sum : yv * (g - sum));
                    }
                  }
                });
  });
  return Status::ok();
}

// ---- dropout_grad (dy, mask: i1) -> dx ----

Status checkDropoutGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  const TensorView &dy = call.inputs[0];
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, dy, "dy"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[1], DType::kBool, "mask"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.inputs[1], dy, "mask"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], dy.dtype, "dx"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], dy, "dx"));
  double ratio;
  MPC_RETURN_IF_ERROR(getFloat(call, "ratio", 0.5, &ratio));
  if (!(ratio >= 0.0 && ratio <= 1.0)) return kernelError(call, "attribute 'ratio' must be in [0, 1]");
  return Status::ok();
}

Status dropoutGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkDropoutGrad(call));
  double ratioD;
  MPC_RETURN_IF_ERROR(getFloat(call, "ratio", 0.5, &ratioD));
  const float ratio = static_cast<float>(ratioD);
  const uint8_t *mask = call.inputs[1].as<const uint8_t>();
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    // The very factor the forward kernel multiplies by (dropout.cpp), so the
    // gradient is the exact derivative of the forward computation.
    const A scale = ratio < 1.0f ? A(1) / (A(1) - static_cast<A>(ratio)) : A(0);
    const T *dy = call.inputs[0].as<const T>();
    T *dx = call.outputs[0].as<T>();
    parallelFor(call.pool, call.inputs[0].numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dx[i] = Elem<T>::store(mask[i] ? Elem<T>::load(dy[i]) * scale : A(0));
    });
  });
  return Status::ok();
}

// ---- copy (x) -> y: bytes, any dtype ----

Status checkCopy(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], call.inputs[0].dtype, "output"));
  return checkShape(call, call.outputs[0], call.inputs[0], "output");
}

Status copy(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkCopy(call));
  if (call.outputs[0].data != call.inputs[0].data && call.inputs[0].nbytes())
    std::memmove(call.outputs[0].data, call.inputs[0].data, call.inputs[0].nbytes());
  return Status::ok();
}

} // namespace

void registerGradElementwiseKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "gelu_grad", {t, t, t}, geluGrad, checkGeluGrad);
    addKernel(reg, "softmax_grad", {t, t, t}, softmaxGrad<false>, checkSoftmaxGrad);
    addKernel(reg, "log_softmax_grad", {t, t, t}, softmaxGrad<true>, checkSoftmaxGrad);
    addKernel(reg, "dropout_grad", {t, DType::kBool, t}, dropoutGrad, checkDropoutGrad);
  }
  addKernel(reg, "copy", {DType::kInvalid, DType::kInvalid}, copy, checkCopy);
}

} // namespace mpc::rt::cpu
