#!/usr/bin/env python3
"""End-to-end check of `mpc-opt --autocast=fp16|bf16 --emit=onnx`.

Builds four FP32 models with the onnx Python API (an MLP; a small CNN with
Conv/BatchNormalization/MaxPool/GlobalAveragePool/Gemm; a transformer block
with LayerNormalization, MatMul attention with Softmax, Erf-based GELU and
residual adds; a model with the other exportable ops and a user Cast pair),
converts each to fp16 and bf16 with mpc-opt under each preset (default,
conservative, aggressive), and checks:

* exporting without autocast reproduces the FP32 model's outputs exactly;
* the converted model passes onnx.checker;
* its outputs on random inputs match the FP32 original's (run in onnxruntime,
  CPU) within a per-dtype tolerance on the normwise relative error
  max|y - y_ref| / max|y_ref|;
* converting the converted model again changes nothing;
* the number of Cast nodes, printed next to onnxconverter-common's
  float16.convert_float_to_float16 with the same FP32 op block list.

onnxruntime's CPU provider has no bf16 kernels for MatMul/Conv (and may lack
fp16 ones for some ops): when it refuses a converted model, the model runs in
onnx's reference evaluator instead (numpy with ml_dtypes), and the script says so.

Usage: autocast_onnx_export.py path/to/mpc-opt
"""
import json
import os
import subprocess
import sys
import tempfile

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization needs 17; libonnx 1.12's checker knows up to 17
# Normwise relative error bounds: fp16 has an 11-bit significand, bf16 an 8-bit one.
TOLERANCE = {"fp16": 5e-3, "bf16": 3e-2}
# What mpc's default preset keeps in FP32 (the FP32 class of DESIGN.md section 5).
FP32_OPS = ["Exp", "Log", "Pow", "Reciprocal", "Softmax", "LogSoftmax", "LayerNormalization",
            "ReduceSum", "ReduceMean", "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss"]

rng = np.random.default_rng(1234)


def init(name, *shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)


def model(nodes, name, inputs, outputs, inits):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def mlp():
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h1"], name="fc1"),
        helper.make_node("Add", ["h1", "b1"], ["h2"], name="fc1_bias"),
        helper.make_node("Relu", ["h2"], ["h3"], name="relu1"),
        helper.make_node("Gemm", ["h3", "W2", "b2"], ["h4"], name="fc2", transB=1),
        helper.make_node("Relu", ["h4"], ["h5"], name="relu2"),
        helper.make_node("Gemm", ["h5", "W3", "b3"], ["logits"], name="fc3"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    return model(nodes, "mlp",
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 64])],
                 [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [8, 10]),
                  helper.make_tensor_value_info("logits", TensorProto.FLOAT, [8, 10])],
                 [init("W1", 64, 128), init("b1", 128, scale=0.1), init("W2", 64, 128),
                  init("b2", 64, scale=0.1), init("W3", 64, 10), init("b3", 10, scale=0.1)])


def cnn():
    def bn(prefix, c):
        return [numpy_helper.from_array((1 + 0.1 * rng.standard_normal(c)).astype(np.float32),
                                        prefix + "_scale"),
                numpy_helper.from_array((0.1 * rng.standard_normal(c)).astype(np.float32),
                                        prefix + "_bias"),
                numpy_helper.from_array((0.1 * rng.standard_normal(c)).astype(np.float32),
                                        prefix + "_mean"),
                numpy_helper.from_array((1 + 0.1 * rng.random(c)).astype(np.float32),
                                        prefix + "_var")]
    nodes = [
        helper.make_node("Conv", ["x", "c1_w", "c1_b"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization",
                         ["c1", "bn1_scale", "bn1_bias", "bn1_mean", "bn1_var"], ["n1"],
                         name="bn1"),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2_w"], ["c2"], name="conv2", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization",
                         ["c2", "bn2_scale", "bn2_bias", "bn2_mean", "bn2_var"], ["n2"],
                         name="bn2"),
        helper.make_node("Relu", ["n2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    inits = [init("c1_w", 8, 3, 3, 3), init("c1_b", 8, scale=0.1), init("c2_w", 16, 8, 3, 3),
             init("fc_w", 10, 16), init("fc_b", 10, scale=0.1)] + bn("bn1", 8) + bn("bn2", 16)
    return model(nodes, "cnn",
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 3, 16, 16])],
                 [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [4, 10])], inits)


