//===- MpcInterfaces.td - op interfaces of the mpc dialect --*- tablegen -*-===//
//
// The precision interface says what each op may compute in. mpc-autocast reads
// it instead of switching on op names: the default class of an op (the
// autocast policy table of DESIGN.md section 5) and the role of each operand.
//
//===----------------------------------------------------------------------===//
#ifndef MPC_INTERFACES_TD
#define MPC_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Mpc_PrecisionOpInterface : OpInterface<"PrecisionOpInterface"> {
  let cppNamespace = "::mpc";
  let description = [{
    What an op may compute in. `getPrecisionClass` is the op's class in the
    default autocast table:

    * `Lower`: float inputs are cast to the low compute dtype (matmul, gemm, conv);
    * `Fp32`: float inputs are cast to FP32 and the result stays FP32;
    * `Promote`: the widest float input wins (f16 with bf16 gives f32);
    * `Pass`: runs in the dtype of its input.

    Ops without this interface (casts, constants, FP8 and boolean ops) are never
    converted. `getOperandPrecision` tells which operands follow the compute
    dtype (`Compute`), which are statistics that stay FP32 whatever the compute
    dtype (`Fp32`, e.g. batch_norm's scale, bias, mean and var) and which are
    never cast (`Keep`). Integer, bool and f64 operands are never cast
    whatever their role.
  }];
  let methods = [
    InterfaceMethod<"The op's class in the default autocast policy table.",
      "::mpc::PrecisionClass", "getPrecisionClass", (ins), [{}],
      [{ return ConcreteOp::kPrecisionClass; }]>,
    InterfaceMethod<[{True for ops that stay FP32 even under the aggressive
      preset (losses, softmax, log_softmax).}],
      "bool", "isFp32Strict", (ins), [{}],
      [{ return ConcreteOp::kFp32Strict; }]>,
    InterfaceMethod<"The precision role of operand `index`.",
      "::mpc::OperandPrecision", "getOperandPrecision", (ins "unsigned":$index), [{}],
      [{ return ::mpc::OperandPrecision::Compute; }]>,
  ];
}

// The class an op has in the default policy table, as a trait the interface's
// default implementation reads.
class Mpc_PrecisionClassTrait<string cls, string strict>
    : ParamNativeOpTrait<"PrecisionClassIs", "::mpc::PrecisionClass::" # cls # ", " # strict> {
  let cppNamespace = "::mpc";
}
class Mpc_Precision<string cls, string strict = "false">
    : TraitList<[Mpc_PrecisionClassTrait<cls, strict>, Mpc_PrecisionOpInterface]>;
// Same, with per-operand roles implemented by the op (getOperandPrecision).
class Mpc_PrecisionWithRoles<string cls>
    : TraitList<[Mpc_PrecisionClassTrait<cls, "false">,
                 DeclareOpInterfaceMethods<Mpc_PrecisionOpInterface, ["getOperandPrecision"]>]>;

def Mpc_Lower : Mpc_Precision<"Lower">;
def Mpc_Fp32 : Mpc_Precision<"Fp32">;
def Mpc_Fp32Strict : Mpc_Precision<"Fp32", "true">;
def Mpc_Promote : Mpc_Precision<"Promote">;
def Mpc_Pass : Mpc_Precision<"Pass">;
def Mpc_PassWithStats : Mpc_PrecisionWithRoles<"Pass">;

#endif // MPC_INTERFACES_TD
