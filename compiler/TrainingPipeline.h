//===- TrainingPipeline.h - --train flags -> training passes ----*- C++ -*-===//
//
// `mpc-opt model.onnx --train [--loss=name] [--trainable=re] [--frozen=re]
//  --optimizer=adamw,lr=1e-3,weight_decay=0.01 [--loss-scale=..]
//  [--master-weights] [--param-dtype=..] [--clip-grad-norm=..] [--accumulate=K]
//  [--param-group=REGEX:key=value,...]` becomes mpc-training-step, then
// mpc-loss-scaling and mpc-master-weights with those options. Pipelines.cpp (autocast) runs first: autocast decides the
// forward precision, then the training step differentiates the cast graph.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

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
  /// The autocast dtype ("" when none): picks the default loss scaling.
  std::string autocast;
  /// `dynamic[,init=..,growth=..,backoff=..,interval=..,min=..,max=..]`,
  /// `static:<value>` or `none`; empty: dynamic for fp16, none otherwise.
  std::string lossScale;
  /// FP32 master weights for parameters stored in `paramDtype`.
  bool masterWeights = false;
  /// fp32, bf16 or fp16; empty: the autocast dtype with --master-weights,
  /// fp32 otherwise.
  std::string paramDtype;
  double clipGradNorm = 0;
  int64_t accumulate = 1;
  /// `REGEX:key=value,...` each (--param-group).
  std::vector<std::string> paramGroups;
};

/// Checks the options (the --optimizer list parses, the regexes compile) and
/// appends the training passes to `pm`. Returns false with a one-line `error`.
bool buildTrainingPipeline(mlir::OpPassManager &pm, const TrainingOptions &options,
                           std::string &error);

} // namespace mpc
