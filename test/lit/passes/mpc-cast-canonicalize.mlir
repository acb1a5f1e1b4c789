// RUN: mpc-opt %s -split-input-file -mpc-cast-canonicalize | FileCheck %s
// Idempotence.
// RUN: mpc-opt %s -split-input-file -mpc-cast-canonicalize > %t.once
// RUN: mpc-opt %t.once -split-input-file -mpc-cast-canonicalize | diff %t.once -

// One cast per (value, dtype): duplicates merge.
func.func @dedupe(%x: tensor<4xf32>) -> (tensor<4xbf16>, tensor<4xbf16>) {
  %0 = mpc.cast %x : (tensor<4xf32>) -> tensor<4xbf16>
  %1 = mpc.cast %x : (tensor<4xf32>) -> tensor<4xbf16>
  return %0, %1 : tensor<4xbf16>, tensor<4xbf16>
}

// CHECK-LABEL: func.func @dedupe
// CHECK-NEXT: %[[C:.*]] = mpc.cast %arg0 : (tensor<4xf32>) -> tensor<4xbf16>
// CHECK-NEXT: return %[[C]], %[[C]]

// -----

// Widening then narrowing back is the identity.
func.func @exact_round_trip(%x: tensor<4xf16>) -> tensor<4xf16> {
  %0 = mpc.cast %x : (tensor<4xf16>) -> tensor<4xf32>
  %1 = mpc.cast %0 : (tensor<4xf32>) -> tensor<4xf16>
  return %1 : tensor<4xf16>
}

// CHECK-LABEL: func.func @exact_round_trip
// CHECK-NEXT: return %arg0 : tensor<4xf16>

// -----

// An exact widening followed by another conversion rounds once: bf16 -> f16.
func.func @exact_chain(%x: tensor<4xbf16>) -> tensor<4xf16> {
  %0 = mpc.cast %x : (tensor<4xbf16>) -> tensor<4xf32>
  %1 = mpc.cast %0 : (tensor<4xf32>) -> tensor<4xf16>
  return %1 : tensor<4xf16>
}

// CHECK-LABEL: func.func @exact_chain
// CHECK-NEXT: %[[C:.*]] = mpc.cast %arg0 : (tensor<4xbf16>) -> tensor<4xf16>
// CHECK-NEXT: return %[[C]]

// -----

// f32 -> bf16 -> f32 loses bits: never folded.
func.func @lossy_round_trip(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = mpc.cast %x : (tensor<4xf32>) -> tensor<4xbf16>
  %1 = mpc.cast %0 : (tensor<4xbf16>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// CHECK-LABEL: func.func @lossy_round_trip
// CHECK-NEXT: %[[N:.*]] = mpc.cast %arg0 : (tensor<4xf32>) -> tensor<4xbf16>
// CHECK-NEXT: %[[W:.*]] = mpc.cast %[[N]] : (tensor<4xbf16>) -> tensor<4xf32>
// CHECK-NEXT: return %[[W]]

// -----

// A narrowing cast the user wrote stays, even when it undoes a widening.
func.func @user_narrowing(%x: tensor<4xf16>) -> tensor<4xf16> {
  %0 = mpc.cast %x : (tensor<4xf16>) -> tensor<4xf32>
  %1 = mpc.cast %0 {user} : (tensor<4xf32>) -> tensor<4xf16>
  return %1 : tensor<4xf16>
}

// CHECK-LABEL: func.func @user_narrowing
// CHECK-NEXT: %[[W:.*]] = mpc.cast %arg0 : (tensor<4xf16>) -> tensor<4xf32>
// CHECK-NEXT: %[[N:.*]] = mpc.cast %[[W]] {user} : (tensor<4xf32>) -> tensor<4xf16>
// CHECK-NEXT: return %[[N]]

// -----

// Dead casts go, except a narrowing one the user wrote.
func.func @dead(%x: tensor<4xf32>, %h: tensor<4xf16>) -> tensor<4xf32> {
  %0 = mpc.cast %x : (tensor<4xf32>) -> tensor<4xbf16>
  %1 = mpc.cast %x {user} : (tensor<4xf32>) -> tensor<4xf16>
  %2 = mpc.cast %h {user} : (tensor<4xf16>) -> tensor<4xf32>
  return %x : tensor<4xf32>
}

// CHECK-LABEL: func.func @dead
// CHECK-NEXT: mpc.cast %arg0 {user} : (tensor<4xf32>) -> tensor<4xf16>
// CHECK-NEXT: return %arg0

// -----

// Integer casts are left alone (not float chains).
func.func @integer(%x: tensor<4xi32>) -> tensor<4xi32> {
  %0 = mpc.cast %x : (tensor<4xi32>) -> tensor<4xi64>
  %1 = mpc.cast %0 : (tensor<4xi64>) -> tensor<4xi32>
  return %1 : tensor<4xi32>
}

// CHECK-LABEL: func.func @integer
// CHECK-NEXT: mpc.cast %arg0 : (tensor<4xi32>) -> tensor<4xi64>
// CHECK-NEXT: mpc.cast
// CHECK-NEXT: return
