// Every CUDA kernel against the CPU kernel (the reference) on random inputs.
// Skips, naming the reason, when no CUDA device is present.
#include <limits>

#include "cuda_test_util.h"

namespace mpc::rt::test {
namespace {

const DType kLowFloats[] = {DType::kF32, DType::kF16, DType::kBF16};

Tensor like(DType t, Dims d) { return Tensor(t, std::move(d)); }

// ---- elementwise ----

TEST(CudaParity, Unary) {
  MPC_REQUIRE_CUDA();
  struct Case {
    const char *op;
    bool exactMath;  // IEEE-exact on both sides (no libm call)
  };
  const Case cases[] = {{"neg", true},  {"abs", true},     {"exp", false},     {"log", false},
                        {"sqrt", true}, {"reciprocal", true}, {"tanh", false},  {"sigmoid", false},
                        {"relu", true}, {"erf", false},    {"leaky_relu", true}, {"gelu", false}};
  for (const Case &c : cases)
    for (DType t : kLowFloats) {
      SCOPED_TRACE(std::string(c.op) + " " + name(t));
      Tensor x = randomTensor(t, {7, 33}, 1, -6, 6);
      x.set(0, NAN);
      x.set(1, INFINITY);
      x.set(2, -INFINITY);
      x.set(3, 0.0);
      const Match m = c.exactMath ? exact() : std::string(c.op) == "gelu" ? ulpsAbs(t, 4, 6) : ulps(t, 4);
      EXPECT_TRUE(cudaMatchesCpu(c.op, {x}, {like(t, {7, 33})}, {}, m));
    }
  for (DType t : kLowFloats) {
    Tensor x = randomTensor(t, {100}, 2, -4, 4);
    EXPECT_TRUE(cudaMatchesCpu("gelu", {x}, {like(t, {100})}, {attr("approximate", std::string("tanh"))}, ulpsAbs(t, 4, 4)));
    EXPECT_TRUE(cudaMatchesCpu("leaky_relu", {x}, {like(t, {100})}, {attr("alpha", 0.2)}, exact()));
  }
  for (DType t : {DType::kI32, DType::kI64}) {
    Tensor x = randomInts(t, {50}, 3, -1000, 1000);
    EXPECT_TRUE(cudaMatchesCpu("neg", {x}, {like(t, {50})}, {}, exact()));
    EXPECT_TRUE(cudaMatchesCpu("abs", {x}, {like(t, {50})}, {}, exact()));
  }
  Tensor b = randomInts(DType::kBool, {40}, 4, 0, 1);
  EXPECT_TRUE(cudaMatchesCpu("not", {b}, {like(DType::kBool, {40})}, {}, exact()));
}

TEST(CudaParity, BinaryBroadcast) {
  MPC_REQUIRE_CUDA();
  const Dims shapes[][3] = {{{4, 5}, {4, 5}, {4, 5}}, {{3, 1, 5}, {4, 5}, {3, 4, 5}}, {{1}, {2, 3}, {2, 3}},
                            {{6, 1}, {1, 7}, {6, 7}}};
  for (const auto &s : shapes)
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kI32, DType::kI64}) {
      const bool isInt = t == DType::kI32 || t == DType::kI64;
      Tensor a = isInt ? randomInts(t, s[0], 5, -50, 50) : randomTensor(t, s[0], 5);
      Tensor b = isInt ? randomInts(t, s[1], 6, -50, 50) : randomTensor(t, s[1], 6);
      if (!isInt) a.set(0, NAN);
      for (const char *op : {"add", "sub", "mul", "div", "max", "min"}) {
        if (isInt && std::string(op) == "div") continue;  // not on CUDA (data-dependent error)
        SCOPED_TRACE(std::string(op) + " " + name(t));
        EXPECT_TRUE(cudaMatchesCpu(op, {a, b}, {like(t, s[2])}, {}, exact()));
      }
      for (const char *op : {"equal", "less", "less_equal", "greater", "greater_equal"}) {
        SCOPED_TRACE(std::string(op) + " " + name(t));
        EXPECT_TRUE(cudaMatchesCpu(op, {a, b}, {like(DType::kBool, s[2])}, {}, exact()));
      }
      Tensor cond = randomInts(DType::kBool, s[1], 7, 0, 1);
      EXPECT_TRUE(cudaMatchesCpu("where", {cond, a, b}, {like(t, s[2])}, {}, exact()));
    }
  for (DType base : kLowFloats)
    for (DType e : kLowFloats) {
      SCOPED_TRACE("pow " + name(base) + " ^ " + name(e));
      Tensor a = randomTensor(base, {3, 4}, 8, 0.1, 3);
      Tensor b = randomTensor(e, {4}, 9, -2, 2);
      EXPECT_TRUE(cudaMatchesCpu("pow", {a, b}, {like(base, {3, 4})}, {}, ulps(base, 4)));
    }
  Tensor p = randomInts(DType::kBool, {3, 4}, 10, 0, 1), q = randomInts(DType::kBool, {4}, 11, 0, 1);
  for (const char *op : {"and", "or", "equal"})
    EXPECT_TRUE(cudaMatchesCpu(op, {p, q}, {like(DType::kBool, {3, 4})}, {}, exact()));
}

