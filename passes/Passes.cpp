//===- Passes.cpp - registration of every mpc pass ------------------------===//

#include "passes/Passes.h"

namespace mpc {
namespace generated {
#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"
} // namespace generated

void registerMpcPasses() { generated::registerMpcPasses(); }

} // namespace mpc
