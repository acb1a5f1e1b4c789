// The program of a `fused_elementwise` kernel, shared by the plan emitter
// (compiler/plan/PlanEmitter.cpp) and the CPU kernel
// (runtime/cpu/fused_elementwise.cpp). No MLIR dependency.
//
// A fused kernel evaluates a chain of elementwise ops per output element. Its
// attributes (docs/ops.md, "Fused elementwise") encode the body:
//
//   ops:    [i64]  one Opcode per instruction, in evaluation order;
//   args:   [i64]  kMaxArgs slot indices per instruction (unused: -1). Slots
//                  0..n-1 are the kernel's n inputs, slot n + k is the result
//                  of instruction k. An instruction reads only earlier slots;
//   dtypes: [i64]  the result DType code (core/dtype.h) of each instruction;
//   alpha:  [f64]  one float immediate per instruction: leaky_relu's alpha,
//                  gelu's approximate flag (1 = "tanh", 0 = "none"), 0 otherwise.
//
// The last instruction's result is the kernel's output. Every instruction
// computes in FP32 (FP64 when its dtype is f64) and rounds its result to its
// dtype, exactly as the unfused kernel of the op would, so a fused plan gives
// the unfused plan's bits.
#pragma once

#include <cstdint>
#include <string_view>

namespace mpc::rt::fused {

// Stable codes: they are written into plan files. Append only.
enum class Opcode : int64_t {
  // Unary, (x) -> y, same dtype.
  kNeg = 0,
  kAbs = 1,
  kExp = 2,
  kLog = 3,
  kSqrt = 4,
  kReciprocal = 5,
  kTanh = 6,
  kSigmoid = 7,
  kRelu = 8,
  kErf = 9,
  kLeakyRelu = 10, // alpha = slope
  kGelu = 11,      // alpha = 1 for approximate "tanh", 0 for "none"
  // Binary with broadcasting, (a, b) -> c; a, b and c share the dtype except
  // pow's exponent (any float dtype).
  kAdd = 12,
  kSub = 13,
  kMul = 14,
  kDiv = 15,
  kMax = 16,
  kMin = 17,
  kPow = 18,
  // (cond: bool, x, y) -> z.
  kWhere = 19,
  // (x) -> y: float -> float conversion (f32, f16, bf16, f64), RNE.
  kCast = 20,
};

inline constexpr int64_t kNumOpcodes = 21;
inline constexpr int kMaxArgs = 3;
// The kernel takes 1..kMaxInputs inputs; the fusion pass never forms a group
// with more.
inline constexpr int kMaxInputs = 16;

// The mpc op name of each opcode (docs/ops.md), so the compiler maps names to
// codes and error messages name the op.
inline constexpr std::string_view kOpcodeNames[kNumOpcodes] = {
    "neg",  "abs", "exp", "log", "sqrt", "reciprocal", "tanh", "sigmoid", "relu",  "erf", "leaky_relu",
    "gelu", "add", "sub", "mul", "div",  "max",        "min",  "pow",     "where", "cast"};

inline constexpr int opcodeArity(Opcode op) {
  if (op <= Opcode::kGelu || op == Opcode::kCast)
    return 1;
  if (op == Opcode::kWhere)
    return 3;
  return 2;
}

// The opcode of an mpc op name (without "mpc."); -1 when it is not fusible.
inline constexpr int64_t opcodeFromName(std::string_view name) {
  for (int64_t i = 0; i < kNumOpcodes; ++i)
    if (kOpcodeNames[i] == name)
      return i;
  return -1;
}

} // namespace mpc::rt::fused
