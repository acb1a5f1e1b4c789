//===- TrainingPipeline.h - --train flags -> training passes ----*- C++ -*-===//
//
// `mpc-opt model.onnx --train [--loss=name] [--trainable=re] [--frozen=re]
//  --optimizer=adamw,lr=1e-3,weight_decay=0.01` becomes mpc-training-step with
// those options. Pipelines.cpp (autocast) runs first: autocast decides the
// forward precision, then the training step differentiates the cast graph.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "mlir/Pass/PassManager.h"

namespace mpc {

struct TrainingOptions {
  bool train = false;
  std::string loss;
  std::string trainable;
  std::string frozen;
  /// `name[,key=value...]`: sgd, momentum, adam or adamw with lr, beta1, beta2,
  /// eps, weight_decay, momentum, dampening, nesterov.
  std::string optimizer;
};

/// Checks the options (the --optimizer list parses, the regexes compile) and
/// appends the training passes to `pm`. Returns false with a one-line `error`.
bool buildTrainingPipeline(mlir::OpPassManager &pm, const TrainingOptions &options,
                           std::string &error);

} // namespace mpc
