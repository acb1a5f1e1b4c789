//===- TrainingPipeline.cpp - --train flags -> training passes ------------===//

#include "compiler/TrainingPipeline.h"

#include "passes/Passes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Regex.h"

namespace mpc {

namespace {

bool parseNumber(llvm::StringRef flag, llvm::StringRef key, llvm::StringRef text, double &out,
                 std::string &error) {
  if (text.trim().getAsDouble(out)) {
    error = flag.str() + ": " + key.str() + "='" + text.str() + "' is not a number";
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
    if (!parseNumber("--optimizer", key, value, v, error))
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

/// `--loss-scale` -> mpc-loss-scaling options.
bool parseLossScale(llvm::StringRef spec, LossScalingOptions &opts, std::string &error) {
  if (spec == "none" || spec == "dynamic") {
    opts.mode = spec.str();
    return true;
  }
  if (spec.consume_front("static:")) {
    opts.mode = "static";
    if (spec.trim().getAsDouble(opts.init) || !(opts.init > 0)) {
      error = "--loss-scale=static:<value> needs a positive number, got '" + spec.str() + "'";
      return false;
    }
    return true;
  }
  if (!spec.consume_front("dynamic,")) {
    error = "--loss-scale must be dynamic[,key=value...], static:<value> or none, got '" +
            spec.str() + "'";
    return false;
  }
  opts.mode = "dynamic";
  llvm::SmallVector<llvm::StringRef> parts;
  spec.split(parts, ',');
  for (llvm::StringRef part : parts) {
    auto [key, value] = part.split('=');
    key = key.trim();
    double v;
    if (!parseNumber("--loss-scale", key, value, v, error))
      return false;
    if (key == "init")
      opts.init = v;
    else if (key == "growth")
      opts.growth = v;
    else if (key == "backoff")
      opts.backoff = v;
    else if (key == "interval" && v >= 1 && v == static_cast<double>(static_cast<int64_t>(v)))
      opts.interval = static_cast<int64_t>(v);
    else if (key == "min")
      opts.minScale = v;
    else if (key == "max")
      opts.maxScale = v;
    else {
      error = key == "interval" ? "--loss-scale: interval must be a positive integer"
                                : "--loss-scale: unknown key '" + key.str() +
                                      "' (expected init, growth, backoff, interval, min, max)";
      return false;
    }
  }
  return true;
}

} // namespace

bool buildTrainingPipeline(mlir::OpPassManager &pm, const TrainingOptions &options,
                           std::string &error) {
  if (!options.train) {
    if (!options.loss.empty() || !options.trainable.empty() || !options.frozen.empty() ||
        !options.optimizer.empty() || !options.lossScale.empty() || options.masterWeights ||
        !options.paramDtype.empty() || options.clipGradNorm != 0 || options.accumulate != 1 ||
        !options.paramGroups.empty()) {
      error = "--loss, --trainable, --frozen, --optimizer, --loss-scale, --master-weights, "
              "--param-dtype, --clip-grad-norm, --accumulate and --param-group need --train";
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
  if (options.accumulate < 1) {
    error = "--accumulate must be at least 1";
    return false;
  }
  step.accumulate = options.accumulate;
  if (!(options.clipGradNorm >= 0)) {
    error = "--clip-grad-norm must be non-negative (0: off)";
    return false;
  }
  step.clipGradNorm = options.clipGradNorm;
  for (const std::string &group : options.paramGroups) {
    if (group.find(';') != std::string::npos) {
      error = "--param-group takes one group; repeat the flag for several";
      return false;
    }
    step.paramGroups += (step.paramGroups.empty() ? "" : ";") + group;
  }

  // PyTorch's recipe: FP16 needs a dynamic loss scale, BF16 (FP32's range)
  // does not.
  LossScalingOptions scaling;
  if (!parseLossScale(options.lossScale.empty()
                          ? (options.autocast == "fp16" ? "dynamic" : "none")
                          : llvm::StringRef(options.lossScale),
                      scaling, error))
    return false;

  MasterWeightsOptions master;
  master.master = options.masterWeights;
  master.paramDtype = options.paramDtype.empty()
                          ? (options.masterWeights && !options.autocast.empty() ? options.autocast
                                                                                 : "fp32")
                          : options.paramDtype;
  if (master.paramDtype != "fp32" && master.paramDtype != "bf16" && master.paramDtype != "fp16") {
    error = "--param-dtype must be fp32, bf16 or fp16, got '" + master.paramDtype + "'";
    return false;
  }
  if (options.masterWeights && master.paramDtype == "fp32") {
    error = "--master-weights needs low-precision parameters: --autocast=bf16|fp16 or "
            "--param-dtype=bf16|fp16";
    return false;
  }

  pm.addPass(createTrainingStep(step));
  pm.addPass(createLossScaling(scaling));
  pm.addPass(createMasterWeights(master));
  return true;
}

} // namespace mpc
