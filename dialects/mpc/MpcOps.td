//===- MpcOps.td - the mpc op set ---------------------------*- tablegen -*-===//
//
// docs/ops.md is the reference for the semantics of every op. Result types are
// inferred (InferTypeOpAdaptor) from operand types and attributes, except where
// the result type itself is the specification (reshape, expand, cast, constant).
//
//===----------------------------------------------------------------------===//
#ifndef MPC_OPS_TD
#define MPC_OPS_TD

include "dialects/mpc/MpcBase.td"
include "dialects/mpc/MpcInterfaces.td"

//===----------------------------------------------------------------------===//
// Elementwise unary
//===----------------------------------------------------------------------===//

class Mpc_UnaryOp<string mnemonic, Type type, string onnx, list<Trait> traits = []>
    : Mpc_Op<mnemonic, traits # [Pure, Elementwise, SameOperandsAndResultType,
                                DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "elementwise " # onnx;
  let description = "Applies ONNX `" # onnx # "` to every element.\n\n"
      "```mlir\n%y = mpc." # mnemonic # " %x : (tensor<4x8xbf16>) -> tensor<4x8xbf16>\n```";
  let arguments = (ins type:$x);
  let results = (outs type:$y);
}

def Mpc_NegOp : Mpc_UnaryOp<"neg", Mpc_NumericTensor, "Neg", [Mpc_Pass]>;
def Mpc_AbsOp : Mpc_UnaryOp<"abs", Mpc_NumericTensor, "Abs", [Mpc_Pass]>;
def Mpc_ExpOp : Mpc_UnaryOp<"exp", Mpc_FloatTensor, "Exp", [Mpc_Fp32]>;
def Mpc_LogOp : Mpc_UnaryOp<"log", Mpc_FloatTensor, "Log", [Mpc_Fp32]>;
def Mpc_SqrtOp : Mpc_UnaryOp<"sqrt", Mpc_FloatTensor, "Sqrt", [Mpc_Pass]>;
def Mpc_ReciprocalOp : Mpc_UnaryOp<"reciprocal", Mpc_FloatTensor, "Reciprocal", [Mpc_Fp32]>;
def Mpc_TanhOp : Mpc_UnaryOp<"tanh", Mpc_FloatTensor, "Tanh", [Mpc_Pass]>;
def Mpc_SigmoidOp : Mpc_UnaryOp<"sigmoid", Mpc_FloatTensor, "Sigmoid", [Mpc_Pass]>;
def Mpc_ReluOp : Mpc_UnaryOp<"relu", Mpc_FloatTensor, "Relu", [Mpc_Pass]>;
def Mpc_ErfOp : Mpc_UnaryOp<"erf", Mpc_FloatTensor, "Erf", [Mpc_Pass]>;
def Mpc_NotOp : Mpc_UnaryOp<"not", Mpc_BoolTensor, "Not">;

def Mpc_LeakyReluOp : Mpc_UnaryOp<"leaky_relu", Mpc_FloatTensor, "LeakyRelu", [Mpc_Pass]> {
  let description = [{
    `y = x >= 0 ? x : alpha * x`.

    ```mlir
    %y = mpc.leaky_relu %x {alpha = 0.01 : f32} : (tensor<8xf32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, DefaultValuedAttr<F32Attr, "0.01f">:$alpha);
}

def Mpc_GeluOp : Mpc_UnaryOp<"gelu", Mpc_FloatTensor, "Gelu", [Mpc_Pass]> {
  let description = [{
    `approximate = "none"`: `y = 0.5 x (1 + erf(x / sqrt 2))`;
    `approximate = "tanh"`: `y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.

    ```mlir
    %y = mpc.gelu %x {approximate = "tanh"} : (tensor<8xbf16>) -> tensor<8xbf16>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise binary with NumPy broadcasting
//===----------------------------------------------------------------------===//

class Mpc_BinaryOp<string mnemonic, string onnx, Type operandType, Type resultType,
                   list<Trait> traits = []>
    : Mpc_Op<mnemonic, traits # [Pure, InferTypeOpAdaptor]> {
  let summary = "elementwise " # onnx # " with NumPy broadcasting";
  let description = "ONNX `" # onnx # "`: both operands broadcast to a common shape "
      "(multidirectional broadcasting).\n\n"
      "```mlir\n%c = mpc." # mnemonic #
      " %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8x" #
      !if(!eq(resultType, Mpc_BoolTensor), "i1", "f32") # ">\n```";
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs resultType:$result);
  // Comparisons produce i1; pow keeps the base type; the others require both
  // operands to share the element type.
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *ctx,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::mpc::inferBinaryOpType(ctx, loc, getOperationName(),
          adaptor.getLhs().getType(), adaptor.getRhs().getType(),
          }] # !if(!eq(resultType, Mpc_BoolTensor), "true", "false") # [{,
          }] # !if(!eq(mnemonic, "pow"), "false", "true") # [{, types);
    }
  }];
}

