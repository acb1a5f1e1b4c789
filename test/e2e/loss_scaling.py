#!/usr/bin/env python3
"""Loss scaling, master weights, clipping and accumulation, end to end.

Each check compiles an ONNX model with `mpc-opt --train ...`, steps it on the
CPU runtime (C API through ctypes) and compares with an independent Python
model:

  scaler       the scale and growth tracker, step by step, against a Python
               model of torch.amp.GradScaler over a run with injected inf and
               NaN gradients and a short growth interval (and a floor and a
               ceiling); a skipped step leaves parameters, momentum buffers
               and the step counter bit-identical and reports the parameter
               whose gradient was not finite; applied steps match NumPy.
  underflow    a model whose true gradients are below FP16's smallest
               subnormal: under --autocast=fp16 without loss scaling the weight
               never moves (asserted bit for bit); with dynamic scaling it
               follows the FP64 NumPy trajectory.
  master       --master-weights: the stored BF16 working copy is the FP32
               master rounded to nearest even after every step.
  schedule     --accumulate=3 --clip-grad-norm with two parameter groups, in
               FP32, against a NumPy reference of the same schedule
               (parameters within relative 1e-4).
  convergence  FP16 + dynamic scaling + master weights trains the MLP and the
               transformer block of train_numpy.py to within 2% of the FP32
               final loss (mean over the last pass of the data). The
               learning rate decays linearly to 0, as training recipes end:
               at a constant rate of 0.01 the transformer's loss oscillates
               by tens of percent between passes, and the comparison would
               measure where each trajectory happened to be.

usage: loss_scaling.py MPC_OPT LIBMPCRT
"""
import argparse
import os
import subprocess
import sys
import tempfile

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpcrt import Runtime  # noqa: E402
from train_numpy import (AdamW, mixing_batches, mlp_model, mlp_reference,  # noqa: E402
                         task_models, teacher_batches, train_to)

F = TensorProto.FLOAT


