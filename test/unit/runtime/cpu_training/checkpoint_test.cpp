// Checkpoints (safetensors): round trip, a bit-identical resumed trajectory,
// corrupt and truncated files, and a writer killed mid-write.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "core/checkpoint.h"
#include "core/session.h"
#include "core/train_step.h"
#include "training_plan.h"
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

// A fresh directory for this process's files, removed at exit.
std::string gTempDir;
void removeTempDir() {
  if (!gTempDir.empty()) std::system(("rm -rf '" + gTempDir + "'").c_str());
}
std::string tempDir() {
  if (gTempDir.empty()) {
    char tmpl[] = "/tmp/mpc_checkpoint_test_XXXXXX";
    const char *d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr) << "mkdtemp failed";
    gTempDir = d ? d : "/tmp";
    if (d) std::atexit(removeTempDir);
  }
  return gTempDir;
}

std::shared_ptr<const Plan> planOf(PlanWriter &w) {
  std::vector<uint8_t> bytes;
  Status s = w.writeToBuffer(&bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  std::shared_ptr<const Plan> plan;
  s = Plan::loadFromBuffer(bytes.data(), bytes.size(), LoadOptions(), &plan);
  EXPECT_TRUE(s.isOk()) << s.message();
  return plan;
}

std::shared_ptr<const Plan> trainingPlan() {
  PlanWriter w;
  buildTrainingPlan(w);
  return planOf(w);
}

std::unique_ptr<Session> sessionOf(std::shared_ptr<const Plan> plan) {
  ensureTrainingKernels();
  SessionOptions opts;
  opts.numThreads = 2;
  std::unique_ptr<Session> s;
  Status st = Session::create(std::move(plan), opts, &s);
  EXPECT_TRUE(st.isOk()) << st.message();
  return s;
}

// Every state's bytes, in plan order.
std::vector<std::vector<uint8_t>> stateBytes(const Session &s) {
  std::vector<std::vector<uint8_t>> out;
  for (const PlanBinding &b : s.plan().states()) {
    std::vector<uint8_t> v(s.plan().tensors()[b.tensor].nbytes);
    EXPECT_TRUE(s.readState(b.name, v.data(), v.size()).isOk());
    out.push_back(std::move(v));
  }
  return out;
}

// Runs `steps` steps on batches seed0, seed0 + 1, ...; returns the losses.
std::vector<float> train(Session &s, int steps, uint32_t seed0) {
  TrainingPlanShape shape;
  std::vector<float> losses;
  for (int k = 0; k < steps; ++k) {
    std::vector<float> x;
    std::vector<int64_t> labels;
    makeBatch(shape, seed0 + k, &x, &labels);
    const int64_t xd[2] = {shape.batch, shape.features}, ld[1] = {shape.batch};
    EXPECT_TRUE(s.setInput("x", DType::kF32, xd, 2, x.data(), x.size() * 4).isOk());
    EXPECT_TRUE(s.setInput("labels", DType::kI64, ld, 1, labels.data(), labels.size() * 8).isOk());
    float loss = 0;
    Status st = trainStep(s, &loss, nullptr);
    EXPECT_TRUE(st.isOk()) << st.message();
    losses.push_back(loss);
  }
  return losses;
}

std::vector<uint8_t> readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void writeFile(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors image with the given JSON header and data bytes.
std::vector<uint8_t> image(const std::string &json, const std::vector<uint8_t> &data) {
  std::vector<uint8_t> out;
  out.reserve(8 + json.size() + data.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(json.size()) >> (8 * i)));
  out.insert(out.end(), json.begin(), json.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

TEST(Checkpoint, RoundTripAndFormat) {
  auto plan = trainingPlan();
  auto a = sessionOf(plan);
  ASSERT_TRUE(a);
  train(*a, 3, 100);
  const std::string path = tempDir() + "/round.safetensors";
  Status st = saveCheckpoint(*a, path);
  ASSERT_TRUE(st.isOk()) << st.message();

  // The file is plain safetensors: parse it and check names, dtypes, shapes.
  std::vector<uint8_t> bytes = readFile(path);
  CheckpointHeader h;
  st = parseCheckpoint(bytes.data(), bytes.size(), path, &h);
  ASSERT_TRUE(st.isOk()) << st.message();
  EXPECT_EQ(h.dataOffset % 8, 0u);
  EXPECT_EQ(h.metadata["format"], "mpc-state");
  EXPECT_EQ(h.metadata["state_signature"], stateSignature(*plan));
  ASSERT_EQ(h.entries.size(), plan->states().size());
  for (const CheckpointEntry &e : h.entries) {
    const PlanTensor &t = plan->tensors()[plan->findState(e.name)];
    EXPECT_EQ(e.dtype, t.dtype) << e.name;
    EXPECT_EQ(e.shape, t.dims) << e.name;
  }
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(bytes.data()) + 8, 15), "{\"__metadata__\"");

  auto b = sessionOf(plan);
  ASSERT_TRUE(b);
  EXPECT_NE(stateBytes(*a), stateBytes(*b));
  st = loadCheckpoint(*b, path);
  ASSERT_TRUE(st.isOk()) << st.message();
  EXPECT_EQ(stateBytes(*a), stateBytes(*b));
  int64_t step = 0;
  ASSERT_TRUE(getStepCount(*b, &step).isOk());
  EXPECT_EQ(step, 3);
}

TEST(Checkpoint, ResumeIsBitIdentical) {
  auto plan = trainingPlan();
  const int n = 6;
  auto full = sessionOf(plan);
  ASSERT_TRUE(full);
  std::vector<float> fullLosses = train(*full, 2 * n, 200);

  auto first = sessionOf(plan);
  ASSERT_TRUE(first);
  std::vector<float> l1 = train(*first, n, 200);
  const std::string path = tempDir() + "/resume.safetensors";
  ASSERT_TRUE(saveCheckpoint(*first, path).isOk());

  auto resumed = sessionOf(plan);  // a fresh session: initial state from the plan
  ASSERT_TRUE(resumed);
  Status st = loadCheckpoint(*resumed, path);
  ASSERT_TRUE(st.isOk()) << st.message();
  std::vector<float> l2 = train(*resumed, n, 200 + n);
  l1.insert(l1.end(), l2.begin(), l2.end());
  EXPECT_EQ(l1, fullLosses);
  EXPECT_EQ(stateBytes(*resumed), stateBytes(*full));
}

// Load must fail with a message containing `needle`, leave the state intact
// and never crash.
void expectLoadFails(Session &s, const std::string &path, const std::string &needle) {
  auto before = stateBytes(s);
  Status st = loadCheckpoint(s, path);
  EXPECT_FALSE(st.isOk()) << "loaded a bad checkpoint, expected an error with '" << needle << "'";
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  EXPECT_EQ(before, stateBytes(s));
}

TEST(Checkpoint, RejectsTruncatedFiles) {
  auto plan = trainingPlan();
  auto s = sessionOf(plan);
  ASSERT_TRUE(s);
  const std::string good = tempDir() + "/good.safetensors", bad = tempDir() + "/truncated.safetensors";
  ASSERT_TRUE(saveCheckpoint(*s, good).isOk());
  std::vector<uint8_t> bytes = readFile(good);
  train(*s, 1, 300);  // make the session differ from the file
  for (size_t len = 0; len < bytes.size(); len += (len < 64 ? 1 : 37)) {
    writeFile(bad, std::vector<uint8_t>(bytes.begin(), bytes.begin() + len));
    auto before = stateBytes(*s);
    Status st = loadCheckpoint(*s, bad);
    EXPECT_FALSE(st.isOk()) << "length " << len;
    EXPECT_NE(st.message().find("truncated.safetensors"), std::string::npos) << st.message();
    EXPECT_EQ(before, stateBytes(*s));
  }
  expectLoadFails(*s, tempDir() + "/does_not_exist.safetensors", "cannot open checkpoint");
}

TEST(Checkpoint, RejectsCorruptHeaders) {
  auto plan = trainingPlan();
  auto s = sessionOf(plan);
  ASSERT_TRUE(s);
  const std::string path = tempDir() + "/bad.safetensors";
  auto put = [&](const std::string &json, const std::vector<uint8_t> &data) { writeFile(path, image(json, data)); };
  const std::vector<uint8_t> eight(8, 0);

  // Header length beyond the file / beyond the limit.
  std::vector<uint8_t> huge(16, 0);
  huge[0] = 0xFF, huge[1] = 0xFF, huge[7] = 0x7F;
  writeFile(path, huge);
  expectLoadFails(*s, path, "exceeds the limit");
  huge[7] = 0, huge[1] = 0, huge[0] = 100;
  writeFile(path, huge);
  expectLoadFails(*s, path, "exceeds the 8 bytes after the length field");

  put("{\"a\": ", {});
  expectLoadFails(*s, path, "malformed JSON");
  put("{\"a\": {\"dtype\": \"F32\"} } x", {});
  expectLoadFails(*s, path, "malformed JSON");
  put("[1, 2]", {});
  expectLoadFails(*s, path, "not an object");
  put(std::string(100, '['), {});
  expectLoadFails(*s, path, "too deep");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
      "\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
      eight);
  expectLoadFails(*s, path, "duplicate key");
  put("{\"a\": {\"dtype\": \"F17\", \"shape\": [2], \"data_offsets\": [0, 8]}}", eight);
  expectLoadFails(*s, path, "unsupported dtype \"F17\"");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", eight);
  expectLoadFails(*s, path, "non-negative");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 16]}}", eight);
  expectLoadFails(*s, path, "past the data");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", eight);
  expectLoadFails(*s, path, "needs 12 bytes");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", eight);
  expectLoadFails(*s, path, "begin 8 > end 0");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
      "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
      std::vector<uint8_t>(12, 0));
  expectLoadFails(*s, path, "overlap");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", std::vector<uint8_t>(9, 0));
  expectLoadFails(*s, path, "trailing bytes");
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [2]}}", eight);
  expectLoadFails(*s, path, "missing \"data_offsets\"");
  put("{\"__metadata__\": {\"format\": 3}}", {});
  expectLoadFails(*s, path, "not a string");
  put("{\"__metadata__\": {\"format\": \"pytorch\"}}", {});
  expectLoadFails(*s, path, "expected \"mpc-state\"");
  // Well-formed but not this plan's state.
  put("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", eight);
  expectLoadFails(*s, path, "has no tensor for state");
}

