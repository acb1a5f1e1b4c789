#include "core/npy.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/plan.h"  // tensorBytes, describeType

namespace mpc::rt {

namespace {

constexpr unsigned char kNpyMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

Status bad(const std::string &what, const std::string &msg) {
  return Status(StatusCode::kInvalidArgument, "malformed .npy '" + what + "': " + msg);
}

// A tiny parser for the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  explicit HeaderParser(std::string_view s) : s_(s) {}

  void skipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool quoted(std::string *out) {
    skipSpace();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) return false;
    char q = s_[i_++];
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) ++i_;
    if (i_ >= s_.size()) return false;
    *out = std::string(s_.substr(start, i_ - start));
    ++i_;
    return true;
  }
  bool word(std::string *out) {
    skipSpace();
    size_t start = i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    *out = std::string(s_.substr(start, i_ - start));
    return !out->empty();
  }
  bool integer(int64_t *out) {
    skipSpace();
    size_t start = i_;
    int64_t v = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s_[i_] - '0', &v)) return false;
      ++i_;
    }
    *out = v;
    return i_ > start;
  }
  bool shape(std::vector<int64_t> *out) {
    if (!eat('(')) return false;
    out->clear();
    if (eat(')')) return true;
    while (true) {
      int64_t d;
      if (!integer(&d)) return false;
      out->push_back(d);
      if (eat(')')) return true;
      if (!eat(',')) return false;
      if (eat(')')) return true;  // "(3,)"
    }
  }
  bool atEnd() {
    skipSpace();
    return i_ == s_.size();
  }

private:
  std::string_view s_;
  size_t i_ = 0;
};

// Maps a descr to a dtype; void/f1 descrs need `expected`.
Status descrToDType(const std::string &descr, DType expected, const std::string &what, DType *out) {
  struct Known {
    const char *descr;
    DType dtype;
  };
  static const Known kKnown[] = {{"<f4", DType::kF32}, {"<f2", DType::kF16}, {"<f8", DType::kF64},
                                 {"<i4", DType::kI32}, {"<i8", DType::kI64}, {"|b1", DType::kBool},
                                 {"|i1", DType::kI8},  {"|u1", DType::kI8}};
  for (const Known &k : kKnown) {
    if (descr != k.descr) continue;
    DType t = k.dtype;
    // |u1 is accepted for i8 and bool storage (both one byte).
    if (descr == "|u1" && expected == DType::kBool) t = DType::kBool;
    if (expected != DType::kInvalid && expected != t)
      return Status(StatusCode::kInvalidArgument, ".npy '" + what + "' holds '" + descr + "' (" +
                                                      std::string(dtypeName(t)) + ") but " +
                                                      std::string(dtypeName(expected)) + " is expected");
    *out = t;
    return Status::ok();
  }
  bool void2 = descr == "<V2" || descr == "|V2" || descr == ">V2";
  bool void1 = descr == "<V1" || descr == "|V1" || descr == ">V1" || descr == "<f1" || descr == "|f1";
  if (void2 || void1) {
    bool ok = (void2 && expected == DType::kBF16) ||
              (void1 && (expected == DType::kF8E4M3FN || expected == DType::kF8E5M2));
    if (!ok)
      return Status(StatusCode::kInvalidArgument,
                    ".npy '" + what + "' holds raw '" + descr + "' elements; " +
                        (expected == DType::kInvalid ? std::string("say which type they are (bf16, f8E4M3FN, f8E5M2)")
                                                     : "they cannot be " + std::string(dtypeName(expected))));
    *out = expected;
    return Status::ok();
  }
  return Status(StatusCode::kUnsupported, ".npy '" + what + "': unsupported dtype descr '" + descr +
                                              "' (supported: <f4 <f2 <f8 <i4 <i8 |b1 |i1 |u1, and <V2/|V1 for bf16/fp8)");
}

}  // namespace

