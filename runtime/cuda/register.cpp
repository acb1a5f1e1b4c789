// Registration of every CUDA kernel (cuda/register.h).
#include "cuda/register.h"

#include "cuda/gemm.h"

namespace mpc::rt::cuda {

void addKernel(KernelRegistry &reg, const char *op, std::vector<DType> dtypes, KernelFn fn, KernelCheckFn check) {
  KernelEntry e;
  e.op = op;
  e.device = Device::kCUDA;
  // The CPU kernel's check validates shapes, dtypes and attributes; they mean
  // the same on every device. Without a CPU twin the op has no check.
  const KernelEntry *cpu = check ? nullptr : reg.lookup(op, Device::kCPU, dtypes);
  e.check = check ? check : cpu ? cpu->check : nullptr;
  e.dtypes = std::move(dtypes);
  e.fn = fn;
  reg.add(std::move(e));
}

void addVariadicKernel(KernelRegistry &reg, const char *op, KernelFn fn) {
  KernelCheckFn check = nullptr;
  for (const KernelEntry &cpu : reg.entries())
    if (cpu.variadic && cpu.device == Device::kCPU && cpu.op == op) check = cpu.check;
  if (check) reg.addVariadic(op, Device::kCUDA, fn, check);
}

void registerCudaKernels(KernelRegistry &reg) {
  registerElementwiseKernels(reg);
  registerMovementKernels(reg);
  registerReduceKernels(reg);
  registerFusedElementwiseKernels(reg);
  registerGemmKernels(reg);
  registerLossKernels(reg);
  registerOptimizerKernels(reg);
  registerTrainingKernels(reg);
  registerNormKernels(reg);
}

}  // namespace mpc::rt::cuda
