// The C API: a thin layer over Plan and Session that turns Status into codes
// and a thread-local message, and never lets an exception escape.
#include "mpc/runtime.h"

#include <new>
#include <string>

#include <cmath>

#include "core/checkpoint.h"
#include "core/plan.h"
#include "core/session.h"
#include "core/train_step.h"

using namespace mpc::rt;

struct mpc_plan {
  std::shared_ptr<const Plan> plan;
};
struct mpc_session {
  std::unique_ptr<Session> session;
  // mpc_session_train_step_info: the step in progress, the monitor, and the
  // strings handed out (valid until the next call).
  StepProgress progress;
  LossScaleMonitor monitor;
  std::string nonfinite, warning;
};

namespace {

thread_local std::string gLastError;

mpc_status fail(StatusCode code, std::string message) {
  gLastError = std::move(message);
  return static_cast<mpc_status>(code);
}

mpc_status report(const Status &s) { return s.isOk() ? MPC_OK : fail(s.code(), s.message()); }

// Runs `body`, mapping exceptions (allocation failures, mostly) to codes.
template <typename F> mpc_status guarded(const char *fn, F &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(StatusCode::kOutOfMemory, std::string(fn) + ": out of memory");
  } catch (const std::exception &e) {
    return fail(StatusCode::kInternal, std::string(fn) + ": " + e.what());
  } catch (...) {
    return fail(StatusCode::kInternal, std::string(fn) + ": unknown exception");
  }
}

// The runtime dtype for a C code; kInvalid for anything unknown.
DType toDType(mpc_dtype dtype) {
  int code = static_cast<int>(dtype);
  return code > 0 && code < kNumDTypes ? static_cast<DType>(code) : DType::kInvalid;
}

mpc_status nullArg(const char *fn, const char *arg) {
  return fail(StatusCode::kInvalidArgument, std::string(fn) + ": '" + arg + "' is null");
}

void fillInfo(const Plan &plan, const PlanBinding &b, const void *data, mpc_tensor_info *info) {
  const PlanTensor &t = plan.tensors()[b.tensor];
  *info = mpc_tensor_info();
  info->name = b.name.c_str();
  info->dtype = static_cast<mpc_dtype>(t.dtype);
  info->rank = static_cast<int32_t>(t.dims.size());
  for (size_t i = 0; i < t.dims.size(); ++i) info->dims[i] = t.dims[i];
  info->nbytes = static_cast<size_t>(t.nbytes);
  info->data = data;
}

const std::vector<PlanBinding> &bindingList(const Plan &p, int which) {
  return which == 0 ? p.inputs() : which == 1 ? p.outputs() : p.states();
}

mpc_status planCount(const mpc_plan *plan, int32_t *count, int which, const char *fn) {
  if (!plan) return nullArg(fn, "plan");
  if (!count) return nullArg(fn, "count");
  *count = static_cast<int32_t>(bindingList(*plan->plan, which).size());
  return MPC_OK;
}

mpc_status planInfo(const mpc_plan *plan, int32_t index, mpc_tensor_info *info, int which, const char *fn) {
  if (!plan) return nullArg(fn, "plan");
  if (!info) return nullArg(fn, "info");
  const auto &list = bindingList(*plan->plan, which);
  if (index < 0 || static_cast<size_t>(index) >= list.size())
    return fail(StatusCode::kInvalidArgument, std::string(fn) + ": index " + std::to_string(index) +
                                                  " out of range (count " + std::to_string(list.size()) + ")");
  fillInfo(*plan->plan, list[index], nullptr, info);
  return MPC_OK;
}

}  // namespace

