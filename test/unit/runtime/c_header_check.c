/* Compiles mpc/runtime.h as C (the header must stay valid C99). */
#include "mpc/runtime.h"

int mpc_c_header_check(void) {
  mpc_session_options o;
  mpc_step_info info;
  mpc_status (*train)(mpc_session *, mpc_step_info *) = mpc_session_train_step_info;
  mpc_status (*steps)(const mpc_session *, int32_t *) = mpc_session_accumulation_steps;
  mpc_status (*monitor)(mpc_session *, float, int32_t, int32_t) = mpc_session_set_loss_scale_monitor;
  info.nonfinite_tensor = 0;
  info.warning = 0;
  (void)train;
  (void)steps;
  (void)monitor;
  return mpc_session_options_init(&o) == MPC_OK && info.warning == 0 ? 0 : 1;
}
