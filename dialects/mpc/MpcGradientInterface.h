//===- MpcGradientInterface.h - the autodiff interface ----------*- C++ -*-===//
//
// GradientOpInterface (MpcGradientInterface.td). The rules themselves are
// external models: passes/autodiff/GradientRules.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "dialects/mpc/MpcGradientInterface.h.inc"
