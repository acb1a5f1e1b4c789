// mpc-run --fp8-history: see fp8_telemetry.h.
#include "fp8_telemetry.h"

#include <cerrno>
#include <cstring>

namespace mpc::run {

namespace {
std::string gHistoryPath; // --fp8-history FILE
const char kHistorySuffix[] = ".amax_history";
}  // namespace

bool parseFp8HistoryFlag(const std::string &arg, const std::function<std::string()> &takeValue) {
  if (arg != "--fp8-history") return false;
  gHistoryPath = takeValue();
  return true;
}

Fp8Telemetry::Fp8Telemetry(const mpc::rt::Plan &plan, const mpc::rt::Session &session,
                           const std::function<void(const std::string &)> &die)
    : session_(session), die_(die), path_(gHistoryPath) {
  if (path_.empty()) return;
  const size_t suffixLen = sizeof(kHistorySuffix) - 1;
  for (const mpc::rt::PlanBinding &b : plan.states()) {
    if (b.name.size() <= suffixLen || b.name.compare(b.name.size() - suffixLen, suffixLen, kHistorySuffix) != 0)
      continue;
    std::string prefix = b.name.substr(0, b.name.size() - suffixLen);
    if (plan.findState(prefix + ".scale") < 0) continue;
    const mpc::rt::PlanTensor &t = plan.tensors()[b.tensor];
    if (t.dtype != mpc::rt::DType::kF32 || t.dims.size() != 1 || t.dims[0] < 1) continue;
    operands_.push_back({prefix, static_cast<size_t>(t.dims[0])});
  }
  if (operands_.empty())
    die("--fp8-history: the plan has no FP8 scaling state ('<gemm>.fp8.<operand>.amax_history'); "
        "compile it with --fp8=hybrid|e4m3 (delayed scaling)");
  file_ = std::fopen(path_.c_str(), "w");
  if (!file_) die("--fp8-history: cannot create '" + path_ + "': " + std::strerror(errno));
  std::fprintf(file_, "step,operand,amax,scale\n");
}

Fp8Telemetry::~Fp8Telemetry() {
  if (file_ && std::fclose(file_) != 0) die_("--fp8-history: cannot write '" + path_ + "'");
}

void Fp8Telemetry::record(int64_t step) {
  if (!file_) return;
  std::vector<float> history;
  for (const Operand &op : operands_) {
    history.resize(op.historyLength);
    float scale = 0;
    mpc::rt::Status s = session_.readState(op.prefix + kHistorySuffix, history.data(), history.size() * sizeof(float));
    if (s.isOk()) s = session_.readState(op.prefix + ".scale", &scale, sizeof(scale));
    if (!s.isOk()) die_("--fp8-history: " + s.message());
    std::fprintf(file_, "%lld,%s,%.9g,%.9g\n", static_cast<long long>(step), op.prefix.c_str(),
                 static_cast<double>(history.back()), static_cast<double>(scale));
  }
}

}  // namespace mpc::run
