// An executable plan in memory: what the PlanWriter produces and the loader
// reads back. The loader memory-maps the file so constants are never copied.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/kernel.h"
#include "core/plan_format.h"
#include "core/status.h"

namespace mpc::rt {

using plan::Storage;

struct PlanTensor {
  std::string name;
  DType dtype = DType::kInvalid;
  Storage storage = Storage::kActivation;
  std::vector<int64_t> dims;
  // Activation, input: offset in the activation arena. State: offset in the
  // state arena. Constant: unused (0).
  uint64_t arenaOffset = 0;
  // Constant (required), state (optional): offset in the data section;
  // plan::kNoData otherwise.
  uint64_t dataOffset = plan::kNoData;
  uint64_t nbytes = 0;
};

struct PlanKernel {
  std::string op;
  std::string location;  // ONNX node name
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  Attrs attrs;
};

struct PlanBinding {
  std::string name;
  int32_t tensor = -1;
};

// Describes a tensor for messages: "tensor 'x' (#3)".
std::string describeTensor(const std::vector<PlanTensor> &tensors, int32_t id);
// Describes a kernel for messages: "kernel #2 'add' at 'node_name'".
std::string describeKernel(const PlanKernel &k, size_t index);
// "f32[2,3]"
std::string describeType(DType dtype, const std::vector<int64_t> &dims);

// Bytes of a tensor with these dims, or false on a negative dim or overflow.
bool tensorBytes(DType dtype, const std::vector<int64_t> &dims, uint64_t *nbytes);

// The graph rules every plan obeys, checked by the writer (code
// kInvalidArgument) and again by the loader (kInvalidPlan): ids in range,
// activations defined exactly once before use, constants and inputs never
// written, inputs bound as inputs, unique binding names, every output defined.
Status validateGraph(const std::vector<PlanTensor> &tensors, const std::vector<PlanKernel> &kernels,
                     const std::vector<PlanBinding> &inputs, const std::vector<PlanBinding> &outputs,
                     const std::vector<PlanBinding> &states, StatusCode code);

struct LoadOptions {
  // Also verify the data section checksum (reads every weight once).
  bool verifyData = false;
};

class Plan {
public:
  ~Plan();
  Plan(const Plan &) = delete;
  Plan &operator=(const Plan &) = delete;

  // Memory-maps `path` read-only and validates it.
  static Status load(const std::string &path, const LoadOptions &options, std::shared_ptr<const Plan> *out);
  // Validates a plan held in memory (copied); for tests and embedding.
  static Status loadFromBuffer(const void *data, size_t size, const LoadOptions &options,
                               std::shared_ptr<const Plan> *out);

  const std::vector<PlanTensor> &tensors() const { return tensors_; }
  const std::vector<PlanKernel> &kernels() const { return kernels_; }
  const std::vector<PlanBinding> &inputs() const { return inputs_; }
  const std::vector<PlanBinding> &outputs() const { return outputs_; }
  const std::vector<PlanBinding> &states() const { return states_; }
  uint64_t activationArenaBytes() const { return activationArenaBytes_; }
  uint64_t stateArenaBytes() const { return stateArenaBytes_; }
  // The data section (read-only; memory-mapped when loaded from a file).
  const uint8_t *data() const { return data_; }
  uint64_t dataSize() const { return dataSize_; }
  uint32_t versionMajor() const { return versionMajor_; }
  uint32_t versionMinor() const { return versionMinor_; }

  // Binding lookup by name; -1 when absent.
  int32_t findInput(const std::string &name) const;
  int32_t findOutput(const std::string &name) const;
  int32_t findState(const std::string &name) const;

private:
  Plan() = default;
  Status parse(const LoadOptions &options);

  // Backing bytes: either an mmap (mapBase_/mapSize_) or an owned buffer.
  void *mapBase_ = nullptr;
  size_t mapSize_ = 0;
  struct FreeDeleter {
    void operator()(void *p) const;
  };
  std::unique_ptr<uint8_t, FreeDeleter> owned_;  // 64-byte aligned copy
  const uint8_t *file_ = nullptr;
  size_t fileSize_ = 0;
  std::string source_;  // path or "<buffer>", for messages

  uint32_t versionMajor_ = 0, versionMinor_ = 0;
  std::vector<PlanTensor> tensors_;
  std::vector<PlanKernel> kernels_;
  std::vector<PlanBinding> inputs_, outputs_, states_;
  uint64_t activationArenaBytes_ = 0;
  uint64_t stateArenaBytes_ = 0;
  const uint8_t *data_ = nullptr;
  uint64_t dataSize_ = 0;
};

}  // namespace mpc::rt
