#include "core/dtype.h"

namespace mpc::rt {

std::string_view dtypeName(DType t) {
  switch (t) {
  case DType::kF32: return "f32";
  case DType::kF16: return "f16";
  case DType::kBF16: return "bf16";
  case DType::kF64: return "f64";
  case DType::kF8E4M3FN: return "f8E4M3FN";
  case DType::kF8E5M2: return "f8E5M2";
  case DType::kBool: return "i1";
  case DType::kI8: return "i8";
  case DType::kI32: return "i32";
  case DType::kI64: return "i64";
  case DType::kInvalid: break;
  }
  return "invalid";
}

DType dtypeFromName(std::string_view name) {
  for (int code = 1; code < kNumDTypes; ++code) {
    DType t = static_cast<DType>(code);
    if (dtypeName(t) == name) return t;
  }
  return DType::kInvalid;
}

}  // namespace mpc::rt