def transformer():
    B, S, D, H, F = 2, 8, 32, 4, 64
    dh = D // H
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    nodes = [
        helper.make_node("LayerNormalization", ["x", "ln1_g", "ln1_b"], ["ln1"], name="ln1",
                         axis=-1),
        helper.make_node("MatMul", ["ln1", "Wq"], ["q"], name="attn/q"),
        helper.make_node("MatMul", ["ln1", "Wk"], ["k"], name="attn/k"),
        helper.make_node("MatMul", ["ln1", "Wv"], ["v"], name="attn/v"),
        helper.make_node("Reshape", ["q", "heads_shape"], ["q4"], name="attn/q_split"),
        helper.make_node("Reshape", ["k", "heads_shape"], ["k4"], name="attn/k_split"),
        helper.make_node("Reshape", ["v", "heads_shape"], ["v4"], name="attn/v_split"),
        helper.make_node("Transpose", ["q4"], ["qh"], name="attn/q_t", perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k4"], ["kh"], name="attn/k_t", perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["v4"], ["vh"], name="attn/v_t", perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["qh", "kh"], ["scores"], name="attn/scores"),
        helper.make_node("Mul", ["scores", "attn_scale"], ["scaled"], name="attn/scale"),
        helper.make_node("Softmax", ["scaled"], ["probs"], name="attn/softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "vh"], ["ctx"], name="attn/context"),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], name="attn/ctx_t", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx_t", "model_shape"], ["ctx_m"], name="attn/merge"),
        helper.make_node("MatMul", ["ctx_m", "Wo"], ["o"], name="attn/out"),
        helper.make_node("Add", ["o", "bo"], ["o_b"], name="attn/out_bias"),
        helper.make_node("Add", ["x", "o_b"], ["h"], name="residual1"),
        helper.make_node("LayerNormalization", ["h", "ln2_g", "ln2_b"], ["ln2"], name="ln2",
                         axis=-1),
        helper.make_node("MatMul", ["ln2", "W1"], ["f1"], name="ffn/fc1"),
        helper.make_node("Add", ["f1", "b1"], ["f1_b"], name="ffn/fc1_bias"),
        helper.make_node("Div", ["f1_b", "sqrt2"], ["g1"], name="ffn/gelu_div"),
        helper.make_node("Erf", ["g1"], ["g2"], name="ffn/gelu_erf"),
        helper.make_node("Add", ["g2", "one"], ["g3"], name="ffn/gelu_add"),
        helper.make_node("Mul", ["f1_b", "g3"], ["g4"], name="ffn/gelu_mul"),
        helper.make_node("Mul", ["g4", "half"], ["g5"], name="ffn/gelu_half"),
        helper.make_node("MatMul", ["g5", "W2"], ["f2"], name="ffn/fc2"),
        helper.make_node("Add", ["f2", "b2"], ["f2_b"], name="ffn/fc2_bias"),
        helper.make_node("Add", ["h", "f2_b"], ["y"], name="residual2"),
    ]
    inits = [f32("ln1_g", 1 + 0.1 * rng.standard_normal(D)), f32("ln1_b", 0.1 * rng.standard_normal(D)),
             f32("ln2_g", 1 + 0.1 * rng.standard_normal(D)), f32("ln2_b", 0.1 * rng.standard_normal(D)),
             init("Wq", D, D), init("Wk", D, D), init("Wv", D, D), init("Wo", D, D),
             init("bo", D, scale=0.1), init("W1", D, F), init("b1", F, scale=0.1),
             init("W2", F, D), init("b2", D, scale=0.1),
             i64("heads_shape", [B, S, H, dh]), i64("model_shape", [B, S, D]),
             f32("attn_scale", 1 / np.sqrt(dh)), f32("sqrt2", np.sqrt(2)), f32("one", 1.0),
             f32("half", 0.5)]
    return model(nodes, "transformer_block",
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, S, D])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [B, S, D])], inits)


