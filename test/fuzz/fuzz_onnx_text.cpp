// libFuzzer target: the ONNX importer on ONNX text syntax (.onnxtxt).
#include "fuzz_onnx_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return mpc::fuzz::importBytes(data, size, ".onnxtxt");
}
