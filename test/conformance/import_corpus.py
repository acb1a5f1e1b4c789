#!/usr/bin/env python3
"""Imports every ONNX backend node-test model and checks that none crashes.

Each model must either import (exit 0, the module verifies) or be refused with
exit code 1 and exactly one `error:` line. Anything else (a signal, an assert,
a stack dump, a hang, several error lines) fails the test. Prints the counts of
imported and refused models, refusals grouped by reason.

usage: import_corpus.py MPC_OPT [CORPUS_DIR] [--jobs N] [--list-refused]
"""
import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys

DEFAULT_CORPUS = "/usr/share/libonnx-testdata/data/node"


def run_one(mpc_opt, model):
    try:
        proc = subprocess.run([mpc_opt, model, "-o", os.devnull], capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return model, "hang", "timed out after 60 s"
    err = proc.stderr.strip()
    if proc.returncode == 0:
        return model, "imported", ""
    error_lines = [l for l in err.splitlines() if "error:" in l]
    crashed = (proc.returncode != 1 or "Stack dump" in err or "Assertion" in err
               or len(error_lines) != 1)
    return model, "crash" if crashed else "refused", err


def reason_of(message):
    """Groups refusal messages: op type for unsupported ops, else the message
    with names and numbers stripped."""
    m = re.search(r"op type '([^']+)' is not supported", message)
    if m:
        return f"unsupported op {m.group(1)}"
    m = re.search(r"opset (\d+) of domain", message)
    if m:
        return f"opset {m.group(1)} outside 13-21"
    m = re.search(r"element type (\w+), which mpc does not support", message)
    if m:
        return f"element type {m.group(1)}"
    m = re.search(r"domain '([^']+)' is not supported", message)
    if m:
        return f"domain {m.group(1)}"
    text = message.split("): ", 1)[-1] if "): " in message else message.split("error: ")[-1]
    text = re.sub(r"'[^']*'", "'_'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:90]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mpc_opt")
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--list-refused", action="store_true")
    args = parser.parse_args()

    models = sorted(os.path.join(args.corpus, d, "model.onnx") for d in os.listdir(args.corpus)
                    if os.path.isfile(os.path.join(args.corpus, d, "model.onnx")))
    if not models:
        print(f"no models found under {args.corpus}", file=sys.stderr)
        return 1
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for r in pool.map(lambda m: run_one(args.mpc_opt, m), models):
            results.append(r)

    counts = collections.Counter(status for _, status, _ in results)
    reasons = collections.Counter(reason_of(msg) for _, status, msg in results
                                  if status == "refused")
    bad = [(m, s, msg) for m, s, msg in results if s in ("crash", "hang")]
    for model, status, msg in bad:
        print(f"{status.upper()}: {model}\n{msg[-2000:]}\n")
    if args.list_refused:
        for model, status, msg in results:
            if status == "refused":
                print(f"refused {os.path.basename(os.path.dirname(model))}: {msg}")
    print(f"models: {len(results)}  imported: {counts['imported']}  "
          f"refused: {counts['refused']}  crashed: {counts['crash']}  hung: {counts['hang']}")
    print("refusals by reason:")
    for reason, n in reasons.most_common():
        print(f"  {n:5d}  {reason}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
