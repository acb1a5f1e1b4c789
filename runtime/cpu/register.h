// Registration of every CPU kernel. The session calls registerCpuKernels once
// (explicitly, so static-library linking cannot drop registrars).
#pragma once

#include "core/kernel.h"

namespace mpc::rt {

// Adds every CPU kernel (docs/ops.md) to `reg`.
void registerCpuKernels(KernelRegistry &reg);

// Keeps OpenBLAS on the calling thread: the runtime's ThreadPool splits GEMMs
// itself (cpu/gemm.h), so only one set of threads runs on the cores.
void setCpuBlasThreads(int numThreads);

namespace cpu {
void registerElementwiseKernels(KernelRegistry &reg);
void registerBinaryKernels(KernelRegistry &reg);
void registerMatmulKernels(KernelRegistry &reg);
void registerConvKernels(KernelRegistry &reg);
void registerPoolKernels(KernelRegistry &reg);
void registerNormKernels(KernelRegistry &reg);
void registerSoftmaxKernels(KernelRegistry &reg);
void registerReduceKernels(KernelRegistry &reg);
void registerMovementKernels(KernelRegistry &reg);
void registerLossKernels(KernelRegistry &reg);
void registerPrecisionKernels(KernelRegistry &reg);
void registerDropoutKernels(KernelRegistry &reg);
void registerFusedElementwiseKernels(KernelRegistry &reg);
void registerFp8Kernels(KernelRegistry &reg); // cpu/fp8.cpp
} // namespace cpu

} // namespace mpc::rt