// ---- precision ----

TEST(CudaParity, CastEveryPair) {
  MPC_REQUIRE_CUDA();
  const DType all[] = {DType::kF32,    DType::kF16,  DType::kBF16, DType::kF64, DType::kF8E4M3FN,
                       DType::kF8E5M2, DType::kBool, DType::kI8,   DType::kI32, DType::kI64};
  for (DType s : all) {
    // Values that exercise rounding, overflow, subnormals and the specials.
    Tensor x = isFloat(s) ? randomTensor(s, {257}, 12, -70000, 70000) : randomInts(s, {257}, 12, -200, 200);
    if (isFloat(s)) {
      const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-6, -3e-8, 448.0, 500.0, 65504.0, 65520.0,
                                2.5, -3.5, 1e30};
      for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); ++i) x.set(static_cast<int64_t>(i), special[i]);
      for (int64_t i = 20; i < 120; ++i) x.set(i, x.get(i) * 1e-4);  // small magnitudes
    }
    for (DType d : all)
      for (int64_t sat : {0, 1}) {
        SCOPED_TRACE("cast " + name(s) + " -> " + name(d) + " saturate=" + std::to_string(sat));
        EXPECT_TRUE(cudaMatchesCpu("cast", {x}, {like(d, {257})}, {attr("saturate", sat)}, exact()));
      }
  }
}

TEST(CudaParity, QuantizeDequantizeAmax) {
  MPC_REQUIRE_CUDA();
  Tensor scale = fromValues(DType::kF32, {1}, {3.5});
  for (DType x : kLowFloats) {
    Tensor v = randomTensor(x, {1000}, 13, -300, 300);
    for (DType q : {DType::kF8E4M3FN, DType::kF8E5M2}) {
      SCOPED_TRACE(name(x) + " " + name(q));
      EXPECT_TRUE(cudaMatchesCpu("quantize", {v, scale}, {like(q, {1000})}, {}, exact()));
      Tensor qv = randomInts(DType::kI8, {1000}, 14, -128, 127);
      qv.dtype = q;  // arbitrary FP8 bit patterns, NaNs included
      EXPECT_TRUE(cudaMatchesCpu("dequantize", {qv, scale}, {like(x, {1000})}, {}, exact()));
    }
    EXPECT_TRUE(cudaMatchesCpu("amax", {v}, {like(DType::kF32, {1})}, {}, exact()));
    v.set(500, NAN);
    EXPECT_TRUE(cudaMatchesCpu("amax", {v}, {like(DType::kF32, {1})}, {}, exact()));
  }
}

// ---- movement ----

TEST(CudaParity, Movement) {
  MPC_REQUIRE_CUDA();
  for (DType t : {DType::kF32, DType::kF16, DType::kI64, DType::kBool, DType::kF8E4M3FN}) {
    SCOPED_TRACE(name(t));
    Tensor x = randomInts(DType::kI8, {2, 3, 4, 5}, 15, -100, 100);
    x.dtype = t;  // movement copies bytes: any pattern will do
    x.bytes.resize(x.numel() * dtypeSize(t) + 1);
    for (size_t i = 0; i < x.bytes.size(); ++i) x.bytes[i] = static_cast<uint8_t>(i * 37 + 11);
    EXPECT_TRUE(cudaMatchesCpu("reshape", {x}, {like(t, {6, 20})}, {}, exact()));
    EXPECT_TRUE(cudaMatchesCpu("copy", {x}, {like(t, {2, 3, 4, 5})}, {}, exact()));
    EXPECT_TRUE(cudaMatchesCpu("transpose", {x}, {like(t, {4, 2, 5, 3})}, {attr("perm", Ints{2, 0, 3, 1})}, exact()));
    EXPECT_TRUE(cudaMatchesCpu("slice", {x}, {like(t, {1, 3, 2, 5})},
                               {attr("starts", Ints{1, 2, 3, 0}), attr("ends", Ints{2, -1, 0, 5}),
                                attr("steps", Ints{1, -1, -2, 1})},
                               exact()));
    EXPECT_TRUE(cudaMatchesCpu("slice_grad", {randomInts(DType::kI8, {1, 3, 2, 5}, 30, -9, 9)}, {like(DType::kI8, {2, 3, 4, 5})},
                               {attr("starts", Ints{1, 2, 3, 0}), attr("ends", Ints{2, -1, 0, 5}),
                                attr("steps", Ints{1, -1, -2, 1})},
                               exact()));
    Tensor small = x;
    small.dims = {1, 3, 1, 5};
    EXPECT_TRUE(cudaMatchesCpu("expand", {small}, {like(t, {2, 3, 4, 5})}, {}, exact()));
    Tensor a = x, b = x;
    b.dims = {2, 3, 2, 5};
    EXPECT_TRUE(cudaMatchesCpu("concat", {a, b}, {like(t, {2, 3, 6, 5})}, {attr("axis", int64_t(2))}, exact()));
    EXPECT_TRUE(cudaMatchesCpu("split", {x}, {like(t, {2, 1, 4, 5}), like(t, {2, 2, 4, 5})},
                               {attr("axis", int64_t(1)), attr("sizes", Ints{1, 2})}, exact()));
  }
}