def compile_plan(mpc_opt, model, work, name, flags):
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    plan = os.path.join(work, name + ".mpcp")
    proc = subprocess.run([mpc_opt, path, "--train", *flags, "--emit=plan", "-o", plan],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: mpc-opt {name} {' '.join(flags)}: {proc.stderr.strip()}")
    return plan


def fail(message):
    sys.exit("FAIL " + message)


# ---------------------------------------------------------------------------
# The GradScaler model


class GradScalerModel:
    """torch.amp.GradScaler's update rule (plus mpc's optional clamp), with
    the scale kept in float32 as PyTorch keeps it."""

    def __init__(self, init, growth=2.0, backoff=0.5, interval=2000, lo=0.0, hi=0.0):
        self.scale, self.tracker = np.float32(init), 0
        self.growth, self.backoff, self.interval, self.lo, self.hi = growth, backoff, interval, lo, hi

    def update(self, found_inf):
        if found_inf:
            self.scale = np.float32(float(self.scale) * self.backoff)
            self.tracker = 0
        else:
            self.tracker += 1
            if self.tracker == self.interval:
                grown = np.float32(float(self.scale) * self.growth)
                if np.isfinite(grown):
                    self.scale = grown
                self.tracker = 0
        if self.lo > 0:
            self.scale = max(self.scale, np.float32(self.lo))
        if self.hi > 0:
            self.scale = min(self.scale, np.float32(self.hi))


def two_branch_model(batch, n_in, n_out, seed):
    """loss = mean(x1 @ w1) + mean(x2 @ w2): each weight's gradient depends
    only on its own input, so an inf injected into x2 makes only w2's
    gradient non-finite."""
    rng = np.random.default_rng(seed)
    params = {"w1": rng.standard_normal((n_in, n_out)).astype(np.float32),
              "w2": rng.standard_normal((n_in, n_out)).astype(np.float32)}
    nodes = [helper.make_node("MatMul", ["x1", "w1"], ["y1"], name="mm1"),
             helper.make_node("MatMul", ["x2", "w2"], ["y2"], name="mm2"),
             helper.make_node("ReduceMean", ["y1"], ["l1"], name="mean1", keepdims=0),
             helper.make_node("ReduceMean", ["y2"], ["l2"], name="mean2", keepdims=0),
             helper.make_node("Add", ["l1", "l2"], ["loss"], name="sum")]
    graph = helper.make_graph(
        nodes, "two_branch",
        [helper.make_tensor_value_info("x1", F, [batch, n_in]),
         helper.make_tensor_value_info("x2", F, [batch, n_in])],
        [helper.make_tensor_value_info("loss", F, [])],
        [numpy_helper.from_array(v, k) for k, v in params.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), params


def check_scaler(rt, mpc_opt, work):
    B, N, M = 4, 5, 3
    model, params = two_branch_model(B, N, M, seed=11)
    lr, momentum = 0.01, 0.9
    configs = (
        ("plain", dict(init=1024.0, growth=2.0, backoff=0.5, interval=3),
         "dynamic,init=1024,interval=3"),
        ("clamped", dict(init=1024.0, growth=4.0, backoff=0.25, interval=2, lo=64.0, hi=4096.0),
         "dynamic,init=1024,growth=4,backoff=0.25,interval=2,min=64,max=4096"),
    )
    # step -> (input, value): inf and NaN gradients, single and consecutive.
    inject = {3: ("x2", np.inf), 4: ("x2", np.nan), 9: ("x1", -np.inf), 10: ("x2", np.inf),
              11: ("x1", np.nan), 12: ("x1", np.inf), 13: ("x2", np.nan)}
    rng = np.random.default_rng(12)
    batches = [{"x1": rng.standard_normal((B, N)).astype(np.float32),
                "x2": rng.standard_normal((B, N)).astype(np.float32)} for _ in range(24)]
    for step, (name, value) in inject.items():
        batches[step][name][1, 2] = value
    for label, ref_args, flag in configs:
        plan = compile_plan(mpc_opt, model, work, "scaler_" + label,
                            [f"--optimizer=momentum,lr={lr},momentum={momentum}",
                             f"--loss-scale={flag}"])
        check_scaler_run(rt, plan, label, params, batches, inject, GradScalerModel(**ref_args),
                         lr, momentum)
    # FP16 with master weights and AdamW: the same trajectory of the scale,
    # and a skipped step leaves every state tensor (masters, working copies,
    # moments, counters) bit-identical.
    plan = compile_plan(mpc_opt, model, work, "scaler_fp16_master",
                        ["--autocast=fp16", "--master-weights", "--optimizer=adamw,lr=0.01",
                         "--loss-scale=dynamic,init=1024,interval=3"])
    check_scaler_run(rt, plan, "fp16 master adamw", params, batches, inject,
                     GradScalerModel(1024.0, interval=3), None, None)


def check_scaler_run(rt, plan, label, params, batches, inject, ref, lr, momentum):
    """Steps `plan`; with `lr` also checks applied steps against NumPy's SGD
    with momentum (FP32 models only)."""
    B, N = batches[0]["x1"].shape
    M = params["w1"].shape[1]
    p = {k: v.astype(np.float64) for k, v in params.items()}
    buf = {}
    applied = 0
    s = rt.session(plan)
    try:
        for step, feed in enumerate(batches):
            scale_before = s.state("loss_scale.scale", np.zeros((), np.float32))
            if scale_before != ref.scale:
                fail(f"scaler {label} step {step}: scale {scale_before} vs GradScaler "
                     f"{ref.scale}")
            before = s.state_bytes()
            for k, v in feed.items():
                s.set_input(k, v)
            s.run()
            found = float(s.output("found_inf")) != 0
            bad = step in inject
            if found != bad:
                fail(f"scaler {label} step {step}: found_inf {found}, injected {bad}")
            ref.update(found)
            tracker = int(s.state("loss_scale.growth_tracker", np.zeros((), np.int64)))
            if tracker != ref.tracker:
                fail(f"scaler {label} step {step}: tracker {tracker} vs GradScaler {ref.tracker}")
            if bad:
                # Skipped: every state but the scaler's own is
                # bit-identical, and the right tensor is reported.
                after = s.state_bytes()
                for k, v in before.items():
                    if not k.startswith("loss_scale.") and after[k] != v:
                        fail(f"scaler {label} step {step}: skipped step changed '{k}'")
                index = int(s.output("nonfinite_index"))
                expected = 0 if inject[step][0] == "x1" else 1
                if index != expected:
                    fail(f"scaler {label} step {step}: non-finite gradient reported for "
                         f"parameter #{index}, expected #{expected} (w{expected + 1})")
                continue
            applied += 1
            if lr is None:
                continue
            # Applied: torch.optim.SGD with momentum on the true gradient.
            for k, x in (("w1", "x1"), ("w2", "x2")):
                g = feed[x].astype(np.float64).T @ np.full((B, M), 1.0 / (B * M))
                buf[k] = g if applied == 1 else momentum * buf[k] + g
                p[k] = p[k] - lr * buf[k]
            for k, v in p.items():
                got = s.state(k, params[k]).astype(np.float64)
                err = np.abs(got - v).max() / np.abs(v).max()
                if err > 1e-6:
                    fail(f"scaler {label} step {step}: '{k}' rel err {err:.2e} vs NumPy")
            if int(s.output("nonfinite_index")) != -1:
                fail(f"scaler {label} step {step}: a finite step reported a non-finite tensor")
        final = s.state("optimizer.step", np.zeros((), np.int64))
    finally:
        s.close()
    if final != applied:
        fail(f"scaler {label}: optimizer.step {final}, expected {applied} applied steps")
    numpy = "; applied steps within 1e-6 of NumPy" if lr is not None else ""
    print(f"ok   scaler {label}: {len(batches)} steps, {len(inject)} skipped; scale and "
          f"tracker match GradScaler at every step (final scale {ref.scale:g}); skipped steps "
          f"leave every other state bit-identical and name the parameter{numpy}")


# ---------------------------------------------------------------------------
# FP16 underflow


def tiny_gradient_model(batch, n_in, n_out, factor, seed):
    """loss = mean(x @ w) * factor: dloss/dy = factor / (batch * n_out) is far
    below FP16's smallest subnormal (2^-24) for factor = 2^-22."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_in, n_out)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
             helper.make_node("ReduceMean", ["y"], ["m"], name="mean", keepdims=0),
             helper.make_node("Mul", ["m", "factor"], ["loss"], name="scale")]
    graph = helper.make_graph(
        nodes, "tiny_gradients", [helper.make_tensor_value_info("x", F, [batch, n_in])],
        [helper.make_tensor_value_info("loss", F, [])],
        [numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(np.array(factor, np.float32), "factor")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), w


def check_underflow(rt, mpc_opt, work):
    B, N, M, factor, lr, steps = 4, 8, 8, 2.0 ** -22, 2.0 ** 20, 5
    model, w0 = tiny_gradient_model(B, N, M, factor, seed=21)
    dy = factor / (B * M)
    assert dy < 2.0 ** -25, "the true gradient must round to zero in FP16"
    rng = np.random.default_rng(22)
    xs = [rng.standard_normal((B, N)).astype(np.float32) for _ in range(steps)]
    results = {}
    for label, scaling in (("unscaled", "none"), ("dynamic", "dynamic")):
        plan = compile_plan(mpc_opt, model, work, "underflow_" + label,
                            ["--autocast=fp16", f"--optimizer=sgd,lr={lr}",
                             f"--loss-scale={scaling}", "--trainable=w"])
        s = rt.session(plan)
        try:
            for x in xs:
                s.set_input("x", x)
                s.run()
            results[label] = s.state("w", w0)
        finally:
            s.close()
    if results["unscaled"].tobytes() != w0.tobytes():
        fail("underflow: without loss scaling the FP16 gradient should underflow to 0 and leave "
             "w unchanged")
    # FP64 reference: the matmul sees x and w rounded to FP16 (autocast).
    w = w0.astype(np.float64)
    for x in xs:
        x16 = x.astype(np.float16).astype(np.float64)
        w = w - lr * (x16.T @ np.full((B, M), dy))
    moved = np.abs(results["dynamic"] - w0).max()
    err = np.abs(results["dynamic"] - w).max() / np.abs(w - w0).max()
    if moved == 0 or err > 1e-2:
        fail(f"underflow: with dynamic scaling w moved {moved:.3g}, error {err:.3g} relative to "
             "the update")
    print(f"ok   underflow: true gradient {dy:.2e} < 2^-25; without scaling w is bit-identical "
          f"after {steps} steps, with dynamic scaling it moves {moved:.3g} and matches NumPy "
          f"within {err:.2e} of the update")


# ---------------------------------------------------------------------------
# Master weights


def check_master(rt, mpc_opt, work):
    B, Fe, H, C = 16, 12, 24, 5
    model, params = mlp_model(B, Fe, H, C, seed=31)
    plan = compile_plan(mpc_opt, model, work, "master_bf16",
                        ["--autocast=bf16", "--optimizer=adamw,lr=0.01", "--master-weights"])
    rng = np.random.default_rng(32)
    s = rt.session(plan)
    try:
        for step in range(5):
            s.set_input("x", rng.standard_normal((B, Fe)).astype(np.float32))
            s.set_input("labels", rng.integers(0, C, B).astype(np.int64))
            s.run()
            for k in ("fc1.weight", "fc2.weight"):
                master = s.state(k + ".master", params[k])
                working = s.state(k, np.zeros(params[k].shape, np.uint16))
                expected = master.astype(ml_dtypes.bfloat16).view(np.uint16)
                if working.tobytes() != expected.tobytes():
                    fail(f"master step {step}: '{k}' is not its FP32 master rounded to BF16")
                if step == 4 and master.tobytes() == params[k].tobytes():
                    fail(f"master: '{k}.master' never changed")
    finally:
        s.close()
    print("ok   master: after every step the BF16 working copies equal their FP32 masters "
          "rounded to nearest even")


# ---------------------------------------------------------------------------
# Accumulation, clipping and parameter groups against NumPy


def check_schedule(rt, mpc_opt, work):
    B, Fe, H, C = 8, 12, 24, 5
    model, params = mlp_model(B, Fe, H, C, seed=41)
    K, max_norm, lr = 3, 0.5, 0.01
    plan = compile_plan(mpc_opt, model, work, "schedule",
                        [f"--optimizer=adamw,lr={lr},weight_decay=0.01", f"--accumulate={K}",
                         f"--clip-grad-norm={max_norm}",
                         "--param-group=fc1\\..*:lr_scale=0.5,weight_decay=0",
                         "--param-group=.*bias:beta2=0.9"])
    rng = np.random.default_rng(42)
    steps = 6
    micro = [{"x": rng.standard_normal((B, Fe)).astype(np.float32),
              "labels": rng.integers(0, C, B).astype(np.int64)} for _ in range(steps * K)]
    # The first matching group wins: fc1.bias takes the fc1 group only.
    groups = {k: dict(lr=lr * 0.5, weight_decay=0.0, beta2=0.999) if k.startswith("fc1.") else
              dict(lr=lr, weight_decay=0.01, beta2=0.9 if k.endswith("bias") else 0.999)
              for k in params}
    opts = {k: AdamW(g["lr"], beta2=g["beta2"], weight_decay=g["weight_decay"])
            for k, g in groups.items()}
    ref = {k: v.astype(np.float64) for k, v in params.items()}
    s = rt.session(plan)
    worst, clipped = 0.0, 0
    try:
        for step in range(steps):
            total = {k: 0.0 for k in params}
            for m in range(K):
                feed = micro[step * K + m]
                for k, v in feed.items():
                    s.set_input(k, v)
                s.run()
                _, g = mlp_reference(ref, feed["x"].astype(np.float64), feed["labels"])
                for k in params:
                    total[k] = total[k] + g[k] / K
            norm = np.sqrt(sum((v ** 2).sum() for v in total.values()))
            coef = max_norm / (norm + 1e-6)
            if coef < 1:
                clipped += 1
                total = {k: v * coef for k, v in total.items()}
            got_norm = float(s.output("grad_norm"))
            if abs(got_norm - norm) > 1e-4 * norm:
                fail(f"schedule step {step}: grad_norm {got_norm} vs NumPy {norm}")
            for k in params:
                one = {k: ref[k]}
                opts[k].step(one, {k: total[k]})
                ref[k] = one[k]
            for k, v in ref.items():
                got = s.state(k, params[k]).astype(np.float64)
                err = np.abs(got - v).max() / max(np.abs(v).max(), 1e-12)
                worst = max(worst, err)
                if err > 1e-4:
                    fail(f"schedule step {step}: '{k}' rel err {err:.3g} > 1e-4")
        count = s.state("optimizer.step", np.zeros((), np.int64))
    finally:
        s.close()
    if count != steps:
        fail(f"schedule: optimizer.step {count} after {steps * K} micro-batches, expected {steps}")
    if clipped == 0:
        fail("schedule: max_norm never clipped; the check would not test clipping")
    print(f"ok   schedule: accumulate={K}, clip-grad-norm={max_norm} ({clipped}/{steps} steps "
          f"clipped), two parameter groups: {steps} AdamW steps within rel {worst:.2e} of NumPy")


# ---------------------------------------------------------------------------
# FP16 convergence


def check_convergence(rt, mpc_opt, work):
    rng = np.random.default_rng(7)
    mlp_task, blk_task = task_models()
    tasks = (("mlp", mlp_task, teacher_batches(rng, 8), 300),
             ("transformer", blk_task, mixing_batches(rng, 8, sigma=0.3), 600))
    for name, model, data, steps in tasks:
        finals = {}
        for label, flags in (("fp32", ()),
                             ("fp16", ("--autocast=fp16", "--loss-scale=dynamic",
                                       "--master-weights"))):
            plan = compile_plan(mpc_opt, model, work, f"conv_{name}_{label}",
                                ["--optimizer=adamw,lr=0.01", *flags])
            losses = train_to(rt, plan, data, steps, decay_from=0.01)
            finals[label] = float(np.mean(losses[-len(data):]))
        gap = abs(finals["fp16"] - finals["fp32"]) / finals["fp32"]
        print(f"ok   {name} fp16+dynamic scaling+master weights vs fp32 final loss: "
              f"{finals['fp16']:.4f} vs {finals['fp32']:.4f} ({100 * gap:.2f}% apart, bound 2%)")
        if gap > 0.02:
            fail(f"{name}: fp16 final loss is {100 * gap:.2f}% from fp32 (bound 2%)")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mpc_opt")
    ap.add_argument("libmpcrt")
    ap.add_argument("--only", help="run one check: scaler, underflow, master, schedule, "
                                   "convergence")
    a = ap.parse_args()
    rt = Runtime(a.libmpcrt)
    checks = {"scaler": check_scaler, "underflow": check_underflow, "master": check_master,
              "schedule": check_schedule, "convergence": check_convergence}
    with tempfile.TemporaryDirectory() as work:
        for name, check in checks.items():
            if a.only in (None, name):
                check(rt, a.mpc_opt, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
