// softmax and log_softmax over one axis (opset-13 semantics). Each
// (outer, inner) vector is processed by one thread in a fixed order. exp is
// the elementwise kernels' FP32 function (elementwise_math.h), vectorised for
// contiguous FP32 rows.
#include <cmath>
#include <limits>
#include <type_traits>

#include "cpu/cpu_common.h"
#include "cpu/elementwise_math.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

// FP32 softmax of one contiguous row: max, y = exp(x - max) with its sum, then
// y /= sum. The max and the sum run in kLanes interleaved partial results
// (lane j takes the elements i with i % kLanes == j, in order; the lanes are
// then combined in order), so the loops vectorise and the result does not
// depend on the vector width. This file builds with -fno-trapping-math
// (CMakeLists.txt) so that the max select becomes a vector max.
constexpr int kLanes = 8;

void softmaxRowF32(const float *x, float *y, int64_t len) {
  float lane[kLanes];
  for (int j = 0; j < kLanes; ++j) lane[j] = -std::numeric_limits<float>::infinity();
  const int64_t full = len - len % kLanes;
  for (int64_t i = 0; i < full; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
  for (int64_t i = full; i < len; ++i) lane[i - full] = x[i] > lane[i - full] ? x[i] : lane[i - full];
  float m = lane[0];
  for (int j = 1; j < kLanes; ++j) m = lane[j] > m ? lane[j] : m;
  // A NaN in the row is not taken by the max, but its exp makes the sum and
  // so every output NaN, as a NaN max would. A row of -inf gives NaN (0/0),
  // as in the ONNX reference.
  for (int64_t i = 0; i < len; ++i) y[i] = x[i] - m;
  math::expArray(y, y, len);
  for (int j = 0; j < kLanes; ++j) lane[j] = 0;
  for (int64_t i = 0; i < full; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += y[i + j];
  for (int64_t i = full; i < len; ++i) lane[i - full] += y[i];
  float sum = lane[0];
  for (int j = 1; j < kLanes; ++j) sum += lane[j];
  for (int64_t i = 0; i < len; ++i) y[i] /= sum;
}

Status checkSoftmax(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  const TensorView &x = call.inputs[0];
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  if (axis < 0 || axis >= x.rank)
    return kernelError(call, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(x.rank));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "output"));
  return checkShape(call, call.outputs[0], x, "output");
}

template <bool kLog> Status softmaxKernel(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkSoftmax(call));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  const TensorView &x = call.inputs[0];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dims[d];
  for (int d = static_cast<int>(axis) + 1; d < x.rank; ++d) inner *= x.dims[d];
  const int64_t len = x.dims[axis];
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *xp = x.as<const T>();
    T *yp = call.outputs[0].as<T>();
    parallelFor(call.pool, outer * inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(len, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t v = b; v < e; ++v) {
                    const int64_t base = (v / inner) * len * inner + v % inner;
                    if constexpr (!kLog && std::is_same_v<T, float>) {
                      if (inner == 1) {
                        softmaxRowF32(xp + base, yp + base, len);
                        continue;
                      }
                    }
                    A m = -std::numeric_limits<A>::infinity();
                    for (int64_t i = 0; i < len; ++i) {
                      const A xv = Elem<T>::load(xp[base + i * inner]);
                      if (xv > m || xv != xv) m = xv;
                    }
                    // A row of -inf: softmax is NaN (0/0), as in the ONNX reference.
                    A sum = 0;
                    if constexpr (!kLog && std::is_same_v<T, A>) {
                      // Full-precision output: keep exp(x - m) in y, then
                      // normalise, so exp runs once per element. (Low-
                      // precision outputs cannot hold the intermediate.)
                      for (int64_t i = 0; i < len; ++i) {
                        const A e = math::exp(xp[base + i * inner] - m);
                        yp[base + i * inner] = e;
                        sum += e;
                      }
                      for (int64_t i = 0; i < len; ++i) yp[base + i * inner] /= sum;
                      continue;
                    }
                    for (int64_t i = 0; i < len; ++i) sum += math::exp(Elem<T>::load(xp[base + i * inner]) - m);
                    const A logSum = std::log(sum);
                    for (int64_t i = 0; i < len; ++i) {
                      const A d = Elem<T>::load(xp[base + i * inner]) - m;
                      yp[base + i * inner] = Elem<T>::store(kLog ? d - logSum : math::exp(d) / sum);
                    }
                  }
                });
  });
  return Status::ok();
}

} // namespace

void registerSoftmaxKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "softmax", {t, t}, softmaxKernel<false>, checkSoftmax);
    addKernel(reg, "log_softmax", {t, t}, softmaxKernel<true>, checkSoftmax);
  }
}

} // namespace mpc::rt::cpu
