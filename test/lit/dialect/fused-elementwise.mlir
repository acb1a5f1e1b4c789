// mpc.fused_elementwise and mpc.yield: round trip (custom and generic form)
// and the verifier.
// RUN: mpc-opt %S/Inputs/fused-elementwise-valid.mlir | mpc-opt | FileCheck %s
// RUN: mpc-opt %S/Inputs/fused-elementwise-valid.mlir -mlir-print-op-generic | mpc-opt | FileCheck %s
// RUN: mpc-opt %s -split-input-file -verify-diagnostics

// CHECK-LABEL: func.func @group
// CHECK: %[[F:.*]] = mpc.fused_elementwise %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x8xbf16>, tensor<8xbf16>, tensor<4x1xi1>) -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<4x8xbf16>, %[[B:.*]]: tensor<8xbf16>, %[[C:.*]]: tensor<4x1xi1>):
// CHECK-NEXT: %[[S:.*]] = mpc.mul %[[A]], %[[B]]
// CHECK-NEXT: %[[W:.*]] = mpc.where %[[C]], %[[S]], %[[A]]
// CHECK-NEXT: %[[E:.*]] = mpc.cast %[[W]] : (tensor<4x8xbf16>) -> tensor<4x8xf32>
// CHECK-NEXT: mpc.yield %[[E]] : tensor<4x8xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[F]]

func.func @not_fusible(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @below {{'mpc.fused_elementwise' op body may hold only fusible elementwise ops, got 'mpc.matmul'}}
  %0 = mpc.fused_elementwise %x : (tensor<4x4xf32>) -> tensor<4x4xf32> {
  ^bb0(%a: tensor<4x4xf32>):
    %1 = mpc.matmul %a, %a : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    mpc.yield %1 : tensor<4x4xf32>
  }
  return %0 : tensor<4x4xf32>
}

// -----

func.func @fp8_cast(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{body may hold only fusible elementwise ops, got 'mpc.cast'}}
  %0 = mpc.fused_elementwise %x : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %1 = mpc.cast %a : (tensor<4xf32>) -> tensor<4xf8E4M3FN>
    %2 = mpc.cast %1 : (tensor<4xf8E4M3FN>) -> tensor<4xf32>
    mpc.yield %2 : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @no_broadcast(%x: tensor<4x8xf32>, %y: tensor<3xf32>) -> tensor<4x8xf32> {
  // expected-error @below {{'mpc.fused_elementwise' op operand #1 of type 'tensor<3xf32>' does not broadcast to the result 'tensor<4x8xf32>'}}
  %0 = mpc.fused_elementwise %x, %y : (tensor<4x8xf32>, tensor<3xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>, %b: tensor<3xf32>):
    %1 = mpc.relu %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
    mpc.yield %1 : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @arg_types(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{'mpc.fused_elementwise' op body argument #0 has type 'tensor<4xf16>', operand has 'tensor<4xf32>'}}
  %0 = mpc.fused_elementwise %x : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf16>):
    %1 = mpc.cast %a : (tensor<4xf16>) -> tensor<4xf32>
    mpc.yield %1 : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @yield_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{'mpc.fused_elementwise' op yields 'tensor<4xf16>', but the result is 'tensor<4xf32>'}}
  %0 = mpc.fused_elementwise %x : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %1 = mpc.cast %a : (tensor<4xf32>) -> tensor<4xf16>
    mpc.yield %1 : tensor<4xf16>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @arity(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{'mpc.fused_elementwise' op body has 0 arguments for 1 operands}}
  %0 = mpc.fused_elementwise %x : (tensor<4xf32>) -> tensor<4xf32> {
    %c = mpc.constant {value = dense<1.0> : tensor<4xf32>} : () -> tensor<4xf32>
    mpc.yield %c : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @yield_outside(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{'mpc.yield' op expects parent op 'mpc.fused_elementwise'}}
  mpc.yield %x : tensor<4xf32>
}
