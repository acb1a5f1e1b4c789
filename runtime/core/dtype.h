// Element types known to the runtime and their storage sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mpc::rt {

// Stable numeric codes: they are written into plan files and checkpoints.
enum class DType : uint8_t {
  kInvalid = 0,
  kF32 = 1,
  kF16 = 2,
  kBF16 = 3,
  kF64 = 4,
  kF8E4M3FN = 5,
  kF8E5M2 = 6,
  kBool = 7,  // i1, one byte per element (0 or 1)
  kI8 = 8,
  kI32 = 9,
  kI64 = 10,
};

inline constexpr int kNumDTypes = 11;

constexpr size_t dtypeSize(DType t) {
  switch (t) {
  case DType::kF32: case DType::kI32: return 4;
  case DType::kF16: case DType::kBF16: return 2;
  case DType::kF64: case DType::kI64: return 8;
  case DType::kF8E4M3FN: case DType::kF8E5M2: case DType::kBool: case DType::kI8: return 1;
  case DType::kInvalid: return 0;
  }
  return 0;
}

constexpr bool isValidDType(uint8_t code) { return code >= 1 && code < kNumDTypes; }

constexpr bool isFloat(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64 ||
         t == DType::kF8E4M3FN || t == DType::kF8E5M2;
}

// Names as in MLIR element types and docs/ops.md: "f32", "bf16", "f8E4M3FN", "i1", ...
std::string_view dtypeName(DType t);
// Inverse of dtypeName; kInvalid when unknown.
DType dtypeFromName(std::string_view name);

}  // namespace mpc::rt
