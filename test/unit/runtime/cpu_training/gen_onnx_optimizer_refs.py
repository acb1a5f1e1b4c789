"""Generates the expected values of optimizer_test.cpp's OnnxReference tests.

Runs the ai.onnx.preview.training Adagrad / Momentum / Adam nodes through
onnx's ReferenceEvaluator for 4 steps (T = 0..3) on fixed inputs and prints
the parameter and state after every step as C++ initialisers. Run once with
the repository's venv and paste the output into optimizer_test.cpp:

    .venv/bin/python test/unit/runtime/cpu_training/gen_onnx_optimizer_refs.py
"""
import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

X0 = np.array([0.5, -1.25, 2.0, 0.1, -0.3], dtype=np.float32)


def grad(step):
    i = np.arange(5, dtype=np.float64)
    return (np.sin(1.3 * i + 0.7 * step) * (1 + 0.5 * step)).astype(np.float32)


def run(op, attrs, nstate, r=0.1):
    names_in = ["R", "T", "X", "G"] + [f"S{k}" for k in range(nstate)]
    names_out = ["X_new"] + [f"S{k}_new" for k in range(nstate)]
    node = helper.make_node(op, names_in, names_out, domain="ai.onnx.preview.training", **attrs)
    inputs = [helper.make_tensor_value_info("R", TensorProto.FLOAT, []),
              helper.make_tensor_value_info("T", TensorProto.INT64, [])]
    inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, [5]) for n in names_in[2:]]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [5]) for n in names_out]
    graph = helper.make_graph([node], "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.preview.training", 1)])
    sess = ReferenceEvaluator(model)
    x = X0.copy()
    states = [np.zeros(5, dtype=np.float32) for _ in range(nstate)]
    rows = []
    for t in range(4):
        feeds = {"R": np.array(r, dtype=np.float32), "T": np.array(t, dtype=np.int64), "X": x, "G": grad(t)}
        for k in range(nstate):
            feeds[f"S{k}"] = states[k]
        out = sess.run(None, feeds)
        x = np.asarray(out[0], dtype=np.float32)
        states = [np.asarray(o, dtype=np.float32) for o in out[1:]]
        rows.append([x] + states)
    return rows


def fmt(a):
    return "{" + ", ".join(f"{float(v):.9g}" for v in a) + "}"


CASES = [
    ("adagrad", "Adagrad", dict(decay_factor=0.1, epsilon=1e-6, norm_coefficient=0.01), 1),
    ("momentum_standard", "Momentum", dict(alpha=0.9, beta=0.5, mode="standard", norm_coefficient=0.01), 1),
    ("momentum_nesterov", "Momentum", dict(alpha=0.9, beta=0.5, mode="nesterov", norm_coefficient=0.01), 1),
    ("adam", "Adam", dict(alpha=0.85, beta=0.99, epsilon=1e-3, norm_coefficient=0.01, norm_coefficient_post=0.02), 2),
]

for name, op, attrs, nstate in CASES:
    rows = run(op, attrs, nstate)
    print(f"// {op} {attrs}")
    print(f"const std::vector<std::vector<std::vector<double>>> k_{name} = {{")
    for row in rows:
        print("    {" + ", ".join(fmt(a) for a in row) + "},")
    print("};")
