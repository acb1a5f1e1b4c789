/* libmpcrt C API: load an executable plan (.mpcp), run it, read its outputs.
 *
 * Conventions
 *  - Every function returns an mpc_status (MPC_OK == 0). On failure,
 *    mpc_last_error() returns a message for the calling thread that names the
 *    file, tensor, kernel or field at fault; it stays valid until the next
 *    failing call on that thread.
 *  - Handles are opaque. A session keeps its plan alive, so a plan may be
 *    freed right after creating sessions from it.
 *  - Pointers returned through out-parameters (names, output data) are owned
 *    by the library: names live as long as the plan, output data until the
 *    next mpc_session_run or mpc_session_destroy on that session.
 *  - A session is used by one thread at a time; different sessions (also of
 *    the same plan) may run concurrently.
 *  - No exceptions cross this API; nothing here aborts on bad input.
 */
#ifndef MPC_RUNTIME_H
#define MPC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPC_RUNTIME_VERSION_MAJOR 0
#define MPC_RUNTIME_VERSION_MINOR 1
#define MPC_MAX_RANK 8

typedef enum mpc_status {
  MPC_OK = 0,
  MPC_ERROR_INVALID_ARGUMENT = 1,
  MPC_ERROR_INVALID_PLAN = 2,
  MPC_ERROR_NOT_FOUND = 3,
  MPC_ERROR_UNSUPPORTED = 4,
  MPC_ERROR_IO = 5,
  MPC_ERROR_OUT_OF_MEMORY = 6,
  MPC_ERROR_INTERNAL = 7,
  MPC_STATUS_MAX_ENUM_ = 0x7FFFFFFF /* keeps the enum 32-bit wide for any code */
} mpc_status;

/* Codes match the plan file format (runtime/core/dtype.h). */
typedef enum mpc_dtype {
  MPC_DTYPE_INVALID = 0,
  MPC_DTYPE_F32 = 1,
  MPC_DTYPE_F16 = 2,
  MPC_DTYPE_BF16 = 3,
  MPC_DTYPE_F64 = 4,
  MPC_DTYPE_F8E4M3FN = 5,
  MPC_DTYPE_F8E5M2 = 6,
  MPC_DTYPE_BOOL = 7, /* one byte per element, 0 or 1 */
  MPC_DTYPE_I8 = 8,
  MPC_DTYPE_I32 = 9,
  MPC_DTYPE_I64 = 10,
  MPC_DTYPE_MAX_ENUM_ = 0x7FFFFFFF /* any 31-bit value is representable (and rejected if unknown) */
} mpc_dtype;

typedef enum mpc_device { MPC_DEVICE_CPU = 0, MPC_DEVICE_CUDA = 1, MPC_DEVICE_MAX_ENUM_ = 0x7FFFFFFF } mpc_device;

typedef struct mpc_plan mpc_plan;
typedef struct mpc_session mpc_session;

/* A tensor's description; `data` is null where no data is attached
 * (plan queries). */
typedef struct mpc_tensor_info {
  const char *name;
  mpc_dtype dtype;
  int32_t rank;
  int64_t dims[MPC_MAX_RANK];
  size_t nbytes;
  const void *data;
} mpc_tensor_info;

typedef struct mpc_session_options {
  mpc_device device;   /* MPC_DEVICE_CPU by default */
  int32_t num_threads; /* 0: one per hardware thread */
} mpc_session_options;

/* Message of the calling thread's last failure ("" if none). Never null. */
const char *mpc_last_error(void);
/* Static name of a status code, e.g. "MPC_ERROR_INVALID_PLAN". Never null. */
const char *mpc_status_name(mpc_status status);
/* Short name of a dtype ("f32", "bf16", ...; "invalid" when unknown). Never null. */
const char *mpc_dtype_name(mpc_dtype dtype);
/* Element size in bytes (0 for an invalid dtype). */
size_t mpc_dtype_size(mpc_dtype dtype);

/* Fills *options with the defaults (CPU, all hardware threads). */
mpc_status mpc_session_options_init(mpc_session_options *options);

/* Loads and validates a plan (memory-mapped). *plan is null on failure. */
mpc_status mpc_plan_load(const char *path, mpc_plan **plan);
/* Frees a plan handle; null is a no-op. */
mpc_status mpc_plan_free(mpc_plan *plan);

/* Graph inputs, outputs and named state tensors of a plan. */
mpc_status mpc_plan_num_inputs(const mpc_plan *plan, int32_t *count);
mpc_status mpc_plan_input_info(const mpc_plan *plan, int32_t index, mpc_tensor_info *info);
mpc_status mpc_plan_num_outputs(const mpc_plan *plan, int32_t *count);
mpc_status mpc_plan_output_info(const mpc_plan *plan, int32_t index, mpc_tensor_info *info);
mpc_status mpc_plan_num_states(const mpc_plan *plan, int32_t *count);
mpc_status mpc_plan_state_info(const mpc_plan *plan, int32_t index, mpc_tensor_info *info);

/* Creates a session (options may be null for the defaults). Resolves every
 * kernel: a plan using an op this build lacks fails here, naming the op. */
