# Checks an exported model with onnx's full checker and prints its nodes and inputs.
import sys

import onnx

model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
print(" ".join("%s:%s" % (n.op_type, n.name) for n in model.graph.node))
names = {v: k for k, v in onnx.TensorProto.DataType.items()}
print("inputs: " + " ".join("%s:%s" % (i.name, names[i.type.tensor_type.elem_type])
                             for i in model.graph.input))
