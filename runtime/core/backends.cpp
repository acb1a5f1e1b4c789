#include "core/backends.h"

#include <mutex>

#include "cpu/register.h"
#include "cuda/context.h"
#include "cuda/register.h"

namespace mpc::rt {

void registerBuiltinKernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerCpuKernels(KernelRegistry::global());
    // After the CPU kernels: CUDA entries reuse their load-time checks.
    cuda::registerCudaKernels(KernelRegistry::global());
  });
}

bool isDeviceAvailable(Device device) {
  if (device == Device::kCPU) return true;
  // Compiled in and a device present (0 without a driver: never an abort).
  if (device == Device::kCUDA) return cuda::isCompiledIn() && cuda::deviceCount() > 0;
  return false;
}

}  // namespace mpc::rt
