#!/usr/bin/env python3
"""Generates the bad-input corpus (test/bad-inputs/manifest.txt names the cases).

    gen_cases.py OUT_DIR MPC_OPT MPC_RUN

Writes every input file the manifest refers to into OUT_DIR: broken ONNX
models (binary, built with the `onnx` package), external-data traps, plans,
safetensors checkpoints and .npy files derived from a valid plan that mpc-opt
compiles here. Everything is deterministic (fixed seeds), so each case always
meets the same check in the loader.
"""
import json
import os
import random
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

OUT = None


def path(name):
    return os.path.join(OUT, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def save(name, model):
    """Serialises without onnx.save's checker or external-data handling."""
    write(name, model.SerializeToString())


def model(nodes, inputs, outputs, inits=(), opset=17, opsets=None, **kw):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    ops = opsets if opsets is not None else [h.make_opsetid("", opset)]
    m = h.make_model(g, opset_imports=ops, **kw)
    m.ir_version = 8
    return m


def vi(name, shape, elem=T.FLOAT):
    return h.make_tensor_value_info(name, elem, shape)


def relu_model():
    return model([h.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x", [2, 3])], [vi("y", [2, 3])])


def matmul_model(w):
    return model([h.make_node("MatMul", ["x", "W"], ["y"], name="mm")], [vi("x", [2, 3])], [vi("y", [2, 4])], [w])


def ext_tensor(name, dims, location, offset=None, length=None):
    t = T()
    t.name = name
    t.data_type = T.FLOAT
    t.dims.extend(dims)
    t.data_location = T.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


# ---------------------------------------------------------------------------
# ONNX models


def gen_onnx():
    good = relu_model().SerializeToString()
    write("onnx_empty.onnx", b"")
    write("onnx_truncated.onnx", good[: len(good) // 2])
    write("onnx_truncated_1.onnx", good[:-1])
    flipped = bytearray(good)
    flipped[5] ^= 0x80  # a length varint of the graph: the message no longer parses
    write("onnx_bitflip.onnx", bytes(flipped))
    write("onnx_random.onnx", bytes(random.Random(9).getrandbits(8) for _ in range(4096)))
    write("onnx_text_garbage.onnxtxt", b"<\n ir_version: 8, opset_import: [\"\" : 17]\n>\nagraph (float[2] x) => (float[2] y) {\n y = Relu(x\n")

    # Graph structure
    save("graph_cycle.onnx", model([h.make_node("Add", ["x", "b"], ["a"], name="n_a"),
                                    h.make_node("Relu", ["a"], ["b"], name="n_b")],
                                   [vi("x", [2])], [vi("b", [2])]))
    save("graph_dangling.onnx", model([h.make_node("Add", ["x", "ghost"], ["y"], name="add1")],
                                      [vi("x", [2])], [vi("y", [2])]))
    save("graph_dup_output.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1"),
                                         h.make_node("Abs", ["x"], ["y"], name="r2")],
                                        [vi("x", [2])], [vi("y", [2])]))
    save("graph_dup_graph_output.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                              [vi("x", [2])], [vi("y", [2]), vi("y", [2])]))
    save("graph_missing_initializer.onnx", matmul_model(h.make_tensor("V", T.FLOAT, [3, 4], [0.0] * 12)))
    save("graph_shape_mismatch.onnx", matmul_model(nh.from_array(np.ones((5, 4), np.float32), "W")))
    save("graph_dtype_mismatch.onnx", model([h.make_node("Add", ["x", "z"], ["y"], name="add_mixed")],
                                            [vi("x", [2]), vi("z", [2], T.FLOAT16)], [vi("y", [2])]))
    save("graph_output_type.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                         [vi("x", [2])], [vi("y", [2], T.INT64)]))
    save("graph_no_output.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")], [vi("x", [2])], []))
    save("node_empty_input.onnx", model([h.make_node("Concat", ["x", "", "x"], ["y"], name="cat0", axis=0)],
                                        [vi("x", [2])], [vi("y", [4])]))
    save("node_no_output.onnx", model([h.make_node("Shape", ["x"], [], name="shape0"),
                                       h.make_node("Relu", ["x"], ["y"], name="r1")],
                                      [vi("x", [2])], [vi("y", [2])]))

    # Absurd dims
    big = T()
    big.name, big.data_type = "W", T.FLOAT
    big.dims.extend([1 << 40, 1 << 40])
    save("dims_overflow_initializer.onnx", matmul_model(big))
    neg = T()
    neg.name, neg.data_type = "W", T.FLOAT
    neg.dims.extend([-3, 4])
    save("dims_negative_initializer.onnx", matmul_model(neg))
    save("dims_overflow_input.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                           [vi("x", [1 << 40, 1 << 40])], [vi("y", [1 << 40, 1 << 40])]))
    save("dims_negative_input.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                           [vi("x", [2, -5])], [vi("y", [2, -5])]))
    # 2^33 floats = 32 GiB of activations: fine to import, refused by the plan's memory cap.
    save("dims_huge_activation.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                            [vi("x", [1 << 17, 1 << 16])], [vi("y", [1 << 17, 1 << 16])]))
    shape_big = nh.from_array(np.array([1 << 31, 1 << 31, 1 << 31], np.int64), "s")
    save("dims_reshape_overflow.onnx", model([h.make_node("Reshape", ["x", "s"], ["y"], name="rs")],
                                             [vi("x", [2, 3])], [vi("y", [None, None, None])], [shape_big]))
    save("dims_expand_huge.onnx", model([h.make_node("Expand", ["x", "s"], ["y"], name="ex")],
                                        [vi("x", [1, 1, 1])], [vi("y", [None, None, None])], [shape_big]))

    # Domains, ops, opsets
    save("op_unknown.onnx", model([h.make_node("FrobnicateAll", ["x"], ["y"], name="frob")],
                                  [vi("x", [2])], [vi("y", [2])]))
    save("op_unknown_domain.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1", domain="org.example")],
                                         [vi("x", [2])], [vi("y", [2])],
                                         opsets=[h.make_opsetid("", 17), h.make_opsetid("org.example", 1)]))
    save("opset_missing.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                     [vi("x", [2])], [vi("y", [2])], opsets=[]))
    save("opset_too_new.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                     [vi("x", [2])], [vi("y", [2])], opset=99))
    save("opset_too_old.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                     [vi("x", [2])], [vi("y", [2])], opset=7))
    save("opset_negative.onnx", model([h.make_node("Relu", ["x"], ["y"], name="r1")],
                                      [vi("x", [2])], [vi("y", [2])], opset=-1))

    # Tensor data that disagrees with the declared size
    short = T()
    short.name, short.data_type = "W", T.FLOAT
    short.dims.extend([3, 4])
    short.raw_data = b"\0" * 20
    save("data_raw_short.onnx", matmul_model(short))
    few = T()
    few.name, few.data_type = "W", T.FLOAT
    few.dims.extend([3, 4])
    few.float_data.extend([1.0] * 7)
    save("data_float_count.onnx", matmul_model(few))
    badtype = T()
    badtype.name, badtype.data_type = "W", 77
    badtype.dims.extend([3, 4])
    save("data_bad_type.onnx", matmul_model(badtype))

    # External data
    ext = os.path.join(OUT, "ext")
    os.makedirs(ext, exist_ok=True)
    outside = os.path.join(OUT, "outside.bin")
    with open(outside, "wb") as f:
        f.write(b"\0" * 48)
    with open(os.path.join(ext, "w.bin"), "wb") as f:
        f.write(b"\0" * 48)
    link = os.path.join(ext, "link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(outside, link)
    for name, t in [
        ("ext_dotdot", ext_tensor("W", [3, 4], "../outside.bin")),
        ("ext_absolute", ext_tensor("W", [3, 4], outside)),
        ("ext_symlink", ext_tensor("W", [3, 4], "link.bin")),
        ("ext_missing", ext_tensor("W", [3, 4], "nothere.bin")),
        ("ext_length", ext_tensor("W", [3, 4], "w.bin", length=40)),
        ("ext_offset", ext_tensor("W", [3, 4], "w.bin", offset=16)),
        ("ext_offset_huge", ext_tensor("W", [3, 4], "w.bin", offset=(1 << 63) - 1)),
        ("ext_offset_negative", ext_tensor("W", [3, 4], "w.bin", offset=-8)),
        ("ext_no_location", ext_tensor("W", [3, 4], "")),
        ("ext_directory", ext_tensor("W", [3, 4], ".")),
    ]:
        with open(os.path.join(ext, name + ".onnx"), "wb") as f:
            f.write(matmul_model(t).SerializeToString())


# ---------------------------------------------------------------------------
# Plans, checkpoints, .npy (derived from a valid plan)


def fnv1a64(data, h64=0xCBF29CE484222325):
    for b in data:
        h64 = ((h64 ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h64


def reseal(p):
    """Recomputes the metadata checksum (FNV-1a over [0, data offset), the checksum field as zeros)."""
    n, table = struct.unpack_from("<IQ", p, 20)[0], struct.unpack_from("<Q", p, 24)[0]
    data_off = None
    for i in range(n):
        kind, _, off, _ = struct.unpack_from("<IIQQ", p, table + 24 * i)
        if kind == 5:
            data_off = off
    c = fnv1a64(b"\0" * 8, fnv1a64(p[:40]))
    c = fnv1a64(p[48:data_off], c)
    struct.pack_into("<Q", p, 40, c)
    return p


def plan_tensors(p):
    """Offsets of each tensor record in the tensors section: (name index, record offset)."""
    n, table = struct.unpack_from("<I", p, 20)[0], struct.unpack_from("<Q", p, 24)[0]
    sec = None
    for i in range(n):
        kind, _, off, size = struct.unpack_from("<IIQQ", p, table + 24 * i)
        if kind == 2:
            sec = off
    count = struct.unpack_from("<I", p, sec)[0]
    recs, pos = [], sec + 4
    for _ in range(count):
        rank = p[pos + 6]
        recs.append(pos)
        pos += 8 + 8 * rank + 24
    return recs


def gen_runtime(mpc_opt, mpc_run):
    x = vi("x", [2, 3])
    w = nh.from_array(np.arange(12, dtype=np.float32).reshape(3, 4) / 10, "W")
    train = model([h.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
                   h.make_node("Mul", ["y", "y"], ["sq"], name="sq"),
                   h.make_node("ReduceMean", ["sq"], ["loss"], name="mean", keepdims=0)],
                  [x], [vi("loss", [])], [w])
    save("train.onnx", train)
    infer = matmul_model(w)
    save("infer.onnx", infer)
    subprocess.run([mpc_opt, path("infer.onnx"), "--emit=plan", "-o", path("infer.mpcp")], check=True)
    subprocess.run([mpc_opt, path("train.onnx"), "--train", "--optimizer=sgd", "--emit=plan", "-o",
                    path("train.mpcp")], check=True)
    subprocess.run([mpc_run, path("train.mpcp"), "--train", "--steps", "1", "--synthetic", "--save-state",
                    path("good.safetensors")], check=True, stdout=subprocess.DEVNULL)
    np.save(path("x.npy"), np.ones((2, 3), np.float32))

    good = bytearray(open(path("infer.mpcp"), "rb").read())
    write("plan_empty.mpcp", b"")
    write("plan_truncated_header.mpcp", bytes(good[:100]))
    write("plan_truncated.mpcp", bytes(good[: len(good) - 100]))
    p = bytearray(good); p[:8] = b"NOTAPLAN"; write("plan_magic.mpcp", bytes(p))
    p = bytearray(good); struct.pack_into("<I", p, 8, 7); write("plan_version.mpcp", bytes(p))
    p = bytearray(good); p[200] ^= 0x10; write("plan_bitflip.mpcp", bytes(p))
    p = bytearray(good); struct.pack_into("<Q", p, 32, len(good) * 1000); write("plan_filesize.mpcp", bytes(p))
    p = bytearray(good); struct.pack_into("<Q", p, 24, 1 << 62); write("plan_table_offset.mpcp", bytes(p))
    recs = plan_tensors(good)
    # The constant 'W': its data offset lies past the data section.
    r = [r for r in recs if good[r + 5] == 3][0]
    rank = good[r + 6]
    p = bytearray(good); struct.pack_into("<Q", p, r + 8 + 8 * rank + 8, 1 << 40); write("plan_data_offset.mpcp", bytes(reseal(p)))
    # Tensor #0 (the input 'x'): wrong dtype, absurd dims.
    r = recs[0]
    p = bytearray(good); p[r + 4] = 200; write("plan_dtype.mpcp", bytes(reseal(p)))
    p = bytearray(good); p[r + 4] = 3 if good[r + 4] != 3 else 1; write("plan_dtype_size.mpcp", bytes(reseal(p)))
    p = bytearray(good); struct.pack_into("<q", p, r + 8, -4); write("plan_negative_dim.mpcp", bytes(reseal(p)))
    p = bytearray(good); struct.pack_into("<q", p, r + 8, 1 << 62); write("plan_huge_dim.mpcp", bytes(reseal(p)))
    p = bytearray(good); struct.pack_into("<Q", p, 56, 1 << 50); write("plan_arena.mpcp", bytes(reseal(p)))
    # The last tensor (an activation): arena offset past the arena.
    r = recs[-1]
    rank = good[r + 6]
    p = bytearray(good); struct.pack_into("<Q", p, r + 8 + 8 * rank, 1 << 40); write("plan_arena_offset.mpcp", bytes(reseal(p)))

    # Checkpoints (for train.mpcp: W f32[3,4], optimizer.lr f32[], optimizer.step i64[])
    ck = open(path("good.safetensors"), "rb").read()
    n = struct.unpack_from("<Q", ck, 0)[0]
    header = json.loads(ck[8:8 + n])
    body = ck[8 + n:]

    def st(name, hdr, data=body, raw_header=None):
        hb = raw_header if raw_header is not None else json.dumps(hdr).encode()
        write(name, struct.pack("<Q", len(hb)) + hb + data)

    write("ck_empty.safetensors", b"")
    write("ck_short.safetensors", b"\x05\0\0")
    write("ck_header_len_huge.safetensors", struct.pack("<Q", 1 << 60) + b"{}")
    write("ck_header_len_past_end.safetensors", struct.pack("<Q", 4096) + b"{}")
    st("ck_json_syntax.safetensors", None, raw_header=b'{"W": {"dtype": "F32", ')
    st("ck_json_deep.safetensors", None, raw_header=b"[" * 100000 + b"]" * 100000)
    st("ck_json_not_object.safetensors", None, raw_header=b"[1, 2, 3]")
    hd = json.loads(json.dumps(header)); hd["W"]["data_offsets"] = [0, 1 << 40]
    st("ck_offset_past_end.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["W"]["data_offsets"] = [40, 8]
    st("ck_offset_reversed.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["W"]["data_offsets"] = [0, 44]
    st("ck_offset_size.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["W"]["dtype"] = "F16"
    st("ck_wrong_dtype.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["W"]["dtype"] = "Q7"
    st("ck_unknown_dtype.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["W"]["shape"] = [4, 3]
    st("ck_wrong_shape.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["W"]["shape"] = [1 << 62, 1 << 62]
    st("ck_shape_overflow.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["W"]["shape"] = [-3, 4]
    st("ck_negative_dim.safetensors", hd)
    hd = json.loads(json.dumps(header)); del hd["W"]
    st("ck_missing_tensor.safetensors", hd)
    hd = json.loads(json.dumps(header)); hd["extra"] = dict(header["W"])
    st("ck_overlap.safetensors", hd)
    hd["extra"]["data_offsets"] = [len(body), len(body) + 48]
    st("ck_extra_tensor.safetensors", hd, body + b"\0" * 48)
    hd = json.loads(json.dumps(header)); hd["W"]["data_offsets"] = [0, 1 << 70]
    st("ck_offset_int_overflow.safetensors", None, raw_header=json.dumps(hd).encode())
    write("ck_truncated.safetensors", ck[:-10])
    # 400,000 keys: the JSON reader's duplicate-key check must not be quadratic.
    many = b"{" + b",".join(b'"k%d":0' % i for i in range(400000)) + b"}"
    st("ck_many_keys.safetensors", None, raw_header=many)
    st("ck_duplicate_key.safetensors", None, raw_header=b'{"W": {}, "W": {}}')

    # .npy files for infer.mpcp's input x: f32[2,3]
    good_npy = open(path("x.npy"), "rb").read()
    write("npy_empty.npy", b"")
    write("npy_magic.npy", b"\x93NUMPZ" + good_npy[6:])
    write("npy_truncated.npy", good_npy[:-4])
    write("npy_header_len.npy", good_npy[:8] + struct.pack("<H", 60000) + good_npy[10:])
    np.save(path("npy_wrong_dtype.npy"), np.ones((2, 3), np.float64))
    np.save(path("npy_wrong_shape.npy"), np.ones((3, 2), np.float32))
    np.save(path("npy_fortran.npy"), np.asfortranarray(np.ones((2, 3), np.float32)))

    def npy(name, header):
        hb = header.encode()
        hb += b" " * ((64 - (10 + len(hb) + 1) % 64) % 64) + b"\n"
        write(name, b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hb)) + hb + b"\0" * 24)

    npy("npy_shape_overflow.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }")
    npy("npy_shape_digits.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3), }")
    npy("npy_negative.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }")
    npy("npy_structured.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }")
    npy("npy_bad_dict.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }")
    npy("npy_unterminated.npy", "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), ")
    npy("npy_rank.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,6), }")
    write("npy_version.npy", b"\x93NUMPY\x09\x00" + good_npy[8:])


def main():
    global OUT
    OUT, mpc_opt, mpc_run = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.makedirs(OUT, exist_ok=True)
    gen_onnx()
    gen_runtime(mpc_opt, mpc_run)


if __name__ == "__main__":
    main()
