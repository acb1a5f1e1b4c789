// CUDA sessions: the sample plan (matmul, add with a state, relu) on CUDA
// against CPU, CUDA-graph replay with changing inputs and states, and the
// behaviour without a device (which runs everywhere).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "../cpu_training/loss_scaling_plan.h"
#include "../test_util.h"
#include "core/backends.h"
#include "core/float_formats.h"
#include "core/plan.h"
#include "core/session.h"
#include "cuda/context.h"
#include "cuda_test_util.h"

namespace mpc::rt::test {
namespace {

std::shared_ptr<const Plan> samplePlan() {
  std::vector<uint8_t> bytes = samplePlanBytes();
  std::shared_ptr<const Plan> plan;
  Status s = Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan);
  EXPECT_TRUE(s.isOk()) << s.message();
  return plan;
}

std::vector<float> outputOf(const Session &s, const char *name) {
  TensorView v;
  Status st = s.output(name, &v);
  EXPECT_TRUE(st.isOk()) << st.message();
  if (!st.isOk() || !v.data) return {};
  return std::vector<float>(v.as<const float>(), v.as<const float>() + v.numel());
}

// Runs without a GPU: the failure is a clear error, never an abort.
// One single-threaded CPU session and one CUDA session of `plan`.
::testing::AssertionResult createCpuAndCuda(const std::shared_ptr<const Plan> &plan, std::unique_ptr<Session> *cpu,
                                            std::unique_ptr<Session> *gpu) {
  SessionOptions co, go;
  co.numThreads = 1;
  go.device = Device::kCUDA;
  for (auto [opts, out] : {std::pair{&co, cpu}, std::pair{&go, gpu}}) {
    Status st = Session::create(plan, *opts, out);
    if (!st.isOk()) return ::testing::AssertionFailure() << st.message();
  }
  return ::testing::AssertionSuccess();
}

TEST(CudaSession, UnavailableDeviceIsAClearError) {
  if (isDeviceAvailable(Device::kCUDA)) GTEST_SKIP() << "a CUDA device is present: " << cuda::deviceDescription();
  EXPECT_EQ(cuda::deviceCount(), 0);
  SessionOptions o;
  o.device = Device::kCUDA;
  std::unique_ptr<Session> s;
  Status st = Session::create(samplePlan(), o, &s);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("no CUDA device"), std::string::npos) << st.message();
  EXPECT_FALSE(s);
}

// Runs everywhere: every CUDA kernel reuses the load-time check of a CPU twin.
TEST(CudaRegistry, EveryCudaKernelHasACpuTwin) {
  registerBuiltinKernels();
  const KernelRegistry &reg = KernelRegistry::global();
  int n = 0;
  for (const KernelEntry &e : reg.entries()) {
    if (e.device != Device::kCUDA) continue;
    ++n;
    EXPECT_NE(reg.lookup(e.op, Device::kCPU, e.dtypes), nullptr) << "CUDA kernel " << e.op << " has no CPU twin";
    EXPECT_NE(e.check, nullptr) << "CUDA kernel " << e.op << " has no load-time check";
  }
  if (!cuda::isCompiledIn()) EXPECT_EQ(n, 0);
  else EXPECT_GT(n, 0);
}