// ---- reductions and softmax ----

TEST(CudaParity, Reductions) {
  MPC_REQUIRE_CUDA();
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kI32, DType::kI64}) {
    const bool isInt = t == DType::kI32 || t == DType::kI64;
    Tensor x = isInt ? randomInts(t, {3, 4, 50}, 16, -100, 100) : randomTensor(t, {3, 4, 50}, 16);
    const Match m = isInt ? exact() : ulps(t, 1);
    for (const char *op : {"reduce_sum", "reduce_mean", "reduce_max"}) {
      SCOPED_TRACE(std::string(op) + " " + name(t));
      EXPECT_TRUE(cudaMatchesCpu(op, {x}, {like(t, {3, 1, 1})}, {attr("axes", Ints{1, 2}), attr("keepdims", int64_t(1))}, m));
      EXPECT_TRUE(cudaMatchesCpu(op, {x}, {like(t, {4})}, {attr("axes", Ints{0, 2}), attr("keepdims", int64_t(0))}, m));
    }
  }
  for (DType t : kLowFloats)
    for (int64_t axis : {0, 1, 2})
      for (const char *op : {"softmax", "log_softmax"}) {
        SCOPED_TRACE(std::string(op) + " " + name(t) + " axis " + std::to_string(axis));
        Tensor x = randomTensor(t, {5, 6, 70}, 17, -8, 8);
        EXPECT_TRUE(cudaMatchesCpu(op, {x}, {like(t, {5, 6, 70})}, {attr("axis", axis)}, ulpsAbs(t, 4, 8)));
      }
}

// ---- losses ----

TEST(CudaParity, Losses) {
  MPC_REQUIRE_CUDA();
  for (DType t : kLowFloats)
    for (DType l : {DType::kI32, DType::kI64})
      for (const char *red : {"none", "sum", "mean"})
        for (bool weighted : {false, true})
          for (bool ignore : {false, true}) {
            SCOPED_TRACE(name(t) + " " + name(l) + " " + red + (weighted ? " weighted" : "") + (ignore ? " ignore" : ""));
            const int64_t n = 6, c = 5, d = 3;
            Tensor x = randomTensor(t, {n, c, d}, 31, -4, 4);
            Tensor labels = randomInts(l, {n, d}, 32, 0, c - 1);
            Tensor w = randomTensor(t, {c}, 33, 0.1, 2);
            std::vector<Attr> attrs = {attr("reduction", std::string(red))};
            if (ignore) attrs.push_back(attr("ignore_index", int64_t(2)));
            const Dims lossDims = std::string(red) == "none" ? Dims{n, d} : Dims{};
            std::vector<Tensor> in = {x, labels};
            if (weighted) in.push_back(w);
            EXPECT_TRUE(cudaMatchesCpu("softmax_cross_entropy_loss", in, {like(t, lossDims), like(t, {n, c, d})}, attrs,
                                       ulpsAbs(t, 4, 8)));
            Tensor logp = randomTensor(t, {n, c, d}, 34, -3, 0);
            Tensor dloss = randomTensor(t, lossDims, 35, -1, 1);
            std::vector<Tensor> nllIn = {logp, labels};
            if (weighted) nllIn.push_back(w);
            EXPECT_TRUE(cudaMatchesCpu("nll_loss", nllIn, {like(t, lossDims)}, attrs, exact()));
            std::vector<Tensor> sceGradIn = nllIn;
            sceGradIn.push_back(dloss);
            EXPECT_TRUE(cudaMatchesCpu("softmax_cross_entropy_loss_grad", sceGradIn, {like(t, {n, c, d})}, attrs,
                                       ulpsAbs(t, 4, 2)));
            std::vector<Tensor> nllGradIn = {labels};
            if (weighted) nllGradIn.push_back(w);
            nllGradIn.push_back(dloss);
            EXPECT_TRUE(cudaMatchesCpu("nll_loss_grad", nllGradIn, {like(t, {n, c, d})}, attrs, exact()));
          }
}

