//===- ShapeInference.h - result shapes shared by the mpc ops ---*- C++ -*-===//
//
// Shape rules used by several ops' inferReturnTypes and by the importer. Each
// returns failure after emitting a diagnostic at `loc` (when one is given) that
// says which operand or attribute is wrong.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

namespace mpc {

using Shape = llvm::SmallVector<int64_t, 4>;

/// NumPy (ONNX multidirectional) broadcasting of two shapes.
std::optional<Shape> broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// True when `from` broadcasts to `to` (unidirectional, as Expand and Gemm's C).
bool broadcastsTo(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to);

/// Result type of an elementwise op over `operands` with element type `elem`.
llvm::LogicalResult inferBroadcastType(std::optional<mlir::Location> loc,
                                       mlir::TypeRange operands, mlir::Type elem,
                                       llvm::SmallVectorImpl<mlir::Type> &types);

/// Output extent of one spatial dim of a window op (conv / pooling).
/// Returns -1 when the window does not fit.
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin,
                         int64_t padEnd, int64_t dilation, bool ceilMode);

/// Checks the 2-D window attributes (kernel, strides, pads[4], dilations).
llvm::LogicalResult verifyWindowAttrs(std::optional<mlir::Location> loc, llvm::StringRef op,
                                      llvm::ArrayRef<int64_t> kernel,
                                      llvm::ArrayRef<int64_t> strides,
                                      llvm::ArrayRef<int64_t> pads,
                                      llvm::ArrayRef<int64_t> dilations);

} // namespace mpc

namespace mpc {
/// "[d0,d1,...]" for diagnostics.
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// The operand rules shared by the loss ops and their gradients: `input` is
/// N x C (x D1 ...), `labels` N (x D1 ...), the optional `weights` [C] and
/// `reduction` "none", "sum" or "mean". `inputName` names the input in
/// messages. On success `lossShape` is the loss's shape: the labels' shape for
/// "none", a scalar otherwise.
llvm::LogicalResult verifyLossOperands(std::optional<mlir::Location> loc, llvm::StringRef opName,
                                       llvm::StringRef inputName, mlir::RankedTensorType input,
                                       mlir::RankedTensorType labels, mlir::Value weights,
                                       llvm::StringRef reduction, Shape &lossShape);

/// Result type of a broadcasting binary op: `boolResult` for comparisons,
/// `sameElementType` when lhs and rhs must agree (all but pow).
llvm::LogicalResult inferBinaryOpType(mlir::MLIRContext *ctx, std::optional<mlir::Location> loc,
                                      llvm::StringRef opName, mlir::Type lhs, mlir::Type rhs,
                                      bool boolResult, bool sameElementType,
                                      llvm::SmallVectorImpl<mlir::Type> &types);
} // namespace mpc