TEST(CudaSession, MatchesCpuAcrossGraphReplays) {
  MPC_REQUIRE_CUDA();
  auto plan = samplePlan();
  std::unique_ptr<Session> cpu, gpu;
  ASSERT_TRUE(createCpuAndCuda(plan, &cpu, &gpu));
  Status st;
  const int64_t dims[2] = {2, 3};
  for (int run = 0; run < 4; ++run) {  // eager, capture, replay, replay
    std::vector<float> x(6);
    for (int i = 0; i < 6; ++i) x[i] = 0.5f * (i - 2) + run;
    for (Session *s : {cpu.get(), gpu.get()}) {
      ASSERT_TRUE(s->setInput("x", DType::kF32, dims, 2, x.data(), 24).isOk());
      if (run == 2) {  // a state written between replays must be seen by the graph
        std::vector<float> bias = {1, -1, 2, -2};
        ASSERT_TRUE(s->writeState("bias", bias.data(), 16).isOk());
      }
      st = s->run();
      ASSERT_TRUE(st.isOk()) << st.message();
    }
    EXPECT_EQ(outputOf(*cpu, "y"), outputOf(*gpu, "y")) << "run " << run;
    EXPECT_EQ(outputOf(*cpu, "x_out"), outputOf(*gpu, "x_out"));
    EXPECT_EQ(outputOf(*cpu, "w_out"), outputOf(*gpu, "w_out"));
    EXPECT_EQ(outputOf(*cpu, "bias_out"), outputOf(*gpu, "bias_out"));
  }
  std::vector<float> a(4), b(4);
  ASSERT_TRUE(cpu->readState("bias", a.data(), 16).isOk());
  ASSERT_TRUE(gpu->readState("bias", b.data(), 16).isOk());
  EXPECT_EQ(a, b);
  gpu->resetState();
  ASSERT_TRUE(gpu->readState("bias", b.data(), 16).isOk());
  EXPECT_EQ(b, std::vector<float>(4, 0.5f));
}

// y = relu(x @ w + 0.5) for the sample plan's w and initial bias.
std::vector<float> sampleY(const float *x) {
  std::vector<float> w(12), y(8);
  for (int i = 0; i < 12; ++i) w[i] = (i % 5) - 2.0f;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) {
      float acc = 0;
      for (int k = 0; k < 3; ++k) acc += x[r * 3 + k] * w[k * 4 + c];
      acc += 0.5f;
      y[r * 4 + c] = acc > 0 ? acc : 0.0f;
    }
  return y;
}

TEST(CudaSession, InputViewStaysLive) {
  MPC_REQUIRE_CUDA();
  for (bool graphs : {false, true}) {
    SessionOptions go;
    go.device = Device::kCUDA;
    go.cudaGraphs = graphs;
    std::unique_ptr<Session> gpu;
    Status st = Session::create(samplePlan(), go, &gpu);
    ASSERT_TRUE(st.isOk()) << st.message();
    TensorView in;
    ASSERT_TRUE(gpu->inputView("x", &in).isOk());
    for (int r = 0; r < 4; ++r) {
      // Refilled through the same view, as a CPU session allows.
      for (int i = 0; i < 6; ++i) in.as<float>()[i] = static_cast<float>(i * (r + 1)) - 3.0f;
      st = gpu->run();
      ASSERT_TRUE(st.isOk()) << st.message();
      EXPECT_EQ(outputOf(*gpu, "y"), sampleY(in.as<const float>())) << "graphs " << graphs << ", run " << r;
    }
  }
}

// The loss-scaling and accumulation plans (cpu_training/loss_scaling_plan.h)
// on both devices through eager, captured and replayed runs: skipped steps
// (an inf gradient), scale backoff and growth, micro-step counters - every
// scalar lives on the device and must be seen by the replayed graph.
std::shared_ptr<const Plan> planOf(PlanWriter &w) {
  std::vector<uint8_t> bytes;
  Status s = w.writeToBuffer(&bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  std::shared_ptr<const Plan> plan;
  s = Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan);
  EXPECT_TRUE(s.isOk()) << s.message();
  return plan;
}

template <typename T> std::vector<T> stateOf(const Session &s, const char *name, size_t n) {
  std::vector<T> v(n);
  const Status st = s.readState(name, v.data(), n * sizeof(T));
  EXPECT_TRUE(st.isOk()) << name << ": " << st.message();
  return v;
}

