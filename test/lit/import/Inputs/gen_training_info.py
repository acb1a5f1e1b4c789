#!/usr/bin/env python3
"""Writes training_info.onnx: an inference graph (loss = sum((x W)^2)) with a
TrainingInfoProto whose algorithm is W_new = W - lr * Gradient(loss, W) and whose
update_binding stores W_new into W. Used by training-info.test."""
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
W = numpy_helper.from_array(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32), "W")
main = helper.make_graph(
    [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
     helper.make_node("Mul", ["y", "y"], ["y2"], name="sq"),
     helper.make_node("ReduceSum", ["y2"], ["loss"], name="sum", keepdims=0)],
    "main", [helper.make_tensor_value_info("x", T.FLOAT, [2, 3])],
    [helper.make_tensor_value_info("loss", T.FLOAT, [])], [W])
lr = numpy_helper.from_array(np.array(0.01, np.float32), "lr")
alg = helper.make_graph(
    [helper.make_node("Gradient", ["W"], ["dW"], name="grad", domain="ai.onnx.preview.training",
                      xs=["W"], y="loss"),
     helper.make_node("Mul", ["lr", "dW"], ["step"], name="scale"),
     helper.make_node("Sub", ["W", "step"], ["W_new"], name="update")],
    "algorithm", [], [helper.make_tensor_value_info("W_new", T.FLOAT, [3, 2])], [lr])
ti = helper.make_training_info(alg, [("W", "W_new")], None, None)
m = helper.make_model(main, opset_imports=[helper.make_opsetid("", 17),
                                           helper.make_opsetid("ai.onnx.preview.training", 1)])
m.training_info.append(ti)
m.ir_version = 8
import os, sys
onnx.save(m, os.path.join(os.path.dirname(os.path.abspath(__file__)), "training_info.onnx"))
