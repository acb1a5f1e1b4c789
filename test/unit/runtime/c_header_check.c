/* Compiles mpc/runtime.h as C (the header must stay valid C99). */
#include "mpc/runtime.h"

int mpc_c_header_check(void) {
  mpc_session_options o;
  return mpc_session_options_init(&o) == MPC_OK ? 0 : 1;
}