TEST(Checkpoint, RejectsMismatchedStates) {
  auto plan = trainingPlan();
  auto s = sessionOf(plan);
  ASSERT_TRUE(s);
  const std::string path = tempDir() + "/other.safetensors";
  // A checkpoint of a plan with a differently shaped model.
  PlanWriter w;
  TrainingPlanShape other;
  other.classes = 4;
  buildTrainingPlan(w, other);
  auto o = sessionOf(planOf(w));
  ASSERT_TRUE(o);
  ASSERT_TRUE(saveCheckpoint(*o, path).isOk());
  expectLoadFails(*s, path, "tensor 'W' is f32[5,4] but the plan's state is f32[5,3]");

  // An extra tensor.
  std::vector<uint8_t> bytes;
  {
    const std::string good = tempDir() + "/good2.safetensors";
    ASSERT_TRUE(saveCheckpoint(*s, good).isOk());
    bytes = readFile(good);
  }
  CheckpointHeader h;
  ASSERT_TRUE(parseCheckpoint(bytes.data(), bytes.size(), "x", &h).isOk());
  std::string json(reinterpret_cast<const char *>(bytes.data()) + 8, h.dataOffset - 8);
  std::vector<uint8_t> data(bytes.begin() + h.dataOffset, bytes.end());
  const uint64_t end = data.size();
  json = json.substr(0, json.find_last_of('}')) + ",\"extra\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[" +
         std::to_string(end) + "," + std::to_string(end + 1) + "]}}";
  data.push_back(7);
  writeFile(path, image(json, data));
  expectLoadFails(*s, path, "has tensor 'extra', which is not a state of the plan");
}

