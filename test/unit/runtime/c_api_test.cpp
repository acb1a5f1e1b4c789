// The C API and the C++ wrapper, used as an application would.
#include <cstring>

#include "mpc/runtime.h"
#include "mpc/runtime.hpp"
#include "test_util.h"

namespace mpc::rt::test {
namespace {

std::string writeSample() {
  PlanWriter w;
  buildSamplePlan(w);
  std::string path = tempPath("capi.mpcp");
  Status s = w.write(path);
  EXPECT_TRUE(s.isOk()) << s.message();
  return path;
}

TEST(CApi, NullArgumentsAndMissingFiles) {
  mpc_plan *plan = reinterpret_cast<mpc_plan *>(0x1);
  EXPECT_EQ(mpc_plan_load(nullptr, &plan), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(plan, nullptr);
  EXPECT_NE(std::strstr(mpc_last_error(), "path"), nullptr);
  EXPECT_EQ(mpc_plan_load("/no/such/plan.mpcp", &plan), MPC_ERROR_NOT_FOUND);
  EXPECT_NE(std::strstr(mpc_last_error(), "/no/such/plan.mpcp"), nullptr);
  EXPECT_EQ(mpc_plan_load("x", nullptr), MPC_ERROR_INVALID_ARGUMENT);
  int32_t n;
  EXPECT_EQ(mpc_plan_num_inputs(nullptr, &n), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_session_run(nullptr), MPC_ERROR_INVALID_ARGUMENT);
  mpc_step_info info;
  EXPECT_EQ(mpc_session_train_step_info(nullptr, &info), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(mpc_last_error(), "mpc_session_train_step_info"), nullptr);
  EXPECT_EQ(mpc_session_accumulation_steps(nullptr, &n), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_session_set_loss_scale_monitor(nullptr, 1.0f, 8, 100), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_plan_free(nullptr), MPC_OK);
  EXPECT_EQ(mpc_session_destroy(nullptr), MPC_OK);
  EXPECT_STREQ(mpc_status_name(MPC_ERROR_INVALID_PLAN), "MPC_ERROR_INVALID_PLAN");
  EXPECT_STREQ(mpc_dtype_name(MPC_DTYPE_BF16), "bf16");
  EXPECT_STREQ(mpc_dtype_name(static_cast<mpc_dtype>(300)), "invalid");
  EXPECT_EQ(mpc_dtype_size(MPC_DTYPE_F8E5M2), 1u);
  EXPECT_EQ(mpc_dtype_size(static_cast<mpc_dtype>(1000)), 0u);
}

TEST(CApi, CorruptPlanIsInvalidPlan) {
  std::vector<uint8_t> f = samplePlanBytes();
  f[300] ^= 0x10;
  std::string path = tempPath("capi_bad.mpcp");
  FILE *fp = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(fp);
  std::fwrite(f.data(), 1, f.size(), fp);
  std::fclose(fp);
  mpc_plan *plan = nullptr;
  EXPECT_EQ(mpc_plan_load(path.c_str(), &plan), MPC_ERROR_INVALID_PLAN);
  EXPECT_NE(std::strstr(mpc_last_error(), "checksum"), nullptr) << mpc_last_error();
  std::remove(path.c_str());
}

TEST(CApi, QueriesAndErrors) {
  std::string path = writeSample();
  mpc_plan *plan = nullptr;
  ASSERT_EQ(mpc_plan_load(path.c_str(), &plan), MPC_OK) << mpc_last_error();
  int32_t n = 0;
  ASSERT_EQ(mpc_plan_num_inputs(plan, &n), MPC_OK);
  EXPECT_EQ(n, 1);
  mpc_tensor_info info;
  ASSERT_EQ(mpc_plan_input_info(plan, 0, &info), MPC_OK);
  EXPECT_STREQ(info.name, "x");
  EXPECT_EQ(info.dtype, MPC_DTYPE_F32);
  EXPECT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[1], 3);
  EXPECT_EQ(info.nbytes, 24u);
  EXPECT_EQ(mpc_plan_input_info(plan, 1, &info), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_plan_input_info(plan, -1, &info), MPC_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(mpc_plan_num_outputs(plan, &n), MPC_OK);
  EXPECT_EQ(n, 4);
  ASSERT_EQ(mpc_plan_num_states(plan, &n), MPC_OK);
  EXPECT_EQ(n, 1);
  ASSERT_EQ(mpc_plan_state_info(plan, 0, &info), MPC_OK);
  EXPECT_STREQ(info.name, "bias");

  mpc_session_options opts;
  mpc_session_options_init(&opts);
  opts.device = MPC_DEVICE_CUDA;
  mpc_session *session = nullptr;
  EXPECT_EQ(mpc_session_create(plan, &opts, &session), MPC_ERROR_UNSUPPORTED);
  EXPECT_NE(std::strstr(mpc_last_error(), "CUDA"), nullptr);
  opts.device = static_cast<mpc_device>(9);
  EXPECT_EQ(mpc_session_create(plan, &opts, &session), MPC_ERROR_INVALID_ARGUMENT);
  mpc_plan_free(plan);
  std::remove(path.c_str());
}

TEST(CApi, RunSamplePlanOnCpu) {
  requireCpuKernel("matmul", {DType::kF32, DType::kF32, DType::kF32});
  requireCpuKernel("add", {DType::kF32, DType::kF32, DType::kF32});
  requireCpuKernel("relu", {DType::kF32, DType::kF32});
  std::string path = writeSample();
  mpc_plan *plan = nullptr;
  ASSERT_EQ(mpc_plan_load(path.c_str(), &plan), MPC_OK) << mpc_last_error();
  mpc_session *session = nullptr;
  ASSERT_EQ(mpc_session_create(plan, nullptr, &session), MPC_OK) << mpc_last_error();
  mpc_plan_free(plan);  // the session keeps the plan alive
  float x[6] = {1, 0, 0, 0, 1, 0};
  int64_t dims[2] = {2, 3};
  EXPECT_EQ(mpc_session_set_input(session, "x", MPC_DTYPE_F16, dims, 2, x, 12), MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(mpc_last_error(), "input 'x'"), nullptr) << mpc_last_error();
  EXPECT_EQ(mpc_session_set_input(session, "x", static_cast<mpc_dtype>(257), dims, 2, x, 24),
            MPC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mpc_session_set_input(session, "x", MPC_DTYPE_F32, dims, 9, x, 24), MPC_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(mpc_session_set_input(session, "x", MPC_DTYPE_F32, dims, 2, x, sizeof(x)), MPC_OK) << mpc_last_error();
  ASSERT_EQ(mpc_session_run(session), MPC_OK) << mpc_last_error();
  mpc_tensor_info y;
  ASSERT_EQ(mpc_session_get_output(session, "y", &y), MPC_OK);
  ASSERT_NE(y.data, nullptr);
  // Row 0 of y = relu(w[0, :] + 0.5); w[0, :] = {-2, -1, 0, 1}.
  const float *yv = static_cast<const float *>(y.data);
  EXPECT_EQ(yv[0], 0.0f);
  EXPECT_EQ(yv[2], 0.5f);
  EXPECT_EQ(yv[3], 1.5f);
  EXPECT_EQ(mpc_session_get_output(session, "zzz", &y), MPC_ERROR_NOT_FOUND);
  float bias[4] = {10, 10, 10, 10};
  ASSERT_EQ(mpc_session_write_state(session, "bias", bias, sizeof(bias)), MPC_OK);
  ASSERT_EQ(mpc_session_run(session), MPC_OK);
  ASSERT_EQ(mpc_session_get_output(session, "y", &y), MPC_OK);
  EXPECT_EQ(static_cast<const float *>(y.data)[0], 8.0f);
  float back[4];
  ASSERT_EQ(mpc_session_read_state(session, "bias", back, sizeof(back)), MPC_OK);
  EXPECT_EQ(back[1], 10.0f);
  EXPECT_EQ(mpc_session_read_state(session, "bias", back, 3), MPC_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(mpc_session_reset_state(session), MPC_OK);
  ASSERT_EQ(mpc_session_read_state(session, "bias", back, sizeof(back)), MPC_OK);
  EXPECT_EQ(back[1], 0.5f);
  mpc_session_destroy(session);
  std::remove(path.c_str());
}

TEST(CppWrapper, ThrowsWithCodeAndRuns) {
  try {
    mpc::Plan missing("/no/such.mpcp");
    FAIL() << "expected mpc::Error";
  } catch (const mpc::Error &e) {
    EXPECT_EQ(e.code(), MPC_ERROR_NOT_FOUND);
    EXPECT_NE(std::string(e.what()).find("/no/such.mpcp"), std::string::npos);
  }
  requireCpuKernel("matmul", {DType::kF32, DType::kF32, DType::kF32});
  std::string path = writeSample();
  mpc::Plan plan(path);
  ASSERT_EQ(plan.inputs().size(), 1u);
  EXPECT_EQ(plan.inputs()[0].shape, (std::vector<int64_t>{2, 3}));
  mpc::Session session(plan, mpc::Device::kCPU, 1);
  EXPECT_THROW(mpc::Session(plan, mpc::Device::kCUDA), mpc::Error);
  std::vector<float> x(6, 1.0f);
  session.setInput("x", x.data(), {2, 3});
  session.run();
  mpc::TensorRef y = session.output("y");
  EXPECT_EQ(y.shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(y.numel(), 8);
  EXPECT_THROW(session.output("nope"), mpc::Error);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace mpc::rt::test
