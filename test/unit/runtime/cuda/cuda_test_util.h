// A parity driver in the spirit of ggml's test-backend-ops: run one kernel on
// the CPU backend (the reference) and on the CUDA backend with the same
// inputs, and compare. CUDA outputs are poisoned (0xFF bytes: NaN for floats)
// before the run, so an element the kernel forgets to write cannot match.
//
// Without a device every test skips with the reason (GTEST_SKIP), so the suite
// still compiles, links and runs on machines without a GPU.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../cpu/kernel_test_util.h"
#include "core/backends.h"
#include "cuda/context.h"

namespace mpc::rt::test {

#define MPC_REQUIRE_CUDA()                                                              \
  do {                                                                                  \
    if (!::mpc::rt::isDeviceAvailable(::mpc::rt::Device::kCUDA))                        \
      GTEST_SKIP() << ::mpc::rt::cuda::deviceDescription();                             \
  } while (0)

// How CUDA results may differ from the CPU's.
struct Match {
  enum Kind { kExact, kClose, kScaled } kind = kExact;
  // kClose: |got - want| <= atol + rtol * |want|, element by element.
  // kScaled: |got - want| <= rtol * max|want| (GEMMs: the error scales with
  // the magnitude of the sums, not of each element).
  double rtol = 0, atol = 0;
};
inline Match exact() { return {}; }
inline Match close(double rtol, double atol = 0) { return {Match::kClose, rtol, atol}; }
inline Match scaled(double rtol) { return {Match::kScaled, rtol, 0}; }

// Units of the output format's rounding: transcendental results may land on
// the neighbouring value (libdevice vs libm differ by a few FP32 ulp).
inline Match ulps(DType t, double n = 2) {
  switch (t) {
  case DType::kF32: return close(n * 1.2e-7, 1e-30);
  case DType::kF16: return close(n * 9.8e-4, n * 6e-8);
  case DType::kBF16: return close(n * 7.9e-3, 1e-30);
  default: return exact();
  }
}

// ulps() plus an absolute bound of n units at magnitude `scale`: for results
// that cancel (gelu's 1 + tanh(v) at large negative v), where a few ulps of an
// intermediate are many ulps of the small result.
inline Match ulpsAbs(DType t, double n, double scale) {
  Match m = ulps(t, n);
  const double eps = t == DType::kF32 ? 1.2e-7 : t == DType::kF16 ? 9.8e-4 : 7.9e-3;
  m.atol = n * eps * scale;
  return m;
}

inline ::testing::AssertionResult matches(const Tensor &got, const Tensor &want, const Match &m) {
  const size_t n = want.numel() * dtypeSize(want.dtype);
  if (m.kind == Match::kExact || !isFloat(want.dtype)) {
    for (size_t i = 0; i < n; ++i)
      if (got.bytes[i] != want.bytes[i]) {
        const int64_t e = static_cast<int64_t>(i / dtypeSize(want.dtype));
        return ::testing::AssertionFailure() << "element " << e << " differs: cuda " << got.get(e) << " cpu "
                                             << want.get(e) << " (bitwise comparison)";
      }
    return ::testing::AssertionSuccess();
  }
  double maxAbs = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    if (std::isfinite(want.get(i))) maxAbs = std::max(maxAbs, std::fabs(want.get(i)));
  int bad = 0;
  std::string msg;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.get(i), w = want.get(i);
    bool ok;
    if (std::isnan(w)) ok = std::isnan(g);
    else if (std::isinf(w)) ok = g == w;
    else if (m.kind == Match::kScaled) ok = std::fabs(g - w) <= m.rtol * maxAbs;
    else ok = std::fabs(g - w) <= m.atol + m.rtol * std::fabs(w);
    if (!ok && ++bad <= 5) msg += "\n  [" + std::to_string(i) + "] cuda " + std::to_string(g) + " cpu " + std::to_string(w);
  }
  if (bad) return ::testing::AssertionFailure() << bad << " of " << want.numel() << " elements differ:" << msg;
  return ::testing::AssertionSuccess();
}

