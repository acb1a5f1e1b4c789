#!/usr/bin/env python3
"""Runs the bad-input corpus through mpc-opt and mpc-run (see manifest.txt).

    run_bad_inputs.py MPC_OPT MPC_RUN WORK_DIR [--filter REGEX] [--timeout S]

For every manifest case: exit status 1 (a signal, an abort or a sanitizer
report fails the case), exactly one stderr line and it matches the expected
regex, no hang, and nothing left behind in the case's scratch dir {o}.

It then replays every file in regressions/<target>/ (inputs that once crashed
a fuzz target, see tools/fuzz.sh) through the matching CLI: those may succeed
or fail, but a failure must be one clean error line, and nothing may crash.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SANITIZER = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|AddressSanitizer|UndefinedBehaviorSanitizer")


def read_manifest():
    cases = []
    with open(os.path.join(HERE, "manifest.txt")) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in re.split(r"\s*\|\s+", line, maxsplit=2)]
            if len(parts) != 3:
                sys.exit(f"manifest.txt:{lineno}: expected 'name | command | regex'")
            cases.append((parts[0], parts[1], parts[2], lineno))
    return cases


def run(cmd, timeout):
    env = dict(os.environ)
    # Sanitizer builds: report and fail, never continue silently.
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, "", ""
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check_clean_failure(rc, out, err, regex):
    """Returns a problem description, or None."""
    if rc is None:
        return "timed out (hang)"
    if SANITIZER.search(err):
        return "sanitizer report"
    if rc < 0:
        return f"killed by signal {-rc}"
    if rc == 0:
        return "exit status 0 (expected a failure)"
    if rc != 1:
        return f"exit status {rc} (expected 1)"
    lines = [l for l in err.splitlines() if l.strip()]
    if len(lines) != 1:
        return f"{len(lines)} stderr lines (expected exactly one error line)"
    if regex is not None and not re.search(regex, lines[0]):
        return f"error line does not match /{regex}/"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mpc_opt")
    ap.add_argument("mpc_run")
    ap.add_argument("work")
    ap.add_argument("--filter", default="")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    d = os.path.join(work, "inputs")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(d)
    py = sys.executable
    subprocess.run([py, os.path.join(HERE, "gen_cases.py"), d, a.mpc_opt, a.mpc_run], check=True)

    failures, count = [], 0
    for name, command, regex, lineno in read_manifest():
        if a.filter and not re.search(a.filter, name):
            continue
        count += 1
        o = os.path.join(work, "out", name)
        os.makedirs(o)
        cmd = [w.format(d=d, o=o, opt=a.mpc_opt, run=a.mpc_run) for w in shlex.split(command)]
        rc, out, err = run(cmd, a.timeout)
        problem = check_clean_failure(rc, out, err, regex)
        left = os.listdir(o)
        if problem is None and left:
            problem = f"left output behind: {left}"
        if problem:
            failures.append(name)
            print(f"FAIL {name} (manifest.txt:{lineno}): {problem}\n  $ {' '.join(map(shlex.quote, cmd))}\n"
                  + "".join(f"  | {l}\n" for l in err.splitlines()[-20:]), end="")
        else:
            print(f"ok   {name}: {err.strip()[:160]}")

    # Regression inputs from fuzzing: any clean outcome is fine, crashes are not.
    reg_root = os.path.join(HERE, "regressions")
    targets = {
        "onnx_proto": lambda f, o: [a.mpc_opt, copy_as(f, o, ".onnx"), "--emit=plan", "-o", os.path.join(o, "p.mpcp")],
        "onnx_text": lambda f, o: [a.mpc_opt, copy_as(f, o, ".onnxtxt"), "--emit=plan", "-o", os.path.join(o, "p.mpcp")],
        "plan": lambda f, o: [a.mpc_run, f, "--verify-data"],
        "checkpoint": lambda f, o: [a.mpc_run, os.path.join(d, "train.mpcp"), "--train", "--steps", "1", "--synthetic",
                                    "--load-state", f],
        "npy": lambda f, o: [a.mpc_run, os.path.join(d, "infer.mpcp"), "--input", "x=" + f],
    }
    for target, make in sorted(targets.items()):
        tdir = os.path.join(reg_root, target)
        if not os.path.isdir(tdir):
            continue
        for fn in sorted(os.listdir(tdir)):
            if fn.startswith(".") or fn.endswith(".md"):
                continue
            name = f"regression.{target}.{fn}"
            if a.filter and not re.search(a.filter, name):
                continue
            count += 1
            o = os.path.join(work, "out", name)
            os.makedirs(o)
            rc, out, err = run(make(os.path.join(tdir, fn), o), a.timeout)
            problem = None if rc == 0 and not SANITIZER.search(err) else check_clean_failure(rc, out, err, None)
            if problem:
                failures.append(name)
                print(f"FAIL {name}: {problem}\n" + "".join(f"  | {l}\n" for l in err.splitlines()[-20:]), end="")
            else:
                print(f"ok   {name}: {'success' if rc == 0 else err.strip()[:160]}")

    print(f"bad-inputs: {count - len(failures)} passed, {len(failures)} failed")
    return 1 if failures or count == 0 else 0


def copy_as(src, outdir, ext):
    """The CLI picks the format from the extension: copy the input under one."""
    dst = os.path.join(outdir, "..", os.path.basename(outdir) + ext)
    shutil.copyfile(src, dst)
    return os.path.normpath(dst)


if __name__ == "__main__":
    sys.exit(main())
