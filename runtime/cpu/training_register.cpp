// Registration of the CPU training kernels (gradient ops, optimizer ops, copy).
#include "cpu/training.h"
#include "cpu/register.h"

namespace mpc::rt {

void registerCpuTrainingKernels(KernelRegistry &reg) {
  cpu::registerGradElementwiseKernels(reg);
  cpu::registerGradConvKernels(reg);
  cpu::registerGradPoolKernels(reg);
  cpu::registerGradNormKernels(reg);
  cpu::registerGradLossKernels(reg);
  cpu::registerGradMovementKernels(reg);
  cpu::registerOptimizerKernels(reg);
  cpu::registerLossScalingKernels(reg);
  cpu::registerFp8Kernels(reg); // FP8 GEMMs and scaling (cpu/fp8.cpp)
}

namespace cpu {

Status checkFloatTensor(const KernelCall &call, const TensorView &t, const char *what) {
  if (!isGradFloat(t.dtype))
    return kernelError(call, std::string(what) + " has dtype " + std::string(dtypeName(t.dtype)) +
                                 ", expected f32, f64, f16 or bf16");
  return Status::ok();
}

} // namespace cpu
} // namespace mpc::rt
