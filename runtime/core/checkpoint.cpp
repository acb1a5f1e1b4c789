// Checkpoints in the safetensors format; see checkpoint.h.
#include "core/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "core/plan.h"
#include "core/session.h"

namespace mpc::rt {

std::string_view safetensorsDTypeName(DType t) {
  switch (t) {
  case DType::kF32: return "F32";
  case DType::kF16: return "F16";
  case DType::kBF16: return "BF16";
  case DType::kF64: return "F64";
  case DType::kF8E4M3FN: return "F8_E4M3";
  case DType::kF8E5M2: return "F8_E5M2";
  case DType::kBool: return "BOOL";
  case DType::kI8: return "I8";
  case DType::kI32: return "I32";
  case DType::kI64: return "I64";
  case DType::kInvalid: break;
  }
  return "";
}

DType dtypeFromSafetensorsName(std::string_view name) {
  for (int code = 1; code < kNumDTypes; ++code) {
    DType t = static_cast<DType>(code);
    if (safetensorsDTypeName(t) == name) return t;
  }
  return DType::kInvalid;
}

namespace {

// ---------------------------------------------------------------------------
// A small JSON reader: enough for safetensors headers (objects, arrays,
// strings, integers), strict about syntax, bounded in depth, never reading
// past the end of its input.

struct Json {
  enum Kind { kNull, kBool, kInt, kFloat, kString, kArray, kObject } kind = kNull;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<Json> items;                             // array
  std::vector<std::pair<std::string, Json>> members;   // object, in order
};

const char *kindName(Json::Kind k) {
  switch (k) {
  case Json::kNull: return "null";
  case Json::kBool: return "a boolean";
  case Json::kInt: return "an integer";
  case Json::kFloat: return "a number";
  case Json::kString: return "a string";
  case Json::kArray: return "an array";
  case Json::kObject: return "an object";
  }
  return "?";
}

class JsonParser {
public:
  JsonParser(const char *p, size_t n) : p_(p), end_(p + n), begin_(p) {}

  bool parseDocument(Json *out) {
    skipSpace();
    if (!value(out, 0)) return false;
    skipSpace();
    if (p_ != end_) return fail("unexpected characters after the JSON value");
    return true;
  }
  const std::string &error() const { return error_; }

private:
  static constexpr int kMaxDepth = 32;

  bool fail(const std::string &what) {
    if (error_.empty()) error_ = what + " at byte " + std::to_string(p_ - begin_) + " of the header";
    return false;
  }
  void skipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return fail("invalid literal");
    p_ += n;
    return true;
  }

  bool value(Json *out, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    if (p_ >= end_) return fail("unexpected end of the header");
    switch (*p_) {
    case '{': return object(out, depth);
    case '[': return array(out, depth);
    case '"': out->kind = Json::kString; return string(&out->s);
    case 't': out->kind = Json::kBool; out->b = true; return literal("true");
    case 'f': out->kind = Json::kBool; out->b = false; return literal("false");
    case 'n': out->kind = Json::kNull; return literal("null");
    default: return number(out);
    }
  }

