#!/usr/bin/env python3
"""ONNX backend node tests through mpc: importer -> plan -> CPU runtime.

For every test directory (model.onnx + test_data_set_*/input_*.pb and
output_*.pb) the model is compiled with `mpc-opt --emit=plan`, run with
`mpc-run`, and each output is compared with the stored reference
(rtol 1e-3 / atol 1e-7 like onnx's backend runner, bit-exact for integers and
booleans).

Shapes are static in mpc: inputs that the importer needs as constants (the
`shape` of Reshape, Slice bounds, axes) are specialised from the test data
set, which is what a user does with a real model too.

Outcomes:
  PASS         every data set matches
  FAIL         wrong numbers, a runtime error, or a crash
  UNSUPPORTED  refused by the importer for an unsupported op type, opset,
               element type or domain (printed by name with the reason), or
               listed in known_unsupported.txt with the reason
A refusal for any other reason that is not in known_unsupported.txt is a FAIL:
the list is the one place where deliberate gaps are written down.

With --upgrade-opset N, models below opset N are first converted with ONNX's
own version converter (what a user does with an older model); the suite for
the `simple/` gradient fixtures, which are opset 12, uses it and says so.

usage: run_node_tests.py MPC_OPT MPC_RUN [CORPUS] [--filter REGEX] [--jobs N]
                         [--upgrade-opset N] [-v]
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import ml_dtypes
import numpy as np
import onnx
from onnx import numpy_helper, version_converter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = "/usr/share/libonnx-testdata/data/node"
ACCEPTED_REFUSALS = [
    re.compile(r"op type '[^']+' is not supported by mpc"),
    re.compile(r"opset \d+ of domain 'ai\.onnx' is not supported"),
    re.compile(r"element type \w+, which mpc does not support"),
    re.compile(r"domain '[^']+' is not supported"),
    re.compile(r"is not a tensor \(sequences, maps and optionals are not supported\)"),
]
NEEDS_CONSTANT = re.compile(r"input '[^']+' \('([^']+)'\) must be a constant")


def load_known(path):
    known = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if not line:
                continue
            name, _, reason = line.partition(" ")
            known[name] = reason.strip()
    return known


def read_pb(path, declared_type):
    """Reads a reference tensor. onnx 1.12's test data stores bfloat16 tensors
    as UINT16 bit patterns: reinterpret them by the model's declared type."""
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    a = numpy_helper.to_array(t)
    if declared_type == onnx.TensorProto.BFLOAT16 and a.dtype == np.uint16:
        a = a.view(ml_dtypes.bfloat16)
    return a


def elem_types(values):
    return [v.type.tensor_type.elem_type if v.type.HasField("tensor_type") else 0
            for v in values]


def graph_inputs(model):
    inits = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def run(cmd, timeout=120):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, (p.stderr + p.stdout).strip()
    except subprocess.TimeoutExpired:
        return -999, "timed out"


def compile_plan(mpc_opt, model_path, plan_path):
    rc, out = run([mpc_opt, model_path, "--emit=plan", "-o", plan_path])
    return rc, out