mpc_status mpc_session_create(const mpc_plan *plan, const mpc_session_options *options, mpc_session **session);
mpc_status mpc_session_destroy(mpc_session *session);

/* Copies an input in. dtype, rank and dims must match the plan exactly and
 * nbytes must equal the tensor size. Inputs keep their values across runs. */
mpc_status mpc_session_set_input(mpc_session *session, const char *name, mpc_dtype dtype, const int64_t *dims,
                                 int32_t rank, const void *data, size_t nbytes);
/* Runs the plan once. */
mpc_status mpc_session_run(mpc_session *session);
/* Describes a graph output; info->data points into the session's memory. */
mpc_status mpc_session_get_output(const mpc_session *session, const char *name, mpc_tensor_info *info);
/* Copies a state tensor out / in (nbytes must equal its size). */
mpc_status mpc_session_read_state(const mpc_session *session, const char *name, void *dst, size_t nbytes);
mpc_status mpc_session_write_state(mpc_session *session, const char *name, const void *src, size_t nbytes);
/* Restores every state tensor to its initial value from the plan. */
mpc_status mpc_session_reset_state(mpc_session *session);
/* Describes a state tensor; info->data points into the session's state
 * (valid until the session is destroyed; kernels update it on every run). */
mpc_status mpc_session_get_state(const mpc_session *session, const char *name, mpc_tensor_info *info);

/* ---- Training (docs/training.md) ----
 * A training plan (mpc-opt --train --emit=plan) performs one training step
 * per run: its kernels update the parameters and the optimizer state (state
 * tensors) in place. */

/* Runs one training step (mpc_session_run). If loss_out is non-null it
 * receives the step's loss: the output named "loss" (or the plan's only
 * scalar float output), converted to float; NaN when the plan has none. */
mpc_status mpc_session_train_step(mpc_session *session, float *loss_out);
/* Sets / reads the learning rate: the state "optimizer.lr". A plan without
 * that state gives MPC_ERROR_NOT_FOUND. lr must be finite. */
mpc_status mpc_session_set_learning_rate(mpc_session *session, float lr);
mpc_status mpc_session_get_learning_rate(const mpc_session *session, float *lr);
/* Saves every state tensor to a checkpoint (safetensors), atomically: a crash
 * leaves the previous file or the new one, never a torn one. */
mpc_status mpc_session_save_state(const mpc_session *session, const char *path);
/* Restores every state tensor from a checkpoint. The file is validated
 * completely first (format, names, dtypes, shapes); on error the session's
 * state is unchanged. */
mpc_status mpc_session_load_state(mpc_session *session, const char *path);

/* ---- Loss scaling, gradient accumulation, telemetry (docs/training.md) ----
 * A plan compiled with dynamic loss scaling has the state "loss_scale.scale"
 * and the outputs "found_inf", "grad_norm" and "nonfinite_index"; one
 * compiled with gradient accumulation (K micro-batches per optimizer step)
 * has the state "accumulate.micro_step". */

/* What one optimizer step did. */
typedef struct mpc_step_info {
  float loss;                   /* mean of the step's micro-batch losses; NaN without a loss output */
  float loss_scale;             /* the loss scale this step used; NaN without loss scaling */
  float grad_norm;              /* global L2 norm of the unscaled gradients; NaN when absent */
  int32_t has_loss_scale;       /* 1 when the plan has dynamic loss scaling */
  int32_t skipped;              /* 1 when the optimizer step was skipped (non-finite gradient) */
  int32_t step_complete;        /* 1 when this call finished an optimizer step (always when K == 1) */
  int32_t micro_batches;        /* micro-batches run in this step so far */
  const char *nonfinite_tensor; /* first gradient with an inf/NaN, or NULL; valid until the next call */
  const char *warning;          /* loss scale monitor warning (once per episode), or NULL; same lifetime */
} mpc_step_info;

/* Runs the plan once on the inputs set (one micro-batch; a whole step when
 * the plan does not accumulate gradients) and fills *info. With K > 1 set the
 * next micro-batch's inputs and call again until info->step_complete is 1;
 * until then only step_complete and micro_batches are meaningful (the other
 * fields are NaN / 0 / NULL). Complete steps feed the session's loss scale
 * monitor (see mpc_session_set_loss_scale_monitor). */
mpc_status mpc_session_train_step_info(mpc_session *session, mpc_step_info *info);
/* K: micro-batches per optimizer step (1 without gradient accumulation). */
mpc_status mpc_session_accumulation_steps(const mpc_session *session, int32_t *steps);
/* Configures the loss scale monitor, which warns (info->warning) when the
 * scale keeps falling: the scale a step used is below min_scale, or at least
 * max_backoffs of the last `window` steps were skipped. Defaults: 1.0, 8, 100.
 * min_scale >= 0 (0: no floor check), max_backoffs >= 0 (0: no count check),
 * window >= 1. Resets the monitor's history. */
mpc_status mpc_session_set_loss_scale_monitor(mpc_session *session, float min_scale, int32_t max_backoffs,
                                              int32_t window);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MPC_RUNTIME_H */
