//===- ModelLoader.cpp - reading ONNX files and tensor data ---------------===//

#include "compiler/onnx/ModelLoader.h"
#include "compiler/onnx/TextParser.h"

#include <climits>
#include <fstream>
#include <sstream>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

namespace mpc {

namespace {

enum OnnxType : int32_t {
  kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6, kInt64 = 7,
  kString = 8, kBool = 9, kFloat16 = 10, kDouble = 11, kUint32 = 12, kUint64 = 13,
  kComplex64 = 14, kComplex128 = 15, kBFloat16 = 16, kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18, kFloat8E5M2 = 19, kFloat8E5M2FNUZ = 20,
};

template <typename T> void appendLE(std::vector<char> &out, T v) {
  const char *p = reinterpret_cast<const char *>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

/// Typed repeated fields -> bytes. 16-bit and 8-bit floats and small integers
/// are stored one per int32_data entry (their bit pattern / value).
bool bytesFromTypedFields(const onnx::TensorProto &t, int64_t count, std::vector<char> &out,
                          std::string &error) {
  int32_t type = t.data_type();
  auto sizeError = [&](int64_t have) {
    error = "tensor '" + t.name() + "' declares " + std::to_string(count) +
            " elements but stores " + std::to_string(have);
    return false;
  };
  switch (type) {
  case kFloat:
    if (t.float_data_size() != count) return sizeError(t.float_data_size());
    for (float v : t.float_data()) appendLE(out, v);
    return true;
  case kDouble:
    if (t.double_data_size() != count) return sizeError(t.double_data_size());
    for (double v : t.double_data()) appendLE(out, v);
    return true;
  case kInt64:
    if (t.int64_data_size() != count) return sizeError(t.int64_data_size());
    for (int64_t v : t.int64_data()) appendLE(out, v);
    return true;
  case kInt32:
    if (t.int32_data_size() != count) return sizeError(t.int32_data_size());
    for (int32_t v : t.int32_data()) appendLE(out, v);
    return true;
  case kFloat16:
  case kBFloat16:
    if (t.int32_data_size() != count) return sizeError(t.int32_data_size());
    for (int32_t v : t.int32_data()) appendLE(out, static_cast<uint16_t>(v));
    return true;
  case kInt8:
  case kBool:
  case kFloat8E4M3FN:
  case kFloat8E5M2:
    if (t.int32_data_size() != count) return sizeError(t.int32_data_size());
    for (int32_t v : t.int32_data()) appendLE(out, static_cast<uint8_t>(v));
    return true;
  default:
    error = "tensor '" + t.name() + "' has unsupported element type " + onnxTypeName(type);
    return false;
  }
}

/// Resolves an external-data location against the model directory, refusing
/// absolute paths and any path that leaves the directory.
bool resolveExternalPath(llvm::StringRef modelDir, llvm::StringRef location,
                         const std::string &tensorName, std::string &path, std::string &error) {
  if (location.empty() || llvm::sys::path::is_absolute(location) ||
      llvm::sys::path::is_absolute(location, llvm::sys::path::Style::windows)) {
    error = "tensor '" + tensorName + "': external data location '" + location.str() +
            "' must be a relative path inside the model directory";
    return false;
  }
  for (auto it = llvm::sys::path::begin(location), e = llvm::sys::path::end(location); it != e;
       ++it) {
    if (*it == "..") {
      error = "tensor '" + tensorName + "': external data location '" + location.str() +
              "' escapes the model directory";
      return false;
    }
  }
  llvm::SmallString<256> full(modelDir);
  llvm::sys::path::append(full, location);
  // A symbolic link could still point outside: compare real paths.
  llvm::SmallString<256> realDir, realFile;
  if (llvm::sys::fs::real_path(modelDir.empty() ? "." : modelDir, realDir) ||
      llvm::sys::fs::real_path(full, realFile)) {
    error = "tensor '" + tensorName + "': external data file '" + full.str().str() +
            "' does not exist";
    return false;
  }
  if (!llvm::sys::fs::is_regular_file(realFile)) {
    error = "tensor '" + tensorName + "': external data file '" + full.str().str() +
            "' is not a regular file";
    return false;
  }
  llvm::StringRef fileRef = realFile.str(), dirRef = realDir.str();
  if (!fileRef.starts_with(dirRef) || fileRef.size() <= dirRef.size() ||
      fileRef[dirRef.size()] != '/') {
    error = "tensor '" + tensorName + "': external data file '" + full.str().str() +
            "' resolves outside the model directory";
    return false;
  }
  path = realFile.str().str();
  return true;
}

bool readExternal(const onnx::TensorProto &t, llvm::StringRef modelDir, int64_t expected,
                  std::vector<char> &out, std::string &error) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    auto parseInt = [&](const std::string &s, int64_t &v) {
      if (llvm::StringRef(s).getAsInteger(10, v) || v < 0) {
        error = "tensor '" + t.name() + "': external data " + kv.key() + " '" + s +
                "' is not a non-negative integer";
        return false;
      }
      return true;
    };
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset" && !parseInt(kv.value(), offset))
      return false;
    else if (kv.key() == "length" && !parseInt(kv.value(), length))
      return false;
  }
  std::string path;
  if (!resolveExternalPath(modelDir, location, t.name(), path, error))
    return false;
  uint64_t fileSize = 0;
  if (llvm::sys::fs::file_size(path, fileSize)) {
    error = "tensor '" + t.name() + "': cannot stat external data file '" + path + "'";
    return false;
  }
  if (length < 0)
    length = expected;
  if (length != expected) {
    error = "tensor '" + t.name() + "': external data length " + std::to_string(length) +
            " does not match its shape (" + std::to_string(expected) + " bytes)";
    return false;
  }
  if (static_cast<uint64_t>(offset) > fileSize ||
      static_cast<uint64_t>(length) > fileSize - static_cast<uint64_t>(offset)) {
    error = "tensor '" + t.name() + "': external data [" + std::to_string(offset) + ", +" +
            std::to_string(length) + ") lies outside '" + path + "' (" +
            std::to_string(fileSize) + " bytes)";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  out.resize(length);
  in.seekg(offset);
  if (!in.read(out.data(), length)) {
    error = "tensor '" + t.name() + "': reading external data from '" + path + "' failed";
    return false;
  }
  return true;
}

} // namespace

std::string onnxTypeName(int32_t elemType) {
  static const char *names[] = {"UNDEFINED", "FLOAT",  "UINT8",      "INT8",       "UINT16",
                                "INT16",     "INT32",  "INT64",      "STRING",     "BOOL",
                                "FLOAT16",   "DOUBLE", "UINT32",     "UINT64",     "COMPLEX64",
                                "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
                                "FLOAT8E5M2", "FLOAT8E5M2FNUZ"};
  if (elemType >= 0 && elemType < static_cast<int32_t>(std::size(names)))
    return names[elemType];
  return "type code " + std::to_string(elemType);
}

int64_t onnxElementBytes(int32_t elemType) {
  switch (elemType) {
  case kFloat: case kInt32: return 4;
  case kDouble: case kInt64: return 8;
  case kFloat16: case kBFloat16: return 2;
  case kInt8: case kBool: case kFloat8E4M3FN: case kFloat8E5M2: return 1;
  default: return 0;
  }
}

int64_t checkedElementCount(llvm::ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d != 0 && n > INT64_MAX / d))
      return -1;
    n *= d;
  }
  return n;
}

