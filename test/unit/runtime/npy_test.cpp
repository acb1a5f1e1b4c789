// .npy reading and writing; reference files come from NumPy itself when the
// project's Python venv is available (MPC_TEST_PYTHON).
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/npy.h"
#include "test_util.h"

namespace mpc::rt::test {
namespace {

std::vector<uint8_t> header(const std::string &dict, int major = 1) {
  std::vector<uint8_t> f = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  size_t len = dict.size();
  f.push_back(static_cast<uint8_t>(len));
  f.push_back(static_cast<uint8_t>(len >> 8));
  if (major >= 2) {
    f.push_back(static_cast<uint8_t>(len >> 16));
    f.push_back(static_cast<uint8_t>(len >> 24));
  }
  f.insert(f.end(), dict.begin(), dict.end());
  return f;
}

Status parse(const std::vector<uint8_t> &f, DType expected, NpyArray *out) {
  return parseNpy(f.data(), f.size(), expected, out, "test.npy");
}

TEST(Npy, RoundTripEveryDType) {
  const DType all[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kF8E4M3FN,
                       DType::kF8E5M2, DType::kBool, DType::kI8, DType::kI32, DType::kI64};
  for (DType t : all) {
    for (const std::vector<int64_t> &shape : {std::vector<int64_t>{}, {5}, {2, 3, 4}, {0, 3}}) {
      uint64_t n = 0;
      ASSERT_TRUE(tensorBytes(t, shape, &n));
      std::vector<uint8_t> data(n);
      for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(i * 7 + 1) & (t == DType::kBool ? 1 : 0xFF);
      std::vector<uint8_t> file;
      ASSERT_TRUE(encodeNpy(t, shape, data.data(), n, &file).isOk());
      EXPECT_EQ((file.size() - n) % 64, 0u) << "data should start 64-byte aligned";
      NpyArray arr;
      Status s = parse(file, t, &arr);
      ASSERT_TRUE(s.isOk()) << dtypeName(t) << ": " << s.message();
      EXPECT_EQ(arr.dtype, t);
      EXPECT_EQ(arr.shape, shape);
      EXPECT_EQ(arr.data, data);
    }
  }
}

TEST(Npy, VersionsTwoAndThreeAndFileIO) {
  std::vector<uint8_t> f = header("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", 3);
  int64_t v[2] = {-1, 1LL << 40};
  f.insert(f.end(), reinterpret_cast<uint8_t *>(v), reinterpret_cast<uint8_t *>(v) + 16);
  NpyArray arr;
  ASSERT_TRUE(parse(f, DType::kInvalid, &arr).isOk());
  EXPECT_EQ(arr.dtype, DType::kI64);
  std::string path = tempPath("rt.npy");
  float x[3] = {1.5f, -2, 3};
  ASSERT_TRUE(writeNpy(path, DType::kF32, {3}, x, 12).isOk());
  ASSERT_TRUE(readNpy(path, DType::kF32, &arr).isOk());
  EXPECT_EQ(arr.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(reinterpret_cast<float *>(arr.data.data())[1], -2.0f);
  std::remove(path.c_str());
  EXPECT_EQ(readNpy(path, DType::kF32, &arr).code(), StatusCode::kNotFound);
}

TEST(Npy, VoidDescrsNeedTheExpectedDType) {
  std::vector<uint8_t> f = header("{'descr': '<V2', 'fortran_order': False, 'shape': (1,), }");
  f.push_back(0x80);
  f.push_back(0x3f);
  NpyArray arr;
  Status s = parse(f, DType::kInvalid, &arr);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("bf16"), std::string::npos) << s.message();
  EXPECT_FALSE(parse(f, DType::kF16, &arr).isOk());
  ASSERT_TRUE(parse(f, DType::kBF16, &arr).isOk());
  EXPECT_EQ(arr.dtype, DType::kBF16);
  std::vector<uint8_t> g = header("{'descr': '|V1', 'fortran_order': False, 'shape': (1,), }");
  g.push_back(0x38);
  EXPECT_FALSE(parse(g, DType::kBF16, &arr).isOk());
  ASSERT_TRUE(parse(g, DType::kF8E4M3FN, &arr).isOk());
  EXPECT_EQ(arr.dtype, DType::kF8E4M3FN);
}

TEST(Npy, MalformedHeadersAreErrors) {
  const char *bad[] = {
      "",
      "not a dict",
      "{'descr': '<f4', 'fortran_order': False}",                        // no shape
      "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",        // Fortran order
      "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",       // big-endian
      "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",       // complex
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, 6, 7, 8, 9), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) junk",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",       // data too short
  };
  for (const char *h : bad) {
    std::vector<uint8_t> f = header(h);
    f.insert(f.end(), 4, 0);  // one f32
    NpyArray arr;
    Status s = parse(f, DType::kInvalid, &arr);
    EXPECT_FALSE(s.isOk()) << h;
    EXPECT_NE(s.message().find("test.npy"), std::string::npos) << s.message();
  }
  NpyArray arr;
  std::vector<uint8_t> shortFile = {0x93, 'N', 'U'};
  EXPECT_FALSE(parse(shortFile, DType::kInvalid, &arr).isOk());
  std::vector<uint8_t> f = header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }");
  f[8] = 0xFF;  // header length beyond the file
  f[9] = 0xFF;
  EXPECT_FALSE(parse(f, DType::kInvalid, &arr).isOk());
  f = header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4);
  EXPECT_FALSE(parse(f, DType::kInvalid, &arr).isOk());
  // Type mismatch against the expected dtype names both.
  f = header("{'descr': '<f8', 'fortran_order': False, 'shape': (), }");
  f.insert(f.end(), 8, 0);
  Status s = parse(f, DType::kF32, &arr);
  EXPECT_NE(s.message().find("f64"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("f32"), std::string::npos) << s.message();
}

