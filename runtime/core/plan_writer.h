// PlanWriter: builds an executable plan (.mpcp) and writes it. The compiler's
// plan emitter links this (target mpcrt_planwriter); it has no MLIR, LLVM or
// protobuf dependency.
//
//   PlanWriter w;
//   int32_t x = w.addTensor("x", DType::kF32, {2, 3}, Storage::kInput);
//   int32_t y = w.addTensor("y", DType::kF32, {2, 3}, Storage::kActivation);
//   w.addKernel("relu", {x}, {y}, {}, "Relu_0");
//   w.bindInput("x", x);
//   w.bindOutput("y", y);
//   Status s = w.write("model.mpcp");
//
// Errors found while building (bad dtype, shape, missing data) are remembered
// and returned by write(); addTensor still returns a fresh id so the caller's
// bookkeeping stays simple. write() validates the whole graph, runs the static
// memory planner and writes the file atomically (temp file, fsync, rename).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/memory_planner.h"
#include "core/plan.h"

namespace mpc::rt {

class PlanWriter {
public:
  // Adds a tensor and returns its id (ids are consecutive from 0). Constants
  // need initData; state tensors may have it (zeros otherwise); the bytes
  // (numel * dtypeSize, C order) are copied. Every state tensor is exposed
  // under its name for readState/writeState.
  int32_t addTensor(std::string name, DType dtype, std::vector<int64_t> shape, Storage storage,
                    const void *initData = nullptr);
  // Appends a kernel call; kernels run in the order they are added.
  void addKernel(std::string op, std::vector<int32_t> inputs, std::vector<int32_t> outputs, std::vector<Attr> attrs,
                 std::string location);
  // Graph inputs must be tensors with Storage::kInput; graph outputs may be any
  // tensor (activation, input, constant or state).
  void bindInput(std::string name, int32_t tensor);
  void bindOutput(std::string name, int32_t tensor);

  // Refuses (in write/writeToBuffer) a plan whose activation arena plus state
  // arena exceed `bytes` (0: no limit), before anything is written.
  void setMemoryLimit(uint64_t bytes) { memoryLimit_ = bytes; }

  // Validates, plans memory and writes the plan atomically.
  Status write(const std::string &path);
  // The same, into memory (what write() puts in the file).
  Status writeToBuffer(std::vector<uint8_t> *out);

  // The memory plan of the last successful write (arena size, reuse stats).
  const MemoryPlan &memoryPlan() const { return memoryPlan_; }
  // The tensors with the offsets of the last successful write.
  const std::vector<PlanTensor> &tensors() const { return tensors_; }
  size_t numKernels() const { return kernels_.size(); }

private:
  // Validates, plans, and assembles everything before the data section.
  Status build(std::vector<uint8_t> *metadata);
  // Calls emit over the data section's bytes in order (tensors and padding).
  Status forEachDataChunk(const std::function<Status(const uint8_t *, size_t)> &emit) const;
  void recordError(std::string message);

  std::vector<PlanTensor> tensors_;
  std::vector<std::vector<uint8_t>> initData_;  // per tensor
  std::vector<char> hasInit_;                   // per tensor: initData was given
  std::vector<PlanKernel> kernels_;
  std::vector<PlanBinding> inputs_, outputs_;
  Status firstError_;
  MemoryPlan memoryPlan_;
  uint64_t memoryLimit_ = 0;
};

}  // namespace mpc::rt
