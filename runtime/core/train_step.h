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
#pragma once

#include "core/session.h"

namespace mpc::rt {

inline constexpr const char *kLossOutputName = "loss";
inline constexpr const char *kLearningRateStateName = "optimizer.lr";
inline constexpr const char *kStepStateName = "optimizer.step";

// The name of the plan's loss output (see above); empty when it has none.
std::string lossOutputName(const Plan &plan);

// Runs one step. When the plan has a loss output, *loss receives it converted
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

}  // namespace mpc::rt
