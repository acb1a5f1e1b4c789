// Bit-for-bit agreement with the CUDA toolkit's host-side conversions
// (cuda_fp16.h, cuda_bf16.h, cuda_fp8.h, compiled by the host compiler) on the
// shared input set and on every encoding. NaN results are compared as "is NaN"
// (payloads differ between implementations and carry no meaning here).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/float_formats.h"
#include "format_inputs.h"

namespace mpc::rt::test {
namespace {

uint16_t bitsOf(__half h) {
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
uint16_t bitsOf(__nv_bfloat16 h) {
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
__half halfFrom(uint16_t b) {
  __half_raw r;
  r.x = b;
  return __half(r);
}
__nv_bfloat16 bf16From(uint16_t b) {
  __nv_bfloat16_raw r;
  r.x = b;
  return __nv_bfloat16(r);
}

// Compares two encodings of `bits`-wide format decoded by `decode`.
template <typename Decode> bool same(uint32_t got, uint32_t want, Decode decode) {
  if (std::isnan(decode(want))) return std::isnan(decode(got));
  return got == want;
}

class CudaFormats : public ::testing::Test {
protected:
  static void SetUpTestSuite() { inputs_ = new std::vector<uint32_t>(formatTestInputs()); }
  static void TearDownTestSuite() { delete inputs_; }
  static std::vector<uint32_t> *inputs_;
};
std::vector<uint32_t> *CudaFormats::inputs_ = nullptr;

#define EXPECT_ALL(name, expr_got, expr_want, decode)                                                                  \
  do {                                                                                                                 \
    int failures = 0;                                                                                                  \
    for (uint32_t bits : *inputs_) {                                                                                   \
      const float x = bitsToFloat(bits);                                                                               \
      const uint32_t got = (expr_got), want = (expr_want);                                                             \
      if (!same(got, want, decode) && ++failures <= 5)                                                                 \
        ADD_FAILURE() << name << " x=" << x << " (0x" << std::hex << bits << ") mpc 0x" << got << " cuda 0x" << want;  \
    }                                                                                                                  \
    EXPECT_EQ(failures, 0) << name;                                                                                    \
  } while (0)

TEST_F(CudaFormats, Half) { EXPECT_ALL("f16", floatToHalf(x), bitsOf(__float2half_rn(x)), halfToFloat); }

TEST_F(CudaFormats, BFloat16) {
  EXPECT_ALL("bf16", floatToBFloat16(x), bitsOf(__float2bfloat16_rn(x)), bfloat16ToFloat);
}

TEST_F(CudaFormats, Fp8) {
  EXPECT_ALL("e4m3 satfinite", floatToE4M3FN(x, true), __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3),
             e4m3fnToFloat);
  EXPECT_ALL("e4m3 nosat", floatToE4M3FN(x, false), __nv_cvt_float_to_fp8(x, __NV_NOSAT, __NV_E4M3), e4m3fnToFloat);
  EXPECT_ALL("e5m2 satfinite", floatToE5M2(x, true), __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E5M2), e5m2ToFloat);
  EXPECT_ALL("e5m2 nosat", floatToE5M2(x, false), __nv_cvt_float_to_fp8(x, __NV_NOSAT, __NV_E5M2), e5m2ToFloat);
}

bool sameFloat(float a, float b) {
  if (std::isnan(b)) return std::isnan(a);
  return floatBits(a) == floatBits(b);
}

TEST_F(CudaFormats, DecodeEveryEncoding) {
  for (uint32_t e = 0; e < 65536; ++e) {
    ASSERT_TRUE(sameFloat(halfToFloat(e), __half2float(halfFrom(e)))) << "f16 0x" << std::hex << e;
    ASSERT_TRUE(sameFloat(bfloat16ToFloat(e), __bfloat162float(bf16From(e)))) << "bf16 0x" << std::hex << e;
  }
  for (uint32_t e = 0; e < 256; ++e) {
    const __nv_fp8_storage_t s = static_cast<__nv_fp8_storage_t>(e);
    const float e4 = __half2float(__half(__nv_cvt_fp8_to_halfraw(s, __NV_E4M3)));
    const float e5 = __half2float(__half(__nv_cvt_fp8_to_halfraw(s, __NV_E5M2)));
    ASSERT_TRUE(sameFloat(e4m3fnToFloat(e), e4)) << "e4m3 0x" << std::hex << e;
    ASSERT_TRUE(sameFloat(e5m2ToFloat(e), e5)) << "e5m2 0x" << std::hex << e;
  }
}

} // namespace
} // namespace mpc::rt::test
