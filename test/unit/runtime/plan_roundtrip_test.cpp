// PlanWriter -> file -> loader -> Session round trips.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/plan.h"
#include "core/session.h"
#include "test_util.h"

namespace mpc::rt::test {
namespace {

TEST(PlanRoundTrip, MetadataSurvivesWriteAndLoad) {
  PlanWriter w;
  buildSamplePlan(w);
  std::string path = tempPath("roundtrip.mpcp");
  Status s = w.write(path);
  ASSERT_TRUE(s.isOk()) << s.message();

  std::shared_ptr<const Plan> plan;
  LoadOptions opts;
  opts.verifyData = true;
  s = Plan::load(path, opts, &plan);
  ASSERT_TRUE(s.isOk()) << s.message();
  std::remove(path.c_str());  // the mapping stays valid after unlink

  EXPECT_EQ(plan->versionMajor(), plan::kVersionMajor);
  ASSERT_EQ(plan->tensors().size(), 6u);
  const PlanTensor &wt = plan->tensors()[1];
  EXPECT_EQ(wt.name, "w");
  EXPECT_EQ(wt.dtype, DType::kF32);
  EXPECT_EQ(wt.storage, Storage::kConstant);
  EXPECT_EQ(wt.dims, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(wt.nbytes, 48u);
  EXPECT_EQ(wt.dataOffset % plan::kDataAlignment, 0u);
  const float *wData = reinterpret_cast<const float *>(plan->data() + wt.dataOffset);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(wData[i], (i % 5) - 2.0f);

  ASSERT_EQ(plan->kernels().size(), 3u);
  EXPECT_EQ(plan->kernels()[0].op, "matmul");
  EXPECT_EQ(plan->kernels()[0].location, "MatMul_0");
  EXPECT_EQ(plan->kernels()[1].inputs, (std::vector<int32_t>{3, 2}));
  EXPECT_EQ(plan->kernels()[1].attrs.getString("note", ""), "bias");
  EXPECT_EQ(plan->inputs().size(), 1u);
  EXPECT_EQ(plan->outputs().size(), 4u);
  ASSERT_EQ(plan->states().size(), 1u);
  EXPECT_EQ(plan->states()[0].name, "bias");
  EXPECT_EQ(plan->findOutput("w_out"), 1);
  EXPECT_GT(plan->activationArenaBytes(), 0u);
  EXPECT_EQ(plan->stateArenaBytes(), 64u);
}

TEST(PlanRoundTrip, EveryAttributeKind) {
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {4}, Storage::kInput);
  int32_t y = w.addTensor("y", DType::kF32, {4}, Storage::kActivation);
  std::vector<Attr> attrs = {{"i", int64_t{-7}},
                             {"f", 0.125},
                             {"s", std::string("tanh")},
                             {"is", std::vector<int64_t>{1, -2, 3}},
                             {"fs", std::vector<double>{1.5, -0.0, 1e300}},
                             {"empty", std::vector<int64_t>{}}};
  w.addKernel("custom_op", {x}, {y}, attrs, "node/with/slashes");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  std::shared_ptr<const Plan> plan;
  Status s = Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan);
  ASSERT_TRUE(s.isOk()) << s.message();
  const Attrs &a = plan->kernels()[0].attrs;
  EXPECT_EQ(a.getInt("i", 0), -7);
  EXPECT_EQ(a.getFloat("f", 0), 0.125);
  EXPECT_EQ(a.getString("s", ""), "tanh");
  EXPECT_EQ(a.getInts("is"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(a.getFloats("fs"), (std::vector<double>{1.5, -0.0, 1e300}));
  EXPECT_TRUE(a.has("empty"));
  EXPECT_TRUE(a.getInts("empty").empty());
  EXPECT_EQ(plan->kernels()[0].location, "node/with/slashes");
  Status err;
  a.getInt("s", 0, &err);
  EXPECT_FALSE(err.isOk());
  EXPECT_NE(err.message().find("'s'"), std::string::npos);
}

TEST(PlanRoundTrip, WriteIsAtomicAndLeavesNoTempFile) {
  PlanWriter w;
  buildSamplePlan(w);
  std::string path = tempPath("atomic.mpcp");
  ASSERT_TRUE(w.write(path).isOk());
  ASSERT_TRUE(w.write(path).isOk());  // overwrite
  EXPECT_NE(access(path.c_str(), F_OK), -1);
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  EXPECT_EQ(access(tmp.c_str(), F_OK), -1);
  std::remove(path.c_str());
  Status s = w.write("/nonexistent-dir/x.mpcp");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
}

TEST(PlanRoundTrip, DataSectionIsAlignedInTheFile) {
  std::vector<uint8_t> f = samplePlanBytes();
  auto [off, size] = findSection(f, plan::SectionKind::kData);
  EXPECT_EQ(off % plan::kDataFileAlignment, 0u);
  EXPECT_EQ(off + size, f.size());
}

// 64-bit offsets: a constant placed 4 GiB into the data section (a sparse
// file, so no disk space is used) loads and reads back through the mapping.
TEST(PlanRoundTrip, DataOffsetsBeyondFourGiB) {
  std::vector<uint8_t> f = samplePlanBytes();
  const uint64_t bigOffset = uint64_t{1} << 32;
  size_t dataEntry = plan::kHeaderSize + 4 * plan::kSectionEntrySize;
  uint64_t dataOffset = loadU64LE(f.data() + dataEntry + 8);
  uint64_t dataSize = bigOffset + 4096;
  storeU64(f, dataEntry + 16, dataSize);
  storeU64(f, plan::hdr::kFileSize, dataOffset + dataSize);
  size_t wRecord = tensorRecordOffset(f, 1);      // constant 'w' f32[3,4]
  storeU64(f, wRecord + 8 + 16 + 8, bigOffset);  // its data offset
  reseal(f);
  std::string path = tempPath("big.mpcp");
  FILE *fp = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(fp);
  ASSERT_EQ(std::fwrite(f.data(), 1, f.size(), fp), f.size());
  std::fclose(fp);
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(dataOffset + dataSize)), 0);
  std::shared_ptr<const Plan> plan;
  Status s = Plan::load(path, {}, &plan);
  std::remove(path.c_str());
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(plan->dataSize(), dataSize);
  EXPECT_EQ(plan->tensors()[1].dataOffset, bigOffset);
  const float *w = reinterpret_cast<const float *>(plan->data() + bigOffset);
  EXPECT_EQ(w[11], 0.0f);  // a hole in the sparse file
}

// A test-only kernel: y = 2 * x (f32), registered once for this binary.
Status doubleKernel(const KernelCall &c) {
  const float *x = c.inputs[0].as<float>();
  float *y = c.outputs[0].as<float>();
  for (int64_t i = 0; i < c.outputs[0].numel(); ++i) y[i] = 2 * x[i];
  return Status::ok();
}
// (state, x) -> state: state += sum(x); a state update in place.
Status accumulateKernel(const KernelCall &c) {
  const float *x = c.inputs[1].as<float>();
  float *s = c.outputs[0].as<float>();
  for (int64_t i = 0; i < c.inputs[1].numel(); ++i) s[0] += x[i];
  return Status::ok();
}
Status failingKernel(const KernelCall &c) {
  return Status(StatusCode::kInvalidArgument, "deliberate failure at " + std::string(c.location));
}
void registerTestKernels() {
  static bool done = false;
  if (done) return;
  done = true;
  auto &reg = KernelRegistry::global();
  reg.add({"test_double", Device::kCPU, {DType::kF32, DType::kF32}, doubleKernel});
  reg.add({"test_accumulate", Device::kCPU, {DType::kF32, DType::kF32, DType::kF32}, accumulateKernel});
  reg.add({"test_fail", Device::kCPU, {DType::kInvalid, DType::kInvalid}, failingKernel});
}

std::shared_ptr<const Plan> loadBytes(const std::vector<uint8_t> &bytes) {
  std::shared_ptr<const Plan> plan;
  Status s = Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan);
  EXPECT_TRUE(s.isOk()) << s.message();
  return plan;
}

