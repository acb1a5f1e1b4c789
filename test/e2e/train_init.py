#!/usr/bin/env python3
"""ModelProto.training_info with an initialization graph, end to end.

A two-layer MLP whose parameters are placeholders (zeros) in the inference
graph; training_info's initialization graph computes them from constants and
the initializer `gain` (Mul, Add, Sub, Reshape, Transpose), and its algorithm
is plain SGD through the ONNX Gradient op. mpc-opt evaluates the
initialization at compile time on the CPU runtime; the test checks

* the plan's initial state against the initialization graph run by
  onnxruntime (and against NumPy),
* the losses and parameters of a few training steps against a NumPy float64
  transcription of the same SGD steps started from onnxruntime's values.

    train_init.py MPC_OPT LIBMPCRT [--keep DIR]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as T, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpcrt import Runtime  # noqa: E402

N, IN, HID, OUT = 4, 8, 16, 3
LR = 0.05
STEPS = 5
PARAMS = ["W1", "b1", "W2"]

rng = np.random.default_rng(7)
C1 = rng.uniform(-1, 1, IN * HID).astype(np.float32)
C2 = rng.uniform(-0.05, 0.05, IN * HID).astype(np.float32)
BA = rng.uniform(-0.2, 0.2, HID).astype(np.float32)
BB = rng.uniform(-0.2, 0.2, HID).astype(np.float32)
C3 = rng.uniform(-0.5, 0.5, (OUT, HID)).astype(np.float32)
GAIN = np.array(0.35, np.float32)


def const(name, value):
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(np.asarray(value), name))


def init_nodes():
    """W1 = Reshape(C1 * gain + C2, [IN, HID]), b1 = BA - BB, W2 = Transpose(C3)."""
    return [const("c1", C1), const("c2", C2), const("w1_shape", np.array([IN, HID], np.int64)),
            helper.make_node("Mul", ["c1", "gain"], ["c1g"], name="init_gain"),
            helper.make_node("Add", ["c1g", "c2"], ["w1_flat"], name="init_add"),
            helper.make_node("Reshape", ["w1_flat", "w1_shape"], ["W1_init"], name="init_reshape"),
            const("ba", BA), const("bb", BB),
            helper.make_node("Sub", ["ba", "bb"], ["b1_init"], name="init_sub"),
            const("c3", C3),
            helper.make_node("Transpose", ["c3"], ["W2_init"], name="init_transpose", perm=[1, 0])]


def build_model():
    inits = [numpy_helper.from_array(np.zeros((IN, HID), np.float32), "W1"),
             numpy_helper.from_array(np.zeros((HID,), np.float32), "b1"),
             numpy_helper.from_array(np.zeros((HID, OUT), np.float32), "W2"),
             numpy_helper.from_array(GAIN, "gain"),
             numpy_helper.from_array(np.array(0.05, np.float32), "half_mean")]
    main = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["xw"], name="fc1"),
         helper.make_node("Add", ["xw", "b1"], ["h"], name="fc1_bias"),
         helper.make_node("Relu", ["h"], ["a"], name="relu"),
         helper.make_node("MatMul", ["a", "W2"], ["out"], name="fc2"),
         helper.make_node("Sub", ["out", "t"], ["d"], name="diff"),
         helper.make_node("Mul", ["d", "d"], ["d2"], name="square"),
         helper.make_node("ReduceSum", ["d2"], ["s"], name="sum", keepdims=0),
         helper.make_node("Mul", ["s", "half_mean"], ["loss"], name="scale")],
        "mlp", [helper.make_tensor_value_info("x", T.FLOAT, [N, IN]),
                helper.make_tensor_value_info("t", T.FLOAT, [N, OUT])],
        [helper.make_tensor_value_info("loss", T.FLOAT, [])], inits)
    lr = numpy_helper.from_array(np.array(LR, np.float32), "lr")
    nodes = [helper.make_node("Gradient", PARAMS, ["d" + p for p in PARAMS], name="grad",
                              domain="ai.onnx.preview.training", xs=PARAMS, y="loss")]
    for p in PARAMS:
        nodes += [helper.make_node("Mul", ["lr", "d" + p], ["s" + p], name="lr_" + p),
                  helper.make_node("Sub", [p, "s" + p], [p + "_new"], name="update_" + p)]
    alg = helper.make_graph(nodes, "algorithm", [],
                            [helper.make_tensor_value_info(p + "_new", T.FLOAT, None)
                             for p in PARAMS], [lr])
    init = helper.make_graph(init_nodes(), "initialization", [],
                             [helper.make_tensor_value_info(p + "_init", T.FLOAT, None)
                              for p in PARAMS])
    ti = helper.make_training_info(alg, [(p, p + "_new") for p in PARAMS], init,
                                   [(p, p + "_init") for p in PARAMS])
    m = helper.make_model(main, opset_imports=[helper.make_opsetid("", 17),
                                               helper.make_opsetid("ai.onnx.preview.training",
                                                                   1)])
    m.training_info.append(ti)
    m.ir_version = 8
    return m


def ort_initialization():
    """The initialization graph alone, run by onnxruntime."""
    import onnxruntime as ort
    graph = helper.make_graph(init_nodes(), "initialization", [],
                              [helper.make_tensor_value_info(p + "_init", T.FLOAT, None)
                               for p in PARAMS], [numpy_helper.from_array(GAIN, "gain")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run([p + "_init" for p in PARAMS], {})
    return dict(zip(PARAMS, outs))


def numpy_steps(params, x, t):
    p = {k: v.astype(np.float64) for k, v in params.items()}
    x, t = x.astype(np.float64), t.astype(np.float64)
    losses = []
    for _ in range(STEPS):
        h = x @ p["W1"] + p["b1"]
        a = np.maximum(h, 0)
        d = a @ p["W2"] - t
        losses.append(0.05 * float((d * d).sum()))
        dout = 0.1 * d
        grads = {"W2": a.T @ dout}
        dh = (dout @ p["W2"].T) * (h > 0)
        grads["W1"] = x.T @ dh
        grads["b1"] = dh.sum(0)
        for k in PARAMS:
            p[k] = p[k] - LR * grads[k]
    return losses, p


def run(args, workdir):
    model = build_model()
    src = os.path.join(workdir, "mlp_init.onnx")
    plan = os.path.join(workdir, "mlp_init.mpcp")
    onnx.save(model, src)
    proc = subprocess.run([args.mpc_opt, src, "--emit=plan", "-o", plan],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"FAIL mpc-opt: {proc.stderr.strip()}")
        return 1
    failures = 0
    ref = ort_initialization()
    by_numpy = {"W1": (C1 * GAIN + C2).reshape(IN, HID), "b1": BA - BB, "W2": C3.T}
    x = rng.uniform(-1, 1, (N, IN)).astype(np.float32)
    t = rng.uniform(-1, 1, (N, OUT)).astype(np.float32)
    rt = Runtime(args.libmpcrt)
    s = rt.session(plan)
    try:
        for p in PARAMS:
            got = s.state(p, ref[p])
            ok = np.array_equal(got, ref[p]) and np.allclose(got, by_numpy[p], rtol=0, atol=1e-6)
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} initial {p:3s} equals onnxruntime's initialization "
                  f"(max |diff| {np.abs(got - ref[p]).max():.1e})")
        s.set_input("x", x)
        s.set_input("t", t)
        losses = []
        for _ in range(STEPS):
            s.run()
            losses.append(float(s.output("loss")))
        final = {p: s.state(p, ref[p]) for p in PARAMS}
    finally:
        s.close()
    want_losses, want = numpy_steps(ref, x, t)
    lerr = max(abs(a - b) / max(abs(b), 1e-6) for a, b in zip(losses, want_losses))
    ok = lerr < 1e-5
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {STEPS} SGD steps: losses "
          + " ".join(f"{v:.6f}" for v in losses) + f" (max rel error {lerr:.1e})")
    for p in PARAMS:
        err = float(np.abs(final[p] - want[p]).max() / max(np.abs(want[p]).max(), 1e-6))
        ok = err < 1e-5
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {p:3s} after {STEPS} steps vs NumPy: "
              f"max rel error {err:.1e}")
    # With the zero placeholders the first loss would be 0.05 * sum(t^2): make
    # sure the run really started from the initialization.
    if np.allclose(losses[0], 0.05 * float((t.astype(np.float64) ** 2).sum())):
        print("FAIL the first loss is the loss of the zero placeholders")
        failures += 1
    print("training_info initialization: " + ("all ok" if not failures else f"{failures} failed"))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mpc_opt")
    ap.add_argument("libmpcrt")
    ap.add_argument("--keep", help="keep the model and plan in this directory")
    args = ap.parse_args()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        return run(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="mpc-train-init-") as workdir:
        return run(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