// Runs `op` on CPU and CUDA. `outputs` give the shapes and dtypes (their
// contents are ignored); the CPU results are returned in *cpuOut.
inline ::testing::AssertionResult cudaMatchesCpu(const std::string &op, std::vector<Tensor> inputs,
                                                 std::vector<Tensor> outputs, std::vector<Attr> attrList,
                                                 const Match &m) {
  std::vector<Tensor> cpuOut = outputs;
  std::vector<Tensor *> in, out;
  for (Tensor &t : inputs) in.push_back(&t);
  for (Tensor &t : cpuOut) out.push_back(&t);
  Status st = runKernel(op, in, out, attrList);
  if (!st.isOk()) return ::testing::AssertionFailure() << "CPU " << op << ": " << st.message();

  registerBuiltinKernels();
  std::vector<DType> dtypes;
  for (const Tensor &t : inputs) dtypes.push_back(t.dtype);
  for (const Tensor &t : outputs) dtypes.push_back(t.dtype);
  const KernelEntry *e = KernelRegistry::global().lookup(op, Device::kCUDA, dtypes);
  if (!e) return ::testing::AssertionFailure() << "no CUDA kernel for " << op;

  std::unique_ptr<cuda::Context> ctx;
  st = cuda::Context::create({}, &ctx);
  if (!st.isOk()) return ::testing::AssertionFailure() << st.message();
  std::vector<TensorView> dIn, dOut;
  for (Tensor &t : inputs) {
    TensorView v = t.view();
    st = ctx->allocate(t.bytes.size(), "input", &v.data);
    if (st.isOk()) st = ctx->copyToDevice(v.data, t.bytes.data(), t.bytes.size());
    if (!st.isOk()) return ::testing::AssertionFailure() << st.message();
    dIn.push_back(v);
  }
  std::vector<Tensor> cudaOut = outputs;
  for (Tensor &t : cudaOut) {
    TensorView v = t.view();
    std::memset(t.bytes.data(), 0xFF, t.bytes.size());  // poison
    st = ctx->allocate(t.bytes.size(), "output", &v.data);
    if (st.isOk()) st = ctx->copyToDevice(v.data, t.bytes.data(), t.bytes.size());
    if (!st.isOk()) return ::testing::AssertionFailure() << st.message();
    dOut.push_back(v);
  }
  Attrs attrs(std::move(attrList));
  KernelCall call;
  call.op = op;
  call.location = "test_node";
  call.inputs = dIn.data();
  call.numInputs = static_cast<int>(dIn.size());
  call.outputs = dOut.data();
  call.numOutputs = static_cast<int>(dOut.size());
  call.attrs = &attrs;
  call.stream = ctx->stream();
  call.workspace = ctx->workspace();
  call.workspaceBytes = ctx->workspaceBytes();
  call.context = ctx.get();
  if (e->check) {
    st = e->check(call);
    if (!st.isOk()) return ::testing::AssertionFailure() << "CUDA check " << op << ": " << st.message();
  }
  st = e->fn(call);
  if (st.isOk()) st = ctx->synchronize(op.c_str());
  if (!st.isOk()) return ::testing::AssertionFailure() << "CUDA " << op << ": " << st.message();
  for (size_t i = 0; i < cudaOut.size(); ++i) {
    st = ctx->copyToHost(cudaOut[i].bytes.data(), dOut[i].data, cudaOut[i].bytes.size());
    if (!st.isOk()) return ::testing::AssertionFailure() << st.message();
    ::testing::AssertionResult r = matches(cudaOut[i], cpuOut[i], m);
    if (!r) return ::testing::AssertionFailure() << op << " output " << i << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

inline std::string name(DType t) { return std::string(dtypeName(t)); }

}  // namespace mpc::rt::test
