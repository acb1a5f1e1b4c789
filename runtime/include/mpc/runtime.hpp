// libmpcrt C++ wrapper: header-only RAII over the C API (mpc/runtime.h).
//
// Error handling: every failing C call throws mpc::Error (a std::runtime_error
// carrying the mpc_status code and mpc_last_error()'s message). Destructors
// never throw. Applications that cannot use exceptions call the C API directly.
//
//   mpc::Plan plan("model.mpcp");
//   mpc::Session session(plan, mpc::Device::kCPU, /*numThreads=*/4);
//   session.setInput("x", x.data(), {2, 3});          // dtype from T
//   session.run();
//   mpc::TensorRef y = session.output("y");           // y.as<float>()[i]
//
// Training (docs/training.md): a training plan runs one step per call.
//   float loss = session.trainStep();
//   session.setLearningRate(1e-4f);
//   session.saveState("ck.safetensors");  session.loadState("ck.safetensors");
//   std::vector<float> w = session.readState<float>("fc1.weight");
// With loss scaling / gradient accumulation, trainStepInfo() reports what the
// step did (one call per micro-batch; stepComplete at the step's end).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mpc/runtime.h"

namespace mpc {

class Error : public std::runtime_error {
public:
  Error(mpc_status code, const std::string &message) : std::runtime_error(message), code_(code) {}
  mpc_status code() const { return code_; }

private:
  mpc_status code_;
};

namespace detail {
inline void check(mpc_status s) {
  if (s != MPC_OK) throw Error(s, std::string(mpc_status_name(s)) + ": " + mpc_last_error());
}
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr mpc_dtype value = MPC_DTYPE_F32; };
template <> struct DTypeOf<double> { static constexpr mpc_dtype value = MPC_DTYPE_F64; };
template <> struct DTypeOf<int8_t> { static constexpr mpc_dtype value = MPC_DTYPE_I8; };
template <> struct DTypeOf<int32_t> { static constexpr mpc_dtype value = MPC_DTYPE_I32; };
template <> struct DTypeOf<int64_t> { static constexpr mpc_dtype value = MPC_DTYPE_I64; };
template <> struct DTypeOf<bool> { static constexpr mpc_dtype value = MPC_DTYPE_BOOL; };
}  // namespace detail

enum class Device { kCPU = MPC_DEVICE_CPU, kCUDA = MPC_DEVICE_CUDA };

// mpc_step_info with owned strings ("" where the C struct has NULL).
struct StepInfo {
  float loss = 0, lossScale = 0, gradNorm = 0;
  bool hasLossScale = false, skipped = false, stepComplete = false;
  int32_t microBatches = 0;
  std::string nonfiniteTensor, warning;
};

// A described tensor; `data` is null for plan queries and points into the
// session for outputs (valid until the next run).
struct TensorRef {
  std::string name;
  mpc_dtype dtype = MPC_DTYPE_INVALID;
  std::vector<int64_t> shape;
  size_t nbytes = 0;
  const void *data = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  template <typename T> const T *as() const { return static_cast<const T *>(data); }

  static TensorRef from(const mpc_tensor_info &info) {
    TensorRef t;
    t.name = info.name ? info.name : "";
    t.dtype = info.dtype;
    t.shape.assign(info.dims, info.dims + info.rank);
    t.nbytes = info.nbytes;
    t.data = info.data;
    return t;
  }
};

class Plan {
public:
  explicit Plan(const std::string &path) { detail::check(mpc_plan_load(path.c_str(), &plan_)); }
  ~Plan() { mpc_plan_free(plan_); }
  Plan(Plan &&o) noexcept : plan_(std::exchange(o.plan_, nullptr)) {}
  Plan &operator=(Plan &&o) noexcept {
    std::swap(plan_, o.plan_);
    return *this;
  }
  Plan(const Plan &) = delete;
  Plan &operator=(const Plan &) = delete;

  std::vector<TensorRef> inputs() const { return list(mpc_plan_num_inputs, mpc_plan_input_info); }
  std::vector<TensorRef> outputs() const { return list(mpc_plan_num_outputs, mpc_plan_output_info); }
  std::vector<TensorRef> states() const { return list(mpc_plan_num_states, mpc_plan_state_info); }
  const mpc_plan *handle() const { return plan_; }

private:
  using CountFn = mpc_status (*)(const mpc_plan *, int32_t *);
  using InfoFn = mpc_status (*)(const mpc_plan *, int32_t, mpc_tensor_info *);
  std::vector<TensorRef> list(CountFn count, InfoFn info) const {
    int32_t n = 0;
    detail::check(count(plan_, &n));
    std::vector<TensorRef> out;
    for (int32_t i = 0; i < n; ++i) {
      mpc_tensor_info ti;
      detail::check(info(plan_, i, &ti));
      out.push_back(TensorRef::from(ti));
    }
    return out;
  }
  mpc_plan *plan_ = nullptr;
};

