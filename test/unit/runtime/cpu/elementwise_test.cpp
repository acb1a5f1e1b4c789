// Unary and binary elementwise kernels against double-precision references.
#include <functional>

#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

struct UnaryCase {
  const char *op;
  std::function<double(double)> ref;
  double lo, hi;
  std::vector<Attr> attrs;
};

const double kSpecials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1.0, -1.0};

std::vector<UnaryCase> unaryCases() {
  return {
      {"neg", [](double x) { return -x; }, -3, 3, {}},
      {"abs", [](double x) { return std::fabs(x); }, -3, 3, {}},
      {"exp", [](double x) { return std::exp(x); }, -5, 5, {}},
      {"log", [](double x) { return std::log(x); }, 0.01, 10, {}},
      {"sqrt", [](double x) { return std::sqrt(x); }, 0, 10, {}},
      {"reciprocal", [](double x) { return 1 / x; }, 0.1, 10, {}},
      {"tanh", [](double x) { return std::tanh(x); }, -4, 4, {}},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, -20, 20, {}},
      {"relu", [](double x) { return x < 0 ? 0 : x; }, -3, 3, {}},
      {"erf", [](double x) { return std::erf(x); }, -3, 3, {}},
      {"leaky_relu", [](double x) { return x < 0 ? 0.1 * x : x; }, -3, 3, {attr("alpha", 0.1)}},
      {"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -4, 4, {}},
      {"gelu",
       [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); },
       -4,
       4,
       {attr("approximate", std::string("tanh"))}},
  };
}

TEST(Elementwise, UnaryFloat) {
  for (const UnaryCase &c : unaryCases()) {
    for (DType t : floatTypes()) {
      Tensor x = randomTensor(t, {3, 1000}, 11, c.lo, c.hi);
      // Special values in the first elements (inputs outside the op's domain give NaN).
      for (size_t i = 0; i < std::size(kSpecials); ++i) x.set(i, kSpecials[i]);
      Tensor y(t, x.dims);
      ASSERT_KERNEL_OK(runKernel(c.op, {&x}, {&y}, c.attrs));
      std::vector<double> want;
      for (double v : x.values()) want.push_back(c.ref(v));
      EXPECT_TRUE(allClose(y, want, tolFor(t, 4))) << c.op << " " << dtypeName(t);
    }
  }
}

TEST(Elementwise, UnaryIntegers) {
  for (DType t : {DType::kI32, DType::kI64}) {
    Tensor x = randomInts(t, {257}, 3, -1000, 1000);
    Tensor y(t, x.dims);
    ASSERT_KERNEL_OK(runKernel("neg", {&x}, {&y}));
    std::vector<double> want;
    for (double v : x.values()) want.push_back(-v);
    EXPECT_TRUE(allClose(y, want, tolFor(t)));
    ASSERT_KERNEL_OK(runKernel("abs", {&x}, {&y}));
    want.clear();
    for (double v : x.values()) want.push_back(std::fabs(v));
    EXPECT_TRUE(allClose(y, want, tolFor(t)));
  }
}

TEST(Elementwise, Not) {
  Tensor x = fromValues(DType::kBool, {4}, {0, 1, 1, 0});
  Tensor y(DType::kBool, {4});
  ASSERT_KERNEL_OK(runKernel("not", {&x}, {&y}));
  EXPECT_EQ(y.values(), (std::vector<double>{1, 0, 0, 1}));
}

TEST(Elementwise, InPlaceAliasing) {
  // The memory planner may give the output the input's buffer.
  for (DType t : floatTypes()) {
    Tensor x = randomTensor(t, {100000}, 5);
    const std::vector<double> before = x.values();
    TensorView v = x.view();
    KernelCall call;
    call.op = "exp";
    call.location = "inplace";
    call.inputs = &v;
    call.numInputs = 1;
    call.outputs = &v;
    call.numOutputs = 1;
    Attrs attrs;
    call.attrs = &attrs;
    call.pool = testPool();
    const KernelEntry *e = cpuRegistry().lookup("exp", Device::kCPU, {t, t});
    ASSERT_NE(e, nullptr);
    ASSERT_KERNEL_OK(e->fn(call));
    std::vector<double> want;
    for (double b : before) want.push_back(std::exp(b));
    EXPECT_TRUE(allClose(x, want, tolFor(t, 4)));
  }
}

