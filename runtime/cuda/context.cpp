// The CUDA context of a session (cuda/context.h). Host code only: the CUDA
// runtime and cuBLASLt APIs, compiled by the C++ compiler.
#include "cuda/context.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstring>

#include "cuda/gemm.h"

namespace mpc::rt::cuda {

namespace {

Status cudaError(cudaError_t e, const std::string &what) {
  return Status(StatusCode::kInternal, what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

}  // namespace

bool isCompiledIn() { return true; }

int deviceCount() {
  int n = 0;
  // Without a driver (no libcuda) this returns an error code, it never aborts.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return 0;
  }
  return n;
}

std::string deviceDescription() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  }
  if (n == 0) return "no CUDA device: cudaGetDeviceCount found none";
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "CUDA device 0";
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

Context::~Context() {
  if (stream_) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  if (graphExec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graphExec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  gemmCache_.reset();
  if (blasLt_) cublasLtDestroy(static_cast<cublasLtHandle_t>(blasLt_));
  for (const Allocation &a : allocations_) {
    if (a.host) cudaFreeHost(a.ptr);
    else cudaFree(a.ptr);
  }
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

Status Context::create(const ContextOptions &options, std::unique_ptr<Context> *out) {
  if (deviceCount() == 0)
    return Status(StatusCode::kUnsupported, "device 'cuda' is unavailable: " + deviceDescription());
  std::unique_ptr<Context> c(new Context());
  c->options_ = options;
  cudaStream_t stream;
  cudaError_t e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) return cudaError(e, "cannot create a CUDA stream");
  c->stream_ = stream;
  cublasLtHandle_t lt;
  if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS)
    return Status(StatusCode::kInternal, "cannot create the cuBLASLt handle");
  c->blasLt_ = lt;
  c->gemmCache_ = std::make_unique<GemmCache>();
  MPC_RETURN_IF_ERROR(c->allocate(options.workspaceBytes, "cuBLASLt workspace", &c->workspace_));
  void *errHost = nullptr, *errDev = nullptr;
  e = cudaHostAlloc(&errHost, sizeof(DeviceError), cudaHostAllocMapped);
  if (e != cudaSuccess) return cudaError(e, "cannot allocate the device error record");
  c->allocations_.push_back({errHost, true});
  std::memset(errHost, 0, sizeof(DeviceError));
  e = cudaHostGetDevicePointer(&errDev, errHost, 0);
  if (e != cudaSuccess) return cudaError(e, "cannot map the device error record");
  c->deviceErrorHost_ = static_cast<DeviceError *>(errHost);
  c->deviceErrorDev_ = static_cast<DeviceError *>(errDev);
  *out = std::move(c);
  return Status::ok();
}

Status Context::allocate(size_t bytes, const char *what, void **out) {
  const size_t size = bytes == 0 ? 256 : bytes;
  void *p = nullptr;
  cudaError_t e = cudaMalloc(&p, size);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Status(StatusCode::kOutOfMemory, std::string("cannot allocate the ") + what + " of " +
                                                std::to_string(bytes) + " bytes on the GPU: " + cudaGetErrorString(e));
  }
  allocations_.push_back({p, false});
  e = cudaMemsetAsync(p, 0, size, static_cast<cudaStream_t>(stream_));
  if (e == cudaSuccess) e = cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  if (e != cudaSuccess) return cudaError(e, std::string("cannot clear the ") + what);
  *out = p;
  return Status::ok();
}

Status Context::allocateHost(size_t bytes, const char *what, void **out) {
  const size_t size = bytes == 0 ? 256 : bytes;
  void *p = nullptr;
  cudaError_t e = cudaMallocHost(&p, size);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Status(StatusCode::kOutOfMemory, std::string("cannot allocate the ") + what + " of " +
                                                std::to_string(bytes) + " bytes of pinned host memory");
  }
  allocations_.push_back({p, true});
  std::memset(p, 0, size);
  *out = p;
  return Status::ok();
}

Status Context::copyToDevice(void *dst, const void *src, size_t bytes) {
  if (bytes == 0) return Status::ok();
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream_));
  if (e == cudaSuccess) e = cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  return e == cudaSuccess ? Status::ok() : cudaError(e, "host-to-device copy of " + std::to_string(bytes) + " bytes");
}

Status Context::copyToHost(void *dst, const void *src, size_t bytes) {
  if (bytes == 0) return Status::ok();
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, static_cast<cudaStream_t>(stream_));
  if (e == cudaSuccess) e = cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  return e == cudaSuccess ? Status::ok() : cudaError(e, "device-to-host copy of " + std::to_string(bytes) + " bytes");
}

Status Context::synchronize(const char *what) {
  cudaError_t e = cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  if (e != cudaSuccess) return cudaError(e, what);
  // A data-dependent error recorded by a kernel (cuda/device.cuh reportIndexError).
  volatile DeviceError *err = deviceErrorHost_;
  if (err && err->site != 0) {
    const int site = err->site - 1;
    const std::string node = site < static_cast<int>(errorSites_.size()) ? errorSites_[site] : "unknown node";
    const std::string msg = node + ": index " + std::to_string(err->value) + " out of range for axis of size " +
                            std::to_string(err->bound);
    err->site = 0;  // reported once; the next run starts clean
    return Status(StatusCode::kInvalidArgument, msg);
  }
  return Status::ok();
}

int Context::errorSite(std::string_view op, std::string_view location) {
  const std::string node = "node '" + std::string(location) + "' (" + std::string(op) + ")";
  for (size_t i = 0; i < errorSites_.size(); ++i)
    if (errorSites_[i] == node) return static_cast<int>(i);
  errorSites_.push_back(node);
  return static_cast<int>(errorSites_.size()) - 1;
}

Status Context::beginCapture() {
  cudaError_t e = cudaStreamBeginCapture(static_cast<cudaStream_t>(stream_), cudaStreamCaptureModeThreadLocal);
  return e == cudaSuccess ? Status::ok() : cudaError(e, "cannot begin the CUDA graph capture");
}

Status Context::endCapture() {
  cudaGraph_t graph = nullptr;
  cudaError_t e = cudaStreamEndCapture(static_cast<cudaStream_t>(stream_), &graph);
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (graph) cudaGraphDestroy(graph);
    return cudaError(e, "the CUDA graph capture failed");
  }
  cudaGraphExec_t exec = nullptr;
  e = cudaGraphInstantiate(&exec, graph, 0);
  if (e != cudaSuccess) {
    cudaGetLastError();
    cudaGraphDestroy(graph);
    return cudaError(e, "cannot instantiate the CUDA graph");
  }
  graph_ = graph;
  graphExec_ = exec;
  return Status::ok();
}

Status Context::launchGraph() {
  cudaError_t e = cudaGraphLaunch(static_cast<cudaGraphExec_t>(graphExec_), static_cast<cudaStream_t>(stream_));
  return e == cudaSuccess ? Status::ok() : cudaError(e, "cannot launch the CUDA graph");
}

}  // namespace mpc::rt::cuda
