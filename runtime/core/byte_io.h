// Little-endian encoding helpers for the plan file. ByteReader never reads
// past its end: every read reports failure instead, so a truncated or corrupt
// section becomes an error, not an out-of-bounds access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace mpc::rt {

class ByteWriter {
public:
  void u8(uint8_t v) { buf_.push_back(v); }
  void u32(uint32_t v) { putLE(v, 4); }
  void u64(uint64_t v) { putLE(v, 8); }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void bytes(const void *p, size_t n) {
    const auto *c = static_cast<const uint8_t *>(p);
    buf_.insert(buf_.end(), c, c + n);
  }
  void zeros(size_t n) { buf_.insert(buf_.end(), n, 0); }
  size_t size() const { return buf_.size(); }
  std::vector<uint8_t> &buffer() { return buf_; }
  // Overwrites 8 bytes at `pos` (for fields known only at the end).
  void patchU64(size_t pos, uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_[pos + i] = static_cast<uint8_t>(v >> (8 * i));
  }

private:
  void putLE(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> buf_;
};

inline uint32_t loadU32LE(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t loadU64LE(const uint8_t *p) { return uint64_t(loadU32LE(p)) | uint64_t(loadU32LE(p + 4)) << 32; }

class ByteReader {
public:
  ByteReader(const uint8_t *data, size_t size) : p_(data), end_(data + size) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool atEnd() const { return p_ == end_; }

  bool u8(uint8_t *v) {
    if (remaining() < 1) return false;
    *v = *p_++;
    return true;
  }
  bool u32(uint32_t *v) {
    if (remaining() < 4) return false;
    *v = loadU32LE(p_);
    p_ += 4;
    return true;
  }
  bool u64(uint64_t *v) {
    if (remaining() < 8) return false;
    *v = loadU64LE(p_);
    p_ += 8;
    return true;
  }
  bool i32(int32_t *v) {
    uint32_t u;
    if (!u32(&u)) return false;
    *v = static_cast<int32_t>(u);
    return true;
  }
  bool i64(int64_t *v) {
    uint64_t u;
    if (!u64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool f64(double *v) {
    uint64_t u;
    if (!u64(&u)) return false;
    std::memcpy(v, &u, 8);
    return true;
  }
  bool bytes(size_t n, const uint8_t **out) {
    if (remaining() < n) return false;
    *out = p_;
    p_ += n;
    return true;
  }

private:
  const uint8_t *p_;
  const uint8_t *end_;
};

}  // namespace mpc::rt
