# Runs an exported gelu model in onnxruntime and compares with the formulas.
import math
import sys

import numpy as np
import onnx
import onnxruntime as ort

path = sys.argv[1]
model = onnx.load(path)
onnx.checker.check_model(model, full_check=True)
print("ops:", " ".join(sorted({n.op_type for n in model.graph.node})))
x = np.linspace(-6, 6, 64, dtype=np.float32)
exact, approx = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})
erf = np.vectorize(math.erf)
ref_exact = 0.5 * x * (1 + erf(x / math.sqrt(2)))
ref_approx = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
for name, got, ref in [("exact", exact, ref_exact), ("approx", approx, ref_approx)]:
    err = float(np.max(np.abs(got - ref)))
    print("%s: max error %.2e %s" % (name, err, "ok" if err < 1e-5 else "TOO LARGE"))
