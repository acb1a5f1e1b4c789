#include "cpu/cpu_common.h"

namespace mpc::rt::cpu {

std::string shapeString(const TensorView &t) {
  std::string s = "[";
  for (int i = 0; i < t.rank; ++i) s += (i ? "x" : "") + std::to_string(t.dims[i]);
  return s + "]";
}

bool sameShape(const TensorView &a, const TensorView &b) {
  if (a.rank != b.rank) return false;
  for (int i = 0; i < a.rank; ++i)
    if (a.dims[i] != b.dims[i]) return false;
  return true;
}

Status kernelError(const KernelCall &call, const std::string &msg, StatusCode code) {
  return Status(code, "node '" + std::string(call.location) + "' (" + std::string(call.op) + "): " + msg);
}

static Status checkTensor(const KernelCall &call, const TensorView &t, const std::string &what) {
  if (t.rank < 0 || t.rank > kMaxRank) return kernelError(call, what + " has invalid rank " + std::to_string(t.rank));
  for (int i = 0; i < t.rank; ++i)
    if (t.dims[i] < 0) return kernelError(call, what + " has a negative dimension " + shapeString(t));
  if (!t.data && t.numel() > 0) return kernelError(call, what + " has no data");
  return Status::ok();
}

Status checkArity(const KernelCall &call, int minInputs, int maxInputs, int numOutputs) {
  if (call.numInputs < minInputs || call.numInputs > maxInputs)
    return kernelError(call, "expected " + std::to_string(minInputs) +
                                 (maxInputs != minInputs ? "-" + std::to_string(maxInputs) : std::string()) +
                                 " inputs, got " + std::to_string(call.numInputs));
  if (call.numOutputs != numOutputs)
    return kernelError(call,
                       "expected " + std::to_string(numOutputs) + " outputs, got " + std::to_string(call.numOutputs));
  for (int i = 0; i < call.numInputs; ++i)
    MPC_RETURN_IF_ERROR(checkTensor(call, call.inputs[i], "input " + std::to_string(i)));
  for (int i = 0; i < call.numOutputs; ++i)
    MPC_RETURN_IF_ERROR(checkTensor(call, call.outputs[i], "output " + std::to_string(i)));
  return Status::ok();
}

Status checkDType(const KernelCall &call, const TensorView &t, DType want, const char *what) {
  if (t.dtype != want)
    return kernelError(call, std::string(what) + " has dtype " + std::string(dtypeName(t.dtype)) + ", expected " +
                                 std::string(dtypeName(want)));
  return Status::ok();
}

Status checkShape(const KernelCall &call, const TensorView &t, const TensorView &want, const char *what) {
  if (!sameShape(t, want))
    return kernelError(call, std::string(what) + " has shape " + shapeString(t) + ", expected " + shapeString(want));
  return Status::ok();
}

static const Attrs &attrsOf(const KernelCall &call) {
  static const Attrs kEmpty;
  return call.attrs ? *call.attrs : kEmpty;
}

static Status wrapAttr(const KernelCall &call, const char *name, const Status &st) {
  if (st.isOk()) return st;
  return kernelError(call, "attribute '" + std::string(name) + "': " + st.message());
}

Status getInt(const KernelCall &call, const char *name, int64_t dflt, int64_t *out) {
  Status st;
  *out = attrsOf(call).getInt(name, dflt, &st);
  return wrapAttr(call, name, st);
}
Status getFloat(const KernelCall &call, const char *name, double dflt, double *out) {
  Status st;
  *out = attrsOf(call).getFloat(name, dflt, &st);
  return wrapAttr(call, name, st);
}
Status getString(const KernelCall &call, const char *name, const char *dflt, std::string *out) {
  Status st;
  *out = attrsOf(call).getString(name, dflt, &st);
  return wrapAttr(call, name, st);
}
Status getInts(const KernelCall &call, const char *name, std::vector<int64_t> *out) {
  Status st;
  *out = attrsOf(call).getInts(name, &st);
  return wrapAttr(call, name, st);
}

Status broadcastStrides(const KernelCall &call, const TensorView &in, const TensorView &out, int64_t *strides) {
  if (in.rank > out.rank)
    return kernelError(call, "operand shape " + shapeString(in) + " does not broadcast to " + shapeString(out));
  int64_t stride = 1;
  for (int d = out.rank - 1; d >= 0; --d) {
    const int id = d - (out.rank - in.rank);
    if (id < 0) {
      strides[d] = 0;
      continue;
    }
    if (in.dims[id] == out.dims[d]) {
      strides[d] = in.dims[id] == 1 ? 0 : stride;
    } else if (in.dims[id] == 1) {
      strides[d] = 0;
    } else {
      return kernelError(call, "operand shape " + shapeString(in) + " does not broadcast to " + shapeString(out));
    }
    stride *= in.dims[id];
  }
  return Status::ok();
}

void addKernel(KernelRegistry &reg, const char *op, std::vector<DType> dtypes, KernelFn fn, KernelCheckFn check) {
  KernelEntry e;
  e.op = op;
  e.device = Device::kCPU;
  e.dtypes = std::move(dtypes);
  e.fn = fn;
  e.check = check;
  reg.add(std::move(e));
}

void addVariadicKernel(KernelRegistry &reg, const char *op, KernelFn fn, KernelCheckFn check) {
  reg.addVariadic(op, Device::kCPU, fn, check);
}

} // namespace mpc::rt::cpu
