#!/usr/bin/env python3
"""Writes the binary .onnx inputs of the importer lit tests.

The ONNX text syntax of libonnx 1.12 has no node names and no quoted
identifiers, so models that need them are built here with the onnx package.
Run once from this directory (`python gen_models.py`) and commit the outputs;
they are tiny and deterministic.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


def named():
    """Names with '.' and '/': node names become locations, initializers
    globals (large ones as dense_resource); an unused initializer and a
    shape-only initializer do not become globals."""
    w = numpy_helper.from_array(np.arange(256, dtype=np.float32).reshape(16, 16) / 256,
                                "layer.0/weight")
    b = numpy_helper.from_array(np.arange(16, dtype=np.float32), "layer.0/bias")
    unused = numpy_helper.from_array(np.ones(32, dtype=np.float32), "unused.weight")
    shape = numpy_helper.from_array(np.array([4, 8], dtype=np.int64), "head/shape")
    scale = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "head.scale")
    nodes = [
        helper.make_node("MatMul", ["x", "layer.0/weight"], ["h0"], name="layer.0/MatMul"),
        helper.make_node("Add", ["h0", "layer.0/bias"], ["h1"], name="layer.0/Add"),
        helper.make_node("Relu", ["h1"], ["h2"], name="layer.0/act/Relu"),
        helper.make_node("Add", ["h2", "layer.0/bias"], ["h3"], name="layer.1/Add"),
        helper.make_node("Mul", ["h3", "head.scale"], ["h4"], name="head/Mul"),
        helper.make_node("Sum", ["h4", "h4", "h4"], ["h5"], name="head/Sum"),
        helper.make_node("Mean", ["h5", "h4"], ["h6"], name="head/Mean"),
        helper.make_node("Reshape", ["h6", "head/shape"], ["h7"], name="head/Reshape"),
        helper.make_node("Split", ["h7"], ["y0", "y1"], name="head/Split", axis=0),
    ]
    graph = helper.make_graph(
        nodes, "named",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
        [helper.make_tensor_value_info("y0", TensorProto.FLOAT, [2, 8]),
         helper.make_tensor_value_info("y1", TensorProto.FLOAT, [2, 8])],
        initializer=[w, b, unused, shape, scale])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), "named.onnx")


def unknown_domain():
    """A node in a domain mpc does not support."""
    node = helper.make_node("FusedGemm", ["x", "x"], ["y"], name="fused", domain="com.microsoft")
    graph = helper.make_graph(
        [node], "domain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                     helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, os.path.join(HERE, "unknown_domain.onnx"))


def huge_initializer():
    """An initializer that declares 2^31 floats and stores none: must be an
    error, not an 8 GiB allocation."""
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 31])
    node = helper.make_node("Add", ["x", "w"], ["y"], name="add")
    graph = helper.make_graph(
        [node], "huge",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 31])],
        initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, os.path.join(HERE, "huge_initializer.onnx"))


if __name__ == "__main__":
    named()
    unknown_domain()
    huge_initializer()
