// Window geometry shared by the pooling kernels and their gradients.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/cpu_common.h"

namespace mpc::rt::cpu {

// One 2-D pooling window over N x C x H x W.
struct PoolGeometry {
  int64_t n, c, h, w, oh, ow;
  int64_t kh, kw, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
  bool ceilMode = false, countIncludePad = false;
};

// ONNX/PyTorch output size; with ceil_mode a window that would start in the
// bottom/right padding (past the input) is dropped.
inline int64_t poolOutSize(int64_t in, int64_t k, int64_t s, int64_t d, int64_t padBegin, int64_t padEnd,
                           bool ceil) {
  const int64_t span = in + padBegin + padEnd - (d * (k - 1) + 1);
  if (span < 0) return 0;
  int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (out - 1) * s >= in + padBegin) --out;
  return out;
}

// An integer-list attribute that is either absent or has exactly n values.
inline Status getIntsOfSize(const KernelCall &call, const char *name, size_t n, std::vector<int64_t> *v) {
  MPC_RETURN_IF_ERROR(getInts(call, name, v));
  if (!v->empty() && v->size() != n)
    return kernelError(call, "attribute '" + std::string(name) + "' must have " + std::to_string(n) + " values");
  return Status::ok();
}

} // namespace mpc::rt::cpu
