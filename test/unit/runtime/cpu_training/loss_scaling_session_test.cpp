// Loss scaling and gradient accumulation in whole sessions (loss_scaling_plan.h):
// StepInfo telemetry (trainStep / trainMicroStep), skipped steps leaving the
// parameters and the step counter alone, the working copy, the scale's
// backoff and growth, the LossScaleMonitor, and K micro-batches per step.
#include <cmath>

#include "core/train_step.h"
#include "loss_scaling_plan.h"
#include "training_plan.h"
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

std::unique_ptr<Session> sessionOf(PlanWriter &w) {
  ensureTrainingKernels();
  std::vector<uint8_t> bytes;
  Status s = w.writeToBuffer(&bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  std::shared_ptr<const Plan> plan;
  s = Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan);
  EXPECT_TRUE(s.isOk()) << s.message();
  SessionOptions opts;
  opts.numThreads = 2;
  std::unique_ptr<Session> session;
  s = Session::create(plan, opts, &session);
  EXPECT_TRUE(s.isOk()) << s.message();
  return session;
}

void setInputs(Session &s, const std::vector<float> &x, const std::vector<double> &g) {
  const int64_t d[1] = {4};
  ASSERT_TRUE(s.setInput("x", DType::kF32, d, 1, x.data(), 16).isOk());
  std::vector<uint16_t> h;
  for (double v : g) h.push_back(floatToHalf(static_cast<float>(v)));
  ASSERT_TRUE(s.setInput("g", DType::kF16, d, 1, h.data(), 8).isOk());
}

std::vector<float> readF32State(const Session &s, const char *name, size_t n) {
  std::vector<float> v(n);
  EXPECT_TRUE(s.readState(name, v.data(), n * 4).isOk());
  return v;
}

int64_t readI64State(const Session &s, const char *name) {
  int64_t v = -1;
  EXPECT_TRUE(s.readState(name, &v, 8).isOk());
  return v;
}

TEST(LossScalingSession, TelemetrySkipsAndScaleUpdates) {
  PlanWriter w;
  buildLossScalingPlan(w);
  auto session = sessionOf(w);
  ASSERT_TRUE(session);
  EXPECT_EQ(accumulationSteps(session->plan()), 1);
  const std::vector<float> x = {1, 2, 3, 4.5f};
  const std::vector<double> g = {4, -8, 2, 16};  // scaled by 4: the true gradient is {1, -2, 0.5, 4}
  std::vector<float> wv = {1.0f, -2.0f, 0.5f, 3.0f};

  // Steps 1 and 2: finite. The scale used is 4; after step 2 (interval 2) it grows to 8.
  for (int k = 0; k < 2; ++k) {
    setInputs(*session, x, g);
    StepInfo info;
    ASSERT_TRUE(trainStep(*session, &info).isOk());
    EXPECT_TRUE(info.hasLoss);
    EXPECT_EQ(info.loss, 10.5f);
    EXPECT_TRUE(info.hasLossScale);
    EXPECT_EQ(info.lossScale, 4.0f);
    EXPECT_FALSE(info.skipped);
    EXPECT_FLOAT_EQ(info.gradNorm, std::sqrt(1.0f + 4.0f + 0.25f + 16.0f));
    EXPECT_EQ(info.nonfiniteTensor, "");
    EXPECT_EQ(info.microBatches, 1);
    for (int i = 0; i < 4; ++i) wv[i] = wv[i] - 0.5f * static_cast<float>(g[i] / 4);
    EXPECT_EQ(readF32State(*session, "W", 4), wv);
  }
  EXPECT_EQ(readF32State(*session, "loss_scale.scale", 1)[0], 8.0f);
  EXPECT_EQ(readI64State(*session, "optimizer.step"), 2);
  std::vector<uint16_t> working(4);
  ASSERT_TRUE(session->readState("W.working", working.data(), 8).isOk());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(working[i], floatToHalf(wv[i]));

  // Step 3: an inf in g. Skipped: W, the step counter and the working copy
  // stay, the scale backs off to 4.
  setInputs(*session, x, {1, INFINITY, 2, 3});
  StepInfo info;
  ASSERT_TRUE(trainStep(*session, &info).isOk());
  EXPECT_TRUE(info.skipped);
  EXPECT_EQ(info.lossScale, 8.0f);
  EXPECT_EQ(info.nonfiniteTensor, "W");
  EXPECT_TRUE(std::isinf(info.gradNorm));
  EXPECT_EQ(readF32State(*session, "W", 4), wv);
  EXPECT_EQ(readI64State(*session, "optimizer.step"), 2);
  EXPECT_EQ(readF32State(*session, "loss_scale.scale", 1)[0], 4.0f);
  std::vector<uint16_t> working2(4);
  ASSERT_TRUE(session->readState("W.working", working2.data(), 8).isOk());
  EXPECT_EQ(working2, working);

  // The old API still runs one step and reports the loss.
  setInputs(*session, x, g);
  float loss = 0;
  bool hasLoss = false;
  ASSERT_TRUE(trainStep(*session, &loss, &hasLoss).isOk());
  EXPECT_EQ(loss, 10.5f);
  EXPECT_EQ(readI64State(*session, "optimizer.step"), 3);
}

