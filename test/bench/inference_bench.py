#!/usr/bin/env python3
"""Forward-inference benchmark: mpc's CPU backend vs onnxruntime.

Models (built with the onnx Python API, FP32):
  mlp4         4 x (Gemm 1024 -> Relu), batch 256
  transformer  one pre-LN block (LayerNorm, QKV MatMuls, 8-head attention with
               Softmax, output projection, Erf-Gelu MLP, residuals), width 512,
               sequence 128, batch 4
Each is compiled with `mpc-opt --emit=plan` and timed with `mpc-run --repeat N`
(median); onnxruntime runs the same model on the same inputs with the same
intra-op thread count (median of N). The outputs are compared too.

The two are measured in R alternating rounds (`--rounds`, default 5: mpc N
runs, then onnxruntime N runs, R times), so that load from other processes
on a shared machine hits both alike. Reported: the median over the rounds of
each round's median, the ratio of those, and the spread of the per-round
ratios (min..max), which shows how noisy the machine was.

`--no-fusion` compiles without elementwise fusion (mpc-opt --no-fusion), to
measure what fusion saves.

usage: inference_bench.py MPC_OPT MPC_RUN [--threads 2] [--repeat 30] [--rounds 5] [--no-fusion]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from import_bench import transformer  # noqa: E402


def mlp4(width=1024, batch=256, layers=4, seed=0):
    rng = np.random.default_rng(seed)
    ns, inits, prev = [], [], "x"
    for i in range(layers):
        w = (rng.standard_normal((width, width)) * np.sqrt(2 / width)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"fc{i}.weight"),
                  numpy_helper.from_array(np.zeros(width, np.float32), f"fc{i}.bias")]
        ns.append(helper.make_node("Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [f"g{i}"],
                                   name=f"fc{i}", transB=1))
        ns.append(helper.make_node("Relu", [f"g{i}"], [f"r{i}"], name=f"relu{i}"))
        prev = f"r{i}"
    ns.append(helper.make_node("Identity", [prev], ["y"], name="out"))
    g = helper.make_graph(ns, "mlp4",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, width])],
                          inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), (batch, width)


def block():
    m = transformer(1, width=512, heads=8, seq=128, batch=4)
    return m, (4, 128, 512)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mpc_opt")
    ap.add_argument("mpc_run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5,
                    help="alternating mpc / onnxruntime rounds of --repeat runs each")
    ap.add_argument("--no-fusion", action="store_true",
                    help="compile with mpc-opt --no-fusion (one kernel per elementwise op)")
    a = ap.parse_args()
    print(f"{'model':12s} {'mpc ms':>8s} {'ort ms':>8s} {'mpc/ort':>8s} {'round ratios':>13s} {'max rel err':>12s}")
    with tempfile.TemporaryDirectory() as d:
        for name, (model, shape) in (("mlp4", mlp4()), ("transformer", block())):
            path = os.path.join(d, name + ".onnx")
            onnx.save(model, path)
            plan = os.path.join(d, name + ".mpcp")
            subprocess.run([a.mpc_opt, path, "--emit=plan", "-o", plan]
                           + (["--no-fusion"] if a.no_fusion else []), check=True)
            x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
            np.save(os.path.join(d, "x.npy"), x)
            out = os.path.join(d, "out")
            so = ort.SessionOptions()
            so.intra_op_num_threads = a.threads
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            ref = sess.run(None, {"x": x})[0]
            mpc_rounds, ort_rounds = [], []
            for _ in range(a.rounds):
                r = subprocess.run([a.mpc_run, plan, "--input", f"x={d}/x.npy", "--output-dir", out,
                                    "--threads", str(a.threads), "--repeat", str(a.repeat)],
                                   check=True, capture_output=True, text=True)
                mpc_rounds.append(float(re.search(r"median ([\d.]+) ms", r.stdout + r.stderr).group(1)))
                times = []
                for _ in range(a.repeat):
                    t = time.perf_counter()
                    sess.run(None, {"x": x})
                    times.append((time.perf_counter() - t) * 1e3)
                ort_rounds.append(statistics.median(times))
            mpc_ms = statistics.median(mpc_rounds)
            ort_ms = statistics.median(ort_rounds)
            ratios = [m / o for m, o in zip(mpc_rounds, ort_rounds)]
            got = np.load(os.path.join(out, "y.npy"))
            err = np.abs(got - ref).max() / np.abs(ref).max()
            spread = f"{min(ratios):.2f}..{max(ratios):.2f}"
            print(f"{name:12s} {mpc_ms:8.2f} {ort_ms:8.2f} {mpc_ms / ort_ms:8.2f} {spread:>13s} {err:12.2e}",
                  flush=True)


if __name__ == "__main__":
    main()