// ---- optimizers ----

TEST(CudaParity, Optimizers) {
  MPC_REQUIRE_CUDA();
  const int64_t n = 1000;
  for (DType p : kLowFloats)
    for (DType g : kLowFloats)
      for (int skip = 0; skip < 2; ++skip)
        for (int64_t step : {0, 7}) {
          SCOPED_TRACE(name(p) + " param, " + name(g) + " grad, skip " + std::to_string(skip) + ", step " +
                       std::to_string(step));
          Tensor param = randomTensor(p, {n}, 40), grad = randomTensor(g, {n}, 41);
          Tensor m = randomTensor(DType::kF32, {n}, 42), v = randomTensor(DType::kF32, {n}, 43, 0, 1);
          Tensor lr = fromValues(DType::kF32, {}, {1e-2}), st = fromValues(DType::kI64, {}, {double(step)});
          Tensor sk = fromValues(DType::kF32, {}, {double(skip)});
          auto with = [&](std::vector<Tensor> in) {
            in.push_back(sk);
            return in;
          };
          const Match mt = ulps(p, 2);
          EXPECT_TRUE(cudaMatchesCpu("sgd_update", with({param, grad, lr}), {like(p, {n}), like(DType::kBF16, {n})},
                                     {attr("weight_decay", 0.01)}, mt));
          EXPECT_TRUE(cudaMatchesCpu("momentum_update", with({param, grad, m, st, lr}),
                                     {like(p, {n}), like(DType::kF32, {n})},
                                     {attr("momentum", 0.9), attr("nesterov", int64_t(1))}, mt));
          for (int64_t decoupled : {0, 1})
            EXPECT_TRUE(cudaMatchesCpu("adam_update", with({param, grad, m, v, st, lr}),
                                       {like(p, {n}), like(DType::kF32, {n}), like(DType::kF32, {n}), like(DType::kF16, {n})},
                                       {attr("weight_decay", 0.1), attr("decoupled", decoupled), attr("lr_scale", 0.5)},
                                       mt));
        }
}

// ---- GEMM ----

Match gemmMatch(DType t, int64_t k) {
  // FP32 accumulation in another order: error ~ k * eps relative to the largest sums.
  const double eps = t == DType::kF32 ? 1.2e-7 : t == DType::kF16 ? 9.8e-4 : 7.9e-3;
  return scaled((t == DType::kF32 ? 4.0 * k : 2.0) * eps);
}

TEST(CudaParity, Matmul) {
  MPC_REQUIRE_CUDA();
  struct Case {
    Dims a, b, y;
  };
  const Case cases[] = {{{17, 33}, {33, 9}, {17, 9}},
                        {{64, 128}, {128, 256}, {64, 256}},
                        {{4, 8, 16}, {16, 12}, {4, 8, 12}},       // b shared: batch folded into M
                        {{4, 8, 16}, {4, 16, 12}, {4, 8, 12}},    // strided batch
                        {{8, 16}, {3, 16, 5}, {3, 8, 5}},         // a shared (stride 0)
                        {{2, 1, 8, 16}, {1, 3, 16, 5}, {2, 3, 8, 5}},  // 2-D broadcast: one GEMM per batch
                        {{16}, {16, 7}, {7}},
                        {{3, 5, 16}, {16}, {3, 5}},
                        {{5, 0}, {0, 4}, {5, 4}}};
  for (DType t : kLowFloats)
    for (const Case &c : cases) {
      SCOPED_TRACE("matmul " + name(t) + " " + std::to_string(c.a.size()) + "x" + std::to_string(c.b.size()));
      Tensor a = randomTensor(t, c.a, 18), b = randomTensor(t, c.b, 19);
      EXPECT_TRUE(cudaMatchesCpu("matmul", {a, b}, {like(t, c.y)}, {}, gemmMatch(t, c.a.back())));
    }
}

