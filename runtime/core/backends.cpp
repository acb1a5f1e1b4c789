#include "core/backends.h"

#include <mutex>

#if MPCRT_HAVE_CPU
#include "cpu/register.h"
#endif

namespace mpc::rt {

void registerBuiltinKernels() {
  static std::once_flag once;
  std::call_once(once, [] {
#if MPCRT_HAVE_CPU
    registerCpuKernels(KernelRegistry::global());
#endif
  });
}

bool isDeviceAvailable(Device device) {
#if MPCRT_HAVE_CPU
  if (device == Device::kCPU) return true;
#endif
  return false;  // the CUDA backend is not part of this build yet
}

}  // namespace mpc::rt
