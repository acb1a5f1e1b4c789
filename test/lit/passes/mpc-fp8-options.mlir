// Bad options of mpc-fp8 and of the --fp8 flags are one-line errors.
// RUN: not mpc-opt %s -mpc-fp8="format=e5m2" 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: mpc-fp8: format must be hybrid or e4m3, got 'e5m2'
// RUN: not mpc-opt %s -mpc-fp8="recipe=block" 2>&1 | FileCheck %s --check-prefix=RECIPE
// RECIPE: mpc-fp8: recipe must be delayed, current or mxfp8, got 'block'
// RUN: not mpc-opt %s -mpc-fp8="amax-algo=mean" 2>&1 | FileCheck %s --check-prefix=ALGO
// ALGO: mpc-fp8: amax-algo must be max or most_recent, got 'mean'
// RUN: not mpc-opt %s -mpc-fp8="amax-history=0" 2>&1 | FileCheck %s --check-prefix=HIST
// HIST: mpc-fp8: amax-history must be in [1, 1048576], got 0
// RUN: not mpc-opt %s --fp8=hybrid 2>&1 | FileCheck %s --check-prefix=NOAC
// NOAC: mpc-opt: error: --fp8 needs --autocast=bf16|fp16
// RUN: not mpc-opt %s --autocast=bf16 --fp8=fp4 2>&1 | FileCheck %s --check-prefix=FLAG
// FLAG: mpc-opt: error: --fp8 must be hybrid or e4m3, got 'fp4'
// RUN: not mpc-opt %s --fp8-margin=2 2>&1 | FileCheck %s --check-prefix=NEEDS
// NEEDS: mpc-opt: error: --fp8-recipe, --fp8-amax-history, --fp8-amax-algo, --fp8-margin and --fp8-min-gemm-size need --fp8=hybrid|e4m3
module {
  func.func @main(%x: tensor<32x32xbf16>, %w: tensor<32x32xbf16>) -> tensor<32x32xbf16> {
    %y = mpc.matmul %x, %w : (tensor<32x32xbf16>, tensor<32x32xbf16>) -> tensor<32x32xbf16>
    return %y : tensor<32x32xbf16>
  }
}
