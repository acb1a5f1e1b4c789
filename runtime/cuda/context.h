// The CUDA backend as the session sees it: one stream, one cuBLASLt handle
// with its workspace and plan cache, device allocations, copies and the CUDA
// graph of a whole run. Plain C++ (no CUDA headers), so core/ can include it
// in every build; without the backend (MPC_ENABLE_CUDA=OFF, cuda/stub.cpp)
// Context::create reports kUnsupported and deviceCount() is 0.
//
// Every call reports failure as a Status naming what it was doing; nothing
// aborts when the driver or the device is missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mpc::rt::cuda {

// Whether this libmpcrt contains the CUDA backend.
bool isCompiledIn();
// Number of usable CUDA devices: 0 without the backend, the driver or a device.
int deviceCount();
// "no CUDA device: <reason>" or the device name; for messages and test skips.
std::string deviceDescription();

struct ContextOptions {
  // FP32 GEMMs may use TF32 tensor cores (10-bit mantissa products).
  bool allowTF32 = false;
  // Bytes of the cuBLASLt workspace.
  size_t workspaceBytes = size_t(32) << 20;
};

class GemmCache;  // cuda/gemm.cpp

// A data-dependent error a kernel finds (an index out of range), which a
// device kernel cannot return: the first one is recorded here and reported by
// the next Context::synchronize() as an error naming the node. It lives in
// mapped pinned host memory, so kernels write it directly (graph-capturable,
// no copy per run).
struct DeviceError {
  int32_t site;   // 0: none; else 1 + the id from Context::errorSite
  int32_t kind;   // 1: index out of range
  int64_t value;  // the offending index
  int64_t bound;  // the size of the indexed axis
};

class Context {
public:
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  static Status create(const ContextOptions &options, std::unique_ptr<Context> *out);

  // A zeroed device allocation, 256-byte aligned, freed with the context.
  // Never empty, so views of empty tensors point at valid memory.
  Status allocate(size_t bytes, const char *what, void **out);
  // Page-locked host memory (zeroed), freed with the context.
  Status allocateHost(size_t bytes, const char *what, void **out);

  // Copies on the context's stream; both wait for completion.
  Status copyToDevice(void *dst, const void *src, size_t bytes);
  Status copyToHost(void *dst, const void *src, size_t bytes);
  // Waits for the stream; reports any asynchronous error of the kernels.
  Status synchronize(const char *what);

  // CUDA graphs of a whole run: begin/end capture on the stream, then replay.
  Status beginCapture();
  // Ends the capture and instantiates it; on failure no graph is kept.
  Status endCapture();
  bool hasGraph() const { return graphExec_ != nullptr; }
  Status launchGraph();

  // The device address kernels record errors at, and the id of one reporting
  // node (op and location; the same id for the same node, stable for the
  // context's life). Ids are taken on the host when the kernel is launched.
  DeviceError *deviceError() const { return deviceErrorDev_; }
  int errorSite(std::string_view op, std::string_view location);

  void *stream() const { return stream_; }  // cudaStream_t
  void *workspace() const { return workspace_; }
  size_t workspaceBytes() const { return options_.workspaceBytes; }
  void *blasLtHandle() const { return blasLt_; }  // cublasLtHandle_t
  GemmCache &gemmCache() { return *gemmCache_; }
  const ContextOptions &options() const { return options_; }

private:
  Context() = default;

  ContextOptions options_;
  void *stream_ = nullptr;
  void *blasLt_ = nullptr;
  void *workspace_ = nullptr;
  void *graph_ = nullptr;      // cudaGraph_t
  void *graphExec_ = nullptr;  // cudaGraphExec_t
  std::unique_ptr<GemmCache> gemmCache_;
  DeviceError *deviceErrorHost_ = nullptr;
  DeviceError *deviceErrorDev_ = nullptr;
  std::vector<std::string> errorSites_;  // "node 'loc' (op)"
  struct Allocation {
    void *ptr;
    bool host;
  };
  std::vector<Allocation> allocations_;
};

}  // namespace mpc::rt::cuda
