#!/usr/bin/env python3
"""A deep graph must import, compile and run: no recursion, nothing quadratic.

    deep_graph.py MPC_OPT MPC_RUN WORK_DIR [--nodes N] [--train]

Builds a chain of N nodes alternating Add(prev, 1) and Relu, then times
mpc-opt (import to MLIR), mpc-opt --emit=plan, mpc-run, and checks the output
exactly (integers stay exact in f32). With --train it also compiles the chain
as a training step (autodiff's backward walk over N nodes).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def timed(label, cmd):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.monotonic() - t0
    print(f"deep-graph: {label}: {dt:.2f} s (exit {p.returncode})", flush=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace")[-4000:])
        sys.exit(f"deep-graph: FAILED: {label}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mpc_opt")
    ap.add_argument("mpc_run")
    ap.add_argument("work")
    ap.add_argument("--nodes", type=int, default=100000)
    ap.add_argument("--train", action="store_true")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    n = a.nodes
    t0 = time.monotonic()
    nodes, prev = [], "x"
    for i in range(n):
        out = f"v{i}" if i < n - 1 else "y"
        if i % 2 == 0:
            nodes.append(h.make_node("Add", [prev, "one"], [out], name=f"add{i}"))
        else:
            nodes.append(h.make_node("Relu", [prev], [out], name=f"relu{i}"))
        prev = out
    one = nh.from_array(np.array(1.0, np.float32), "one")
    g = h.make_graph(nodes, "chain", [h.make_tensor_value_info("x", T.FLOAT, [8])],
                     [h.make_tensor_value_info("y", T.FLOAT, [8])], [one])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    model = os.path.join(a.work, "chain.onnx")
    with open(model, "wb") as f:
        f.write(m.SerializeToString())
    print(f"deep-graph: generated {n} nodes in {time.monotonic() - t0:.2f} s", flush=True)

    timed("import + verify + print (mpc-opt -o chain.mlir)", [a.mpc_opt, model, "-o", os.path.join(a.work, "chain.mlir")])
    plan = os.path.join(a.work, "chain.mpcp")
    timed("compile to a plan (--emit=plan)", [a.mpc_opt, model, "--emit=plan", "-o", plan])
    timed("compile to a plan without fusion (--emit=plan --no-fusion)",
          [a.mpc_opt, model, "--emit=plan", "--no-fusion", "-o", os.path.join(a.work, "chain-nofuse.mpcp")])
    x = np.array([0, 1, 2, 3, -1, -5, 10, 100], np.float32)
    np.save(os.path.join(a.work, "x.npy"), x)
    outs = os.path.join(a.work, "out")
    for p in ("chain.mpcp", "chain-nofuse.mpcp"):
        shutil.rmtree(outs, ignore_errors=True)
        timed(f"run {p} (mpc-run)", [a.mpc_run, os.path.join(a.work, p), "--input", "x=" + os.path.join(a.work, "x.npy"),
                                      "--output-dir", outs, "--threads", "1"])
        y = np.load(os.path.join(outs, "y.npy"))
        # Each Add/Relu pair: v -> max(v + 1, 0).
        pairs, odd = n // 2, n % 2
        want = x.copy()
        for _ in range(min(pairs, 16)):
            want = np.maximum(want + 1, 0)
        want = want + (pairs - min(pairs, 16))  # all positive from here on
        if odd:
            want = want + 1
        if not np.array_equal(y, want):
            sys.exit(f"deep-graph: FAILED: {p}: wrong output {y} (expected {want})")
    if a.train:
        # Training: a weight at the start so the backward walks the whole chain.
        timed("training step (--train --emit=plan)",
              [a.mpc_opt, model, "--train", "--emit=plan", "-o", os.path.join(a.work, "train.mpcp")])
    print("deep-graph: ok")


if __name__ == "__main__":
    main()