// Cross-check with NumPy: it must read what we write and we must read what it
// writes (including ml_dtypes' bf16).
TEST(Npy, InteropWithNumPy) {
  const char *py = std::getenv("MPC_TEST_PYTHON");
  ASSERT_TRUE(py && *py) << "MPC_TEST_PYTHON is not set (ctest sets it)";
  std::string dir = tempPath("npy_interop");
  std::string mine = dir + "_mine.npy";
  float x[6] = {1, 2, 3, 4, 5, -6.5f};
  ASSERT_TRUE(writeNpy(mine, DType::kF32, {2, 3}, x, sizeof(x)).isOk());
  uint16_t bf[2] = {0x3f80, 0xc000};  // 1, -2
  std::string mineBf = dir + "_mine_bf16.npy";
  ASSERT_TRUE(writeNpy(mineBf, DType::kBF16, {2}, bf, sizeof(bf)).isOk());
  std::string theirs = dir + "_theirs.npy", theirsBf = dir + "_theirs_bf16.npy";
  std::string script =
      "import numpy as np, ml_dtypes, sys\n"
      "a = np.load(sys.argv[1]); assert a.dtype == np.float32 and a.shape == (2, 3), a\n"
      "assert a[1, 2] == -6.5\n"
      "b = np.load(sys.argv[2]).view(ml_dtypes.bfloat16).astype(np.float32); assert list(b) == [1, -2], b\n"
      "np.save(sys.argv[3], np.arange(12, dtype=np.int64).reshape(3, 4))\n"
      "np.save(sys.argv[4], np.array([[0.5, 3]], dtype=ml_dtypes.bfloat16))\n";
  std::string scriptPath = dir + ".py";
  std::ofstream(scriptPath) << script;
  std::string cmd = std::string(py) + " " + scriptPath + " " + mine + " " + mineBf + " " + theirs + " " + theirsBf;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  NpyArray arr;
  ASSERT_TRUE(readNpy(theirs, DType::kInvalid, &arr).isOk());
  EXPECT_EQ(arr.dtype, DType::kI64);
  EXPECT_EQ(arr.shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(reinterpret_cast<int64_t *>(arr.data.data())[11], 11);
  Status s = readNpy(theirsBf, DType::kBF16, &arr);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(reinterpret_cast<uint16_t *>(arr.data.data())[1], 0x4040);  // 3.0 in bf16
  for (const std::string &p : {mine, mineBf, theirs, theirsBf, scriptPath}) std::remove(p.c_str());
}

}  // namespace
}  // namespace mpc::rt::test
