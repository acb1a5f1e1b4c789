// fused_elementwise against the same ops run one by one through the registry:
// the outputs must be identical byte for byte (f32, bf16, f16, f64, mixed
// casts, broadcasting operands, a condition, an output aliasing an input),
// and the load-time check must reject malformed programs naming the node.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/fused_program.h"
#include "kernel_test_util.h"

namespace mpc::rt::test {
namespace {

using fused::Opcode;

struct Step {
  Opcode op;
  std::vector<int64_t> args; // slots
  DType dtype;
  double alpha = 0;
};

Dims broadcastDims(const std::vector<const Dims *> &shapes) {
  size_t rank = 0;
  for (const Dims *d : shapes)
    rank = std::max(rank, d->size());
  Dims out(rank, 1);
  for (const Dims *d : shapes)
    for (size_t i = 0; i < d->size(); ++i) {
      const size_t o = rank - d->size() + i;
      if ((*d)[i] != 1)
        out[o] = (*d)[i];
    }
  return out;
}

// Runs the steps one kernel each; returns the last result.
Tensor runUnfused(std::vector<Tensor> inputs, const std::vector<Step> &steps) {
  std::vector<Tensor> slots = std::move(inputs);
  slots.reserve(slots.size() + steps.size());
  for (const Step &s : steps) {
    std::vector<Tensor *> in;
    std::vector<const Dims *> shapes;
    for (int64_t a : s.args) {
      in.push_back(&slots[a]);
      shapes.push_back(&slots[a].dims);
    }
    Tensor out(s.dtype, broadcastDims(shapes));
    std::vector<Attr> attrs;
    if (s.op == Opcode::kLeakyRelu)
      attrs.push_back(attr("alpha", s.alpha));
    if (s.op == Opcode::kGelu)
      attrs.push_back(attr("approximate", std::string(s.alpha != 0 ? "tanh" : "none")));
    const std::string name(fused::kOpcodeNames[static_cast<int>(s.op)]);
    const Status st = runKernel(name, in, {&out}, attrs);
    EXPECT_TRUE(st.isOk()) << name << ": " << st.message();
    slots.push_back(std::move(out));
  }
  return slots.back();
}

std::vector<Attr> programAttrs(const std::vector<Step> &steps) {
  Ints ops, args, dtypes;
  std::vector<double> alpha;
  for (const Step &s : steps) {
    ops.push_back(static_cast<int64_t>(s.op));
    for (int a = 0; a < fused::kMaxArgs; ++a)
      args.push_back(a < static_cast<int>(s.args.size()) ? s.args[a] : -1);
    dtypes.push_back(static_cast<int64_t>(s.dtype));
    alpha.push_back(s.alpha);
  }
  return {attr("ops", ops), attr("args", args), attr("dtypes", dtypes), attr("alpha", alpha)};
}

Status runFused(std::vector<Tensor> &inputs, const std::vector<Step> &steps, Tensor &out) {
  std::vector<Tensor *> in;
  for (Tensor &t : inputs)
    in.push_back(&t);
  return runKernel("fused_elementwise", in, {&out}, programAttrs(steps));
}

::testing::AssertionResult sameBytes(const Tensor &a, const Tensor &b) {
  if (a.dtype != b.dtype || a.dims != b.dims)
    return ::testing::AssertionFailure() << "dtype or shape differ";
  const size_t size = dtypeSize(a.dtype);
  int bad = 0;
  std::string msg;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (std::memcmp(a.bytes.data() + i * size, b.bytes.data() + i * size, size) != 0 && ++bad <= 5)
      msg +=
          "\n  [" + std::to_string(i) + "] fused " + std::to_string(a.get(i)) + " unfused " + std::to_string(b.get(i));
  if (bad)
    return ::testing::AssertionFailure() << bad << " of " << a.numel() << " elements differ:" << msg;
  return ::testing::AssertionSuccess();
}

void expectBitExact(std::vector<Tensor> inputs, const std::vector<Step> &steps) {
  const Tensor want = runUnfused(inputs, steps);
  Tensor got(want.dtype, want.dims);
  ASSERT_KERNEL_OK(runFused(inputs, steps, got));
  EXPECT_TRUE(sameBytes(got, want));
}

// Every unary op, then binary ops against a row vector and a scalar, in one dtype.
std::vector<Step> everyOp(DType t) {
  // slots: 0 x [R, C], 1 row [C], 2 scalar [], 3 positive [R, C]
  std::vector<Step> s = {
      {Opcode::kAdd, {0, 1}, t},         // 4
      {Opcode::kGelu, {4}, t, 0},        // 5 erf gelu
      {Opcode::kGelu, {5}, t, 1},        // 6 tanh gelu
      {Opcode::kMul, {6, 2}, t},         // 7
      {Opcode::kTanh, {7}, t},           // 8
      {Opcode::kSigmoid, {8}, t},        // 9
      {Opcode::kLeakyRelu, {4}, t, 0.1}, // 10
      {Opcode::kSub, {9, 10}, t},        // 11
      {Opcode::kErf, {11}, t},           // 12
      {Opcode::kAbs, {12}, t},           // 13
      {Opcode::kSqrt, {13}, t},          // 14
      {Opcode::kLog, {3}, t},            // 15
      {Opcode::kExp, {15}, t},           // 16
      {Opcode::kReciprocal, {16}, t},    // 17
      {Opcode::kDiv, {14, 17}, t},       // 18
      {Opcode::kMax, {18, 1}, t},        // 19
      {Opcode::kMin, {19, 2}, t},        // 20
      {Opcode::kNeg, {20}, t},           // 21
      {Opcode::kRelu, {21}, t},          // 22
      {Opcode::kPow, {3, 22}, t},        // 23
      {Opcode::kAdd, {23, 11}, t},       // 24
  };
  return s;
}

std::vector<Tensor> everyOpInputs(DType t, Dims dims, uint32_t seed) {
  Dims row = {dims.back()};
  return {randomTensor(t, dims, seed), randomTensor(t, row, seed + 1), randomTensor(t, {}, seed + 2, 0.5, 1.5),
          randomTensor(t, dims, seed + 3, 0.1, 3)};
}

TEST(FusedElementwise, EveryOpF32) { expectBitExact(everyOpInputs(DType::kF32, {37, 1201}, 1), everyOp(DType::kF32)); }
TEST(FusedElementwise, EveryOpBF16) {
  expectBitExact(everyOpInputs(DType::kBF16, {37, 1201}, 2), everyOp(DType::kBF16));
}
TEST(FusedElementwise, EveryOpF16) { expectBitExact(everyOpInputs(DType::kF16, {37, 1201}, 3), everyOp(DType::kF16)); }
TEST(FusedElementwise, EveryOpF64) { expectBitExact(everyOpInputs(DType::kF64, {5, 301}, 4), everyOp(DType::kF64)); }
// Small and odd sizes: one partial block, a 0-d output.
TEST(FusedElementwise, SmallShapes) {
  expectBitExact(everyOpInputs(DType::kBF16, {3, 7}, 5), everyOp(DType::kBF16));
  expectBitExact({randomTensor(DType::kF32, {}, 6), randomTensor(DType::kF32, {}, 7)},
                 {{Opcode::kMul, {0, 1}, DType::kF32}, {Opcode::kExp, {2}, DType::kF32}});
}

// Casts between every pair of f32/f16/bf16/f64 inside one chain, with values
// that need rounding at each narrowing step, and pow with a wider exponent.
TEST(FusedElementwise, MixedCasts) {
  const DType F32 = DType::kF32, F16 = DType::kF16, BF16 = DType::kBF16, F64 = DType::kF64;
  std::vector<Tensor> in = {randomTensor(BF16, {64, 300}, 11, -4, 4), randomTensor(F64, {300}, 12, -3, 3),
                            randomTensor(F32, {64, 1}, 13, 0.5, 2)};
  std::vector<Step> steps = {
      {Opcode::kCast, {0}, F32},      // 3 bf16 -> f32
      {Opcode::kExp, {3}, F32},       // 4
      {Opcode::kCast, {1}, F32},      // 5 f64 -> f32 (row)
      {Opcode::kMul, {4, 5}, F32},    // 6
      {Opcode::kCast, {6}, F16},      // 7 f32 -> f16
      {Opcode::kTanh, {7}, F16},      // 8
      {Opcode::kCast, {8}, F64},      // 9 f16 -> f64
      {Opcode::kCast, {1}, F64},      // 10 f64 -> f64
      {Opcode::kAdd, {9, 10}, F64},   // 11
      {Opcode::kSigmoid, {11}, F64},  // 12
      {Opcode::kCast, {12}, BF16},    // 13 f64 -> bf16 (round to odd first)
      {Opcode::kCast, {12}, F16},     // 14 f64 -> f16
      {Opcode::kCast, {14}, BF16},    // 15 f16 -> bf16
      {Opcode::kSub, {13, 15}, BF16}, // 16
      {Opcode::kPow, {16, 2}, BF16},  // 17 bf16 base, f32 exponent (column)
      {Opcode::kCast, {17}, F32},     // 18
      {Opcode::kPow, {18, 1}, F32},   // 19 f32 base, f64 exponent
      {Opcode::kCast, {19}, BF16},    // 20
  };
  expectBitExact(in, steps);
  // f64 base with an f32 exponent.
  expectBitExact({randomTensor(F64, {40, 50}, 14, 0.1, 2), randomTensor(F32, {50}, 15, -2, 2)},
                 {{Opcode::kPow, {0, 1}, F64}, {Opcode::kLog, {2}, F64}, {Opcode::kCast, {3}, F16}});
}

// where with a broadcasting condition and operands of three shapes.
TEST(FusedElementwise, WhereBroadcast) {
  const DType BF16 = DType::kBF16;
  std::vector<Tensor> in = {randomInts(DType::kBool, {6, 1, 50}, 21, 0, 1), randomTensor(BF16, {6, 40, 50}, 22),
                            randomTensor(BF16, {40, 1}, 23)};
  expectBitExact(in, {{Opcode::kExp, {1}, BF16},
                      {Opcode::kWhere, {0, 3, 2}, BF16},
                      {Opcode::kMul, {4, 1}, BF16},
                      {Opcode::kWhere, {0, 2, 5}, BF16}});
}

// The output may be the buffer of an input of its shape (the memory planner
// runs fused kernels in place): same bytes as the out-of-place run.
TEST(FusedElementwise, OutputAliasesInput) {
  for (DType t : {DType::kF32, DType::kBF16}) {
    std::vector<Tensor> in = everyOpInputs(t, {33, 1000}, 31);
    const std::vector<Step> steps = everyOp(t);
    const Tensor want = runUnfused(in, steps);
    // Input 0 is also the output.
    std::vector<TensorView> views;
    std::vector<DType> dtypes;
    for (Tensor &x : in) {
      views.push_back(x.view());
      dtypes.push_back(x.dtype);
    }
    TensorView out = views[0];
    dtypes.push_back(t);
    const KernelEntry *e = cpuRegistry().lookup("fused_elementwise", Device::kCPU, dtypes);
    ASSERT_NE(e, nullptr);
    Attrs attrs(programAttrs(steps));
    KernelCall call;
    call.op = "fused_elementwise";
    call.location = "alias_node";
    call.inputs = views.data();
    call.numInputs = static_cast<int>(views.size());
    call.outputs = &out;
    call.numOutputs = 1;
    call.attrs = &attrs;
    call.pool = testPool();
    ASSERT_KERNEL_OK(e->check(call));
    ASSERT_KERNEL_OK(e->fn(call));
    EXPECT_TRUE(sameBytes(in[0], want));
  }
}

// Same bits with and without threads.
TEST(FusedElementwise, ThreadCountIndependent) {
  std::vector<Tensor> in = everyOpInputs(DType::kBF16, {70, 1000}, 41);
  std::vector<Tensor *> ptrs;
  for (Tensor &t : in)
    ptrs.push_back(&t);
  const std::vector<Step> steps = everyOp(DType::kBF16);
  Tensor a(DType::kBF16, {70, 1000}), b(DType::kBF16, {70, 1000});
  ASSERT_KERNEL_OK(runKernel("fused_elementwise", ptrs, {&a}, programAttrs(steps), testPool()));
  ASSERT_KERNEL_OK(runKernel("fused_elementwise", ptrs, {&b}, programAttrs(steps), nullptr));
  EXPECT_TRUE(sameBytes(a, b));
}

// Malformed programs fail the check with a message naming the node.
void expectRejected(std::vector<Tensor> in, Tensor out, std::vector<Attr> attrs, const std::string &what) {
  std::vector<Tensor *> ptrs;
  for (Tensor &t : in)
    ptrs.push_back(&t);
  const Status st = runKernel("fused_elementwise", ptrs, {&out}, std::move(attrs));
  ASSERT_FALSE(st.isOk()) << what;
  EXPECT_NE(st.message().find("test_node"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
}

TEST(FusedElementwise, RejectsBadPrograms) {
  const DType F32 = DType::kF32;
  auto in = [&] { return std::vector<Tensor>{randomTensor(F32, {4, 8}, 1), randomTensor(F32, {8}, 2)}; };
  auto prog = [](Ints ops, Ints args, Ints dtypes) {
    return std::vector<Attr>{attr("ops", ops), attr("args", args), attr("dtypes", dtypes)};
  };
  const int64_t f32 = static_cast<int64_t>(F32);
  expectRejected(in(), Tensor(F32, {4, 8}), prog({99}, {0, -1, -1}, {f32}), "unknown opcode 99");
  expectRejected(in(), Tensor(F32, {4, 8}), prog({12}, {0, 2, -1}, {f32}), "reads slot 2");
  expectRejected(in(), Tensor(F32, {4, 8}), prog({12, 2}, {0, 1, -1, 3, -1, -1}, {f32, f32}), "reads slot 3");
  expectRejected(in(), Tensor(F32, {4, 8}), prog({2}, {0, 1, -1}, {f32}), "takes 1 operands");
  expectRejected(in(), Tensor(F32, {4, 8}), prog({2}, {0, -1}, {f32}), "ops but 2 args");
  expectRejected(in(), Tensor(F32, {4, 8}), prog({2}, {0, -1, -1}, {static_cast<int64_t>(DType::kI32)}),
                 "expected f32, f16, bf16 or f64");
  expectRejected(in(), Tensor(F32, {4, 8}), prog({2}, {0, -1, -1}, {static_cast<int64_t>(DType::kBF16)}),
                 "operand 0 has dtype f32, expected bf16");
  expectRejected(in(), Tensor(DType::kBF16, {4, 8}), prog({2}, {0, -1, -1}, {f32}), "output has dtype bf16");
  expectRejected({randomTensor(F32, {4, 8}, 1), randomTensor(F32, {3}, 2)}, Tensor(F32, {4, 8}),
                 prog({12}, {0, 1, -1}, {f32}), "does not broadcast");
  expectRejected({randomTensor(F32, {4, 8}, 1), randomTensor(F32, {8}, 2), randomTensor(F32, {8}, 3)},
                 Tensor(F32, {4, 8}), prog({19}, {0, 1, 2}, {f32}), "expected bool");
  expectRejected(in(), Tensor(F32, {4, 8}), prog({}, {}, {}), "'ops' is empty");
}

} // namespace
} // namespace mpc::rt::test
