// libFuzzer target: the plan loader (from memory) and, for a plan it accepts,
// a CPU session on it (arena allocation, kernel lookup and attribute checks).
#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <vector>

#include "core/plan.h"
#include "core/plan_format.h"
#include "core/session.h"

using namespace mpc::rt;

// Half the inputs get a correct metadata checksum, so that mutations reach
// the section and field checks instead of all stopping at the checksum.
void reseal(std::vector<uint8_t> &p) {
  using namespace mpc::rt::plan;
  if (p.size() < kHeaderSize) return;
  uint32_t n = 0;
  uint64_t table = 0;
  for (int i = 0; i < 4; ++i) n |= uint32_t{p[hdr::kNumSections + i]} << (8 * i);
  for (int i = 0; i < 8; ++i) table |= uint64_t{p[hdr::kSectionTableOffset + i]} << (8 * i);
  if (n > kMaxSections || table > p.size() || uint64_t{n} * kSectionEntrySize > p.size() - table) return;
  for (uint32_t k = 0; k < n; ++k) {
    const uint8_t *e = p.data() + table + uint64_t{k} * kSectionEntrySize;
    uint64_t off = 0;
    for (int i = 0; i < 8; ++i) off |= uint64_t{e[8 + i]} << (8 * i);
    if (e[0] != 5 || e[1] || e[2] || e[3] || off < hdr::kMetadataChecksum + 8 || off > p.size()) continue;
    uint64_t c = metadataChecksum(p.data(), off);
    for (int i = 0; i < 8; ++i) p[hdr::kMetadataChecksum + i] = static_cast<uint8_t>(c >> (8 * i));
    return;
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::shared_ptr<const Plan> plan;
  LoadOptions lo;
  lo.verifyData = (size & 1) != 0;
  std::vector<uint8_t> bytes(data, data + size);
  if (size & 2) reseal(bytes);
  Status s = Plan::loadFromBuffer(bytes.data(), bytes.size(), lo, &plan);
  if (!s.isOk()) {
    if (s.message().empty()) __builtin_trap();
    return 0;
  }
  // mpc-run refuses arenas above --max-memory; so does the fuzzer (rss limit).
  if (plan->activationArenaBytes() + plan->stateArenaBytes() > (uint64_t{256} << 20)) return 0;
  SessionOptions so;
  so.device = Device::kCPU;
  so.numThreads = 1;
  std::unique_ptr<Session> session;
  (void)Session::create(plan, so, &session);
  return 0;
}
