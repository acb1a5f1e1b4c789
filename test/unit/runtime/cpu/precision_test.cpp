// cast, quantize, dequantize, amax and dropout. Float-to-float references use
// runtime/core/float_formats.h, which test/unit/runtime/formats checks
// bit for bit against ml_dtypes and the CUDA toolkit.
#include <limits>

#include "cpu/dropout.h"
#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

const DType kAll[] = {DType::kF32,    DType::kF16,  DType::kBF16, DType::kF64, DType::kF8E4M3FN,
                      DType::kF8E5M2, DType::kBool, DType::kI8,   DType::kI32, DType::kI64};

bool isFloatType(DType t) { return isFloat(t); }

// The expected bit pattern of value v (exact double) in dtype d, as a double
// read back through Tensor::get, or NaN.
double expectedCast(double v, DType from, DType to, bool saturate) {
  if (to == DType::kBool) return v != 0 ? 1 : 0; // NaN != 0: true
  if (!isFloatType(to)) {
    if (isFloatType(from)) {
      if (std::isnan(v)) return 0;
      const double t = std::trunc(v);
      const double lo = to == DType::kI8 ? -128 : to == DType::kI32 ? -2147483648.0 : -9223372036854775808.0;
      const double hi = -lo;
      if (t >= hi) return to == DType::kI64 ? 9223372036854775807.0 : hi - 1;
      if (t < lo) return lo;
      return t;
    }
    // int -> int: wrap to the target width.
    const int64_t x = static_cast<int64_t>(v);
    if (to == DType::kI8) return static_cast<int8_t>(static_cast<uint8_t>(x & 0xFF));
    if (to == DType::kI32) return static_cast<int32_t>(static_cast<uint32_t>(x & 0xFFFFFFFF));
    return static_cast<double>(x);
  }
  switch (to) {
  case DType::kF64: return v;
  case DType::kF32: return static_cast<float>(v);
  case DType::kF16: return halfToFloat(floatToHalf(doubleToFloatRoundToOdd(v)));
  case DType::kBF16: return bfloat16ToFloat(floatToBFloat16(doubleToFloatRoundToOdd(v)));
  case DType::kF8E4M3FN: return e4m3fnToFloat(floatToE4M3FN(doubleToFloatRoundToOdd(v), saturate));
  case DType::kF8E5M2: return e5m2ToFloat(floatToE5M2(doubleToFloatRoundToOdd(v), saturate));
  default: return NAN;
  }
}

std::vector<double> castInputs(DType from) {
  std::vector<double> v = {0,     1,     -1,  2.5, -2.5, 3.75,  100,   -129, 127.9, 300,     1e5,     -7e4,
                           65504, 65520, 448, 464, 500,  57344, 61440, 1e-8, -3e-5, 1234567, -40000.5};
  if (from == DType::kBool) return {0, 1, 1, 0};
  if (isFloat(from)) {
    v.insert(v.end(), {NAN, INFINITY, -INFINITY, -0.0, 3e9, -3e9, 1e19, -1e19});
  } else {
    v = {0, 1, -1, 5, -128, 127, 255, -200, 70000, -3000000};
    if (from == DType::kI64) v.insert(v.end(), {5e9, -5e9, 1e15});
  }
  return v;
}

TEST(Cast, EveryDTypePair) {
  for (DType from : kAll)
    for (DType to : kAll)
      for (bool sat : {true, false}) {
        // Inputs are first stored in `from` (so they are exact source values).
        Tensor x(from, {static_cast<int64_t>(castInputs(from).size())});
        const std::vector<double> raw = castInputs(from);
        for (size_t i = 0; i < raw.size(); ++i) {
          if (from == DType::kI8)
            x.set(i, static_cast<double>(static_cast<int8_t>(static_cast<int64_t>(raw[i]) & 0xFF)));
          else if (from == DType::kI32)
            x.set(i, static_cast<double>(static_cast<int32_t>(static_cast<int64_t>(raw[i]))));
          else
            x.set(i, raw[i]);
        }
        Tensor y(to, x.dims);
        std::vector<Attr> attrs;
        if (!sat) attrs.push_back(attr("saturate", int64_t(0)));
        ASSERT_KERNEL_OK(runKernel("cast", {&x}, {&y}, attrs));
        std::vector<double> want;
        for (int64_t i = 0; i < x.numel(); ++i) want.push_back(expectedCast(x.get(i), from, to, sat));
        EXPECT_TRUE(allClose(y, want, {0, 0})) << dtypeName(from) << " -> " << dtypeName(to) << " sat " << sat;
      }
}

TEST(Cast, F64ToLowPrecisionRoundsOnce) {
  // 1 + 2^-11 + 2^-40 is just above the FP16 tie 1 + 2^-11: it must round up,
  // while rounding through FP32 first (to the tie) would round down to even.
  Tensor x = fromValues(DType::kF64, {1}, {1 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)});
  Tensor y(DType::kF16, {1});
  ASSERT_KERNEL_OK(runKernel("cast", {&x}, {&y}));
  EXPECT_EQ(y.get(0), 1 + std::ldexp(1.0, -10));
}

