#!/usr/bin/env python3
"""Elementwise fusion never changes a value: fused vs unfused plans, bit for bit.

Models (built with the onnx Python API):
  mlp          MatMul -> bias Add -> SiLU (x * Sigmoid(x)) -> MatMul -> bias Add
               -> Tanh -> scaled, plus a softmax cross-entropy loss
  transformer  the pre-LN block of train_numpy.py (Erf-Gelu MLP written as
               ONNX Mul/Erf/Add ops, residuals, MSE loss)

Each is compiled by `mpc-opt --emit=plan` twice, with the default fusion and
with `--no-fusion`, in FP32 and with `--autocast=bf16`:
  * inference: run by `mpc-run --output-dir`, every output compared byte for
    byte;
  * training (`--train --optimizer=adamw`): 3 steps through the C API (on
    fresh batches), the loss and every parameter compared byte for byte after
    each step.
The fused plans must contain fusion groups (from `--plan-stats`), so the test
checks something.

usage: fusion_bitexact.py MPC_OPT MPC_RUN LIBMPCRT
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpcrt import Runtime  # noqa: E402
from train_numpy import transformer_model  # noqa: E402

F = TensorProto.FLOAT


def mlp_model(batch=16, features=48, hidden=96, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    params = {
        "w1": rng.standard_normal((features, hidden)) / np.sqrt(features),
        "b1": 0.1 * rng.standard_normal(hidden),
        "w2": rng.standard_normal((hidden, classes)) / np.sqrt(hidden),
        "b2": 0.1 * rng.standard_normal(classes),
    }
    params = {k: v.astype(np.float32) for k, v in params.items()}
    consts = {"temp": np.array(3.0, np.float32)}
    N = helper.make_node
    nodes = [
        N("MatMul", ["x", "w1"], ["h0"], name="fc1"), N("Add", ["h0", "b1"], ["h"], name="fc1_bias"),
        N("Sigmoid", ["h"], ["sg"], name="silu_sigmoid"), N("Mul", ["h", "sg"], ["a"], name="silu"),
        N("MatMul", ["a", "w2"], ["z0"], name="fc2"), N("Add", ["z0", "b2"], ["z"], name="fc2_bias"),
        N("Tanh", ["z"], ["t"], name="squash"), N("Mul", ["t", "temp"], ["logits"], name="temperature"),
        N("SoftmaxCrossEntropyLoss", ["logits", "labels"], ["loss"], name="ce"),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", F, [batch, features]),
         helper.make_tensor_value_info("labels", TensorProto.INT64, [batch])],
        [helper.make_tensor_value_info("loss", F, [])],
        [numpy_helper.from_array(v, k) for k, v in {**params, **consts}.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

    def batches(rng):
        return {"x": rng.standard_normal((batch, features)).astype(np.float32),
                "labels": rng.integers(0, classes, batch).astype(np.int64)}
    return model, params, batches, [("logits", [batch, classes])]


def block_model(batch=2, seq=16, width=32, heads=2, ff=64):
    model, params = transformer_model(batch, seq, width, heads, ff, seed=0)

    def batches(rng):
        return {"x": rng.standard_normal((batch, seq, width)).astype(np.float32),
                "target": rng.standard_normal((batch, seq, width)).astype(np.float32)}
    return model, params, batches, [("y", [batch, seq, width]), ("gl", [batch, seq, ff])]


def with_outputs(model, outputs):
    """The inference model: the loss and some intermediate values as outputs."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for name, shape in outputs:
        m.graph.output.append(helper.make_tensor_value_info(name, F, shape))
    return m