TEST(Session, StateAndInputsWithTestKernels) {
  registerTestKernels();
  PlanWriter w;
  float init = 10;
  int32_t x = w.addTensor("x", DType::kF32, {3}, Storage::kInput);
  int32_t s = w.addTensor("total", DType::kF32, {1}, Storage::kState, &init);
  int32_t y = w.addTensor("y", DType::kF32, {3}, Storage::kActivation);
  w.addKernel("test_double", {x}, {y}, {}, "Double");
  w.addKernel("test_accumulate", {s, y}, {s}, {}, "Acc");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  w.bindOutput("total_out", s);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  auto plan = loadBytes(bytes);
  ASSERT_TRUE(plan);

  std::unique_ptr<Session> session;
  SessionOptions opts;
  opts.numThreads = 2;
  Status st = Session::create(plan, opts, &session);
  ASSERT_TRUE(st.isOk()) << st.message();
  EXPECT_EQ(session->run().code(), StatusCode::kInvalidArgument);  // x never set

  float xv[3] = {1, 2, 3};
  int64_t dims[1] = {3};
  ASSERT_TRUE(session->setInput("x", DType::kF32, dims, 1, xv, sizeof(xv)).isOk());
  ASSERT_TRUE(session->run().isOk());
  ASSERT_TRUE(session->run().isOk());  // inputs persist; state accumulates
  TensorView out;
  ASSERT_TRUE(session->output("y", &out).isOk());
  EXPECT_EQ(out.as<float>()[2], 6.0f);
  float total = 0;
  ASSERT_TRUE(session->readState("total", &total, sizeof(total)).isOk());
  EXPECT_EQ(total, 10 + 2 * 12.0f);
  ASSERT_TRUE(session->output("total_out", &out).isOk());
  EXPECT_EQ(out.as<float>()[0], total);

  float reset = -1;
  ASSERT_TRUE(session->writeState("total", &reset, sizeof(reset)).isOk());
  ASSERT_TRUE(session->run().isOk());
  ASSERT_TRUE(session->readState("total", &total, sizeof(total)).isOk());
  EXPECT_EQ(total, 11.0f);
  session->resetState();
  ASSERT_TRUE(session->readState("total", &total, sizeof(total)).isOk());
  EXPECT_EQ(total, 10.0f);

  // Errors name the tensor.
  Status e = session->setInput("x", DType::kF32, dims, 1, xv, 8);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  int64_t bad[1] = {4};
  e = session->setInput("x", DType::kF32, bad, 1, xv, 16);
  EXPECT_NE(e.message().find("'x'"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("f32[3]"), std::string::npos) << e.message();
  e = session->setInput("x", DType::kF16, dims, 1, xv, 6);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  e = session->setInput("nope", DType::kF32, dims, 1, xv, 12);
  EXPECT_EQ(e.code(), StatusCode::kNotFound);
  EXPECT_EQ(session->readState("total", &total, 3).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(session->readState("nope", &total, 4).code(), StatusCode::kNotFound);
  EXPECT_EQ(session->output("nope", &out).code(), StatusCode::kNotFound);
}

TEST(Session, KernelFailureNamesTheKernel) {
  registerTestKernels();
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {1}, Storage::kInput);
  int32_t y = w.addTensor("y", DType::kF32, {1}, Storage::kActivation);
  w.addKernel("test_fail", {x}, {y}, {}, "Bad_Node");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(loadBytes(bytes), {}, &session).isOk());
  float v = 1;
  int64_t d = 1;
  ASSERT_TRUE(session->setInput("x", DType::kF32, &d, 1, &v, 4).isOk());
  Status s = session->run();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("Bad_Node"), std::string::npos) << s.message();
}

