#!/usr/bin/env python3
"""FP8-hybrid training against BF16 on the CPU backend.

The two models of train_numpy.py on its synthetic tasks (the MLP classifying
8 batches of points labelled by a random linear teacher, 300 AdamW steps,
lr 0.01; the pre-LN transformer block regressing a random linear map plus
noise (sigma 1.0) on a fresh batch every step, 600 AdamW steps, lr 0.01)
compiled four ways: --autocast=bf16; --autocast=bf16 --fp8=hybrid (delayed
scaling, the default amax history of 1024 and amax_algo max); the same with
--fp8-recipe=current; and with --fp8-recipe=mxfp8 (OCP MX blocks), all with
--fp8-min-gemm-size=0 so every GEMM whose dims are multiples of 16 (32 for
MXFP8) goes FP8 (the models are small). Each FP8 run's final loss
(mean over the last 8 steps for the MLP, one pass over its data, and the
last 50 for the block) must be within 3% of the BF16 run's. With noise
sigma 0.3 instead, the block's loss after 600 steps (~0.22) is low enough
for the FP8 GEMMs' own quantization noise to show (5-9% above BF16): the
test prints that gap without bounding it.

It also checks what went FP8: the precision report lists every FP8 GEMM and
every fallback with its reason (MLP: fc1 FP8, fc2 falls back, N = 10;
transformer: q, k, v, proj, fc1, fc2 FP8, the batched attention matmuls fall
back), the plan has the scaling state under its documented names, and
`mpc-run --train --fp8-history` writes step,operand,amax,scale rows.

usage: train_fp8.py MPC_OPT MPC_RUN LIBMPCRT
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpcrt import Runtime  # noqa: E402
from train_numpy import mixing_batches, task_models, teacher_batches, train_to  # noqa: E402

BOUND = 0.03


def compile_step(mpc_opt, model, work, name, extra):
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    plan = os.path.join(work, name + ".mpcp")
    report = os.path.join(work, name + ".report.json")
    cmd = [mpc_opt, path, "--train", "--optimizer=adamw,lr=0.01", *extra,
           f"--precision-report={report}", "--emit=plan", "-o", plan]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}: {proc.stderr.strip()}")
    with open(report) as f:
        return plan, json.load(f)


def fp8_verdicts(report):
    """{node: 'fp8' | 'fallback: reason'} for every GEMM the report lists."""
    out = {}
    for n in report["nodes"]:
        if "fp8" in n:
            out[n["name"]] = "fp8" if not n["fp8"].startswith("fallback") else n["fp8"]
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    mpc_opt, mpc_run, lib = sys.argv[1:]
    rt = Runtime(lib)
    rng = np.random.default_rng(7)
    mlp_data = teacher_batches(rng, 8)
    # A fresh batch every step: the block learns the map and cannot memorise
    # the noise, so the final loss measures training, not how finely each
    # format can fit 8 fixed batches.
    def block_batches(sigma, seed):
        return mixing_batches(np.random.default_rng(seed), 600, sigma)
    blk_data = block_batches(1.0, 11)
    mlp_task, blk_task = task_models()
    tasks = (("mlp", mlp_task, mlp_data, 300,
              {"fc1": "fp8", "fc2": "N = 10"}),
             ("transformer", blk_task, blk_data, 600,
              {"q": "fp8", "k": "fp8", "v": "fp8", "proj": "fp8", "fc1": "fp8", "fc2": "fp8",
               "scores": "Linear-style", "attend": "Linear-style"}))
    fp8 = ("--autocast=bf16", "--fp8=hybrid", "--fp8-min-gemm-size=0")
    variants = (("bf16", ("--autocast=bf16",)),
                ("fp8-hybrid-delayed", fp8),
                ("fp8-hybrid-current", fp8 + ("--fp8-recipe=current",)),
                ("mxfp8-hybrid", fp8 + ("--fp8-recipe=mxfp8",)))
    with tempfile.TemporaryDirectory() as work:
        for name, model, data, steps, expected in tasks:
            finals = {}
            for label, extra in variants:
                plan, report = compile_step(mpc_opt, model, work, f"{name}_{label}", extra)
                if label != "bf16":
                    got = fp8_verdicts(report)
                    for node, want in expected.items():
                        v = got.get(node)
                        if v is None or (want == "fp8") != (v == "fp8") or (want != "fp8" and want not in v):
                            sys.exit(f"FAIL: {name} {label}: report says {node!r}: {v!r}, expected {want!r}")
                    print(f"ok   {name} {label} report: " +
                          ", ".join(f"{k} {'FP8' if v == 'fp8' else 'bf16 (' + v + ')'}"
                                    for k, v in sorted(got.items())))
                losses = train_to(rt, plan, data, steps)
                if not all(np.isfinite(losses)):
                    sys.exit(f"FAIL: {name} {label}: non-finite loss")
                tail = min(len(data), 50)
                finals[label] = float(np.mean(losses[-tail:]))
                print(f"ok   {name} {label}: loss {losses[0]:.4f} -> {finals[label]:.4f} "
                      f"(mean of the last {tail} steps, {steps} AdamW steps)")
            for label, _ in variants[1:]:
                gap = abs(finals[label] - finals["bf16"]) / finals["bf16"]
                print(f"ok   {name} {label} vs bf16 final loss: {finals[label]:.4f} vs "
                      f"{finals['bf16']:.4f} ({100 * gap:.2f}% apart, bound {100 * BOUND:.0f}%)")
                if gap > BOUND:
                    sys.exit(f"FAIL: {name} {label} final loss is {100 * gap:.2f}% from bf16 "
                             f"(bound {100 * BOUND:.0f}%)")

        # Informational (no bound): with noise sigma 0.3 the block's MSE after
        # 600 steps (~0.22, above the 0.09 floor) is small enough that the
        # FP8 GEMMs' own quantization noise (about 28 dB SQNR each) shows.
        info = {}
        for label, extra in variants[:2]:
            plan, _ = compile_step(mpc_opt, tasks[1][1], work, f"info_{label}", extra)
            info[label] = float(np.mean(train_to(rt, plan, block_batches(0.3, 12), 600)[-50:]))
        print(f"info transformer, noise sigma 0.3: fp8-hybrid-delayed {info['fp8-hybrid-delayed']:.4f} "
              f"vs bf16 {info['bf16']:.4f} "
              f"({100 * (info['fp8-hybrid-delayed'] / info['bf16'] - 1):+.2f}%, not a bound)")

        # State names and telemetry through mpc-run.
        plan, _ = compile_step(mpc_opt, tasks[1][1], work, "telemetry", fp8 + ("--fp8-amax-history=4",))
        s = rt.session(plan)
        try:
            for op in ("input", "weight", "grad_output"):
                for suffix, like in ((".scale", np.float32(0)), (".scale_inv", np.float32(0)),
                                     (".amax_history", np.zeros(4, np.float32))):
                    s.state(f"fc1.fp8.{op}{suffix}", np.array(like))
        finally:
            s.close()
        csv_path = os.path.join(work, "fp8.csv")
        p = subprocess.run([mpc_run, plan, "--train", "--steps", "3", "--synthetic",
                            "--fp8-history", csv_path, "--print-every", "3"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"FAIL: mpc-run --fp8-history: {p.stderr.strip()}")
        with open(csv_path) as f:
            rows = list(csv.reader(f))
        if rows[0] != ["step", "operand", "amax", "scale"]:
            sys.exit(f"FAIL: --fp8-history header {rows[0]}")
        operands = {r[1] for r in rows[1:]}
        if len(rows) - 1 != 3 * len(operands) or "fc1.fp8.grad_output" not in operands or \
                len(operands) != 18:
            sys.exit(f"FAIL: --fp8-history rows: {len(rows) - 1} for operands {sorted(operands)}")
        for r in rows[1:]:
            amax, scale = float(r[2]), float(r[3])
            if not (amax > 0 and scale > 0 and np.isfinite(scale)):
                sys.exit(f"FAIL: --fp8-history row {r}")
        print(f"ok   mpc-run --fp8-history: {len(rows) - 1} rows, {len(operands)} operands, "
              f"e.g. {rows[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
