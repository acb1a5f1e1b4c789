// Helpers shared by the runtime unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/backends.h"
#include "core/byte_io.h"
#include "core/kernel.h"
#include "core/plan_format.h"
#include "core/plan_writer.h"

namespace mpc::rt::test {

// A plan exercising every storage class:
//   x: input f32[2,3]   w: constant f32[3,4]   bias: state f32[4] (init 0.5)
//   h = matmul(x, w) [2,4];  a = add(h, bias);  y = relu(a)
// Outputs: y, plus x, w and bias echoed as outputs "x_out", "w_out", "bias_out".
inline void buildSamplePlan(PlanWriter &w) {
  std::vector<float> wData(12), bData(4, 0.5f);
  for (int i = 0; i < 12; ++i) wData[i] = (i % 5) - 2.0f;
  int32_t x = w.addTensor("x", DType::kF32, {2, 3}, Storage::kInput);
  int32_t wt = w.addTensor("w", DType::kF32, {3, 4}, Storage::kConstant, wData.data());
  int32_t b = w.addTensor("bias", DType::kF32, {4}, Storage::kState, bData.data());
  int32_t h = w.addTensor("h", DType::kF32, {2, 4}, Storage::kActivation);
  int32_t a = w.addTensor("a", DType::kF32, {2, 4}, Storage::kActivation);
  int32_t y = w.addTensor("y", DType::kF32, {2, 4}, Storage::kActivation);
  w.addKernel("matmul", {x, wt}, {h}, {}, "MatMul_0");
  w.addKernel("add", {h, b}, {a}, {{"note", std::string("bias")}}, "Add_1");
  w.addKernel("relu", {a}, {y}, {}, "Relu_2");
  w.bindInput("x", x);
  w.bindOutput("y", y);
  w.bindOutput("x_out", x);
  w.bindOutput("w_out", wt);
  w.bindOutput("bias_out", b);
}

inline std::vector<uint8_t> samplePlanBytes() {
  PlanWriter w;
  buildSamplePlan(w);
  std::vector<uint8_t> bytes;
  Status s = w.writeToBuffer(&bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  return bytes;
}

// Offset and size of a section in a plan image (0, 0 when absent).
inline std::pair<uint64_t, uint64_t> findSection(const std::vector<uint8_t> &f, plan::SectionKind kind) {
  uint32_t n = loadU32LE(f.data() + plan::hdr::kNumSections);
  uint64_t table = loadU64LE(f.data() + plan::hdr::kSectionTableOffset);
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t *e = f.data() + table + i * plan::kSectionEntrySize;
    if (loadU32LE(e) == static_cast<uint32_t>(kind)) return {loadU64LE(e + 8), loadU64LE(e + 16)};
  }
  return {0, 0};
}

// Recomputes the metadata checksum after a deliberate edit, so the loader's
// field checks (not the checksum) must catch it.
// PlanWriter puts the data section's entry 5th in the table; reading it from
// that fixed place keeps this safe on tables the test itself corrupted.
inline void reseal(std::vector<uint8_t> &f) {
  uint64_t dataOffset = loadU64LE(f.data() + plan::kHeaderSize + 4 * plan::kSectionEntrySize + 8);
  if (dataOffset > f.size() || dataOffset < plan::hdr::kMetadataChecksum + 8) dataOffset = f.size();
  uint64_t sum = plan::metadataChecksum(f.data(), dataOffset);
  for (int i = 0; i < 8; ++i) f[plan::hdr::kMetadataChecksum + i] = static_cast<uint8_t>(sum >> (8 * i));
}

inline void storeU32(std::vector<uint8_t> &f, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[pos + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void storeU64(std::vector<uint8_t> &f, size_t pos, uint64_t v) {
  for (int i = 0; i < 8; ++i) f[pos + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Byte offset of tensor record `index` in the tensors section.
inline size_t tensorRecordOffset(const std::vector<uint8_t> &f, uint32_t index) {
  size_t pos = findSection(f, plan::SectionKind::kTensors).first + 4;
  for (uint32_t i = 0; i < index; ++i) {
    uint8_t rank = f[pos + 6];
    pos += 8 + 8 * rank + 24;
  }
  return pos;
}

// Fails the test (loudly, never skips) when the CPU backend lacks a kernel.
inline void requireCpuKernel(const std::string &op, std::vector<DType> dtypes) {
  registerBuiltinKernels();
  ASSERT_NE(KernelRegistry::global().lookup(op, Device::kCPU, dtypes), nullptr)
      << "the CPU backend has no '" << op << "' kernel for these dtypes; this test needs it";
}

inline std::string tempPath(const std::string &name) {
  const char *dir = std::getenv("TMPDIR");
  std::string base = dir && *dir ? dir : "/tmp";
  return base + "/mpcrt_test_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace mpc::rt::test
