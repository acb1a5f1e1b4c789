#include "core/backends.h"

#include <mutex>

#include "cpu/register.h"

namespace mpc::rt {

void registerBuiltinKernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerCpuKernels(KernelRegistry::global());
  });
}

bool isDeviceAvailable(Device device) {
  if (device == Device::kCPU) return true;
  return false;  // the CUDA backend is not part of this build yet
}

}  // namespace mpc::rt
