#!/usr/bin/env python3
"""Writes the example model: a 3-layer MLP classifier with its loss.

    x[B,784] -> Gemm(512) -> Relu -> Gemm(256) -> Relu -> Gemm(10) -> logits
    loss = SoftmaxCrossEntropyLoss(logits, labels)

Weights are drawn from a fixed seed (He initialisation), so the file is the
same on every machine.

usage: make_mlp.py OUT.onnx [--batch 64] [--hidden 512,256] [--classes 10]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(batch, features, hidden, classes, seed=0):
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    prev, width = "x", features
    sizes = hidden + [classes]
    for i, out in enumerate(sizes):
        w = (rng.standard_normal((out, width)) * np.sqrt(2.0 / width)).astype(np.float32)
        b = np.zeros(out, dtype=np.float32)
        inits += [numpy_helper.from_array(w, f"fc{i}.weight"),
                  numpy_helper.from_array(b, f"fc{i}.bias")]
        y = "logits" if i == len(sizes) - 1 else f"fc{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [y],
                                      name=f"fc{i}", transB=1))
        if i < len(sizes) - 1:
            nodes.append(helper.make_node("Relu", [y], [f"relu{i}"], name=f"relu{i}"))
            prev = f"relu{i}"
        width = out
    nodes.append(helper.make_node("SoftmaxCrossEntropyLoss", ["logits", "labels"], ["loss"],
                                  name="loss", reduction="mean"))
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, features]),
         helper.make_tensor_value_info("labels", TensorProto.INT64, [batch])],
        [helper.make_tensor_value_info("loss", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, classes])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="mpc-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--features", type=int, default=784)
    p.add_argument("--hidden", default="512,256")
    p.add_argument("--classes", type=int, default=10)
    a = p.parse_args()
    hidden = [int(h) for h in a.hidden.split(",") if h]
    onnx.save(build(a.batch, a.features, hidden, a.classes), a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
