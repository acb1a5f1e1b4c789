// --precision-report writes the per-node decisions and a summary.
// RUN: mpc-opt %s --autocast=bf16 --keep-io-types=false --precision-report=%t.json -o /dev/null
// RUN: FileCheck %s --input-file=%t.json --check-prefix=JSON
// RUN: mpc-opt %s --autocast=bf16 --keep-io-types=false --precision-report=%t.txt -o /dev/null
// RUN: FileCheck %s --input-file=%t.txt --check-prefix=TXT
// RUN: mpc-opt %s --autocast=fp16 --keep-io-types=false --precision-report=%t.dot -o /dev/null
// RUN: FileCheck %s --input-file=%t.dot --check-prefix=DOT
// RUN: not mpc-opt %s --autocast=bf16 --precision-report=%t.csv -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADEXT

module attributes {mpc.opset = 17 : i64} {
  ml_program.global private @w(dense<0.5> : tensor<4x4xf32>) : tensor<4x4xf32>
  func.func @main(%x: tensor<2x4xf32> {mpc.name = "x"}) -> (tensor<2x4xf32> {mpc.name = "y"}) {
    %w = ml_program.global_load_const @w : tensor<4x4xf32> loc("w")
    %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("fc")
    %1 = mpc.softmax %0 {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("probs")
    return %1 : tensor<2x4xf32>
  }
}

// JSON: "nodes": [
// JSON: "dtype": "bf16",
// JSON-NEXT: "name": "fc",
// JSON-NEXT: "op": "matmul",
// JSON-NEXT: "rule": "default:LOWER"
// JSON: "dtype": "fp32",
// JSON-NEXT: "name": "probs",
// JSON-NEXT: "op": "softmax",
// JSON-NEXT: "rule": "default:FP32"
// JSON: "summary": {
// JSON: "activation_bytes_after": {
// JSON-NEXT: "bf16": 32,
// JSON-NEXT: "fp32": 64
// JSON: "activation_bytes_before": {
// JSON-NEXT: "fp32": 96
// JSON: "casts": 2,
// JSON-NEXT: "casts_inserted": 2,
// JSON-NEXT: "parameter_bytes_after": {
// JSON-NEXT: "bf16": 32
// JSON: "parameter_bytes_before": {
// JSON-NEXT: "fp32": 64

// TXT: node   op       dtype  rule
// TXT: fc     matmul   bf16   default:LOWER
// TXT: probs  softmax  fp32   default:FP32
// TXT: casts: 2 (2 inserted), user casts 0
// TXT: parameter bytes:  before fp32 64; after bf16 32

// DOT: digraph precision {
// DOT-DAG: [shape=cylinder, fillcolor=lightskyblue, label="w\nfp32"];
// DOT-DAG: [shape=box, fillcolor=gold, label="fc\nmatmul\ndefault:LOWER\nfp16"];
// DOT-DAG: [shape=diamond, fillcolor=lightskyblue, label="cast\nfp32"];

// BADEXT: mpc-opt: error: --precision-report must end in .json, .txt or .dot
