// mpc-run --train: N training steps of a training plan, with progress lines,
// a CSV log and checkpoints. See docs/training.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/plan.h"
#include "core/session.h"

namespace mpc::run {

struct TrainOptions {
  bool train = false;
  int64_t steps = 0;
  std::string dataDir;       // --data DIR: batches DIR/<k>/<input>.npy
  bool synthetic = false;    // --synthetic
  int64_t classes = 0;       // --classes C: integer inputs of synthetic batches in [0, C)
  uint64_t seed = 0;         // --seed S: synthetic data
  bool hasLr = false;        // --lr X
  double lr = 0;
  std::string logPath;       // --log FILE.csv
  std::string saveState;     // --save-state FILE.safetensors
  std::string loadState;     // --load-state FILE.safetensors
  int64_t every = 0;         // --every K: also save every K steps
  int64_t printEvery = 1;    // --print-every K
};

// Handles one training flag: returns true when `arg` is one (consuming its
// value through takeValue). Calls die(message) on a bad value.
bool parseTrainFlag(const std::string &arg, const std::function<std::string()> &takeValue, TrainOptions *o,
                    const std::function<void(const std::string &)> &die);

// Checks the combination of flags (e.g. --steps without --train). `usesInputs`
// is whether --input/--inputs were given; `repeat` is --repeat.
void validateTrainOptions(const TrainOptions &o, bool usesInputs, int repeat,
                          const std::function<void(const std::string &)> &die);

// Runs the training loop. Every failure calls die(message).
void runTraining(const TrainOptions &o, const mpc::rt::Plan &plan, mpc::rt::Session &session,
                 const std::function<void(const std::string &)> &die);

// Help text for the training options.
extern const char *kTrainUsage;

}  // namespace mpc::run
