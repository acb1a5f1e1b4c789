// The CUDA kernels' load-time checks, on host tensors: they run without a GPU
// (a session runs them before the first step). Each case must be accepted or
// rejected by the CUDA check exactly as by the CPU check.
#include <gtest/gtest.h>

#include "cuda_test_util.h"

namespace mpc::rt::test {
namespace {

Status runCheck(Device device, const std::string &op, std::vector<Tensor> inputs, std::vector<Tensor> outputs,
                std::vector<Attr> attrList) {
  registerBuiltinKernels();
  std::vector<DType> dtypes;
  std::vector<TensorView> in, out;
  for (Tensor &t : inputs) {
    in.push_back(t.view());
    dtypes.push_back(t.dtype);
  }
  for (Tensor &t : outputs) {
    out.push_back(t.view());
    dtypes.push_back(t.dtype);
  }
  const KernelEntry *e = KernelRegistry::global().lookup(op, device, dtypes);
  if (!e) return Status(StatusCode::kNotFound, "no kernel");
  Attrs attrs(std::move(attrList));
  KernelCall call;
  call.op = op;
  call.location = "check_node";
  call.inputs = in.data();
  call.numInputs = static_cast<int>(in.size());
  call.outputs = out.data();
  call.numOutputs = static_cast<int>(out.size());
  call.attrs = &attrs;
  return e->check ? e->check(call) : Status::ok();
}

void expectSameVerdict(const std::string &op, std::vector<Tensor> in, std::vector<Tensor> out, std::vector<Attr> attrs,
                       bool wantOk) {
  if (!cuda::isCompiledIn()) GTEST_SKIP() << cuda::deviceDescription();
  const Status cpu = runCheck(Device::kCPU, op, in, out, attrs);
  const Status gpu = runCheck(Device::kCUDA, op, in, out, attrs);
  EXPECT_EQ(cpu.isOk(), wantOk) << op << " cpu: " << cpu.message();
  EXPECT_EQ(gpu.isOk(), wantOk) << op << " cuda: " << gpu.message();
  if (!wantOk) {
    EXPECT_NE(gpu.message().find("check_node"), std::string::npos) << gpu.message();
  }
}

TEST(CudaChecks, LossesMatchTheCpu) {
  const DType f = DType::kF32, l = DType::kI64;
  Tensor x(f, {4, 5}), labels = randomInts(l, {4}, 1, 0, 4), loss(f, {}), logp(f, {4, 5}), dloss(f, {});
  const std::vector<Attr> mean = {attr("reduction", std::string("mean"))};
  expectSameVerdict("softmax_cross_entropy_loss", {x, labels}, {loss, logp}, mean, true);
  expectSameVerdict("softmax_cross_entropy_loss", {x, labels}, {Tensor(f, {4}), logp}, mean, false);
  expectSameVerdict("softmax_cross_entropy_loss", {x, labels}, {loss, logp}, {attr("reduction", std::string("avg"))},
                    false);
  expectSameVerdict("nll_loss", {x, labels}, {loss}, mean, true);
  expectSameVerdict("nll_loss", {x, randomInts(l, {3}, 1, 0, 4)}, {loss}, mean, false);
  expectSameVerdict("softmax_cross_entropy_loss_grad", {logp, labels, dloss}, {Tensor(f, {4, 5})}, mean, true);
  expectSameVerdict("softmax_cross_entropy_loss_grad", {logp, labels, dloss}, {Tensor(f, {5, 4})}, mean, false);
  expectSameVerdict("nll_loss_grad", {labels, dloss}, {Tensor(f, {4, 5})}, mean, true);
  expectSameVerdict("nll_loss_grad", {labels, Tensor(f, {2})}, {Tensor(f, {4, 5})}, mean, false);
}

TEST(CudaChecks, GemmAndFusedMatchTheCpu) {
  const DType f = DType::kF32;
  expectSameVerdict("gemm", {Tensor(f, {3, 4}), Tensor(f, {4, 5})}, {Tensor(f, {3, 5})}, {}, true);
  expectSameVerdict("gemm", {Tensor(f, {3, 4}), Tensor(f, {5, 4}), Tensor(f, {5})}, {Tensor(f, {3, 5})},
                    {attr("trans_b", int64_t(1))}, true);
  expectSameVerdict("gemm", {Tensor(f, {3, 4}), Tensor(f, {3, 4})}, {Tensor(f, {3, 4})}, {}, false);
  expectSameVerdict("matmul", {Tensor(f, {2, 3, 4}), Tensor(f, {4, 5})}, {Tensor(f, {2, 3, 5})}, {}, true);
  const std::vector<Attr> prog = {attr("ops", Ints{2}), attr("args", Ints{0, -1, -1}), attr("dtypes", Ints{1})};
  expectSameVerdict("fused_elementwise", {Tensor(f, {7})}, {Tensor(f, {7})}, prog, true);
  expectSameVerdict("fused_elementwise", {Tensor(f, {7})}, {Tensor(f, {7})},
                    {attr("ops", Ints{99}), attr("args", Ints{0, -1, -1}), attr("dtypes", Ints{1})}, false);
}

TEST(CudaChecks, LongFusedProgramsAreRejectedAtLoad) {
  if (!cuda::isCompiledIn()) GTEST_SKIP() << cuda::deviceDescription();
  // 60 chained negations: valid for the CPU, beyond the CUDA kernel's 48.
  Ints ops(60, 0), args, dtypes(60, 1);
  for (int k = 0; k < 60; ++k) args.insert(args.end(), {k, -1, -1});
  const std::vector<Attr> prog = {attr("ops", ops), attr("args", args), attr("dtypes", dtypes)};
  const Status cpu = runCheck(Device::kCPU, "fused_elementwise", {Tensor(DType::kF32, {3})}, {Tensor(DType::kF32, {3})}, prog);
  const Status gpu = runCheck(Device::kCUDA, "fused_elementwise", {Tensor(DType::kF32, {3})}, {Tensor(DType::kF32, {3})}, prog);
  EXPECT_TRUE(cpu.isOk()) << cpu.message();
  EXPECT_EQ(gpu.code(), StatusCode::kUnsupported) << gpu.message();
  EXPECT_NE(gpu.message().find("at most 48"), std::string::npos) << gpu.message();
}

TEST(CudaChecks, TrainingOpsMatchTheCpu) {
  const DType f = DType::kF32, i64 = DType::kI64;
  Tensor s(f, {}), idx(i64, {});
  // unscale_and_check: mixed gradient dtypes; 'names' must list every gradient.
  expectSameVerdict("unscale_and_check", {Tensor(DType::kF16, {3, 4}), Tensor(f, {5}), s},
                    {Tensor(f, {3, 4}), Tensor(f, {5}), s, idx, s}, {attr("names", std::string("a\nb"))}, true);
  expectSameVerdict("unscale_and_check", {Tensor(DType::kF16, {3, 4}), Tensor(f, {5}), s},
                    {Tensor(f, {3, 4}), Tensor(f, {5}), s, idx, s}, {attr("names", std::string("a"))}, false);
  expectSameVerdict("unscale_and_check", {Tensor(f, {5}), s}, {Tensor(DType::kF16, {5}), s, idx, s}, {}, false);
  expectSameVerdict("clip_grad_norm", {Tensor(f, {5}), s}, {Tensor(f, {5})}, {attr("max_norm", 1.0)}, true);
  expectSameVerdict("clip_grad_norm", {Tensor(f, {5}), s}, {Tensor(f, {5})}, {}, false);
  expectSameVerdict("accumulate_grad", {Tensor(f, {5}), Tensor(DType::kBF16, {5}), idx}, {Tensor(f, {5})},
                    {attr("steps", int64_t(4))}, true);
  expectSameVerdict("accumulate_grad", {Tensor(f, {5}), Tensor(DType::kBF16, {5}), idx}, {Tensor(f, {5})},
                    {attr("steps", int64_t(0))}, false);
  expectSameVerdict("accumulation_skip", {idx}, {s}, {attr("steps", int64_t(2))}, true);
  expectSameVerdict("count_step", {idx, s}, {idx}, {}, true);
  expectSameVerdict("count_step", {s}, {idx}, {}, false);
  expectSameVerdict("loss_scale_update", {s, idx, s}, {s, idx}, {}, true);
  expectSameVerdict("loss_scale_update", {s, idx, s, s}, {s, idx}, {attr("growth_interval", int64_t(0))}, false);
  // dropout, activation gradients, normalisation.
  const Tensor x(f, {4, 6}), mask(DType::kBool, {4, 6});
  expectSameVerdict("dropout", {x, idx}, {x, mask}, {attr("ratio", 0.1), attr("seed", int64_t(3))}, true);
  expectSameVerdict("dropout", {x}, {x, mask}, {attr("ratio", 1.5)}, false);
  expectSameVerdict("dropout_grad", {x, mask}, {x}, {attr("ratio", 0.1)}, true);
  expectSameVerdict("gelu_grad", {x, x}, {x}, {attr("approximate", std::string("tanh"))}, true);
  expectSameVerdict("gelu_grad", {x, x}, {x}, {attr("approximate", std::string("fast"))}, false);
  expectSameVerdict("softmax_grad", {x, x}, {x}, {attr("axis", int64_t(1))}, true);
  expectSameVerdict("log_softmax_grad", {x, x}, {x}, {attr("axis", int64_t(2))}, false);
  const Tensor stat(f, {4, 1});
  expectSameVerdict("layer_norm", {x, Tensor(f, {6}), Tensor(f, {6})}, {x, stat, stat}, {attr("axis", int64_t(1))},
                    true);
  expectSameVerdict("layer_norm", {x, Tensor(f, {5})}, {x, stat, stat}, {attr("axis", int64_t(1))}, false);
  expectSameVerdict("layer_norm_grad", {x, Tensor(f, {6}), stat, stat, x}, {x, Tensor(f, {6}), Tensor(f, {6})},
                    {attr("axis", int64_t(1))}, true);
  const Tensor img(DType::kF16, {2, 3, 4}), ch(f, {3});
  expectSameVerdict("batch_norm", {img, ch, ch, ch, ch}, {img}, {}, true);
  expectSameVerdict("batch_norm", {img, ch, ch, ch, Tensor(f, {4})}, {img}, {}, false);
  expectSameVerdict("batch_norm_train", {img, ch, ch, ch, ch}, {img, ch, ch}, {attr("momentum", 0.9)}, true);
  expectSameVerdict("batch_norm_train", {img, ch, ch, ch, ch}, {img, ch, Tensor(f, {2})}, {}, false);
  expectSameVerdict("batch_norm_train_grad", {img, ch, img}, {img, ch, ch}, {}, true);
  expectSameVerdict("batch_norm_train_grad", {img, ch, img}, {img, ch, ch}, {attr("epsilon", -1.0)}, false);
}

TEST(CudaChecks, GatherMatchesTheCpu) {
  const DType f = DType::kF32;
  const Tensor ind = fromValues(DType::kI64, {2}, {0, 1});
  expectSameVerdict("gather", {Tensor(f, {3, 4}), ind}, {Tensor(f, {2, 4})}, {}, true);
  expectSameVerdict("gather", {Tensor(DType::kI32, {3, 4}), ind}, {Tensor(DType::kI32, {3, 2})},
                    {attr("axis", int64_t(1))}, true);
  expectSameVerdict("gather", {Tensor(f, {3, 4}), ind}, {Tensor(f, {4, 2})}, {}, false);
  expectSameVerdict("gather_grad", {ind, Tensor(f, {2, 4})}, {Tensor(f, {3, 4})}, {}, true);
  expectSameVerdict("gather_grad", {ind, Tensor(f, {2, 5})}, {Tensor(f, {3, 4})}, {}, false);
}

TEST(CudaChecks, VariadicTrainingOpsResolveUpTo1024Gradients) {
  if (!cuda::isCompiledIn()) GTEST_SKIP() << cuda::deviceDescription();
  registerBuiltinKernels();
  for (int n : {1, 41, 1024}) {
    EXPECT_NE(KernelRegistry::global().lookup("unscale_and_check", Device::kCUDA,
                                              std::vector<DType>(2 * n + 4, DType::kF32)),
              nullptr)
        << n;
    EXPECT_NE(KernelRegistry::global().lookup("clip_grad_norm", Device::kCUDA, std::vector<DType>(2 * n + 1, DType::kF32)),
              nullptr)
        << n;
  }
}

}  // namespace
}  // namespace mpc::rt::test
