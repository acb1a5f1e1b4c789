// The one kernel interface shared by every backend.
//
// A plan is a list of kernel calls. Each call names an op (docs/ops.md, without
// the "mpc." prefix), its input and output tensors and its attributes. At load
// time the session resolves every call to a KernelFn from the registry, keyed by
// (op, device, dtypes of inputs and outputs), so a missing kernel is an error at
// load time, never in the middle of a step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace mpc::rt {

inline constexpr int kMaxRank = 8;

// A non-owning view of one tensor in an arena.
struct TensorView {
  void *data = nullptr;
  DType dtype = DType::kInvalid;
  int rank = 0;
  int64_t dims[kMaxRank] = {};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtypeSize(dtype); }
  template <typename T> T *as() const { return static_cast<T *>(data); }
};

// One attribute value. Strings are UTF-8; arrays keep their order.
using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

struct Attr {
  std::string name;
  AttrValue value;
};

// The attributes of one kernel call, with typed getters that report a clear
// error (naming the attribute) instead of throwing or asserting.
class Attrs {
public:
  Attrs() = default;
  explicit Attrs(std::vector<Attr> attrs) : attrs_(std::move(attrs)) {}

  const Attr *find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }

  // Each getter returns the default when the attribute is absent and sets *err
  // (if non-null) when it is present with the wrong kind.
  int64_t getInt(std::string_view name, int64_t dflt, Status *err = nullptr) const;
  double getFloat(std::string_view name, double dflt, Status *err = nullptr) const;
  std::string getString(std::string_view name, std::string_view dflt, Status *err = nullptr) const;
  std::vector<int64_t> getInts(std::string_view name, Status *err = nullptr) const;
  std::vector<double> getFloats(std::string_view name, Status *err = nullptr) const;

  const std::vector<Attr> &all() const { return attrs_; }

private:
  std::vector<Attr> attrs_;
};

class ThreadPool;

// Everything a kernel sees when it runs.
struct KernelCall {
  std::string_view op;        // "add", "matmul", ...
  std::string_view location;  // the ONNX node name, for error messages
  const TensorView *inputs = nullptr;
  int numInputs = 0;
  TensorView *outputs = nullptr;
  int numOutputs = 0;
  const Attrs *attrs = nullptr;
  ThreadPool *pool = nullptr;   // CPU backend: worker threads for big loops
  void *stream = nullptr;       // CUDA backend: cudaStream_t
  void *workspace = nullptr;    // backend scratch (e.g. cuBLASLt workspace)
  size_t workspaceBytes = 0;
  void *context = nullptr;      // CUDA backend: the session's cuda::Context (cuda/context.h)
};

// Kernels return Status::ok() or an error that names call.location.
using KernelFn = Status (*)(const KernelCall &call);

enum class Device : uint8_t { kCPU = 0, kCUDA = 1 };

// Checks that the attribute values and shapes are valid for this op; run once
// at plan load so bad plans fail before the first step. May be null.
using KernelCheckFn = Status (*)(const KernelCall &call);

struct KernelEntry {
  std::string op;
  Device device;
  // Dtypes of inputs then outputs; an entry of kInvalid matches any dtype.
  std::vector<DType> dtypes;
  KernelFn fn;
  KernelCheckFn check = nullptr;
  // A variadic entry (op over any number of tensors, e.g. one per gradient)
  // matches every operand count and dtype; `dtypes` is empty and `check`
  // validates the operands.
  bool variadic = false;
};

// The registry. Backends register their kernels through static registrars
// (see MPC_REGISTER_KERNEL) or an explicit registerXxxKernels() call.
class KernelRegistry {
public:
  static KernelRegistry &global();
  void add(KernelEntry entry);
  // Adds a variadic entry (KernelEntry::variadic).
  void addVariadic(std::string op, Device device, KernelFn fn, KernelCheckFn check);
  // Exact dtype match first, then wildcard entries, then a variadic entry.
  // Null when none.
  const KernelEntry *lookup(std::string_view op, Device device, const std::vector<DType> &dtypes) const;
  const std::vector<KernelEntry> &entries() const { return entries_; }

private:
  std::vector<KernelEntry> entries_;
};

}  // namespace mpc::rt
