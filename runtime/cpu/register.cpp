#include "cpu/register.h"

#if MPC_CPU_HAVE_TRAINING
#include "cpu/training.h"
#endif

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
  cpu::registerFusedElementwiseKernels(reg);
#if MPC_CPU_HAVE_TRAINING
  registerCpuTrainingKernels(reg);
#endif
}

} // namespace mpc::rt
