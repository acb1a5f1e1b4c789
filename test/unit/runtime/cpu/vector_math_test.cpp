// The vectorised FP32 exp and erf of the CPU backend (cpu/elementwise_math.h):
// error against the correctly rounded result over a dense sweep of all floats
// and at the special values; the kernels (exp, erf, gelu, fused_elementwise,
// softmax) computing with them.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "cpu/elementwise_math.h"
#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

using ArrayFn = void (*)(const float *, float *, int64_t);

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Position of a float on the number line of floats (-0 and +0 both 0), so
// that the difference of two positions counts the floats between them.
int64_t ordinal(float f) {
  const uint32_t u = bitsOf(f);
  return (u & 0x80000000u) ? -static_cast<int64_t>(u & 0x7fffffffu) : static_cast<int64_t>(u);
}

// The spacing of floats at the magnitude of the (correctly rounded) result r.
double ulpAt(float r) {
  const float a = std::fabs(r);
  if (a < std::numeric_limits<float>::min()) return std::ldexp(1.0, -149);
  int e;
  std::frexp(a, &e);
  return std::ldexp(1.0, e - 24);
}

struct Sweep {
  int64_t checked = 0; // every point, NaN and infinite results included
  int64_t points = 0;  // finite results
  double maxUlp = 0;    // |y - exact| / ulp, exact from double precision
  int64_t maxSteps = 0; // floats between y and the correctly rounded result
  float worstX = 0;
  int64_t nanMismatch = 0, infMismatch = 0;
};

// Every `stride`-th bit pattern of the 2^32 floats (both signs, subnormals,
// infinities and NaNs included), through the array function.
Sweep sweep(ArrayFn fn, double (*exact)(double), uint32_t stride) {
  Sweep s;
  constexpr int64_t kChunk = 1 << 16;
  std::vector<float> x(kChunk), y(kChunk);
  for (uint64_t base = 0; base < (uint64_t(1) << 32);) {
    int64_t n = 0;
    for (; n < kChunk && base < (uint64_t(1) << 32); ++n, base += stride) x[n] = fromBits(static_cast<uint32_t>(base));
    fn(x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double ref = exact(static_cast<double>(x[i]));
      const float rounded = static_cast<float>(ref);
      ++s.checked;
      if (std::isnan(ref)) {
        s.nanMismatch += !std::isnan(y[i]);
        continue;
      }
      if (std::isinf(rounded) || std::isinf(y[i])) {
        s.infMismatch += y[i] != rounded;
        continue;
      }
      ++s.points;
      const double err = std::fabs(static_cast<double>(y[i]) - ref) / ulpAt(rounded);
      const int64_t steps = std::llabs(ordinal(y[i]) - ordinal(rounded));
      if (err > s.maxUlp) {
        s.maxUlp = err;
        s.worstX = x[i];
      }
      s.maxSteps = std::max(s.maxSteps, steps);
    }
  }
  return s;
}

double exactExp(double x) { return std::exp(x); }
double exactErf(double x) { return std::erf(x); }

TEST(VectorMath, ExpWithinTwoUlpOverAllFloats) {
  const Sweep s = sweep(cpu::math::expArray, exactExp, 397); // 1.08e7 points
  EXPECT_GE(s.checked, 10000000);
  EXPECT_EQ(s.nanMismatch, 0);
  EXPECT_EQ(s.infMismatch, 0);
  EXPECT_LE(s.maxSteps, 2);
  EXPECT_LE(s.maxUlp, 2.0) << "at x = " << s.worstX;
  std::printf("exp: %lld finite points, max error %.3f ulp (at %a), max %lld float(s) from the correctly rounded\n",
              static_cast<long long>(s.points), s.maxUlp, s.worstX, static_cast<long long>(s.maxSteps));
}

TEST(VectorMath, ErfWithinTwoUlpOverAllFloats) {
  const Sweep s = sweep(cpu::math::erfArray, exactErf, 397);
  EXPECT_GE(s.checked, 10000000);
  EXPECT_EQ(s.nanMismatch, 0);
  EXPECT_EQ(s.infMismatch, 0);
  EXPECT_LE(s.maxSteps, 2);
  EXPECT_LE(s.maxUlp, 2.0) << "at x = " << s.worstX;
  std::printf("erf: %lld finite points, max error %.3f ulp (at %a), max %lld float(s) from the correctly rounded\n",
              static_cast<long long>(s.points), s.maxUlp, s.worstX, static_cast<long long>(s.maxSteps));
}

