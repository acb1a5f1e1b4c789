#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the repository's test inputs.

    make_seeds.py OUT_DIR [--mpc-opt PATH --mpc-run PATH]

OUT_DIR/<target>/ gets: onnx_proto - the binary models of test/lit/import/Inputs,
the bad-input corpus' models and up to 150 small ONNX backend node-test models;
onnx_text - every .onnxtxt of test/lit and the sections of the lit error tests;
plan, checkpoint, npy - plans compiled by mpc-opt from those models, the
bad-input corpus' plans, checkpoints and .npy files, and .npy arrays of every
supported dtype. Small hand-written seeds live in test/fuzz/seeds/<target>/.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def copy(src, dst_dir, name=None):
    os.makedirs(dst_dir, exist_ok=True)
    shutil.copyfile(src, os.path.join(dst_dir, name or os.path.basename(src)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mpc-opt")
    ap.add_argument("--mpc-run")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    for t in ("onnx_proto", "onnx_text", "plan", "checkpoint", "npy"):
        os.makedirs(os.path.join(out, t), exist_ok=True)
        for f in glob.glob(os.path.join(HERE, "seeds", t, "*")):
            copy(f, os.path.join(out, t))

    # ONNX text: the lit importer tests, and each split-file section of .test files.
    for f in sorted(glob.glob(os.path.join(ROOT, "test", "lit", "**", "*.onnxtxt"), recursive=True)):
        copy(f, os.path.join(out, "onnx_text"), f.replace(ROOT + "/", "").replace("/", "_"))
    for f in sorted(glob.glob(os.path.join(ROOT, "test", "lit", "import", "*.test"))):
        text = open(f, errors="replace").read()
        for i, part in enumerate(text.split("\n//--- ")[1:]):
            body = part.split("\n", 1)[1] if "\n" in part else ""
            if body.strip() and len(body) < 20000:
                with open(os.path.join(out, "onnx_text", f"{os.path.basename(f)}.{i}.onnxtxt"), "w") as g:
                    g.write(body)

    # Binary ONNX.
    for f in sorted(glob.glob(os.path.join(ROOT, "test", "lit", "import", "Inputs", "*.onnx"))):
        if os.path.getsize(f) < 1 << 20:
            copy(f, os.path.join(out, "onnx_proto"))
    node_dir = "/usr/share/libonnx-testdata/data/node"
    models = sorted(glob.glob(os.path.join(node_dir, "*", "model.onnx")))
    models = [m for m in models if os.path.getsize(m) < 4096]
    step = max(1, len(models) // 150)
    for m in models[::step][:150]:
        copy(m, os.path.join(out, "onnx_proto"), os.path.basename(os.path.dirname(m)) + ".onnx")

    # Runtime inputs from the bad-input corpus generator (valid and broken).
    if a.mpc_opt and a.mpc_run:
        work = os.path.join(out, ".bad-inputs")
        subprocess.run([sys.executable, os.path.join(ROOT, "test", "bad-inputs", "gen_cases.py"), work,
                        a.mpc_opt, a.mpc_run], check=True, stdout=subprocess.DEVNULL)
        for f in glob.glob(os.path.join(work, "*.onnx")):
            copy(f, os.path.join(out, "onnx_proto"))
        for f in glob.glob(os.path.join(work, "*.mpcp")):
            copy(f, os.path.join(out, "plan"))
        for f in glob.glob(os.path.join(work, "*.safetensors")):
            copy(f, os.path.join(out, "checkpoint"))
        for f in glob.glob(os.path.join(work, "*.npy")):
            copy(f, os.path.join(out, "npy"))
        # A few more plans: lit importer models compiled for inference.
        for f in sorted(glob.glob(os.path.join(ROOT, "test", "lit", "import", "*.onnxtxt")))[:12]:
            p = os.path.join(out, "plan", os.path.basename(f) + ".mpcp")
            subprocess.run([a.mpc_opt, f, "--emit=plan", "-o", p], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)

    try:
        import numpy as np
        import ml_dtypes
        for name, arr in [("f32", np.arange(6, dtype=np.float32).reshape(2, 3)),
                          ("f16", np.ones((4,), np.float16)), ("f64", np.zeros((1, 1, 2), np.float64)),
                          ("i32", np.arange(3, dtype=np.int32)), ("i64", np.array(7, np.int64)),
                          ("bool", np.array([True, False])), ("i8", np.array([-1, 2], np.int8)),
                          ("u8", np.array([1, 2], np.uint8)), ("empty", np.zeros((0, 3), np.float32)),
                          ("bf16", np.ones((2,), ml_dtypes.bfloat16)),
                          ("f8", np.ones((2,), ml_dtypes.float8_e4m3fn))]:
            np.save(os.path.join(out, "npy", name + ".npy"), arr)
    except ImportError:
        pass
    for t in ("onnx_proto", "onnx_text", "plan", "checkpoint", "npy"):
        print(f"make_seeds: {t}: {len(os.listdir(os.path.join(out, t)))} seeds")


if __name__ == "__main__":
    main()
