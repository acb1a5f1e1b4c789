// Training through a Session: a hand-built training plan (training_plan.h)
// whose kernels write parameters, moments and the step counter in place.
#include "core/session.h"
#include "core/train_step.h"
#include "../test_util.h"
#include "training_plan.h"
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

std::unique_ptr<Session> makeSession(const TrainingPlanShape &shape = {}, int threads = 2, double lr = 0.05) {
  ensureTrainingKernels();
  PlanWriter w;
  buildTrainingPlan(w, shape, lr);
  std::vector<uint8_t> bytes;
  Status s = w.writeToBuffer(&bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  std::shared_ptr<const Plan> plan;
  s = Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan);
  EXPECT_TRUE(s.isOk()) << s.message();
  SessionOptions opts;
  opts.numThreads = threads;
  std::unique_ptr<Session> session;
  s = Session::create(plan, opts, &session);
  EXPECT_TRUE(s.isOk()) << s.message();
  return session;
}

void setBatch(Session &s, const TrainingPlanShape &shape, uint32_t seed) {
  std::vector<float> x;
  std::vector<int64_t> labels;
  makeBatch(shape, seed, &x, &labels);
  const int64_t xd[2] = {shape.batch, shape.features}, ld[1] = {shape.batch};
  ASSERT_TRUE(s.setInput("x", DType::kF32, xd, 2, x.data(), x.size() * 4).isOk());
  ASSERT_TRUE(s.setInput("labels", DType::kI64, ld, 1, labels.data(), labels.size() * 8).isOk());
}

std::vector<float> readF32(const Session &s, const std::string &name, size_t n) {
  std::vector<float> v(n);
  Status st = s.readState(name, v.data(), n * 4);
  EXPECT_TRUE(st.isOk()) << st.message();
  return v;
}

TEST(TrainSession, StateTensorsLiveOutsideTheActivationArena) {
  PlanWriter w;
  buildTrainingPlan(w);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  // Kernel outputs with state storage are not planned in the activation
  // arena: the arena holds only activations and inputs.
  uint64_t activationBytes = 0;
  for (const PlanTensor &t : w.tensors())
    if (t.storage == Storage::kActivation || t.storage == Storage::kInput) activationBytes += plan::alignUp(t.nbytes, 64);
  EXPECT_LE(w.memoryPlan().arenaBytes, activationBytes);
  std::shared_ptr<const Plan> plan;
  ASSERT_TRUE(Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan).isOk());
  EXPECT_GE(plan->findState("W"), 0);
  EXPECT_GE(plan->findState("optimizer.step"), 0);
  EXPECT_EQ(plan->tensors()[plan->findState("W")].storage, Storage::kState);
}

TEST(TrainSession, LossDecreasesAndStepCounts) {
  TrainingPlanShape shape;
  auto s = makeSession(shape);
  ASSERT_TRUE(s);
  setBatch(*s, shape, 7);
  float first = 0, last = 0;
  for (int k = 0; k < 40; ++k) {
    float loss;
    bool has = false;
    Status st = trainStep(*s, &loss, &has);
    ASSERT_TRUE(st.isOk()) << st.message();
    ASSERT_TRUE(has);
    ASSERT_TRUE(std::isfinite(loss));
    if (k == 0) first = loss;
    last = loss;
  }
  EXPECT_LT(last, first * 0.7f) << "first " << first << " last " << last;
  int64_t step = -1;
  ASSERT_TRUE(getStepCount(*s, &step).isOk());
  EXPECT_EQ(step, 40);
}

TEST(TrainSession, MatchesAHandComputedAdamStep) {
  TrainingPlanShape shape{4, 3, 2};
  auto s = makeSession(shape, 1, 0.125);
  ASSERT_TRUE(s);
  setBatch(*s, shape, 11);
  std::vector<float> x;
  std::vector<int64_t> labels;
  makeBatch(shape, 11, &x, &labels);
  std::vector<float> W = readF32(*s, "W", 6), b = readF32(*s, "b", 2);
  float loss;
  ASSERT_TRUE(trainStep(*s, &loss, nullptr).isOk());
  // Reference in double: softmax cross-entropy gradient, then AdamW step 1.
  std::vector<double> dW(6, 0), db(2, 0);
  double refLoss = 0;
  for (int i = 0; i < 4; ++i) {
    double z[2];
    for (int c = 0; c < 2; ++c) {
      z[c] = b[c];
      for (int f = 0; f < 3; ++f) z[c] += x[i * 3 + f] * W[f * 2 + c];
    }
    const double m = std::max(z[0], z[1]), lse = m + std::log(std::exp(z[0] - m) + std::exp(z[1] - m));
    refLoss -= (z[labels[i]] - lse) / 4;
    for (int c = 0; c < 2; ++c) {
      const double g = (std::exp(z[c] - lse) - (c == labels[i])) / 4;
      db[c] += g;
      for (int f = 0; f < 3; ++f) dW[f * 2 + c] += x[i * 3 + f] * g;
    }
  }
  EXPECT_NEAR(loss, refLoss, 1e-5);
  std::vector<float> W1 = readF32(*s, "W", 6);
  for (int i = 0; i < 6; ++i) {
    const double p = W[i] * (1 - 0.125 * 0.01);
    const double mhat = dW[i], vhat = dW[i] * dW[i];  // bias-corrected moments after one step
    EXPECT_NEAR(W1[i], p - 0.125 * mhat / (std::sqrt(vhat) + 1e-8), 2e-5) << i;
  }
}

