//===- MpcGradientInterface.td - the autodiff interface -----*- tablegen -*-===//
//
// Each differentiable op's gradient rule (DESIGN.md section 4: "an autodiff
// interface gives each op its gradient rule"). The rules are external models
// in passes/autodiff/GradientRules.cpp, attached by
// mpc::registerGradientExternalModels, so the op definitions need not change.
//
//===----------------------------------------------------------------------===//
#ifndef MPC_GRADIENT_INTERFACE_TD
#define MPC_GRADIENT_INTERFACE_TD

include "mlir/IR/OpBase.td"

def Mpc_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::mpc";
  let description = [{
    The reverse-mode rule of an op. `buildGradients` is called by mpc-autodiff
    with the builder placed where the backward ops go, one gradient per result
    (null for a result no gradient reaches) and one flag per operand telling
    whether its gradient is wanted. It appends one value per operand to
    `operandGrads`: the gradient, with the operand's type (f32 for FP8
    operands), or null for an operand that is not wanted or not differentiable
    (indices, masks, integer and bool operands, FP8 scales). A rule that cannot
    handle a case emits an error on the op and returns failure.

    Gradient values keep the dtype of the value they belong to, so the
    backward of an op computes in the dtype its forward op ran in (PyTorch
    AMP semantics).
  }];
  let methods = [
    InterfaceMethod<"Builds the operand gradients from the result gradients.",
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::ArrayRef<bool>":$wanted,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

#endif // MPC_GRADIENT_INTERFACE_TD
