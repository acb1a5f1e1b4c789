// softmax_cross_entropy_loss_grad and nll_loss_grad against central finite
// differences of the forward losses (f64), for every reduction, with and
// without weights and ignore_index; lower precisions against the f64 kernel.
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

struct LossCase {
  Dims scores;
  const char *reduction;
  bool weights, ignore;
};

std::vector<LossCase> lossCases() {
  std::vector<LossCase> v;
  for (const char *red : {"none", "sum", "mean"})
    for (bool w : {false, true})
      for (bool ig : {false, true}) {
        v.push_back({{4, 5}, red, w, ig});
        v.push_back({{2, 3, 4}, red, w, ig});
      }
  return v;
}

Dims labelDims(const Dims &s) {
  Dims l{s[0]};
  for (size_t i = 2; i < s.size(); ++i) l.push_back(s[i]);
  return l;
}

std::vector<Attr> lossAttrs(const LossCase &c) {
  std::vector<Attr> a = {attr("reduction", std::string(c.reduction))};
  if (c.ignore) a.push_back(attr("ignore_index", int64_t(1)));
  return a;
}

TEST(SoftmaxCrossEntropyLossGrad, MatchesFiniteDifferences) {
  for (const LossCase &c : lossCases())
    for (DType lt : {DType::kI32, DType::kI64}) {
      const int64_t classes = c.scores[1];
      const Dims ld = labelDims(c.scores);
      const Dims lossDims = std::string(c.reduction) == "none" ? ld : Dims{};
      Tensor x = randomTensor(DType::kF64, c.scores, 71), labels = randomInts(lt, ld, 72, 0, classes - 1);
      labels.set(0, 1);  // at least one ignored label when ignore_index = 1
      labels.set(1, 2);
      Tensor w = randomTensor(DType::kF64, {classes}, 73, 0.2, 2);
      Tensor dloss = randomTensor(DType::kF64, lossDims, 74);
      Tensor loss(DType::kF64, lossDims), logp(DType::kF64, c.scores), dx(DType::kF64, c.scores);
      std::vector<Tensor *> fwdIn = {&x, &labels};
      if (c.weights) fwdIn.push_back(&w);
      ASSERT_KERNEL_OK(runKernel("softmax_cross_entropy_loss", fwdIn, {&loss, &logp}, lossAttrs(c)));
      std::vector<Tensor *> in = {&logp, &labels};
      if (c.weights) in.push_back(&w);
      in.push_back(&dloss);
      ASSERT_KERNEL_OK(runOp("softmax_cross_entropy_loss_grad", in, {&dx}, lossAttrs(c)));
      Tensor l2(DType::kF64, lossDims), lp2(DType::kF64, c.scores);
      auto f = [&] {
        EXPECT_TRUE(runKernel("softmax_cross_entropy_loss", fwdIn, {&l2, &lp2}, lossAttrs(c)).isOk());
        return dot(l2, dloss);
      };
      EXPECT_TRUE(allClose(dx, numericGrad(x, f), {1e-6, 1e-8}))
          << c.reduction << " weights " << c.weights << " ignore " << c.ignore;

      for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
        Tensor lpt = convertTo(logp, t), wt = convertTo(w, t), dlt = convertTo(dloss, t), dxt(t, c.scores);
        std::vector<Tensor *> tin = {&lpt, &labels};
        if (c.weights) tin.push_back(&wt);
        tin.push_back(&dlt);
        ASSERT_KERNEL_OK(runOp("softmax_cross_entropy_loss_grad", tin, {&dxt}, lossAttrs(c)));
        Tensor lp64 = convertTo(lpt, DType::kF64), w64 = convertTo(wt, DType::kF64), dl64 = convertTo(dlt, DType::kF64);
        Tensor dx64(DType::kF64, c.scores);
        std::vector<Tensor *> rin = {&lp64, &labels};
        if (c.weights) rin.push_back(&w64);
        rin.push_back(&dl64);
        ASSERT_KERNEL_OK(runOp("softmax_cross_entropy_loss_grad", rin, {&dx64}, lossAttrs(c)));
        EXPECT_TRUE(allClose(dxt, dx64.values(), tolFor(t, 4))) << dtypeName(t);
      }
    }
}

TEST(NllLossGrad, MatchesFiniteDifferences) {
  for (const LossCase &c : lossCases()) {
    const int64_t classes = c.scores[1];
    const Dims ld = labelDims(c.scores);
    const Dims lossDims = std::string(c.reduction) == "none" ? ld : Dims{};
    Tensor x = randomTensor(DType::kF64, c.scores, 81), labels = randomInts(DType::kI64, ld, 82, 0, classes - 1);
    labels.set(0, 1);
    labels.set(1, static_cast<double>(classes - 1));
    Tensor w = randomTensor(DType::kF64, {classes}, 83, 0.2, 2), dloss = randomTensor(DType::kF64, lossDims, 84);
    Tensor loss(DType::kF64, lossDims), dx(DType::kF64, c.scores);
    std::vector<Tensor *> fwdIn = {&x, &labels};
    if (c.weights) fwdIn.push_back(&w);
    std::vector<Tensor *> in = {&labels};
    if (c.weights) in.push_back(&w);
    in.push_back(&dloss);
    ASSERT_KERNEL_OK(runOp("nll_loss_grad", in, {&dx}, lossAttrs(c)));
    auto f = [&] {
      EXPECT_TRUE(runKernel("nll_loss", fwdIn, {&loss}, lossAttrs(c)).isOk());
      return dot(loss, dloss);
    };
    EXPECT_TRUE(allClose(dx, numericGrad(x, f), {1e-6, 1e-8})) << c.reduction << " " << c.weights << " " << c.ignore;
    Tensor dl32 = convertTo(dloss, DType::kF32), w32 = convertTo(w, DType::kF32), dx32(DType::kF32, c.scores);
    std::vector<Tensor *> in32 = {&labels};
    if (c.weights) in32.push_back(&w32);
    in32.push_back(&dl32);
    ASSERT_KERNEL_OK(runOp("nll_loss_grad", in32, {&dx32}, lossAttrs(c)));
    EXPECT_TRUE(allClose(dx32, dx.values(), tolFor(DType::kF32, 4)));
  }
}

TEST(LossGrad, RejectsBadOperands) {
  Tensor logp(DType::kF32, {4, 5}), labels(DType::kI64, {4}), dloss(DType::kF32, {}), dx(DType::kF32, {4, 5});
  Tensor badLabels(DType::kI64, {5});
  EXPECT_KERNEL_ERROR(checkOp("softmax_cross_entropy_loss_grad", {&logp, &badLabels, &dloss}, {&dx}), "labels");
  Tensor dlossNone(DType::kF32, {3});
  EXPECT_KERNEL_ERROR(checkOp("softmax_cross_entropy_loss_grad", {&logp, &labels, &dlossNone}, {&dx},
                              {attr("reduction", std::string("none"))}),
                      "dloss");
  EXPECT_KERNEL_ERROR(checkOp("nll_loss_grad", {&labels, &dloss}, {&dx}, {attr("reduction", std::string("avg"))}),
                      "reduction");
  // Labels out of range are caught when the kernel runs.
  Tensor lab = fromValues(DType::kI64, {4}, {0, 1, 7, 2});
  EXPECT_KERNEL_ERROR(runOp("nll_loss_grad", {&lab, &dloss}, {&dx}), "label 7 out of range");
}

}  // namespace
}  // namespace mpc::rt::test
