// Bit-exact conversions between FP32 and the low-precision storage formats
// (FP16, BF16, FP8 E4M3FN, FP8 E5M2) plus TF32 rounding.
//
// Every conversion rounds to nearest, ties to even, handles subnormals, and is
// plain integer bit manipulation so the same code runs on the host (the CPU
// backend, which is the reference) and on the device (MPC_HD). The FP8
// conversions take a `saturate` flag:
//   saturate = true:  overflow and +-inf -> +-max finite, NaN stays NaN
//                     (CUDA's __NV_SATFINITE, the data-path default);
//   saturate = false: overflow -> +-inf for E5M2, NaN for E4M3FN (no inf).
// NaN inputs produce the canonical quiet NaN of the target format, keeping the
// sign for FP16/BF16/E5M2 (E4M3FN: 0x7F / 0xFF).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define MPC_HD __host__ __device__
#else
#define MPC_HD
#endif

namespace mpc::rt {

MPC_HD inline uint32_t floatBits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof(u));
  return u;
}

MPC_HD inline float bitsToFloat(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, sizeof(f));
  return f;
}

namespace detail {

// A binary format with 1 sign bit, E exponent bits and M mantissa bits
// stored in the low 1+E+M bits of an integer.
struct MiniFormat {
  int expBits;
  int mantBits;
  int bias;
  uint32_t maxFinite; // magnitude encoding of the largest finite value
  uint32_t infBits;   // magnitude encoding of inf, 0 when the format has none
  uint32_t nanBits;   // magnitude encoding of the canonical NaN
};

// Functions rather than variables, so device code can use them without
// referring to host objects.
MPC_HD constexpr MiniFormat halfFormat() { return {5, 10, 15, 0x7BFF, 0x7C00, 0x7E00}; }
MPC_HD constexpr MiniFormat e4m3fnFormat() { return {4, 3, 7, 0x7E, 0, 0x7F}; }
MPC_HD constexpr MiniFormat e5m2Format() { return {5, 2, 15, 0x7B, 0x7C, 0x7E}; }

// Round the magnitude bits of a finite, non-zero FP32 value to the format.
// Returns the magnitude encoding; values above maxFinite signal overflow.
MPC_HD inline uint32_t roundMagnitude(uint32_t absBits, const MiniFormat fmt) {
  const int floatExp = static_cast<int>(absBits >> 23) - 127;
  const int minNormalExp = 1 - fmt.bias;
  // FP32 subnormals are far below the smallest FP16/FP8 subnormal.
  if ((absBits >> 23) == 0) return 0;
  if (floatExp >= minNormalExp) {
    // Normal in the target: round the mantissa, let the carry run into the
    // exponent, then rebias.
    const int shift = 23 - fmt.mantBits;
    uint32_t r = absBits + ((1u << (shift - 1)) - 1) + ((absBits >> shift) & 1u);
    r >>= shift;
    return r - (static_cast<uint32_t>(127 - fmt.bias) << fmt.mantBits);
  }
  // Subnormal in the target: the unit is 2^(minNormalExp - mantBits).
  const uint32_t mant = (absBits & 0x7FFFFFu) | 0x800000u;
  const int shift = (23 - fmt.mantBits) + (minNormalExp - floatExp);
  if (shift > 24) return 0; // below half the smallest subnormal (or the tie, which rounds to 0)
  const uint32_t r = mant + ((1u << (shift - 1)) - 1) + ((mant >> shift) & 1u);
  return r >> shift; // may carry into the smallest normal, which is the right encoding
}

MPC_HD inline uint32_t floatToMini(float f, const MiniFormat fmt, bool saturate) {
  const uint32_t bits = floatBits(f);
  const int totalBits = 1 + fmt.expBits + fmt.mantBits;
  const uint32_t sign = (bits >> 31) << (totalBits - 1);
  const uint32_t absBits = bits & 0x7FFFFFFFu;
  if (absBits > 0x7F800000u) return sign | fmt.nanBits;
  uint32_t mag;
  if (absBits == 0x7F800000u) {
    mag = saturate ? fmt.maxFinite : (fmt.infBits ? fmt.infBits : fmt.nanBits);
  } else {
    mag = roundMagnitude(absBits, fmt);
    if (mag > fmt.maxFinite) mag = saturate ? fmt.maxFinite : (fmt.infBits ? fmt.infBits : fmt.nanBits);
  }
  return sign | mag;
}

MPC_HD inline float miniToFloat(uint32_t v, const MiniFormat fmt) {
  const int totalBits = 1 + fmt.expBits + fmt.mantBits;
  const uint32_t sign = ((v >> (totalBits - 1)) & 1u) << 31;
  const uint32_t mag = v & ((1u << (totalBits - 1)) - 1);
  const uint32_t expField = mag >> fmt.mantBits;
  const uint32_t mant = mag & ((1u << fmt.mantBits) - 1);
  if (fmt.infBits != 0 && mag == fmt.infBits) return bitsToFloat(sign | 0x7F800000u);
  if (fmt.infBits != 0 ? mag > fmt.infBits : mag == fmt.nanBits)
    return bitsToFloat(sign | 0x7FC00000u | (mant << (23 - fmt.mantBits)));
  if (expField == 0) {
    // Subnormal: mant * 2^(1 - bias - mantBits), exact in FP32.
    const int unitExp = 1 - fmt.bias - fmt.mantBits;
    const float unit = bitsToFloat(static_cast<uint32_t>(unitExp + 127) << 23);
    const float m = static_cast<float>(mant);
    return bitsToFloat(sign | floatBits(m * unit));
  }
  const uint32_t exp32 = expField - fmt.bias + 127;
  return bitsToFloat(sign | (exp32 << 23) | (mant << (23 - fmt.mantBits)));
}

} // namespace detail

