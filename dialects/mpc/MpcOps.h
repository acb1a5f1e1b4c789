//===- MpcOps.h - the mpc op classes ----------------------------*- C++ -*-===//
#pragma once

#include "dialects/mpc/MpcDialect.h"
#include "dialects/mpc/MpcInterfaces.h"
#include "dialects/mpc/ShapeInference.h"

#define GET_OP_CLASSES
#include "dialects/mpc/MpcOps.h.inc"