TEST(Checkpoint, RandomCorruptionNeverCrashes) {
  auto plan = trainingPlan();
  auto s = sessionOf(plan);
  ASSERT_TRUE(s);
  const std::string good = tempDir() + "/fuzz_good.safetensors", bad = tempDir() + "/fuzz.safetensors";
  ASSERT_TRUE(saveCheckpoint(*s, good).isOk());
  const std::vector<uint8_t> bytes = readFile(good);
  CheckpointHeader h;
  ASSERT_TRUE(parseCheckpoint(bytes.data(), bytes.size(), good, &h).isOk());
  std::mt19937 rng(99);
  int rejected = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::vector<uint8_t> b = bytes;
    // Flip 1-3 bytes of the length field or the header.
    const int flips = 1 + iter % 3;
    for (int k = 0; k < flips; ++k) b[rng() % h.dataOffset] ^= static_cast<uint8_t>(1 + rng() % 255);
    writeFile(bad, b);
    auto before = stateBytes(*s);
    Status st = loadCheckpoint(*s, bad);
    if (!st.isOk()) {
      ++rejected;
      EXPECT_EQ(before, stateBytes(*s));
    }
  }
  // Most flips break the JSON, a name, a dtype, a number or the length.
  EXPECT_GT(rejected, 300);
}

