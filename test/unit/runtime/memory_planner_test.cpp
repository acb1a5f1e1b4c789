// Properties of the static memory planner.
#include <random>

#include "core/memory_planner.h"
#include "test_util.h"

namespace mpc::rt::test {
namespace {

// No two tensors whose live ranges intersect may overlap in the arena, unless
// one was planned in place on the other (they share one buffer by design).
void expectNoLiveOverlap(const PlanWriter &w) {
  const auto &tensors = w.tensors();
  const MemoryPlan &mp = w.memoryPlan();
  auto planned = [&](size_t i) {
    return tensors[i].storage == Storage::kActivation || tensors[i].storage == Storage::kInput;
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!planned(i) || tensors[i].nbytes == 0) continue;
    EXPECT_EQ(tensors[i].arenaOffset % plan::kDataAlignment, 0u) << tensors[i].name;
    EXPECT_LE(tensors[i].arenaOffset + tensors[i].nbytes, mp.arenaBytes) << tensors[i].name;
    for (size_t j = 0; j < i; ++j) {
      if (!planned(j) || tensors[j].nbytes == 0) continue;
      if (mp.aliasOf[i] == mp.aliasOf[j]) continue;
      bool liveTogether = mp.firstUse[i] <= mp.lastUse[j] && mp.firstUse[j] <= mp.lastUse[i];
      bool overlap = tensors[i].arenaOffset < tensors[j].arenaOffset + tensors[j].nbytes &&
                     tensors[j].arenaOffset < tensors[i].arenaOffset + tensors[i].nbytes;
      EXPECT_FALSE(liveTogether && overlap) << tensors[i].name << " and " << tensors[j].name << " overlap";
    }
  }
}

TEST(MemoryPlanner, InPlaceTable) {
  EXPECT_TRUE(isInPlaceCapable("relu"));
  EXPECT_TRUE(isInPlaceCapable("add"));
  EXPECT_FALSE(isInPlaceCapable("matmul"));
  EXPECT_FALSE(isInPlaceCapable("transpose"));
  EXPECT_FALSE(isInPlaceCapable("softmax"));
  EXPECT_TRUE(isInPlaceCapable("reshape"));
}

TEST(MemoryPlanner, ReshapeSharesItsInputsBuffer) {
  // softmax -> reshape -> softmax: the reshape's input dies there, so the
  // reshape writes (and its kernel copies) nothing.
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {4, 6}, Storage::kInput);
  int32_t a = w.addTensor("a", DType::kF32, {4, 6}, Storage::kActivation);
  int32_t r = w.addTensor("r", DType::kF32, {24}, Storage::kActivation);
  int32_t y = w.addTensor("y", DType::kF32, {24}, Storage::kActivation);
  w.addKernel("softmax", {x}, {a}, {{"axis", int64_t(1)}}, "s1");
  w.addKernel("reshape", {a}, {r}, {}, "flat");
  w.addKernel("softmax", {r}, {y}, {{"axis", int64_t(0)}}, "s2");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  EXPECT_EQ(w.memoryPlan().aliasOf[r], a);
  EXPECT_EQ(w.tensors()[r].arenaOffset, w.tensors()[a].arenaOffset);
  expectNoLiveOverlap(w);
}

TEST(MemoryPlanner, ChainReusesBuffersAndArenaIsSmallerThanSum) {
  // x -> matmul -> t0 -> transpose -> t1 -> matmul -> ... (no in-place ops):
  // only two or three buffers are ever live at once.
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {16, 16}, Storage::kInput);
  int32_t prev = x;
  for (int i = 0; i < 10; ++i) {
    int32_t t = w.addTensor("t" + std::to_string(i), DType::kF32, {16, 16}, Storage::kActivation);
    w.addKernel(i % 2 ? "transpose" : "softmax", {prev}, {t}, {}, "n" + std::to_string(i));
    prev = t;
  }
  w.bindInput("x", x);
  w.bindOutput("y", prev);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  const MemoryPlan &mp = w.memoryPlan();
  EXPECT_EQ(mp.numInPlace, 0);
  EXPECT_EQ(mp.sumBytes, 11u * 1024);
  EXPECT_EQ(mp.arenaBytes, 3u * 1024);  // x (always live) + two alternating buffers
  expectNoLiveOverlap(w);
}

