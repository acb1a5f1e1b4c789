// The static memory planner: liveness over the kernel order, then offsets in
// one activation arena, greedy by size with best fit, 64-byte aligned, with
// in-place reuse for elementwise ops.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/plan.h"

namespace mpc::rt {

// Ops whose CPU (and CUDA) kernels are alias-safe: output element i depends
// only on input element i (after broadcasting), so the output may share the
// buffer of an input of identical dtype and size. The one list to edit.
bool isInPlaceCapable(std::string_view op);

struct MemoryPlan {
  uint64_t arenaBytes = 0;      // size of the activation arena
  uint64_t sumBytes = 0;        // sum of the aligned sizes of every planned tensor (no reuse)
  int numInPlace = 0;           // outputs that took an input's buffer
  // Per tensor (same indexing as the plan's tensors): live range in kernel
  // indices. Inputs start at -1; graph outputs end at numKernels. Only
  // meaningful for activation and input tensors (others: {0, -1}).
  std::vector<int32_t> firstUse, lastUse;
  // Per tensor: the tensor whose buffer it shares (itself when none).
  std::vector<int32_t> aliasOf;
};

// Assigns arenaOffset for every activation and input tensor of an already
// validated graph (validateGraph) and fills *plan.
void planActivationMemory(std::vector<PlanTensor> &tensors, const std::vector<PlanKernel> &kernels,
                          const std::vector<PlanBinding> &outputs, MemoryPlan *plan);

}  // namespace mpc::rt
