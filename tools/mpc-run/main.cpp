// mpc-run: runs an executable plan on .npy inputs and writes .npy outputs.
//
//   mpc-run model.mpcp --input x=x.npy [--input ...] | --inputs DIR
//           [--output-dir DIR] [--device=cpu|cuda] [--threads N] [--repeat N]
//   mpc-run step.mpcp --train --steps N (--data DIR | --synthetic) [--lr X]
//           [--log steps.csv] [--save-state ck.safetensors] [--load-state ck.safetensors]
//           [--every K]   (train.cpp, docs/training.md)
//
// Every failure prints one line "mpc-run: error: ..." and exits 1.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "core/npy.h"
#include "core/plan.h"
#include "core/session.h"
#include "train.h"

using namespace mpc::rt;

namespace {

const char *kUsage =
    "usage: mpc-run PLAN.mpcp [options]\n"
    "\n"
    "Runs an executable plan on .npy inputs (inference), or trains: --train.\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy   value of graph input NAME (repeatable)\n"
    "  --inputs DIR            read every graph input NAME from DIR/NAME.npy\n"
    "  --output-dir DIR        write every graph output to DIR/NAME.npy\n"
    "                          (characters other than [A-Za-z0-9._-] become '_')\n"
    "  --device=cpu|cuda       device to run on (default cpu); cuda needs a build with\n"
    "                          the CUDA backend and a GPU (docs/cuda.md)\n"
    "  --tf32                  cuda: FP32 GEMMs may use TF32 tensor cores\n"
    "  --no-cuda-graphs        cuda: launch every kernel on each run (no CUDA graph)\n"
    "  --threads N             CPU threads (default: all hardware threads)\n"
    "  --repeat N              run N times and print min/median/mean time (default 1)\n"
    "  --verify-data           also verify the checksum of the plan's data section\n"
    "  --max-memory BYTES      refuse a plan whose arenas need more (suffix K, M or G;\n"
    "                          default: the physical memory)\n"
    "  --help                  show this help\n";

struct Options {
  std::string plan;
  std::vector<std::pair<std::string, std::string>> inputs;  // name, file
  std::string inputsDir;
  std::string outputDir;
  Device device = Device::kCPU;
  bool tf32 = false;
  bool cudaGraphs = true;
  int threads = 0;
  int repeat = 1;
  bool verifyData = false;
  uint64_t maxMemory = 0;  // 0: the physical memory
  bool help = false;
  mpc::run::TrainOptions train;
};

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "mpc-run: error: %s\n", message.c_str());
  std::exit(1);
}

void check(const Status &s) {
  if (!s.isOk()) die(s.message());
}

int parsePositive(const std::string &flag, const std::string &value, int minimum) {
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || v < minimum || v > 1000000)
    die(flag + " expects an integer >= " + std::to_string(minimum) + ", got '" + value + "'");
  return static_cast<int>(v);
}

// A byte count with an optional K/M/G suffix (powers of 1024).
uint64_t parseBytes(const std::string &flag, const std::string &value) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  uint64_t scale = 1;
  if (end && *end) {
    switch (*end) {
    case 'K': case 'k': scale = uint64_t{1} << 10; break;
    case 'M': case 'm': scale = uint64_t{1} << 20; break;
    case 'G': case 'g': scale = uint64_t{1} << 30; break;
    default: scale = 0;
    }
    if (end[1] != '\0') scale = 0;
  }
  if (value.empty() || value[0] == '-' || errno != 0 || scale == 0 || v == 0 || v > UINT64_MAX / scale)
    die(flag + " expects a positive byte count (suffix K, M or G allowed), got '" + value + "'");
  return v * scale;
}

uint64_t physicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  return pages > 0 && pageSize > 0 ? uint64_t(pages) * uint64_t(pageSize) : uint64_t{16} << 30;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i], value;
    bool hasValue = false;
    if (arg.rfind("--", 0) == 0) {
      size_t eq = arg.find('=');
      if (eq != std::string::npos && arg != "--input") {
        // --flag=value; for --input the value itself contains '='.
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        hasValue = true;
      }
    }
    auto takeValue = [&]() -> std::string {
      if (hasValue) return value;
      if (i + 1 >= args.size()) die(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--input") {
      std::string v = takeValue();
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) die("--input expects NAME=FILE.npy, got '" + v + "'");
      o.inputs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (arg == "--inputs") {
      o.inputsDir = takeValue();
    } else if (arg == "--output-dir") {
      o.outputDir = takeValue();
    } else if (arg == "--device") {
      std::string v = takeValue();
      if (v == "cpu") o.device = Device::kCPU;
      else if (v == "cuda") o.device = Device::kCUDA;
      else die("--device expects cpu or cuda, got '" + v + "'");
    } else if (arg == "--tf32") {
      o.tf32 = true;
    } else if (arg == "--no-cuda-graphs") {
      o.cudaGraphs = false;
    } else if (arg == "--threads") {
      o.threads = parsePositive("--threads", takeValue(), 1);
    } else if (arg == "--repeat") {
      o.repeat = parsePositive("--repeat", takeValue(), 1);
    } else if (arg == "--verify-data") {
      o.verifyData = true;
    } else if (arg == "--max-memory") {
      o.maxMemory = parseBytes("--max-memory", takeValue());
    } else if (mpc::run::parseTrainFlag(arg, takeValue, &o.train, die)) {
      // a training option
    } else if (arg.rfind("-", 0) == 0 && arg.size() > 1) {
      die("unknown option '" + arg + "' (see --help)");
    } else if (o.plan.empty()) {
      o.plan = arg;
    } else {
      die("unexpected argument '" + arg + "' (one plan file only)");
    }
  }
  return o;
}