TEST(Quantize, SaturatingScaledCastAndBack) {
  for (DType t : floatTypes())
    for (DType q : {DType::kF8E4M3FN, DType::kF8E5M2}) {
      Tensor x = randomTensor(t, {1000}, 111, -300, 300);
      x.set(0, NAN);
      x.set(1, INFINITY);
      x.set(2, -1e6);
      Tensor scale = fromValues(DType::kF32, {}, {3.5});
      Tensor y(q, x.dims);
      ASSERT_KERNEL_OK(runKernel("quantize", {&x, &scale}, {&y}));
      std::vector<double> want;
      for (double v : x.values()) {
        const float p = static_cast<float>(v) * 3.5f; // FP32 multiply
        want.push_back(q == DType::kF8E4M3FN ? e4m3fnToFloat(floatToE4M3FN(p, true))
                                             : e5m2ToFloat(floatToE5M2(p, true)));
      }
      EXPECT_TRUE(allClose(y, want, {0, 0})) << dtypeName(t) << " -> " << dtypeName(q);
      Tensor scaleInv = fromValues(DType::kF32, {1}, {1 / 3.5});
      Tensor back(t, x.dims);
      ASSERT_KERNEL_OK(runKernel("dequantize", {&y, &scaleInv}, {&back}));
      std::vector<double> wantBack;
      const float si = static_cast<float>(1 / 3.5);
      for (double v : y.values()) wantBack.push_back(expectedCast(static_cast<float>(v) * si, DType::kF32, t, true));
      EXPECT_TRUE(allClose(back, wantBack, {0, 0})) << dtypeName(q) << " -> " << dtypeName(t);
    }
  Tensor x(DType::kF32, {4}), badScale(DType::kF32, {2}), y(DType::kF8E4M3FN, {4});
  EXPECT_FALSE(runKernel("quantize", {&x, &badScale}, {&y}).isOk());
}

TEST(Amax, MaxAbsAndNaN) {
  for (DType t : floatTypes()) {
    Tensor x = randomTensor(t, {70000}, 121, -5, 5); // several chunks of the parallel loop
    x.set(54321, -17.25);
    Tensor y(DType::kF32, {});
    ASSERT_KERNEL_OK(runKernel("amax", {&x}, {&y}));
    EXPECT_EQ(y.get(0), 17.25) << dtypeName(t);
    x.set(69999, NAN);
    ASSERT_KERNEL_OK(runKernel("amax", {&x}, {&y}));
    EXPECT_TRUE(std::isnan(y.get(0))) << dtypeName(t);
  }
}

TEST(Dropout, PhiloxKnownAnswers) {
  // Known-answer vectors of Random123's philox4x32_10.
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat &k : kats) {
    uint32_t out[4];
    cpu::philox4x32_10(k.ctr, k.key, out);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], k.out[i]) << i;
  }
}

TEST(Dropout, MaskScaleAndStream) {
  for (DType t : floatTypes()) {
    Tensor x = randomTensor(t, {40000}, 131);
    Tensor y(t, x.dims), mask(DType::kBool, x.dims);
    const double ratio = 0.3;
    ASSERT_KERNEL_OK(runKernel("dropout", {&x}, {&y, &mask}, {attr("ratio", ratio), attr("seed", int64_t(1234))}));
    int64_t kept = 0;
    std::vector<double> want;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const bool keep = cpu::dropoutUniform(1234, i) >= static_cast<float>(ratio);
      ASSERT_EQ(mask.get(i), keep ? 1 : 0) << i;
      kept += keep;
      want.push_back(keep ? x.get(i) / (1 - static_cast<float>(ratio)) : 0);
    }
    EXPECT_TRUE(allClose(y, want, tolFor(t, 2))) << dtypeName(t);
    EXPECT_NEAR(static_cast<double>(kept) / x.numel(), 0.7, 0.01);
    // Another seed gives another mask.
    Tensor mask2(DType::kBool, x.dims);
    ASSERT_KERNEL_OK(runKernel("dropout", {&x}, {&y, &mask2}, {attr("ratio", ratio), attr("seed", int64_t(99))}));
    EXPECT_NE(mask.bytes, mask2.bytes);
  }
  Tensor x = randomTensor(DType::kF32, {100}, 1), y(DType::kF32, {100}), mask(DType::kBool, {100});
  ASSERT_KERNEL_OK(runKernel("dropout", {&x}, {&y, &mask}, {attr("ratio", 1.0), attr("seed", int64_t(1))}));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(y.get(i), 0);
  ASSERT_KERNEL_OK(runKernel("dropout", {&x}, {&y, &mask}, {attr("ratio", 0.0), attr("seed", int64_t(1))}));
  EXPECT_EQ(y.values(), x.values());
  EXPECT_FALSE(runKernel("dropout", {&x}, {&y, &mask}, {attr("ratio", 1.5)}).isOk());
}

} // namespace
} // namespace mpc::rt::test
