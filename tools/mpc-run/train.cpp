// mpc-run --train: the training loop.
#include "train.h"
#include "fp8_telemetry.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "core/checkpoint.h"
#include "core/float_formats.h"
#include "core/npy.h"
#include "core/train_step.h"

namespace mpc::run {

using namespace mpc::rt;

const char *kTrainUsage =
    "training (a plan from mpc-opt --train --emit=plan):\n"
    "  --train                 run training steps instead of one inference run\n"
    "  --steps N               number of steps (required with --train)\n"
    "  --data DIR              batch k is DIR/<k>/, holding NAME.npy for every graph\n"
    "                          input (labels included); batches are used in sorted\n"
    "                          order (numeric when every name is a number) and cycled\n"
    "  --synthetic             deterministic random batches instead of --data: floats\n"
    "                          N(0,1), integers uniform in [0, C), bools 0/1\n"
    "  --classes C             the C of --synthetic (required if an input is an integer)\n"
    "  --seed S                seed of --synthetic (default 0)\n"
    "  --lr X                  set the learning rate (state 'optimizer.lr') first\n"
    "  --log FILE.csv          write 'step,loss,loss_scale,skipped,grad_norm', one row\n"
    "                          per optimizer step (nan where the plan lacks a quantity)\n"
    "  --fp8-history FILE.csv  write 'step,operand,amax,scale' per FP8 operand per step\n"
    "  --load-state FILE       restore every state tensor from a checkpoint first\n"
    "  --save-state FILE       save every state tensor (safetensors) at the end\n"
    "  --every K               with --save-state: also save every K steps\n"
    "  --print-every K         progress line every K steps (default 1; the last step\n"
    "                          always prints)\n";

namespace {

int64_t parseInt(const std::string &flag, const std::string &value, int64_t minimum,
                 const std::function<void(const std::string &)> &die) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || v < minimum)
    die(flag + " expects an integer >= " + std::to_string(minimum) + ", got '" + value + "'");
  return v;
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool isFile(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Same rule as mpc-run's --inputs/--output-dir file names.
std::string sanitize(const std::string &name) {
  std::string s;
  for (char c : name) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-';
    s += keep ? c : '_';
  }
  if (s.empty() || s == "." || s == "..") s = "_" + s;
  return s;
}

bool allDigits(const std::string &s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The batch directories of --data, sorted.
std::vector<std::string> listBatches(const std::string &dir, const std::function<void(const std::string &)> &die) {
  DIR *d = opendir(dir.c_str());
  if (!d) die("--data: cannot open directory '" + dir + "': " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || n[0] == '.') continue;
    if (isDirectory(dir + "/" + n)) names.push_back(n);
  }
  closedir(d);
  if (names.empty()) die("--data: '" + dir + "' has no batch subdirectories (expected DIR/0/, DIR/1/, ...)");
  const bool numeric = std::all_of(names.begin(), names.end(), allDigits);
  std::sort(names.begin(), names.end(), [&](const std::string &a, const std::string &b) {
    if (numeric && a.size() != b.size()) return a.size() < b.size();
    return a < b;
  });
  return names;
}

// Deterministic standard normals (Box-Muller on a 64-bit Mersenne twister),
// identical on every platform.
double uniform01(std::mt19937_64 &rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }
double normal(std::mt19937_64 &rng) {
  double u1 = uniform01(rng), u2 = uniform01(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

void fillSynthetic(const PlanTensor &t, int64_t classes, std::mt19937_64 &rng, std::vector<uint8_t> *bytes) {
  const size_t n = static_cast<size_t>(t.nbytes / dtypeSize(t.dtype));
  bytes->assign(static_cast<size_t>(t.nbytes), 0);
  uint8_t *p = bytes->data();
  for (size_t i = 0; i < n; ++i) {
    switch (t.dtype) {
    case DType::kF32: { float v = static_cast<float>(normal(rng)); std::memcpy(p + 4 * i, &v, 4); break; }
    case DType::kF64: { double v = normal(rng); std::memcpy(p + 8 * i, &v, 8); break; }
    case DType::kF16: { uint16_t v = floatToHalf(static_cast<float>(normal(rng))); std::memcpy(p + 2 * i, &v, 2); break; }
    case DType::kBF16: { uint16_t v = floatToBFloat16(static_cast<float>(normal(rng))); std::memcpy(p + 2 * i, &v, 2); break; }
    case DType::kF8E4M3FN: p[i] = floatToE4M3FN(static_cast<float>(normal(rng))); break;
    case DType::kF8E5M2: p[i] = floatToE5M2(static_cast<float>(normal(rng))); break;
    case DType::kBool: p[i] = static_cast<uint8_t>(rng() & 1); break;
    case DType::kI8: p[i] = static_cast<uint8_t>(static_cast<int8_t>(rng() % static_cast<uint64_t>(classes))); break;
    case DType::kI32: { int32_t v = static_cast<int32_t>(rng() % static_cast<uint64_t>(classes)); std::memcpy(p + 4 * i, &v, 4); break; }
    case DType::kI64: { int64_t v = static_cast<int64_t>(rng() % static_cast<uint64_t>(classes)); std::memcpy(p + 8 * i, &v, 8); break; }
    case DType::kInvalid: break;
    }
  }
}

bool isIntegerDType(DType t) { return t == DType::kI8 || t == DType::kI32 || t == DType::kI64; }

// A --log cell: %.9g, and "nan" for every NaN (never "-nan").
std::string csvNumber(float v) {
  if (std::isnan(v)) return "nan";
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", static_cast<double>(v));
  return b;
}

void checkStatus(const Status &s, const std::function<void(const std::string &)> &die) {
  if (!s.isOk()) die(s.message());
}

}  // namespace

bool parseTrainFlag(const std::string &arg, const std::function<std::string()> &takeValue, TrainOptions *o,
                    const std::function<void(const std::string &)> &die) {
  if (arg == "--train") o->train = true;
  else if (arg == "--steps") o->steps = parseInt("--steps", takeValue(), 1, die);
  else if (arg == "--data") o->dataDir = takeValue();
  else if (arg == "--synthetic") o->synthetic = true;
  else if (arg == "--classes") o->classes = parseInt("--classes", takeValue(), 1, die);
  else if (arg == "--seed") o->seed = static_cast<uint64_t>(parseInt("--seed", takeValue(), 0, die));
  else if (arg == "--lr") {
    std::string v = takeValue();
    char *end = nullptr;
    errno = 0;
    o->lr = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(o->lr) || o->lr < 0)
      die("--lr expects a finite number >= 0, got '" + v + "'");
    o->hasLr = true;
  } else if (arg == "--log") o->logPath = takeValue();
  else if (parseFp8HistoryFlag(arg, takeValue)) {}  // fp8_telemetry.h
  else if (arg == "--save-state") o->saveState = takeValue();
  else if (arg == "--load-state") o->loadState = takeValue();
  else if (arg == "--every") o->every = parseInt("--every", takeValue(), 1, die);
  else if (arg == "--print-every") o->printEvery = parseInt("--print-every", takeValue(), 1, die);
  else return false;
  return true;
}

void validateTrainOptions(const TrainOptions &o, bool usesInputs, int repeat,
                          const std::function<void(const std::string &)> &die) {
  if (!o.train) {
    const char *flag = o.steps ? "--steps" : !o.dataDir.empty() ? "--data" : o.synthetic ? "--synthetic"
                       : o.classes ? "--classes" : o.seed ? "--seed" : o.hasLr ? "--lr" : !o.logPath.empty() ? "--log"
                       : !o.saveState.empty() ? "--save-state" : !o.loadState.empty() ? "--load-state"
                       : o.every ? "--every" : o.printEvery != 1 ? "--print-every" : nullptr;
    if (flag) die(std::string(flag) + " needs --train");
    return;
  }
  if (o.steps < 1) die("--train needs --steps N");
  if (o.dataDir.empty() && !o.synthetic) die("--train needs --data DIR or --synthetic");
  if (!o.dataDir.empty() && o.synthetic) die("--data and --synthetic are exclusive");
  if (usesInputs) die("--input/--inputs do not apply to --train (use --data DIR or --synthetic)");
  if (repeat != 1) die("--repeat does not apply to --train (use --steps)");
  if (o.every && o.saveState.empty()) die("--every needs --save-state FILE");
  if (!o.dataDir.empty() && !isDirectory(o.dataDir)) die("--data: '" + o.dataDir + "' is not a directory");
  if (o.classes && !o.synthetic) die("--classes applies to --synthetic only");
}

void runTraining(const TrainOptions &o, const Plan &plan, Session &session,
                 const std::function<void(const std::string &)> &die) {
  // Data source.
  std::vector<std::string> batches;
  if (!o.dataDir.empty()) {
    batches = listBatches(o.dataDir, die);
    for (const std::string &b : batches)
      for (const PlanBinding &in : plan.inputs()) {
        std::string f = o.dataDir + "/" + b + "/" + sanitize(in.name) + ".npy";
        if (!isFile(f)) die("--data: batch '" + b + "' has no file for input '" + in.name + "' (expected '" + f + "')");
      }
  } else {
    for (const PlanBinding &in : plan.inputs()) {
      const PlanTensor &t = plan.tensors()[in.tensor];
      if (isIntegerDType(t.dtype) && o.classes < 1)
        die("--synthetic: input '" + in.name + "' is " + describeType(t.dtype, t.dims) +
            ": give --classes C to draw its values in [0, C)");
    }
  }

  if (!o.loadState.empty()) {
    checkStatus(loadCheckpoint(session, o.loadState), die);
    std::printf("mpc-run: loaded state from %s\n", o.loadState.c_str());
  }
  if (o.hasLr) checkStatus(setLearningRate(session, o.lr), die);

  // Step numbering continues the plan's step counter when it has one.
  int64_t stepBase = 0;
  if (plan.findState(kStepStateName) >= 0) checkStatus(getStepCount(session, &stepBase), die);
  int64_t samplesPerStep = 1;
  if (!plan.inputs().empty()) {
    const PlanTensor &first = plan.tensors()[plan.inputs()[0].tensor];
    if (!first.dims.empty()) samplesPerStep = first.dims[0];
  }
  const std::string lossName = lossOutputName(plan);
  if (lossName.empty())
    std::printf("mpc-run: the plan has no loss output (named 'loss', or its only scalar float output): "
                "losses are reported as nan\n");
  else if (lossName != kLossOutputName)
    std::printf("mpc-run: reporting output '%s' as the loss\n", lossName.c_str());

  // Loss scaling and gradient accumulation (docs/training.md).
  const int64_t accumulation = accumulationSteps(plan);
  const bool lossScaling = plan.findState(kLossScaleStateName) >= 0;
  if (accumulation > 1)
    std::printf("mpc-run: gradient accumulation: %lld micro-batches per step\n", static_cast<long long>(accumulation));
  // Micro-batch counter: batch k of the data is used by micro-batch k. It
  // continues the plan's counters when resuming.
  int64_t batchIndex = stepBase * accumulation;
  if (accumulation > 1 && plan.findState(kMicroStepStateName) >= 0) {
    const TensorView &m = session.tensorView(plan.findState(kMicroStepStateName));
    if (m.dtype == DType::kI64 && m.numel() == 1) batchIndex = *m.as<const int64_t>();
  }

  std::FILE *log = nullptr;
  if (!o.logPath.empty()) {
    log = std::fopen(o.logPath.c_str(), "w");
    if (!log) die("--log: cannot create '" + o.logPath + "': " + std::strerror(errno));
    std::fprintf(log, "step,loss,loss_scale,skipped,grad_norm\n");
  }

  Fp8Telemetry fp8History(plan, session, die);  // --fp8-history (fp8_telemetry.h)
  std::vector<uint8_t> buf;
  // Sets every graph input from batch `index` (--data: cycled; --synthetic:
  // one generator per (seed, index, input)).
  auto feed = [&](int64_t index) {
    for (const PlanBinding &in : plan.inputs()) {
      const PlanTensor &t = plan.tensors()[in.tensor];
      if (!batches.empty()) {
        const std::string &b = batches[static_cast<size_t>(index) % batches.size()];
        std::string f = o.dataDir + "/" + b + "/" + sanitize(in.name) + ".npy";
        NpyArray arr;
        Status s = readNpy(f, t.dtype, &arr);
        if (!s.isOk()) die(s.message());
        s = session.setInput(in.name, arr.dtype, arr.shape.data(), static_cast<int>(arr.shape.size()), arr.data.data(),
                             arr.data.size());
        if (!s.isOk()) die(s.message() + " (from '" + f + "')");
      } else {
        uint64_t idx = static_cast<uint64_t>(&in - plan.inputs().data());
        std::seed_seq seq{static_cast<uint32_t>(o.seed), static_cast<uint32_t>(o.seed >> 32),
                          static_cast<uint32_t>(index), static_cast<uint32_t>(static_cast<uint64_t>(index) >> 32),
                          static_cast<uint32_t>(idx)};
        std::mt19937_64 rng(seq);
        fillSynthetic(t, o.classes, rng, &buf);
        Status s = session.setInput(in.name, t.dtype, t.dims.data(), static_cast<int>(t.dims.size()), buf.data(),
                                    buf.size());
        if (!s.isOk()) die(s.message());
      }
    }
  };

  LossScaleMonitor monitor;
  int64_t skippedSteps = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto lastPrint = t0;
  int64_t lastPrintStep = 0;
  for (int64_t k = 0; k < o.steps; ++k) {
    StepInfo info;
    Status s = trainStep(
        session,
        [&](Session &, int64_t) {
          feed(batchIndex++);
          return Status::ok();
        },
        &info);
    if (!s.isOk()) die("step " + std::to_string(stepBase + k + 1) + ": " + s.message());
    const float loss = info.loss;
    const int64_t step = stepBase + k + 1;
    if (info.skipped) {
      ++skippedSteps;
      std::printf("mpc-run: skipped step %lld: non-finite gradient%s%s%s\n", static_cast<long long>(step),
                  info.nonfiniteTensor.empty() ? "" : " in '", info.nonfiniteTensor.c_str(),
                  info.nonfiniteTensor.empty() ? "" : "'");
    }
    const std::string warning = monitor.observe(info);
    if (!warning.empty()) std::printf("mpc-run: warning: %s\n", warning.c_str());
    if (log)
      std::fprintf(log, "%lld,%s,%s,%d,%s\n", static_cast<long long>(step), csvNumber(loss).c_str(),
                   csvNumber(info.lossScale).c_str(), info.skipped ? 1 : 0, csvNumber(info.gradNorm).c_str());
    fp8History.record(step);
    const bool last = k + 1 == o.steps;
    if ((k + 1) % o.printEvery == 0 || last) {
      auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - lastPrint).count();
      const double rate = secs > 0 ? static_cast<double>(k + 1 - lastPrintStep) / secs : 0.0;
      char scale[64] = "";
      if (lossScaling)
        std::snprintf(scale, sizeof scale, "  scale=%g skipped=%lld", static_cast<double>(info.lossScale),
                      static_cast<long long>(skippedSteps));
      std::printf("step %lld/%lld  loss %.6g%s  %.2f steps/s  %.1f samples/s\n", static_cast<long long>(step),
                  static_cast<long long>(stepBase + o.steps), static_cast<double>(loss), scale, rate,
                  rate * static_cast<double>(samplesPerStep * accumulation));
      std::fflush(stdout);
      lastPrint = now;
      lastPrintStep = k + 1;
    }
    if (o.every && (k + 1) % o.every == 0 && !last) checkStatus(saveCheckpoint(session, o.saveState), die);
  }
  if (log) {
    if (std::fclose(log) != 0) die("--log: cannot write '" + o.logPath + "'");
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("mpc-run: %lld steps in %.3f s (%.2f steps/s)\n", static_cast<long long>(o.steps), total,
              total > 0 ? static_cast<double>(o.steps) / total : 0.0);
  if (!o.saveState.empty()) {
    checkStatus(saveCheckpoint(session, o.saveState), die);
    std::printf("mpc-run: saved state to %s\n", o.saveState.c_str());
  }
}

}  // namespace mpc::run
