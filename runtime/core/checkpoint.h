// Checkpoints: every state tensor of a session (parameters, optimizer
// moments, step counter, learning rate, loss-scale state, ...) in the
// safetensors format (https://github.com/huggingface/safetensors):
//
//   u64 (little-endian) N | N bytes of JSON header | tensor bytes
//
// The header maps each state name to {"dtype", "shape", "data_offsets":
// [begin, end]} (offsets relative to the byte buffer after the header) and
// carries "__metadata__" with the plan's identity ("format": "mpc-state",
// "format_version", "state_signature", "num_states"). Tensors are stored in
// the plan's state order, contiguously, C order, little-endian; the header is
// padded with spaces to a multiple of 8 bytes, as the reference writer does.
//
// Saving is atomic: a temporary file in the target's directory, fsync,
// rename over the target, fsync of the directory. A crash leaves either the
// old checkpoint or the new one, never a torn file.
//
// Loading validates everything before touching the session (header length
// bounds, well-formed JSON, known dtypes, shapes, offsets in range and not
// overlapping, no trailing bytes, every state tensor present with the plan's
// dtype and shape, no unknown tensor) and then overwrites every state at once:
// on any error the session's state is unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace mpc::rt {

class Plan;
class Session;

// Upper bound on the JSON header (the reference implementation's limit).
inline constexpr uint64_t kMaxCheckpointHeaderBytes = 100'000'000;

// safetensors dtype names: "F32", "F16", "BF16", "F64", "F8_E4M3",
// "F8_E5M2", "BOOL", "I8", "I32", "I64". kInvalid / "" when unknown.
std::string_view safetensorsDTypeName(DType t);
DType dtypeFromSafetensorsName(std::string_view name);

// One tensor entry of a parsed header.
struct CheckpointEntry {
  std::string name;
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range in the data buffer
};

struct CheckpointHeader {
  std::vector<CheckpointEntry> entries;  // in file order
  std::map<std::string, std::string> metadata;
  uint64_t dataOffset = 0;  // file offset of the data buffer (8 + N)
};

// Parses and validates a whole safetensors image (header and layout; not
// against any plan). `what` names the file in messages.
Status parseCheckpoint(const uint8_t *bytes, size_t size, const std::string &what, CheckpointHeader *out);

// The identity of a plan's state layout: FNV-1a 64 over every state's name,
// dtype and shape, as 16 hex digits.
std::string stateSignature(const Plan &plan);

// Writes every state tensor of `session` to `path` atomically.
Status saveCheckpoint(const Session &session, const std::string &path);
// Validates `path` against the session's plan and overwrites every state
// tensor; the session is unchanged on error.
Status loadCheckpoint(Session &session, const std::string &path);

}  // namespace mpc::rt