TEST(Elementwise, Errors) {
  Tensor x(DType::kF32, {4}), y(DType::kF32, {5});
  const Status st = runKernel("relu", {&x}, {&y});
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("test_node"), std::string::npos) << st.message();
  Tensor yi(DType::kF32, {4});
  EXPECT_FALSE(runKernel("gelu", {&x}, {&yi}, {attr("approximate", std::string("fast"))}).isOk());
  EXPECT_FALSE(runKernel("leaky_relu", {&x}, {&yi}, {attr("alpha", std::string("x"))}).isOk());
}

// ---- binary ----

struct BinaryCase {
  const char *op;
  std::function<double(double, double)> ref;
  bool floatOnly;
};

std::vector<BinaryCase> arithCases() {
  return {{"add", [](double a, double b) { return a + b; }, false},
          {"sub", [](double a, double b) { return a - b; }, false},
          {"mul", [](double a, double b) { return a * b; }, false},
          {"div", [](double a, double b) { return a / b; }, true},
          {"max", [](double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }, false},
          {"min", [](double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }, false}};
}

const std::vector<std::pair<Dims, Dims>> &broadcastShapes() {
  static const std::vector<std::pair<Dims, Dims>> s = {{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}},
                                                       {{2, 1, 4}, {3, 1}},    {{1}, {5, 2}},
                                                       {{3, 1, 5}, {1, 4, 1}}, {{}, {2, 2}}};
  return s;
}

Dims broadcastOf(const Dims &a, const Dims &b) {
  Dims out(std::max(a.size(), b.size()));
  for (size_t k = 0; k < out.size(); ++k) {
    const int64_t da = k + a.size() >= out.size() ? a[k + a.size() - out.size()] : 1;
    const int64_t db = k + b.size() >= out.size() ? b[k + b.size() - out.size()] : 1;
    out[k] = std::max(da, db);
  }
  return out;
}

TEST(Binary, ArithmeticBroadcast) {
  for (const BinaryCase &c : arithCases()) {
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32, DType::kI64}) {
      const bool isInt = t == DType::kI32 || t == DType::kI64;
      for (const auto &[da, db] : broadcastShapes()) {
        Tensor a = isInt ? randomInts(t, da, 1, -50, 50) : randomTensor(t, da, 1);
        Tensor b = isInt ? randomInts(t, db, 2, 1, 9) : randomTensor(t, db, 2, 0.5, 3);
        if (!isInt && a.numel() > 3) {
          a.set(0, NAN);
          a.set(1, INFINITY);
        }
        const Dims dout = broadcastOf(da, db);
        Tensor y(t, dout);
        ASSERT_KERNEL_OK(runKernel(c.op, {&a, &b}, {&y}));
        std::vector<double> want(y.numel());
        for (int64_t i = 0; i < y.numel(); ++i) {
          const Dims idx = unravel(i, dout);
          const double av = a.get(broadcastIndex(idx, da)), bv = b.get(broadcastIndex(idx, db));
          double r = c.ref(av, bv);
          if (isInt && std::string(c.op) == "div") r = std::trunc(r);
          want[i] = r;
        }
        EXPECT_TRUE(allClose(y, want, tolFor(t, 2))) << c.op << " " << dtypeName(t) << " a=" << da.size();
      }
    }
  }
}

TEST(Binary, IntegerDivisionTruncatesAndRejectsZero) {
  Tensor a = fromValues(DType::kI32, {4}, {7, -7, 7, -7});
  Tensor b = fromValues(DType::kI32, {4}, {2, 2, -2, -2});
  Tensor y(DType::kI32, {4});
  ASSERT_KERNEL_OK(runKernel("div", {&a, &b}, {&y}));
  EXPECT_EQ(y.values(), (std::vector<double>{3, -3, -3, 3}));
  Tensor z = fromValues(DType::kI32, {4}, {1, 0, 1, 1});
  EXPECT_FALSE(runKernel("div", {&a, &z}, {&y}).isOk());
}

