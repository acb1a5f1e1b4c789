//===- MpcInterfaces.cpp - generated interface code -----------------------===//
//
// The generated interface definitions live in this translation unit only.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcInterfaces.h"

#include "llvm/ADT/StringSwitch.h"

namespace mpc {

llvm::StringRef stringifyPrecisionClass(PrecisionClass c) {
  switch (c) {
  case PrecisionClass::Lower:
    return "LOWER";
  case PrecisionClass::Fp32:
    return "FP32";
  case PrecisionClass::Promote:
    return "PROMOTE";
  case PrecisionClass::Pass:
    return "PASS";
  case PrecisionClass::Untouched:
    return "UNTOUCHED";
  }
  return "UNTOUCHED";
}

std::optional<PrecisionClass> parsePrecisionClass(llvm::StringRef s) {
  return llvm::StringSwitch<std::optional<PrecisionClass>>(s.lower())
      .Cases({"lower", "low"}, PrecisionClass::Lower)
      .Case("fp32", PrecisionClass::Fp32)
      .Case("promote", PrecisionClass::Promote)
      .Case("pass", PrecisionClass::Pass)
      .Cases({"untouched", "exclude"}, PrecisionClass::Untouched)
      .Default(std::nullopt);
}

} // namespace mpc

#include "dialects/mpc/MpcInterfaces.cpp.inc"