TEST(CudaParity, Gemm) {
  MPC_REQUIRE_CUDA();
  for (DType t : kLowFloats)
    for (int64_t ta : {0, 1})
      for (int64_t tb : {0, 1}) {
        const int64_t m = 19, n = 24, k = 40;
        Tensor a = randomTensor(t, ta ? Dims{k, m} : Dims{m, k}, 20);
        Tensor b = randomTensor(t, tb ? Dims{n, k} : Dims{k, n}, 21);
        const std::vector<Attr> attrs = {attr("trans_a", ta), attr("trans_b", tb), attr("alpha", 0.75),
                                         attr("beta", 1.0)};
        SCOPED_TRACE("gemm " + name(t) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
        EXPECT_TRUE(cudaMatchesCpu("gemm", {a, b}, {like(t, {m, n})}, attrs, gemmMatch(t, k)));
        // Row-vector bias (the epilogue), column bias and full c with beta.
        EXPECT_TRUE(cudaMatchesCpu("gemm", {a, b, randomTensor(t, {n}, 22)}, {like(t, {m, n})}, attrs, gemmMatch(t, k)));
        EXPECT_TRUE(cudaMatchesCpu("gemm", {a, b, randomTensor(t, {m, 1}, 23)}, {like(t, {m, n})}, attrs, gemmMatch(t, k)));
        std::vector<Attr> withBeta = attrs;
        withBeta[3] = attr("beta", -0.5);
        EXPECT_TRUE(cudaMatchesCpu("gemm", {a, b, randomTensor(t, {m, n}, 24)}, {like(t, {m, n})}, withBeta, gemmMatch(t, k)));
      }
}

// ---- fused elementwise ----

TEST(CudaParity, FusedElementwise) {
  MPC_REQUIRE_CUDA();
  // s = gelu_tanh(f32(x) * w) + pow(w, w); y = bf16(where(c, s, -s)).
  // Slots: 0 x (f16 [4,33]), 1 w (f32 [33]), 2 c (bool [4,1]), then 3.. the
  // results of the 8 instructions.
  const Ints ops = {20, 14, 11, 18, 12, 0, 19, 20};
  const Ints args = {0, -1, -1,  // 3: cast to f32
                     3, 1,  -1,  // 4: mul
                     4, -1, -1,  // 5: gelu (tanh)
                     1, 1,  -1,  // 6: pow
                     5, 6,  -1,  // 7: add
                     7, -1, -1,  // 8: neg
                     2, 7,  8,   // 9: where
                     9, -1, -1}; // 10: cast to bf16
  const Ints dtypes = {1, 1, 1, 1, 1, 1, 1, 3};
  const std::vector<double> alpha = {0, 0, 1, 0, 0, 0, 0, 0};
  Tensor x = randomTensor(DType::kF16, {4, 33}, 25, -3, 3);
  Tensor w = randomTensor(DType::kF32, {33}, 26, -2, 2);
  Tensor c = randomInts(DType::kBool, {4, 1}, 27, 0, 1);
  EXPECT_TRUE(cudaMatchesCpu("fused_elementwise", {x, w, c}, {like(DType::kBF16, {4, 33})},
                             {attr("ops", ops), attr("args", args), attr("dtypes", dtypes), attr("alpha", alpha)},
                             ulpsAbs(DType::kBF16, 2, 4)));
  // f64 instructions and an f64 -> f16 cast (round-to-odd path).
  Tensor d = randomTensor(DType::kF64, {50}, 28, -10, 10);
  EXPECT_TRUE(cudaMatchesCpu("fused_elementwise", {d}, {like(DType::kF16, {50})},
                             {attr("ops", Ints{14, 20}), attr("args", Ints{0, 0, -1, 1, -1, -1}),
                              attr("dtypes", Ints{4, 2})},
                             exact()));
}

// ---- loss scaling, clipping, accumulation ----

TEST(CudaParity, UnscaleAndCheck) {
  MPC_REQUIRE_CUDA();
  // Mixed dtypes, a tensor spanning several 32768-element chunks, an empty
  // one; found_inf / nonfinite_index exact, grad_norm within FP32 rounding
  // (the device sums each chunk in another order, in double).
  const Match m = ulps(DType::kF32, 2);
  for (int bad : {-1, 0, 2, 3}) {
    SCOPED_TRACE("non-finite in gradient " + std::to_string(bad));
    std::vector<Tensor> in = {randomTensor(DType::kF16, {300}, 50, -60000, 60000),
                              randomTensor(DType::kF32, {70000}, 51, -100, 100),
                              randomTensor(DType::kBF16, {7, 9}, 52),
                              randomTensor(DType::kF64, {1000}, 53),
                              Tensor(DType::kF32, {0, 4})};
    if (bad == 0) in[0].set(299, INFINITY);
    if (bad == 2) in[2].set(5, NAN);
    if (bad == 3) {
      in[3].set(10, -INFINITY);
      in[1].set(40000, 3.0e38);  // large but finite
    }
    std::vector<Tensor> out;
    for (const Tensor &g : in) out.push_back(like(g.dtype == DType::kF64 ? DType::kF64 : DType::kF32, g.dims));
    in.push_back(fromValues(DType::kF32, {}, {1024.0}));
    out.push_back(like(DType::kF32, {}));
    out.push_back(like(DType::kI64, {}));
    out.push_back(like(DType::kF32, {}));
    EXPECT_TRUE(cudaMatchesCpu("unscale_and_check", in, out, {attr("names", std::string("a\nb\nc\nd\ne"))}, m));
  }
  // More tensors than one launch batch holds (40): the index must still be exact.
  std::vector<Tensor> in, out;
  for (int i = 0; i < 45; ++i) {
    in.push_back(randomTensor(DType::kF32, {33 + i}, 60 + i));
    out.push_back(like(DType::kF32, {33 + i}));
  }
  in[41].set(3, NAN);
  in[43].set(0, INFINITY);
  in.push_back(fromValues(DType::kF32, {1}, {0.125}));
  out.push_back(like(DType::kF32, {}));
  out.push_back(like(DType::kI64, {}));
  out.push_back(like(DType::kF32, {}));
  EXPECT_TRUE(cudaMatchesCpu("unscale_and_check", in, out, {}, m));
}

TEST(CudaParity, ClipGradNorm) {
  MPC_REQUIRE_CUDA();
  for (double norm : {0.5, 100.0, double(INFINITY), double(NAN)}) {
    SCOPED_TRACE("norm " + std::to_string(norm));
    std::vector<Tensor> in = {randomTensor(DType::kF32, {40000}, 70), randomTensor(DType::kF64, {17}, 71),
                              fromValues(DType::kF32, {}, {norm})};
    EXPECT_TRUE(cudaMatchesCpu("clip_grad_norm", in, {like(DType::kF32, {40000}), like(DType::kF64, {17})},
                               {attr("max_norm", 1.5)}, exact()));
  }
}

TEST(CudaParity, Accumulation) {
  MPC_REQUIRE_CUDA();
  for (DType g : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64})
    for (int64_t micro : {0, 2, 3, 5}) {
      SCOPED_TRACE(name(g) + " micro_step " + std::to_string(micro));
      const DType w = g == DType::kF64 ? DType::kF64 : DType::kF32;
      Tensor acc = randomTensor(w, {5, 77}, 72), grad = randomTensor(g, {5, 77}, 73);
      Tensor ms = fromValues(DType::kI64, {}, {double(micro)});
      EXPECT_TRUE(cudaMatchesCpu("accumulate_grad", {acc, grad, ms}, {like(w, {5, 77})},
                                 {attr("steps", int64_t(3))}, exact()));
      EXPECT_TRUE(cudaMatchesCpu("accumulation_skip", {ms}, {like(DType::kF32, {})}, {attr("steps", int64_t(3))},
                                 exact()));
    }
}

