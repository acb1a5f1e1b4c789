// Writes the sample plan (test_util.h) and its input for the CLI and example
// tests:  mpcrt_make_test_plan DIR  ->  DIR/sample.mpcp, DIR/inputs/x.npy,
// DIR/inputs_f64/x.npy (a wrong dtype), DIR/corrupt.mpcp.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "core/npy.h"
#include "test_util.h"

using namespace mpc::rt;

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  mkdir(dir.c_str(), 0755);
  mkdir((dir + "/inputs").c_str(), 0755);
  mkdir((dir + "/inputs_f64").c_str(), 0755);
  PlanWriter w;
  test::buildSamplePlan(w);
  Status s = w.write(dir + "/sample.mpcp");
  float x[6] = {1, -2, 3, 0.5f, 4, -1};
  double xd[6] = {1, -2, 3, 0.5, 4, -1};
  if (s.isOk()) s = writeNpy(dir + "/inputs/x.npy", DType::kF32, {2, 3}, x, sizeof(x));
  if (s.isOk()) s = writeNpy(dir + "/inputs_f64/x.npy", DType::kF64, {2, 3}, xd, sizeof(xd));
  if (s.isOk()) s = writeNpy(dir + "/x_wrong_shape.npy", DType::kF32, {3, 2}, x, sizeof(x));
  if (!s.isOk()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::vector<uint8_t> bytes;
  w.writeToBuffer(&bytes);
  bytes[200] ^= 4;
  std::ofstream(dir + "/corrupt.mpcp", std::ios::binary)
      .write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return 0;
}
