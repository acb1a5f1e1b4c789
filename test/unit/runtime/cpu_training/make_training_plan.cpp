// Fixtures for the mpc-run --train CLI tests.
//
//   mpc_make_training_plan DIR
//       DIR/train.mpcp        the training plan of training_plan.h
//       DIR/infer.mpcp        an inference plan (no optimizer state)
//       DIR/data/{0,1,2}/     batches: x.npy (f32[8,5]) and labels.npy (i64[8])
//       DIR/data_missing/0/   a batch without labels.npy
//       DIR/corrupt.safetensors
//       DIR/ls.mpcp           the loss scaling plan of loss_scaling_plan.h
//       DIR/ls_data/{0,1,2}/  its batches: x.npy (f32[4], positive), g.npy (f16[4]);
//                             batch 1's g holds an inf
//       DIR/accum.mpcp        the gradient accumulation plan (K = 2)
//   mpc_make_training_plan check-log FILE.csv N FIRST_STEP [SKIPS]
//       checks the --log file: header "step,loss,loss_scale,skipped,grad_norm",
//       N rows numbered from FIRST_STEP, finite positive losses, loss_scale and
//       grad_norm numbers or nan, skipped 0/1 (SKIPS: the expected column, e.g.
//       "010"); exits 1 with a message otherwise.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/float_formats.h"
#include "core/npy.h"
#include "loss_scaling_plan.h"
#include "training_plan.h"

using namespace mpc::rt;
using namespace mpc::rt::test;

namespace {

int fail(const std::string &msg) {
  std::fprintf(stderr, "mpc_make_training_plan: %s\n", msg.c_str());
  return 1;
}

bool mkdirs(const std::string &path) { return mkdir(path.c_str(), 0755) == 0 || errno == EEXIST; }

// Splits a CSV line at commas.
std::vector<std::string> splitCsv(const std::string &line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

bool parseNumber(const std::string &s, double *v) {
  char *end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0';
}

int checkLog(const std::string &path, long rows, long first, const std::string &skips) {
  std::ifstream f(path);
  if (!f) return fail("cannot open " + path);
  std::string line;
  if (!std::getline(f, line) || line != "step,loss,loss_scale,skipped,grad_norm")
    return fail("bad header '" + line + "'");
  long n = 0;
  while (std::getline(f, line)) {
    const std::vector<std::string> c = splitCsv(line);
    double step, loss, scale, skipped, norm;
    if (c.size() != 5 || !parseNumber(c[0], &step) || !parseNumber(c[1], &loss) || !parseNumber(c[2], &scale) ||
        !parseNumber(c[3], &skipped) || !parseNumber(c[4], &norm) || (skipped != 0 && skipped != 1))
      return fail("bad row '" + line + "'");
    if (step != first + n) return fail("row " + std::to_string(n) + " has step " + c[0]);
    if (!std::isfinite(loss) || loss <= 0) return fail("row " + std::to_string(n) + " has loss " + c[1]);
    if (!skips.empty() && (n >= static_cast<long>(skips.size()) || (skips[n] == '1') != (skipped == 1)))
      return fail("row " + std::to_string(n) + " has skipped " + c[3]);
    ++n;
  }
  if (n != rows) return fail("expected " + std::to_string(rows) + " rows, got " + std::to_string(n));
  std::printf("log ok: %ld rows\n", n);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if ((argc == 5 || argc == 6) && std::string(argv[1]) == "check-log")
    return checkLog(argv[2], std::atol(argv[3]), std::atol(argv[4]), argc == 6 ? argv[5] : "");
  if (argc != 2) return fail("usage: mpc_make_training_plan DIR | check-log FILE N FIRST_STEP [SKIPS]");
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
    PlanWriter w;
    buildLossScalingPlan(w);
    Status s = w.write(dir + "/ls.mpcp");
    PlanWriter a;
    buildAccumulationPlan(a, 2);
    if (s.isOk()) s = a.write(dir + "/accum.mpcp");
    if (!s.isOk()) return fail(s.message());
    if (!mkdirs(dir + "/ls_data")) return fail("cannot create " + dir + "/ls_data");
    for (int b = 0; b < 3; ++b) {
      const std::string bd = dir + "/ls_data/" + std::to_string(b);
      if (!mkdirs(bd)) return fail("cannot create " + bd);
      const float x[4] = {1.0f + b, 2, 3, 4};
      const float g[4] = {4, b == 1 ? INFINITY : -8.0f, 2, 16};
      uint16_t h[4];
      for (int i = 0; i < 4; ++i) h[i] = floatToHalf(g[i]);
      s = writeNpy(bd + "/x.npy", DType::kF32, {4}, x, sizeof x);
      if (s.isOk()) s = writeNpy(bd + "/g.npy", DType::kF16, {4}, h, sizeof h);
      if (!s.isOk()) return fail(s.message());
    }
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
