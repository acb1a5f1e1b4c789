// A session runs one loaded plan on one device. It owns one activation arena
// and one state arena (each a single allocation made at creation); constants
// are read straight from the plan's memory map. run() allocates nothing.
//
// On CUDA the arenas live on the GPU, the constants are uploaded once into one
// more device allocation, and the tensors the caller can see (inputs, outputs,
// states) have host mirrors in one pinned allocation: setInput, inputView and
// writeState fill the mirror, run() uploads what changed, then runs the
// kernels on the session's stream (as one CUDA graph from the second run on)
// and copies the outputs back; states are copied back when read.
//
// A session is not thread-safe: one thread at a time may call its methods.
// Several sessions may share one Plan.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kernel.h"
#include "core/plan.h"

namespace mpc::rt {

class ThreadPool;

struct SessionOptions {
  Device device = Device::kCPU;
  // CPU worker threads; 0 picks the number of hardware threads.
  int numThreads = 0;
  // CUDA: capture the second run() as a CUDA graph and replay it from then on.
  bool cudaGraphs = true;
  // CUDA: FP32 GEMMs may use TF32 tensor cores (10-bit mantissa products).
  bool allowTF32 = false;
};

namespace cuda {
class Context;
}

class Session {
public:
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  // Resolves every kernel in the registry (a missing kernel is kNotFound
  // naming the op, dtypes and location), runs the kernels' checks, allocates
  // the arenas and initialises state from the plan.
  static Status create(std::shared_ptr<const Plan> plan, const SessionOptions &options,
                       std::unique_ptr<Session> *out);

  const Plan &plan() const { return *plan_; }

  // Copies `data` into the input's slot. dtype and dims must match the plan
  // exactly; nbytes must equal the tensor size.
  Status setInput(const std::string &name, DType dtype, const int64_t *dims, int rank, const void *data,
                  size_t nbytes);
  // A view of the input's slot, to fill in place (no copy).
  Status inputView(const std::string &name, TensorView *out);
  // Runs every kernel in order. Inputs keep their values across runs.
  Status run();
  // A host view of a graph output; valid until the next run() or the session's end.
  Status output(const std::string &name, TensorView *out) const;
  // Reads or overwrites a state tensor (nbytes must equal its size).
  Status readState(const std::string &name, void *dst, size_t nbytes) const;
  Status writeState(const std::string &name, const void *src, size_t nbytes);
  // Restores every state tensor to its initial value from the plan.
  void resetState();

  // The host view of a plan tensor by id (for tests and tools). On CUDA only
  // bound tensors (inputs, outputs, states) and constants have one; any other
  // tensor's view has null data.
  const TensorView &tensorView(int32_t id) const;

  Device device() const { return options_.device; }

private:
  Session() = default;
  Status prepareKernels();
  // CUDA: device arenas, constants and host mirrors.
  Status createCuda();
  Status runCuda();
  Status runKernels();
  // CUDA: copies a mirror from the device when the device holds newer data.
  Status syncToHost(int32_t id) const;

  struct Call {
    KernelFn fn = nullptr;
    KernelCall call;
    std::vector<TensorView> inputs, outputs;
  };

  std::shared_ptr<const Plan> plan_;
  SessionOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  void *activationArena_ = nullptr;
  void *stateArena_ = nullptr;
  std::vector<TensorView> views_;  // per plan tensor
  std::vector<Call> calls_;
  std::vector<uint8_t> inputSet_;  // per plan input: set at least once

  // CUDA sessions only.
  enum class Mirror : uint8_t { kNone, kInSync, kHostNewer, kDeviceNewer };
  std::unique_ptr<cuda::Context> cuda_;
  std::vector<TensorView> hostViews_;   // per plan tensor: mirror (or plan data for constants)
  mutable std::vector<Mirror> mirror_;  // per plan tensor
  int64_t runs_ = 0;
  bool captureFailed_ = false;
};

}  // namespace mpc::rt
