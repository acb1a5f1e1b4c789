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

// Multi-output ops whose output i may share the buffer of input i (same dtype
// and size, input i dying at this op): the number of leading (output i,
// input i) pairs for which that is allowed (0 for every other op). The kernels
// read element k of input i before writing element k of output i and never
// read input i after writing output i.
//   unscale_and_check (g_0..g_{n-1}, scale) -> (u_0..u_{n-1}, ...): n pairs
//   clip_grad_norm    (g_0..g_{n-1}, norm)  -> (c_0..c_{n-1}):      n pairs
//   accumulate_grad   (acc, grad, micro_step) -> acc':              1 pair
int inPlaceOperandPairs(std::string_view op, size_t numInputs, size_t numOutputs);

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
