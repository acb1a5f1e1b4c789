// dropout (training mode): (x, offset?) -> (y, mask).
//
// Random stream (core/philox.h, shared with the CUDA backend, which draws the
// same bits):
//   Philox4x32-10 (Salmon et al., Random123), key = {seed & 0xffffffff, seed >> 32};
//   element i draws stream index j = offset * numel + i (mod 2^64), where the
//   optional operand `offset` is an i64 scalar (0 when absent; a training
//   step passes its step counter, state `dropout.offset`, so every step draws
//   a fresh mask); counter for index j = {lo32(j / 4), hi32(j / 4), 0, 0};
//   element i takes word (j % 4) of that block's output r, and
//   u = (r >> 8) * 2^-24 in [0, 1).
//   keep = u >= ratio; mask = keep; y = keep ? x * (1 / (1 - ratio)) : 0, with
//   the multiply in FP32 (double for f64) and one rounding to y's type.
//   ratio == 1 drops everything (y = 0).
#include "cpu/dropout.h"

#include "core/philox.h"
#include "cpu/cpu_common.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {

void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  philox::block4x32_10(counter, key, out);
}

float dropoutUniform(uint64_t seed, int64_t index) { return philox::uniformAt(seed, static_cast<uint64_t>(index)); }

namespace {

Status checkDropout(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 2, 2));
  const TensorView &x = call.inputs[0];
  if (call.numInputs == 2) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[1], DType::kI64, "offset"));
    if (call.inputs[1].numel() != 1)
      return kernelError(call, "offset must be a scalar, got shape " + shapeString(call.inputs[1]));
  }
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "y"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], x, "y"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[1], DType::kBool, "mask"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[1], x, "mask"));
  double ratio;
  int64_t seed;
  MPC_RETURN_IF_ERROR(getFloat(call, "ratio", 0.5, &ratio));
  MPC_RETURN_IF_ERROR(getInt(call, "seed", 0, &seed));
  if (!(ratio >= 0.0 && ratio <= 1.0)) return kernelError(call, "attribute 'ratio' must be in [0, 1]");
  return Status::ok();
}

Status dropout(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkDropout(call));
  double ratioD;
  int64_t seed;
  MPC_RETURN_IF_ERROR(getFloat(call, "ratio", 0.5, &ratioD));
  MPC_RETURN_IF_ERROR(getInt(call, "seed", 0, &seed));
  const float ratio = static_cast<float>(ratioD);
  const uint64_t offset = call.numInputs == 2 ? static_cast<uint64_t>(call.inputs[1].as<const int64_t>()[0]) : 0;
  const uint64_t base = offset * static_cast<uint64_t>(call.inputs[0].numel());  // wraps mod 2^64
  uint8_t *mask = call.outputs[1].as<uint8_t>();
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const A scale = ratio < 1.0f ? A(1) / (A(1) - static_cast<A>(ratio)) : A(0);
    const T *x = call.inputs[0].as<const T>();
    T *y = call.outputs[0].as<T>();
    parallelFor(call.pool, call.inputs[0].numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      uint32_t r[4];
      for (int64_t i = b; i < e; ++i) {
        const uint64_t j = base + static_cast<uint64_t>(i);  // stream index
        // One Philox block serves 4 consecutive stream indices.
        if (i == b || j % 4 == 0) philox::streamBlock(static_cast<uint64_t>(seed), j / 4, r);
        const float u = philox::wordToUniform(r[j % 4]);
        const bool keep = ratio < 1.0f && u >= ratio;
        mask[i] = keep;
        y[i] = Elem<T>::store(keep ? Elem<T>::load(x[i]) * scale : A(0));
      }
    });
  });
  return Status::ok();
}

} // namespace

void registerDropoutKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "dropout", {t, t, DType::kBool}, dropout, checkDropout);
    addKernel(reg, "dropout", {t, DType::kI64, t, DType::kBool}, dropout, checkDropout);
  }
}

} // namespace mpc::rt::cpu
