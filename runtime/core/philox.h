// The counter-based random stream of dropout, shared by the CPU backend (the
// reference) and the CUDA backend (MPC_HD), so both draw the same bits.
//
//   Philox4x32-10 (Salmon et al., Random123), key = {lo32(seed), hi32(seed)};
//   stream index j uses counter {lo32(j / 4), hi32(j / 4), 0, 0} and takes
//   word (j % 4) of the block's output r; its uniform is
//   u = (r >> 8) * 2^-24, in [0, 1).
// Plain 32/64-bit integer arithmetic, so host and device agree bit for bit.
#pragma once

#include <cstdint>

#include "core/float_formats.h"  // MPC_HD

namespace mpc::rt::philox {

// One Philox4x32-10 block: out = philox(counter, key).
MPC_HD inline void block4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// The four output words of the block serving stream indices 4*b .. 4*b+3.
MPC_HD inline void streamBlock(uint64_t seed, uint64_t b, uint32_t out[4]) {
  const uint32_t counter[4] = {static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0, 0};
  const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  block4x32_10(counter, key, out);
}

// A 32-bit output word as a uniform in [0, 1) (24 random bits, exact in FP32).
MPC_HD inline float wordToUniform(uint32_t r) { return static_cast<float>(r >> 8) * (1.0f / 16777216.0f); }

// The uniform of stream index j under `seed` (one block per call; loops that
// walk consecutive indices reuse streamBlock's four words instead).
MPC_HD inline float uniformAt(uint64_t seed, uint64_t j) {
  uint32_t r[4];
  streamBlock(seed, j / 4, r);
  return wordToUniform(r[j % 4]);
}

}  // namespace mpc::rt::philox
