//===- MpcBase.td - the mpc dialect and its type constraints -*- tablegen -*-===//
#ifndef MPC_BASE_TD
#define MPC_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Mpc_Dialect : Dialect {
  let name = "mpc";
  let cppNamespace = "::mpc";
  let hasConstantMaterializer = 1;
  let summary = "Tensor ops for mixed-precision training of ONNX models";
  let description = [{
    A curated set of tensor ops with value semantics and static shapes. Each op
    follows the ONNX semantics of the op it is named after (opsets 13-21), with
    attributes normalised by the importer (negative axes resolved, auto_pad
    turned into explicit pads, constant shape/axes inputs folded into
    attributes). The precision ops (`mpc.cast` with its rounding rules,
    `mpc.quantize`, `mpc.dequantize`, `mpc.amax`) carry the mixed-precision
    decisions made by the passes. docs/ops.md is the reference for each op.
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Mpc_Float : AnyTypeOf<[F32, F16, BF16, F64], "float (f32, f16, bf16, f64)">;
def Mpc_Fp8 : AnyTypeOf<[F8E4M3FN, F8E5M2], "fp8 (f8E4M3FN, f8E5M2)">;

def Mpc_FloatTensor : RankedTensorOf<[F32, F16, BF16, F64]>;
def Mpc_Fp8Tensor : RankedTensorOf<[F8E4M3FN, F8E5M2]>;
def Mpc_IndexTensor : RankedTensorOf<[I32, I64]>;
def Mpc_BoolTensor : RankedTensorOf<[I1]>;
def Mpc_NumericTensor : RankedTensorOf<[F32, F16, BF16, F64, I32, I64]>;
def Mpc_AnyTensor
    : RankedTensorOf<[F32, F16, BF16, F64, F8E4M3FN, F8E5M2, I1, I8, I32, I64]>;
def Mpc_F32ScalarTensor : 0DTensorOf<[F32]>;

class Mpc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Mpc_Dialect, mnemonic, traits> {
  // One uniform, explicit textual form for every op.
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

#endif // MPC_BASE_TD
