#!/usr/bin/env python3
"""Bit-for-bit check of mpc's float-format conversions against numpy + ml_dtypes.

Runs the C++ dump tool (formats_dump.cpp), recomputes every conversion with
numpy (float16) and ml_dtypes (bfloat16, float8_e4m3fn, float8_e5m2) and fails
on any mismatch, printing the first few. NaN results compare as "is NaN".
ml_dtypes' FP8 casts do not saturate; the saturating reference clips finite
values and infinities to +-max first (NaN stays NaN).

usage: check_ml_dtypes.py DUMP_TOOL WORK_DIR
"""
import os
import subprocess
import sys

try:
    import ml_dtypes
    import numpy as np
except ImportError as e:  # a loud failure, never a silent skip
    sys.exit(f"FAIL: {sys.executable} lacks numpy/ml_dtypes ({e}); run tools/install-deps.sh")


def compare(name, inputs, got, want, decode):
    """got/want: encodings (unsigned ints); decode(encodings) -> float32 values."""
    nan_want = np.isnan(decode(want))
    nan_got = np.isnan(decode(got))
    bad = np.where(nan_want, ~nan_got, got != want)
    count = int(bad.sum())
    if count:
        print(f"FAIL {name}: {count} mismatches")
        for i in np.nonzero(bad)[0][:8]:
            x = inputs[i]
            print(f"  x={x.view(np.float32)!r} (0x{int(x):08x}) mpc=0x{int(got[i]):x} ml_dtypes=0x{int(want[i]):x}")
    else:
        print(f"ok   {name}: {len(got)} values")
    return count


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "formats_dump.bin")
    subprocess.run([tool, path], check=True)
    with open(path, "rb") as f:
        n = int(np.frombuffer(f.read(8), np.uint64)[0])
        read = lambda dt, k: np.frombuffer(f.read(k * np.dtype(dt).itemsize), dt)
        inputs = read(np.uint32, n)
        f16, bf16 = read(np.uint16, n), read(np.uint16, n)
        e4, e4s, e5, e5s = (read(np.uint8, n) for _ in range(4))
        dec = read(np.uint32, 65536 * 2 + 512)
    x = inputs.view(np.float32)
    bf16_t, e4_t, e5_t = ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2

    def clip(v, fmt):
        m = np.float32(ml_dtypes.finfo(fmt).max)
        return np.where(np.isnan(v), v, np.clip(v, -m, m)).astype(np.float32)

    def dec_of(dt):
        return lambda enc: enc.view(dt).astype(np.float32)

    failures = 0
    with np.errstate(all="ignore"):
        failures += compare("f32->f16", inputs, f16, x.astype(np.float16).view(np.uint16), dec_of(np.float16))
        failures += compare("f32->bf16", inputs, bf16, x.astype(bf16_t).view(np.uint16), dec_of(bf16_t))
        failures += compare("f32->e4m3fn", inputs, e4, x.astype(e4_t).view(np.uint8), dec_of(e4_t))
        failures += compare("f32->e4m3fn sat", inputs, e4s, clip(x, e4_t).astype(e4_t).view(np.uint8), dec_of(e4_t))
        failures += compare("f32->e5m2", inputs, e5, x.astype(e5_t).view(np.uint8), dec_of(e5_t))
        failures += compare("f32->e5m2 sat", inputs, e5s, clip(x, e5_t).astype(e5_t).view(np.uint8), dec_of(e5_t))
        # Decodes of every encoding, compared as FP32 bit patterns.
        encs16 = np.arange(65536, dtype=np.uint32).astype(np.uint16)
        encs8 = np.arange(256, dtype=np.uint32).astype(np.uint8)
        as_f32 = lambda u: u.view(np.float32)
        refs = [("f16 decode", dec[:65536], encs16.view(np.float16).astype(np.float32).view(np.uint32)),
                ("bf16 decode", dec[65536:131072], encs16.view(bf16_t).astype(np.float32).view(np.uint32)),
                ("e4m3fn decode", dec[131072:131328], encs8.view(e4_t).astype(np.float32).view(np.uint32)),
                ("e5m2 decode", dec[131328:], encs8.view(e5_t).astype(np.float32).view(np.uint32))]
        for name, got, want in refs:
            failures += compare(name, want, got, want, as_f32)
    if failures:
        sys.exit(f"FAIL: {failures} mismatches against ml_dtypes {ml_dtypes.__version__}")
    print(f"all conversions agree with numpy {np.__version__} / ml_dtypes {ml_dtypes.__version__}")


if __name__ == "__main__":
    main()