// Dense where the approximations change form or the result leaves the normal
// range: every float in a window around each boundary.
TEST(VectorMath, DenseAroundBoundaries) {
  struct Window {
    ArrayFn fn;
    double (*exact)(double);
    float center;
  };
  const Window windows[] = {
      {cpu::math::expArray, exactExp, 88.7228394f},   // overflow threshold
      {cpu::math::expArray, exactExp, -87.3365479f},  // result leaves the normal range
      {cpu::math::expArray, exactExp, -103.972076f},  // result rounds to 0 below
      {cpu::math::expArray, exactExp, 0.34657359f},   // n changes (ln2 / 2)
      {cpu::math::expArray, exactExp, 0.0f},
      {cpu::math::erfArray, exactErf, 1.0f},          // branch switch
      {cpu::math::erfArray, exactErf, -1.0f},
      {cpu::math::erfArray, exactErf, 3.93f},         // clamp
      {cpu::math::erfArray, exactErf, 0.0f},
  };
  constexpr int64_t kHalf = 1 << 16;
  for (const Window &w : windows) {
    std::vector<float> x, y(2 * kHalf);
    const int64_t c = ordinal(w.center);
    for (int64_t k = c - kHalf; k < c + kHalf; ++k)
      x.push_back(k < 0 ? fromBits(static_cast<uint32_t>(-k) | 0x80000000u) : fromBits(static_cast<uint32_t>(k)));
    w.fn(x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = w.exact(x[i]);
      const float rounded = static_cast<float>(ref);
      if (std::isinf(rounded)) {
        EXPECT_EQ(y[i], rounded) << "x = " << x[i];
        continue;
      }
      ASSERT_LE(std::fabs(static_cast<double>(y[i]) - ref) / ulpAt(rounded), 2.0) << "x = " << std::hexfloat << x[i];
    }
  }
}

TEST(VectorMath, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float denorm = std::numeric_limits<float>::denorm_min();
  const float in[] = {0.0f, -0.0f, inf, -inf, nan, -nan, denorm, -denorm, 1e-40f, -1e-40f, 88.72283f, 88.72284f,
                      -103.9f, -104.0f, -1e30f, 1e30f, 3.92f, 3.95f, -3.95f, 10.0f, -10.0f};
  constexpr int kN = sizeof(in) / sizeof(in[0]);
  float e[kN], r[kN];
  cpu::math::expArray(in, e, kN);
  cpu::math::erfArray(in, r, kN);
  // exp
  EXPECT_EQ(bitsOf(e[0]), bitsOf(1.0f));
  EXPECT_EQ(bitsOf(e[1]), bitsOf(1.0f));
  EXPECT_EQ(e[2], inf);
  EXPECT_EQ(bitsOf(e[3]), bitsOf(0.0f));
  EXPECT_TRUE(std::isnan(e[4]));
  EXPECT_TRUE(std::isnan(e[5]));
  for (int i = 6; i < 10; ++i) EXPECT_EQ(e[i], 1.0f) << in[i];
  EXPECT_EQ(e[10], static_cast<float>(std::exp(static_cast<double>(in[10])))); // the largest finite result
  EXPECT_TRUE(std::isfinite(e[10]));
  EXPECT_EQ(e[11], inf);
  EXPECT_EQ(e[12], static_cast<float>(std::exp(static_cast<double>(-103.9f)))); // a subnormal
  EXPECT_GT(e[12], 0.0f);
  EXPECT_EQ(bitsOf(e[13]), bitsOf(0.0f));
  EXPECT_EQ(bitsOf(e[14]), bitsOf(0.0f));
  EXPECT_EQ(e[15], inf);
  // erf: odd, signed zeros kept, +-1 at the ends, tiny arguments scaled by 2/sqrt(pi)
  EXPECT_EQ(bitsOf(r[0]), bitsOf(0.0f));
  EXPECT_EQ(bitsOf(r[1]), bitsOf(-0.0f));
  EXPECT_EQ(r[2], 1.0f);
  EXPECT_EQ(r[3], -1.0f);
  EXPECT_TRUE(std::isnan(r[4]));
  EXPECT_TRUE(std::isnan(r[5]));
  for (int i = 6; i < 10; ++i)
    EXPECT_EQ(r[i], static_cast<float>(std::erf(static_cast<double>(in[i])))) << std::hexfloat << in[i];
  EXPECT_EQ(r[14], -1.0f);
  EXPECT_EQ(r[15], 1.0f);
  for (int i = 17; i < kN; ++i) EXPECT_EQ(std::fabs(r[i]), 1.0f) << in[i];
  EXPECT_EQ(r[18], -1.0f);
}

