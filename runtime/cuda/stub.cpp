// The CUDA backend's entry points in a build without it (MPC_ENABLE_CUDA=OFF
// or no nvcc): no devices, no kernels, and a clear error on use.
#include "cuda/context.h"
#include "cuda/register.h"

namespace mpc::rt::cuda {

class GemmCache {};

bool isCompiledIn() { return false; }
int deviceCount() { return 0; }
std::string deviceDescription() {
  return "no CUDA device: this libmpcrt was built without the CUDA backend (configure with nvcc on the PATH and "
         "MPC_ENABLE_CUDA=ON)";
}

namespace {
Status unavailable() { return Status(StatusCode::kUnsupported, "device 'cuda' is unavailable: " + deviceDescription()); }
}  // namespace

Context::~Context() = default;
Status Context::create(const ContextOptions &, std::unique_ptr<Context> *) { return unavailable(); }
// No Context exists in this build; the members only complete the class.
Status Context::allocate(size_t, const char *, void **) { return unavailable(); }
Status Context::allocateHost(size_t, const char *, void **) { return unavailable(); }
Status Context::copyToDevice(void *, const void *, size_t) { return unavailable(); }
Status Context::copyToHost(void *, const void *, size_t) { return unavailable(); }
Status Context::synchronize(const char *) { return unavailable(); }
Status Context::beginCapture() { return unavailable(); }
Status Context::endCapture() { return unavailable(); }
Status Context::launchGraph() { return unavailable(); }
int Context::errorSite(std::string_view, std::string_view) { return 0; }

void registerCudaKernels(KernelRegistry &) {}

}  // namespace mpc::rt::cuda
