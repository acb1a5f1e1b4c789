#include "core/train_step.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/float_formats.h"

namespace mpc::rt {

namespace {

bool scalarToDouble(const TensorView &v, double *out) {
  if (v.numel() != 1 || !v.data) return false;
  switch (v.dtype) {
  case DType::kF32: *out = *v.as<const float>(); return true;
  case DType::kF64: *out = *v.as<const double>(); return true;
  case DType::kF16: *out = halfToFloat(*v.as<const uint16_t>()); return true;
  case DType::kBF16: *out = bfloat16ToFloat(*v.as<const uint16_t>()); return true;
  case DType::kI32: *out = *v.as<const int32_t>(); return true;
  case DType::kI64: *out = static_cast<double>(*v.as<const int64_t>()); return true;
  default: return false;
  }
}

std::string describeView(const TensorView &v) {
  return describeType(v.dtype, std::vector<int64_t>(v.dims, v.dims + v.rank));
}

}  // namespace

// The telemetry outputs are scalar floats too, but never the loss.
static bool isTelemetryOutput(const std::string &name) {
  return name == kFoundInfOutputName || name == kGradNormOutputName || name == kNonfiniteIndexOutputName;
}

std::string lossOutputName(const Plan &plan) {
  if (plan.findOutput(kLossOutputName) >= 0) return kLossOutputName;
  std::string found;
  int count = 0;
  for (const PlanBinding &b : plan.outputs()) {
    if (isTelemetryOutput(b.name)) continue;
    const PlanTensor &t = plan.tensors()[b.tensor];
    const DType d = t.dtype;
    if ((d == DType::kF32 || d == DType::kF64 || d == DType::kF16 || d == DType::kBF16) && t.nbytes == dtypeSize(d)) {
      found = b.name;
      ++count;
    }
  }
  return count == 1 ? found : std::string();
}

Status readLoss(const Session &session, float *loss) {
  const std::string name = lossOutputName(session.plan());
  if (name.empty())
    return Status(StatusCode::kNotFound, "the plan has no loss output (no output named 'loss' and not exactly one "
                                         "scalar float output)");
  TensorView v;
  MPC_RETURN_IF_ERROR(session.output(name, &v));
  double d;
  if (!isFloat(v.dtype) || dtypeSize(v.dtype) == 1 || !scalarToDouble(v, &d))
    return Status(StatusCode::kInvalidArgument, "output '" + name + "' is " + describeView(v) +
                                                    ", not a float scalar (one element of f32, f64, f16 or bf16)");
  if (loss) *loss = static_cast<float>(d);
  return Status::ok();
}

Status trainStep(Session &session, float *loss, bool *hasLoss) {
  MPC_RETURN_IF_ERROR(session.run());
  const bool has = !lossOutputName(session.plan()).empty();
  if (hasLoss) *hasLoss = has;
  if (!has) {
    if (loss) *loss = NAN;
    return Status::ok();
  }
  return readLoss(session, loss);
}

Status setLearningRate(Session &session, double lr) {
  const Plan &plan = session.plan();
  int32_t id = plan.findState(kLearningRateStateName);
  if (id < 0)
    return Status(StatusCode::kNotFound, "the plan has no state named 'optimizer.lr' (not a training plan, or its "
                                         "optimizer takes a constant learning rate)");
  const PlanTensor &t = plan.tensors()[id];
  uint8_t buf[8];
  size_t n = dtypeSize(t.dtype);
  if (t.nbytes != n) return Status(StatusCode::kInvalidArgument, "state 'optimizer.lr' is " + describeType(t.dtype, t.dims) + ", not a scalar");
  switch (t.dtype) {
  case DType::kF32: { float f = static_cast<float>(lr); std::memcpy(buf, &f, 4); break; }
  case DType::kF64: std::memcpy(buf, &lr, 8); break;
  case DType::kF16: { uint16_t h = floatToHalf(static_cast<float>(lr)); std::memcpy(buf, &h, 2); break; }
  case DType::kBF16: { uint16_t h = floatToBFloat16(static_cast<float>(lr)); std::memcpy(buf, &h, 2); break; }
  default:
    return Status(StatusCode::kInvalidArgument, "state 'optimizer.lr' is " + describeType(t.dtype, t.dims) +
                                                    ", not a float scalar");
  }
  return session.writeState(kLearningRateStateName, buf, n);
}

Status getLearningRate(const Session &session, double *lr) {
  int32_t id = session.plan().findState(kLearningRateStateName);
  if (id < 0) return Status(StatusCode::kNotFound, "the plan has no state named 'optimizer.lr'");
  const TensorView &v = session.tensorView(id);
  double d;
  if (!isFloat(v.dtype) || dtypeSize(v.dtype) == 1 || !scalarToDouble(v, &d))
    return Status(StatusCode::kInvalidArgument, "state 'optimizer.lr' is " + describeView(v) + ", not a float scalar");
  if (lr) *lr = d;
  return Status::ok();
}

Status getStepCount(const Session &session, int64_t *step) {
  int32_t id = session.plan().findState(kStepStateName);
  if (id < 0) return Status(StatusCode::kNotFound, "the plan has no state named 'optimizer.step'");
  const TensorView &v = session.tensorView(id);
  if (v.numel() != 1 || (v.dtype != DType::kI64 && v.dtype != DType::kI32))
    return Status(StatusCode::kInvalidArgument, "state 'optimizer.step' is " + describeView(v) + ", not an integer scalar");
  if (step) *step = v.dtype == DType::kI64 ? *v.as<const int64_t>() : *v.as<const int32_t>();
  return Status::ok();
}

// ---- Loss scaling and gradient accumulation telemetry ----

namespace {

// A scalar plan output as double; false when absent or not a numeric scalar.
bool readScalarOutput(const Session &session, const char *name, double *out) {
  int32_t id = session.plan().findOutput(name);
  if (id < 0) return false;
  TensorView v;
  if (!session.output(name, &v).isOk()) return false;
  return scalarToDouble(v, out);
}

bool readScalarState(const Session &session, const char *name, double *out) {
  int32_t id = session.plan().findState(name);
  if (id < 0) return false;
  return scalarToDouble(session.tensorView(id), out);
}

// The name of gradient `index` from the `names` attribute of the
// unscale_and_check kernel producing the "nonfinite_index" output (the first
// unscale_and_check kernel when none is bound); "#<index>" when unknown.
std::string gradientName(const Plan &plan, int64_t index) {
  const int32_t outTensor = plan.findOutput(kNonfiniteIndexOutputName);
  const PlanKernel *chosen = nullptr;
  for (const PlanKernel &k : plan.kernels()) {
    if (k.op != "unscale_and_check") continue;
    if (std::find(k.outputs.begin(), k.outputs.end(), outTensor) != k.outputs.end()) {
      chosen = &k;
      break;
    }
    if (!chosen) chosen = &k;
  }
  if (chosen) {
    const std::string names = chosen->attrs.getString("names", "");
    int64_t i = 0;
    size_t begin = 0;
    while (true) {
      size_t nl = names.find('\n', begin);
      if (i == index) {
        std::string n = names.substr(begin, nl == std::string::npos ? std::string::npos : nl - begin);
        if (!n.empty()) return n;
        break;
      }
      if (nl == std::string::npos) break;
      begin = nl + 1;
      ++i;
    }
  }
  return "#" + std::to_string(index);
}

}  // namespace

int64_t accumulationSteps(const Plan &plan) {
  if (plan.findState(kMicroStepStateName) < 0) return 1;
  for (const PlanKernel &k : plan.kernels())
    if (k.op == "accumulation_skip") {
      const int64_t steps = k.attrs.getInt("steps", 1);
      return steps >= 1 ? steps : 1;
    }
  return 1;
}

Status trainMicroStep(Session &session, StepProgress *progress, StepInfo *info, bool *complete) {
  if (complete) *complete = false;
  if (!progress) return Status(StatusCode::kInvalidArgument, "trainMicroStep: 'progress' is null");
  const Plan &plan = session.plan();
  const int64_t k = accumulationSteps(plan);
  // Where this run sits in its optimizer step.
  bool last = true;
  if (k > 1) {
    double m = 0;
    if (!readScalarState(session, kMicroStepStateName, &m))
      return Status(StatusCode::kInvalidArgument, std::string("state '") + kMicroStepStateName +
                                                      "' is not an integer scalar");
    const int64_t mi = static_cast<int64_t>(m);
    last = ((mi % k) + k) % k == k - 1;
  }
  if (progress->microBatches == 0) {
    double scale = 0;
    progress->hasLossScale = readScalarState(session, kLossScaleStateName, &scale);
    progress->lossScale = progress->hasLossScale ? static_cast<float>(scale) : NAN;
  }
  float loss = NAN;
  bool hasLoss = false;
  MPC_RETURN_IF_ERROR(trainStep(session, &loss, &hasLoss));
  ++progress->microBatches;
  if (hasLoss) {
    progress->lossSum += loss;
    ++progress->lossCount;
  }
  if (!last) return Status::ok();

  if (info) {
    StepInfo r;
    r.hasLoss = progress->lossCount > 0;
    r.loss = r.hasLoss ? static_cast<float>(progress->lossSum / static_cast<double>(progress->lossCount)) : NAN;
    r.hasLossScale = progress->hasLossScale;
    r.lossScale = progress->lossScale;
    double v = 0;
    r.skipped = readScalarOutput(session, kFoundInfOutputName, &v) && v != 0;
    r.gradNorm = readScalarOutput(session, kGradNormOutputName, &v) ? static_cast<float>(v) : NAN;
    if (readScalarOutput(session, kNonfiniteIndexOutputName, &v) && v >= 0)
      r.nonfiniteTensor = gradientName(plan, static_cast<int64_t>(v));
    r.microBatches = progress->microBatches;
    *info = std::move(r);
  }
  *progress = StepProgress();
  if (complete) *complete = true;
  return Status::ok();
}

Status trainStep(Session &session, const MicroBatchFeed &feed, StepInfo *info) {
  StepProgress progress;
  const int64_t k = accumulationSteps(session.plan());
  for (int64_t micro = 0;; ++micro) {
    if (feed) MPC_RETURN_IF_ERROR(feed(session, micro));
    bool complete = false;
    MPC_RETURN_IF_ERROR(trainMicroStep(session, &progress, info, &complete));
    if (complete) return Status::ok();
    if (micro + 1 >= k)  // cannot happen with a consistent counter; never loop forever
      return Status(StatusCode::kInternal, "gradient accumulation: no step boundary after " + std::to_string(k) +
                                               " micro-batches (is 'accumulate.micro_step' incremented by the plan?)");
  }
}

Status trainStep(Session &session, StepInfo *info) { return trainStep(session, MicroBatchFeed(), info); }

LossScaleMonitor::LossScaleMonitor(LossScaleMonitorOptions options) : options_(options) {}

std::string LossScaleMonitor::observe(const StepInfo &info) {
  const int64_t step = step_++;
  if (!info.nonfiniteTensor.empty()) lastNonfinite_ = info.nonfiniteTensor;
  if (!info.hasLossScale) return std::string();
  if (info.skipped) skippedSteps_.push_back(step);
  while (!skippedSteps_.empty() && skippedSteps_.front() <= step - options_.window) skippedSteps_.pop_front();
  const bool low = info.lossScale < options_.minScale;
  const bool many = options_.maxBackoffs > 0 && static_cast<int64_t>(skippedSteps_.size()) >= options_.maxBackoffs;
  const bool alarm = low || many;
  const bool starts = alarm && !alarming_;
  alarming_ = alarm;
  if (!starts) return std::string();
  char scale[32], floor[32];
  std::snprintf(scale, sizeof scale, "%g", static_cast<double>(info.lossScale));
  std::snprintf(floor, sizeof floor, "%g", static_cast<double>(options_.minScale));
  std::string msg = "loss scale death spiral: ";
  if (low) msg += std::string("the loss scale fell to ") + scale + " (below " + floor + ")";
  else msg += std::string("the loss scale is ") + scale;
  msg += ", " + std::to_string(skippedSteps_.size()) + " of the last " + std::to_string(options_.window) +
         " steps skipped for non-finite gradients";
  if (!lastNonfinite_.empty())
    msg += "; first non-finite gradient last seen in '" + lastNonfinite_ +
           "': compute that region in BF16 or FP32 (mpc-opt --precision-policy keeping its ops in f32, or BF16 "
           "autocast)";
  else
    msg += ": some op overflows in low precision whatever the scale; compute it in BF16 or FP32 (mpc-opt "
           "--precision-policy, or BF16 autocast)";
  return msg;
}

}  // namespace mpc::rt
