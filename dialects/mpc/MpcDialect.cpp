//===- MpcDialect.cpp - dialect registration and generated code -----------===//
//
// The generated op definitions live in this translation unit only, so editing
// the hand-written rules in MpcOps.cpp does not recompile them.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mpc;

#include "dialects/mpc/MpcDialect.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/mpc/MpcOps.cpp.inc"

void MpcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/mpc/MpcOps.cpp.inc"
      >();
}

Operation *MpcDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                           Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, type, elements);
}