TEST(LossScalingSession, ClippingUsesTheUnscaledNorm) {
  PlanWriter w;
  buildLossScalingPlan(w, 4.0f, /*maxNorm=*/1.0);
  auto session = sessionOf(w);
  ASSERT_TRUE(session);
  setInputs(*session, {0, 0, 0, 0}, {0, 12, 0, 16});  // unscaled {0, 3, 0, 4}: norm 5
  StepInfo info;
  ASSERT_TRUE(trainStep(*session, &info).isOk());
  EXPECT_EQ(info.gradNorm, 5.0f);
  const float coef = 1.0f / (5.0f + 1e-6f);
  const std::vector<float> want = {1.0f - 0.5f * (0.0f * coef), -2.0f - 0.5f * (3.0f * coef), 0.5f,
                                   3.0f - 0.5f * (4.0f * coef)};
  EXPECT_EQ(readF32State(*session, "W", 4), want);
}

TEST(LossScalingSession, MonitorWarnsOnceWhenTheScaleCollapses) {
  PlanWriter w;
  buildLossScalingPlan(w, 4.0f);
  auto session = sessionOf(w);
  ASSERT_TRUE(session);
  LossScaleMonitor monitor;  // defaults: scale below 1, or 8 backoffs in 100 steps
  std::vector<std::string> warnings;
  // Always overflowing: scales used 4, 2, 1, 0.5, 0.25, ...
  for (int k = 0; k < 6; ++k) {
    setInputs(*session, {1, 1, 1, 1}, {1, 2, NAN, 4});
    StepInfo info;
    ASSERT_TRUE(trainStep(*session, &info).isOk());
    EXPECT_EQ(info.lossScale, std::ldexp(4.0f, -k));
    std::string warn = monitor.observe(info);
    if (!warn.empty()) warnings.push_back(std::to_string(k) + ": " + warn);
  }
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].substr(0, 3), "3: ");  // the step that used 0.5
  EXPECT_NE(warnings[0].find("'W'"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("BF16 or FP32"), std::string::npos) << warnings[0];
  EXPECT_TRUE(monitor.alarming());
}

TEST(LossScaleMonitor, CountsBackoffsInAWindowAndRearms) {
  LossScaleMonitorOptions o;
  o.minScale = 0;  // count only
  o.maxBackoffs = 3;
  o.window = 10;
  LossScaleMonitor m(o);
  StepInfo skipped, clean, noScaling;
  skipped.hasLossScale = clean.hasLossScale = true;
  skipped.lossScale = clean.lossScale = 1024;
  skipped.skipped = true;
  skipped.nonfiniteTensor = "layer3.weight";
  EXPECT_EQ(m.observe(skipped), "");
  EXPECT_EQ(m.observe(clean), "");
  EXPECT_EQ(m.observe(skipped), "");
  const std::string warn = m.observe(skipped);  // third backoff within 10 steps
  EXPECT_NE(warn.find("3 of the last 10 steps skipped"), std::string::npos) << warn;
  EXPECT_NE(warn.find("'layer3.weight'"), std::string::npos) << warn;
  EXPECT_EQ(m.observe(skipped), "");  // same episode
  for (int i = 0; i < 10; ++i) EXPECT_EQ(m.observe(clean), "");
  EXPECT_FALSE(m.alarming());
  EXPECT_EQ(m.observe(skipped), "");
  EXPECT_EQ(m.observe(skipped), "");
  EXPECT_NE(m.observe(skipped), "");  // a new episode
  // Plans without loss scaling never alarm.
  LossScaleMonitor quiet;
  noScaling.skipped = true;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(quiet.observe(noScaling), "");
}

