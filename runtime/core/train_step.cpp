#include "core/train_step.h"

#include <cmath>
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

std::string lossOutputName(const Plan &plan) {
  if (plan.findOutput(kLossOutputName) >= 0) return kLossOutputName;
  std::string found;
  int count = 0;
  for (const PlanBinding &b : plan.outputs()) {
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

}  // namespace mpc::rt
