#include "cpu/register.h"

#include "cpu/training.h"

#include "cpu/training.h"

namespace mpc::rt {

void registerCpuKernels(KernelRegistry &reg) {
  cpu::registerElementwiseKernels(reg);
  cpu::registerBinaryKernels(reg);
  cpu::registerMatmulKernels(reg);
  cpu::registerConvKernels(reg);
  cpu::registerPoolKernels(reg);
  cpu::registerNormKernels(reg);
  cpu::registerSoftmaxKernels(reg);
  cpu::registerReduceKernels(reg);
  cpu::registerMovementKernels(reg);
  cpu::registerLossKernels(reg);
  cpu::registerPrecisionKernels(reg);
  cpu::registerDropoutKernels(reg);
  registerCpuTrainingKernels(reg);  // gradient and optimizer ops, copy (cpu/training.h)
  cpu::registerFusedElementwiseKernels(reg);
  registerCpuTrainingKernels(reg);
}

} // namespace mpc::rt