def specialise(model, names, arrays, path):
    """Turns the graph inputs `names` into initializers holding `arrays`."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = [i for i in m.graph.input if i.name not in names]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for n, a in zip(names, arrays):
        m.graph.initializer.append(numpy_helper.from_array(a, n))
    onnx.save(m, path)


def compare(name, got, ref):
    if got.dtype.kind == "V" and got.dtype.itemsize == ref.dtype.itemsize:
        got = got.view(ref.dtype)  # bf16/fp8 are saved as raw void records
    if got.shape != ref.shape:
        return f"output '{name}': shape {got.shape} != expected {ref.shape}"
    if ref.dtype.kind in "biu":
        if got.dtype.kind not in "biu" or not np.array_equal(got, ref):
            bad = np.argwhere(got != ref)
            return f"output '{name}': {len(bad)} integer/bool elements differ"
        return None
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    rtol, atol = 1e-3, 1e-7
    if ref.dtype == np.float16:
        rtol, atol = 2e-3, 1e-3
    if not np.allclose(g, r, rtol=rtol, atol=atol, equal_nan=True):
        with np.errstate(invalid="ignore"):
            err = np.abs(g - r)
        i = np.unravel_index(np.nanargmax(err), err.shape)
        return (f"output '{name}': max abs err {err[i]:.3g} at {tuple(int(x) for x in i)} "
                f"(got {g[i]:.6g}, expected {r[i]:.6g})")
    return None


def default_opset(model):
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def run_test(test_dir, mpc_opt, mpc_run, known, upgrade_opset=0):
    name = os.path.basename(test_dir)
    model_path = os.path.join(test_dir, "model.onnx")
    sets = sorted(glob.glob(os.path.join(test_dir, "test_data_set_*")))
    if name in known:
        return name, "UNSUPPORTED", known[name]
    work = tempfile.mkdtemp(prefix="mpc-conf-")
    try:
        model = onnx.load(model_path)
        if upgrade_opset and default_opset(model) < upgrade_opset:
            model = version_converter.convert_version(model, upgrade_opset)
            model_path = os.path.join(work, "upgraded.onnx")
            onnx.save(model, model_path)
        inputs = graph_inputs(model)
        outputs = [o.name for o in model.graph.output]
        inits = {i.name for i in model.graph.initializer}
        in_types = elem_types([i for i in model.graph.input if i.name not in inits])
        out_types = elem_types(model.graph.output)
        plan = os.path.join(work, "model.mpcp")
        rc, msg = compile_plan(mpc_opt, model_path, plan)
        first_msg = msg
        specialised = False
        if rc != 0 and NEEDS_CONSTANT.search(msg):
            specialised = True  # compiled per data set below
        elif rc != 0:
            if rc == 1 and any(p.search(msg) for p in ACCEPTED_REFUSALS):
                return name, "UNSUPPORTED", msg.split("): ")[-1]
            return name, "FAIL", f"refused (not in known_unsupported.txt): {msg}"
        for ds in sets:
            by_index = lambda p: int(re.findall(r"\d+", p)[-1])
            in_files = sorted(glob.glob(os.path.join(ds, "input_*.pb")), key=by_index)
            out_files = sorted(glob.glob(os.path.join(ds, "output_*.pb")), key=by_index)
            arrays = [read_pb(p, t) for p, t in zip(in_files, in_types)]
            refs = [read_pb(p, t) for p, t in zip(out_files, out_types)]
            if len(arrays) != len(inputs):
                return name, "FAIL", f"{len(arrays)} input files for {len(inputs)} graph inputs"
            feed = dict(zip(inputs, arrays))
            if specialised:
                # Bake the inputs the importer asks for (by name) into the
                # model, one refusal at a time.
                const_names = []
                spec_path = os.path.join(work, "spec.onnx")
                for _ in range(len(feed) + 1):
                    m = NEEDS_CONSTANT.search(msg)
                    if rc == 0 or not m or m.group(1) not in feed or m.group(1) in const_names:
                        break
                    const_names.append(m.group(1))
                    specialise(model, const_names, [feed[n] for n in const_names], spec_path)
                    rc, msg = compile_plan(mpc_opt, spec_path, plan)
                if rc != 0:
                    if rc == 1 and any(p.search(msg) for p in ACCEPTED_REFUSALS):
                        return name, "UNSUPPORTED", msg.split("): ")[-1]
                    return name, "FAIL", f"refused after specialising inputs: {msg}"
                for n in const_names:
                    del feed[n]
                rc, msg = 1, first_msg
            in_dir = os.path.join(work, "in")
            out_dir = os.path.join(work, "out")
            shutil.rmtree(in_dir, ignore_errors=True)
            shutil.rmtree(out_dir, ignore_errors=True)
            os.makedirs(in_dir)
            args = [mpc_run, plan, "--output-dir", out_dir, "--threads", "1"]
            for i, (n, a) in enumerate(feed.items()):
                p = os.path.join(in_dir, f"in{i}.npy")
                np.save(p, a)
                args += ["--input", f"{n}={p}"]
            rc, msg = run(args)
            if rc != 0:
                return name, "FAIL", f"mpc-run failed ({rc}): {msg}"
            for o, ref in zip(outputs, refs):
                fname = re.sub(r"[^A-Za-z0-9_.-]", "_", o) + ".npy"
                path = os.path.join(out_dir, fname)
                if not os.path.exists(path):
                    return name, "FAIL", f"output '{o}' was not written"
                why = compare(o, np.load(path), ref)
                if why:
                    return name, "FAIL", f"{os.path.basename(ds)}: {why}"
        return name, "PASS", "specialised" if specialised else ""
    except Exception as e:  # a broken test harness must not look like a pass
        return name, "FAIL", f"driver error: {type(e).__name__}: {e}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mpc_opt")
    ap.add_argument("mpc_run")
    ap.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    ap.add_argument("--filter", default="")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--known", default=os.path.join(HERE, "known_unsupported.txt"))
    ap.add_argument("--upgrade-opset", type=int, default=0,
                    help="convert models below this opset with onnx.version_converter first")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    known = load_known(a.known)
    tests = sorted(d for d in glob.glob(os.path.join(a.corpus, "test_*"))
                   if os.path.isfile(os.path.join(d, "model.onnx"))
                   and re.search(a.filter, os.path.basename(d)))
    stale = sorted(set(known) - {os.path.basename(t) for t in tests})
    if stale and not a.filter and os.path.abspath(a.corpus) == DEFAULT_CORPUS:
        print(f"known_unsupported.txt names tests that do not exist: {stale}")
        return 1
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(
            lambda t: run_test(t, a.mpc_opt, a.mpc_run, known, a.upgrade_opset), tests))
    counts = {"PASS": 0, "FAIL": 0, "UNSUPPORTED": 0}
    for name, status, why in results:
        counts[status] += 1
        if status == "FAIL" or (a.verbose and status == "UNSUPPORTED") or (
                a.verbose and status == "PASS"):
            print(f"{status:11s} {name}: {why}")
    listed = sum(1 for n, s, _ in results if s == "UNSUPPORTED" and n in known)
    if a.upgrade_opset:
        print(f"(models below opset {a.upgrade_opset} were upgraded with onnx.version_converter)")
    print(f"conformance: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['UNSUPPORTED']} unsupported ({listed} listed in known_unsupported.txt) "
          f"of {len(results)} node tests")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
