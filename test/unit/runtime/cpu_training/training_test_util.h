// Helpers for the training kernel tests: a registry with the CPU forward and
// training kernels, a runner (outputs poisoned twice, as runKernel), and
// central finite differences of a scalar function of a tensor.
#pragma once

#include <functional>

#include "../cpu/kernel_test_util.h"
#include "cpu/training.h"

namespace mpc::rt::test {

// registerCpuKernels registers the training kernels too (register.cpp).
inline const KernelRegistry &trainingRegistry() { return cpuRegistry(); }

// Like runKernel (kernel_test_util.h) but on trainingRegistry(). With
// `poison` false the outputs are not overwritten first (for in-place runs
// whose outputs alias inputs), and the kernel runs once.
inline Status runOp(const std::string &op, std::vector<Tensor *> inputs, std::vector<Tensor *> outputs,
                    std::vector<Attr> attrList = {}, bool poison = true, ThreadPool *pool = testPool()) {
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
  const KernelEntry *e = trainingRegistry().lookup(op, Device::kCPU, dtypes);
  if (!e) {
    std::string s;
    for (DType t : dtypes) s += std::string(s.empty() ? "" : ",") + std::string(dtypeName(t));
    return Status(StatusCode::kNotFound, "no CPU kernel for " + op + " (" + s + ")");
  }
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
  if (!poison) return e->fn(call);
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
    if (outputs[i]->bytes[n] != 0x5A) return Status(StatusCode::kInternal, op + ": wrote past output " + std::to_string(i));
  }
  return Status::ok();
}

// Runs only the kernel's load-time check; returns its status.
inline Status checkOp(const std::string &op, std::vector<Tensor *> inputs, std::vector<Tensor *> outputs,
                      std::vector<Attr> attrList = {}) {
  std::vector<DType> dtypes;
  std::vector<TensorView> in, out;
  for (Tensor *t : inputs) in.push_back(t->view()), dtypes.push_back(t->dtype);
  for (Tensor *t : outputs) out.push_back(t->view()), dtypes.push_back(t->dtype);
  const KernelEntry *e = trainingRegistry().lookup(op, Device::kCPU, dtypes);
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
  return e->check ? e->check(call) : Status::ok();
}

// d loss / d x by central differences (x must be f64; restored afterwards).
inline std::vector<double> numericGrad(Tensor &x, const std::function<double()> &loss, double h = 1e-6) {
  std::vector<double> g(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.get(i);
    x.set(i, v + h);
    const double up = loss();
    x.set(i, v - h);
    const double down = loss();
    x.set(i, v);
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

inline double dot(const Tensor &a, const Tensor &b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.get(i) * b.get(i);
  return s;
}

// A copy of t converted to dtype (rounded once).
inline Tensor convertTo(const Tensor &t, DType dtype) {
  Tensor r(dtype, t.dims);
  for (int64_t i = 0; i < t.numel(); ++i) r.set(i, t.get(i));
  return r;
}

// Expects an error whose message contains `needle` and names the node.
#define EXPECT_KERNEL_ERROR(expr, needle)                                                   \
  do {                                                                                      \
    const ::mpc::rt::Status st_ = (expr);                                                   \
    EXPECT_FALSE(st_.isOk());                                                               \
    EXPECT_NE(st_.message().find(needle), std::string::npos) << st_.message();              \
    EXPECT_NE(st_.message().find("test_node"), std::string::npos) << st_.message();         \
  } while (0)

}  // namespace mpc::rt::test

#include "core/backends.h"

namespace mpc::rt::test {

// Sessions register the built-in kernels themselves; tests that look at the
// global registry before creating a session call this first.
inline void ensureTrainingKernels() { registerBuiltinKernels(); }

}  // namespace mpc::rt::test
