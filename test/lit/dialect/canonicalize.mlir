// The folders: a reshape to its own type and a cast to its own type are the
// identity; a reshape of a dense constant is a reshaped constant; constants
// are uniqued. Nothing else folds (no arithmetic, no real casts).
// RUN: mpc-opt %s -split-input-file -canonicalize | FileCheck %s

// CHECK-LABEL: func @reshape_identity
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]] : tensor<2x3xf32>
func.func @reshape_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = mpc.reshape %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// A real reshape stays.
// CHECK-LABEL: func @reshape_kept
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[R:.*]] = mpc.reshape %[[X]] : (tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_kept(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = mpc.reshape %x : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func @reshape_constant
// CHECK-NEXT: %[[C:.*]] = mpc.constant {value = dense<{{\[}}[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>} : () -> tensor<2x3xi64>
// CHECK-NEXT: return %[[C]] : tensor<2x3xi64>
func.func @reshape_constant() -> tensor<2x3xi64> {
  %c = mpc.constant {value = dense<[1, 2, 3, 4, 5, 6]> : tensor<6xi64>} : () -> tensor<6xi64>
  %0 = mpc.reshape %c : (tensor<6xi64>) -> tensor<2x3xi64>
  return %0 : tensor<2x3xi64>
}

// -----

// CHECK-LABEL: func @reshape_splat
// CHECK-NEXT: %[[C:.*]] = mpc.constant {value = dense<1.500000e+00> : tensor<1x4xbf16>} : () -> tensor<1x4xbf16>
// CHECK-NEXT: return %[[C]]
func.func @reshape_splat() -> tensor<1x4xbf16> {
  %c = mpc.constant {value = dense<1.5> : tensor<2x2xbf16>} : () -> tensor<2x2xbf16>
  %0 = mpc.reshape %c : (tensor<2x2xbf16>) -> tensor<1x4xbf16>
  return %0 : tensor<1x4xbf16>
}

// -----

// Resource blobs are not copied by folding: the reshape stays.
// CHECK-LABEL: func @reshape_resource
// CHECK-NEXT: %[[C:.*]] = mpc.constant {value = dense_resource<blob> : tensor<2xi32>} : () -> tensor<2xi32>
// CHECK-NEXT: %[[R:.*]] = mpc.reshape %[[C]] : (tensor<2xi32>) -> tensor<1x2xi32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_resource() -> tensor<1x2xi32> {
  %c = mpc.constant {value = dense_resource<blob> : tensor<2xi32>} : () -> tensor<2xi32>
  %0 = mpc.reshape %c : (tensor<2xi32>) -> tensor<1x2xi32>
  return %0 : tensor<1x2xi32>
}

{-#
  dialect_resources: {
    builtin: {
      blob: "0x040000000100000002000000"
    }
  }
#-}

// -----

// CHECK-LABEL: func @reshape_chain
// CHECK-SAME: (%[[X:.*]]: tensor<6xf32>)
// CHECK-NEXT: %[[A:.*]] = mpc.reshape %[[X]] : (tensor<6xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: %[[B:.*]] = mpc.reshape %[[A]] : (tensor<2x3xf32>) -> tensor<6xf32>
// CHECK-NEXT: return %[[B]]
func.func @reshape_chain(%x: tensor<6xf32>) -> tensor<6xf32> {
  %0 = mpc.reshape %x : (tensor<6xf32>) -> tensor<2x3xf32>
  %1 = mpc.reshape %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = mpc.reshape %1 : (tensor<2x3xf32>) -> tensor<6xf32>
  return %2 : tensor<6xf32>
}

// -----

// CHECK-LABEL: func @cast_identity
// CHECK-SAME: (%[[X:.*]]: tensor<4xbf16>)
// CHECK-NEXT: return %[[X]] : tensor<4xbf16>
func.func @cast_identity(%x: tensor<4xbf16>) -> tensor<4xbf16> {
  %0 = mpc.cast %x {user} : (tensor<4xbf16>) -> tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// -----

// Real casts never fold, not even a round trip, and not on constants.
// CHECK-LABEL: func @cast_kept
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[C:.*]] = mpc.constant {value = dense<1.000000e+00> : tensor<4xf32>}
// CHECK-NEXT: %[[D:.*]] = mpc.cast %[[X]] {user} : (tensor<4xf32>) -> tensor<4xbf16>
// CHECK-NEXT: %[[U:.*]] = mpc.cast %[[D]] : (tensor<4xbf16>) -> tensor<4xf32>
// CHECK-NEXT: %[[E:.*]] = mpc.cast %[[C]] : (tensor<4xf32>) -> tensor<4xf16>
// CHECK-NEXT: return %[[U]], %[[E]]
func.func @cast_kept(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf16>) {
  %c = mpc.constant {value = dense<1.0> : tensor<4xf32>} : () -> tensor<4xf32>
  %0 = mpc.cast %x {user} : (tensor<4xf32>) -> tensor<4xbf16>
  %1 = mpc.cast %0 : (tensor<4xbf16>) -> tensor<4xf32>
  %2 = mpc.cast %c : (tensor<4xf32>) -> tensor<4xf16>
  return %1, %2 : tensor<4xf32>, tensor<4xf16>
}

// -----

// Equal constants are uniqued; unused ones disappear; no arithmetic folds.
// CHECK-LABEL: func @constants
// CHECK-NEXT: %[[C:.*]] = mpc.constant {value = dense<2.000000e+00> : tensor<3xf32>} : () -> tensor<3xf32>
// CHECK-NEXT: %[[A:.*]] = mpc.add %[[C]], %[[C]] : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT: return %[[A]]
func.func @constants() -> tensor<3xf32> {
  %a = mpc.constant {value = dense<2.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %b = mpc.constant {value = dense<2.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %unused = mpc.constant {value = dense<[1, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %0 = mpc.add %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
