// The deterministic FP32 input set shared by the float-format tests and the
// ml_dtypes dump tool: every BF16 encoding, every FP16/FP8 value, every tie
// point between adjacent representable values of each format (and the FP32
// neighbours of each tie), overflow boundaries, specials, and ~4M random FP32
// bit patterns from a fixed seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/float_formats.h"

namespace mpc::rt::test {

// All finite non-negative values of a format, ascending, as doubles.
inline std::vector<double> finiteValues(int bits, float (*decode)(uint32_t)) {
  std::vector<double> v;
  for (uint32_t e = 0; e < (1u << (bits - 1)); ++e) {
    const float f = decode(e);
    if (std::isfinite(f)) v.push_back(f);
  }
  return v; // encodings of non-negative values ascend with their value
}

inline float decodeHalf(uint32_t e) { return halfToFloat(static_cast<uint16_t>(e)); }
inline float decodeBF16(uint32_t e) { return bfloat16ToFloat(static_cast<uint16_t>(e)); }
inline float decodeE4M3(uint32_t e) { return e4m3fnToFloat(static_cast<uint8_t>(e)); }
inline float decodeE5M2(uint32_t e) { return e5m2ToFloat(static_cast<uint8_t>(e)); }

inline void addWithNeighbours(std::vector<uint32_t> &out, float f) {
  const uint32_t b = floatBits(f);
  out.push_back(b);
  out.push_back(b + 1);
  if (b & 0x7FFFFFFFu) out.push_back(b - 1);
  out.push_back(b ^ 0x80000000u);
  out.push_back((b + 1) ^ 0x80000000u);
}

inline std::vector<uint32_t> formatTestInputs(size_t numRandom = 4u << 20) {
  std::vector<uint32_t> in;
  for (uint32_t e = 0; e < 65536; ++e) in.push_back(e << 16); // every BF16 value
  struct Fmt {
    int bits;
    float (*decode)(uint32_t);
  };
  const Fmt fmts[] = {{16, decodeHalf}, {16, decodeBF16}, {8, decodeE4M3}, {8, decodeE5M2}};
  for (const Fmt &f : fmts) {
    const std::vector<double> v = finiteValues(f.bits, f.decode);
    for (size_t i = 0; i < v.size(); ++i) {
      addWithNeighbours(in, static_cast<float>(v[i]));
      if (i + 1 < v.size()) addWithNeighbours(in, static_cast<float>((v[i] + v[i + 1]) / 2)); // tie, exact in FP32
    }
    // Overflow boundary: max + half ulp is the tie between max and the next
    // (unrepresentable) step; also twice the max.
    const double maxV = v.back(), ulp = v.back() - v[v.size() - 2];
    addWithNeighbours(in, static_cast<float>(maxV + ulp / 2));
    addWithNeighbours(in, static_cast<float>(maxV + ulp));
    addWithNeighbours(in, static_cast<float>(maxV * 2));
    // Half of the smallest subnormal (ties to 0) and below.
    addWithNeighbours(in, static_cast<float>(v[1] / 2));
    addWithNeighbours(in, static_cast<float>(v[1] / 4));
  }
  const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u,
                               0xFFC00000u, 0x7F800001u, 0x7FBFFFFFu, 0x00000001u, 0x007FFFFFu,
                               0x00800000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x3F800000u, 0xBF800000u};
  in.insert(in.end(), std::begin(specials), std::end(specials));
  std::mt19937 rng(20260522u);
  for (size_t i = 0; i < numRandom; ++i) in.push_back(static_cast<uint32_t>(rng()));
  return in;
}

} // namespace mpc::rt::test