TEST(CudaParity, CountStepAndLossScaleUpdate) {
  MPC_REQUIRE_CUDA();
  Tensor step = fromValues(DType::kI64, {}, {41});
  EXPECT_TRUE(cudaMatchesCpu("count_step", {step}, {like(DType::kI64, {})}, {}, exact()));
  for (double skip : {0.0, 1.0})
    EXPECT_TRUE(cudaMatchesCpu("count_step", {step, fromValues(DType::kF32, {}, {skip})}, {like(DType::kI64, {})}, {},
                               exact()));
  struct Case {
    double scale;
    int64_t tracker;
    double foundInf, hold;
    bool withHold;
  };
  const Case cases[] = {{65536, 3, 0, 0, false},  {65536, 3, 1, 0, false},  {65536, 9, 0, 0, false},
                        {3e38, 9, 0, 0, false},   {2.0, 1, 1, 0, true},     {2.0, 1, 1, 1, true},
                        {1.0, 0, 1, 0, false},    {1e6, 9, 0, 0, false}};
  for (const Case &c : cases) {
    SCOPED_TRACE("scale " + std::to_string(c.scale) + " tracker " + std::to_string(c.tracker) + " found_inf " +
                 std::to_string(c.foundInf));
    std::vector<Tensor> in = {fromValues(DType::kF32, {}, {c.scale}), fromValues(DType::kI64, {}, {double(c.tracker)}),
                              fromValues(DType::kF32, {}, {c.foundInf})};
    if (c.withHold) in.push_back(fromValues(DType::kF32, {}, {c.hold}));
    EXPECT_TRUE(cudaMatchesCpu("loss_scale_update", in, {like(DType::kF32, {}), like(DType::kI64, {})},
                               {attr("growth_interval", int64_t(10)), attr("min_scale", 1.5),
                                attr("max_scale", 2e6)},
                               exact()));
  }
}

// ---- training-step elementwise ops ----