TEST(CudaSession, LossScalingStepsMatchCpu) {
  MPC_REQUIRE_CUDA();
  PlanWriter w;
  buildLossScalingPlan(w);
  auto plan = planOf(w);
  ASSERT_TRUE(plan);
  std::unique_ptr<Session> cpu, gpu;
  ASSERT_TRUE(createCpuAndCuda(plan, &cpu, &gpu));
  Status st;
  const int64_t d[1] = {4};
  for (int run = 0; run < 6; ++run) {  // eager, capture, then replays
    const std::vector<float> x = {1, 2, 3, 4.5f + run};
    std::vector<uint16_t> g;
    for (double v : {4.0, -8.0, 2.0, 16.0 + run}) g.push_back(floatToHalf(static_cast<float>(v)));
    if (run == 2) g[1] = 0x7C00;  // +inf: the step is skipped, the scale backs off
    for (Session *s : {cpu.get(), gpu.get()}) {
      ASSERT_TRUE(s->setInput("x", DType::kF32, d, 1, x.data(), 16).isOk());
      ASSERT_TRUE(s->setInput("g", DType::kF16, d, 1, g.data(), 8).isOk());
      st = s->run();
      ASSERT_TRUE(st.isOk()) << st.message();
    }
    SCOPED_TRACE("run " + std::to_string(run));
    EXPECT_EQ(outputOf(*cpu, "loss"), outputOf(*gpu, "loss"));
    EXPECT_EQ(outputOf(*cpu, "found_inf"), outputOf(*gpu, "found_inf"));
    const std::vector<float> nc = outputOf(*cpu, "grad_norm"), ng = outputOf(*gpu, "grad_norm");
    ASSERT_EQ(nc.size(), 1u);
    ASSERT_EQ(ng.size(), 1u);
    if (std::isfinite(nc[0])) EXPECT_NEAR(ng[0], nc[0], 2.5e-7 * std::fabs(nc[0]));
    else EXPECT_EQ(std::isnan(nc[0]), std::isnan(ng[0]));
    TensorView ic, ig;
    ASSERT_TRUE(cpu->output("nonfinite_index", &ic).isOk());
    ASSERT_TRUE(gpu->output("nonfinite_index", &ig).isOk());
    EXPECT_EQ(ic.as<const int64_t>()[0], ig.as<const int64_t>()[0]);
    EXPECT_EQ(stateOf<float>(*cpu, "W", 4), stateOf<float>(*gpu, "W", 4));
    EXPECT_EQ(stateOf<uint16_t>(*cpu, "W.working", 4), stateOf<uint16_t>(*gpu, "W.working", 4));
    EXPECT_EQ(stateOf<float>(*cpu, "loss_scale.scale", 1), stateOf<float>(*gpu, "loss_scale.scale", 1));
    EXPECT_EQ(stateOf<int64_t>(*cpu, "loss_scale.growth_tracker", 1),
              stateOf<int64_t>(*gpu, "loss_scale.growth_tracker", 1));
    EXPECT_EQ(stateOf<int64_t>(*cpu, "optimizer.step", 1), stateOf<int64_t>(*gpu, "optimizer.step", 1));
  }
}

TEST(CudaSession, AccumulationStepsMatchCpu) {
  MPC_REQUIRE_CUDA();
  PlanWriter w;
  buildAccumulationPlan(w, 3);
  auto plan = planOf(w);
  ASSERT_TRUE(plan);
  std::unique_ptr<Session> cpu, gpu;
  ASSERT_TRUE(createCpuAndCuda(plan, &cpu, &gpu));
  Status st;
  const int64_t d[1] = {4};
  for (int run = 0; run < 7; ++run) {
    const std::vector<float> g = {0.5f * run, -1.0f, 0.25f, 2.0f - run};
    for (Session *s : {cpu.get(), gpu.get()}) {
      ASSERT_TRUE(s->setInput("g", DType::kF32, d, 1, g.data(), 16).isOk());
      st = s->run();
      ASSERT_TRUE(st.isOk()) << st.message();
    }
    SCOPED_TRACE("micro-batch " + std::to_string(run));
    EXPECT_EQ(stateOf<float>(*cpu, "W", 4), stateOf<float>(*gpu, "W", 4));
    EXPECT_EQ(stateOf<float>(*cpu, "W.grad_accum", 4), stateOf<float>(*gpu, "W.grad_accum", 4));
    EXPECT_EQ(stateOf<int64_t>(*cpu, "accumulate.micro_step", 1), stateOf<int64_t>(*gpu, "accumulate.micro_step", 1));
    EXPECT_EQ(stateOf<int64_t>(*cpu, "optimizer.step", 1), stateOf<int64_t>(*gpu, "optimizer.step", 1));
  }
}

}  // namespace
}  // namespace mpc::rt::test
