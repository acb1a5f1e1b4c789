// A session runs one loaded plan on one device. It owns one activation arena
// and one state arena (each a single allocation made at creation); constants
// are read straight from the plan's memory map. run() allocates nothing.
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
};

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
  // A view of a graph output; valid until the next run() or the session's end.
  Status output(const std::string &name, TensorView *out) const;
  // Reads or overwrites a state tensor (nbytes must equal its size).
  Status readState(const std::string &name, void *dst, size_t nbytes) const;
  Status writeState(const std::string &name, const void *src, size_t nbytes);
  // Restores every state tensor to its initial value from the plan.
  void resetState();

  // The view of any plan tensor by id (for tests and tools).
  const TensorView &tensorView(int32_t id) const { return views_[id]; }

private:
  Session() = default;
  Status prepareKernels();

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
};

}  // namespace mpc::rt
