// The backends compiled into this libmpcrt.
#pragma once

#include "core/kernel.h"

namespace mpc::rt {

// Registers the kernels of every built-in backend in KernelRegistry::global()
// exactly once (thread-safe). Session::create calls it; tests that inspect the
// registry call it first.
void registerBuiltinKernels();

// Whether a backend is compiled in and usable on this machine.
bool isDeviceAvailable(Device device);

}  // namespace mpc::rt
