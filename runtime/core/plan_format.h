// The on-disk layout of an executable plan (.mpcp). docs/plan-format.md is the
// prose version of this file; keep them in sync.
//
// Everything is little-endian and written field by field (never by memcpy of a
// C++ struct), so the format does not depend on the compiler's struct padding.
//
//   offset 0      FileHeader (kHeaderSize bytes)
//                 section table: numSections x SectionEntry (kSectionEntrySize bytes)
//                 metadata sections: strings, tensors, kernels, bindings
//                 zero padding up to a multiple of kDataFileAlignment
//   dataOffset    data section: constants and initial state, each at a
//                 multiple of kDataAlignment inside the section
//
// The header's metadataChecksum is FNV-1a 64 over bytes [0, data section offset)
// with the 8 checksum bytes taken as zero, so any flipped byte outside the data
// section is detected. dataChecksum covers the data section; loaders check it
// only on request because it means reading every weight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mpc::rt::plan {

inline constexpr char kMagic[8] = {'M', 'P', 'C', 'P', 'L', 'A', 'N', '\0'};
// Major: incompatible layout changes (loaders reject other majors).
// Minor: compatible additions (loaders accept any minor <= their own).
inline constexpr uint32_t kVersionMajor = 1;
inline constexpr uint32_t kVersionMinor = 0;

inline constexpr uint64_t kDataFileAlignment = 4096;  // data section start in the file
inline constexpr uint64_t kDataAlignment = 64;        // every tensor in the data section and arenas

// FileHeader layout (byte offsets).
inline constexpr size_t kHeaderSize = 128;
namespace hdr {
inline constexpr size_t kMagic = 0;                 // char[8]
inline constexpr size_t kVersionMajor = 8;          // u32
inline constexpr size_t kVersionMinor = 12;         // u32
inline constexpr size_t kHeaderSize = 16;           // u32, = plan::kHeaderSize
inline constexpr size_t kNumSections = 20;          // u32
inline constexpr size_t kSectionTableOffset = 24;   // u64
inline constexpr size_t kFileSize = 32;             // u64, total bytes of the file
inline constexpr size_t kMetadataChecksum = 40;     // u64, FNV-1a 64 (see above)
inline constexpr size_t kDataChecksum = 48;         // u64, FNV-1a 64 of the data section
inline constexpr size_t kActivationArenaBytes = 56; // u64
inline constexpr size_t kStateArenaBytes = 64;      // u64
// 72..127 reserved, written as zero.
}  // namespace hdr

// One entry of the section table.
inline constexpr size_t kSectionEntrySize = 24;  // u32 kind, u32 reserved, u64 offset, u64 size

enum class SectionKind : uint32_t {
  kStrings = 1,
  kTensors = 2,
  kKernels = 3,
  kBindings = 4,
  kData = 5,
};
inline constexpr uint32_t kMaxSections = 64;

// Where a tensor's bytes live at run time.
enum class Storage : uint8_t {
  kActivation = 0,  // activation arena, offset chosen by the memory planner
  kInput = 1,       // activation arena; filled by the caller before each run, never reused
  kState = 2,       // state arena; initialised from the data section (or zeros); persists across runs
  kConstant = 3,    // data section, read-only (memory-mapped)
};
inline constexpr uint8_t kNumStorage = 4;

constexpr std::string_view storageName(Storage s) {
  switch (s) {
  case Storage::kActivation: return "activation";
  case Storage::kInput: return "input";
  case Storage::kState: return "state";
  case Storage::kConstant: return "constant";
  }
  return "invalid";
}

// Attribute kinds, in the order of the AttrValue variant in core/kernel.h.
enum class AttrKind : uint8_t {
  kInt = 0,
  kFloat = 1,
  kString = 2,
  kInts = 3,
  kFloats = 4,
};
inline constexpr uint8_t kNumAttrKinds = 5;

// A tensor with no initial data in the data section.
inline constexpr uint64_t kNoData = ~uint64_t{0};

// Sanity limits so a corrupt count cannot make a loader allocate gigabytes.
// Each record needs at least a few bytes, so counts are further bounded by the
// section size; these catch the remaining absurd values early.
inline constexpr uint32_t kMaxStringBytes = 1u << 20;
inline constexpr uint32_t kMaxKernelOperands = 1u << 16;
inline constexpr uint32_t kMaxAttrElements = 1u << 24;

// FNV-1a 64; `seed` continues a previous hash.
inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
inline uint64_t fnv1a64(const void *data, size_t n, uint64_t seed = kFnvOffset) {
  const auto *p = static_cast<const unsigned char *>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

// Checksum of the metadata region [0, end): the checksum field counts as zero.
inline uint64_t metadataChecksum(const unsigned char *file, size_t end) {
  static const unsigned char zeros[8] = {};
  uint64_t h = fnv1a64(file, hdr::kMetadataChecksum);
  h = fnv1a64(zeros, 8, h);
  size_t rest = hdr::kMetadataChecksum + 8;
  return fnv1a64(file + rest, end - rest, h);
}

// Overflow-safe helpers used by the writer and the loader.
inline bool addOverflows(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_add_overflow(a, b, out); }
inline bool mulOverflows(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_mul_overflow(a, b, out); }
inline uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace mpc::rt::plan
