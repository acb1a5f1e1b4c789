//===- MpcFusion.h - which ops mpc.fused_elementwise may hold ---*- C++ -*-===//
#pragma once

#include "mlir/IR/Operation.h"

namespace mpc {

/// True for the elementwise ops a fused group may contain: the float unary
/// ops (neg, abs, exp, log, sqrt, reciprocal, tanh, sigmoid, relu, erf,
/// leaky_relu, gelu), add, sub, mul, div, max, min, pow, where, and casts
/// between f32, f16, bf16 and f64, all with a float (f32/f16/bf16/f64) result
/// of static shape.
bool isFusibleElementwise(mlir::Operation *op);

} // namespace mpc
