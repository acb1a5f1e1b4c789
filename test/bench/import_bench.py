#!/usr/bin/env python3
"""Compile-time benchmark: import a ~2,000-node ONNX model and print it.

Builds two models with the onnx Python API:
  mlp          1,000 x (Gemm -> Relu), width 128
  transformer  blocks of LayerNorm, QKV MatMuls, head Reshape/Transpose,
               scaled MatMul attention with Softmax, output projection, Gelu
               MLP (Erf form) and residual Adds, width 64, until >= 2,000 nodes
and times `mpc-opt model.onnx -o out.mlir` (median of --repeat runs), once
printing the weights in full and once with resource blobs elided (what you
read when inspecting IR).

usage: import_bench.py MPC_OPT [--repeat 5] [--nodes 2000]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp(nodes, width=128, batch=32, seed=0):
    rng = np.random.default_rng(seed)
    ns, inits, prev = [], [], "x"
    for i in range(nodes // 2):
        w = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"l{i}.w"),
                  numpy_helper.from_array(np.zeros(width, np.float32), f"l{i}.b")]
        ns.append(helper.make_node("Gemm", [prev, f"l{i}.w", f"l{i}.b"], [f"g{i}"],
                                   name=f"gemm{i}", transB=1))
        ns.append(helper.make_node("Relu", [f"g{i}"], [f"r{i}"], name=f"relu{i}"))
        prev = f"r{i}"
    ns.append(helper.make_node("Identity", [prev], ["y"], name="out"))
    g = helper.make_graph(ns, "mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, width])],
                          inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def transformer(nodes, width=64, heads=4, seq=32, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    ns, inits = [], []
    hd = width // heads

    def w(name, shape, scale=None):
        a = rng.standard_normal(shape).astype(np.float32) * (scale or 1 / np.sqrt(shape[0]))
        inits.append(numpy_helper.from_array(a.astype(np.float32), name))
        return name

    def c(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    c("heads_shape", np.array([batch, seq, heads, hd], np.int64))
    c("merge_shape", np.array([batch, seq, width], np.int64))
    c("inv_sqrt_d", np.array(1 / np.sqrt(hd), np.float32))
    c("half", np.array(0.5, np.float32))
    c("one", np.array(1.0, np.float32))
    c("inv_sqrt2", np.array(1 / np.sqrt(2), np.float32))
    x, b = "x", 0
    while len(ns) < nodes:
        p = f"b{b}."

        def node(op, ins, attrs=None, out=None):
            out = out or f"{p}{op.lower()}{len(ns)}"
            ns.append(helper.make_node(op, ins, [out], name=f"{p}{op}_{len(ns)}", **(attrs or {})))
            return out

        ln = node("LayerNormalization", [x, w(p + "ln1.g", [width], 1.0), w(p + "ln1.b", [width], 0.0)],
                  {"axis": -1})
        q = node("MatMul", [ln, w(p + "wq", [width, width])])
        k = node("MatMul", [ln, w(p + "wk", [width, width])])
        v = node("MatMul", [ln, w(p + "wv", [width, width])])
        qh = node("Transpose", [node("Reshape", [q, "heads_shape"])], {"perm": [0, 2, 1, 3]})
        kh = node("Transpose", [node("Reshape", [k, "heads_shape"])], {"perm": [0, 2, 3, 1]})
        vh = node("Transpose", [node("Reshape", [v, "heads_shape"])], {"perm": [0, 2, 1, 3]})
        s = node("Mul", [node("MatMul", [qh, kh]), "inv_sqrt_d"])
        a = node("MatMul", [node("Softmax", [s], {"axis": -1}), vh])
        merged = node("Reshape", [node("Transpose", [a], {"perm": [0, 2, 1, 3]}), "merge_shape"])
        x1 = node("Add", [x, node("MatMul", [merged, w(p + "wo", [width, width])])])
        ln2 = node("LayerNormalization", [x1, w(p + "ln2.g", [width], 1.0), w(p + "ln2.b", [width], 0.0)],
                   {"axis": -1})
        h = node("MatMul", [ln2, w(p + "w1", [width, 4 * width])])
        gelu = node("Mul", [node("Mul", [h, "half"]),
                            node("Add", [node("Erf", [node("Mul", [h, "inv_sqrt2"])]), "one"])])
        x = node("Add", [x1, node("MatMul", [gelu, w(p + "w2", [4 * width, width])])])
        b += 1
    ns.append(helper.make_node("Identity", [x], ["y"], name="out"))
    shape = [batch, seq, width]
    g = helper.make_graph(ns, "transformer",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def time_cmd(cmd, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mpc_opt")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=2000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        print(f"{'model':12s} {'nodes':>6s} {'weights MB':>10s} {'import+print s':>15s} "
              f"{'(blobs elided) s':>17s} {'IR MB':>7s}")
        for name, build in (("mlp", mlp), ("transformer", transformer)):
            model = build(a.nodes)
            path = os.path.join(d, name + ".onnx")
            onnx.save(model, path)
            out = os.path.join(d, name + ".mlir")
            wmb = sum(np.prod(i.dims) * 4 for i in model.graph.initializer) / 1e6
            full = time_cmd([a.mpc_opt, path, "-o", out], a.repeat)
            size = os.path.getsize(out) / 1e6
            elided = time_cmd([a.mpc_opt, path, "-o", out,
                               "--mlir-elide-resource-strings-if-larger=64"], a.repeat)
            print(f"{name:12s} {len(model.graph.node):6d} {wmb:10.1f} {full:15.3f} "
                  f"{elided:17.3f} {size:7.1f}")


if __name__ == "__main__":
    main()