TEST(Session, MissingKernelIsAnErrorNamingOpDtypesAndLocation) {
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kI8, {2}, Storage::kInput);
  int32_t y = w.addTensor("y", DType::kI8, {2}, Storage::kActivation);
  w.addKernel("no_such_op", {x}, {y}, {}, "Mystery_7");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  std::unique_ptr<Session> session;
  Status s = Session::create(loadBytes(bytes), {}, &session);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("no_such_op"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(i8) -> (i8)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Mystery_7"), std::string::npos) << s.message();
}

TEST(Session, CudaIsUnsupported) {
  std::unique_ptr<Session> session;
  SessionOptions opts;
  opts.device = Device::kCUDA;
  Status s = Session::create(loadBytes(samplePlanBytes()), opts, &session);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("CUDA"), std::string::npos) << s.message();
}

// The sample plan on the real CPU kernels: matmul, add, relu.
TEST(Session, SamplePlanOnCpuKernels) {
  requireCpuKernel("matmul", {DType::kF32, DType::kF32, DType::kF32});
  requireCpuKernel("add", {DType::kF32, DType::kF32, DType::kF32});
  requireCpuKernel("relu", {DType::kF32, DType::kF32});
  std::unique_ptr<Session> session;
  Status s = Session::create(loadBytes(samplePlanBytes()), {}, &session);
  ASSERT_TRUE(s.isOk()) << s.message();
  float x[6] = {1, -2, 3, 0.5f, 4, -1};
  int64_t dims[2] = {2, 3};
  ASSERT_TRUE(session->setInput("x", DType::kF32, dims, 2, x, sizeof(x)).isOk());
  for (int rep = 0; rep < 2; ++rep) {
    s = session->run();
    ASSERT_TRUE(s.isOk()) << s.message();
    TensorView y;
    ASSERT_TRUE(session->output("y", &y).isOk());
    ASSERT_EQ(y.rank, 2);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j) {
        float acc = 0;
        for (int k = 0; k < 3; ++k) acc += x[i * 3 + k] * (((k * 4 + j) % 5) - 2.0f);
        float want = std::max(acc + 0.5f, 0.0f);
        EXPECT_FLOAT_EQ(y.as<float>()[i * 4 + j], want) << i << "," << j;
      }
  }
  TensorView echo;
  ASSERT_TRUE(session->output("x_out", &echo).isOk());
  EXPECT_EQ(echo.as<float>()[5], -1.0f);
  ASSERT_TRUE(session->output("w_out", &echo).isOk());
  EXPECT_EQ(echo.as<float>()[1], -1.0f);
  ASSERT_TRUE(session->output("bias_out", &echo).isOk());
  EXPECT_EQ(echo.as<float>()[3], 0.5f);
}

