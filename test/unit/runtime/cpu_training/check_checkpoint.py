"""Reads an mpc checkpoint with Python's json and numpy only, applying the
rules of the reference safetensors reader (header length, JSON, dtypes,
contiguous offsets covering the whole buffer), and checks it holds the
training plan's states (test/unit/runtime/cpu_training/training_plan.h).

    check_checkpoint.py FILE.safetensors
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I8": np.int8, "BOOL": np.bool_}


def main(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n <= 100_000_000 and 8 + n <= len(data), "bad header length %d" % n
    assert (8 + n) % 8 == 0, "header not padded to 8 bytes"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__")
    assert meta["format"] == "mpc-state", meta
    assert int(meta["num_states"]) == len(header), meta
    buf = data[8 + n:]
    spans = sorted(tuple(v["data_offsets"]) for v in header.values())
    pos = 0
    for begin, end in spans:
        assert begin == pos, "offsets not contiguous at %d" % begin
        pos = end
    assert pos == len(buf), "buffer has %d bytes, tensors end at %d" % (len(buf), pos)
    arrays = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arrays[name] = np.frombuffer(buf[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    want = {"W": (5, 3), "b": (3,), "W.exp_avg": (5, 3), "W.exp_avg_sq": (5, 3), "b.exp_avg": (3,),
            "b.exp_avg_sq": (3,), "optimizer.step": (), "optimizer.lr": ()}
    assert set(arrays) == set(want), sorted(arrays)
    for name, shape in want.items():
        assert arrays[name].shape == shape, (name, arrays[name].shape)
    assert arrays["optimizer.step"] == 6, arrays["optimizer.step"]
    assert np.all(arrays["W.exp_avg_sq"] >= 0) and np.isfinite(arrays["W"]).all()
    print("checkpoint ok: %d tensors, step %d" % (len(arrays), int(arrays["optimizer.step"])))


if __name__ == "__main__":
    main(sys.argv[1])
