// The three presets of DESIGN.md section 5, and keep-io-types.
// RUN: mpc-opt %s -split-input-file -mpc-autocast="dtype=bf16 preset=conservative" | FileCheck %s --check-prefix=CONS
// RUN: mpc-opt %s -split-input-file -mpc-autocast="dtype=bf16 preset=default" | FileCheck %s --check-prefix=DEF
// RUN: mpc-opt %s -split-input-file -mpc-autocast="dtype=bf16 preset=aggressive" | FileCheck %s --check-prefix=AGG
// RUN: mpc-opt %s -split-input-file -mpc-autocast="dtype=bf16 keep-io-types=true" | FileCheck %s --check-prefix=KEEP
// Each preset is idempotent.
// RUN: mpc-opt %s -split-input-file -mpc-autocast="preset=conservative" > %t.c1
// RUN: mpc-opt %t.c1 -split-input-file -mpc-autocast="preset=conservative" | diff %t.c1 -
// RUN: mpc-opt %s -split-input-file -mpc-autocast="preset=aggressive keep-io-types=true" > %t.a1
// RUN: mpc-opt %t.a1 -split-input-file -mpc-autocast="preset=aggressive keep-io-types=true" | diff %t.a1 -

func.func @chain(%x: tensor<2x4xf32> {mpc.name = "x"}, %w: tensor<4x4xf32>, %b: tensor<4xf32>, %g: tensor<4xf32>) -> (tensor<2x4xf32> {mpc.name = "probs"}, tensor<2x4xf32> {mpc.name = "logits"}) {
  %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm1")
  %1 = mpc.relu %0 : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("act")
  %2 = mpc.matmul %1, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm2")
  %3 = mpc.add %2, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32> loc("bias")
  %y, %m, %r = mpc.layer_norm %3, %g {axis = 1 : i64} : (tensor<2x4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) loc("ln")
  %4 = mpc.softmax %y {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("sm")
  return %4, %2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// Conservative: only LOWER ops compute low, and their results return to f32 at once.
// CONS-LABEL: func.func @chain
// CONS: %[[M1:.*]] = mpc.matmul {{.*}}rule = "conservative:LOWER"{{.*}} -> tensor<2x4xbf16>
// CONS-NEXT: %[[M1F:.*]] = mpc.cast %[[M1]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CONS-NEXT: %[[A:.*]] = mpc.relu %[[M1F]] {mpc.precision = {dtype = f32, rule = "conservative:PASS"}}
// CONS-NEXT: %[[AL:.*]] = mpc.cast %[[A]] : (tensor<2x4xf32>) -> tensor<2x4xbf16>
// CONS-NEXT: %[[M2:.*]] = mpc.matmul %[[AL]]
// CONS-NEXT: %[[M2F:.*]] = mpc.cast %[[M2]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CONS-NEXT: mpc.add %[[M2F]], {{.*}}dtype = f32
// CONS-NEXT: mpc.layer_norm {{.*}}dtype = f32
// CONS-NEXT: %[[S:.*]] = mpc.softmax {{.*}}dtype = f32
// CONS-NEXT: return %[[S]], %[[M2F]] : tensor<2x4xf32>, tensor<2x4xf32>

// Default: the policy table.
// DEF-LABEL: func.func @chain
// DEF: %[[M1:.*]] = mpc.matmul {{.*}}rule = "default:LOWER"{{.*}} -> tensor<2x4xbf16>
// DEF-NEXT: %[[A:.*]] = mpc.relu %[[M1]] {mpc.precision = {dtype = bf16, rule = "default:PASS"}}
// DEF-NEXT: %[[M2:.*]] = mpc.matmul %[[A]]
// DEF-NEXT: %[[M2F:.*]] = mpc.cast %[[M2]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// DEF-NEXT: mpc.add %[[M2F]], {{.*}}rule = "default:PROMOTE"
// DEF-NEXT: mpc.layer_norm {{.*}}rule = "default:FP32"
// DEF-NEXT: %[[S:.*]] = mpc.softmax {{.*}}rule = "default:FP32"
// DEF-NEXT: return %[[S]], %[[M2]] : tensor<2x4xf32>, tensor<2x4xbf16>

// Aggressive: everything low but softmax (and losses); layer_norm's statistics stay f32.
// AGG-LABEL: func.func @chain
// AGG-SAME: %{{.*}}: tensor<4xbf16>, %{{.*}}: tensor<4xbf16>)
// AGG: mpc.relu {{.*}}{mpc.precision = {dtype = bf16, rule = "aggressive:LOWER"}}
// AGG: mpc.add {{.*}}{mpc.precision = {dtype = bf16, rule = "aggressive:LOWER"}}
// AGG-NEXT: %[[Y:.*]], %{{.*}}, %{{.*}} = mpc.layer_norm {{.*}}rule = "aggressive:LOWER"{{.*}} -> (tensor<2x4xbf16>, tensor<2x1xf32>, tensor<2x1xf32>)
// AGG-NEXT: %[[YF:.*]] = mpc.cast %[[Y]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// AGG-NEXT: mpc.softmax %[[YF]] {axis = 1 : i64, mpc.precision = {dtype = f32, rule = "aggressive:FP32"}}

// keep-io-types: the signature is unchanged; graph inputs are cast inside and
// low outputs are cast back.
// KEEP-LABEL: func.func @chain
// KEEP-SAME: (%[[X:.*]]: tensor<2x4xf32> {mpc.name = "x"}, %[[W:.*]]: tensor<4x4xf32>, %{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>) -> (tensor<2x4xf32> {mpc.name = "probs"}, tensor<2x4xf32> {mpc.name = "logits"})
// KEEP-DAG: %[[WL:.*]] = mpc.cast %[[W]] : (tensor<4x4xf32>) -> tensor<4x4xbf16>
// KEEP-DAG: %[[XL:.*]] = mpc.cast %[[X]] : (tensor<2x4xf32>) -> tensor<2x4xbf16>
// KEEP: mpc.matmul %[[XL]], %[[WL]]
// KEEP: %[[M2:.*]] = mpc.matmul
// KEEP-NEXT: %[[M2F:.*]] = mpc.cast %[[M2]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// KEEP: %[[S:.*]] = mpc.softmax
// KEEP-NEXT: return %[[S]], %[[M2F]] : tensor<2x4xf32>, tensor<2x4xf32>

// -----

func.func @matmul_chain(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm1")
  %1 = mpc.matmul %0, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm2")
  return %1 : tensor<2x4xf32>
}

// No FP32 -> low -> FP32 round trip: conservative's f32 copy of mm1 is not
// narrowed again for mm2, which reads mm1's result directly.
// CONS-LABEL: func.func @matmul_chain
// CONS-NEXT: %[[M1:.*]] = mpc.matmul
// CONS-NEXT: %[[M2:.*]] = mpc.matmul %[[M1]],
// CONS-NEXT: %[[M2F:.*]] = mpc.cast %[[M2]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CONS-NEXT: return %[[M2F]]
// DEF-LABEL: func.func @matmul_chain
// DEF-NOT: mpc.cast
// DEF: return
// AGG-LABEL: func.func @matmul_chain
// KEEP-LABEL: func.func @matmul_chain
// KEEP: mpc.matmul
// KEEP-NEXT: mpc.matmul
// KEEP-NEXT: mpc.cast %{{.*}} : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// KEEP-NEXT: return

// -----

// A user cast after a LOWER op (a model converted before) keeps its input
// under conservative: it reads the low result, not conservative's f32 copy.
func.func @user_cast_after_lower(%x: tensor<2x4xbf16>, %w: tensor<4x4xbf16>) -> tensor<2x4xf32> {
  %0 = mpc.matmul %x, %w : (tensor<2x4xbf16>, tensor<4x4xbf16>) -> tensor<2x4xbf16> loc("mm")
  %1 = mpc.cast %0 {user} : (tensor<2x4xbf16>) -> tensor<2x4xf32> loc("widen")
  return %1 : tensor<2x4xf32>
}

// CONS-LABEL: func.func @user_cast_after_lower
// CONS-NEXT: %[[M:.*]] = mpc.matmul
// CONS-NEXT: %[[U:.*]] = mpc.cast %[[M]] {mpc.precision = {dtype = f32, rule = "untouched:user-cast"}, user} : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CONS-NEXT: return %[[U]]
// DEF-LABEL: func.func @user_cast_after_lower
// AGG-LABEL: func.func @user_cast_after_lower
// KEEP-LABEL: func.func @user_cast_after_lower