def misc():
    """The other ops the exporter writes back: elementwise, reductions, data
    movement, Where/Greater, Gather, Expand, and user Casts (which must survive)."""
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    n = helper.make_node
    nodes = [
        n("Sigmoid", ["x"], ["a"], name="sigmoid"), n("Tanh", ["x"], ["b"], name="tanh"),
        n("LeakyRelu", ["x"], ["c"], name="leaky", alpha=0.1),
        n("Max", ["a", "b"], ["d"], name="max"), n("Min", ["b", "c"], ["e"], name="min"),
        n("Sub", ["d", "e"], ["f"], name="sub"), n("Neg", ["f"], ["g"], name="neg"),
        n("Abs", ["g"], ["ab"], name="abs"), n("Add", ["ab", "one"], ["ab1"], name="plus_one"),
        n("Log", ["ab1"], ["l"], name="log"), n("Sqrt", ["ab1"], ["s"], name="sqrt"),
        n("Pow", ["s", "two"], ["p"], name="pow"), n("Mul", ["l", "half"], ["lh"], name="half_log"),
        n("Exp", ["lh"], ["ex"], name="exp"), n("MatMul", ["ex", "W"], ["mm"], name="mm"),
        n("Slice", ["mm", "starts", "ends", "axes01", "steps"], ["sl"], name="slice"),
        n("Split", ["mm", "split"], ["sp1", "sp2"], name="split", axis=1),
        n("Concat", ["sp2", "sp1"], ["cat"], name="concat", axis=1),
        n("ReduceMean", ["cat"], ["rm"], name="reduce_mean", axes=[1], keepdims=1),
        n("ReduceSum", ["cat", "axes1"], ["rs"], name="reduce_sum", keepdims=1),
        n("ReduceMax", ["cat"], ["rmax"], name="reduce_max", axes=[0], keepdims=0),
        n("Greater", ["cat", "rm"], ["cond"], name="greater"),
        n("Where", ["cond", "cat", "rs"], ["wh"], name="where"),
        n("Gather", ["W", "idx"], ["emb"], name="gather", axis=0),
        n("Unsqueeze", ["rmax", "axes0"], ["rmax1"], name="unsqueeze"),
        n("Expand", ["rmax1", "shape"], ["ex2"], name="expand"),
        n("Add", ["wh", "emb"], ["y1a"], name="add_emb"), n("Add", ["y1a", "ex2"], ["y1"], name="add_max"),
        n("Squeeze", ["rm", "axes1"], ["y2"], name="squeeze"),
        n("Cast", ["p"], ["p16"], name="user_cast_down", to=TensorProto.FLOAT16),
        n("Cast", ["p16"], ["y3"], name="user_cast_up", to=TensorProto.FLOAT),
        n("Identity", ["sl"], ["y4"], name="identity"),
    ]
    inits = [init("W", 16, 16), f32("one", 1.0), f32("two", 2.0), f32("half", 0.5),
             i64("starts", [0, 2]), i64("ends", [4, 10]), i64("axes01", [0, 1]), i64("steps", [1, 2]),
             i64("split", [6, 10]), i64("axes1", [1]), i64("axes0", [0]), i64("idx", [3, 1, 2, 0]),
             i64("shape", [4, 16])]
    out = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    return model(nodes, "misc", [out("x", [4, 16])],
                 [out("y1", [4, 16]), out("y2", [4]), out("y3", [4, 16]), out("y4", [4, 4])], inits)


NP_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16,
            TensorProto.BFLOAT16: ml_dtypes.bfloat16, TensorProto.INT64: np.int64}


def run(path, feeds):
    """Runs in onnxruntime (CPU), or in onnx's reference evaluator when
    onnxruntime has no kernel for the model's types. Returns (outputs, runtime)."""
    m = onnx.load(path)
    typed = {}
    for i in m.graph.input:
        typed[i.name] = feeds[i.name].astype(NP_TYPES[i.type.tensor_type.elem_type])
    try:
        import onnxruntime as ort
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outs = s.run(None, typed)
        runtime = "onnxruntime"
    except Exception as e:  # NOT_IMPLEMENTED for bf16 (and some fp16) CPU kernels
        from onnx.reference import ReferenceEvaluator
        outs = ReferenceEvaluator(m).run(None, typed)
        runtime = "onnx.reference (onnxruntime: %s)" % str(e).split(":")[-1].strip()[:70]
    return [np.asarray(o).astype(np.float32) for o in outs], runtime


def graph_signature(m):
    """Everything that defines a model, for 'converting again changes nothing'."""
    g = m.graph
    return (
        [(n.op_type, n.name, list(n.input), list(n.output),
          [a.SerializeToString() for a in n.attribute]) for n in g.node],
        sorted((t.name, t.data_type, list(t.dims), numpy_helper.to_array(t).tobytes())
               for t in g.initializer),
        [i.SerializeToString() for i in g.input], [o.SerializeToString() for o in g.output],
        [(o.domain, o.version) for o in m.opset_import])


