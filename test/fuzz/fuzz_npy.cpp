// libFuzzer target: the .npy reader, with and without an expected dtype
// (raw void/f1 descrs are only accepted for bf16 / fp8).
#include <stddef.h>
#include <stdint.h>

#include "core/npy.h"
#include "core/plan.h"  // tensorBytes

using namespace mpc::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const DType kExpected[] = {DType::kInvalid, DType::kF32, DType::kBF16, DType::kF8E4M3FN};
  for (DType t : kExpected) {
    NpyArray a;
    Status s = parseNpy(data, size, t, &a, "<fuzz>");
    if (s.isOk()) {
      uint64_t nbytes;
      if (!tensorBytes(a.dtype, a.shape, &nbytes) || nbytes != a.data.size()) __builtin_trap();
    } else if (s.message().empty()) {
      __builtin_trap();
    }
  }
  return 0;
}