TEST(MemoryPlanner, InPlaceReuseHappensOnlyWhenLegal) {
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {8}, Storage::kInput);
  int32_t a = w.addTensor("a", DType::kF32, {8}, Storage::kActivation);
  int32_t b = w.addTensor("b", DType::kF32, {8}, Storage::kActivation);
  int32_t c = w.addTensor("c", DType::kF32, {8}, Storage::kActivation);
  int32_t d = w.addTensor("d", DType::kF32, {8}, Storage::kActivation);
  int32_t e = w.addTensor("e", DType::kF16, {8}, Storage::kActivation);
  int32_t f = w.addTensor("f", DType::kF16, {8}, Storage::kActivation);
  w.addKernel("softmax", {x}, {a}, {}, "s");  // a
  w.addKernel("relu", {x}, {b}, {}, "r");     // x is an input: never donated
  w.addKernel("relu", {a}, {c}, {}, "r2");    // a dies here: c takes a's buffer
  w.addKernel("add", {c, b}, {d}, {}, "ad");  // c or b dies here: d takes one of them
  w.addKernel("cast", {d}, {e}, {}, "ca");    // not in-place capable
  w.addKernel("neg", {e}, {f}, {}, "ng");     // f takes e's buffer
  w.bindInput("x", x);
  w.bindOutput("d", d);  // d is a graph output: stays live to the end
  w.bindOutput("f", f);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  const MemoryPlan &mp = w.memoryPlan();
  EXPECT_EQ(mp.numInPlace, 3);
  EXPECT_EQ(mp.aliasOf[b], b);
  EXPECT_EQ(mp.aliasOf[c], a);
  EXPECT_EQ(w.tensors()[c].arenaOffset, w.tensors()[a].arenaOffset);
  EXPECT_EQ(mp.aliasOf[d], a);  // the first input that dies, c, which is a's buffer
  EXPECT_EQ(mp.aliasOf[e], e);
  EXPECT_EQ(mp.aliasOf[f], e);
  EXPECT_NE(w.tensors()[x].arenaOffset, w.tensors()[b].arenaOffset);
  EXPECT_LT(mp.arenaBytes, mp.sumBytes);
  expectNoLiveOverlap(w);
}

TEST(MemoryPlanner, PerOperandInPlaceForGradientOps) {
  EXPECT_EQ(inPlaceOperandPairs("unscale_and_check", 4, 6), 3);
  EXPECT_EQ(inPlaceOperandPairs("clip_grad_norm", 3, 2), 2);
  EXPECT_EQ(inPlaceOperandPairs("accumulate_grad", 3, 1), 1);
  EXPECT_EQ(inPlaceOperandPairs("adam_update", 6, 3), 0);
  EXPECT_EQ(inPlaceOperandPairs("add", 2, 1), 0);

  // g0 f32 dies at the unscale: u0 takes it. g1 is f16: u1 (f32) cannot.
  // g2 is read again later: u2 cannot. g3 is passed twice: never donated.
  // The clip's outputs take the unscaled gradients' buffers; the
  // accumulation writes into its accumulator's.
  PlanWriter w;
  const DType f32 = DType::kF32;
  int32_t x = w.addTensor("x", f32, {16}, Storage::kInput);
  int32_t g0 = w.addTensor("g0", f32, {16}, Storage::kActivation);
  int32_t g1 = w.addTensor("g1", DType::kF16, {16}, Storage::kActivation);
  int32_t g2 = w.addTensor("g2", f32, {16}, Storage::kActivation);
  int32_t g3 = w.addTensor("g3", f32, {4}, Storage::kActivation);
  int32_t scale = w.addTensor("scale", f32, {}, Storage::kState);
  int32_t u0 = w.addTensor("u0", f32, {16}, Storage::kActivation);
  int32_t u1 = w.addTensor("u1", f32, {16}, Storage::kActivation);
  int32_t u2 = w.addTensor("u2", f32, {16}, Storage::kActivation);
  int32_t u3 = w.addTensor("u3", f32, {4}, Storage::kActivation);
  int32_t u3b = w.addTensor("u3b", f32, {4}, Storage::kActivation);
  int32_t found = w.addTensor("found_inf", f32, {}, Storage::kActivation);
  int32_t index = w.addTensor("nonfinite_index", DType::kI64, {}, Storage::kActivation);
  int32_t norm = w.addTensor("grad_norm", f32, {}, Storage::kActivation);
  int32_t c0 = w.addTensor("c0", f32, {16}, Storage::kActivation);
  int32_t c1 = w.addTensor("c1", f32, {16}, Storage::kActivation);
  int32_t y = w.addTensor("y", f32, {16}, Storage::kActivation);
  int32_t step = w.addTensor("micro_step", DType::kI64, {}, Storage::kState);
  int32_t acc = w.addTensor("acc", f32, {16}, Storage::kActivation);
  int32_t acc2 = w.addTensor("acc2", f32, {16}, Storage::kActivation);
  w.addKernel("relu", {x}, {g0}, {}, "a");
  w.addKernel("cast", {x}, {g1}, {}, "b");
  w.addKernel("neg", {x}, {g2}, {}, "c");
  w.addKernel("slice", {x}, {g3}, {}, "d");
  w.addKernel("unscale_and_check", {g0, g1, g2, g3, g3, scale}, {u0, u1, u2, u3, u3b, found, index, norm}, {}, "unscale");
  w.addKernel("clip_grad_norm", {u0, u1, norm}, {c0, c1}, {{"max_norm", 1.0}}, "clip");
  w.addKernel("add", {c0, g2}, {y}, {}, "use_g2");
  w.addKernel("exp", {x}, {acc}, {}, "acc0");
  w.addKernel("accumulate_grad", {acc, c1, step}, {acc2}, {{"steps", int64_t(2)}}, "accumulate");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  w.bindOutput("acc2", acc2);
  w.bindOutput("u2", u2);
  w.bindOutput("u3", u3);
  w.bindOutput("u3b", u3b);
  w.bindOutput("found_inf", found);
  w.bindOutput("nonfinite_index", index);
  std::vector<uint8_t> bytes;
  Status st = w.writeToBuffer(&bytes);
  ASSERT_TRUE(st.isOk()) << st.message();
  const MemoryPlan &mp = w.memoryPlan();
  EXPECT_EQ(mp.aliasOf[u0], g0);
  EXPECT_EQ(mp.aliasOf[u1], u1);   // dtype differs
  EXPECT_EQ(mp.aliasOf[u2], u2);   // g2 still needed
  EXPECT_EQ(mp.aliasOf[u3], u3);   // g3 passed twice
  EXPECT_EQ(mp.aliasOf[u3b], u3b);
  EXPECT_EQ(mp.aliasOf[c0], g0);   // through u0
  EXPECT_EQ(mp.aliasOf[c1], u1);
  EXPECT_EQ(mp.aliasOf[acc2], acc);
  EXPECT_EQ(mp.aliasOf[found], found);
  EXPECT_EQ(w.tensors()[c0].arenaOffset, w.tensors()[g0].arenaOffset);
  EXPECT_EQ(w.tensors()[acc2].arenaOffset, w.tensors()[acc].arenaOffset);
  expectNoLiveOverlap(w);
}