  bool object(Json *out, int depth) {
    out->kind = Json::kObject;
    ++p_;  // '{'
    skipSpace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    // A set, not a scan of the members: a header may hold millions of keys.
    std::unordered_set<std::string> seen;
    while (true) {
      skipSpace();
      if (p_ >= end_ || *p_ != '"') return fail("expected a string key");
      std::string key;
      if (!string(&key)) return false;
      if (!seen.insert(key).second) return fail("duplicate key \"" + key + "\"");
      skipSpace();
      if (p_ >= end_ || *p_ != ':') return fail("expected ':'");
      ++p_;
      skipSpace();
      Json v;
      if (!value(&v, depth + 1)) return false;
      out->members.emplace_back(std::move(key), std::move(v));
      skipSpace();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(Json *out, int depth) {
    out->kind = Json::kArray;
    ++p_;  // '['
    skipSpace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    while (true) {
      skipSpace();
      Json v;
      if (!value(&v, depth + 1)) return false;
      out->items.push_back(std::move(v));
      skipSpace();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static void appendUtf8(std::string *s, uint32_t cp) {
    if (cp < 0x80) {
      *s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *s += static_cast<char>(0xC0 | (cp >> 6));
      *s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *s += static_cast<char>(0xE0 | (cp >> 12));
      *s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *s += static_cast<char>(0xF0 | (cp >> 18));
      *s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(uint32_t *out) {
    if (end_ - p_ < 4) return fail("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return fail("invalid \\u escape");
    }
    *out = v;
    return true;
  }

  bool string(std::string *out) {
    ++p_;  // opening quote
    out->clear();
    while (true) {
      if (p_ >= end_) return fail("unterminated string");
      char c = *p_++;
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (p_ >= end_) return fail("unterminated escape");
      char e = *p_++;
      switch (e) {
      case '"': *out += '"'; break;
      case '\\': *out += '\\'; break;
      case '/': *out += '/'; break;
      case 'b': *out += '\b'; break;
      case 'f': *out += '\f'; break;
      case 'n': *out += '\n'; break;
      case 'r': *out += '\r'; break;
      case 't': *out += '\t'; break;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(&cp)) return false;
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t lo = 0;
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return fail("unpaired surrogate in \\u escape");
          p_ += 2;
          if (!hex4(&lo)) return false;
          if (lo < 0xDC00 || lo >= 0xE000) return fail("invalid surrogate pair in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return fail("unpaired surrogate in \\u escape");
        }
        appendUtf8(out, cp);
        break;
      }
      default: return fail("invalid escape");
      }
    }
  }

  bool number(Json *out) {
    const char *start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) return fail("invalid value");
    if (*p_ == '0') ++p_;
    else while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    bool isInt = true;
    if (p_ < end_ && *p_ == '.') {
      isInt = false;
      ++p_;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) return fail("invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      isInt = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) return fail("invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    std::string text(start, p_);
    if (isInt) {
      errno = 0;
      char *e = nullptr;
      long long v = std::strtoll(text.c_str(), &e, 10);
      if (errno == ERANGE || *e != '\0') return fail("integer out of range");
      out->kind = Json::kInt;
      out->i = v;
    } else {
      out->kind = Json::kFloat;
      out->f = std::strtod(text.c_str(), nullptr);
    }
    return true;
  }

  const char *p_;
  const char *end_;
  const char *begin_;
  std::string error_;
};

void appendJsonString(std::string *out, std::string_view s) {
  *out += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"': *out += "\\\""; break;
    case '\\': *out += "\\\\"; break;
    case '\n': *out += "\\n"; break;
    case '\r': *out += "\\r"; break;
    case '\t': *out += "\\t"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        *out += buf;
      } else {
        *out += static_cast<char>(c);
      }
    }
  }
  *out += '"';
}

uint64_t loadU64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

Status corrupt(const std::string &what, const std::string &msg) {
  return Status(StatusCode::kInvalidArgument, "invalid checkpoint '" + what + "': " + msg);
}

// ---------------------------------------------------------------------------
// File helpers

Status writeAll(int fd, const void *data, size_t n, const std::string &path) {
  const auto *p = static_cast<const uint8_t *>(data);
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return Status(StatusCode::kIOError, "cannot write '" + path + "': " + std::strerror(errno));
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return Status::ok();
}

Status readAll(int fd, void *data, size_t n, const std::string &path) {
  auto *p = static_cast<uint8_t *>(data);
  while (n > 0) {
    ssize_t k = ::read(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return Status(StatusCode::kIOError, "cannot read checkpoint '" + path + "': " + std::strerror(errno));
    }
    if (k == 0) return Status(StatusCode::kIOError, "cannot read checkpoint '" + path + "': file shrank while reading");
    p += k;
    n -= static_cast<size_t>(k);
  }
  return Status::ok();
}

std::string dirOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string baseOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// ---------------------------------------------------------------------------

Status parseCheckpoint(const uint8_t *bytes, size_t size, const std::string &what, CheckpointHeader *out) {
  *out = CheckpointHeader();
  if (size < 8) return corrupt(what, "file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  const uint64_t n = loadU64(bytes);
  if (n > kMaxCheckpointHeaderBytes)
    return corrupt(what, "header length " + std::to_string(n) + " exceeds the limit of " +
                             std::to_string(kMaxCheckpointHeaderBytes) + " bytes");
  if (n > size - 8)
    return corrupt(what, "header length " + std::to_string(n) + " exceeds the " + std::to_string(size - 8) +
                             " bytes after the length field: truncated?");
  if (n < 2) return corrupt(what, "header of " + std::to_string(n) + " bytes cannot hold a JSON object");
  Json doc;
  JsonParser parser(reinterpret_cast<const char *>(bytes + 8), static_cast<size_t>(n));
  if (!parser.parseDocument(&doc)) return corrupt(what, "malformed JSON header: " + parser.error());
  if (doc.kind != Json::kObject) return corrupt(what, "the JSON header is " + std::string(kindName(doc.kind)) + ", not an object");
  out->dataOffset = 8 + n;
  const uint64_t dataSize = size - out->dataOffset;

  for (auto &[key, value] : doc.members) {
    if (key == "__metadata__") {
      if (value.kind != Json::kObject) return corrupt(what, "\"__metadata__\" must be an object of strings");
      for (auto &[mk, mv] : value.members) {
        if (mv.kind != Json::kString) return corrupt(what, "\"__metadata__\" value of \"" + mk + "\" is not a string");
        out->metadata[mk] = mv.s;
      }
      continue;
    }
    const std::string where = "tensor '" + key + "'";
    if (value.kind != Json::kObject) return corrupt(what, where + " is " + kindName(value.kind) + ", not an object");
    CheckpointEntry e;
    e.name = key;
    bool haveDType = false, haveShape = false, haveOffsets = false;
    for (auto &[field, fv] : value.members) {
      if (field == "dtype") {
        if (fv.kind != Json::kString) return corrupt(what, where + ": \"dtype\" must be a string");
        e.dtype = dtypeFromSafetensorsName(fv.s);
        if (e.dtype == DType::kInvalid) return corrupt(what, where + ": unsupported dtype \"" + fv.s + "\"");
        haveDType = true;
      } else if (field == "shape") {
        if (fv.kind != Json::kArray) return corrupt(what, where + ": \"shape\" must be an array");
        if (fv.items.size() > 8) return corrupt(what, where + ": rank " + std::to_string(fv.items.size()) + " exceeds 8");
        for (const Json &d : fv.items) {
          if (d.kind != Json::kInt || d.i < 0) return corrupt(what, where + ": \"shape\" must hold non-negative integers");
          e.shape.push_back(d.i);
        }
        haveShape = true;
      } else if (field == "data_offsets") {
        if (fv.kind != Json::kArray || fv.items.size() != 2 || fv.items[0].kind != Json::kInt ||
            fv.items[1].kind != Json::kInt || fv.items[0].i < 0 || fv.items[1].i < 0)
          return corrupt(what, where + ": \"data_offsets\" must be [begin, end], two non-negative integers");
        e.begin = static_cast<uint64_t>(fv.items[0].i);
        e.end = static_cast<uint64_t>(fv.items[1].i);
        haveOffsets = true;
      } else {
        return corrupt(what, where + ": unknown field \"" + field + "\"");
      }
    }
    if (!haveDType || !haveShape || !haveOffsets)
      return corrupt(what, where + ": missing \"" + std::string(!haveDType ? "dtype" : !haveShape ? "shape" : "data_offsets") + "\"");
    if (e.begin > e.end) return corrupt(what, where + ": data_offsets begin " + std::to_string(e.begin) + " > end " + std::to_string(e.end));
    if (e.end > dataSize)
      return corrupt(what, where + ": data_offsets end " + std::to_string(e.end) + " lies past the data (" +
                               std::to_string(dataSize) + " bytes): truncated?");
    uint64_t nbytes;
    if (!tensorBytes(e.dtype, e.shape, &nbytes))
      return corrupt(what, where + ": shape " + describeType(e.dtype, e.shape) + " is too large");
    if (nbytes != e.end - e.begin)
      return corrupt(what, where + ": " + describeType(e.dtype, e.shape) + " needs " + std::to_string(nbytes) +
                               " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    out->entries.push_back(std::move(e));
  }

  // No two tensors share bytes; the data ends where the last tensor ends.
  std::vector<const CheckpointEntry *> order;
  for (const auto &e : out->entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const CheckpointEntry *a, const CheckpointEntry *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t last = 0;
  const CheckpointEntry *prev = nullptr;
  for (const CheckpointEntry *e : order) {
    if (e->begin == e->end) continue;
    if (prev && e->begin < prev->end)
      return corrupt(what, "tensors '" + prev->name + "' and '" + e->name + "' overlap in the data");
    prev = e;
    last = std::max(last, e->end);
  }
  if (last != dataSize)
    return corrupt(what, std::to_string(dataSize - last) + " trailing bytes after the last tensor");
  return Status::ok();
}

std::string stateSignature(const Plan &plan) {
  uint64_t h = plan::kFnvOffset;
  for (const PlanBinding &b : plan.states()) {
    const PlanTensor &t = plan.tensors()[b.tensor];
    h = plan::fnv1a64(b.name.data(), b.name.size(), h);
    const uint8_t sep = 0;
    h = plan::fnv1a64(&sep, 1, h);
    const uint8_t code = static_cast<uint8_t>(t.dtype);
    h = plan::fnv1a64(&code, 1, h);
    const uint8_t rank = static_cast<uint8_t>(t.dims.size());
    h = plan::fnv1a64(&rank, 1, h);
    for (int64_t d : t.dims) {
      uint8_t le[8];
      for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(static_cast<uint64_t>(d) >> (8 * i));
      h = plan::fnv1a64(le, 8, h);
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Status saveCheckpoint(const Session &session, const std::string &path) {
  const Plan &plan = session.plan();
  // Header.
  std::string json = "{\"__metadata__\":{";
  appendJsonString(&json, "format");
  json += ':';
  appendJsonString(&json, "mpc-state");
  json += ',';
  appendJsonString(&json, "format_version");
  json += ":\"1\",";
  appendJsonString(&json, "state_signature");
  json += ':';
  appendJsonString(&json, stateSignature(plan));
  json += ',';
  appendJsonString(&json, "num_states");
  json += ':';
  appendJsonString(&json, std::to_string(plan.states().size()));
  json += '}';
  uint64_t offset = 0;
  for (const PlanBinding &b : plan.states()) {
    const PlanTensor &t = plan.tensors()[b.tensor];
    json += ',';
    appendJsonString(&json, b.name);
    json += ":{\"dtype\":";
    appendJsonString(&json, safetensorsDTypeName(t.dtype));
    json += ",\"shape\":[";
    for (size_t i = 0; i < t.dims.size(); ++i) json += (i ? "," : "") + std::to_string(t.dims[i]);
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.nbytes) + "]}";
    offset += t.nbytes;
  }
  json += '}';
  while ((8 + json.size()) % 8) json += ' ';
  if (json.size() > kMaxCheckpointHeaderBytes)
    return Status(StatusCode::kInvalidArgument, "cannot save checkpoint '" + path + "': header exceeds " +
                                                    std::to_string(kMaxCheckpointHeaderBytes) + " bytes");
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(json.size()) >> (8 * i));

  // Temporary file next to the target, then rename.
  static std::atomic<uint64_t> counter{0};
  const std::string dir = dirOf(path);
  const std::string tmp = dir + "/." + baseOf(path) + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status(StatusCode::kIOError, "cannot save checkpoint '" + path + "': cannot create '" + tmp + "': " +
                                            std::strerror(errno));
  Status s = writeAll(fd, len, 8, tmp);
  if (s.isOk()) s = writeAll(fd, json.data(), json.size(), tmp);
  for (const PlanBinding &b : plan.states()) {
    if (!s.isOk()) break;
    const PlanTensor &t = plan.tensors()[b.tensor];
    s = writeAll(fd, session.tensorView(b.tensor).data, static_cast<size_t>(t.nbytes), tmp);
  }
  if (s.isOk() && ::fsync(fd) != 0) s = Status(StatusCode::kIOError, "cannot sync '" + tmp + "': " + std::strerror(errno));
  if (::close(fd) != 0 && s.isOk()) s = Status(StatusCode::kIOError, "cannot close '" + tmp + "': " + std::strerror(errno));
  if (s.isOk() && std::rename(tmp.c_str(), path.c_str()) != 0)
    s = Status(StatusCode::kIOError, "cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  if (!s.isOk()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Make the rename itself durable.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status(StatusCode::kIOError, "cannot open directory '" + dir + "' to sync it: " + std::strerror(errno));
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0 && err != EINVAL)  // some file systems cannot sync directories
    return Status(StatusCode::kIOError, "cannot sync directory '" + dir + "': " + std::strerror(err));
  return Status::ok();
}

Status loadCheckpoint(Session &session, const std::string &path) {
  const Plan &plan = session.plan();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIOError,
                  "cannot open checkpoint '" + path + "': " + std::strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(StatusCode::kIOError, "checkpoint '" + path + "' is not a regular file");
  }
  // The file can hold at most the states' bytes plus the header: refuse to
  // read anything larger into memory.
  uint64_t stateBytes = 0;
  for (const PlanBinding &b : plan.states()) stateBytes += plan.tensors()[b.tensor].nbytes;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > 8 + kMaxCheckpointHeaderBytes + stateBytes) {
    ::close(fd);
    return corrupt(path, "file is " + std::to_string(size) + " bytes, more than the plan's " +
                             std::to_string(plan.states().size()) + " state tensors (" + std::to_string(stateBytes) +
                             " bytes) and a header can fill");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  Status s = readAll(fd, bytes.data(), bytes.size(), path);
  ::close(fd);
  MPC_RETURN_IF_ERROR(s);

  CheckpointHeader h;
  MPC_RETURN_IF_ERROR(parseCheckpoint(bytes.data(), bytes.size(), path, &h));
  auto it = h.metadata.find("format");
  if (it != h.metadata.end() && it->second != "mpc-state")
    return corrupt(path, "\"__metadata__\" says format \"" + it->second + "\", expected \"mpc-state\"");

  // Match against the plan's states.
  std::map<std::string, const CheckpointEntry *> byName;
  for (const CheckpointEntry &e : h.entries) byName[e.name] = &e;
  std::vector<const CheckpointEntry *> matched;
  for (const PlanBinding &b : plan.states()) {
    const PlanTensor &t = plan.tensors()[b.tensor];
    auto f = byName.find(b.name);
    if (f == byName.end())
      return Status(StatusCode::kInvalidArgument, "checkpoint '" + path + "' has no tensor for state '" + b.name +
                                                      "' (" + describeType(t.dtype, t.dims) + ")");
    const CheckpointEntry &e = *f->second;
    if (e.dtype != t.dtype || e.shape != t.dims)
      return Status(StatusCode::kInvalidArgument, "checkpoint '" + path + "': tensor '" + b.name + "' is " +
                                                      describeType(e.dtype, e.shape) + " but the plan's state is " +
                                                      describeType(t.dtype, t.dims));
    matched.push_back(&e);
    byName.erase(f);
  }
  if (!byName.empty())
    return Status(StatusCode::kInvalidArgument, "checkpoint '" + path + "' has tensor '" + byName.begin()->first +
                                                    "', which is not a state of the plan");
  // Everything is valid: overwrite every state.
  for (size_t i = 0; i < matched.size(); ++i) {
    const CheckpointEntry &e = *matched[i];
    MPC_RETURN_IF_ERROR(session.writeState(plan.states()[i].name, bytes.data() + h.dataOffset + e.begin,
                                           static_cast<size_t>(e.end - e.begin)));
  }
  return Status::ok();
}

}  // namespace mpc::rt