Status parseNpy(const uint8_t *bytes, size_t size, DType expected, NpyArray *out, const std::string &what) {
  if (!out || (!bytes && size)) return Status(StatusCode::kInvalidArgument, "parseNpy: null pointer");
  if (size < 10 || std::memcmp(bytes, kNpyMagic, 6) != 0) return bad(what, "missing the \\x93NUMPY magic");
  uint8_t major = bytes[6];
  size_t headerLen, pos;
  if (major == 1) {
    headerLen = bytes[8] | size_t(bytes[9]) << 8;
    pos = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return bad(what, "truncated header length");
    headerLen = bytes[8] | size_t(bytes[9]) << 8 | size_t(bytes[10]) << 16 | size_t(bytes[11]) << 24;
    pos = 12;
  } else {
    return bad(what, "unsupported format version " + std::to_string(major) + "." + std::to_string(bytes[7]));
  }
  if (headerLen > size - pos) return bad(what, "header length " + std::to_string(headerLen) + " exceeds the file");
  std::string_view header(reinterpret_cast<const char *>(bytes + pos), headerLen);
  pos += headerLen;

  HeaderParser hp(header);
  std::string descr;
  bool haveDescr = false, haveOrder = false, haveShape = false, fortran = false;
  std::vector<int64_t> shape;
  if (!hp.eat('{')) return bad(what, "header is not a dict");
  while (!hp.eat('}')) {
    std::string key;
    if (!hp.quoted(&key) || !hp.eat(':')) return bad(what, "expected 'key': in the header dict");
    if (key == "descr") {
      if (!hp.quoted(&descr)) return bad(what, "descr is not a string (structured dtypes are unsupported)");
      haveDescr = true;
    } else if (key == "fortran_order") {
      std::string w;
      if (!hp.word(&w) || (w != "True" && w != "False")) return bad(what, "fortran_order is not True/False");
      fortran = w == "True";
      haveOrder = true;
    } else if (key == "shape") {
      if (!hp.shape(&shape)) return bad(what, "shape is not a tuple of non-negative integers");
      haveShape = true;
    } else {
      return bad(what, "unknown header key '" + key + "'");
    }
    if (!hp.eat(',')) {
      if (!hp.eat('}')) return bad(what, "expected ',' or '}' in the header dict");
      break;
    }
  }
  if (!hp.atEnd()) return bad(what, "trailing characters after the header dict");
  if (!haveDescr || !haveOrder || !haveShape) return bad(what, "header lacks descr, fortran_order or shape");
  if (fortran) return Status(StatusCode::kUnsupported, ".npy '" + what + "' is in Fortran order; only C order is supported");
  if (shape.size() > 8) return bad(what, "rank " + std::to_string(shape.size()) + " exceeds 8");

  DType dtype;
  MPC_RETURN_IF_ERROR(descrToDType(descr, expected, what, &dtype));
  uint64_t nbytes;
  if (!tensorBytes(dtype, shape, &nbytes)) return bad(what, "shape size overflows");
  if (nbytes != size - pos)
    return bad(what, "data is " + std::to_string(size - pos) + " bytes, but " + describeType(dtype, shape) + " needs " +
                         std::to_string(nbytes));
  out->dtype = dtype;
  out->shape = std::move(shape);
  out->data.assign(bytes + pos, bytes + size);
  return Status::ok();
}

Status readNpy(const std::string &path, DType expected, NpyArray *out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(StatusCode::kNotFound, "cannot open .npy file '" + path + "'");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status(StatusCode::kIOError, "cannot read .npy file '" + path + "'");
  return parseNpy(bytes.data(), bytes.size(), expected, out, path);
}

Status encodeNpy(DType dtype, const std::vector<int64_t> &shape, const void *data, size_t nbytes,
                 std::vector<uint8_t> *out) {
  const char *descr = nullptr;
  switch (dtype) {
  case DType::kF32: descr = "<f4"; break;
  case DType::kF16: descr = "<f2"; break;
  case DType::kF64: descr = "<f8"; break;
  case DType::kI32: descr = "<i4"; break;
  case DType::kI64: descr = "<i8"; break;
  case DType::kBool: descr = "|b1"; break;
  case DType::kI8: descr = "|i1"; break;
  case DType::kBF16: descr = "<V2"; break;
  case DType::kF8E4M3FN:
  case DType::kF8E5M2: descr = "|V1"; break;
  case DType::kInvalid: return Status(StatusCode::kInvalidArgument, "encodeNpy: invalid dtype");
  }
  uint64_t want;
  if (!tensorBytes(dtype, shape, &want) || want != nbytes)
    return Status(StatusCode::kInvalidArgument, "encodeNpy: " + std::to_string(nbytes) + " bytes do not match " +
                                                    describeType(dtype, shape));
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dict += ',';  // a one-element tuple: "(3,)"
  dict += "), }";
  // Pad with spaces and a newline so the data starts at a multiple of 64.
  bool v2 = dict.size() + 1 + 10 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  out->clear();
  out->insert(out->end(), kNpyMagic, kNpyMagic + 6);
  out->push_back(v2 ? 2 : 1);
  out->push_back(0);
  size_t len = dict.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) out->push_back(static_cast<uint8_t>(len >> (8 * i)));
  out->insert(out->end(), dict.begin(), dict.end());
  const auto *p = static_cast<const uint8_t *>(data);
  if (nbytes) out->insert(out->end(), p, p + nbytes);
  return Status::ok();
}

Status writeNpy(const std::string &path, DType dtype, const std::vector<int64_t> &shape, const void *data,
                size_t nbytes) {
  std::vector<uint8_t> bytes;
  MPC_RETURN_IF_ERROR(encodeNpy(dtype, shape, data, nbytes, &bytes));
  // Write next to the target and rename: a failure never leaves half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status(StatusCode::kIOError, "cannot create .npy file '" + path + "'");
    f.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      return Status(StatusCode::kIOError, "cannot write .npy file '" + path + "'");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status(StatusCode::kIOError, "cannot write .npy file '" + path + "'");
  }
  return Status::ok();
}

}  // namespace mpc::rt
