#!/usr/bin/env python3
"""Writes the training_info models with an initialization graph used by
training-info-init.test: training_info_init.onnx (W and B computed by the
initialization graph from constants and the initializer `scale`, then one
SGD step per run) and three models it must refuse:
training_info_init_unknown.onnx (binds an initializer that does not exist),
training_info_init_shape.onnx (a [2,3] result for the [3,2] initializer W),
training_info_init_input.onnx (the initialization uses the graph input x),
training_info_init_random.onnx (RandomNormal, which mpc does not import),
training_info_init_missing.onnx (binds B to a value nothing computes)."""
import os

import numpy as np
import onnx
from onnx import TensorProto as T, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def const(name, value):
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(np.asarray(value), name))


def model(init_nodes, init_outputs, bindings):
    # Placeholders: the initialization overwrites W and B before the first step.
    W = numpy_helper.from_array(np.zeros((3, 2), np.float32), "W")
    B = numpy_helper.from_array(np.zeros((2,), np.float32), "B")
    scale = numpy_helper.from_array(np.array(0.5, np.float32), "scale")
    main = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"], name="mm"),
         helper.make_node("Add", ["xw", "B"], ["y"], name="bias"),
         helper.make_node("Mul", ["y", "y"], ["y2"], name="sq"),
         helper.make_node("ReduceSum", ["y2"], ["loss"], name="sum", keepdims=0)],
        "main", [helper.make_tensor_value_info("x", T.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("loss", T.FLOAT, [])], [W, B, scale])
    lr = numpy_helper.from_array(np.array(0.01, np.float32), "lr")
    alg = helper.make_graph(
        [helper.make_node("Gradient", ["W", "B"], ["dW", "dB"], name="grad",
                          domain="ai.onnx.preview.training", xs=["W", "B"], y="loss"),
         helper.make_node("Mul", ["lr", "dW"], ["sW"], name="scaleW"),
         helper.make_node("Sub", ["W", "sW"], ["W_new"], name="updateW"),
         helper.make_node("Mul", ["lr", "dB"], ["sB"], name="scaleB"),
         helper.make_node("Sub", ["B", "sB"], ["B_new"], name="updateB")],
        "algorithm", [], [helper.make_tensor_value_info("W_new", T.FLOAT, [3, 2]),
                          helper.make_tensor_value_info("B_new", T.FLOAT, [2])], [lr])
    init = helper.make_graph(init_nodes, "initialization", [],
                             [helper.make_tensor_value_info(o, T.FLOAT, None)
                              for o in init_outputs])
    ti = helper.make_training_info(alg, [("W", "W_new"), ("B", "B_new")], init, bindings)
    m = helper.make_model(main, opset_imports=[helper.make_opsetid("", 17),
                                               helper.make_opsetid("ai.onnx.preview.training",
                                                                   1)])
    m.training_info.append(ti)
    m.ir_version = 8
    return m


# W = Reshape(base * scale * 2, [3, 2]), B = b1 + b2.
GOOD = [const("base", np.arange(1, 7, dtype=np.float32)),
        const("two", np.array(2.0, np.float32)),
        const("shape", np.array([3, 2], np.int64)),
        helper.make_node("Mul", ["base", "scale"], ["half"], name="times_scale"),
        helper.make_node("Mul", ["half", "two"], ["flat"], name="times_two"),
        helper.make_node("Reshape", ["flat", "shape"], ["W_init"], name="to_matrix"),
        const("b1", np.array([0.25, -1.0], np.float32)),
        const("b2", np.array([0.5, 0.125], np.float32)),
        helper.make_node("Add", ["b1", "b2"], ["B_init"], name="bias_sum")]


def main():
    onnx.save(model(GOOD, ["W_init", "B_init"], [("W", "W_init"), ("B", "B_init")]),
              os.path.join(HERE, "training_info_init.onnx"))
    onnx.save(model(GOOD, ["W_init", "B_init"], [("W", "W_init"), ("C", "B_init")]),
              os.path.join(HERE, "training_info_init_unknown.onnx"))
    wrong = GOOD[:2] + [const("shape", np.array([2, 3], np.int64))] + GOOD[3:]
    onnx.save(model(wrong, ["W_init", "B_init"], [("W", "W_init"), ("B", "B_init")]),
              os.path.join(HERE, "training_info_init_shape.onnx"))
    uses_x = [helper.make_node("Identity", ["x"], ["x_copy"], name="copy_x"),
              helper.make_node("Reshape", ["x_copy", "shape"], ["W_init"], name="to_matrix"),
              const("shape", np.array([3, 2], np.int64))]
    onnx.save(model(uses_x, ["W_init"], [("W", "W_init")]),
              os.path.join(HERE, "training_info_init_input.onnx"))
    onnx.save(model(GOOD, ["W_init", "B_init"], [("W", "W_init"), ("B", "B_nowhere")]),
              os.path.join(HERE, "training_info_init_missing.onnx"))
    random = [helper.make_node("RandomNormal", [], ["W_init"], name="draw", shape=[3, 2],
                               dtype=T.FLOAT)]
    onnx.save(model(random, ["W_init"], [("W", "W_init")]),
              os.path.join(HERE, "training_info_init_random.onnx"))


if __name__ == "__main__":
    main()