TEST(MemoryPlanner, OutputsMayBeInputsConstantsOrState) {
  PlanWriter w;
  float one = 1;
  int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
  int32_t c = w.addTensor("c", DType::kF32, {1}, Storage::kConstant, &one);
  int32_t s = w.addTensor("s", DType::kF32, {1}, Storage::kState);
  w.bindInput("x", x);
  w.bindOutput("x", x);
  w.bindOutput("c", c);
  w.bindOutput("s", s);
  std::vector<uint8_t> bytes;
  Status st = w.writeToBuffer(&bytes);
  ASSERT_TRUE(st.isOk()) << st.message();
  std::shared_ptr<const Plan> plan;
  st = Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan);
  ASSERT_TRUE(st.isOk()) << st.message();
  EXPECT_EQ(plan->outputs().size(), 3u);
  EXPECT_TRUE(plan->kernels().empty());
}

TEST(MemoryPlanner, RandomGraphsNeverOverlap) {
  // Random DAGs of elementwise and other ops with a few sizes and dtypes.
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    PlanWriter w;
    std::vector<int32_t> values;
    int32_t x = w.addTensor("x", DType::kF32, {32}, Storage::kInput);
    w.bindInput("x", x);
    values.push_back(x);
    const char *ops[] = {"relu", "add", "matmul", "neg", "softmax", "mul"};
    const int64_t sizes[] = {32, 32, 64, 16};
    for (int k = 0; k < 30; ++k) {
      std::string op = ops[rng() % 6];
      int32_t a = values[rng() % values.size()];
      int32_t b = values[rng() % values.size()];
      int64_t n = sizes[rng() % 4];
      if (op == "relu" || op == "neg" || op == "add" || op == "mul") n = w.tensors()[a].dims[0];
      int32_t t = w.addTensor("t" + std::to_string(k), DType::kF32, {n}, Storage::kActivation);
      std::vector<int32_t> ins = {a};
      if (op == "add" || op == "mul" || op == "matmul") ins.push_back(b);
      w.addKernel(op, ins, {t}, {}, "k" + std::to_string(k));
      values.push_back(t);
    }
    w.bindOutput("out", values.back());
    w.bindOutput("mid", values[values.size() / 2]);
    std::vector<uint8_t> bytes;
    Status s = w.writeToBuffer(&bytes);
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_LE(w.memoryPlan().arenaBytes, w.memoryPlan().sumBytes);
    expectNoLiveOverlap(w);
    std::shared_ptr<const Plan> plan;
    s = Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan);
    ASSERT_TRUE(s.isOk()) << "seed " << seed << ": " << s.message();
  }
}