TEST(TrainSession, LearningRateIsState) {
  TrainingPlanShape shape;
  auto s = makeSession(shape);
  ASSERT_TRUE(s);
  setBatch(*s, shape, 3);
  double lr = 0;
  ASSERT_TRUE(getLearningRate(*s, &lr).isOk());
  EXPECT_FLOAT_EQ(lr, 0.05);
  ASSERT_TRUE(setLearningRate(*s, 0.0).isOk());
  ASSERT_TRUE(getLearningRate(*s, &lr).isOk());
  EXPECT_EQ(lr, 0.0);
  // AdamW with lr 0 leaves the parameters exactly where they were.
  std::vector<float> before = readF32(*s, "W", 15);
  ASSERT_TRUE(trainStep(*s, nullptr, nullptr).isOk());
  EXPECT_EQ(before, readF32(*s, "W", 15));
  ASSERT_TRUE(setLearningRate(*s, 0.5).isOk());
  ASSERT_TRUE(trainStep(*s, nullptr, nullptr).isOk());
  EXPECT_NE(before, readF32(*s, "W", 15));
}

TEST(TrainSession, InferencePlanHasNoLearningRateOrLoss) {
  ensureTrainingKernels();
  PlanWriter w;
  buildSamplePlan(w);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  std::shared_ptr<const Plan> plan;
  ASSERT_TRUE(Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan).isOk());
  std::unique_ptr<Session> s;
  ASSERT_TRUE(Session::create(plan, SessionOptions(), &s).isOk());
  Status st = setLearningRate(*s, 0.1);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("optimizer.lr"), std::string::npos);
  std::vector<float> x(6, 1.0f);
  const int64_t d[2] = {2, 3};
  ASSERT_TRUE(s->setInput("x", DType::kF32, d, 2, x.data(), 24).isOk());
  float loss = 0;
  bool has = true;
  ASSERT_TRUE(trainStep(*s, &loss, &has).isOk());
  EXPECT_FALSE(has);
  EXPECT_TRUE(std::isnan(loss));
}

TEST(TrainSession, LossIsTheOnlyScalarOutputWhenNoneIsNamedLoss) {
  ensureTrainingKernels();
  auto build = [](bool twoScalars) {
    PlanWriter w;
    int32_t x = w.addTensor("x", DType::kF32, {3}, Storage::kInput);
    int32_t total = w.addTensor("total", DType::kF32, {}, Storage::kActivation);
    int32_t y = w.addTensor("y", DType::kF32, {3}, Storage::kActivation);
    w.addKernel("reduce_sum", {x}, {total}, {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t(0)}}, "Sum_0");
    w.addKernel("relu", {x}, {y}, {}, "Relu_1");
    w.bindInput("x", x);
    w.bindOutput("total", total);
    w.bindOutput("y", y);
    if (twoScalars) {
      int32_t m = w.addTensor("m", DType::kF32, {1}, Storage::kActivation);
      w.addKernel("reduce_max", {x}, {m}, {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t(1)}}, "Max_2");
      w.bindOutput("m", m);
    }
    std::vector<uint8_t> bytes;
    EXPECT_TRUE(w.writeToBuffer(&bytes).isOk());
    std::shared_ptr<const Plan> plan;
    EXPECT_TRUE(Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan).isOk());
    return plan;
  };
  const float x[3] = {1.5f, -2.0f, 4.0f};
  const int64_t d[1] = {3};
  for (bool two : {false, true}) {
    auto plan = build(two);
    EXPECT_EQ(lossOutputName(*plan), two ? "" : "total");
    std::unique_ptr<Session> s;
    ASSERT_TRUE(Session::create(plan, SessionOptions(), &s).isOk());
    ASSERT_TRUE(s->setInput("x", DType::kF32, d, 1, x, sizeof(x)).isOk());
    float loss = 0;
    bool has = false;
    ASSERT_TRUE(trainStep(*s, &loss, &has).isOk());
    EXPECT_EQ(has, !two);
    if (two) {
      EXPECT_TRUE(std::isnan(loss));
      EXPECT_EQ(readLoss(*s, &loss).code(), StatusCode::kNotFound);
    } else {
      EXPECT_EQ(loss, 3.5f);
    }
  }
}

