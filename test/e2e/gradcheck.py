#!/usr/bin/env python3
"""Gradient check of every differentiable op, end to end in FP64.

For each op: a tiny ONNX model in DOUBLE whose float inputs are initializers
(the trainable parameters) and whose loss is ReduceSum(y * R) for a fixed
random R. The model is compiled with `mpc-opt --train --optimizer=sgd,lr=1`
to a plan and one step runs on the CPU runtime, so `grad = old - new` for
every parameter. The reference is central finite differences of the forward
model (the same graph with the parameters as graph inputs, compiled without
--train). Reports the max relative error per op and fails when one exceeds
the bound.

Then a few steps of each optimizer (sgd, momentum, nesterov, adam, adamw) on
a loss with a constant gradient are compared with a NumPy transcription of
torch.optim, which checks the optimizer state, `optimizer.step` and `lr`.

    gradcheck.py MPC_OPT LIBMPCRT [--only NAME] [--bound 1e-6] [--keep DIR]

The runtime is driven through its C API (libmpcrt) with ctypes: load the
plan, run, read the state tensors.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 20
D = TensorProto.DOUBLE

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpcrt import MpcError, Runtime  # noqa: E402

# ---------------------------------------------------------------------------
# Test models: (name, nodes, params, constants, y) with y the tensor the loss
# reads. Parameters are the trainable float inputs; constants are fixed
# (indices, labels, masks, exponents we do not check).

rng = np.random.default_rng(1234)


def rnd(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float64)


def away_from_zero(*shape):
    x = rnd(*shape, low=0.2, high=1.0)
    return x * np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def distinct(*shape):
    """Well-separated values (max/relu/abs kinks stay far from the FD step)."""
    n = int(np.prod(shape))
    vals = (np.arange(n) - n / 2 + 0.37) * 0.1
    return rng.permutation(vals).reshape(shape).astype(np.float64)


def node(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, **attrs)


CASES = []


def case(name, nodes, params, y="y", consts=None, domain_opset=None, step=None, bound=None):
    """step / bound override --step / --bound for this case (outputs of f32 precision)."""
    CASES.append(dict(name=name, nodes=nodes, params=params, y=y, consts=consts or {},
                      step=step, bound=bound))


def unary(op, x, **attrs):
    case(op, [node(op, ["x"], ["y"], **attrs)], {"x": x})


unary("Relu", distinct(3, 4))
unary("LeakyRelu", distinct(3, 4), alpha=0.2)
unary("Gelu", rnd(3, 4))
case("Gelu_tanh", [node("Gelu", ["x"], ["y"], approximate="tanh")], {"x": rnd(3, 4)})
unary("Erf", rnd(3, 4))
unary("Tanh", rnd(3, 4))
unary("Sigmoid", rnd(3, 4))
unary("Exp", rnd(3, 4))
unary("Log", rnd(3, 4, low=0.5, high=2.0))
unary("Sqrt", rnd(3, 4, low=0.5, high=2.0))
unary("Reciprocal", rnd(3, 4, low=0.5, high=2.0))
unary("Neg", rnd(3, 4))
unary("Abs", away_from_zero(3, 4))

for op in ["Add", "Sub", "Mul", "Div"]:
    b = rnd(4, low=0.5, high=1.5) if op == "Div" else rnd(4)
    case(op, [node(op, ["a", "b"], ["y"])], {"a": rnd(3, 4), "b": b})
case("Max", [node("Max", ["a", "b"], ["y"])], {"a": distinct(3, 4), "b": distinct(4) + 0.013})
case("Min", [node("Min", ["a", "b"], ["y"])], {"a": distinct(3, 4), "b": distinct(1, 4) + 0.013})
case("Pow", [node("Pow", ["a", "b"], ["y"])], {"a": rnd(3, 4, low=0.5, high=1.5), "b": rnd(4)})
case("Where", [node("Where", ["c", "a", "b"], ["y"])], {"a": rnd(3, 4), "b": rnd(4)},
     consts={"c": rng.random((3, 1)) < 0.5})

case("MatMul", [node("MatMul", ["a", "b"], ["y"])], {"a": rnd(2, 3, 4), "b": rnd(4, 5)})
case("MatMul_1d", [node("MatMul", ["a", "b"], ["y"])], {"a": rnd(4), "b": rnd(2, 4, 3)})
case("MatMul_vec", [node("MatMul", ["a", "b"], ["y"])], {"a": rnd(3, 4), "b": rnd(4)})
case("Gemm", [node("Gemm", ["a", "b", "c"], ["y"], alpha=0.7, beta=1.3, transB=1)],
     {"a": rnd(3, 4), "b": rnd(5, 4), "c": rnd(5)})
case("Gemm_transA", [node("Gemm", ["a", "b", "c"], ["y"], transA=1)],
     {"a": rnd(4, 3), "b": rnd(4, 5), "c": rnd(3, 1)})
case("Conv", [node("Conv", ["x", "w", "b"], ["y"], pads=[1, 0, 1, 2], strides=[2, 1])],
     {"x": rnd(2, 3, 5, 5), "w": rnd(4, 3, 3, 2), "b": rnd(4)})
case("Conv_group_dilation", [node("Conv", ["x", "w"], ["y"], group=2, dilations=[2, 1])],
     {"x": rnd(1, 4, 6, 5), "w": rnd(2, 2, 2, 2)})
case("MaxPool", [node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 1],
                      pads=[0, 1, 0, 0])], {"x": distinct(2, 2, 4, 4)})
case("AveragePool", [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[1, 2],
                          pads=[1, 0, 1, 1])], {"x": rnd(2, 2, 4, 5)})
case("AveragePool_count_pad", [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                    pads=[1, 1, 1, 1], count_include_pad=1)],
     {"x": rnd(1, 2, 4, 4)})
unary("GlobalAveragePool", rnd(2, 3, 3, 4))
case("BatchNormalization", [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                 epsilon=1e-3)],
     {"x": rnd(2, 3, 2, 2), "s": rnd(3), "b": rnd(3)},
     consts={"m": rnd(3), "v": rnd(3, low=0.5, high=1.5)})
case("BatchNormalization_train", [node("BatchNormalization", ["x", "s", "b", "m", "v"],
                                       ["y", "rm", "rv"], epsilon=1e-3, training_mode=1)],
     {"x": rnd(4, 3, 2, 2), "s": rnd(3), "b": rnd(3)},
     consts={"m": rnd(3), "v": rnd(3, low=0.5, high=1.5)})
case("LayerNormalization", [node("LayerNormalization", ["x", "s", "b"], ["y"], axis=1,
                                 epsilon=1e-3)],
     {"x": rnd(3, 2, 4), "s": rnd(2, 4), "b": rnd(2, 4)})
# The extra outputs in the loss. batch_norm_train's running statistics are
# f64 here, so the usual bound holds; layer_norm's mean and inv_std_dev are f32
# (ONNX stash_type 1), so the central differences see their f32 rounding: a
# larger step and a bound of 1e-3 (relative rounding 6e-8 / step 1e-3).
case("BatchNormalization_train_stats",
     [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y0", "rm", "rv"], epsilon=1e-3,
           momentum=0.7, training_mode=1),
      node("Reshape", ["rm", "cshape"], ["rm3"]), node("Reshape", ["rv", "cshape"], ["rv3"]),
      node("Add", ["y0", "rm3"], ["y1"]), node("Add", ["y1", "rv3"], ["y"])],
     {"x": rnd(4, 3, 2, 2), "s": rnd(3), "b": rnd(3)},
     consts={"m": rnd(3), "v": rnd(3, low=0.5, high=1.5),
             "cshape": np.array([3, 1, 1], dtype=np.int64)})
case("BatchNormalization_running_only",
     [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y0", "rm", "rv"], epsilon=1e-3,
           momentum=0.6, training_mode=1),
      node("Mul", ["rm", "rv"], ["y"])],
     {"x": rnd(3, 2, 3)},
     consts={"s": rnd(2), "b": rnd(2), "m": rnd(2), "v": rnd(2, low=0.5, high=1.5)})
case("LayerNormalization_stats",
     [node("LayerNormalization", ["x", "s", "b"], ["y0", "mean", "istd"], axis=1, epsilon=1e-3),
      node("Cast", ["mean"], ["md"], to=D), node("Cast", ["istd"], ["id"], to=D),
      node("Add", ["y0", "md"], ["y1"]), node("Add", ["y1", "id"], ["y"])],
     {"x": rnd(3, 2, 4), "s": rnd(2, 4), "b": rnd(2, 4)}, step=1e-3, bound=1e-3)
case("LayerNormalization_stats_only",
     [node("LayerNormalization", ["x", "s"], ["y0", "mean", "istd"], axis=-1, epsilon=1e-2),
      node("Mul", ["mean", "istd"], ["ms"]), node("Cast", ["ms"], ["y"], to=D)],
     {"x": rnd(2, 3, 5)}, consts={"s": rnd(5)}, step=1e-3, bound=1e-3)
for op in ["Softmax", "LogSoftmax"]:
    case(op, [node(op, ["x"], ["y"], axis=1)], {"x": rnd(3, 5, 2)})
case("ReduceSum", [node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)], {"x": rnd(3, 4, 2)},
     consts={"axes": np.array([0, 2], dtype=np.int64)})
case("ReduceMean", [node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)], {"x": rnd(3, 4, 2)},
     consts={"axes": np.array([1], dtype=np.int64)})
case("ReduceMax", [node("ReduceMax", ["x", "axes"], ["y"], keepdims=0)], {"x": distinct(3, 4, 2)},
     consts={"axes": np.array([1], dtype=np.int64)})
case("Reshape", [node("Reshape", ["x", "shape"], ["y"])], {"x": rnd(3, 4)},
     consts={"shape": np.array([2, 6], dtype=np.int64)})
case("Transpose", [node("Transpose", ["x"], ["y"], perm=[2, 0, 1])], {"x": rnd(2, 3, 4)})
case("Concat", [node("Concat", ["a", "b"], ["y"], axis=1)], {"a": rnd(2, 3), "b": rnd(2, 2)})
case("Split", [node("Split", ["x", "sizes"], ["y", "z"], axis=1)], {"x": rnd(2, 5)},
     consts={"sizes": np.array([2, 3], dtype=np.int64)})
case("Slice", [node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], {"x": rnd(4, 6)},
     consts={"st": np.array([3, 1], dtype=np.int64), "en": np.array([0, 6], dtype=np.int64),
             "ax": np.array([0, 1], dtype=np.int64), "sp": np.array([-1, 2], dtype=np.int64)})
case("Gather", [node("Gather", ["x", "i"], ["y"], axis=1)], {"x": rnd(3, 5)},
     consts={"i": np.array([[4, 0], [-1, 2]], dtype=np.int64)})
case("Expand", [node("Expand", ["x", "shape"], ["y"])], {"x": rnd(3, 1)},
     consts={"shape": np.array([2, 3, 4], dtype=np.int64)})
case("Dropout", [node("Dropout", ["x", "r", "t"], ["y"], seed=5)], {"x": rnd(4, 6)},
     consts={"r": np.array(0.3, dtype=np.float32), "t": np.array(True)})
case("SoftmaxCrossEntropyLoss",
     [node("SoftmaxCrossEntropyLoss", ["x", "l", "w"], ["y"], reduction="mean")],
     {"x": rnd(4, 3)}, consts={"l": np.array([0, 2, 1, 2], dtype=np.int64), "w": rnd(3, low=0.5)})
case("SoftmaxCrossEntropyLoss_ignore",
     [node("SoftmaxCrossEntropyLoss", ["x", "l"], ["y"], reduction="none", ignore_index=1)],
     {"x": rnd(4, 3, 2)}, consts={"l": np.array([[0, 1], [2, 1], [1, 0], [2, 2]], dtype=np.int64)})
case("NegativeLogLikelihoodLoss",
     [node("NegativeLogLikelihoodLoss", ["x", "l", "w"], ["y"], reduction="sum")],
     {"x": rnd(4, 3)}, consts={"l": np.array([0, 2, 1, 2], dtype=np.int64), "w": rnd(3, low=0.5)})
# A composite: the same parameter used twice (gradients accumulate).
case("accumulate", [node("MatMul", ["a", "a"], ["t"]), node("Add", ["t", "a"], ["y"])],
     {"a": rnd(3, 3)})


def onnx_type(array):
    return {np.dtype(np.float64): D, np.dtype(np.int64): TensorProto.INT64,
            np.dtype(np.bool_): TensorProto.BOOL}[array.dtype]


def build(c, params_as_inputs):
    """The op graph, then loss = ReduceSum(y * R) (R a fixed random constant)."""
    nodes = list(c["nodes"])
    for name, value in c["consts"].items():
        nodes.insert(0, node("Constant", [], [name], value=numpy_helper.from_array(value, name)))
    # Infer y's shape with onnx's shape inference on a probe model.
    inputs = [helper.make_tensor_value_info(n, D, v.shape) for n, v in c["params"].items()]
    probe = helper.make_model(
        helper.make_graph(nodes, "probe", inputs, [helper.make_tensor_value_info(c["y"], D, None)]),
        opset_imports=[helper.make_opsetid("", OPSET)])
    probe = onnx.shape_inference.infer_shapes(probe, strict_mode=True)
    yinfo = [o for o in probe.graph.output if o.name == c["y"]][0]
    yshape = [d.dim_value for d in yinfo.type.tensor_type.shape.dim]
    if "R" not in c:  # one R per case: the train and forward models share it
        c["R"] = rnd(*yshape) if yshape else np.array(rnd(1)[0])
    r = c["R"]
    nodes += [node("Constant", [], ["R"], value=numpy_helper.from_array(r, "R")),
              node("Mul", [c["y"], "R"], ["yr"]),
              node("ReduceSum", ["yr"], ["loss"], keepdims=0)]
    if params_as_inputs:
        graph = helper.make_graph(nodes, c["name"], inputs,
                                  [helper.make_tensor_value_info("loss", D, [])])
    else:
        inits = [numpy_helper.from_array(v, n) for n, v in c["params"].items()]
        graph = helper.make_graph(nodes, c["name"], [],
                                  [helper.make_tensor_value_info("loss", D, [])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def compile_plan(mpc_opt, model, path, train):
    src = path + ".onnx"
    onnx.save(model, src)
    cmd = [mpc_opt, src, "--emit=plan", "-o", path]
    if train:
        cmd += ["--train", "--loss=loss", "--optimizer=sgd,lr=1"]
    import subprocess
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MpcError(f"mpc-opt failed: {proc.stderr.strip()}")


def check(c, mpc_opt, rt, workdir, step):
    base = os.path.join(workdir, c["name"])
    # Analytic gradients: one SGD step with lr = 1.
    compile_plan(mpc_opt, build(c, params_as_inputs=False), base + ".train.mpcp", train=True)
    s = rt.session(base + ".train.mpcp")
    try:
        s.run()
        grads = {n: v - s.state(n, v) for n, v in c["params"].items()}
    finally:
        s.close()
    # Reference: central differences of the forward model.
    compile_plan(mpc_opt, build(c, params_as_inputs=True), base + ".fwd.mpcp", train=False)
    s = rt.session(base + ".fwd.mpcp")
    worst = 0.0
    try:
        values = {n: v.copy() for n, v in c["params"].items()}

        def loss():
            for n, v in values.items():
                s.set_input(n, v)
            s.run()
            return float(s.output("loss"))

        for n, v in values.items():
            fd = np.zeros_like(v)
            flat, gflat = v.reshape(-1), fd.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                h = step * max(1.0, abs(old))
                flat[i] = old + h
                up = loss()
                flat[i] = old - h
                down = loss()
                flat[i] = old
                gflat[i] = (up - down) / (2 * h)
            scale = max(np.abs(fd).max(), 1e-3)
            worst = max(worst, float(np.abs(grads[n] - fd).max() / scale))
    finally:
        s.close()
    return worst


# ---------------------------------------------------------------------------
# Optimizer steps: loss = ReduceSum(W * R) has the constant gradient R, so a few
# steps of each optimizer compare with a NumPy transcription of torch.optim
# (FP32 state, as mpc keeps it).

OPTIMIZERS = [
    ("sgd", "sgd,lr=0.1,weight_decay=0.05"),
    ("momentum", "momentum,lr=0.1,momentum=0.9,dampening=0.1,weight_decay=0.05"),
    ("nesterov", "momentum,lr=0.1,momentum=0.8,nesterov"),
    ("adam", "adam,lr=0.1,beta1=0.8,beta2=0.9,eps=1e-6,weight_decay=0.05"),
    ("adamw", "adamw,lr=0.1,weight_decay=0.1"),
]


def reference_steps(kind, w, g, steps):
    w = w.astype(np.float64).copy()
    buf = m = v = None
    for t in range(1, steps + 1):
        if kind == "sgd":
            w -= 0.1 * (g + 0.05 * w)
        elif kind in ("momentum", "nesterov"):
            mom, damp, wd = (0.9, 0.1, 0.05) if kind == "momentum" else (0.8, 0.0, 0.0)
            d = g + wd * w
            buf = d.copy() if buf is None else mom * buf + (1 - damp) * d
            w -= 0.1 * (d + mom * buf if kind == "nesterov" else buf)
        else:
            b1, b2, eps, wd = (0.8, 0.9, 1e-6, 0.05) if kind == "adam" else (0.9, 0.999, 1e-8, 0.1)
            d = g.copy()
            if kind == "adam":
                d = d + wd * w
            else:
                w *= 1 - 0.1 * wd
            m = (1 - b1) * d if m is None else b1 * m + (1 - b1) * d
            v = (1 - b2) * d * d if v is None else b2 * v + (1 - b2) * d * d
            w -= 0.1 * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return w


def check_optimizer(kind, spec, mpc_opt, rt, workdir, steps=3):
    w = rnd(3, 4).astype(np.float32)
    r = rnd(3, 4).astype(np.float32)
    nodes = [node("Constant", [], ["R"], value=numpy_helper.from_array(r, "R")),
             node("Mul", ["W", "R"], ["y"]), node("ReduceSum", ["y"], ["loss"], keepdims=0)]
    graph = helper.make_graph(nodes, kind, [], [helper.make_tensor_value_info(
        "loss", TensorProto.FLOAT, [])], [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    path = os.path.join(workdir, "opt_" + kind + ".mpcp")
    src = path + ".onnx"
    onnx.save(model, src)
    import subprocess
    proc = subprocess.run([mpc_opt, src, "--train", "--optimizer=" + spec, "--emit=plan",
                           "-o", path], capture_output=True, text=True)
    if proc.returncode != 0:
        raise MpcError(f"mpc-opt failed: {proc.stderr.strip()}")
    s = rt.session(path)
    try:
        for _ in range(steps):
            s.run()
        got = s.state("W", w)
        step = s.state("optimizer.step", np.zeros((), np.int64))
    finally:
        s.close()
    if int(step) != steps:
        raise MpcError(f"optimizer.step is {int(step)} after {steps} steps")
    want = reference_steps(kind, w, r.astype(np.float64), steps)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mpc_opt")
    ap.add_argument("libmpcrt")
    ap.add_argument("--only", action="append", default=[], help="run only these cases")
    ap.add_argument("--bound", type=float, default=1e-6,
                    help="max relative error (normwise per parameter)")
    ap.add_argument("--step", type=float, default=1e-5, help="finite-difference step")
    ap.add_argument("--keep", help="keep models and plans in this directory")
    args = ap.parse_args()
    rt = Runtime(args.libmpcrt)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        return run_checks(args, rt, args.keep)
    with tempfile.TemporaryDirectory(prefix="mpc-gradcheck-") as workdir:
        return run_checks(args, rt, workdir)


def run_checks(args, rt, workdir):
    failures = []
    for c in CASES:
        if args.only and c["name"] not in args.only:
            continue
        try:
            err = check(c, args.mpc_opt, rt, workdir, c["step"] or args.step)
        except MpcError as e:
            print(f"FAIL {c['name']:34s} {e}")
            failures.append(c["name"])
            continue
        bound = c["bound"] or args.bound
        ok = err <= bound
        note = f" (bound {bound:g})" if c["bound"] else ""
        print(f"{'ok  ' if ok else 'FAIL'} {c['name']:34s} max rel error {err:.2e}{note}")
        if not ok:
            failures.append(c["name"])
    opt_bound = 1e-5  # FP32 state and arithmetic
    for kind, spec in OPTIMIZERS:
        if args.only and kind not in args.only:
            continue
        try:
            err = check_optimizer(kind, spec, args.mpc_opt, rt, workdir)
        except MpcError as e:
            print(f"FAIL optimizer {kind:24s} {e}")
            failures.append(kind)
            continue
        ok = err <= opt_bound
        print(f"{'ok  ' if ok else 'FAIL'} optimizer {kind:24s} 3 steps, max rel error {err:.2e} "
              f"(bound {opt_bound:g})")
        if not ok:
            failures.append(kind)
    if failures:
        print(f"{len(failures)} op(s) failed the gradient check (bound {args.bound:g}): "
              + ", ".join(failures))
        return 1
    print(f"all gradients within {args.bound:g} of central differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