// A chain of in-place elementwise ops must still compute the right values.
TEST(Session, InPlaceChainOnCpuKernels) {
  requireCpuKernel("neg", {DType::kF32, DType::kF32});
  requireCpuKernel("add", {DType::kF32, DType::kF32, DType::kF32});
  requireCpuKernel("relu", {DType::kF32, DType::kF32});
  requireCpuKernel("sub", {DType::kF32, DType::kF32, DType::kF32});
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {64}, Storage::kInput);
  int32_t a = w.addTensor("a", DType::kF32, {64}, Storage::kActivation);
  int32_t b = w.addTensor("b", DType::kF32, {64}, Storage::kActivation);
  int32_t c = w.addTensor("c", DType::kF32, {64}, Storage::kActivation);
  int32_t d = w.addTensor("d", DType::kF32, {64}, Storage::kActivation);
  w.addKernel("neg", {x}, {a}, {}, "n0");
  w.addKernel("add", {a, x}, {b}, {}, "a1");   // b = 0 (takes a's buffer)
  w.addKernel("add", {b, x}, {c}, {}, "a2");   // c = x (takes b's buffer)
  w.addKernel("relu", {c}, {d}, {}, "r3");     // d = relu(x) (takes c's buffer)
  float kv = 100;
  int32_t k = w.addTensor("k", DType::kF32, {1}, Storage::kConstant, &kv);
  int32_t e = w.addTensor("e", DType::kF32, {64}, Storage::kActivation);
  w.addKernel("sub", {k, d}, {e}, {}, "s4");   // e = 100 - d: takes the buffer of the 2nd operand
  w.bindInput("x", x);
  w.bindOutput("e", e);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.writeToBuffer(&bytes).isOk());
  EXPECT_EQ(w.memoryPlan().numInPlace, 4);
  EXPECT_EQ(w.tensors()[e].arenaOffset, w.tensors()[a].arenaOffset);
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(loadBytes(bytes), {}, &session).isOk());
  std::vector<float> xv(64);
  for (int i = 0; i < 64; ++i) xv[i] = i - 31.5f;
  int64_t dims[1] = {64};
  ASSERT_TRUE(session->setInput("x", DType::kF32, dims, 1, xv.data(), 256).isOk());
  ASSERT_TRUE(session->run().isOk());
  TensorView out;
  ASSERT_TRUE(session->output("e", &out).isOk());
  for (int i = 0; i < 64; ++i) EXPECT_EQ(out.as<float>()[i], 100 - std::max(xv[i], 0.0f)) << i;
}

}  // namespace
}  // namespace mpc::rt::test
