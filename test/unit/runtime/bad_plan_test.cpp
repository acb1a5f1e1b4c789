// Corrupt, truncated and inconsistent plans: every one must be rejected with
// an error (kInvalidPlan) and never crash. Run under ASan/UBSan too.
#include <cstdio>
#include <fstream>
#include <random>

#include "core/plan.h"
#include "core/session.h"
#include "test_util.h"

namespace mpc::rt::test {
namespace {

Status loadBuf(const std::vector<uint8_t> &f, bool verifyData = false) {
  std::shared_ptr<const Plan> plan;
  LoadOptions o;
  o.verifyData = verifyData;
  return Plan::loadFromBuffer(f.data(), f.size(), o, &plan);
}

void expectInvalid(const std::vector<uint8_t> &f, const std::string &mention, bool verifyData = false) {
  Status s = loadBuf(f, verifyData);
  EXPECT_EQ(s.code(), StatusCode::kInvalidPlan) << s.message();
  EXPECT_NE(s.message().find(mention), std::string::npos) << "message: " << s.message();
}

TEST(BadPlans, TheSamplePlanIsValid) {
  std::vector<uint8_t> f = samplePlanBytes();
  Status s = loadBuf(f, true);
  ASSERT_TRUE(s.isOk()) << s.message();
}

TEST(BadPlans, TruncatedAtEveryLength) {
  std::vector<uint8_t> f = samplePlanBytes();
  // Every prefix shorter than the file, byte by byte through the metadata and
  // in steps through the (zero-padded) rest.
  for (size_t n = 0; n < f.size(); n += (n < 1024 ? 1 : 61)) {
    std::vector<uint8_t> cut(f.begin(), f.begin() + n);
    Status s = loadBuf(cut);
    ASSERT_EQ(s.code(), StatusCode::kInvalidPlan) << "prefix of " << n << " bytes: " << s.message();
  }
  std::vector<uint8_t> longer = f;
  longer.push_back(0);
  expectInvalid(longer, "header says");
}

TEST(BadPlans, TruncatedFileOnDisk) {
  std::vector<uint8_t> f = samplePlanBytes();
  std::string path = tempPath("truncated.mpcp");
  for (size_t n : {size_t{0}, size_t{7}, size_t{200}, f.size() - 1}) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(f.data()), static_cast<std::streamsize>(n));
    std::shared_ptr<const Plan> plan;
    Status s = Plan::load(path, {}, &plan);
    EXPECT_EQ(s.code(), StatusCode::kInvalidPlan) << n << ": " << s.message();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  }
  std::remove(path.c_str());
  std::shared_ptr<const Plan> plan;
  EXPECT_EQ(Plan::load(path, {}, &plan).code(), StatusCode::kNotFound);
  EXPECT_EQ(Plan::load("/", {}, &plan).code(), StatusCode::kIOError);
}

TEST(BadPlans, EverySingleBitFlipInMetadataIsDetected) {
  std::vector<uint8_t> f = samplePlanBytes();
  uint64_t dataOffset = findSection(f, plan::SectionKind::kData).first;
  // FNV-1a changes its state on any single-byte change, so every flip in
  // [0, dataOffset) must be caught (by the checksum or an earlier check).
  for (size_t byte = 0; byte < dataOffset; byte += (byte < 1200 ? 1 : 37)) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::vector<uint8_t> g = f;
      g[byte] ^= static_cast<uint8_t>(1u << bit);
      Status s = loadBuf(g);
      ASSERT_EQ(s.code(), StatusCode::kInvalidPlan) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(BadPlans, RandomBitFlipsAnywhereWithDataVerification) {
  std::vector<uint8_t> f = samplePlanBytes();
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> g = f;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) g[rng() % g.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    if (g == f) continue;
    Status s = loadBuf(g, /*verifyData=*/true);
    ASSERT_EQ(s.code(), StatusCode::kInvalidPlan) << "seed " << seed;
  }
}