// A file name for a tensor name: keeps [A-Za-z0-9._-], maps the rest to '_'.
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

bool isDirectory(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void bindInputs(const Options &o, const Plan &plan, Session &session) {
  std::map<std::string, std::string> files;
  for (const auto &[name, file] : o.inputs) {
    if (plan.findInput(name) < 0) {
      std::string known;
      for (const PlanBinding &b : plan.inputs()) known += (known.empty() ? "" : ", ") + b.name;
      die("the plan has no input named '" + name + "' (inputs: " + (known.empty() ? "none" : known) + ")");
    }
    if (!files.emplace(name, file).second) die("input '" + name + "' is given twice");
  }
  for (const PlanBinding &b : plan.inputs()) {
    if (files.count(b.name)) continue;
    if (o.inputsDir.empty()) die("no value for input '" + b.name + "' (use --input " + b.name + "=FILE.npy or --inputs DIR)");
    files[b.name] = o.inputsDir + "/" + sanitize(b.name) + ".npy";
  }
  for (const PlanBinding &b : plan.inputs()) {
    const PlanTensor &t = plan.tensors()[b.tensor];
    NpyArray arr;
    check(readNpy(files[b.name], t.dtype, &arr));
    Status s = session.setInput(b.name, arr.dtype, arr.shape.data(), static_cast<int>(arr.shape.size()),
                                arr.data.data(), arr.data.size());
    if (!s.isOk()) die(s.message() + " (from '" + files[b.name] + "')");
  }
}

void printTiming(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  size_t n = ms.size();
  double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  std::printf("mpc-run: %zu runs: min %.3f ms, median %.3f ms, mean %.3f ms\n", n, ms.front(), median, sum / n);
}

void writeOutputs(const Options &o, const Plan &plan, const Session &session) {
  if (!isDirectory(o.outputDir) && mkdir(o.outputDir.c_str(), 0755) != 0)
    die("cannot create output directory '" + o.outputDir + "'");
  std::set<std::string> used;
  for (const PlanBinding &b : plan.outputs()) {
    std::string base = sanitize(b.name), file = base;
    for (int k = 1; !used.insert(file).second; ++k) file = base + "_" + std::to_string(k);  // distinct files
    TensorView v;
    check(session.output(b.name, &v));
    std::vector<int64_t> shape(v.dims, v.dims + v.rank);
    std::string path = o.outputDir + "/" + file + ".npy";
    check(writeNpy(path, v.dtype, shape, v.data, v.nbytes()));
    std::printf("%s -> %s (%s)\n", b.name.c_str(), path.c_str(), describeType(v.dtype, shape).c_str());
  }
}

}  // namespace

int main(int argc, char **argv) {
  Options o = parseArgs(argc, argv);
  if (o.help) {
    std::fputs(kUsage, stdout);
    std::fputs("\n", stdout);
    std::fputs(mpc::run::kTrainUsage, stdout);
    return 0;
  }
  if (o.plan.empty()) die("no plan file given (see --help)");
  mpc::run::validateTrainOptions(o.train, !o.inputs.empty() || !o.inputsDir.empty(), o.repeat, die);
  if (!o.inputsDir.empty() && !isDirectory(o.inputsDir)) die("--inputs: '" + o.inputsDir + "' is not a directory");

  std::shared_ptr<const Plan> plan;
  LoadOptions lo;
  lo.verifyData = o.verifyData;
  check(Plan::load(o.plan, lo, &plan));
  // Refuse, rather than be killed allocating, arenas the machine cannot hold.
  const uint64_t cap = o.maxMemory ? o.maxMemory : physicalMemory();
  const uint64_t act = plan->activationArenaBytes(), state = plan->stateArenaBytes();
  if (act > cap || state > cap - act)
    die("plan needs " + std::to_string(act) + " bytes of activation arena and " + std::to_string(state) +
        " bytes of state, more than --max-memory (" + std::to_string(cap) + " bytes" +
        (o.maxMemory ? "" : ", the physical memory") + ")");
  SessionOptions so;
  so.device = o.device;
  so.numThreads = o.threads;
  so.allowTF32 = o.tf32;
  so.cudaGraphs = o.cudaGraphs;
  std::unique_ptr<Session> session;
  check(Session::create(plan, so, &session));
  if (o.train.train) {
    mpc::run::runTraining(o.train, *plan, *session, die);
    if (!o.outputDir.empty()) writeOutputs(o, *plan, *session);
    return 0;
  }
  bindInputs(o, *plan, *session);

  std::vector<double> times;
  for (int r = 0; r < o.repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    check(session->run());
    auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  if (o.repeat > 1) printTiming(times);
  if (!o.outputDir.empty()) {
    writeOutputs(o, *plan, *session);
  } else {
    for (const PlanBinding &b : plan->outputs()) {
      const PlanTensor &t = plan->tensors()[b.tensor];
      std::printf("%s: %s (not written; use --output-dir)\n", b.name.c_str(), describeType(t.dtype, t.dims).c_str());
    }
  }
  return 0;
}
