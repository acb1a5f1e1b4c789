//===- MpcFp8Ops.td - FP8 GEMMs and scaling state -----------*- tablegen -*-===//
//
// The ops of FP8 training (issue #8, DESIGN.md section 5 "FP8 delayed
// scaling"): produced by mpc-fp8 (passes/Fp8.cpp), by the gradient rule of
// mpc.fp8_gemm, and by mpc-fp8-scale-update (passes/Fp8ScaleUpdate.cpp).
// Included at the end of MpcOps.td like MpcTrainingOps.td; the C++ rules
// live in MpcFp8Ops.cpp, the CPU kernels in runtime/cpu/fp8.cpp.
//
// Format codes in attributes are the plan's dtype codes
// (runtime/core/dtype.h): 5 = f8E4M3FN (max 448), 6 = f8E5M2 (max 57344).
//
//===----------------------------------------------------------------------===//
#ifndef MPC_FP8_OPS_TD
#define MPC_FP8_OPS_TD

include "dialects/mpc/MpcBase.td"

def Mpc_Fp8QuantizeOp : Mpc_Op<"fp8_quantize", [Pure]> {
  let summary = "scaled saturating conversion to FP8 that also returns the amax";
  let description = [{
    `q = sat(x * scale)` exactly as `mpc.quantize` (FP32 multiply, round to
    nearest even, finite saturation, NaN stays NaN), and
    `amax = max |x|` of the *unscaled* input (NaN when any element is NaN),
    the value delayed scaling records in slot 0 of the operand's amax
    history. mpc-fp8 marks each one with `mpc.fp8_operand = "<state prefix>"`
    so mpc-fp8-scale-update finds the amax it must record.

    The gradient is straight-through, as for `mpc.quantize`:
    `dx = dq * scale` in FP32, rounded to x's type.

    ```mlir
    %q, %amax = mpc.fp8_quantize %x, %scale : (tensor<64x64xbf16>, tensor<f32>) -> (tensor<64x64xf8E4M3FN>, tensor<f32>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_F32ScalarTensor:$scale);
  let results = (outs Mpc_Fp8Tensor:$q, Mpc_F32ScalarTensor:$amax);
  let hasVerifier = 1;
}

def Mpc_Fp8GemmOp : Mpc_Op<"fp8_gemm", [Pure]> {
  let summary = "FP8 GEMM in the TN form, FP32 accumulation, scaled output";
  let description = [{
    `y[m, n] = alpha * (sum_k a[m, k] * b[n, k]) * a_scale_inv * b_scale_inv
    + beta * c[m, n]`: both operands are K-major (`a` is M x K, `b` is N x K),
    the only layout Hopper's cuBLASLt FP8 GEMMs accept ("TN"). The products of
    FP8 values are exact in FP32; they are summed in FP32 and the result is
    scaled in FP32 (first by `a_scale_inv`, then `b_scale_inv`, then `alpha`),
    the bias added, and rounded once to y's type (f32, f16 or bf16). `c`
    (optional, any float type) broadcasts to M x N. E5M2 x E5M2 is rejected
    (cuBLASLt has no such kernel). Whoever builds the op inserts explicit
    `mpc.transpose`s of FP8 values where the math needs another layout (the
    CUDA backend lowers them to byte transposes, Transformer Engine's
    "cast + transpose").

    ```mlir
    %y = mpc.fp8_gemm %a, %b, %sa, %sb {alpha = 1.0 : f32}
        : (tensor<32x64xf8E4M3FN>, tensor<128x64xf8E4M3FN>, tensor<f32>, tensor<f32>) -> tensor<32x128xbf16>
    ```
  }];
  let arguments = (ins Mpc_Fp8Tensor:$a, Mpc_Fp8Tensor:$b, Mpc_F32ScalarTensor:$a_scale_inv,
                       Mpc_F32ScalarTensor:$b_scale_inv, Optional<Mpc_FloatTensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0f">:$beta);
  let results = (outs Mpc_FloatTensor:$y);
  let hasVerifier = 1;
}

def Mpc_Fp8CurrentScaleOp : Mpc_Op<"fp8_current_scale", [Pure]> {
  let summary = "current (just-in-time) FP8 scaling factor from this step's amax";
  let description = [{
    `scale = (fp8_max / amax) / 2^margin` when `amax` is finite and > 0, else
    1; an infinite scale becomes FLT_MAX; `scale_inv = 1 / scale`. All FP32.
    `format` is the plan dtype code of the target (5 E4M3FN, 6 E5M2).

    ```mlir
    %s, %si = mpc.fp8_current_scale %amax {format = 5 : i64, margin = 0 : i64} : (tensor<f32>) -> (tensor<f32>, tensor<f32>)
    ```
  }];
  let arguments = (ins Mpc_F32ScalarTensor:$amax, I64Attr:$format,
                       DefaultValuedAttr<I64Attr, "0">:$margin);
  let results = (outs Mpc_F32ScalarTensor:$scale, Mpc_F32ScalarTensor:$scale_inv);
  let hasVerifier = 1;
}

def Mpc_Fp8ScaleUpdateOp : Mpc_Op<"fp8_scale_update", [Pure]> {
  let summary = "end-of-step delayed-scaling update of every FP8 operand";
  let description = [{
    Operands: for each of the N FP8 operands of the step, in order,
    `(amax, amax_history[L], scale, scale_inv)` (f32), then optionally one f32
    scalar `skip`; results: for each operand `(amax_history', scale',
    scale_inv')`. `formats` holds one plan dtype code per operand (5 E4M3FN,
    6 E5M2) giving its `fp8_max`.

    Per operand, in FP32 (DESIGN.md section 5):
    1. `h = amax_history` with `h[0] = amax` (the record the operand's
       `mpc.fp8_quantize` made this step);
    2. `a = max(h)` (`amax_algo = "max"`, NaN if any entry is NaN) or `h[0]`
       (`"most_recent"`), taken before the roll;
    3. if `h[0] != 0`: roll left by one and zero slot 0 (`h' = [0, h[2..L-1],
       h[0]]`); if `h[0] == 0` (the operand did not run) no roll;
    4. `scale' = (fp8_max / a) / 2^margin` if `a` is finite and > 0, else
       `scale' = scale`; an infinite `scale'` becomes FLT_MAX;
       `scale_inv' = 1 / scale'`, or the old `scale_inv` when the scale was kept.

    **Skip rule**: when `skip` is present and non-zero (the loss scaler
    skipped the optimizer step because of non-finite gradients), every result
    is bit-identical to its input: histories, scales and scale_invs stay as
    they were, and this step's amaxes are dropped (they were never written to
    the history: the record of step 1 happens inside this op).

    ```mlir
    %h2, %s2, %si2 = mpc.fp8_scale_update %amax, %h, %s, %si {formats = array<i64: 5>, amax_algo = "max", margin = 0 : i64}
        : (tensor<f32>, tensor<1024xf32>, tensor<f32>, tensor<f32>) -> (tensor<1024xf32>, tensor<f32>, tensor<f32>)
    ```
  }];
  let arguments = (ins Variadic<RankedTensorOf<[F32]>>:$operands, DenseI64ArrayAttr:$formats,
                       DefaultValuedStrAttr<StrAttr, "max">:$amax_algo,
                       DefaultValuedAttr<I64Attr, "0">:$margin);
  let results = (outs Variadic<RankedTensorOf<[F32]>>:$results);
  let hasVerifier = 1;
}