TEST(BadPlans, RandomFlipsAfterResealingNeverCrash) {
  // With the checksum recomputed, corruption reaches the field checks: the
  // loader must reject or accept, never crash, and an accepted plan must be
  // safe to turn into a session (kernels may be missing: that is an error).
  std::vector<uint8_t> f = samplePlanBytes();
  uint64_t dataOffset = findSection(f, plan::SectionKind::kData).first;
  int accepted = 0;
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> g = f;
    int flips = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < flips; ++i) {
      size_t pos = plan::kHeaderSize + rng() % (dataOffset - plan::kHeaderSize);
      if (rng() % 2) g[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
      else g[pos] = static_cast<uint8_t>(rng());
    }
    reseal(g);
    std::shared_ptr<const Plan> plan;
    Status s = Plan::loadFromBuffer(g.data(), g.size(), {}, &plan);
    if (!s.isOk()) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidPlan) << s.message();
      continue;
    }
    ++accepted;
    std::unique_ptr<Session> session;
    Session::create(plan, {}, &session);  // ok or an error; must not crash
  }
  RecordProperty("accepted", accepted);
}

TEST(BadPlans, BadMagicAndVersions) {
  std::vector<uint8_t> f = samplePlanBytes();
  std::vector<uint8_t> g = f;
  g[0] = 'X';
  expectInvalid(g, "magic");
  g = f;
  storeU32(g, plan::hdr::kVersionMajor, 2);
  reseal(g);
  expectInvalid(g, "version 2.0");
  g = f;
  storeU32(g, plan::hdr::kVersionMajor, 0);
  reseal(g);
  expectInvalid(g, "version 0.0");
  g = f;
  storeU32(g, plan::hdr::kHeaderSize, 64);
  reseal(g);
  expectInvalid(g, "header size");
  g = f;
  g[100] = 1;  // reserved
  reseal(g);
  expectInvalid(g, "reserved header byte");
  // A newer minor version is accepted.
  g = f;
  storeU32(g, plan::hdr::kVersionMinor, plan::kVersionMinor + 1);
  reseal(g);
  EXPECT_TRUE(loadBuf(g).isOk());
}

TEST(BadPlans, SectionTableOutOfRange) {
  std::vector<uint8_t> f = samplePlanBytes();
  std::vector<uint8_t> g = f;
  storeU32(g, plan::hdr::kNumSections, 1000);
  reseal(g);
  expectInvalid(g, "section count");
  g = f;
  storeU64(g, plan::hdr::kSectionTableOffset, ~uint64_t{0} - 8);
  reseal(g);
  expectInvalid(g, "section table offset");
  // Section #1 (tensors): a huge size, then an offset that wraps around.
  size_t entry = plan::kHeaderSize + 1 * plan::kSectionEntrySize;
  g = f;
  storeU64(g, entry + 16, ~uint64_t{0});
  reseal(g);
  expectInvalid(g, "outside the file");
  g = f;
  storeU64(g, entry + 8, ~uint64_t{0} - 2);
  reseal(g);
  expectInvalid(g, "outside the file");
  g = f;
  storeU32(g, entry, 77);  // unknown kind
  reseal(g);
  expectInvalid(g, "unknown section kind");
  g = f;
  storeU32(g, entry, 1);  // strings twice
  reseal(g);
  expectInvalid(g, "appears twice");
  // Data section moved off its 4096 alignment.
  size_t dataEntry = plan::kHeaderSize + 4 * plan::kSectionEntrySize;
  g = f;
  storeU64(g, dataEntry + 8, loadU64LE(g.data() + dataEntry + 8) - 64);
  reseal(g);
  expectInvalid(g, "not a multiple of 4096");
}