def compile_plan(mpc_opt, path, plan, flags):
    proc = subprocess.run([mpc_opt, path, *flags, "--emit=plan", "-o", plan, "--plan-stats"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: mpc-opt {' '.join(flags)} {path}: {proc.stderr.strip()}")
    m = re.search(r"fused (\d+) elementwise ops into (\d+) groups", proc.stderr)
    if not m:
        sys.exit(f"FAIL: no fusion statistics from mpc-opt --plan-stats: {proc.stderr.strip()}")
    return int(m.group(1)), int(m.group(2))


def check_fused(stats_fused, stats_unfused, label):
    if stats_fused[1] == 0:
        sys.exit(f"FAIL {label}: the fused plan has no fusion group")
    if stats_unfused[1] != 0:
        sys.exit(f"FAIL {label}: --no-fusion still fused {stats_unfused[1]} groups")


def run_inference(mpc_run, plan, feed, work, tag):
    out = os.path.join(work, tag)
    args = [mpc_run, plan, "--output-dir", out, "--threads", "2"]
    for k, v in feed.items():
        path = os.path.join(work, f"{tag}.{k}.npy")
        np.save(path, v)
        args += ["--input", f"{k}={path}"]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: mpc-run {plan}: {proc.stderr.strip()}")
    return {f[:-4]: np.load(os.path.join(out, f)) for f in sorted(os.listdir(out))}


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mpc_opt")
    ap.add_argument("mpc_run")
    ap.add_argument("libmpcrt")
    a = ap.parse_args()
    rt = Runtime(a.libmpcrt)
    with tempfile.TemporaryDirectory() as work:
        for name, (model, params, batches, extra) in (("mlp", mlp_model()),
                                                       ("transformer", block_model())):
            for precision, pflags in (("fp32", []), ("bf16", ["--autocast=bf16"])):
                # Inference.
                label = f"{name} {precision} inference"
                path = os.path.join(work, f"{name}.infer.onnx")
                onnx.save(with_outputs(model, extra), path)
                plans = {}
                for mode, mflags in (("fused", []), ("unfused", ["--no-fusion"])):
                    plans[mode] = os.path.join(work, f"{name}.{precision}.infer.{mode}.mpcp")
                    plans[mode + ".stats"] = compile_plan(a.mpc_opt, path, plans[mode], pflags + mflags)
                check_fused(plans["fused.stats"], plans["unfused.stats"], label)
                feed = batches(np.random.default_rng(7))
                got = run_inference(a.mpc_run, plans["fused"], feed, work, f"{name}.{precision}.f")
                want = run_inference(a.mpc_run, plans["unfused"], feed, work, f"{name}.{precision}.u")
                if sorted(got) != sorted(want) or len(got) < 2:
                    sys.exit(f"FAIL {label}: outputs {sorted(got)} vs {sorted(want)}")
                for k in want:
                    if not same_bits(got[k], want[k]):
                        diff = np.abs(got[k].astype(np.float64) - want[k]).max()
                        sys.exit(f"FAIL {label}: output '{k}' differs (max |diff| {diff:.3g})")
                print(f"ok   {label}: {plans['fused.stats'][0]} ops in {plans['fused.stats'][1]} "
                      f"groups, {len(want)} outputs bit-identical")

                # Training steps.
                label = f"{name} {precision} adamw training"
                path = os.path.join(work, f"{name}.train.onnx")
                onnx.save(model, path)
                for mode, mflags in (("fused", []), ("unfused", ["--no-fusion"])):
                    plans[mode] = os.path.join(work, f"{name}.{precision}.train.{mode}.mpcp")
                    plans[mode + ".stats"] = compile_plan(
                        a.mpc_opt, path, plans[mode],
                        pflags + ["--train", "--optimizer=adamw,lr=0.01"] + mflags)
                check_fused(plans["fused.stats"], plans["unfused.stats"], label)
                sessions = {m: rt.session(plans[m]) for m in ("fused", "unfused")}
                try:
                    rng = np.random.default_rng(11)
                    for step in range(3):
                        feed = batches(rng)
                        for s in sessions.values():
                            for k, v in feed.items():
                                s.set_input(k, v)
                            s.run()
                        lf, lu = (sessions[m].output("loss") for m in ("fused", "unfused"))
                        if not same_bits(lf, lu):
                            sys.exit(f"FAIL {label} step {step}: loss {lf} vs unfused {lu}")
                        for k, v in params.items():
                            pf = sessions["fused"].state(k, v)
                            pu = sessions["unfused"].state(k, v)
                            if not same_bits(pf, pu):
                                sys.exit(f"FAIL {label} step {step}: parameter '{k}' differs "
                                         f"(max |diff| {np.abs(pf - pu).max():.3g})")
                finally:
                    for s in sessions.values():
                        s.close()
                print(f"ok   {label}: {plans['fused.stats'][0]} ops in {plans['fused.stats'][1]} "
                      f"groups, loss and {len(params)} parameters bit-identical over 3 steps")
    print("PASS")


if __name__ == "__main__":
    main()
