// FP8 scaling-factor arithmetic (DESIGN.md section 5, "FP8 delayed scaling"):
// the one definition the CPU kernels (cpu/fp8.cpp) use and a CUDA kernel can
// share (MPC_HD). Plain FP32 arithmetic, no library calls.
#pragma once

#include <cstdint>

#include "core/float_formats.h"

namespace mpc::rt {

// Largest number of FP8 operands one fp8_scale_update kernel takes (the
// registry holds one entry per count; mpc-fp8-scale-update splits beyond it).
inline constexpr int kMaxFp8UpdateOperands = 256;

inline constexpr float kFp8FltMax = 3.40282346638528859812e+38f;

// fp8_max of a plan dtype code: 5 f8E4M3FN -> 448, 6 f8E5M2 -> 57344.
MPC_HD inline float fp8MaxOfCode(int64_t code) { return code == 6 ? kE5M2Max : kE4M3FNMax; }

// 2^k for 0 <= k <= 127, exact.
MPC_HD inline float fp8Pow2(int64_t k) { return bitsToFloat(static_cast<uint32_t>(127 + k) << 23); }

// A new scale from `amax`: (fp8_max / amax) / 2^margin when amax is finite
// and > 0 (returns true), else false (the caller keeps its scale). An
// infinite result becomes FLT_MAX.
MPC_HD inline bool fp8ScaleFromAmax(float amax, float fp8Max, int64_t margin, float *scale) {
  if (!(amax > 0.0f) || !(amax <= kFp8FltMax)) return false; // 0, negative, NaN or inf
  float s = (fp8Max / amax) / fp8Pow2(margin);
  if (!(s <= kFp8FltMax)) s = kFp8FltMax; // +inf
  *scale = s;
  return true;
}

// The delayed-scaling update of one operand, in place. `amax` is this step's
// record (it goes to slot 0 first); see mpc.fp8_scale_update in docs/ops.md.
MPC_HD inline void fp8DelayedUpdate(float amax, float *history, int64_t length, float *scale, float *scaleInv,
                                    float fp8Max, bool mostRecent, int64_t margin) {
  history[0] = amax;
  float a = history[0];
  if (!mostRecent) {
    for (int64_t i = 0; i < length; ++i) {
      const float h = history[i];
      if (h != h) {
        a = h;
        break;
      }
      if (h > a) a = h;
    }
  }
  if (history[0] != 0.0f) {
    const float first = history[0];
    for (int64_t i = 0; i + 1 < length; ++i) history[i] = history[i + 1];
    history[length - 1] = first;
    history[0] = 0.0f;
  }
  float s;
  if (fp8ScaleFromAmax(a, fp8Max, margin, &s)) {
    *scale = s;
    *scaleInv = 1.0f / s;
  }
}

// ---- MXFP8 (OCP Microscaling): 32-element blocks, E8M0 scales ----

inline constexpr int kMxBlock = 32;

// floor(log2(a)) of a finite a > 0 (FP32 subnormals included).
MPC_HD inline int floorLog2(float a) {
  const uint32_t bits = floatBits(a) & 0x7FFFFFFFu;
  const int e = static_cast<int>(bits >> 23);
  if (e != 0) return e - 127;
  int m = 31 - __builtin_clz(bits); // subnormal: the top set mantissa bit
  return m - 149;
}

// The E8M0 scale exponent X of a block with max |x| = amax, for elements
// whose largest normal exponent is emax (8 for E4M3, 15 for E5M2):
// X = floor(log2(amax)) - emax, clamped to [-127, 127]; -127 for amax = 0.
// Returns false for a non-finite amax (the block's scale is NaN).
MPC_HD inline bool mxScaleExponent(float amax, int emax, int *x) {
  if (!(amax <= kFp8FltMax)) return false; // inf or NaN
  int e = amax > 0.0f ? floorLog2(amax) - emax : -127;
  *x = e < -127 ? -127 : (e > 127 ? 127 : e);
  return true;
}

// 2^e for -149 <= e <= 127, exact.
MPC_HD inline float mxPow2(int e) {
  if (e >= -126) return bitsToFloat(static_cast<uint32_t>(e + 127) << 23);
  return bitsToFloat(1u << (e + 149));
}

} // namespace mpc::rt
