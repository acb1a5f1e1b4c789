// The training part of the C API and the C++ wrapper: train_step, the
// learning rate, state views, checkpoints.
#include <cmath>
#include <cstdio>

#include "mpc/runtime.h"
#include "mpc/runtime.hpp"
#include "loss_scaling_plan.h"
#include "training_plan.h"
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

std::string writePlan(const std::string &name, bool training) {
  const std::string path = "/tmp/mpc_train_c_api_" + std::to_string(::getpid()) + "_" + name;
  PlanWriter w;
  if (training) {
    buildTrainingPlan(w);
  } else {
    int32_t x = w.addTensor("x", DType::kF32, {2}, Storage::kInput);
    int32_t y = w.addTensor("y", DType::kF32, {2}, Storage::kActivation);
    w.addKernel("relu", {x}, {y}, {}, "Relu_0");
    w.bindInput("x", x);
    w.bindOutput("y", y);
  }
  Status s = w.write(path);
  EXPECT_TRUE(s.isOk()) << s.message();
  return path;
}

void setBatch(mpc_session *s, uint32_t seed) {
  TrainingPlanShape shape;
  std::vector<float> x;
  std::vector<int64_t> labels;
  makeBatch(shape, seed, &x, &labels);
  const int64_t xd[2] = {shape.batch, shape.features}, ld[1] = {shape.batch};
  ASSERT_EQ(mpc_session_set_input(s, "x", MPC_DTYPE_F32, xd, 2, x.data(), x.size() * 4), MPC_OK) << mpc_last_error();
  ASSERT_EQ(mpc_session_set_input(s, "labels", MPC_DTYPE_I64, ld, 1, labels.data(), labels.size() * 8), MPC_OK);
}

TEST(TrainCApi, TrainStepLearningRateAndCheckpoints) {
  ensureTrainingKernels();
  const std::string planPath = writePlan("train.mpcp", true);
  mpc_plan *plan = nullptr;
  ASSERT_EQ(mpc_plan_load(planPath.c_str(), &plan), MPC_OK) << mpc_last_error();
  mpc_session *s = nullptr;
  ASSERT_EQ(mpc_session_create(plan, nullptr, &s), MPC_OK) << mpc_last_error();
  setBatch(s, 1);

  float lr = 0;
  ASSERT_EQ(mpc_session_get_learning_rate(s, &lr), MPC_OK);
  EXPECT_FLOAT_EQ(lr, 0.05f);
  float first = NAN, loss = NAN;
  for (int k = 0; k < 20; ++k) {
    ASSERT_EQ(mpc_session_train_step(s, &loss), MPC_OK) << mpc_last_error();
    if (k == 0) first = loss;
  }
  EXPECT_LT(loss, first);
  mpc_tensor_info out;
  ASSERT_EQ(mpc_session_get_output(s, "loss", &out), MPC_OK);
  EXPECT_EQ(*static_cast<const float *>(out.data), loss);
  ASSERT_EQ(mpc_session_train_step(s, nullptr), MPC_OK);  // loss_out may be null

  mpc_tensor_info st;
  ASSERT_EQ(mpc_session_get_state(s, "optimizer.step", &st), MPC_OK) << mpc_last_error();
  EXPECT_EQ(st.dtype, MPC_DTYPE_I64);
  EXPECT_EQ(st.rank, 0);
  EXPECT_EQ(*static_cast<const int64_t *>(st.data), 21);
  EXPECT_EQ(mpc_session_get_state(s, "nope", &st), MPC_ERROR_NOT_FOUND);

  ASSERT_EQ(mpc_session_set_learning_rate(s, 0.25f), MPC_OK);
  ASSERT_EQ(mpc_session_get_learning_rate(s, &lr), MPC_OK);
  EXPECT_EQ(lr, 0.25f);

  const std::string ck = planPath + ".safetensors";
  ASSERT_EQ(mpc_session_save_state(s, ck.c_str()), MPC_OK) << mpc_last_error();
  std::vector<float> w(15), w2(15);
  ASSERT_EQ(mpc_session_read_state(s, "W", w.data(), w.size() * 4), MPC_OK);
  ASSERT_EQ(mpc_session_reset_state(s), MPC_OK);
  ASSERT_EQ(mpc_session_read_state(s, "W", w2.data(), w2.size() * 4), MPC_OK);
  EXPECT_NE(w, w2);
  ASSERT_EQ(mpc_session_load_state(s, ck.c_str()), MPC_OK) << mpc_last_error();
  ASSERT_EQ(mpc_session_read_state(s, "W", w2.data(), w2.size() * 4), MPC_OK);
  EXPECT_EQ(w, w2);
  ASSERT_EQ(mpc_session_get_learning_rate(s, &lr), MPC_OK);
  EXPECT_EQ(lr, 0.25f);

  // Errors.
  EXPECT_EQ(mpc_session_load_state(s, (ck + ".missing").c_str()), MPC_ERROR_NOT_FOUND);
  EXPECT_NE(std::string(mpc_last_error()).find("cannot open checkpoint"), std::string::npos);
  EXPECT_EQ(mpc_session_load_state(s, planPath.c_str()), MPC_ERROR_INVALID_ARGUMENT);  // a plan is no checkpoint
  EXPECT_NE(std::string(mpc_last_error()).find("invalid checkpoint"), std::string::npos);
  EXPECT_EQ(mpc_session_save_state(s, "/nonexistent_dir/x.safetensors"), MPC_ERROR_IO);
  EXPECT_EQ(mpc_session_train_step(nullptr, &loss), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_session_set_learning_rate(s, NAN), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_session_save_state(s, nullptr), MPC_ERROR_INVALID_ARGUMENT);

  mpc_session_destroy(s);
  mpc_plan_free(plan);
  std::remove(ck.c_str());
  std::remove(planPath.c_str());
}