TEST(GradientAccumulation, KMicroBatchesPerStep) {
  const int64_t K = 3;
  PlanWriter w;
  buildAccumulationPlan(w, K);
  auto session = sessionOf(w);
  ASSERT_TRUE(session);
  EXPECT_EQ(accumulationSteps(session->plan()), K);
  auto gradOf = [](int64_t step, int64_t micro) {
    std::vector<float> g(4);
    for (int i = 0; i < 4; ++i) g[i] = static_cast<float>((i + 1) * (micro + 1)) * (step % 2 ? -0.5f : 1.0f);
    return g;
  };
  std::vector<float> wv = {1.0f, -2.0f, 0.5f, 3.0f};
  for (int64_t step = 0; step < 3; ++step) {
    StepInfo info;
    std::vector<int64_t> fed;
    Status s = trainStep(
        *session,
        [&](Session &sess, int64_t micro) {
          fed.push_back(micro);
          const std::vector<float> g = gradOf(step, micro);
          const int64_t d[1] = {4};
          return sess.setInput("g", DType::kF32, d, 1, g.data(), 16);
        },
        &info);
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_EQ(fed, (std::vector<int64_t>{0, 1, 2}));
    EXPECT_EQ(info.microBatches, K);
    float lossSum = 0;
    std::vector<float> acc(4, 0.0f);
    for (int64_t m = 0; m < K; ++m) {
      const std::vector<float> g = gradOf(step, m);
      float l = 0;
      for (int i = 0; i < 4; ++i) l += g[i], acc[i] = m == 0 ? g[i] : acc[i] + g[i];
      lossSum += l;
    }
    EXPECT_FLOAT_EQ(info.loss, lossSum / 3);
    EXPECT_FALSE(info.hasLossScale);
    EXPECT_FALSE(info.skipped);
    EXPECT_TRUE(std::isnan(info.gradNorm));
    for (int i = 0; i < 4; ++i) wv[i] = wv[i] - 0.25f * acc[i];
    EXPECT_EQ(readF32State(*session, "W", 4), wv);
    EXPECT_EQ(readI64State(*session, "optimizer.step"), step + 1);
    EXPECT_EQ(readI64State(*session, "accumulate.micro_step"), (step + 1) * K);
  }

  // The micro-step API: the parameters change only at the boundary.
  StepProgress progress;
  for (int64_t m = 0; m < K; ++m) {
    const std::vector<float> g = gradOf(3, m);
    const int64_t d[1] = {4};
    ASSERT_TRUE(session->setInput("g", DType::kF32, d, 1, g.data(), 16).isOk());
    bool complete = true;
    StepInfo info;
    ASSERT_TRUE(trainMicroStep(*session, &progress, &info, &complete).isOk());
    EXPECT_EQ(complete, m == K - 1);
    if (!complete) {
      EXPECT_EQ(readF32State(*session, "W", 4), wv);
      EXPECT_EQ(progress.microBatches, m + 1);
    } else {
      EXPECT_EQ(info.microBatches, K);
      EXPECT_EQ(progress.microBatches, 0);
    }
  }
  EXPECT_EQ(readI64State(*session, "optimizer.step"), 4);
}

TEST(GradientAccumulation, TelemetryOutputsAreNeverTheLoss) {
  // Without an output named "loss", found_inf / grad_norm do not count as
  // "the only scalar float output".
  PlanWriter w;
  buildLossScalingPlan(w);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  std::shared_ptr<const Plan> plan;
  ASSERT_TRUE(Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan).isOk());
  EXPECT_EQ(lossOutputName(*plan), "loss");
}

}  // namespace
}  // namespace mpc::rt::test