class Mpc_ArithOp<string mnemonic, string onnx>
    : Mpc_BinaryOp<mnemonic, onnx, Mpc_NumericTensor, Mpc_NumericTensor, [Mpc_Promote]>;
class Mpc_CompareOp<string mnemonic, string onnx>
    : Mpc_BinaryOp<mnemonic, onnx, Mpc_NumericTensor, Mpc_BoolTensor, [Mpc_Promote]>;
class Mpc_LogicOp<string mnemonic, string onnx>
    : Mpc_BinaryOp<mnemonic, onnx, Mpc_BoolTensor, Mpc_BoolTensor>;

def Mpc_AddOp : Mpc_ArithOp<"add", "Add">;
def Mpc_SubOp : Mpc_ArithOp<"sub", "Sub">;
def Mpc_MulOp : Mpc_ArithOp<"mul", "Mul">;
def Mpc_DivOp : Mpc_ArithOp<"div", "Div">;
def Mpc_MaxOp : Mpc_ArithOp<"max", "Max">;
def Mpc_MinOp : Mpc_ArithOp<"min", "Min">;
def Mpc_PowOp : Mpc_BinaryOp<"pow", "Pow", Mpc_FloatTensor, Mpc_FloatTensor, [Mpc_Fp32]>;
def Mpc_EqualOp : Mpc_CompareOp<"equal", "Equal">;
def Mpc_LessOp : Mpc_CompareOp<"less", "Less">;
def Mpc_LessEqualOp : Mpc_CompareOp<"less_equal", "LessOrEqual">;
def Mpc_GreaterOp : Mpc_CompareOp<"greater", "Greater">;
def Mpc_GreaterEqualOp : Mpc_CompareOp<"greater_equal", "GreaterOrEqual">;
def Mpc_AndOp : Mpc_LogicOp<"and", "And">;
def Mpc_OrOp : Mpc_LogicOp<"or", "Or">;