def Mpc_MxGemmOp : Mpc_Op<"mx_gemm", [Pure]> {
  let summary = "MXFP8 GEMM (OCP MX block scaling), TN form, emulated exactly";
  let description = [{
    `y = alpha * (MX(a) MX(b)^T) + beta * c` with `a` (M x K) and `b` (N x K)
    in high precision (f32, f16, bf16), both K-major. Each operand is
    quantized as the OCP Microscaling spec describes, in blocks of 32
    consecutive elements along K: the block's E8M0 scale is
    `2^X`, `X = floor(log2(amax_block)) - emax` (emax 8 for E4M3, 15 for
    E5M2; clamped to [-127, 127]; an all-zero block takes X = -127), and each
    element is `sat(x / 2^X)` in the element format (`a_format`, `b_format`:
    plan dtype codes 5 E4M3FN or 6 E5M2), RNE with finite saturation. A block
    holding inf or NaN has a NaN scale: its elements dequantize to NaN. The
    dequantized values (`element * 2^X`, exact in FP32) are multiplied and
    summed in FP32, then `alpha`, the bias and the rounding to y's type apply
    as in `fp8_gemm`. Quantizing inside the op, from the high-precision
    operands, gives each use its own blocks along its own reduction dim, as
    MXFP8 training needs (a tensor is quantized row-wise for one GEMM and
    column-wise for another). K must be a multiple of 32. `grad_format` is
    the element format of the output gradient in the backward. Hopper has no
    native MXFP8: the CUDA backend would run the per-tensor recipe instead.

    ```mlir
    %y = mpc.mx_gemm %a, %b {a_format = 5 : i64, b_format = 5 : i64, grad_format = 6 : i64}
        : (tensor<32x64xbf16>, tensor<128x64xbf16>) -> tensor<32x128xbf16>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$a, Mpc_FloatTensor:$b, Optional<Mpc_FloatTensor>:$c,
                       DefaultValuedAttr<I64Attr, "5">:$a_format,
                       DefaultValuedAttr<I64Attr, "5">:$b_format,
                       DefaultValuedAttr<I64Attr, "6">:$grad_format,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0f">:$beta);
  let results = (outs Mpc_FloatTensor:$y);
  let hasVerifier = 1;
}

#endif // MPC_FP8_OPS_TD