TEST(Binary, PowMixedExponentTypes) {
  for (DType tb : floatTypes())
    for (DType te : floatTypes()) {
      Tensor a = randomTensor(tb, {3, 4}, 7, 0.1, 3);
      Tensor b = randomTensor(te, {4}, 8, -2, 2);
      Tensor y(tb, {3, 4});
      ASSERT_KERNEL_OK(runKernel("pow", {&a, &b}, {&y}));
      std::vector<double> want(12);
      for (int64_t i = 0; i < 12; ++i) {
        // The exponent is used at the base's compute precision.
        double e = b.get(i % 4);
        if (tb != DType::kF64) e = static_cast<float>(e);
        want[i] = std::pow(a.get(i), e);
      }
      EXPECT_TRUE(allClose(y, want, tolFor(tb, 8))) << dtypeName(tb) << "^" << dtypeName(te);
    }
}

TEST(Binary, Comparisons) {
  const std::vector<std::pair<const char *, std::function<bool(double, double)>>> ops = {
      {"equal", [](double a, double b) { return a == b; }},
      {"less", [](double a, double b) { return a < b; }},
      {"less_equal", [](double a, double b) { return a <= b; }},
      {"greater", [](double a, double b) { return a > b; }},
      {"greater_equal", [](double a, double b) { return a >= b; }}};
  for (const auto &[op, ref] : ops)
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32, DType::kI64}) {
      Tensor a = randomInts(t, {2, 5}, 3, -2, 2);
      Tensor b = randomInts(t, {5}, 4, -2, 2);
      if (t == DType::kF32) a.set(0, NAN);
      Tensor y(DType::kBool, {2, 5});
      ASSERT_KERNEL_OK(runKernel(op, {&a, &b}, {&y}));
      std::vector<double> want(10);
      for (int i = 0; i < 10; ++i) want[i] = ref(a.get(i), b.get(i % 5));
      EXPECT_TRUE(allClose(y, want, tolFor(DType::kBool))) << op << " " << dtypeName(t);
    }
}

TEST(Binary, LogicAndWhere) {
  Tensor a = fromValues(DType::kBool, {2, 2}, {0, 1, 0, 1});
  Tensor b = fromValues(DType::kBool, {2, 1}, {0, 1});
  Tensor y(DType::kBool, {2, 2});
  ASSERT_KERNEL_OK(runKernel("and", {&a, &b}, {&y}));
  EXPECT_EQ(y.values(), (std::vector<double>{0, 0, 0, 1}));
  ASSERT_KERNEL_OK(runKernel("or", {&a, &b}, {&y}));
  EXPECT_EQ(y.values(), (std::vector<double>{0, 1, 1, 1}));
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32, DType::kI64, DType::kBool}) {
    Tensor cond = fromValues(DType::kBool, {2, 1, 3}, {1, 0, 1, 0, 0, 1});
    Tensor x = randomInts(t, {4, 1}, 5, 0, 1);
    Tensor z = randomInts(t, {3}, 6, 0, 1);
    if (t != DType::kBool) {
      x = randomTensor(t, {4, 1}, 5);
      z = randomTensor(t, {3}, 6);
    }
    Tensor out(t, {2, 4, 3});
    ASSERT_KERNEL_OK(runKernel("where", {&cond, &x, &z}, {&out}));
    std::vector<double> want(out.numel());
    for (int64_t i = 0; i < out.numel(); ++i) {
      const Dims idx = unravel(i, out.dims);
      want[i] = cond.get(broadcastIndex(idx, cond.dims)) ? x.get(broadcastIndex(idx, x.dims))
                                                         : z.get(broadcastIndex(idx, z.dims));
    }
    EXPECT_TRUE(allClose(out, want, {0, 0})) << dtypeName(t);
  }
}

TEST(Binary, ShapeErrors) {
  Tensor a(DType::kF32, {2, 3}), b(DType::kF32, {4}), y(DType::kF32, {2, 3});
  const Status st = runKernel("add", {&a, &b}, {&y});
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("test_node"), std::string::npos);
  Tensor b2(DType::kF32, {3}), wrongOut(DType::kF32, {2, 2, 3});
  EXPECT_FALSE(runKernel("add", {&a, &b2}, {&wrongOut}).isOk());
}

} // namespace
} // namespace mpc::rt::test