def Mpc_WhereOp : Mpc_Op<"where", [Pure, InferTypeOpAdaptor, Mpc_Promote]> {
  let summary = "elementwise select with three-way broadcasting";
  let description = [{
    ONNX `Where`: `z = cond ? x : y`, all three broadcast to a common shape.

    ```mlir
    %z = mpc.where %c, %x, %y : (tensor<4x1xi1>, tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Mpc_BoolTensor:$cond, Mpc_AnyTensor:$x, Mpc_AnyTensor:$y);
  let results = (outs Mpc_AnyTensor:$z);
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

def Mpc_MatMulOp : Mpc_Op<"matmul", [Pure, InferTypeOpAdaptor, Mpc_Lower]> {
  let summary = "NumPy matrix product";
  let description = [{
    ONNX `MatMul`: a 1-D `lhs` gets a leading 1 and a 1-D `rhs` a trailing 1,
    which are removed from the result; batch dimensions broadcast. Low-precision
    operands accumulate in FP32.

    ```mlir
    %c = mpc.matmul %a, %b : (tensor<2x16x64xbf16>, tensor<64x32xbf16>) -> tensor<2x16x32xbf16>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$lhs, Mpc_FloatTensor:$rhs);
  let results = (outs Mpc_FloatTensor:$result);
}

def Mpc_GemmOp : Mpc_Op<"gemm", [Pure, InferTypeOpAdaptor, Mpc_Lower]> {
  let summary = "general matrix multiply with bias";
  let description = [{
    ONNX `Gemm`: `y = alpha * op(a) * op(b) + beta * c`, where `op` transposes
    when `trans_a`/`trans_b` is set and `c` broadcasts to the result.

    ```mlir
    %y = mpc.gemm %x, %w, %bias {trans_b = true} : (tensor<32x784xf32>, tensor<128x784xf32>, tensor<128xf32>) -> tensor<32x128xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$a, Mpc_FloatTensor:$b, Optional<Mpc_FloatTensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_b);
  let results = (outs Mpc_FloatTensor:$y);
}

def Mpc_ConvOp : Mpc_Op<"conv", [Pure, InferTypeOpAdaptor, Mpc_Lower]> {
  let summary = "2-D convolution (NCHW)";
  let description = [{
    ONNX `Conv` for 2-D inputs: `x` is N x C x H x W, `w` is M x C/group x kH x kW,
    the optional bias `b` has M elements. `pads` is [top, left, bottom, right];
    the importer resolves `auto_pad` into explicit pads.

    ```mlir
    %y = mpc.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}
        : (tensor<8x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<8x16x32x32xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$w, Optional<Mpc_FloatTensor>:$b,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Mpc_FloatTensor:$y);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

def Mpc_MaxPoolOp : Mpc_Op<"max_pool", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "2-D max pooling (NCHW)";
  let description = [{
    ONNX `MaxPool` for 2-D inputs (the `Indices` output is not supported).
    Padding never wins the max.

    ```mlir
    %y = mpc.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
        : (tensor<1x8x32x32xf32>) -> tensor<1x8x16x16xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs Mpc_FloatTensor:$y);
}

def Mpc_AvgPoolOp : Mpc_Op<"avg_pool", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "2-D average pooling (NCHW)";
  let description = [{
    ONNX `AveragePool` for 2-D inputs. With `count_include_pad = false` the
    divisor counts only the elements inside the input.

    ```mlir
    %y = mpc.avg_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>}
        : (tensor<1x8x32x32xf32>) -> tensor<1x8x32x32xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs Mpc_FloatTensor:$y);
}

def Mpc_GlobalAvgPoolOp : Mpc_Op<"global_avg_pool", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "mean over all spatial dimensions";
  let description = [{
    ONNX `GlobalAveragePool`: N x C x D1 x ... -> N x C x 1 x ... (FP32 accumulation).

    ```mlir
    %y = mpc.global_avg_pool %x : (tensor<8x64x7x7xf32>) -> tensor<8x64x1x1xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x);
  let results = (outs Mpc_FloatTensor:$y);
}

//===----------------------------------------------------------------------===//
// Normalisation and softmax
//===----------------------------------------------------------------------===//

def Mpc_BatchNormOp : Mpc_Op<"batch_norm", [Pure, InferTypeOpAdaptor, Mpc_PassWithStats]> {
  let summary = "batch normalisation with running statistics (inference)";
  let description = [{
    ONNX `BatchNormalization` with `training_mode = 0`:
    `y = scale * (x - mean) / sqrt(var + epsilon) + bias` per channel (dim 1).
    `x` may be low precision; the statistics and affine parameters are float of
    any width and are applied in FP32.

    ```mlir
    %y = mpc.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32}
        : (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x4x4xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$scale, Mpc_FloatTensor:$bias,
                       Mpc_FloatTensor:$mean, Mpc_FloatTensor:$var,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Mpc_FloatTensor:$y);
}

def Mpc_BatchNormTrainOp : Mpc_Op<"batch_norm_train", [Pure, InferTypeOpAdaptor, Mpc_PassWithStats]> {
  let summary = "batch normalisation with batch statistics (training)";
  let description = [{
    ONNX `BatchNormalization` with `training_mode = 1`: normalises with the
    biased mean and variance of the batch and returns the updated running
    statistics `momentum * running + (1 - momentum) * batch`.

    ```mlir
    %y, %rm, %rv = mpc.batch_norm_train %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32, momentum = 0.9 : f32}
        : (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
        -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$scale, Mpc_FloatTensor:$bias,
                       Mpc_FloatTensor:$running_mean, Mpc_FloatTensor:$running_var,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon,
                       DefaultValuedAttr<F32Attr, "0.9f">:$momentum);
  let results = (outs Mpc_FloatTensor:$y, Mpc_FloatTensor:$new_running_mean,
                      Mpc_FloatTensor:$new_running_var);
}

def Mpc_LayerNormOp : Mpc_Op<"layer_norm", [Pure, InferTypeOpAdaptor, Mpc_Fp32]> {
  let summary = "layer normalisation over the trailing dimensions";
  let description = [{
    ONNX `LayerNormalization`: normalises over dims `[axis, rank)`; `scale` and
    the optional `bias` broadcast to those dims. Also returns the FP32 mean and
    inverse standard deviation (shape `x.shape[:axis] + [1] * (rank - axis)`),
    which the gradient reuses.

    ```mlir
    %y, %mean, %rstd = mpc.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-05 : f32}
        : (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
        -> (tensor<2x16x64xbf16>, tensor<2x16x1xf32>, tensor<2x16x1xf32>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$scale,
                       Optional<Mpc_FloatTensor>:$bias, I64Attr:$axis,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Mpc_FloatTensor:$y, RankedTensorOf<[F32]>:$mean,
                      RankedTensorOf<[F32]>:$inv_std_dev);
}

class Mpc_SoftmaxBase<string mnemonic, string onnx>
    : Mpc_Op<mnemonic, [Pure, SameOperandsAndResultType, Mpc_Fp32Strict,
                        DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "ONNX " # onnx # " along one axis";
  let description = "ONNX `" # onnx # "` with opset-13 semantics: normalises along `axis` "
      "only; computed in FP32 with the row maximum subtracted.\n\n"
      "```mlir\n%y = mpc." # mnemonic #
      " %x {axis = 1 : i64} : (tensor<4x10xf32>) -> tensor<4x10xf32>\n```";
  let arguments = (ins Mpc_FloatTensor:$x, I64Attr:$axis);
  let results = (outs Mpc_FloatTensor:$y);
  let hasVerifier = 1;
}

def Mpc_SoftmaxOp : Mpc_SoftmaxBase<"softmax", "Softmax">;
def Mpc_LogSoftmaxOp : Mpc_SoftmaxBase<"log_softmax", "LogSoftmax">;

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Mpc_ReduceOp<string mnemonic, string onnx, list<Trait> traits = []>
    : Mpc_Op<mnemonic, traits # [Pure, InferTypeOpAdaptor]> {
  let summary = "ONNX " # onnx;
  let description = "ONNX `" # onnx # "` over `axes` (normalised, sorted, unique, never "
      "empty). Low-precision inputs accumulate in FP32.\n\n"
      "```mlir\n%y = mpc." # mnemonic #
      " %x {axes = array<i64: 1>, keepdims = true} : (tensor<4x10xf32>) -> tensor<4x1xf32>\n```";
  let arguments = (ins Mpc_NumericTensor:$x, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs Mpc_NumericTensor:$y);
}

def Mpc_ReduceSumOp : Mpc_ReduceOp<"reduce_sum", "ReduceSum", [Mpc_Fp32]>;
def Mpc_ReduceMeanOp : Mpc_ReduceOp<"reduce_mean", "ReduceMean", [Mpc_Fp32]>;
def Mpc_ReduceMaxOp : Mpc_ReduceOp<"reduce_max", "ReduceMax", [Mpc_Pass]>;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Mpc_ReshapeOp : Mpc_Op<"reshape", [Pure, Mpc_Pass]> {
  let summary = "reinterpret the shape, keeping the elements in order";
  let description = [{
    The result type is the new shape; element count and type must agree.
    ONNX `Reshape`, `Squeeze`, `Unsqueeze` and `Flatten` all import as this op.

    ```mlir
    %y = mpc.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$x);
  let results = (outs Mpc_AnyTensor:$y);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Mpc_TransposeOp : Mpc_Op<"transpose", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "permute dimensions";
  let description = [{
    ONNX `Transpose`: result dim i is input dim `perm[i]`.

    ```mlir
    %y = mpc.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$x, DenseI64ArrayAttr:$perm);
  let results = (outs Mpc_AnyTensor:$y);
}

def Mpc_ConcatOp : Mpc_Op<"concat", [Pure, InferTypeOpAdaptor, Mpc_Promote]> {
  let summary = "concatenate along an axis";
  let description = [{
    ONNX `Concat`; all inputs share the element type and every dim but `axis`.

    ```mlir
    %y = mpc.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Mpc_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Mpc_AnyTensor:$y);
}

def Mpc_SplitOp : Mpc_Op<"split", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "split along an axis into pieces of given sizes";
  let description = [{
    ONNX `Split` with explicit sizes (the importer computes even splits).

    ```mlir
    %a, %b = mpc.split %x {axis = 1 : i64, sizes = array<i64: 3, 5>} : (tensor<2x8xf32>) -> (tensor<2x3xf32>, tensor<2x5xf32>)
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$x, I64Attr:$axis, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Mpc_AnyTensor>:$outputs);
}

def Mpc_SliceOp : Mpc_Op<"slice", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "strided slice with one (start, end, step) per dimension";
  let description = [{
    ONNX `Slice` with its inputs folded into attributes, one entry per dim and
    already clamped the ONNX way. With a negative step, `end` may be -1, meaning
    "stop before index 0".

    ```mlir
    %y = mpc.slice %x {starts = array<i64: 0, 1>, ends = array<i64: 2, 5>, steps = array<i64: 1, 2>} : (tensor<2x6xf32>) -> tensor<2x2xf32>
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$x, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$ends, DenseI64ArrayAttr:$steps);
  let results = (outs Mpc_AnyTensor:$y);
}

def Mpc_GatherOp : Mpc_Op<"gather", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "gather slices along an axis";
  let description = [{
    ONNX `Gather`: result shape is `data.shape[:axis] + indices.shape +
    data.shape[axis+1:]`; negative indices count from the end.

    ```mlir
    %y = mpc.gather %table, %ids {axis = 0 : i64} : (tensor<1000x64xf32>, tensor<8x16xi64>) -> tensor<8x16x64xf32>
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$data, Mpc_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Mpc_AnyTensor:$y);
}

def Mpc_ExpandOp : Mpc_Op<"expand", [Pure, Mpc_Pass]> {
  let summary = "broadcast to a larger shape";
  let description = [{
    ONNX `Expand`; the result type is the broadcast shape (the importer computes
    it from the shape input).

    ```mlir
    %y = mpc.expand %x : (tensor<3x1xf32>) -> tensor<2x3x4xf32>
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$x);
  let results = (outs Mpc_AnyTensor:$y);
  let hasVerifier = 1;
}

def Mpc_ConstantOp : Mpc_Op<"constant", [Pure, ConstantLike]> {
  let summary = "a constant tensor";
  let description = [{
    ONNX `Constant`. Large values use `dense_resource` so they stay out of the
    textual IR.

    ```mlir
    %c = mpc.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Mpc_AnyTensor:$y);
  let hasVerifier = 1;
  // No operands: the shared format would print two spaces after the name.
  let assemblyFormat = "attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Training ops
//===----------------------------------------------------------------------===//

def Mpc_DropoutOp : Mpc_Op<"dropout", [Pure, InferTypeOpAdaptor, Mpc_Pass]> {
  let summary = "inverted dropout (training mode)";
  let description = [{
    ONNX `Dropout` with `training_mode = 1`: `y = mask * x / (1 - ratio)`. The
    mask comes from a counter-based random stream keyed by `seed` and the
    element index, identical on every backend. The optional i64 scalar
    `offset` (the training step's counter) moves the stream: element i draws
    counter `offset * numel + i`. Inference-mode Dropout imports as the
    identity.

    ```mlir
    %y, %mask = mpc.dropout %x {ratio = 0.1 : f32, seed = 0 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xi1>)
    %y2, %mask2 = mpc.dropout %x, %step {ratio = 0.1 : f32} : (tensor<4x8xf32>, tensor<i64>) -> (tensor<4x8xf32>, tensor<4x8xi1>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Optional<0DTensorOf<[I64]>>:$offset,
                       DefaultValuedAttr<F32Attr, "0.5f">:$ratio,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs Mpc_FloatTensor:$y, Mpc_BoolTensor:$mask);
}

def Mpc_SoftmaxCrossEntropyLossOp
    : Mpc_Op<"softmax_cross_entropy_loss", [Pure, InferTypeOpAdaptor, Mpc_Fp32Strict]> {
  let summary = "softmax cross-entropy loss";
  let description = [{
    ONNX `SoftmaxCrossEntropyLoss`: `scores` is N x C (x D1 ...), `labels` N (x D1
    ...), optional per-class `weights`. Returns the loss (a scalar unless
    `reduction = "none"`) and the log-probabilities. Computed in FP32.

    ```mlir
    %loss, %logp = mpc.softmax_cross_entropy_loss %s, %l {reduction = "mean"}
        : (tensor<32x10xf32>, tensor<32xi64>) -> (tensor<f32>, tensor<32x10xf32>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$scores, Mpc_IndexTensor:$labels,
                       Optional<Mpc_FloatTensor>:$weights,
                       DefaultValuedStrAttr<StrAttr, "mean">:$reduction,
                       OptionalAttr<I64Attr>:$ignore_index);
  let results = (outs Mpc_FloatTensor:$loss, Mpc_FloatTensor:$log_prob);
}

def Mpc_NllLossOp : Mpc_Op<"nll_loss", [Pure, InferTypeOpAdaptor, Mpc_Fp32Strict]> {
  let summary = "negative log-likelihood loss";
  let description = [{
    ONNX `NegativeLogLikelihoodLoss`: `input` is N x C (x D1 ...) log-probabilities,
    `target` N (x D1 ...), optional per-class `weight`.

    ```mlir
    %loss = mpc.nll_loss %logp, %t {reduction = "sum"} : (tensor<32x10xf32>, tensor<32xi64>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$input, Mpc_IndexTensor:$target,
                       Optional<Mpc_FloatTensor>:$weight,
                       DefaultValuedStrAttr<StrAttr, "mean">:$reduction,
                       OptionalAttr<I64Attr>:$ignore_index);
  let results = (outs Mpc_FloatTensor:$loss);
}

//===----------------------------------------------------------------------===//
// Precision ops
//===----------------------------------------------------------------------===//

def Mpc_CastOp : Mpc_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "element type conversion";
  let description = [{
    Converts to the result's element type. Float to float rounds to nearest
    even. Conversions to FP8 with `saturate = true` (the default, like CUDA's
    `__NV_SATFINITE`) map overflow and infinities to the largest finite value
    and keep NaN; with `saturate = false` overflow becomes inf (E5M2) or NaN
    (E4M3FN). Float to integer truncates toward zero. Casts written by the user
    carry `user`, and the passes never remove a narrowing user cast.

    ```mlir
    %y = mpc.cast %x : (tensor<4x8xf32>) -> tensor<4x8xbf16>
    %q = mpc.cast %x {saturate = false} : (tensor<4x8xf32>) -> tensor<4x8xf8E4M3FN>
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$x, DefaultValuedAttr<BoolAttr, "true">:$saturate,
                       UnitAttr:$user);
  let results = (outs Mpc_AnyTensor:$y);
  let hasFolder = 1;
}

def Mpc_QuantizeOp : Mpc_Op<"quantize", [Pure]> {
  let summary = "scaled saturating conversion to FP8";
  let description = [{
    `q = sat(x * scale)`: the product is formed in FP32 and converted to the
    FP8 result type with round-to-nearest-even and finite saturation.

    ```mlir
    %q = mpc.quantize %x, %scale : (tensor<64x64xbf16>, tensor<f32>) -> tensor<64x64xf8E4M3FN>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_F32ScalarTensor:$scale);
  let results = (outs Mpc_Fp8Tensor:$q);
  let assemblyFormat = "$x `,` $scale attr-dict `:` functional-type(operands, results)";
  // Not SameOperandsAndResultShape: the scale is a scalar.
  let hasVerifier = 1;
}

def Mpc_DequantizeOp : Mpc_Op<"dequantize", [Pure]> {
  let summary = "scaled conversion from FP8";
  let description = [{
    `y = float(q) * scale_inv`, formed in FP32 and rounded to the result type.

    ```mlir
    %y = mpc.dequantize %q, %scale_inv : (tensor<64x64xf8E4M3FN>, tensor<f32>) -> tensor<64x64xbf16>
    ```
  }];
  let arguments = (ins Mpc_Fp8Tensor:$q, Mpc_F32ScalarTensor:$scale_inv);
  let results = (outs Mpc_FloatTensor:$y);
  let hasVerifier = 1;
}

def Mpc_AmaxOp : Mpc_Op<"amax", [Pure, InferTypeOpAdaptor]> {
  let summary = "maximum absolute value";
  let description = [{
    `max |x|` over all elements as an FP32 scalar; NaN when any element is NaN.
    FP8 delayed scaling records it in the amax history.

    ```mlir
    %a = mpc.amax %x : (tensor<64x64xbf16>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x);
  let results = (outs Mpc_F32ScalarTensor:$amax);
}

include "dialects/mpc/MpcTrainingOps.td"
include "dialects/mpc/MpcFusionOps.td"
include "dialects/mpc/MpcFp8Ops.td"

#endif // MPC_OPS_TD