extern "C" {

const char *mpc_last_error(void) { return gLastError.c_str(); }

const char *mpc_status_name(mpc_status status) {
  switch (status) {
  case MPC_OK: return "MPC_OK";
  case MPC_ERROR_INVALID_ARGUMENT: return "MPC_ERROR_INVALID_ARGUMENT";
  case MPC_ERROR_INVALID_PLAN: return "MPC_ERROR_INVALID_PLAN";
  case MPC_ERROR_NOT_FOUND: return "MPC_ERROR_NOT_FOUND";
  case MPC_ERROR_UNSUPPORTED: return "MPC_ERROR_UNSUPPORTED";
  case MPC_ERROR_IO: return "MPC_ERROR_IO";
  case MPC_ERROR_OUT_OF_MEMORY: return "MPC_ERROR_OUT_OF_MEMORY";
  case MPC_ERROR_INTERNAL: return "MPC_ERROR_INTERNAL";
  case MPC_STATUS_MAX_ENUM_: break;
  }
  return "MPC_ERROR_UNKNOWN";
}

const char *mpc_dtype_name(mpc_dtype dtype) {
  return dtypeName(toDType(dtype)).data();  // the names are static NUL-terminated literals
}

size_t mpc_dtype_size(mpc_dtype dtype) {
  return dtypeSize(toDType(dtype));
}

mpc_status mpc_session_options_init(mpc_session_options *options) {
  if (!options) return nullArg("mpc_session_options_init", "options");
  options->device = MPC_DEVICE_CPU;
  options->num_threads = 0;
  return MPC_OK;
}

mpc_status mpc_plan_load(const char *path, mpc_plan **plan) {
  if (plan) *plan = nullptr;
  if (!path) return nullArg("mpc_plan_load", "path");
  if (!plan) return nullArg("mpc_plan_load", "plan");
  return guarded("mpc_plan_load", [&] {
    auto handle = std::make_unique<mpc_plan>();
    Status s = Plan::load(path, LoadOptions(), &handle->plan);
    if (!s.isOk()) return report(s);
    *plan = handle.release();
    return MPC_OK;
  });
}

mpc_status mpc_plan_free(mpc_plan *plan) {
  delete plan;
  return MPC_OK;
}

mpc_status mpc_plan_num_inputs(const mpc_plan *p, int32_t *n) { return planCount(p, n, 0, "mpc_plan_num_inputs"); }
mpc_status mpc_plan_num_outputs(const mpc_plan *p, int32_t *n) { return planCount(p, n, 1, "mpc_plan_num_outputs"); }
mpc_status mpc_plan_num_states(const mpc_plan *p, int32_t *n) { return planCount(p, n, 2, "mpc_plan_num_states"); }
mpc_status mpc_plan_input_info(const mpc_plan *p, int32_t i, mpc_tensor_info *info) {
  return planInfo(p, i, info, 0, "mpc_plan_input_info");
}
mpc_status mpc_plan_output_info(const mpc_plan *p, int32_t i, mpc_tensor_info *info) {
  return planInfo(p, i, info, 1, "mpc_plan_output_info");
}
mpc_status mpc_plan_state_info(const mpc_plan *p, int32_t i, mpc_tensor_info *info) {
  return planInfo(p, i, info, 2, "mpc_plan_state_info");
}

mpc_status mpc_session_create(const mpc_plan *plan, const mpc_session_options *options, mpc_session **session) {
  if (session) *session = nullptr;
  if (!plan) return nullArg("mpc_session_create", "plan");
  if (!session) return nullArg("mpc_session_create", "session");
  return guarded("mpc_session_create", [&] {
    SessionOptions opts;
    if (options) {
      if (options->device != MPC_DEVICE_CPU && options->device != MPC_DEVICE_CUDA)
        return fail(StatusCode::kInvalidArgument,
                    "mpc_session_create: unknown device code " + std::to_string(static_cast<int>(options->device)));
      opts.device = static_cast<Device>(options->device);
      opts.numThreads = options->num_threads;
    }
    auto handle = std::make_unique<mpc_session>();
    Status s = Session::create(plan->plan, opts, &handle->session);
    if (!s.isOk()) return report(s);
    *session = handle.release();
    return MPC_OK;
  });
}

mpc_status mpc_session_destroy(mpc_session *session) {
  delete session;
  return MPC_OK;
}

mpc_status mpc_session_set_input(mpc_session *session, const char *name, mpc_dtype dtype, const int64_t *dims,
                                 int32_t rank, const void *data, size_t nbytes) {
  if (!session) return nullArg("mpc_session_set_input", "session");
  if (!name) return nullArg("mpc_session_set_input", "name");
  return guarded("mpc_session_set_input", [&] {
    return report(session->session->setInput(name, toDType(dtype), dims, rank, data, nbytes));
  });
}

mpc_status mpc_session_run(mpc_session *session) {
  if (!session) return nullArg("mpc_session_run", "session");
  return guarded("mpc_session_run", [&] { return report(session->session->run()); });
}

mpc_status mpc_session_get_output(const mpc_session *session, const char *name, mpc_tensor_info *info) {
  if (!session) return nullArg("mpc_session_get_output", "session");
  if (!name) return nullArg("mpc_session_get_output", "name");
  if (!info) return nullArg("mpc_session_get_output", "info");
  return guarded("mpc_session_get_output", [&] {
    const Plan &plan = session->session->plan();
    for (const PlanBinding &b : plan.outputs()) {
      if (b.name != name) continue;
      fillInfo(plan, b, session->session->tensorView(b.tensor).data, info);
      return MPC_OK;
    }
    return fail(StatusCode::kNotFound, std::string("the plan has no output named '") + name + "'");
  });
}

mpc_status mpc_session_read_state(const mpc_session *session, const char *name, void *dst, size_t nbytes) {
  if (!session) return nullArg("mpc_session_read_state", "session");
  if (!name) return nullArg("mpc_session_read_state", "name");
  return guarded("mpc_session_read_state", [&] { return report(session->session->readState(name, dst, nbytes)); });
}

mpc_status mpc_session_write_state(mpc_session *session, const char *name, const void *src, size_t nbytes) {
  if (!session) return nullArg("mpc_session_write_state", "session");
  if (!name) return nullArg("mpc_session_write_state", "name");
  return guarded("mpc_session_write_state", [&] { return report(session->session->writeState(name, src, nbytes)); });
}

mpc_status mpc_session_reset_state(mpc_session *session) {
  if (!session) return nullArg("mpc_session_reset_state", "session");
  session->session->resetState();
  session->progress = StepProgress();  // the step in progress is gone with its state
  return MPC_OK;
}

mpc_status mpc_session_get_state(const mpc_session *session, const char *name, mpc_tensor_info *info) {
  if (!session) return nullArg("mpc_session_get_state", "session");
  if (!name) return nullArg("mpc_session_get_state", "name");
  if (!info) return nullArg("mpc_session_get_state", "info");
  return guarded("mpc_session_get_state", [&] {
    const Plan &plan = session->session->plan();
    for (const PlanBinding &b : plan.states()) {
      if (b.name != name) continue;
      fillInfo(plan, b, session->session->tensorView(b.tensor).data, info);
      return MPC_OK;
    }
    return fail(StatusCode::kNotFound, std::string("the plan has no state named '") + name + "'");
  });
}

mpc_status mpc_session_train_step(mpc_session *session, float *loss_out) {
  if (!session) return nullArg("mpc_session_train_step", "session");
  return guarded("mpc_session_train_step", [&] {
    float loss = NAN;
    Status s = trainStep(*session->session, &loss, nullptr);
    if (!s.isOk()) return report(s);
    if (loss_out) *loss_out = loss;
    return MPC_OK;
  });
}

mpc_status mpc_session_train_step_info(mpc_session *session, mpc_step_info *info) {
  if (!session) return nullArg("mpc_session_train_step_info", "session");
  if (!info) return nullArg("mpc_session_train_step_info", "info");
  return guarded("mpc_session_train_step_info", [&] {
    *info = mpc_step_info();
    info->loss = NAN;
    info->loss_scale = NAN;
    info->grad_norm = NAN;
    session->nonfinite.clear();
    session->warning.clear();
    StepInfo step;
    bool complete = false;
    Status s = trainMicroStep(*session->session, &session->progress, &step, &complete);
    if (!s.isOk()) {
      session->progress = StepProgress();  // a failed run abandons the step
      return report(s);
    }
    info->step_complete = complete ? 1 : 0;
    if (!complete) {
      info->micro_batches = static_cast<int32_t>(session->progress.microBatches);
      return MPC_OK;
    }
    info->micro_batches = static_cast<int32_t>(step.microBatches);
    info->loss = step.loss;
    info->loss_scale = step.lossScale;
    info->grad_norm = step.gradNorm;
    info->has_loss_scale = step.hasLossScale ? 1 : 0;
    info->skipped = step.skipped ? 1 : 0;
    session->nonfinite = step.nonfiniteTensor;
    session->warning = session->monitor.observe(step);
    info->nonfinite_tensor = session->nonfinite.empty() ? nullptr : session->nonfinite.c_str();
    info->warning = session->warning.empty() ? nullptr : session->warning.c_str();
    return MPC_OK;
  });
}

mpc_status mpc_session_accumulation_steps(const mpc_session *session, int32_t *steps) {
  if (!session) return nullArg("mpc_session_accumulation_steps", "session");
  if (!steps) return nullArg("mpc_session_accumulation_steps", "steps");
  *steps = static_cast<int32_t>(accumulationSteps(session->session->plan()));
  return MPC_OK;
}

mpc_status mpc_session_set_loss_scale_monitor(mpc_session *session, float min_scale, int32_t max_backoffs,
                                              int32_t window) {
  if (!session) return nullArg("mpc_session_set_loss_scale_monitor", "session");
  if (!(std::isfinite(min_scale) && min_scale >= 0) || max_backoffs < 0 || window < 1)
    return fail(StatusCode::kInvalidArgument, "mpc_session_set_loss_scale_monitor: expected min_scale >= 0 (finite), "
                                              "max_backoffs >= 0 and window >= 1");
  return guarded("mpc_session_set_loss_scale_monitor", [&] {
    LossScaleMonitorOptions o;
    o.minScale = min_scale;
    o.maxBackoffs = max_backoffs;
    o.window = window;
    session->monitor = LossScaleMonitor(o);
    return MPC_OK;
  });
}

mpc_status mpc_session_set_learning_rate(mpc_session *session, float lr) {
  if (!session) return nullArg("mpc_session_set_learning_rate", "session");
  if (!std::isfinite(lr))
    return fail(StatusCode::kInvalidArgument, "mpc_session_set_learning_rate: the learning rate must be finite");
  return guarded("mpc_session_set_learning_rate", [&] { return report(setLearningRate(*session->session, lr)); });
}

mpc_status mpc_session_get_learning_rate(const mpc_session *session, float *lr) {
  if (!session) return nullArg("mpc_session_get_learning_rate", "session");
  if (!lr) return nullArg("mpc_session_get_learning_rate", "lr");
  return guarded("mpc_session_get_learning_rate", [&] {
    double v = 0;
    Status s = getLearningRate(*session->session, &v);
    if (!s.isOk()) return report(s);
    *lr = static_cast<float>(v);
    return MPC_OK;
  });
}

mpc_status mpc_session_save_state(const mpc_session *session, const char *path) {
  if (!session) return nullArg("mpc_session_save_state", "session");
  if (!path) return nullArg("mpc_session_save_state", "path");
  return guarded("mpc_session_save_state", [&] { return report(saveCheckpoint(*session->session, path)); });
}

mpc_status mpc_session_load_state(mpc_session *session, const char *path) {
  if (!session) return nullArg("mpc_session_load_state", "session");
  if (!path) return nullArg("mpc_session_load_state", "path");
  return guarded("mpc_session_load_state", [&] {
    Status st = loadCheckpoint(*session->session, path);
    if (st.isOk()) session->progress = StepProgress();
    return report(st);
  });
}

}  // extern "C"