TEST(BadPlans, TensorFieldsOutOfRange) {
  std::vector<uint8_t> f = samplePlanBytes();
  // Tensor #1 is the constant 'w' f32[3,4]; its record: name u32, dtype,
  // storage, rank, reserved, dims[2] i64, arenaOffset, dataOffset, nbytes.
  size_t rec = tensorRecordOffset(f, 1);
  size_t dataOff = rec + 8 + 16 + 8, nbytes = rec + 8 + 16 + 16;
  struct Edit {
    size_t pos;
    int width;
    uint64_t value;
    const char *mention;
  } edits[] = {
      {rec, 4, 9999, "string index 9999"},
      {rec + 4, 1, 0, "invalid dtype code 0"},
      {rec + 4, 1, 200, "invalid dtype code 200"},
      {rec + 5, 1, 9, "invalid storage class 9"},
      {rec + 6, 1, 9, "rank 9"},
      {rec + 7, 1, 1, "reserved byte"},
      {rec + 8, 8, static_cast<uint64_t>(-3), "negative dim"},
      {rec + 8, 8, uint64_t{1} << 40, "tensor 'w'"},
      {dataOff, 8, 1u << 20, "exceeds the data section"},
      {dataOff, 8, ~uint64_t{0} - 63, "exceeds the data section"},
      {dataOff, 8, 8, "not 64-byte aligned"},
      {dataOff, 8, plan::kNoData, "constant without data"},
      {nbytes, 8, 44, "nbytes 44"},
  };
  for (const Edit &e : edits) {
    std::vector<uint8_t> g = f;
    if (e.width == 1) g[e.pos] = static_cast<uint8_t>(e.value);
    else if (e.width == 4) storeU32(g, e.pos, static_cast<uint32_t>(e.value));
    else storeU64(g, e.pos, e.value);
    reseal(g);
    expectInvalid(g, e.mention);
  }
  // Activation 'h' (#3): arena offset beyond the arena.
  rec = tensorRecordOffset(f, 3);
  std::vector<uint8_t> g = f;
  storeU64(g, rec + 8 + 16, uint64_t{1} << 50);
  reseal(g);
  expectInvalid(g, "exceeds the arena");
  g = f;
  storeU64(g, plan::hdr::kActivationArenaBytes, 64);
  reseal(g);
  expectInvalid(g, "exceeds the arena");
  g = f;
  storeU64(g, plan::hdr::kActivationArenaBytes, uint64_t{1} << 40);
  reseal(g);
  expectInvalid(g, "activation arena size 1099511627776 exceeds what its tensors need");
  g = f;
  storeU64(g, plan::hdr::kStateArenaBytes, 128);
  reseal(g);
  expectInvalid(g, "state arena size 128 exceeds");
  g = f;
  storeU64(g, plan::hdr::kStateArenaBytes, 0);
  reseal(g);
  expectInvalid(g, "tensor 'bias'");
}

TEST(BadPlans, KernelAndBindingFieldsOutOfRange) {
  std::vector<uint8_t> f = samplePlanBytes();
  size_t kernels = findSection(f, plan::SectionKind::kKernels).first;
  // Kernel #0 'matmul': op u32, loc u32, nIn u32, in0, in1, nOut, out0, nAttr.
  size_t k0 = kernels + 4;
  struct Edit {
    size_t pos;
    uint32_t value;
    const char *mention;
  } edits[] = {
      {kernels, 1000000, "kernels section: count"},
      {k0, 5000, "kernel #0 op"},
      {k0 + 8, 0xFFFFFFFF, "inputs: count"},
      {k0 + 12, 17, "refers to tensor #17"},
      {k0 + 12, 0x80000000, "refers to tensor #-2147483648"},
      {k0 + 12, 3, "used before any kernel defines it"},
      {k0 + 24, 1, "'w' (#1) has constant storage and cannot be written"},
      {k0 + 24, 0, "'x' (#0) has input storage"},
      {k0 + 28, 3, "attribute"},
  };
  for (const Edit &e : edits) {
    std::vector<uint8_t> g = f;
    storeU32(g, e.pos, e.value);
    reseal(g);
    expectInvalid(g, e.mention);
  }
  // Bindings: nIn, (name, id)...
  size_t bindings = findSection(f, plan::SectionKind::kBindings).first;
  std::vector<uint8_t> g = f;
  storeU32(g, bindings + 8, 1234);
  reseal(g);
  expectInvalid(g, "input 'x' refers to tensor #1234");
  g = f;
  storeU32(g, bindings + 8, 1);
  reseal(g);
  expectInvalid(g, "not an input");
  g = f;
  storeU32(g, bindings, 0xFFFFFF);
  reseal(g);
  expectInvalid(g, "bindings section");
  // Strings: a string length past the section.
  size_t strings = findSection(f, plan::SectionKind::kStrings).first;
  g = f;
  storeU32(g, strings + 4, 1u << 30);
  reseal(g);
  expectInvalid(g, "string #0");
}

TEST(BadPlans, DataChecksumIsVerifiedOnRequest) {
  std::vector<uint8_t> f = samplePlanBytes();
  auto [off, size] = findSection(f, plan::SectionKind::kData);
  ASSERT_GT(size, 0u);
  f[off + 5] ^= 1;
  EXPECT_TRUE(loadBuf(f, false).isOk());
  expectInvalid(f, "data section checksum", true);
}

}  // namespace
}  // namespace mpc::rt::test