// ---- FP16 (IEEE binary16) ----
MPC_HD inline uint16_t floatToHalf(float f) {
  return static_cast<uint16_t>(detail::floatToMini(f, detail::halfFormat(), /*saturate=*/false));
}
MPC_HD inline float halfToFloat(uint16_t h) { return detail::miniToFloat(h, detail::halfFormat()); }

// ---- BF16: the top 16 bits of FP32, rounded ----
MPC_HD inline uint16_t floatToBFloat16(float f) {
  const uint32_t bits = floatBits(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  // Overflow rounds into the inf encoding, which is RNE's answer.
  const uint32_t r = bits + 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(r >> 16);
}
MPC_HD inline float bfloat16ToFloat(uint16_t b) { return bitsToFloat(static_cast<uint32_t>(b) << 16); }

// ---- FP8 ----
inline constexpr float kE4M3FNMax = 448.0f;
inline constexpr float kE5M2Max = 57344.0f;

MPC_HD inline uint8_t floatToE4M3FN(float f, bool saturate = true) {
  return static_cast<uint8_t>(detail::floatToMini(f, detail::e4m3fnFormat(), saturate));
}
MPC_HD inline float e4m3fnToFloat(uint8_t v) { return detail::miniToFloat(v, detail::e4m3fnFormat()); }

MPC_HD inline uint8_t floatToE5M2(float f, bool saturate = true) {
  return static_cast<uint8_t>(detail::floatToMini(f, detail::e5m2Format(), saturate));
}
MPC_HD inline float e5m2ToFloat(uint8_t v) { return detail::miniToFloat(v, detail::e5m2Format()); }

// ---- TF32: FP32 storage, mantissa rounded (RNE) to 10 bits, as the tensor
// cores see FP32 operands in TF32 mode. ----
MPC_HD inline float roundToTF32(float f) {
  const uint32_t bits = floatBits(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return bitsToFloat((bits | 0x00400000u) & 0xFFFFE000u);
  const uint32_t r = bits + 0xFFFu + ((bits >> 13) & 1u);
  return bitsToFloat(r & 0xFFFFE000u);
}

// FP64 -> FP32 rounding to odd: truncate toward zero and set the last bit when
// inexact. Rounding that result once more to a format with at most 22 mantissa
// bits gives the correctly rounded (RNE) FP64 -> target conversion, so f64
// casts to FP16/BF16/FP8 never double-round.
MPC_HD inline float doubleToFloatRoundToOdd(double d) {
  const float f = static_cast<float>(d);
  if (f != f) return f;
  const double back = static_cast<double>(f);
  if (back == d) return f;
  uint32_t bits = floatBits(f);
  const double absBack = back < 0 ? -back : back;
  const double absD = d < 0 ? -d : d;
  if (absBack > absD) bits -= 1; // rounded away from zero (incl. overflow to inf): step back
  return bitsToFloat(bits | 1u);
}

// Storage tags for 16-bit floats, so kernels can be templated on the element
// type without confusing them with integers.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

MPC_HD inline float toFloat(Half h) { return halfToFloat(h.bits); }
MPC_HD inline float toFloat(BFloat16 b) { return bfloat16ToFloat(b.bits); }

} // namespace mpc::rt
