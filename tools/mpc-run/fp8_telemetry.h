// mpc-run --fp8-history FILE.csv: per-step FP8 scaling telemetry of a plan
// compiled with --fp8 (delayed scaling). Kept apart from the training loop
// (train.cpp), which only calls the three hooks below.
//
// CSV: header `step,operand,amax,scale`, then one row per FP8 operand per step,
// read from the state after the step: `operand` is the state prefix
// (`<gemm node>.fp8.<input|weight|grad_output>`), `amax` the amax the step
// recorded (the newest history entry, which the end-of-step roll moved to the
// last slot; 0 when the operand did not run or with --fp8-amax-history=1,
// whose only slot is cleared by the roll), `scale` the scale the next step uses.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/plan.h"
#include "core/session.h"

namespace mpc::run {

// Consumes `--fp8-history FILE` (returns true when `arg` is that flag).
bool parseFp8HistoryFlag(const std::string &arg, const std::function<std::string()> &takeValue);

class Fp8Telemetry {
public:
  // Opens the CSV when --fp8-history was given; die(message) when the file
  // cannot be created or the plan has no FP8 scaling state.
  Fp8Telemetry(const mpc::rt::Plan &plan, const mpc::rt::Session &session,
               const std::function<void(const std::string &)> &die);
  ~Fp8Telemetry();
  Fp8Telemetry(const Fp8Telemetry &) = delete;
  Fp8Telemetry &operator=(const Fp8Telemetry &) = delete;

  // Appends the rows of `step` (after its train step ran).
  void record(int64_t step);

private:
  struct Operand {
    std::string prefix;
    size_t historyLength = 0;
  };
  const mpc::rt::Session &session_;
  std::function<void(const std::string &)> die_;
  std::vector<Operand> operands_;
  std::FILE *file_ = nullptr;
  std::string path_;
};

}  // namespace mpc::run
