// Registration of the CUDA kernels, one function per op family (each in the
// file named after the family). registerCudaKernels runs after the CPU
// backend's registration: every CUDA entry reuses the load-time check of the
// CPU entry with the same op and dtypes.
#pragma once

#include <vector>

#include "core/kernel.h"

namespace mpc::rt::cuda {

// Adds every CUDA kernel to `reg` (no-op when the backend is not compiled in).
void registerCudaKernels(KernelRegistry &reg);

// Registers a CUDA kernel. Its load-time check is `check`, or by default the
// CPU kernel's for the same op and dtypes (shapes, dtypes and attributes mean
// the same on every device), so the CPU kernels must be registered first.
void addKernel(KernelRegistry &reg, const char *op, std::vector<DType> dtypes, KernelFn fn,
               KernelCheckFn check = nullptr);
// A variadic CUDA kernel (KernelEntry::variadic), checked by the CPU's
// variadic twin's check; nothing is registered when the CPU has no such twin.
void addVariadicKernel(KernelRegistry &reg, const char *op, KernelFn fn);

void registerElementwiseKernels(KernelRegistry &reg);
void registerMovementKernels(KernelRegistry &reg);
void registerReduceKernels(KernelRegistry &reg);
void registerFusedElementwiseKernels(KernelRegistry &reg);
void registerGemmKernels(KernelRegistry &reg);
void registerLossKernels(KernelRegistry &reg);
void registerOptimizerKernels(KernelRegistry &reg);
void registerTrainingKernels(KernelRegistry &reg);  // training.cu
void registerNormKernels(KernelRegistry &reg);      // norm.cu

}  // namespace mpc::rt::cuda