TEST(Checkpoint, KilledWriterNeverLeavesACorruptFile) {
  ensureTrainingKernels();
  // A plan with a large state, so that a write takes a while.
  PlanWriter w;
  int32_t x = w.addTensor("x", DType::kF32, {4}, Storage::kInput);
  int32_t y = w.addTensor("y", DType::kF32, {4}, Storage::kActivation);
  w.addTensor("big", DType::kF32, {2048, 1024}, Storage::kState);
  w.addTensor("small", DType::kI64, {3}, Storage::kState);
  w.addKernel("relu", {x}, {y}, {}, "Relu_0");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  auto plan = planOf(w);
  auto s = sessionOf(plan);
  ASSERT_TRUE(s);
  const size_t n = 2048 * 1024;
  std::vector<float> ones(n, 1.0f), twos(n, 2.0f);
  const std::string path = tempDir() + "/killed.safetensors";
  ASSERT_TRUE(s->writeState("big", ones.data(), n * 4).isOk());
  ASSERT_TRUE(saveCheckpoint(*s, path).isOk());

  std::mt19937 rng(5);
  int kills = 0;
  for (int round = 0; round < 8; ++round) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: rewrite the checkpoint with other values, forever.
      close(ready[0]);
      std::vector<float> v(n, static_cast<float>(2 + round));
      if (!s->writeState("big", v.data(), n * 4).isOk()) _exit(2);
      char c = 1;
      if (write(ready[1], &c, 1) != 1) _exit(3);
      for (;;)
        if (!saveCheckpoint(*s, path).isOk()) _exit(4);
    }
    close(ready[1]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 40000));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself: status " << status;
    kills += 1;

    // The target is always a complete checkpoint: the old one or a new one.
    auto fresh = sessionOf(plan);
    ASSERT_TRUE(fresh);
    Status st = loadCheckpoint(*fresh, path);
    ASSERT_TRUE(st.isOk()) << "round " << round << ": " << st.message();
    std::vector<float> got(n);
    ASSERT_TRUE(fresh->readState("big", got.data(), n * 4).isOk());
    const float v0 = got[0];
    EXPECT_TRUE(v0 == 1.0f || (v0 >= 2.0f && v0 <= 2.0f + round)) << v0;
    for (size_t i = 0; i < n; i += 4099) ASSERT_EQ(got[i], v0) << "torn checkpoint at element " << i;
    EXPECT_EQ(got[n - 1], v0);
  }
  EXPECT_EQ(kills, 8);
  // Temporary files of killed writers are hidden dot-files next to the target.
  std::string cleanup = "rm -f " + tempDir() + "/.killed.safetensors.tmp.*";
  EXPECT_EQ(std::system(cleanup.c_str()), 0);
}

}  // namespace
}  // namespace mpc::rt::test
