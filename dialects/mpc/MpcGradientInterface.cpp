//===- MpcGradientInterface.cpp - generated interface code ----------------===//
//
// The generated interface definitions live in this translation unit only.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcGradientInterface.h"

#include "dialects/mpc/MpcGradientInterface.cpp.inc"