TEST(TrainCApi, InferencePlanHasNoLearningRate) {
  ensureTrainingKernels();
  const std::string planPath = writePlan("infer.mpcp", false);
  mpc_plan *plan = nullptr;
  ASSERT_EQ(mpc_plan_load(planPath.c_str(), &plan), MPC_OK);
  mpc_session *s = nullptr;
  ASSERT_EQ(mpc_session_create(plan, nullptr, &s), MPC_OK);
  EXPECT_EQ(mpc_session_set_learning_rate(s, 0.1f), MPC_ERROR_NOT_FOUND);
  EXPECT_NE(std::string(mpc_last_error()).find("optimizer.lr"), std::string::npos);
  const float x[2] = {1, -1};
  const int64_t d[1] = {2};
  ASSERT_EQ(mpc_session_set_input(s, "x", MPC_DTYPE_F32, d, 1, x, 8), MPC_OK);
  float loss = 0;
  ASSERT_EQ(mpc_session_train_step(s, &loss), MPC_OK);
  EXPECT_TRUE(std::isnan(loss));
  mpc_session_destroy(s);
  mpc_plan_free(plan);
  std::remove(planPath.c_str());
}

TEST(TrainCppWrapper, TrainsAndCheckpoints) {
  ensureTrainingKernels();
  const std::string planPath = writePlan("wrapper.mpcp", true);
  mpc::Plan plan(planPath);
  mpc::Session s(plan, mpc::Device::kCPU, 2);
  TrainingPlanShape shape;
  std::vector<float> x;
  std::vector<int64_t> labels;
  makeBatch(shape, 3, &x, &labels);
  s.setInput("x", x.data(), {shape.batch, shape.features});
  s.setInput("labels", labels.data(), {shape.batch});
  const float first = s.trainStep();
  float last = first;
  for (int k = 0; k < 10; ++k) last = s.trainStep();
  EXPECT_LT(last, first);
  EXPECT_EQ(s.readState<int64_t>("optimizer.step"), std::vector<int64_t>{11});
  s.setLearningRate(0.01f);
  EXPECT_EQ(s.learningRate(), 0.01f);
  mpc::TensorRef w = s.state("W");
  EXPECT_EQ(w.shape, (std::vector<int64_t>{5, 3}));
  std::vector<float> before = s.readState<float>("W");
  const std::string ck = planPath + ".safetensors";
  s.saveState(ck);
  s.writeState("W", std::vector<float>(15, 0.0f));
  EXPECT_EQ(s.readState<float>("W"), std::vector<float>(15, 0.0f));
  s.loadState(ck);
  EXPECT_EQ(s.readState<float>("W"), before);
  try {
    s.readState<double>("W");
    ADD_FAILURE() << "reading an f32 state as double must throw";
  } catch (const mpc::Error &e) {
    EXPECT_EQ(e.code(), MPC_ERROR_INVALID_ARGUMENT);
  }
  try {
    s.loadState(ck + ".missing");
    ADD_FAILURE() << "loading a missing checkpoint must throw";
  } catch (const mpc::Error &e) {
    EXPECT_EQ(e.code(), MPC_ERROR_NOT_FOUND);
  }
  std::remove(ck.c_str());
  std::remove(planPath.c_str());
}

// ---- Loss scaling telemetry through the C API and the C++ wrapper ----

std::string writeLossScalingPlan(const std::string &name, int64_t accumulate) {
  const std::string path = "/tmp/mpc_train_c_api_" + std::to_string(::getpid()) + "_" + name;
  PlanWriter w;
  if (accumulate > 1) buildAccumulationPlan(w, accumulate);
  else buildLossScalingPlan(w, 4.0f);
  Status s = w.write(path);
  EXPECT_TRUE(s.isOk()) << s.message();
  return path;
}

