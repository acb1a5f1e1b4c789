"""A small ctypes binding of libmpcrt's C API for the end-to-end tests.

    rt = Runtime("build/lib/libmpcrt.so")
    s = rt.session("step.mpcp")
    s.set_input("x", array); s.run(); s.output("loss"); s.state("fc0.weight", like)
"""
import ctypes

import numpy as np


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.c_int64 * 8), ("nbytes", ctypes.c_size_t),
                ("data", ctypes.c_void_p)]


# mpc_dtype codes (runtime/include/mpc/runtime.h) for the NumPy types the tests use.
DTYPES = {1: np.float32, 4: np.float64, 7: np.bool_, 9: np.int32, 10: np.int64}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


class MpcError(Exception):
    pass


class Runtime:
    def __init__(self, lib):
        self.lib = ctypes.CDLL(lib)
        self.lib.mpc_last_error.restype = ctypes.c_char_p

    def check(self, status, what):
        if status != 0:
            raise MpcError(f"{what}: {self.lib.mpc_last_error().decode()}")

    def session(self, plan_path, threads=0):
        plan = ctypes.c_void_p()
        self.check(self.lib.mpc_plan_load(plan_path.encode(), ctypes.byref(plan)), "loading plan")
        session = ctypes.c_void_p()
        self.check(self.lib.mpc_session_create(plan, None, ctypes.byref(session)),
                   "creating session")
        return Session(self, plan, session)


class Session:
    def __init__(self, rt, plan, session):
        self.rt, self.plan, self.session = rt, plan, session

    def close(self):
        self.rt.lib.mpc_session_destroy(self.session)
        self.rt.lib.mpc_plan_free(self.plan)

    def set_input(self, name, array):
        array = np.array(array, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
        dims = (ctypes.c_int64 * max(1, array.ndim))(*array.shape)
        self.rt.check(self.rt.lib.mpc_session_set_input(
            self.session, name.encode(), CODES[array.dtype], dims, array.ndim,
            array.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(array.nbytes)),
            f"setting input '{name}'")

    def run(self):
        self.rt.check(self.rt.lib.mpc_session_run(self.session), "running the plan")

    def set_learning_rate(self, lr):
        self.rt.check(self.rt.lib.mpc_session_set_learning_rate(self.session, ctypes.c_float(lr)),
                      "setting the learning rate")

    def output(self, name):
        info = TensorInfo()
        self.rt.check(self.rt.lib.mpc_session_get_output(self.session, name.encode(),
                                                         ctypes.byref(info)),
                      f"reading output '{name}'")
        shape = tuple(info.dims[i] for i in range(info.rank))
        buf = (ctypes.c_char * info.nbytes).from_address(info.data)
        return np.frombuffer(bytes(buf), dtype=DTYPES[info.dtype]).reshape(shape)

    def state_bytes(self):
        """Every state tensor's raw bytes, by name."""
        count = ctypes.c_int32()
        self.rt.check(self.rt.lib.mpc_plan_num_states(self.plan, ctypes.byref(count)),
                      "counting states")
        out = {}
        for i in range(count.value):
            info = TensorInfo()
            self.rt.check(self.rt.lib.mpc_plan_state_info(self.plan, i, ctypes.byref(info)),
                          f"reading state #{i}")
            buf = (ctypes.c_char * info.nbytes)()
            self.rt.check(self.rt.lib.mpc_session_read_state(
                self.session, info.name, buf, ctypes.c_size_t(info.nbytes)),
                f"reading state '{info.name.decode()}'")
            out[info.name.decode()] = bytes(buf)
        return out

    def state(self, name, like):
        out = np.empty_like(like)
        self.rt.check(self.rt.lib.mpc_session_read_state(
            self.session, name.encode(), out.ctypes.data_as(ctypes.c_void_p),
            ctypes.c_size_t(out.nbytes)), f"reading state '{name}'")
        return out