class Session {
public:
  // The session keeps the plan's data alive; `plan` may be destroyed first.
  explicit Session(const Plan &plan, Device device = Device::kCPU, int numThreads = 0) {
    mpc_session_options opts;
    mpc_session_options_init(&opts);
    opts.device = static_cast<mpc_device>(device);
    opts.num_threads = numThreads;
    detail::check(mpc_session_create(plan.handle(), &opts, &session_));
  }
  ~Session() { mpc_session_destroy(session_); }
  Session(Session &&o) noexcept : session_(std::exchange(o.session_, nullptr)) {}
  Session &operator=(Session &&o) noexcept {
    std::swap(session_, o.session_);
    return *this;
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  void setInput(const std::string &name, mpc_dtype dtype, const std::vector<int64_t> &shape, const void *data,
                size_t nbytes) {
    detail::check(mpc_session_set_input(session_, name.c_str(), dtype, shape.data(),
                                        static_cast<int32_t>(shape.size()), data, nbytes));
  }
  template <typename T> void setInput(const std::string &name, const T *data, const std::vector<int64_t> &shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    setInput(name, detail::DTypeOf<T>::value, shape, data, static_cast<size_t>(n) * sizeof(T));
  }
  void run() { detail::check(mpc_session_run(session_)); }
  TensorRef output(const std::string &name) const {
    mpc_tensor_info info;
    detail::check(mpc_session_get_output(session_, name.c_str(), &info));
    return TensorRef::from(info);
  }
  void readState(const std::string &name, void *dst, size_t nbytes) const {
    detail::check(mpc_session_read_state(session_, name.c_str(), dst, nbytes));
  }
  void writeState(const std::string &name, const void *src, size_t nbytes) {
    detail::check(mpc_session_write_state(session_, name.c_str(), src, nbytes));
  }
  void resetState() { detail::check(mpc_session_reset_state(session_)); }

  // A state tensor; `data` points into the session (updated by every run).
  TensorRef state(const std::string &name) const {
    mpc_tensor_info info;
    detail::check(mpc_session_get_state(session_, name.c_str(), &info));
    return TensorRef::from(info);
  }
  // Copies a state tensor out / in as a vector of T; T must match its dtype.
  template <typename T> std::vector<T> readState(const std::string &name) const {
    static_assert(!std::is_same_v<T, bool>, "read bool states with readState(name, dst, nbytes)");
    TensorRef t = checkedState<T>(name);
    std::vector<T> v(static_cast<size_t>(t.numel()));
    readState(name, v.data(), v.size() * sizeof(T));
    return v;
  }
  template <typename T> void writeState(const std::string &name, const std::vector<T> &values) {
    static_assert(!std::is_same_v<T, bool>, "write bool states with writeState(name, src, nbytes)");
    checkedState<T>(name);
    writeState(name, values.data(), values.size() * sizeof(T));
  }

  // One training step; returns the loss (NaN when the plan has no loss output).
  float trainStep() {
    float loss = 0;
    detail::check(mpc_session_train_step(session_, &loss));
    return loss;
  }
  // One micro-batch (a whole step without gradient accumulation) with its
  // telemetry; see mpc_session_train_step_info.
  StepInfo trainStepInfo() {
    mpc_step_info c;
    detail::check(mpc_session_train_step_info(session_, &c));
    StepInfo r;
    r.loss = c.loss, r.lossScale = c.loss_scale, r.gradNorm = c.grad_norm;
    r.hasLossScale = c.has_loss_scale != 0, r.skipped = c.skipped != 0, r.stepComplete = c.step_complete != 0;
    r.microBatches = c.micro_batches;
    if (c.nonfinite_tensor) r.nonfiniteTensor = c.nonfinite_tensor;
    if (c.warning) r.warning = c.warning;
    return r;
  }
  // Micro-batches per optimizer step (1 without gradient accumulation).
  int32_t accumulationSteps() const {
    int32_t k = 1;
    detail::check(mpc_session_accumulation_steps(session_, &k));
    return k;
  }
  void setLossScaleMonitor(float minScale, int32_t maxBackoffs, int32_t window) {
    detail::check(mpc_session_set_loss_scale_monitor(session_, minScale, maxBackoffs, window));
  }
  // The learning rate (the state "optimizer.lr").
  void setLearningRate(float lr) { detail::check(mpc_session_set_learning_rate(session_, lr)); }
  float learningRate() const {
    float lr = 0;
    detail::check(mpc_session_get_learning_rate(session_, &lr));
    return lr;
  }
  // Checkpoints of every state tensor (safetensors).
  void saveState(const std::string &path) const { detail::check(mpc_session_save_state(session_, path.c_str())); }
  void loadState(const std::string &path) { detail::check(mpc_session_load_state(session_, path.c_str())); }
  mpc_session *handle() const { return session_; }

private:
  template <typename T> TensorRef checkedState(const std::string &name) const {
    TensorRef t = state(name);
    if (t.dtype != detail::DTypeOf<T>::value)
      throw Error(MPC_ERROR_INVALID_ARGUMENT, std::string("MPC_ERROR_INVALID_ARGUMENT: state '") + name + "' is " +
                                                  mpc_dtype_name(t.dtype) + ", not " +
                                                  mpc_dtype_name(detail::DTypeOf<T>::value));
    return t;
  }

  mpc_session *session_ = nullptr;
};

}  // namespace mpc
