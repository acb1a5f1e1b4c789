#!/usr/bin/env python3
"""Runs an ONNX model in onnxruntime on the .npy inputs of a directory and
compares every output with mpc-run's .npy outputs (max relative error)."""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("model")
    p.add_argument("inputs_dir")
    p.add_argument("outputs_dir")
    p.add_argument("--rtol", type=float, default=1e-4)
    a = p.parse_args()
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.load(os.path.join(a.inputs_dir, i.name + ".npy"))
             for i in sess.get_inputs()}
    ok = True
    for meta, ref in zip(sess.get_outputs(), sess.run(None, feeds)):
        got = np.load(os.path.join(a.outputs_dir, meta.name + ".npy"))
        err = float(np.abs(got.astype(np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30))
        status = "ok" if err <= a.rtol and got.shape == ref.shape else "MISMATCH"
        ok &= status == "ok"
        print(f"{meta.name:10s} shape {str(got.shape):12s} max rel err vs onnxruntime "
              f"{err:.2e}  {status}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