TEST(CudaParity, Dropout) {
  MPC_REQUIRE_CUDA();
  for (DType t : kLowFloats)
    for (double ratio : {0.0, 0.3, 1.0}) {
      SCOPED_TRACE(name(t) + " ratio " + std::to_string(ratio));
      Tensor x = randomTensor(t, {3, 1001}, 80);
      const std::vector<Attr> attrs = {attr("ratio", ratio), attr("seed", int64_t(0x123456789abLL))};
      EXPECT_TRUE(cudaMatchesCpu("dropout", {x}, {like(t, {3, 1001}), like(DType::kBool, {3, 1001})}, attrs, exact()));
      // An offset whose stream index wraps past 2^64 and is not a multiple of 4.
      for (double offset : {7.0, 6148914691236517205.0})
        EXPECT_TRUE(cudaMatchesCpu("dropout", {x, fromValues(DType::kI64, {}, {offset})},
                                   {like(t, {3, 1001}), like(DType::kBool, {3, 1001})}, attrs, exact()));
      Tensor mask = randomInts(DType::kBool, {3, 1001}, 81, 0, 1);
      EXPECT_TRUE(cudaMatchesCpu("dropout_grad", {x, mask}, {like(t, {3, 1001})}, {attr("ratio", ratio)}, exact()));
    }
}

TEST(CudaParity, ActivationGrads) {
  MPC_REQUIRE_CUDA();
  for (DType t : kLowFloats) {
    SCOPED_TRACE(name(t));
    Tensor x = randomTensor(t, {9, 40}, 82, -6, 6), dy = randomTensor(t, {9, 40}, 83);
    for (const char *approx : {"none", "tanh"})
      EXPECT_TRUE(cudaMatchesCpu("gelu_grad", {x, dy}, {like(t, {9, 40})}, {attr("approximate", std::string(approx))},
                                 ulpsAbs(t, 4, 4)));
    for (int64_t axis : {0, 1, 2}) {
      Tensor y = randomTensor(t, {4, 6, 50}, 84, 0, 0.1), g = randomTensor(t, {4, 6, 50}, 85);
      Tensor logY = randomTensor(t, {4, 6, 50}, 86, -6, 0);
      EXPECT_TRUE(cudaMatchesCpu("softmax_grad", {y, g}, {like(t, {4, 6, 50})}, {attr("axis", axis)}, exact()));
      EXPECT_TRUE(cudaMatchesCpu("log_softmax_grad", {logY, g}, {like(t, {4, 6, 50})}, {attr("axis", axis)},
                                 ulpsAbs(t, 4, 8)));
    }
  }
}

// ---- normalisation ----

TEST(CudaParity, Norms) {
  MPC_REQUIRE_CUDA();
  for (DType t : kLowFloats)
    for (DType p : {t, DType::kF32}) {
      SCOPED_TRACE(name(t) + " params " + name(p));
      Tensor x = randomTensor(t, {4, 3, 5, 7}, 87, -3, 3);
      std::vector<Tensor> in = {x, randomTensor(p, {3}, 88), randomTensor(p, {3}, 89), randomTensor(p, {3}, 90),
                                randomTensor(p, {3}, 91, 0.1, 2)};
      EXPECT_TRUE(cudaMatchesCpu("batch_norm", in, {like(t, {4, 3, 5, 7})}, {attr("epsilon", 1e-3)}, exact()));
      EXPECT_TRUE(cudaMatchesCpu("batch_norm_train", in, {like(t, {4, 3, 5, 7}), like(p, {3}), like(p, {3})},
                                 {attr("epsilon", 1e-3), attr("momentum", 0.8)}, ulpsAbs(t, 8, 4)));
      Tensor dyBn = randomTensor(t, {4, 3, 5, 7}, 99);
      EXPECT_TRUE(cudaMatchesCpu("batch_norm_train_grad", {x, in[1], dyBn},
                                 {like(t, {4, 3, 5, 7}), like(p, {3}), like(p, {3})}, {attr("epsilon", 1e-3)},
                                 ulpsAbs(t, 8, 16)));
      // layer_norm_grad with the forward's statistics.
      Tensor scale = randomTensor(p, {5, 7}, 92), dy = randomTensor(t, {4, 3, 5, 7}, 93);
      Tensor mean = randomTensor(DType::kF32, {4, 3, 1, 1}, 94, -0.2, 0.2);
      Tensor inv = randomTensor(DType::kF32, {4, 3, 1, 1}, 95, 0.5, 2);
      EXPECT_TRUE(cudaMatchesCpu("layer_norm_grad", {x, scale, mean, inv, dy},
                                 {like(t, {4, 3, 5, 7}), like(p, {5, 7}), like(p, {5, 7})}, {attr("axis", int64_t(2))},
                                 ulpsAbs(t, 8, 8)));
    }
  for (DType t : kLowFloats)
    for (int64_t axis : {1, 2}) {
      SCOPED_TRACE(name(t) + " layer_norm axis " + std::to_string(axis));
      Tensor x = randomTensor(t, {6, 20, 33}, 96, -4, 4);
      const Dims norm = axis == 1 ? Dims{20, 33} : Dims{33};
      const Dims stat = axis == 1 ? Dims{6, 1, 1} : Dims{6, 20, 1};
      const std::vector<Tensor> outs = {like(t, {6, 20, 33}), like(DType::kF32, stat), like(DType::kF32, stat)};
      Tensor scale = randomTensor(t, norm, 97), bias = randomTensor(t, norm, 98);
      EXPECT_TRUE(cudaMatchesCpu("layer_norm", {x, scale, bias}, outs, {attr("axis", axis), attr("epsilon", 1e-5)},
                                 ulpsAbs(t, 8, 4)));
      EXPECT_TRUE(cudaMatchesCpu("layer_norm", {x, scale}, outs, {attr("axis", axis)}, ulpsAbs(t, 8, 4)));
    }
}