// What the writer rejects, each with a message naming the culprit.
struct BadCase {
  const char *name;
  void (*build)(PlanWriter &);
  const char *mustMention;
};

const BadCase kBadCases[] = {
    {"id out of range",
     [](PlanWriter &w) {
       int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
       int32_t y = w.addTensor("y", DType::kF32, {1}, Storage::kActivation);
       w.addKernel("relu", {x + 7}, {y}, {}, "R");
       w.bindInput("x", x);
     },
     "out of range"},
    {"use before definition",
     [](PlanWriter &w) {
       int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
       int32_t a = w.addTensor("a", DType::kF32, {1}, Storage::kActivation);
       int32_t b = w.addTensor("b", DType::kF32, {1}, Storage::kActivation);
       w.addKernel("relu", {a}, {b}, {}, "First");
       w.addKernel("relu", {x}, {a}, {}, "Second");
       w.bindInput("x", x);
     },
     "'a'"},
    {"activation written twice",
     [](PlanWriter &w) {
       int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
       int32_t a = w.addTensor("a", DType::kF32, {1}, Storage::kActivation);
       w.addKernel("relu", {x}, {a}, {}, "One");
       w.addKernel("neg", {x}, {a}, {}, "Two");
       w.bindInput("x", x);
     },
     "Two"},
    {"writes a constant",
     [](PlanWriter &w) {
       float v = 0;
       int32_t c = w.addTensor("c", DType::kF32, {1}, Storage::kConstant, &v);
       int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
       w.addKernel("relu", {x}, {c}, {}, "R");
       w.bindInput("x", x);
     },
     "'c'"},
    {"negative dim",
     [](PlanWriter &w) { w.addTensor("neg", DType::kF32, {2, -1}, Storage::kActivation); }, "'neg'"},
    {"size overflow",
     [](PlanWriter &w) { w.addTensor("huge", DType::kF64, {1 << 30, 1 << 30, 1 << 30}, Storage::kActivation); },
     "'huge'"},
    {"rank too large",
     [](PlanWriter &w) { w.addTensor("r9", DType::kF32, {1, 1, 1, 1, 1, 1, 1, 1, 1}, Storage::kActivation); },
     "'r9'"},
    {"invalid dtype", [](PlanWriter &w) { w.addTensor("bad", static_cast<DType>(42), {1}, Storage::kActivation); },
     "'bad'"},
    {"constant without data", [](PlanWriter &w) { w.addTensor("k", DType::kF32, {1}, Storage::kConstant); }, "'k'"},
    {"unbound input", [](PlanWriter &w) { w.addTensor("lonely", DType::kF32, {1}, Storage::kInput); }, "'lonely'"},
    {"binding an activation as input",
     [](PlanWriter &w) {
       int32_t a = w.addTensor("a", DType::kF32, {1}, Storage::kActivation);
       w.bindInput("a", a);
     },
     "'a'"},
    {"duplicate output name",
     [](PlanWriter &w) {
       int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
       w.bindInput("x", x);
       w.bindOutput("o", x);
       w.bindOutput("o", x);
     },
     "'o'"},
    {"undefined output",
     [](PlanWriter &w) {
       int32_t a = w.addTensor("a", DType::kF32, {1}, Storage::kActivation);
       w.bindOutput("out", a);
     },
     "'out'"},
    {"duplicate attribute",
     [](PlanWriter &w) {
       int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
       int32_t y = w.addTensor("y", DType::kF32, {1}, Storage::kActivation);
       w.addKernel("leaky_relu", {x}, {y}, {{"alpha", 0.1}, {"alpha", 0.2}}, "LR");
       w.bindInput("x", x);
     },
     "'alpha'"},
};

TEST(PlanWriterValidation, RejectsBadGraphsWithClearMessages) {
  for (const BadCase &c : kBadCases) {
    PlanWriter w;
    c.build(w);
    std::vector<uint8_t> bytes;
    Status s = w.writeToBuffer(&bytes);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.mustMention), std::string::npos) << c.name << ": " << s.message();
  }
}

}  // namespace
}  // namespace mpc::rt::test
