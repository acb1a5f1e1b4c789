// Helpers for the CPU kernel tests: owning tensors, a registry with the CPU
// kernels, a runner that poisons outputs and checks every element was written,
// and tolerance comparison against double-precision references.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/float_formats.h"
#include "core/kernel.h"
#include "core/thread_pool.h"
#include "cpu/register.h"

namespace mpc::rt::test {

using Dims = std::vector<int64_t>;

inline int64_t numelOf(const Dims &d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

// An owning tensor with element access through doubles.
struct Tensor {
  DType dtype = DType::kF32;
  Dims dims;
  std::vector<uint8_t> bytes;

  Tensor() = default;
  Tensor(DType t, Dims d) : dtype(t), dims(std::move(d)), bytes(numelOf(dims) * dtypeSize(t) + 1) {}
  int64_t numel() const { return numelOf(dims); }

  TensorView view() {
    TensorView v;
    v.data = bytes.data();
    v.dtype = dtype;
    v.rank = static_cast<int>(dims.size());
    for (int i = 0; i < v.rank; ++i) v.dims[i] = dims[i];
    return v;
  }

  // Stores v rounded to the dtype (RNE, saturating FP8; ints truncate).
  void set(int64_t i, double v) {
    uint8_t *p = bytes.data() + i * dtypeSize(dtype);
    switch (dtype) {
    case DType::kF32: {
      float f = static_cast<float>(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case DType::kF64: std::memcpy(p, &v, 8); break;
    case DType::kF16: {
      uint16_t h = floatToHalf(doubleToFloatRoundToOdd(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::kBF16: {
      uint16_t h = floatToBFloat16(doubleToFloatRoundToOdd(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::kF8E4M3FN: *p = floatToE4M3FN(doubleToFloatRoundToOdd(v)); break;
    case DType::kF8E5M2: *p = floatToE5M2(doubleToFloatRoundToOdd(v)); break;
    case DType::kBool: *p = v != 0; break;
    case DType::kI8: *reinterpret_cast<int8_t *>(p) = static_cast<int8_t>(v); break;
    case DType::kI32: {
      int32_t x = static_cast<int32_t>(v);
      std::memcpy(p, &x, 4);
      break;
    }
    case DType::kI64: {
      int64_t x = static_cast<int64_t>(v);
      std::memcpy(p, &x, 8);
      break;
    }
    default: break;
    }
  }

  double get(int64_t i) const {
    const uint8_t *p = bytes.data() + i * dtypeSize(dtype);
    switch (dtype) {
    case DType::kF32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::kF64: {
      double d;
      std::memcpy(&d, p, 8);
      return d;
    }
    case DType::kF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return halfToFloat(h);
    }
    case DType::kBF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return bfloat16ToFloat(h);
    }
    case DType::kF8E4M3FN: return e4m3fnToFloat(*p);
    case DType::kF8E5M2: return e5m2ToFloat(*p);
    case DType::kBool: return *p;
    case DType::kI8: return *reinterpret_cast<const int8_t *>(p);
    case DType::kI32: {
      int32_t x;
      std::memcpy(&x, p, 4);
      return x;
    }
    case DType::kI64: {
      int64_t x;
      std::memcpy(&x, p, 8);
      return static_cast<double>(x);
    }
    default: return NAN;
    }
  }

  std::vector<double> values() const {
    std::vector<double> v(numel());
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
  }
};

inline Tensor fromValues(DType t, Dims d, const std::vector<double> &v) {
  Tensor x(t, std::move(d));
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, v[i]);
  return x;
}

inline Tensor randomTensor(DType t, Dims d, uint32_t seed, double lo = -2, double hi = 2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Tensor x(t, std::move(d));
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, dist(rng));
  return x;
}

inline Tensor randomInts(DType t, Dims d, uint32_t seed, int64_t lo, int64_t hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  Tensor x(t, std::move(d));
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, static_cast<double>(dist(rng)));
  return x;
}

inline const KernelRegistry &cpuRegistry() {
  static const KernelRegistry *reg = [] {
    auto *r = new KernelRegistry;
    registerCpuKernels(*r);
    return r;
  }();
  return *reg;
}

inline ThreadPool *testPool() {
  static ThreadPool pool(3); // more threads than cores: exercises the partitioning
  return &pool;
}

inline Attr attr(const char *name, AttrValue v) { return Attr{name, std::move(v)}; }
using Ints = std::vector<int64_t>;

// Runs op with the given inputs; outputs must be pre-shaped. Each output is
// poisoned with two different byte patterns in two runs: both runs must agree
// byte for byte, which proves every element was written. Returns the status.
inline Status runKernel(const std::string &op, std::vector<Tensor *> inputs, std::vector<Tensor *> outputs,
                        std::vector<Attr> attrList = {}, ThreadPool *pool = testPool()) {
  std::vector<DType> dtypes;
  std::vector<TensorView> in, out;
  for (Tensor *t : inputs) {
    in.push_back(t->view());
    dtypes.push_back(t->dtype);
  }
  for (Tensor *t : outputs) {
    out.push_back(t->view());
    dtypes.push_back(t->dtype);
  }
  const KernelEntry *e = cpuRegistry().lookup(op, Device::kCPU, dtypes);
  if (!e) return Status(StatusCode::kNotFound, "no CPU kernel for " + op);
  Attrs attrs(std::move(attrList));
  KernelCall call;
  call.op = op;
  call.location = "test_node";
  call.inputs = in.data();
  call.numInputs = static_cast<int>(in.size());
  call.outputs = out.data();
  call.numOutputs = static_cast<int>(out.size());
  call.attrs = &attrs;
  call.pool = pool;
  if (e->check) MPC_RETURN_IF_ERROR(e->check(call));
  std::vector<std::vector<uint8_t>> first;
  for (int pass = 0; pass < 2; ++pass) {
    for (Tensor *t : outputs) std::memset(t->bytes.data(), pass == 0 ? 0xFF : 0x5A, t->bytes.size());
    MPC_RETURN_IF_ERROR(e->fn(call));
    if (pass == 0)
      for (Tensor *t : outputs) first.push_back(t->bytes);
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const size_t n = outputs[i]->numel() * dtypeSize(outputs[i]->dtype);
    if (std::memcmp(first[i].data(), outputs[i]->bytes.data(), n) != 0)
      return Status(StatusCode::kInternal, op + ": output " + std::to_string(i) + " has unwritten elements");
    // The trailing guard byte must be untouched (no overflow past the end).
    if (outputs[i]->bytes[n] != 0x5A)
      return Status(StatusCode::kInternal, op + ": wrote past output " + std::to_string(i));
  }
  return Status::ok();
}

#define ASSERT_KERNEL_OK(expr)                                                                                         \
  do {                                                                                                                 \
    const ::mpc::rt::Status st_ = (expr);                                                                              \
    ASSERT_TRUE(st_.isOk()) << st_.message();                                                                          \
  } while (0)

struct Tol {
  double rtol, atol;
};

// Per-dtype tolerances for results rounded once from a few FP32 operations:
// a few units of the format's rounding error.
inline Tol tolFor(DType t, double scale = 1) {
  switch (t) {
  case DType::kF64: return {1e-12 * scale, 1e-12 * scale};
  case DType::kF32: return {1e-5 * scale, 1e-6 * scale};
  case DType::kF16: return {2e-3 * scale, 1e-4 * scale};
  case DType::kBF16: return {1.6e-2 * scale, 1e-3 * scale};
  default: return {0, 0}; // integers and bools: exact
  }
}

inline ::testing::AssertionResult allClose(const Tensor &got, const std::vector<double> &want, Tol tol) {
  if (static_cast<int64_t>(want.size()) != got.numel())
    return ::testing::AssertionFailure() << "size " << got.numel() << " vs reference " << want.size();
  int bad = 0;
  std::string msg;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.get(i), w = want[i];
    bool ok;
    if (std::isnan(w))
      ok = std::isnan(g);
    else if (std::isinf(w))
      ok = g == w;
    else
      ok = std::fabs(g - w) <= tol.atol + tol.rtol * std::fabs(w);
    if (!ok && ++bad <= 5)
      msg += "\n  [" + std::to_string(i) + "] got " + std::to_string(g) + " want " + std::to_string(w);
  }
  if (bad) return ::testing::AssertionFailure() << bad << " of " << got.numel() << " elements differ:" << msg;
  return ::testing::AssertionSuccess();
}

inline const std::vector<DType> &floatTypes() {
  static const std::vector<DType> v{DType::kF32, DType::kF16, DType::kBF16, DType::kF64};
  return v;
}

// Row-major multi-index helpers for references.
inline Dims unravel(int64_t i, const Dims &d) {
  Dims idx(d.size());
  for (int k = static_cast<int>(d.size()) - 1; k >= 0; --k) {
    idx[k] = i % d[k];
    i /= d[k];
  }
  return idx;
}
inline int64_t ravel(const Dims &idx, const Dims &d) {
  int64_t o = 0;
  for (size_t k = 0; k < d.size(); ++k) o = o * d[k] + idx[k];
  return o;
}
// Index into `in` (right-aligned broadcast) for output index `idx`.
inline int64_t broadcastIndex(const Dims &idx, const Dims &in) {
  Dims j(in.size());
  const size_t off = idx.size() - in.size();
  for (size_t k = 0; k < in.size(); ++k) j[k] = in[k] == 1 ? 0 : idx[k + off];
  return ravel(j, in);
}

} // namespace mpc::rt::test
