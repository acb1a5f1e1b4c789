// Writes the shared input set and our conversions of it to a binary file for
// check_ml_dtypes.py:
//   u64 n, then n x u32 inputs, then n x u16 f16, n x u16 bf16,
//   n x u8 e4m3 (nosat), n x u8 e4m3 (sat), n x u8 e5m2 (nosat), n x u8 e5m2 (sat),
//   then decodes as f32 bits: 65536 f16, 65536 bf16, 256 e4m3, 256 e5m2.
#include <cstdio>
#include <vector>

#include "core/float_formats.h"
#include "format_inputs.h"

using namespace mpc::rt;

template <typename T> bool put(FILE *f, const std::vector<T> &v) {
  return std::fwrite(v.data(), sizeof(T), v.size(), f) == v.size();
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.bin\n", argv[0]);
    return 2;
  }
  const std::vector<uint32_t> in = test::formatTestInputs();
  const size_t n = in.size();
  std::vector<uint16_t> f16(n), bf16(n);
  std::vector<uint8_t> e4(n), e4s(n), e5(n), e5s(n);
  for (size_t i = 0; i < n; ++i) {
    const float x = bitsToFloat(in[i]);
    f16[i] = floatToHalf(x);
    bf16[i] = floatToBFloat16(x);
    e4[i] = floatToE4M3FN(x, false);
    e4s[i] = floatToE4M3FN(x, true);
    e5[i] = floatToE5M2(x, false);
    e5s[i] = floatToE5M2(x, true);
  }
  std::vector<uint32_t> dec;
  for (uint32_t e = 0; e < 65536; ++e) dec.push_back(floatBits(halfToFloat(e)));
  for (uint32_t e = 0; e < 65536; ++e) dec.push_back(floatBits(bfloat16ToFloat(e)));
  for (uint32_t e = 0; e < 256; ++e) dec.push_back(floatBits(e4m3fnToFloat(e)));
  for (uint32_t e = 0; e < 256; ++e) dec.push_back(floatBits(e5m2ToFloat(e)));
  FILE *f = std::fopen(argv[1], "wb");
  if (!f) {
    std::perror(argv[1]);
    return 1;
  }
  const uint64_t n64 = n;
  bool ok = std::fwrite(&n64, sizeof(n64), 1, f) == 1;
  ok = ok && put(f, in) && put(f, f16) && put(f, bf16) && put(f, e4) && put(f, e4s) && put(f, e5) && put(f, e5s) &&
       put(f, dec);
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "write to %s failed\n", argv[1]);
    return 1;
  }
  std::printf("wrote %zu inputs to %s\n", n, argv[1]);
  return 0;
}
