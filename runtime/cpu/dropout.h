// The dropout random stream, exposed for tests. The code itself is
// core/philox.h, shared with the CUDA backend; see dropout.cpp for the
// definition of the stream.
#pragma once

#include <cstdint>

namespace mpc::rt::cpu {

// One Philox4x32-10 block.
void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

// The uniform in [0, 1) that dropout draws for stream index `index` under
// `seed` (index = offset * numel + element; see dropout.cpp).
float dropoutUniform(uint64_t seed, int64_t index);

} // namespace mpc::rt::cpu
