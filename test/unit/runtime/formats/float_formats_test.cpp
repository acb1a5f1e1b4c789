// Float-format conversions against an independent oracle: each format's
// finite values are enumerated by decoding every encoding (itself checked
// against a field-by-field formula), and rounding picks the nearest value by
// binary search, ties to the even encoding. Exhaustive over all 2^16 / 2^8
// encodings and over the shared input set (format_inputs.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/float_formats.h"
#include "format_inputs.h"

namespace mpc::rt::test {
namespace {

struct Format {
  const char *name;
  int bits, expBits, mantBits, bias;
  bool hasInf; // IEEE-style all-ones exponent = inf/NaN; else only the all-ones encoding is NaN
  float (*decode)(uint32_t);
  uint32_t (*encode)(float, bool saturate);
};

uint32_t encHalf(float f, bool) { return floatToHalf(f); }
uint32_t encBF16(float f, bool) { return floatToBFloat16(f); }
uint32_t encE4M3(float f, bool sat) { return floatToE4M3FN(f, sat); }
uint32_t encE5M2(float f, bool sat) { return floatToE5M2(f, sat); }

const Format kFormats[] = {
    {"f16", 16, 5, 10, 15, true, decodeHalf, encHalf},
    {"bf16", 16, 8, 7, 127, true, decodeBF16, encBF16},
    {"f8E4M3FN", 8, 4, 3, 7, false, decodeE4M3, encE4M3},
    {"f8E5M2", 8, 5, 2, 15, true, decodeE5M2, encE5M2},
};

// Field-by-field decode in double.
double formulaDecode(const Format &f, uint32_t enc) {
  const uint32_t sign = (enc >> (f.bits - 1)) & 1;
  const uint32_t e = (enc >> f.mantBits) & ((1u << f.expBits) - 1);
  const uint32_t m = enc & ((1u << f.mantBits) - 1);
  const uint32_t eMax = (1u << f.expBits) - 1;
  double v;
  if (f.hasInf && e == eMax)
    v = m == 0 ? INFINITY : NAN;
  else if (!f.hasInf && e == eMax && m == (1u << f.mantBits) - 1)
    v = NAN;
  else if (e == 0)
    v = std::ldexp(static_cast<double>(m), 1 - f.bias - f.mantBits);
  else
    v = std::ldexp(1.0 + std::ldexp(static_cast<double>(m), -f.mantBits), static_cast<int>(e) - f.bias);
  return sign ? -v : v;
}

struct Oracle {
  const Format &fmt;
  std::vector<double> values; // finite non-negative values; index == encoding
  explicit Oracle(const Format &f) : fmt(f), values(finiteValues(f.bits, f.decode)) {}

  bool isNaNEnc(uint32_t enc) const { return std::isnan(fmt.decode(enc)); }

