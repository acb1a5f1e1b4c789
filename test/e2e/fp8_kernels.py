#!/usr/bin/env python3
"""The FP8 ops through mpc-opt --emit=plan and the CPU runtime, against NumPy.

  quantize     mpc.fp8_quantize of every bf16 bit pattern and of f32 specials,
               times several scales, to E4M3FN and E5M2: bit-exact against
               ml_dtypes with saturation (finite overflow and +-inf -> +-max,
               NaN stays NaN); its amax against NumPy (NaN when any x is NaN).
               mpc.dequantize of all 256 codes of both formats, f32 and bf16.
  scale update mpc.fp8_scale_update against an independent NumPy model of
               DESIGN.md section 5: amax zero, tiny (scale overflows to
               FLT_MAX), normal, inf, NaN; amax_algo max and most_recent;
               margin; the no-roll rule; history length 1; two operands with
               different formats; the skip rule (every result bit-identical);
               8-step sequences fed back as a training loop would.
  current      mpc.fp8_current_scale for the same amaxes.
  gemm         mpc.fp8_gemm on quantized random data: within FP32 summation
               error of the exact product of the FP8 values; SQNR >= 25 dB
               against the FP32 GEMM of the unquantized data; bias, alpha,
               beta, bf16 output, E5M2 x E4M3.
  mx           mpc.mx_gemm against an OCP MX model: b = identity makes y the
               block-quantized a bit for bit (zero, subnormal, inf/NaN and
               saturating blocks, E4M3 and E5M2); SQNR >= 25 dB vs FP32.

usage: fp8_kernels.py MPC_OPT LIBMPCRT
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

try:
    import ml_dtypes
except ImportError as e:  # a loud failure, never a silent skip
    sys.exit(f"FAIL: {sys.executable} lacks ml_dtypes ({e}); run tools/install-deps.sh")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpcrt  # noqa: E402

E4, E5, BF16 = ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2, ml_dtypes.bfloat16
mpcrt.DTYPES.update({2: np.float16, 3: BF16, 5: E4, 6: E5})
mpcrt.CODES.update({np.dtype(v): k for k, v in mpcrt.DTYPES.items()})
FLT_MAX = np.float32(np.finfo(np.float32).max)
FAILURES = []


def fail(msg):
    print("FAIL " + msg)
    FAILURES.append(msg)


def mlir_type(shape, elem):
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def compile_plan(mpc_opt, work, name, text):
    src = os.path.join(work, name + ".mlir")
    with open(src, "w") as f:
        f.write(text)
    plan = os.path.join(work, name + ".mpcp")
    p = subprocess.run([mpc_opt, src, "--emit=plan", "-o", plan], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: mpc-opt {name}: {p.stderr.strip()}")
    return plan


def run_plan(rt, plan, feeds, outputs):
    s = rt.session(plan)
    try:
        for k, v in feeds.items():
            s.set_input(k, v)
        s.run()
        return [s.output(o).copy() for o in outputs]
    finally:
        s.close()


def same_bits(got, want):
    """Bitwise equality where NaN matches any NaN."""
    got, want = np.asarray(got), np.asarray(want)
    gf, wf = got.astype(np.float32), want.astype(np.float32)
    nan = np.isnan(wf)
    ib = {1: np.uint8, 2: np.uint16, 4: np.uint32}[got.dtype.itemsize]
    return np.where(nan, np.isnan(gf), got.view(ib) == want.view(ib))


# ---------------------------------------------------------------------------
# quantize / dequantize


def saturating(v32, fmt):
    mx = np.float32(float(ml_dtypes.finfo(fmt).max))
    with np.errstate(invalid="ignore"):
        c = np.where(np.isnan(v32), v32, np.clip(v32, -mx, mx)).astype(np.float32)
    return c.astype(fmt)


def test_quantize(rt, mpc_opt, work):
    bf = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(BF16)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 448.0, 464.0, 480.0, -480.0, 57344.0,
                         61440.0, 65504.0, 2.0 ** -9, 2.0 ** -10, 1.5 * 2.0 ** -10, 2.0 ** -16,
                         2.0 ** -17, 3 * 2.0 ** -18, 1e-45, FLT_MAX], np.float32)
    rng = np.random.default_rng(0)
    f32 = np.concatenate([specials, (rng.standard_normal(4076) * 10.0 ** rng.integers(-8, 8, 4076))
                          .astype(np.float32)])
    total = 0
    for elem, x in (("bf16", bf), ("f32", f32)):
        n = x.size
        t = mlir_type([n], elem)
        text = f"""func.func @main(%x: {t} {{mpc.name = "x"}}, %s: tensor<f32> {{mpc.name = "s"}})
    -> ({mlir_type([n], 'f8E4M3FN')} {{mpc.name = "q4"}}, tensor<f32> {{mpc.name = "a4"}},
        {mlir_type([n], 'f8E5M2')} {{mpc.name = "q5"}}, tensor<f32> {{mpc.name = "a5"}}) {{
  %q4, %a4 = mpc.fp8_quantize %x, %s : ({t}, tensor<f32>) -> ({mlir_type([n], 'f8E4M3FN')}, tensor<f32>)
  %q5, %a5 = mpc.fp8_quantize %x, %s : ({t}, tensor<f32>) -> ({mlir_type([n], 'f8E5M2')}, tensor<f32>)
  return %q4, %a4, %q5, %a5 : {mlir_type([n], 'f8E4M3FN')}, tensor<f32>, {mlir_type([n], 'f8E5M2')}, tensor<f32>
}}
"""
        plan = compile_plan(mpc_opt, work, f"quantize_{elem}", text)
        for scale in (1.0, 3.7, 2.0 ** -10, 448.0 / 1.3, 1e30, 0.0):
            s = np.array(scale, np.float32)
            q4, a4, q5, a5 = run_plan(rt, plan, {"x": x, "s": s}, ["q4", "a4", "q5", "a5"])
            with np.errstate(invalid="ignore", over="ignore"):
                v = x.astype(np.float32) * s
            amax = np.max(np.abs(x.astype(np.float32)))
            for fmt, q, a, name in ((E4, q4, a4, "e4m3fn"), (E5, q5, a5, "e5m2")):
                ok = same_bits(q, saturating(v, fmt))
                total += q.size
                if not ok.all():
                    i = int(np.nonzero(~ok)[0][0])
                    fail(f"fp8_quantize {elem}->{name} scale {scale}: {int((~ok).sum())} mismatches, "
                         f"first x={x[i]!r} mpc=0x{int(q.view(np.uint8)[i]):02x} "
                         f"ml_dtypes=0x{int(saturating(v, fmt).view(np.uint8)[i]):02x}")
                if not same_bits(np.asarray(a, np.float32), np.asarray(amax, np.float32)).all():
                    fail(f"fp8_quantize {elem} amax {a} vs NumPy {amax}")
    print(f"ok   fp8_quantize: {total} conversions bit-exact vs ml_dtypes (saturating), amax exact")

    codes = np.arange(256, dtype=np.uint8)
    for fmt, elem in ((E4, "f8E4M3FN"), (E5, "f8E5M2")):
        for out, odt in (("f32", np.float32), ("bf16", BF16)):
            qt, yt = mlir_type([256], elem), mlir_type([256], out)
            text = f"""func.func @main(%q: {qt} {{mpc.name = "q"}}, %si: tensor<f32> {{mpc.name = "si"}}) -> ({yt} {{mpc.name = "y"}}) {{
  %y = mpc.dequantize %q, %si : ({qt}, tensor<f32>) -> {yt}
  return %y : {yt}
}}
"""
            plan = compile_plan(mpc_opt, work, f"dequantize_{elem}_{out}", text)
            for si in (1.0, 0.0123, 2.0 ** 20):
                sinv = np.array(si, np.float32)
                (y,) = run_plan(rt, plan, {"q": codes.view(fmt), "si": sinv}, ["y"])
                with np.errstate(invalid="ignore", over="ignore"):
                    want = (codes.view(fmt).astype(np.float32) * sinv).astype(odt)
                if not same_bits(y, want).all():
                    fail(f"dequantize {elem} -> {out} scale_inv {si}: mismatch")
    print("ok   dequantize: all 256 codes of E4M3FN and E5M2, f32 and bf16 results, bit-exact")


# ---------------------------------------------------------------------------
# scale update: an independent NumPy model of DESIGN.md section 5


def model_update(amax, hist, scale, sinv, fmax, algo, margin, skip):
    hist = np.array(hist, np.float32)
    if skip:
        return hist, np.float32(scale), np.float32(sinv)
    h = hist.copy()
    h[0] = amax
    a = np.max(h) if algo == "max" else h[0]  # np.max propagates NaN
    if h[0] != 0:
        h = np.roll(h, -1)
        h[0] = 0
    if np.isfinite(a) and a > 0:
        with np.errstate(over="ignore", divide="ignore"):
            s = np.float32(np.float32(fmax) / np.float32(a)) / np.float32(2.0 ** margin)
        if np.isinf(s):
            s = FLT_MAX
        return h, np.float32(s), np.float32(np.float32(1) / np.float32(s))
    return h, np.float32(scale), np.float32(sinv)


def update_plan(mpc_opt, work, lengths, formats, algo, margin, skip):
    args, ins, res, rtypes, names = [], [], [], [], []
    for i, L in enumerate(lengths):
        ht = mlir_type([L], "f32")
        args += [f'%a{i}: tensor<f32> {{mpc.name = "a{i}"}}', f'%h{i}: {ht} {{mpc.name = "h{i}"}}',
                 f'%s{i}: tensor<f32> {{mpc.name = "s{i}"}}', f'%i{i}: tensor<f32> {{mpc.name = "i{i}"}}']
        ins += [f"%a{i}", f"%h{i}", f"%s{i}", f"%i{i}"]
        rtypes += [ht, "tensor<f32>", "tensor<f32>"]
        names += [f"h{i}o", f"s{i}o", f"i{i}o"]
    if skip:
        args.append('%skip: tensor<f32> {mpc.name = "skip"}')
        ins.append("%skip")
    n = len(rtypes)
    in_types = ", ".join(["tensor<f32>" if not a.startswith("%h") else mlir_type([lengths[int(a[2:])]], "f32")
                          for a in ins])
    rets = ", ".join(f'{t} {{mpc.name = "{nm}"}}' for t, nm in zip(rtypes, names))
    text = f"""func.func @main({', '.join(args)}) -> ({rets}) {{
  %r:{n} = mpc.fp8_scale_update {', '.join(ins)} {{formats = array<i64: {', '.join(map(str, formats))}>, amax_algo = "{algo}", margin = {margin} : i64}}
      : ({in_types}) -> ({', '.join(rtypes)})
  return {', '.join(f'%r#{k}' for k in range(n))} : {', '.join(rtypes)}
}}
"""
    return compile_plan(mpc_opt, work, f"update_{algo}_{margin}_{skip}_{'_'.join(map(str, lengths))}", text), names


def test_scale_update(rt, mpc_opt, work):
    tiny = np.float32(1e-45)  # 448 / tiny overflows: FLT_MAX
    amaxes = [0.0, float(tiny), 1e-30, 3.5, 448.0, 1e6, np.inf, -np.inf, np.nan]
    rng = np.random.default_rng(1)
    checked = 0
    for algo in ("max", "most_recent"):
        for margin in (0, 3):
            for skip in (False, True):
                lengths, formats = [4, 1, 16], [5, 6, 5]
                plan, names = update_plan(mpc_opt, work, lengths, formats, algo, margin, skip)
                fmaxes = [448.0 if f == 5 else 57344.0 for f in formats]
                for skip_value in ((0.0, 1.0, np.nan) if skip else (None,)):
                    for amax in amaxes:
                        for hist_kind in ("zeros", "random", "nan", "big"):
                            state = []
                            for L in lengths:
                                h = np.zeros(L, np.float32)
                                if hist_kind == "random":
                                    h = rng.uniform(0.1, 10, L).astype(np.float32)
                                elif hist_kind == "nan":
                                    h[-1] = np.nan
                                elif hist_kind == "big":
                                    h[:] = 1000.0
                                state.append((h, np.float32(2.5), np.float32(np.float32(1) / np.float32(2.5))))
                            # 8 steps: the step-k amax is `amax` at step 0, then random or 0.
                            for step in range(8):
                                a = [np.float32(amax) if step == 0 else
                                     np.float32(0.0 if step == 5 else rng.uniform(0, 100)) for _ in lengths]
                                feeds = {}
                                for i in range(len(lengths)):
                                    feeds.update({f"a{i}": a[i], f"h{i}": state[i][0], f"s{i}": state[i][1],
                                                  f"i{i}": state[i][2]})
                                if skip:
                                    feeds["skip"] = np.float32(skip_value)
                                outs = run_plan(rt, plan, {k: np.array(v, np.float32) for k, v in feeds.items()},
                                                names)
                                do_skip = skip and skip_value != 0.0  # NaN is non-zero: skip
                                for i in range(len(lengths)):
                                    want = model_update(a[i], state[i][0], state[i][1], state[i][2], fmaxes[i],
                                                        algo, margin, do_skip)
                                    got = outs[3 * i:3 * i + 3]
                                    for g, w, what in zip(got, want, ("history", "scale", "scale_inv")):
                                        if not same_bits(np.asarray(g, np.float32), np.asarray(w, np.float32)).all():
                                            fail(f"fp8_scale_update {algo} margin {margin} skip {skip_value} "
                                                 f"amax {amax} history {hist_kind} step {step} operand {i}: "
                                                 f"{what} {g} vs NumPy {w}")
                                            return
                                    if do_skip:
                                        for g, old in zip(got, state[i]):
                                            if np.asarray(g, np.float32).tobytes() != np.asarray(old, np.float32).tobytes():
                                                fail("skip rule: state not bit-identical")
                                    checked += 1
                                    state[i] = tuple(np.asarray(g, np.float32) for g in got)
    print(f"ok   fp8_scale_update: {checked} operand updates bit-identical to the NumPy model "
          "(zero/tiny/normal/inf/NaN amax, max and most_recent, margins 0 and 3, no-roll, "
          "history lengths 1/4/16, E4M3 and E5M2, skip rule)")

    # current scaling
    n = len(amaxes)
    text = f"""func.func @main(%a: tensor<f32> {{mpc.name = "a"}}) -> (tensor<f32> {{mpc.name = "s"}}, tensor<f32> {{mpc.name = "si"}}) {{
  %s, %si = mpc.fp8_current_scale %a {{format = 6 : i64, margin = 1 : i64}} : (tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %s, %si : tensor<f32>, tensor<f32>
}}
"""
    plan = compile_plan(mpc_opt, work, "current_scale", text)
    for amax in amaxes:
        s, si = run_plan(rt, plan, {"a": np.array(amax, np.float32)}, ["s", "si"])
        _, ws, wsi = model_update(np.float32(amax), np.zeros(1, np.float32), np.float32(1), np.float32(1),
                                  57344.0, "most_recent", 1, False)
        if not (same_bits(np.asarray(s), np.asarray(ws)).all() and same_bits(np.asarray(si), np.asarray(wsi)).all()):
            fail(f"fp8_current_scale amax {amax}: {s}, {si} vs {ws}, {wsi}")
    print(f"ok   fp8_current_scale: {n} amaxes")


# ---------------------------------------------------------------------------
# FP8 GEMM


def test_gemm(rt, mpc_opt, work):
    rng = np.random.default_rng(2)
    M, N, K = 64, 96, 128
    for afmt, bfmt, out, with_bias in (("f8E4M3FN", "f8E4M3FN", "f32", False),
                                       ("f8E4M3FN", "f8E4M3FN", "bf16", True),
                                       ("f8E5M2", "f8E4M3FN", "f32", True)):
        at, bt, yt = mlir_type([M, K], afmt), mlir_type([N, K], bfmt), mlir_type([M, N], out)
        xt, wt = mlir_type([M, K], "f32"), mlir_type([N, K], "f32")
        bias_arg = ', %c: tensor<96xf32> {mpc.name = "c"}' if with_bias else ""
        bias_op = ", %c" if with_bias else ""
        bias_ty = ", tensor<96xf32>" if with_bias else ""
        text = f"""func.func @main(%x: {xt} {{mpc.name = "x"}}, %w: {wt} {{mpc.name = "w"}},
    %sx: tensor<f32> {{mpc.name = "sx"}}, %sw: tensor<f32> {{mpc.name = "sw"}},
    %ix: tensor<f32> {{mpc.name = "ix"}}, %iw: tensor<f32> {{mpc.name = "iw"}}{bias_arg})
    -> ({yt} {{mpc.name = "y"}}, {at} {{mpc.name = "xq"}}, {bt} {{mpc.name = "wq"}}) {{
  %xq, %ax = mpc.fp8_quantize %x, %sx : ({xt}, tensor<f32>) -> ({at}, tensor<f32>)
  %wq, %aw = mpc.fp8_quantize %w, %sw : ({wt}, tensor<f32>) -> ({bt}, tensor<f32>)
  %y = mpc.fp8_gemm %xq, %wq, %ix, %iw{bias_op} {{alpha = 0.5 : f32, beta = 2.0 : f32}}
      : ({at}, {bt}, tensor<f32>, tensor<f32>{bias_ty}) -> {yt}
  return %y, %xq, %wq : {yt}, {at}, {bt}
}}
"""
        plan = compile_plan(mpc_opt, work, f"gemm_{afmt}_{bfmt}_{out}_{with_bias}", text)
        x = rng.standard_normal((M, K)).astype(np.float32) * 3
        w = (rng.standard_normal((N, K)) * 0.05).astype(np.float32)
        c = rng.standard_normal(N).astype(np.float32)
        fx = 448.0 if afmt == "f8E4M3FN" else 57344.0
        sx = np.float32(fx / np.abs(x).max())
        sw = np.float32(448.0 / np.abs(w).max())
        feeds = {"x": x, "w": w, "sx": sx, "sw": sw, "ix": np.float32(1) / sx, "iw": np.float32(1) / sw}
        if with_bias:
            feeds["c"] = c
        y, xq, wq = run_plan(rt, plan, {k: np.array(v, np.float32) for k, v in feeds.items()}, ["y", "xq", "wq"])
        y = y.astype(np.float64)
        exact = (xq.astype(np.float64) @ wq.astype(np.float64).T) * float(np.float32(1) / sx) * \
            float(np.float32(1) / sw) * 0.5 + (2.0 * c if with_bias else 0.0)
        tol = 1e-5 if out == "f32" else 2.0 ** -8
        err = np.abs(y - exact).max() / np.abs(exact).max()
        if err > tol:
            fail(f"fp8_gemm {afmt} x {bfmt} -> {out}: max rel error {err:.3g} vs the exact FP8 product")
        ref = 0.5 * (x.astype(np.float64) @ w.astype(np.float64).T) + (2.0 * c if with_bias else 0.0)
        sqnr = 10 * np.log10(np.sum(ref ** 2) / np.sum((y - ref) ** 2))
        label = f"fp8_gemm {afmt} x {bfmt} -> {out}{' + bias' if with_bias else ''} ({M}x{N}x{K})"
        bound = 25.0 if afmt == "f8E4M3FN" else 20.0
        if sqnr < bound:
            fail(f"{label}: SQNR {sqnr:.2f} dB < {bound} dB vs FP32")
        print(f"ok   {label}: {err:.2e} from the exact FP8 product, SQNR {sqnr:.2f} dB vs FP32 "
              f"(bound {bound} dB)")


# ---------------------------------------------------------------------------
# MXFP8: an independent NumPy model of OCP MX block quantization


def mx_model(x, fmt):
    """x [R, K] float32 -> the MX-quantized, dequantized values (float32)."""
    emax = 8 if fmt is E4 else 15
    R, K = x.shape
    xb = x.astype(np.float32).reshape(R, K // 32, 32)
    with np.errstate(invalid="ignore"):
        amax = np.abs(xb).max(axis=2)
    bad = ~np.isfinite(amax)
    _, ex = np.frexp(np.where(bad, 1.0, amax).astype(np.float64))
    X = np.where(amax > 0, ex - 1 - emax, -127)
    X = np.clip(X, -127, 127)
    down = np.ldexp(np.float32(1), -X).astype(np.float32)[..., None]
    up = np.ldexp(np.float32(1), X).astype(np.float32)[..., None]
    with np.errstate(invalid="ignore", over="ignore"):
        q = saturating((xb * down).astype(np.float32), fmt).astype(np.float32) * up
    q[bad] = np.nan
    return q.reshape(R, K)


def test_mx(rt, mpc_opt, work):
    rng = np.random.default_rng(3)
    M, K = 48, 128
    for fmt, code in ((E4, 5), (E5, 6)):
        # b = identity: y = MX(a) exactly (one exact product per output).
        at, bt, yt = mlir_type([M, K], "f32"), mlir_type([K, K], "f32"), mlir_type([M, K], "f32")
        text = f"""func.func @main(%a: {at} {{mpc.name = "a"}}, %b: {bt} {{mpc.name = "b"}}) -> ({yt} {{mpc.name = "y"}}) {{
  %y = mpc.mx_gemm %a, %b {{a_format = {code} : i64, b_format = 5 : i64}} : ({at}, {bt}) -> {yt}
  return %y : {yt}
}}
"""
        plan = compile_plan(mpc_opt, work, f"mx_identity_{code}", text)
        a = (rng.standard_normal((M, K)) * 10.0 ** rng.integers(-30, 30, (M, K // 32)).repeat(32, 1)).astype(np.float32)
        a[0, :32] = 0.0                      # an all-zero block
        a[1, 5] = 1e-42                      # a subnormal-only block
        a[1, 32:64] = 0.0
        a[1, 40] = 2.0 ** -140
        a[2, 70] = np.inf                    # non-finite blocks: NaN rows
        a[3, 100] = np.nan
        a[4, 0:32] = 448.0 * 2 ** 20         # saturating ties at the block max
        a[5, 0:32] = np.linspace(-3e38, 3e38, 32)
        eye = np.eye(K, dtype=np.float32)
        (y,) = run_plan(rt, plan, {"a": a, "b": eye}, ["y"])
        with np.errstate(invalid="ignore"):
            want = (mx_model(a, fmt).astype(np.float64) @ eye.astype(np.float64)).astype(np.float32)
        ok = same_bits(y, want)
        if not ok.all():
            i = np.argwhere(~ok)[0]
            fail(f"mx_gemm {fmt.__name__} identity: {int((~ok).sum())} mismatches, first at {tuple(i)}: "
                 f"mpc {y[tuple(i)]!r} model {want[tuple(i)]!r} (a = {a[tuple(i)]!r})")
        else:
            print(f"ok   mx_gemm {fmt.__name__} block quantization: {M * K} values bit-identical to the "
                  "NumPy OCP MX model (zero, subnormal, inf/NaN and saturating blocks)")
    # SQNR against FP32 with bias and bf16 output.
    M, N, K = 64, 96, 128
    at, bt, yt = mlir_type([M, K], "bf16"), mlir_type([N, K], "bf16"), mlir_type([M, N], "f32")
    text = f"""func.func @main(%a: {at} {{mpc.name = "a"}}, %b: {bt} {{mpc.name = "b"}}, %c: tensor<96xf32> {{mpc.name = "c"}}) -> ({yt} {{mpc.name = "y"}}) {{
  %y = mpc.mx_gemm %a, %b, %c {{alpha = 2.0 : f32, beta = 0.5 : f32}} : ({at}, {bt}, tensor<96xf32>) -> {yt}
  return %y : {yt}
}}
"""
    plan = compile_plan(mpc_opt, work, "mx_sqnr", text)
    a = rng.standard_normal((M, K)).astype(BF16)
    b = (rng.standard_normal((N, K)) * 0.05).astype(BF16)
    c = rng.standard_normal(N).astype(np.float32)
    (y,) = run_plan(rt, plan, {"a": a, "b": b, "c": c}, ["y"])
    exact = 2.0 * (mx_model(a.astype(np.float32), E4).astype(np.float64) @
                   mx_model(b.astype(np.float32), E4).astype(np.float64).T) + 0.5 * c
    err = np.abs(y - exact).max() / np.abs(exact).max()
    ref = 2.0 * (a.astype(np.float64) @ b.astype(np.float64).T) + 0.5 * c
    sqnr = 10 * np.log10(np.sum(ref ** 2) / np.sum((y - ref) ** 2))
    if err > 1e-5 or sqnr < 25:
        fail(f"mx_gemm: {err:.3g} from the model, SQNR {sqnr:.2f} dB")
    print(f"ok   mx_gemm E4M3 ({M}x{N}x{K}, bias): {err:.2e} from the exact MX product, SQNR {sqnr:.2f} dB "
          "vs FP32 (bound 25 dB)")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mpc_opt, lib = sys.argv[1], sys.argv[2]
    rt = mpcrt.Runtime(lib)
    with tempfile.TemporaryDirectory() as work:
        test_quantize(rt, mpc_opt, work)
        test_scale_update(rt, mpc_opt, work)
        test_gemm(rt, mpc_opt, work)
        test_mx(rt, mpc_opt, work)
    if FAILURES:
        sys.exit(f"FAIL: {len(FAILURES)} check(s) failed")
    print("fp8 kernels: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