void setScaledGrad(mpc_session *s, float g1) {
  const float x[4] = {1, 2, 3, 4};
  const uint16_t g[4] = {floatToHalf(4.0f), floatToHalf(g1), floatToHalf(0.0f), floatToHalf(0.0f)};
  const int64_t d[1] = {4};
  ASSERT_EQ(mpc_session_set_input(s, "x", MPC_DTYPE_F32, d, 1, x, sizeof x), MPC_OK) << mpc_last_error();
  ASSERT_EQ(mpc_session_set_input(s, "g", MPC_DTYPE_F16, d, 1, g, sizeof g), MPC_OK) << mpc_last_error();
}

TEST(TrainCApi, StepInfoReportsLossScaleSkipsAndWarnings) {
  ensureTrainingKernels();
  const std::string path = writeLossScalingPlan("ls.mpcp", 1);
  mpc_plan *plan = nullptr;
  ASSERT_EQ(mpc_plan_load(path.c_str(), &plan), MPC_OK) << mpc_last_error();
  mpc_session *s = nullptr;
  ASSERT_EQ(mpc_session_create(plan, nullptr, &s), MPC_OK) << mpc_last_error();
  mpc_plan_free(plan);
  int32_t k = 0;
  ASSERT_EQ(mpc_session_accumulation_steps(s, &k), MPC_OK);
  EXPECT_EQ(k, 1);
  EXPECT_EQ(mpc_session_set_loss_scale_monitor(s, -1.0f, 8, 100), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_session_set_loss_scale_monitor(s, 1.0f, 8, 0), MPC_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(mpc_session_set_loss_scale_monitor(s, 0.0f, 2, 10), MPC_OK);  // warn at the 2nd skip
  EXPECT_EQ(mpc_session_train_step_info(s, nullptr), MPC_ERROR_INVALID_ARGUMENT);

  mpc_step_info info;
  setScaledGrad(s, 8.0f);
  ASSERT_EQ(mpc_session_train_step_info(s, &info), MPC_OK) << mpc_last_error();
  EXPECT_EQ(info.step_complete, 1);
  EXPECT_EQ(info.micro_batches, 1);
  EXPECT_EQ(info.loss, 10.0f);
  EXPECT_EQ(info.has_loss_scale, 1);
  EXPECT_EQ(info.loss_scale, 4.0f);
  EXPECT_EQ(info.skipped, 0);
  EXPECT_FLOAT_EQ(info.grad_norm, std::sqrt(5.0f));
  EXPECT_EQ(info.nonfinite_tensor, nullptr);
  EXPECT_EQ(info.warning, nullptr);

  setScaledGrad(s, INFINITY);
  ASSERT_EQ(mpc_session_train_step_info(s, &info), MPC_OK) << mpc_last_error();
  EXPECT_EQ(info.skipped, 1);
  ASSERT_NE(info.nonfinite_tensor, nullptr);
  EXPECT_STREQ(info.nonfinite_tensor, "W");
  EXPECT_EQ(info.warning, nullptr);
  ASSERT_EQ(mpc_session_train_step_info(s, &info), MPC_OK) << mpc_last_error();
  EXPECT_EQ(info.skipped, 1);
  EXPECT_EQ(info.loss_scale, 2.0f);
  ASSERT_NE(info.warning, nullptr);
  EXPECT_NE(std::string(info.warning).find("'W'"), std::string::npos) << info.warning;
  ASSERT_EQ(mpc_session_train_step_info(s, &info), MPC_OK);
  EXPECT_EQ(info.warning, nullptr);  // once per episode
  mpc_session_destroy(s);
  std::remove(path.c_str());
}

TEST(TrainCApi, StepInfoWithGradientAccumulation) {
  ensureTrainingKernels();
  const std::string path = writeLossScalingPlan("accum.mpcp", 2);
  mpc::Plan plan(path);
  mpc::Session session(plan);
  EXPECT_EQ(session.accumulationSteps(), 2);
  const int64_t d[1] = {4};
  for (int step = 0; step < 2; ++step)
    for (int m = 0; m < 2; ++m) {
      const float g[4] = {1.0f + m, 2, 3, 4};
      ASSERT_EQ(mpc_session_set_input(session.handle(), "g", MPC_DTYPE_F32, d, 1, g, sizeof g), MPC_OK);
      mpc::StepInfo info = session.trainStepInfo();
      EXPECT_EQ(info.stepComplete, m == 1);
      EXPECT_EQ(info.microBatches, m + 1);
      if (info.stepComplete) {
        EXPECT_EQ(info.loss, 10.5f);  // mean of 10 and 11
        EXPECT_FALSE(info.hasLossScale);
        EXPECT_TRUE(std::isnan(info.lossScale));
        EXPECT_FALSE(info.skipped);
        EXPECT_EQ(info.nonfiniteTensor, "");
        EXPECT_EQ(info.warning, "");
      } else {
        EXPECT_TRUE(std::isnan(info.loss));
      }
    }
  EXPECT_EQ(session.readState<int64_t>("optimizer.step")[0], 2);
  EXPECT_THROW(session.setLossScaleMonitor(1.0f, -1, 10), mpc::Error);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace mpc::rt::test
