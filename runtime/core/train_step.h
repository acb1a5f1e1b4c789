// Training on top of a Session: one step, the loss, the learning rate.
//
// A training plan (mpc-opt --train --emit=plan) is an ordinary plan whose
// kernels also write state tensors: the optimizer updates parameters and
// moments in place, the step counter is incremented by a kernel, and so on.
// Running it once is one training step. By convention (docs/training.md):
//   - the graph output named "loss" is the step's scalar loss (without one,
//     the plan's only float output with one element, if there is exactly one);
//   - the state named "optimizer.lr" is the learning rate (an f32 scalar the
//     optimizer kernels read), so an application can schedule it;
//   - the state named "optimizer.step" counts the steps already taken.
// Dynamic loss scaling and gradient accumulation (docs/training.md,
// "Loss scaling telemetry") add:
//   - the state "loss_scale.scale" (f32 scalar): the current loss scale;
//   - the graph outputs "found_inf" (f32 scalar, != 0: the optimizer step was
//     skipped), "grad_norm" (f32 scalar: the global L2 norm of the unscaled
//     gradients) and "nonfinite_index" (i64 scalar: the index, into the
//     `names` attribute of the plan's unscale_and_check kernel, of the first
//     gradient with an inf/NaN; -1 when none);
//   - the state "accumulate.micro_step" (i64 scalar) with an
//     `accumulation_skip` kernel whose attribute `steps` = K: one optimizer
//     step is K runs (micro-batches).
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "core/session.h"

namespace mpc::rt {

inline constexpr const char *kLossOutputName = "loss";
inline constexpr const char *kLearningRateStateName = "optimizer.lr";
inline constexpr const char *kStepStateName = "optimizer.step";
inline constexpr const char *kLossScaleStateName = "loss_scale.scale";
inline constexpr const char *kMicroStepStateName = "accumulate.micro_step";
inline constexpr const char *kFoundInfOutputName = "found_inf";
inline constexpr const char *kGradNormOutputName = "grad_norm";
inline constexpr const char *kNonfiniteIndexOutputName = "nonfinite_index";

// The name of the plan's loss output (see above); empty when it has none.
std::string lossOutputName(const Plan &plan);

// Runs the plan once (one micro-batch when the plan accumulates gradients).
// When the plan has a loss output, *loss receives it converted
// to float and *hasLoss is true; otherwise *loss is NaN and *hasLoss false.
// Either pointer may be null.
Status trainStep(Session &session, float *loss, bool *hasLoss);

// Reads the loss output of the last run (kNotFound when the plan has none).
Status readLoss(const Session &session, float *loss);

// Writes / reads the "optimizer.lr" state (f32, f64, f16 or bf16 scalar);
// kNotFound naming the state when the plan has none.
Status setLearningRate(Session &session, double lr);
Status getLearningRate(const Session &session, double *lr);

// Reads the "optimizer.step" state (an integer scalar); kNotFound when absent.
Status getStepCount(const Session &session, int64_t *step);

// ---- Loss scaling and gradient accumulation telemetry ----

// What one optimizer step did.
struct StepInfo {
  float loss = NAN;           // mean of the step's micro-batch losses; NaN without a loss output
  bool hasLoss = false;
  float lossScale = NAN;      // "loss_scale.scale" read before the step's first run (the scale it used)
  bool hasLossScale = false;  // false: the plan has no loss scaling
  bool skipped = false;       // output "found_inf" != 0 (false when absent)
  float gradNorm = NAN;       // output "grad_norm" (NaN when absent)
  std::string nonfiniteTensor;  // name of the first gradient with an inf/NaN ("" when none)
  int64_t microBatches = 0;   // runs that made up this step (K, or fewer after resuming mid-step)
};

// K of a gradient-accumulating plan: the `steps` attribute of its
// accumulation_skip kernel when it also has the state "accumulate.micro_step";
// 1 otherwise.
int64_t accumulationSteps(const Plan &plan);

// The state of an optimizer step in progress (between micro-batches).
struct StepProgress {
  double lossSum = 0;
  int64_t lossCount = 0;
  int64_t microBatches = 0;
  float lossScale = NAN;
  bool hasLossScale = false;
};

// Runs one micro-batch on the inputs currently set. *complete becomes true when
// this run finished an optimizer step (always with K = 1; with K > 1 when the
// plan's "accumulate.micro_step" was K-1 mod K before the run); then *info (if
// non-null) receives the step's telemetry and *progress is reset. progress
// must persist between the calls of one step; complete may be null.
Status trainMicroStep(Session &session, StepProgress *progress, StepInfo *info, bool *complete);

// Sets the inputs of micro-batch `micro` (0-based within the step) before it
// runs.
using MicroBatchFeed = std::function<Status(Session &session, int64_t micro)>;

// Runs one whole optimizer step: micro-batches until the step completes
// (K runs from a step boundary), calling feed (if set) before each run; without
// feed every micro-batch reuses the inputs already set.
Status trainStep(Session &session, const MicroBatchFeed &feed, StepInfo *info);
Status trainStep(Session &session, StepInfo *info);

// Watches the loss scale for a "death spiral": the scale keeps falling because
// some gradients overflow whatever the scale (usually an op that overflows in
// FP16 on its own). Fed one StepInfo per optimizer step.
struct LossScaleMonitorOptions {
  float minScale = 1.0f;  // alarm when the scale used by a step falls below this (0: never)
  int maxBackoffs = 8;    // ... or when at least this many steps were skipped (0: never)
  int window = 100;       // ... within the last `window` steps (>= 1)
};

class LossScaleMonitor {
public:
  explicit LossScaleMonitor(LossScaleMonitorOptions options = {});
  // Feeds one step. Returns a warning (one line) on the first step of an
  // alarm episode, "" otherwise; an episode ends once the condition clears.
  // Steps of plans without loss scaling never alarm.
  std::string observe(const StepInfo &info);
  bool alarming() const { return alarming_; }
  const LossScaleMonitorOptions &options() const { return options_; }

private:
  LossScaleMonitorOptions options_;
  int64_t step_ = 0;
  std::deque<int64_t> skippedSteps_;  // indices of skipped steps within the window
  std::string lastNonfinite_;
  bool alarming_ = false;
};

}  // namespace mpc::rt