def count_casts(m):
    return sum(1 for n in m.graph.node if n.op_type == "Cast")


def converter_casts(m):
    try:
        from onnxconverter_common import float16
    except ImportError:
        return "n/a (onnxconverter-common is not installed)"
    try:
        converted = float16.convert_float_to_float16(m, op_block_list=FP32_OPS,
                                                     keep_io_types=False)
        return count_casts(converted)
    except Exception as e:
        return "n/a (onnxconverter-common failed: %s)" % str(e)[:80]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    mpc_opt = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in [("mlp", mlp), ("cnn", cnn), ("transformer", transformer),
                            ("misc", misc)]:
            original = build()
            src = os.path.join(tmp, name + ".onnx")
            onnx.save(original, src)
            feeds = {i.name: rng.standard_normal(
                [d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
                for i in original.graph.input}
            reference, _ = run(src, feeds)
            # Without autocast, import + export reproduces the FP32 model exactly.
            plain = os.path.join(tmp, name + ".fp32.onnx")
            subprocess.run([mpc_opt, src, "--emit=onnx", "-o", plain], check=True)
            onnx.checker.check_model(onnx.load(plain), full_check=True)
            same = all(np.array_equal(o, r) for o, r in zip(run(plain, feeds)[0], reference))
            print("%-11s fp32 export: outputs %s" % (name, "identical" if same else "DIFFER"))
            if not same:
                failures.append("%s: the FP32 export changed the outputs" % name)
            for dtype, preset in [(d, p) for d in ["fp16", "bf16"]
                                  for p in ["default", "conservative", "aggressive"]]:
                tag = "%s.%s.%s" % (name, dtype, preset)
                out = os.path.join(tmp, tag + ".onnx")
                report = os.path.join(tmp, tag + ".json")
                flags = ["--autocast=" + dtype, "--precision-preset=" + preset]
                subprocess.run([mpc_opt, src] + flags + ["--emit=onnx", "-o", out,
                                "--precision-report=" + report], check=True)
                converted = onnx.load(out)
                onnx.checker.check_model(converted, full_check=True)
                outs, runtime = run(out, feeds)
                errs = [float(np.max(np.abs(o - r)) / np.max(np.abs(r)))
                        for o, r in zip(outs, reference)]
                if name == "misc":
                    # The user's lossy Cast pair (f32 -> f16 -> f32) survives; where Pow
                    # stays FP32, y3 is exactly the FP32 model's.
                    user = {n.name: n.attribute[0].i for n in converted.graph.node
                            if n.op_type == "Cast" and n.name.startswith("user_cast")}
                    if user != {"user_cast_down": TensorProto.FLOAT16,
                                "user_cast_up": TensorProto.FLOAT}:
                        failures.append("%s: the user casts were not kept: %s" % (tag, user))
                    if preset != "aggressive" and not np.array_equal(outs[2], reference[2]):
                        failures.append("%s: the user cast pair changed y3" % tag)
                err = max(errs)
                # Converting the converted model again changes nothing.
                again = os.path.join(tmp, tag + ".again.onnx")
                subprocess.run([mpc_opt, out] + flags + ["--emit=onnx", "-o", again],
                               check=True)
                stable = graph_signature(onnx.load(again)) == graph_signature(converted)
                low = {"fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}[dtype]
                low_params = sum(1 for t in converted.graph.initializer if t.data_type == low)
                casts = count_casts(converted)
                other = (converter_casts(original) if (dtype, preset) == ("fp16", "default")
                         else "-")
                with open(report) as f:
                    low_nodes = sum(1 for node in json.load(f)["nodes"] if node["dtype"] == dtype)
                print("%-11s %s %-12s: max rel error %.2e (tolerance %.0e, %s); %d Cast nodes "
                      "(onnxconverter-common fp16: %s); %d nodes in %s, %d low-precision "
                      "initializers; re-conversion %s" % (name, dtype, preset, err, TOLERANCE[dtype],
                                                          runtime, casts, other, low_nodes, dtype,
                                                          low_params,
                                            "unchanged" if stable else "CHANGED"))
                if not err <= TOLERANCE[dtype]:
                    failures.append("%s: relative error %.3e > %.0e" % (tag, err, TOLERANCE[dtype]))
                if not stable:
                    failures.append("%s: converting again changed the model" % tag)
                if low_nodes == 0:
                    failures.append("%s: no node computes in %s" % (tag, dtype))
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all models within tolerance")


if __name__ == "__main__":
    main()
