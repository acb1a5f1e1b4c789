//===- MpcFusionOps.td - fused elementwise groups -----------*- tablegen -*-===//
//
// Produced by mpc-fuse-elementwise (passes/FuseElementwise.cpp) just before
// plan emission; the plan emitter lowers each group to one
// `fused_elementwise` kernel (docs/ops.md, "Fused elementwise").
//
//===----------------------------------------------------------------------===//
#ifndef MPC_FUSION_OPS_TD
#define MPC_FUSION_OPS_TD

def Mpc_FusedElementwiseOp : Mpc_Op<"fused_elementwise",
    [IsolatedFromAbove, SingleBlock, RecursiveMemoryEffects]> {
  let summary = "a group of elementwise ops evaluated in one pass over the output";
  let description = [{
    The body is a single block whose arguments are the operands; it holds the
    original elementwise mpc ops (unary float ops, `add`, `sub`, `mul`, `div`,
    `max`, `min`, `pow`, `where`, and casts between f32, f16, bf16 and f64)
    and ends with `mpc.yield` of the group's result. Every operand broadcasts
    (NumPy, unidirectionally) to the result shape. The semantics are exactly
    those of the body: every op rounds its result to its own type, so fusing
    never changes a value. Only memory traffic is saved: the intermediate
    values are never written to memory.

    ```mlir
    %y = mpc.fused_elementwise %x, %b : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16> {
    ^bb0(%a: tensor<4x8xbf16>, %c: tensor<8xbf16>):
      %0 = mpc.add %a, %c : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
      %1 = mpc.gelu %0 : (tensor<4x8xbf16>) -> tensor<4x8xbf16>
      mpc.yield %1 : tensor<4x8xbf16>
    }
    ```
  }];
  let arguments = (ins Variadic<Mpc_AnyTensor>:$inputs);
  let results = (outs Mpc_FloatTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, results) $body";
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Mpc_YieldOp : Mpc_Op<"yield",
    [Pure, Terminator, HasParent<"FusedElementwiseOp">]> {
  let summary = "the result of a fused elementwise group";
  let description = [{
    Terminates the body of `mpc.fused_elementwise`; its operand is the group's
    result and has the result's type.

    ```mlir
    mpc.yield %1 : tensor<4x8xbf16>
    ```
  }];
  let arguments = (ins Mpc_AnyTensor:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

#endif // MPC_FUSION_OPS_TD
