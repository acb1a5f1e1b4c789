// NumPy .npy files (format versions 1.0, 2.0, 3.0), C order, little-endian.
//
// Supported descrs: <f4 <f2 <f8 <i4 <i8 |b1 |i1 |u1 (u1 reads as i8 storage is
// not implied: it maps to DType::kI8 only when the caller expects kI8 or kBool).
// bf16 and FP8 arrays made with ml_dtypes are saved by NumPy as raw void types
// ('<V2', '|V1', sometimes '<f1'); those are accepted only when the caller
// passes the expected dtype, since the file itself cannot say which format it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace mpc::rt {

struct NpyArray {
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // numel * dtypeSize(dtype) bytes, C order
};

// Parses an .npy file held in memory. `expected` (kInvalid = any) resolves
// void descrs and is checked against the file's type.
Status parseNpy(const uint8_t *bytes, size_t size, DType expected, NpyArray *out, const std::string &what = "<buffer>");
Status readNpy(const std::string &path, DType expected, NpyArray *out);

// Serialises as format 1.0 (2.0 when the header needs it). bf16 is written as
// '<V2' and FP8 as '|V1' (what NumPy writes for ml_dtypes arrays).
Status encodeNpy(DType dtype, const std::vector<int64_t> &shape, const void *data, size_t nbytes,
                 std::vector<uint8_t> *out);
Status writeNpy(const std::string &path, DType dtype, const std::vector<int64_t> &shape, const void *data,
                size_t nbytes);

}  // namespace mpc::rt
