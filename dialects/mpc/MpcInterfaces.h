//===- MpcInterfaces.h - op interfaces of the mpc dialect -------*- C++ -*-===//
#pragma once

#include <optional>

#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/StringRef.h"

namespace mpc {

/// An op's class in the autocast policy (DESIGN.md section 5). `Untouched` is
/// never an op's default (ops without the interface are untouched); policies
/// use it to exclude nodes.
enum class PrecisionClass { Lower, Fp32, Promote, Pass, Untouched };

/// What an operand's element type follows when autocast converts the op.
enum class OperandPrecision {
  Compute, ///< the op's compute dtype
  Fp32,    ///< always FP32 (statistics, affine parameters of batch_norm)
  Keep,    ///< never cast
};

/// "LOWER", "FP32", "PROMOTE", "PASS", "UNTOUCHED".
llvm::StringRef stringifyPrecisionClass(PrecisionClass c);
/// Case-insensitive inverse of stringifyPrecisionClass; also accepts "low" for
/// Lower and "exclude" for Untouched.
std::optional<PrecisionClass> parsePrecisionClass(llvm::StringRef s);

/// The trait behind the default class of an op (see MpcInterfaces.td).
template <PrecisionClass C, bool Strict> class PrecisionClassIs {
public:
  template <typename ConcreteType>
  class Impl : public mlir::OpTrait::TraitBase<ConcreteType, Impl> {
  public:
    static constexpr PrecisionClass kPrecisionClass = C;
    static constexpr bool kFp32Strict = Strict;
  };
};

} // namespace mpc

#include "dialects/mpc/MpcInterfaces.h.inc"
