// Fixtures for the mpc-run --train CLI tests.
//
//   mpc_make_training_plan DIR
//       DIR/train.mpcp        the training plan of training_plan.h
//       DIR/infer.mpcp        an inference plan (no optimizer state)
//       DIR/data/{0,1,2}/     batches: x.npy (f32[8,5]) and labels.npy (i64[8])
//       DIR/data_missing/0/   a batch without labels.npy
//       DIR/corrupt.safetensors
//   mpc_make_training_plan check-log FILE.csv N FIRST_STEP
//       checks the --log file: header "step,loss", N rows numbered from
//       FIRST_STEP, finite losses; exits 1 with a message otherwise.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/npy.h"
#include "training_plan.h"

using namespace mpc::rt;
using namespace mpc::rt::test;

namespace {

int fail(const std::string &msg) {
  std::fprintf(stderr, "mpc_make_training_plan: %s\n", msg.c_str());
  return 1;
}

bool mkdirs(const std::string &path) { return mkdir(path.c_str(), 0755) == 0 || errno == EEXIST; }

int checkLog(const std::string &path, long rows, long first) {
  std::ifstream f(path);
  if (!f) return fail("cannot open " + path);
  std::string line;
  if (!std::getline(f, line) || line != "step,loss") return fail("bad header '" + line + "'");
  long n = 0;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    long step;
    char comma;
    double loss;
    if (!(in >> step >> comma >> loss) || comma != ',') return fail("bad row '" + line + "'");
    if (step != first + n) return fail("row " + std::to_string(n) + " has step " + std::to_string(step));
    if (!std::isfinite(loss) || loss <= 0) return fail("row " + std::to_string(n) + " has loss " + std::to_string(loss));
    ++n;
  }
  if (n != rows) return fail("expected " + std::to_string(rows) + " rows, got " + std::to_string(n));
  std::printf("log ok: %ld rows\n", n);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc == 5 && std::string(argv[1]) == "check-log") return checkLog(argv[2], std::atol(argv[3]), std::atol(argv[4]));
  if (argc != 2) return fail("usage: mpc_make_training_plan DIR | check-log FILE N FIRST_STEP");
  const std::string dir = argv[1];
  if (!mkdirs(dir) || !mkdirs(dir + "/data") || !mkdirs(dir + "/data_missing") || !mkdirs(dir + "/data_missing/0"))
    return fail("cannot create directories under " + dir);
  {
    PlanWriter w;
    buildTrainingPlan(w);
    Status s = w.write(dir + "/train.mpcp");
    if (!s.isOk()) return fail(s.message());
  }
  {
    PlanWriter w;
    int32_t x = w.addTensor("x", DType::kF32, {8, 5}, Storage::kInput);
    int32_t y = w.addTensor("y", DType::kF32, {8, 5}, Storage::kActivation);
    w.addKernel("relu", {x}, {y}, {}, "Relu_0");
    w.bindInput("x", x);
    w.bindOutput("y", y);
    Status s = w.write(dir + "/infer.mpcp");
    if (!s.isOk()) return fail(s.message());
  }
  TrainingPlanShape shape;
  for (int b = 0; b < 3; ++b) {
    std::vector<float> x;
    std::vector<int64_t> labels;
    makeBatch(shape, 500 + b, &x, &labels);
    const std::string bd = dir + "/data/" + std::to_string(b);
    if (!mkdirs(bd)) return fail("cannot create " + bd);
    Status s = writeNpy(bd + "/x.npy", DType::kF32, {shape.batch, shape.features}, x.data(), x.size() * 4);
    if (s.isOk()) s = writeNpy(bd + "/labels.npy", DType::kI64, {shape.batch}, labels.data(), labels.size() * 8);
    if (s.isOk() && b == 0)
      s = writeNpy(dir + "/data_missing/0/x.npy", DType::kF32, {shape.batch, shape.features}, x.data(), x.size() * 4);
    if (!s.isOk()) return fail(s.message());
  }
  {
    // A header length of 16 and a JSON header cut short.
    const char corrupt[] = "\x10\0\0\0\0\0\0\0{\"W\": [1, 2, 3";
    std::ofstream f(dir + "/corrupt.safetensors", std::ios::binary);
    f.write(corrupt, sizeof(corrupt) - 1);
  }
  std::printf("wrote fixtures to %s\n", dir.c_str());
  return 0;
}