  // Expected encoding of x (double), or UINT32_MAX for "some NaN".
  uint32_t round(double x, bool saturate) const {
    if (std::isnan(x)) return UINT32_MAX;
    const uint32_t sign = std::signbit(x) ? 1u << (fmt.bits - 1) : 0;
    const double a = std::fabs(x);
    const uint32_t maxEnc = static_cast<uint32_t>(values.size() - 1);
    const uint32_t overflow = saturate ? maxEnc : (fmt.hasInf ? maxEnc + 1 : UINT32_MAX);
    const double maxV = values.back(), ulp = maxV - values[values.size() - 2];
    if (a > maxV) {
      const double half = maxV + ulp / 2;
      const bool toMax = a < half || (a == half && (maxEnc & 1) == 0);
      const uint32_t enc = toMax ? maxEnc : overflow;
      return enc == UINT32_MAX ? enc : sign | enc;
    }
    const auto it = std::lower_bound(values.begin(), values.end(), a);
    uint32_t hi = static_cast<uint32_t>(it - values.begin());
    if (values[hi] == a || hi == 0) return sign | hi;
    const uint32_t lo = hi - 1;
    const double dLo = a - values[lo], dHi = values[hi] - a;
    const uint32_t enc = dLo < dHi ? lo : dHi < dLo ? hi : ((lo & 1) == 0 ? lo : hi);
    return sign | enc;
  }
};

TEST(FloatFormats, DecodeEveryEncodingMatchesFormula) {
  for (const Format &f : kFormats) {
    for (uint32_t e = 0; e < (1u << f.bits); ++e) {
      const double want = formulaDecode(f, e);
      const float got = f.decode(e);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << f.name << " encoding 0x" << std::hex << e;
      } else {
        ASSERT_EQ(static_cast<double>(got), want) << f.name << " encoding 0x" << std::hex << e;
        ASSERT_EQ(std::signbit(got), std::signbit(want)) << f.name << " encoding 0x" << std::hex << e;
      }
    }
  }
}

TEST(FloatFormats, RoundTripEveryEncoding) {
  for (const Format &f : kFormats) {
    for (bool sat : {false, true}) {
      for (uint32_t e = 0; e < (1u << f.bits); ++e) {
        const float v = f.decode(e);
        const uint32_t back = f.encode(v, sat);
        if (std::isnan(v)) {
          EXPECT_TRUE(std::isnan(f.decode(back))) << f.name;
        } else if (std::isinf(v) && sat && f.bits == 8) {
          EXPECT_EQ(std::fabs(f.decode(back)), 57344.0f) << f.name; // E5M2 inf saturates
        } else {
          ASSERT_EQ(back, e) << f.name << " sat=" << sat << " encoding 0x" << std::hex << e;
        }
      }
    }
  }
}

TEST(FloatFormats, DesignFacts) {
  EXPECT_EQ(e4m3fnToFloat(0x7E), 448.0f);
  EXPECT_TRUE(std::isnan(e4m3fnToFloat(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3fnToFloat(0xFF)));
  EXPECT_EQ(e4m3fnToFloat(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(e5m2ToFloat(0x7B), 57344.0f);
  EXPECT_TRUE(std::isinf(e5m2ToFloat(0x7C)));
  EXPECT_EQ(e5m2ToFloat(0x01), std::ldexp(1.0f, -16));
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  // Saturation and its absence.
  EXPECT_EQ(floatToE4M3FN(1e9f, true), 0x7E);
  EXPECT_EQ(floatToE4M3FN(-INFINITY, true), 0xFE);
  EXPECT_EQ(floatToE4M3FN(1e9f, false) & 0x7F, 0x7F);
  EXPECT_EQ(floatToE4M3FN(INFINITY, false) & 0x7F, 0x7F);
  EXPECT_EQ(floatToE4M3FN(464.0f, false), 0x7E); // tie between 448 and 480 -> even (448)
  EXPECT_EQ(floatToE5M2(1e9f, true), 0x7B);
  EXPECT_EQ(floatToE5M2(1e9f, false), 0x7C);
  EXPECT_EQ(floatToE5M2(-INFINITY, false), 0xFC);
  EXPECT_EQ(floatToE5M2(61440.0f, false), 0x7C); // tie between 57344 and 65536 -> even (inf)
  EXPECT_EQ(floatToE5M2(61440.0f, true), 0x7B);
  EXPECT_EQ(floatToE5M2(NAN, true) & 0x7F, 0x7E);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00);              // tie above 65504 -> inf
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000); // half the min subnormal -> 0 (even)
  EXPECT_EQ(floatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(floatToBFloat16(1.00390625f), 0x3F80); // tie 1 + 2^-8 -> 1 (even)
  EXPECT_EQ(floatToBFloat16(1.01171875f), 0x3F82); // tie 1 + 3*2^-8 -> even
}

TEST(FloatFormats, RoundingMatchesOracleOnInputSet) {
  const std::vector<uint32_t> inputs = formatTestInputs(1u << 20);
  for (const Format &f : kFormats) {
    const Oracle oracle(f);
    for (bool sat : {false, true}) {
      if (f.bits == 16 && sat) continue; // FP16/BF16 have no saturating mode
      int failures = 0;
      for (uint32_t bits : inputs) {
        const float x = bitsToFloat(bits);
        const uint32_t want = oracle.round(x, sat);
        const uint32_t got = f.encode(x, sat);
        const bool ok = want == UINT32_MAX ? oracle.isNaNEnc(got) : got == want;
        if (!ok && ++failures <= 5)
          ADD_FAILURE() << f.name << " sat=" << sat << " x=" << x << " (0x" << std::hex << bits << ") got 0x" << got
                        << " want 0x" << want;
      }
      EXPECT_EQ(failures, 0) << f.name << " sat=" << sat;
    }
  }
}

TEST(FloatFormats, DoubleSourcesRoundOnce) {
  // f64 -> format through round-to-odd FP32 must equal direct rounding of the double.
  std::mt19937_64 rng(7);
  std::vector<double> xs;
  for (const Format &f : kFormats) {
    const std::vector<double> v = finiteValues(f.bits, f.decode);
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      const double mid = (v[i] + v[i + 1]) / 2;
      xs.push_back(mid);
      xs.push_back(std::nextafter(mid, 0.0)); // a hair below the tie: FP32 RNE would round onto it
      xs.push_back(std::nextafter(mid, 1e300));
    }
  }
  for (int i = 0; i < 200000; ++i) {
    const uint64_t b = (rng() & 0x800FFFFFFFFFFFFFull) | (static_cast<uint64_t>(896 + rng() % 256) << 52);
    double d;
    std::memcpy(&d, &b, sizeof(d));
    xs.push_back(d);
  }
  for (const Format &f : kFormats) {
    const Oracle oracle(f);
    int failures = 0;
    for (double x : xs) {
      for (bool sat : {false, true}) {
        if (f.bits == 16 && sat) continue;
        const uint32_t want = oracle.round(x, sat);
        const uint32_t got = f.encode(doubleToFloatRoundToOdd(x), sat);
        const bool ok = want == UINT32_MAX ? oracle.isNaNEnc(got) : got == want;
        if (!ok && ++failures <= 5)
          ADD_FAILURE() << f.name << " x=" << x << " got 0x" << std::hex << got << " want 0x" << want;
      }
    }
    EXPECT_EQ(failures, 0) << f.name;
  }
}

double tf32Oracle(float x) {
  if (std::isnan(x) || std::isinf(x) || x == 0) return x;
  int e;
  std::frexp(static_cast<double>(x), &e); // |x| in [2^(e-1), 2^e)
  const int unitExp = std::max(e - 1, -126) - 10;
  const double q = std::nearbyint(std::ldexp(static_cast<double>(x), -unitExp)); // RNE (default mode)
  const double r = std::ldexp(q, unitExp);
  return std::fabs(r) >= std::ldexp(1.0, 128) ? std::copysign(INFINITY, r) : r;
}

TEST(FloatFormats, TF32MatchesOracle) {
  int failures = 0;
  for (uint32_t bits : formatTestInputs(1u << 20)) {
    const float x = bitsToFloat(bits);
    const float got = roundToTF32(x);
    const double want = tf32Oracle(x);
    const bool ok = std::isnan(want) ? std::isnan(got)
                                     : (static_cast<double>(got) == want && std::signbit(got) == std::signbit(want));
    if (!ok && ++failures <= 5) ADD_FAILURE() << "x=" << x << " got " << got << " want " << want;
    if (!std::isnan(got)) EXPECT_EQ(floatBits(got) & 0x1FFFu, 0u);
  }
  EXPECT_EQ(failures, 0);
}

} // namespace
} // namespace mpc::rt::test