TEST(TrainSession, ResultsDoNotDependOnThreadCount) {
  TrainingPlanShape shape{64, 33, 7};
  auto a = makeSession(shape, 1), b = makeSession(shape, 3);
  ASSERT_TRUE(a && b);
  setBatch(*a, shape, 5);
  setBatch(*b, shape, 5);
  for (int k = 0; k < 5; ++k) {
    float la, lb;
    ASSERT_TRUE(trainStep(*a, &la, nullptr).isOk());
    ASSERT_TRUE(trainStep(*b, &lb, nullptr).isOk());
    EXPECT_EQ(la, lb);
  }
  EXPECT_EQ(readF32(*a, "W", 33 * 7), readF32(*b, "W", 33 * 7));
}

TEST(TrainSession, ElementwiseGradientsRunInPlace) {
  // dy is an activation that dies at gelu_grad / dropout_grad: the memory
  // planner gives dx dy's buffer, and the kernels are alias-safe.
  ensureTrainingKernels();
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {4, 9}, Storage::kInput);
  int32_t g = w.addTensor("g", DType::kF32, {4, 9}, Storage::kInput);
  int32_t dy = w.addTensor("dy", DType::kF32, {4, 9}, Storage::kActivation);
  int32_t dx = w.addTensor("dx", DType::kF32, {4, 9}, Storage::kActivation);
  int32_t y = w.addTensor("y", DType::kF32, {4, 9}, Storage::kActivation);
  int32_t mask = w.addTensor("mask", DType::kBool, {4, 9}, Storage::kActivation);
  int32_t dx2 = w.addTensor("dx2", DType::kF32, {4, 9}, Storage::kActivation);
  w.addKernel("neg", {g}, {dy}, {}, "Neg_0");
  w.addKernel("gelu_grad", {x, dy}, {dx}, {}, "Gelu_grad");
  w.addKernel("dropout", {x}, {y, mask}, {{"ratio", 0.5}, {"seed", int64_t(3)}}, "Dropout_1");
  w.addKernel("dropout_grad", {dx, mask}, {dx2}, {{"ratio", 0.5}}, "Dropout_grad");
  w.bindInput("x", x);
  w.bindInput("g", g);
  w.bindOutput("dx2", dx2);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  EXPECT_EQ(w.memoryPlan().aliasOf[dx], w.memoryPlan().aliasOf[dy]);
  EXPECT_EQ(w.memoryPlan().aliasOf[dx2], w.memoryPlan().aliasOf[dy]);
  std::shared_ptr<const Plan> plan;
  ASSERT_TRUE(Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan).isOk());
  std::unique_ptr<Session> s;
  ASSERT_TRUE(Session::create(plan, SessionOptions(), &s).isOk());
  Tensor xt = randomTensor(DType::kF32, {4, 9}, 1), gt = randomTensor(DType::kF32, {4, 9}, 2);
  const int64_t d[2] = {4, 9};
  ASSERT_TRUE(s->setInput("x", DType::kF32, d, 2, xt.bytes.data(), 144).isOk());
  ASSERT_TRUE(s->setInput("g", DType::kF32, d, 2, gt.bytes.data(), 144).isOk());
  ASSERT_TRUE(s->run().isOk());
  // The same computation kernel by kernel, without aliasing.
  Tensor dyt(DType::kF32, {4, 9}), dxt(DType::kF32, {4, 9}), yt(DType::kF32, {4, 9}), mt(DType::kBool, {4, 9});
  Tensor want(DType::kF32, {4, 9});
  ASSERT_KERNEL_OK(runOp("neg", {&gt}, {&dyt}));
  ASSERT_KERNEL_OK(runOp("gelu_grad", {&xt, &dyt}, {&dxt}));
  ASSERT_KERNEL_OK(runOp("dropout", {&xt}, {&yt, &mt}, {attr("ratio", 0.5), attr("seed", int64_t(3))}));
  ASSERT_KERNEL_OK(runOp("dropout_grad", {&dxt, &mt}, {&want}, {attr("ratio", 0.5)}));
  TensorView out;
  ASSERT_TRUE(s->output("dx2", &out).isOk());
  EXPECT_EQ(0, std::memcmp(out.data, want.bytes.data(), 144));
}

}  // namespace
}  // namespace mpc::rt::test
