// libFuzzer target: the ONNX importer on binary protobuf bytes (.onnx).
#include "fuzz_onnx_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return mpc::fuzz::importBytes(data, size, ".onnx");
}
