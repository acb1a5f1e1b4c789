// libFuzzer target: the safetensors checkpoint reader. The bytes are parsed
// (parseCheckpoint) and, as a file, loaded into a session of a small plan
// with three state tensors (loadCheckpoint: matching against the plan's
// states and writing them).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/plan.h"
#include "core/plan_writer.h"
#include "core/session.h"

using namespace mpc::rt;

namespace {

Session *session() {
  static std::unique_ptr<Session> s = [] {
    PlanWriter w;
    int32_t x = w.addTensor("x", DType::kF32, {4}, Storage::kInput);
    int32_t y = w.addTensor("y", DType::kF32, {4}, Storage::kActivation);
    w.addTensor("W", DType::kF32, {3, 4}, Storage::kState);
    w.addTensor("optimizer.lr", DType::kF32, {}, Storage::kState);
    w.addTensor("optimizer.step", DType::kI64, {}, Storage::kState);
    w.addKernel("relu", {x}, {y}, {}, "Relu_0");
    w.bindInput("x", x);
    w.bindOutput("y", y);
    std::vector<uint8_t> bytes;
    std::shared_ptr<const Plan> plan;
    if (!w.writeToBuffer(&bytes).isOk() || !Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan).isOk())
      abort();
    SessionOptions so;
    so.numThreads = 1;
    std::unique_ptr<Session> out;
    if (!Session::create(plan, so, &out).isOk()) abort();
    return out;
  }();
  return s.get();
}

const std::string &scratchFile() {
  static std::string path = [] {
    const char *tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/mpc-fuzz-ck-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    if (fd < 0) abort();
    close(fd);
    return std::string(buf.data());
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  CheckpointHeader h;
  Status s = parseCheckpoint(data, size, "<fuzz>", &h);
  if (!s.isOk() && s.message().empty()) __builtin_trap();
  {
    std::ofstream f(scratchFile(), std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  }
  s = loadCheckpoint(*session(), scratchFile());
  if (!s.isOk() && s.message().empty()) __builtin_trap();
  return 0;
}
