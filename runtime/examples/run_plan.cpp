// Example application: load a plan, fill every input, run, print the outputs.
//
//   mpc_example_run_plan model.mpcp [value]
//
// Every float input is filled with `value` (default 1.0), integer inputs with
// 0; the first few elements of each float output are printed. Uses only the
// public C++ wrapper (mpc/runtime.hpp), which throws mpc::Error on failure.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "mpc/runtime.hpp"

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s model.mpcp [value]\n", argv[0]);
    return 2;
  }
  const float value = argc == 3 ? static_cast<float>(std::atof(argv[2])) : 1.0f;
  try {
    mpc::Plan plan(argv[1]);
    mpc::Session session(plan, mpc::Device::kCPU, /*numThreads=*/1);
    for (const mpc::TensorRef &in : plan.inputs()) {
      std::vector<unsigned char> bytes(in.nbytes, 0);
      if (in.dtype == MPC_DTYPE_F32)
        for (int64_t i = 0; i < in.numel(); ++i) std::memcpy(bytes.data() + 4 * i, &value, 4);
      session.setInput(in.name, in.dtype, in.shape, bytes.data(), bytes.size());
    }
    session.run();
    for (const mpc::TensorRef &info : plan.outputs()) {
      mpc::TensorRef out = session.output(info.name);
      std::printf("%s: %s[", out.name.c_str(), mpc_dtype_name(out.dtype));
      for (size_t d = 0; d < out.shape.size(); ++d) std::printf(d ? ",%lld" : "%lld", static_cast<long long>(out.shape[d]));
      std::printf("]");
      if (out.dtype == MPC_DTYPE_F32)
        for (int64_t i = 0; i < out.numel() && i < 8; ++i) std::printf(" %g", out.as<float>()[i]);
      std::printf("\n");
    }
  } catch (const mpc::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
