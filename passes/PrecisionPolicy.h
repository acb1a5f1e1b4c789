//===- PrecisionPolicy.h - autocast policy: presets and user rules -*- C++ -*-===//
//
// The policy mpc-autocast applies, as a class that tools can use on their own
// (mpc-opt loads it to report errors before any pass runs). A policy is the
// preset (conservative / default / aggressive) plus the rules of an optional
// JSON file (docs/precision-policy.md):
//
//   1. integer, bool and f64 values, and user-written casts, are never
//      converted; no rule can change that;
//   2. node-name regex rules, the first matching rule in file order;
//   3. op-type class overrides;
//   4. the op's class from the precision interface, mapped by the preset.
//
// Per-input overrides then set the dtype of single operands of matching nodes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dialects/mpc/MpcInterfaces.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Regex.h"

namespace mpc {

enum class PrecisionPreset { Conservative, Default, Aggressive };

std::optional<PrecisionPreset> parsePrecisionPreset(llvm::StringRef s);
llvm::StringRef stringifyPrecisionPreset(PrecisionPreset p);

/// What a per-input override asks for.
enum class InputPrecision { Fp32, Low, Keep };

/// The class decided for one node and the rule that decided it.
struct PrecisionDecision {
  PrecisionClass cls = PrecisionClass::Untouched;
  /// "default:LOWER", "aggressive:LOWER", "op-type:FP32", "node:<pattern>:FP32", ...
  std::string rule;
};

class PrecisionPolicy {
public:
  PrecisionPolicy() = default;
  PrecisionPolicy(PrecisionPolicy &&) = default;
  PrecisionPolicy &operator=(PrecisionPolicy &&) = default;

  /// Parses the JSON policy `text`; `source` names it in errors. Op types are
  /// checked against the mpc ops registered in `context` that carry the
  /// precision interface (mpc names such as "matmul", or ONNX op types such
  /// as "MatMul"). On failure returns false with a one-line `error`.
  bool parse(llvm::StringRef text, llvm::StringRef source, mlir::MLIRContext &context,
             std::string &error);
  /// Reads and parses a policy file.
  bool loadFile(llvm::StringRef path, mlir::MLIRContext &context, std::string &error);

  PrecisionPreset preset = PrecisionPreset::Default;
  /// Keep graph inputs and outputs in their original types.
  bool keepIoTypes = false;
  /// Optional target constraint (e.g. the ONNX opset of an export): an op
  /// whose low compute dtype the target cannot run stays untouched, recorded
  /// as "<targetName>:UNTOUCHED". Arguments: mpc op name, compute dtype.
  std::function<bool(llvm::StringRef, mlir::Type)> targetSupports;
  std::string targetName;

  /// The class of a node: `opName` is the mpc op name without the dialect
  /// prefix ("matmul"), `nodeName` the ONNX node name (its location),
  /// `defaultClass` and `fp32Strict` come from the precision interface.
  PrecisionDecision classify(llvm::StringRef opName, llvm::StringRef nodeName,
                             PrecisionClass defaultClass, bool fp32Strict) const;

  /// A per-input override for operand `index` of a node, if any (first match).
  std::optional<InputPrecision> inputOverride(llvm::StringRef opName, llvm::StringRef nodeName,
                                              unsigned index) const;

  /// The mpc op names an op-type name stands for: "matmul" and "mpc.matmul"
  /// name matmul, ONNX "MatMul" too; "BatchNormalization" names batch_norm and
  /// batch_norm_train. Empty when no mpc op with the precision interface matches.
  static std::vector<std::string> resolveOpType(llvm::StringRef name, mlir::MLIRContext &context);

private:
  struct NodeRule {
    std::string pattern;
    std::unique_ptr<llvm::Regex> regex;
    PrecisionClass cls;
  };
  struct InputRule {
    std::vector<std::string> opTypes; // empty: any op
    std::string pattern;              // empty: any node
    std::unique_ptr<llvm::Regex> regex;
    unsigned index;
    InputPrecision precision;
  };
  std::vector<NodeRule> nodeRules;
  llvm::StringMap<PrecisionClass> opTypeRules;
  std::vector<InputRule> inputRules;
};

} // namespace mpc