bool readTensorBytes(const onnx::TensorProto &t, llvm::StringRef modelDir, int64_t maxBytes,
                     std::vector<char> &bytes, std::string &error) {
  int64_t elemBytes = onnxElementBytes(t.data_type());
  if (elemBytes == 0) {
    error = "tensor '" + t.name() + "' has unsupported element type " +
            onnxTypeName(t.data_type());
    return false;
  }
  llvm::SmallVector<int64_t> dims(t.dims().begin(), t.dims().end());
  int64_t count = checkedElementCount(dims);
  if (count < 0 || count > maxBytes / elemBytes) {
    error = "tensor '" + t.name() + "' has invalid or too large dims (limit " +
            std::to_string(maxBytes) + " bytes)";
    return false;
  }
  int64_t expected = count * elemBytes;
  bytes.clear();
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return readExternal(t, modelDir, expected, bytes, error);
  if (t.has_raw_data()) {
    if (static_cast<int64_t>(t.raw_data().size()) != expected) {
      error = "tensor '" + t.name() + "' has " + std::to_string(t.raw_data().size()) +
              " bytes of raw data, but its shape needs " + std::to_string(expected);
      return false;
    }
    bytes.assign(t.raw_data().begin(), t.raw_data().end());
    return true;
  }
  // No reserve(expected) here: the dims come from the file and are only
  // checked against the stored values inside bytesFromTypedFields.
  return bytesFromTypedFields(t, count, bytes, error);
}

std::string oneLineMessage(llvm::StringRef message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += "0123456789abcdef"[u >> 4];
      out += "0123456789abcdef"[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

bool loadModelProto(llvm::StringRef path, onnx::ModelProto &model, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/true);
  if (!buffer) {
    error = "cannot read '" + path.str() + "': " + buffer.getError().message();
    return false;
  }
  llvm::StringRef data = (*buffer)->getBuffer();
  bool text = path.ends_with(".onnxtxt");
  if (data.empty() || (text && data.trim().empty())) {
    error = "'" + path.str() + "' is empty";
    return false;
  }
  if (text) {
    std::string message;
    if (parseOnnxText(data.data(), model, message))
      return true;
    error = "cannot parse ONNX text '" + path.str() + "': " + message;
    return false;
  }
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    error = "'" + path.str() + "' is larger than 2 GiB: store large weights as external data";
    return false;
  }
  google::protobuf::io::ArrayInputStream raw(data.data(), static_cast<int>(data.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    error = "'" + path.str() + "' is not a valid ONNX protobuf (truncated or corrupt)";
    return false;
  }
  return true;
}

} // namespace mpc