// ---- gather ----

TEST(CudaParity, GatherAndGrad) {
  MPC_REQUIRE_CUDA();
  for (DType idx : {DType::kI32, DType::kI64}) {
    Tensor ind = fromValues(idx, {2, 3}, {0, 4, -1, 2, 2, -5});  // negative and repeated
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kI64, DType::kBool, DType::kF8E4M3FN}) {
      SCOPED_TRACE(name(t) + " indices " + name(idx));
      Tensor data = randomInts(DType::kI8, {3, 5, 4}, 100, -100, 100);
      data.dtype = t;  // gather copies elements: any bit pattern will do
      data.bytes.resize(data.numel() * dtypeSize(t) + 1);
      for (size_t i = 0; i < data.bytes.size(); ++i) data.bytes[i] = static_cast<uint8_t>(i * 29 + 5);
      EXPECT_TRUE(cudaMatchesCpu("gather", {data, ind}, {like(t, {3, 2, 3, 4})}, {attr("axis", int64_t(1))}, exact()));
      Tensor ind0 = fromValues(idx, {4}, {2, -3, 0, 2});
      EXPECT_TRUE(cudaMatchesCpu("gather", {data, ind0}, {like(t, {4, 5, 4})}, {attr("axis", int64_t(0))}, exact()));
      EXPECT_TRUE(cudaMatchesCpu("gather", {data, ind0}, {like(t, {3, 5, 4})}, {attr("axis", int64_t(2))}, exact()));
    }
    for (DType t : kLowFloats) {
      SCOPED_TRACE("gather_grad " + name(t) + " indices " + name(idx));
      Tensor dy = randomTensor(t, {3, 2, 3, 4}, 101);
      EXPECT_TRUE(cudaMatchesCpu("gather_grad", {ind, dy}, {like(t, {3, 5, 4})}, {attr("axis", int64_t(1))}, exact()));
    }
  }
}

// An index out of range: the CPU rejects it; on CUDA the kernel records it and
// the run's synchronize reports it, naming the node; the next run is clean.
TEST(CudaParity, GatherIndexOutOfRangeIsReported) {
  MPC_REQUIRE_CUDA();
  registerBuiltinKernels();
  std::unique_ptr<cuda::Context> ctx;
  ASSERT_TRUE(cuda::Context::create({}, &ctx).isOk());
  Tensor data = randomTensor(DType::kF32, {5, 4}, 102);
  for (int64_t bad : {5, -6, 2}) {
    SCOPED_TRACE("index " + std::to_string(bad));
    Tensor ind = fromValues(DType::kI64, {3}, {0, double(bad), 1});
    Tensor out(DType::kF32, {3, 4});
    const KernelEntry *e =
        KernelRegistry::global().lookup("gather", Device::kCUDA, {DType::kF32, DType::kI64, DType::kF32});
    ASSERT_NE(e, nullptr);
    TensorView views[3] = {data.view(), ind.view(), out.view()};
    Tensor *hosts[3] = {&data, &ind, &out};
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(ctx->allocate(hosts[i]->bytes.size(), "tensor", &views[i].data).isOk());
      ASSERT_TRUE(ctx->copyToDevice(views[i].data, hosts[i]->bytes.data(), hosts[i]->bytes.size()).isOk());
    }
    Attrs attrs({attr("axis", int64_t(0))});
    KernelCall call;
    call.op = "gather";
    call.location = "embed_node";
    call.inputs = views;
    call.numInputs = 2;
    call.outputs = views + 2;
    call.numOutputs = 1;
    call.attrs = &attrs;
    call.stream = ctx->stream();
    call.workspace = ctx->workspace();
    call.workspaceBytes = ctx->workspaceBytes();
    call.context = ctx.get();
    ASSERT_TRUE(e->fn(call).isOk());
    const Status st = ctx->synchronize("gather");
    if (bad == 2) {
      EXPECT_TRUE(st.isOk()) << st.message();
    } else {
      EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
      EXPECT_NE(st.message().find("node 'embed_node' (gather): index " + std::to_string(bad) +
                                  " out of range for axis of size 5"),
                std::string::npos)
          << st.message();
    }
  }
}

}  // namespace
}  // namespace mpc::rt::test
