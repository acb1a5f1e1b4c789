//===- TrainingPipeline.cpp - --train flags -> training passes ------------===//

#include "compiler/TrainingPipeline.h"

#include "passes/Passes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Regex.h"

namespace mpc {

namespace {

bool parseNumber(llvm::StringRef key, llvm::StringRef text, double &out, std::string &error) {
  if (text.trim().getAsDouble(out)) {
    error = "--optimizer: " + key.str() + "='" + text.str() + "' is not a number";
    return false;
  }
  return true;
}

/// `adamw,lr=1e-3,beta1=0.9,...` -> pass options.
bool parseOptimizer(llvm::StringRef spec, TrainingStepOptions &opts, std::string &error) {
  llvm::SmallVector<llvm::StringRef> parts;
  spec.split(parts, ',');
  llvm::StringRef name = parts.front().trim();
  if (name != "sgd" && name != "momentum" && name != "adam" && name != "adamw") {
    error = "--optimizer must start with sgd, momentum, adam or adamw, got '" + name.str() + "'";
    return false;
  }
  opts.optimizer = name.str();
  llvm::StringSet<> seen;
  for (llvm::StringRef part : llvm::ArrayRef(parts).drop_front()) {
    auto [key, value] = part.split('=');
    key = key.trim();
    if (key.empty()) {
      error = "--optimizer: empty entry in '" + spec.str() + "'";
      return false;
    }
    if (!seen.insert(key).second) {
      error = "--optimizer: '" + key.str() + "' is given twice";
      return false;
    }
    bool hasValue = part.contains('=');
    if (key == "nesterov") {
      if (hasValue && value != "true" && value != "1" && value != "false" && value != "0") {
        error = "--optimizer: nesterov takes no value (or true/false), got '" + value.str() + "'";
        return false;
      }
      opts.nesterov = !hasValue || value == "true" || value == "1";
      continue;
    }
    if (!hasValue) {
      error = "--optimizer: '" + key.str() + "' needs a value (" + key.str() + "=...)";
      return false;
    }
    double v;
    if (!parseNumber(key, value, v, error))
      return false;
    bool adamKey = key == "beta1" || key == "beta2" || key == "eps";
    bool momentumKey = key == "momentum" || key == "dampening";
    if (key == "lr") {
      opts.lr = v;
    } else if (key == "weight_decay" || key == "weight-decay") {
      opts.weightDecay = v;
    } else if (adamKey && name.starts_with("adam")) {
      (key == "beta1" ? opts.beta1 : key == "beta2" ? opts.beta2 : opts.eps) = v;
    } else if (momentumKey && name == "momentum") {
      (key == "momentum" ? opts.momentum : opts.dampening) = v;
    } else if (adamKey || momentumKey) {
      error = "--optimizer: '" + key.str() + "' does not apply to " + name.str();
      return false;
    } else {
      error = "--optimizer: unknown key '" + key.str() +
              "' (expected lr, beta1, beta2, eps, weight_decay, momentum, dampening, nesterov)";
      return false;
    }
  }
  if (opts.nesterov && name != "momentum") {
    error = "--optimizer: nesterov applies to momentum only";
    return false;
  }
  if (!(opts.lr >= 0)) {
    error = "--optimizer: lr must be non-negative";
    return false;
  }
  return true;
}

} // namespace

bool buildTrainingPipeline(mlir::OpPassManager &pm, const TrainingOptions &options,
                           std::string &error) {
  if (!options.train) {
    if (!options.loss.empty() || !options.trainable.empty() || !options.frozen.empty() ||
        !options.optimizer.empty()) {
      error = "--loss, --trainable, --frozen and --optimizer need --train";
      return false;
    }
    return true;
  }
  TrainingStepOptions step;
  if (!parseOptimizer(options.optimizer.empty() ? "sgd" : options.optimizer, step, error))
    return false;
  for (auto [flag, re] : {std::pair("--trainable", &options.trainable),
                          std::pair("--frozen", &options.frozen)}) {
    std::string why;
    if (!re->empty() && !llvm::Regex(*re).isValid(why)) {
      error = std::string(flag) + " '" + *re + "' is not a valid regex: " + why;
      return false;
    }
  }
  step.loss = options.loss;
  step.trainable = options.trainable;
  step.frozen = options.frozen;
  pm.addPass(createTrainingStep(step));
  return true;
}

} // namespace mpc
