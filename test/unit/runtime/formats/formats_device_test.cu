// The MPC_HD conversions compiled for the GPU must agree bit for bit with the
// same functions on the host and with CUDA's device intrinsics, on the shared
// input set and on every encoding (NaN compares as "is NaN").
// Exit codes: 0 all agree, 1 mismatch or CUDA error, 77 no CUDA device (ctest: skipped).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "core/float_formats.h"
#include "format_inputs.h"

using namespace mpc::rt;

// Per input: ours on device (6 results) and CUDA's on device (6 results):
// f16, bf16, e4m3 sat, e4m3 nosat, e5m2 sat, e5m2 nosat.
__global__ void convert(const float *x, size_t n, uint16_t *ours, uint16_t *cuda) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const float v = x[i];
    uint16_t *o = ours + 6 * i, *c = cuda + 6 * i;
    o[0] = floatToHalf(v);
    o[1] = floatToBFloat16(v);
    o[2] = floatToE4M3FN(v, true);
    o[3] = floatToE4M3FN(v, false);
    o[4] = floatToE5M2(v, true);
    o[5] = floatToE5M2(v, false);
    c[0] = __half_as_ushort(__float2half_rn(v));
    c[1] = __bfloat16_as_ushort(__float2bfloat16_rn(v));
    c[2] = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
    c[3] = __nv_cvt_float_to_fp8(v, __NV_NOSAT, __NV_E4M3);
    c[4] = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E5M2);
    c[5] = __nv_cvt_float_to_fp8(v, __NV_NOSAT, __NV_E5M2);
  }
}

// Decodes of every 16-bit (f16, bf16) and 8-bit (e4m3, e5m2) encoding, as FP32 bits.
__global__ void decode(uint32_t *out) {
  const uint32_t e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= 65536) return;
  out[e] = floatBits(halfToFloat(e));
  out[65536 + e] = floatBits(bfloat16ToFloat(e));
  if (e < 256) {
    out[131072 + e] = floatBits(e4m3fnToFloat(e));
    out[131328 + e] = floatBits(e5m2ToFloat(e));
  }
}

static float decodeAny(int k, uint16_t enc) {
  switch (k) {
  case 0: return halfToFloat(enc);
  case 1: return bfloat16ToFloat(enc);
  case 2: case 3: return e4m3fnToFloat(static_cast<uint8_t>(enc));
  default: return e5m2ToFloat(static_cast<uint8_t>(enc));
  }
}

static bool same(int k, uint16_t a, uint16_t b) {
  if (std::isnan(decodeAny(k, b))) return std::isnan(decodeAny(k, a));
  return a == b;
}

#define CHECK_CUDA(expr)                                                          \
  do {                                                                            \
    cudaError_t err_ = (expr);                                                    \
    if (err_ != cudaSuccess) {                                                    \
      std::fprintf(stderr, "%s: %s\n", #expr, cudaGetErrorString(err_));          \
      return 1;                                                                   \
    }                                                                             \
  } while (0)

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("SKIPPED: no CUDA device\n");
    return 77;
  }
  const std::vector<uint32_t> bits = test::formatTestInputs();
  const size_t n = bits.size();
  float *dx;
  uint16_t *dOurs, *dCuda;
  uint32_t *dDec;
  CHECK_CUDA(cudaMalloc(&dx, n * 4));
  CHECK_CUDA(cudaMalloc(&dOurs, n * 12));
  CHECK_CUDA(cudaMalloc(&dCuda, n * 12));
  CHECK_CUDA(cudaMalloc(&dDec, (131072 + 512) * 4));
  CHECK_CUDA(cudaMemcpy(dx, bits.data(), n * 4, cudaMemcpyHostToDevice));
  convert<<<1024, 256>>>(dx, n, dOurs, dCuda);
  decode<<<256, 256>>>(dDec);
  CHECK_CUDA(cudaGetLastError());
  std::vector<uint16_t> ours(n * 6), cuda(n * 6);
  std::vector<uint32_t> dec(131072 + 512);
  CHECK_CUDA(cudaMemcpy(ours.data(), dOurs, n * 12, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(cuda.data(), dCuda, n * 12, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(dec.data(), dDec, dec.size() * 4, cudaMemcpyDeviceToHost));
  const char *names[6] = {"f16", "bf16", "e4m3 sat", "e4m3 nosat", "e5m2 sat", "e5m2 nosat"};
  size_t bad[6] = {}, badHost[6] = {};
  for (size_t i = 0; i < n; ++i) {
    const float x = bitsToFloat(bits[i]);
    const uint16_t host[6] = {floatToHalf(x),           floatToBFloat16(x),      floatToE4M3FN(x, true),
                              floatToE4M3FN(x, false),  floatToE5M2(x, true),    floatToE5M2(x, false)};
    for (int k = 0; k < 6; ++k) {
      const uint16_t o = ours[6 * i + k], c = cuda[6 * i + k];
      if (!same(k, o, c) && bad[k]++ < 3)
        std::printf("MISMATCH %s x=%g (0x%08x): ours(device) 0x%x cuda(device) 0x%x\n", names[k], x, bits[i], o, c);
      if (o != host[k] && badHost[k]++ < 3)
        std::printf("MISMATCH %s x=%g: device 0x%x host 0x%x\n", names[k], x, o, host[k]);
    }
  }
  size_t badDec = 0;
  for (uint32_t e = 0; e < 65536; ++e) {
    badDec += dec[e] != floatBits(halfToFloat(e));
    badDec += dec[65536 + e] != floatBits(bfloat16ToFloat(e));
  }
  for (uint32_t e = 0; e < 256; ++e) {
    badDec += dec[131072 + e] != floatBits(e4m3fnToFloat(e));
    badDec += dec[131328 + e] != floatBits(e5m2ToFloat(e));
  }
  size_t total = badDec;
  for (int k = 0; k < 6; ++k) {
    std::printf("%-11s device-vs-cuda mismatches %zu, device-vs-host %zu (of %zu)\n", names[k], bad[k], badHost[k], n);
    total += bad[k] + badHost[k];
  }
  std::printf("decode device-vs-host mismatches %zu\n", badDec);
  cudaFree(dx);
  cudaFree(dOurs);
  cudaFree(dCuda);
  cudaFree(dDec);
  return total == 0 ? 0 : 1;
}