// The kernels give the array functions' bits: exp and erf (unfused and fused)
// and gelu, whatever the thread partitioning.
TEST(VectorMath, KernelsUseTheSameFunctions) {
  Tensor x = randomTensor(DType::kF32, {3, 40001}, 7, -12, 12);
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 90.0f, -110.0f, 1e-42f};
  for (int i = 0; i < 8; ++i) std::memcpy(x.bytes.data() + 4 * (i * 997), &specials[i], 4);
  const int64_t n = x.numel();
  const float *xp = reinterpret_cast<const float *>(x.bytes.data());
  struct Case {
    const char *op;
    ArrayFn fn;
    int64_t opcode;
  };
  for (const Case &c : {Case{"exp", cpu::math::expArray, 2}, Case{"erf", cpu::math::erfArray, 9},
                        Case{"gelu", cpu::math::geluErfArray, 11}}) {
    std::vector<float> want(n);
    c.fn(xp, want.data(), n);
    Tensor y(DType::kF32, x.dims);
    ASSERT_KERNEL_OK(runKernel(c.op, {&x}, {&y}));
    EXPECT_EQ(std::memcmp(y.bytes.data(), want.data(), n * 4), 0) << c.op;
    // The same op alone in a fused program (neg twice first: exact).
    Tensor f(DType::kF32, x.dims);
    const std::vector<Attr> program = {attr("ops", Ints{0, 0, c.opcode}), attr("args", Ints{0, -1, -1, 1, -1, -1, 2, -1, -1}),
                                       attr("dtypes", Ints{1, 1, 1}), attr("alpha", std::vector<double>{0, 0, 0})};
    ASSERT_KERNEL_OK(runKernel("fused_elementwise", {&x}, {&f}, program));
    EXPECT_EQ(std::memcmp(f.bytes.data(), want.data(), n * 4), 0) << "fused " << c.op;
  }
}

// Softmax rows of FP32 (the vectorised path) against double precision: row
// lengths around the lane count, and the NaN / -inf rows.
TEST(VectorMath, SoftmaxRows) {
  for (int64_t len : {1, 7, 8, 9, 31, 128, 1000}) {
    Tensor x = randomTensor(DType::kF32, {5, len}, static_cast<uint32_t>(len), -30, 30);
    Tensor y(DType::kF32, {5, len});
    ASSERT_KERNEL_OK(runKernel("softmax", {&x}, {&y}, {attr("axis", int64_t(1))}));
    for (int64_t r = 0; r < 5; ++r) {
      double m = -INFINITY, sum = 0;
      for (int64_t i = 0; i < len; ++i) m = std::max(m, x.get(r * len + i));
      for (int64_t i = 0; i < len; ++i) sum += std::exp(x.get(r * len + i) - m);
      for (int64_t i = 0; i < len; ++i) {
        const double want = std::exp(x.get(r * len + i) - m) / sum;
        // FP32 rounds x - max (|x - max| ulps of absolute error, which exp
        // turns into relative error) and the sum.
        const double tol = (std::fabs(x.get(r * len + i) - m) * 6e-8 + 1e-6) * want;
        EXPECT_NEAR(y.get(r * len + i), want, tol) << "len " << len << " row " << r << " i " << i;
      }
    }
  }
  Tensor x = fromValues(DType::kF32, {3, 9},
                        {1, 2, 3, NAN, 5, 6, 7, 8, 9, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                         -INFINITY, -INFINITY, -INFINITY, 0, INFINITY, 0, 0, 0, 0, 0, 0, 0});
  Tensor y(DType::kF32, {3, 9});
  ASSERT_KERNEL_OK(runKernel("softmax", {&x}, {&y}, {attr("axis", int64_t(1))}));
  for (int64_t i = 0; i < 27; ++i) EXPECT_TRUE(std::isnan(y.get(i))) << i; // as the ONNX reference
}

} // namespace
} // namespace mpc::rt::test
