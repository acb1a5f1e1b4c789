#include "core/plan_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "core/byte_io.h"

namespace mpc::rt {

using namespace plan;

void PlanWriter::recordError(std::string message) {
  if (firstError_.isOk()) firstError_ = Status(StatusCode::kInvalidArgument, std::move(message));
}

int32_t PlanWriter::addTensor(std::string name, DType dtype, std::vector<int64_t> shape, Storage storage,
                              const void *initData) {
  int32_t id = static_cast<int32_t>(tensors_.size());
  std::string where = "PlanWriter: tensor '" + name + "' (#" + std::to_string(id) + ")";
  PlanTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.storage = storage;
  t.dims = std::move(shape);
  std::vector<uint8_t> bytes;
  if (!isValidDType(static_cast<uint8_t>(dtype))) {
    recordError(where + ": invalid dtype code " + std::to_string(static_cast<int>(dtype)));
  } else if (static_cast<uint8_t>(storage) >= kNumStorage) {
    recordError(where + ": invalid storage class " + std::to_string(static_cast<int>(storage)));
  } else if (t.dims.size() > static_cast<size_t>(kMaxRank)) {
    recordError(where + ": rank " + std::to_string(t.dims.size()) + " exceeds " + std::to_string(kMaxRank));
  } else if (!tensorBytes(dtype, t.dims, &t.nbytes)) {
    recordError(where + ": shape " + describeType(dtype, t.dims) + " has a negative dim or its size overflows");
  } else if (storage == Storage::kConstant && !initData) {
    recordError(where + ": a constant needs initial data");
  } else if (initData && storage != Storage::kConstant && storage != Storage::kState) {
    recordError(where + ": only constants and state tensors take initial data, not " +
                std::string(storageName(storage)) + " tensors");
  } else if (initData) {
    const auto *p = static_cast<const uint8_t *>(initData);
    bytes.assign(p, p + t.nbytes);
  }
  tensors_.push_back(std::move(t));
  hasInit_.push_back(initData != nullptr);
  initData_.push_back(std::move(bytes));
  return id;
}

void PlanWriter::addKernel(std::string op, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
                           std::vector<Attr> attrs, std::string location) {
  PlanKernel k;
  k.op = std::move(op);
  k.location = std::move(location);
  k.inputs = std::move(inputs);
  k.outputs = std::move(outputs);
  for (size_t a = 0; a < attrs.size(); ++a)
    for (size_t b = 0; b < a; ++b)
      if (attrs[a].name == attrs[b].name)
        recordError("PlanWriter: " + describeKernel(k, kernels_.size()) + ": attribute '" + attrs[a].name +
                    "' given twice");
  k.attrs = Attrs(std::move(attrs));
  kernels_.push_back(std::move(k));
}

void PlanWriter::bindInput(std::string name, int32_t tensor) { inputs_.push_back({std::move(name), tensor}); }
void PlanWriter::bindOutput(std::string name, int32_t tensor) { outputs_.push_back({std::move(name), tensor}); }

Status PlanWriter::writeToBuffer(std::vector<uint8_t> *out) {
  if (!out) return Status(StatusCode::kInvalidArgument, "PlanWriter::writeToBuffer: null output");
  std::vector<uint8_t> bytes;
  MPC_RETURN_IF_ERROR(build(&bytes));
  MPC_RETURN_IF_ERROR(forEachDataChunk([&](const uint8_t *p, size_t n) {
    bytes.insert(bytes.end(), p, p + n);
    return Status::ok();
  }));
  *out = std::move(bytes);
  return Status::ok();
}

namespace {

// Deduplicating string table.
class StringTable {
public:
  uint32_t intern(const std::string &s) {
    auto [it, inserted] = index_.emplace(s, static_cast<uint32_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string> &strings() const { return strings_; }

private:
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::string> strings_;
};

void encodeAttr(ByteWriter &w, StringTable &st, const Attr &a) {
  w.u32(st.intern(a.name));
  w.u8(static_cast<uint8_t>(a.value.index()));  // AttrKind follows the variant order
  switch (static_cast<AttrKind>(a.value.index())) {
  case AttrKind::kInt: w.i64(std::get<int64_t>(a.value)); break;
  case AttrKind::kFloat: w.f64(std::get<double>(a.value)); break;
  case AttrKind::kString: w.u32(st.intern(std::get<std::string>(a.value))); break;
  case AttrKind::kInts: {
    const auto &v = std::get<std::vector<int64_t>>(a.value);
    w.u32(static_cast<uint32_t>(v.size()));
    for (int64_t x : v) w.i64(x);
    break;
  }
  case AttrKind::kFloats: {
    const auto &v = std::get<std::vector<double>>(a.value);
    w.u32(static_cast<uint32_t>(v.size()));
    for (double x : v) w.f64(x);
    break;
  }
  }
}

}  // namespace

Status PlanWriter::build(std::vector<uint8_t> *metadata) {
  MPC_RETURN_IF_ERROR(firstError_);
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].name.empty())
      return Status(StatusCode::kInvalidArgument, "PlanWriter: tensor #" + std::to_string(i) + " has an empty name");
  for (size_t k = 0; k < kernels_.size(); ++k) {
    const PlanKernel &kern = kernels_[k];
    if (kern.inputs.size() > kMaxKernelOperands || kern.outputs.size() > kMaxKernelOperands)
      return Status(StatusCode::kInvalidArgument, "PlanWriter: " + describeKernel(kern, k) + ": too many operands");
    for (const Attr &a : kern.attrs.all()) {
      size_t n = 0;
      if (auto *v = std::get_if<std::vector<int64_t>>(&a.value)) n = v->size();
      if (auto *v = std::get_if<std::vector<double>>(&a.value)) n = v->size();
      if (n > kMaxAttrElements)
        return Status(StatusCode::kInvalidArgument,
                      "PlanWriter: " + describeKernel(kern, k) + ": attribute '" + a.name + "' has too many elements");
    }
  }
  // Every state tensor is a named state.
  std::vector<PlanBinding> states;
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].storage == Storage::kState) states.push_back({tensors_[i].name, static_cast<int32_t>(i)});
  Status s = validateGraph(tensors_, kernels_, inputs_, outputs_, states, StatusCode::kInvalidArgument);
  if (!s.isOk()) return Status(s.code(), "PlanWriter: " + s.message());

  planActivationMemory(tensors_, kernels_, outputs_, &memoryPlan_);

  // State arena and data section layout.
  uint64_t stateBytes = 0, dataBytes = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    PlanTensor &t = tensors_[i];
    t.dataOffset = kNoData;
    if (t.storage == Storage::kState) {
      t.arenaOffset = stateBytes;
      stateBytes += alignUp(t.nbytes, kDataAlignment);
    }
    if (t.storage == Storage::kConstant) t.arenaOffset = 0;
    if (hasInit_[i]) {
      t.dataOffset = dataBytes;
      dataBytes += alignUp(t.nbytes, kDataAlignment);
    }
  }
  uint64_t arenas = 0;
  if (memoryLimit_ && (addOverflows(memoryPlan_.arenaBytes, stateBytes, &arenas) || arenas > memoryLimit_))
    return Status(StatusCode::kOutOfMemory,
                  "the plan needs " + std::to_string(memoryPlan_.arenaBytes) + " bytes of activation arena and " +
                      std::to_string(stateBytes) + " bytes of state, more than the limit of " +
                      std::to_string(memoryLimit_) + " bytes");

  StringTable st;
  ByteWriter tensorsSec, kernelsSec, bindingsSec, stringsSec;
  tensorsSec.u32(static_cast<uint32_t>(tensors_.size()));
  for (const PlanTensor &t : tensors_) {
    tensorsSec.u32(st.intern(t.name));
    tensorsSec.u8(static_cast<uint8_t>(t.dtype));
    tensorsSec.u8(static_cast<uint8_t>(t.storage));
    tensorsSec.u8(static_cast<uint8_t>(t.dims.size()));
    tensorsSec.u8(0);
    for (int64_t d : t.dims) tensorsSec.i64(d);
    tensorsSec.u64(t.arenaOffset);
    tensorsSec.u64(t.dataOffset);
    tensorsSec.u64(t.nbytes);
  }
  kernelsSec.u32(static_cast<uint32_t>(kernels_.size()));
  for (const PlanKernel &k : kernels_) {
    kernelsSec.u32(st.intern(k.op));
    kernelsSec.u32(st.intern(k.location));
    kernelsSec.u32(static_cast<uint32_t>(k.inputs.size()));
    for (int32_t id : k.inputs) kernelsSec.i32(id);
    kernelsSec.u32(static_cast<uint32_t>(k.outputs.size()));
    for (int32_t id : k.outputs) kernelsSec.i32(id);
    kernelsSec.u32(static_cast<uint32_t>(k.attrs.all().size()));
    for (const Attr &a : k.attrs.all()) encodeAttr(kernelsSec, st, a);
  }
  for (const std::vector<PlanBinding> *list : {&inputs_, &outputs_, &states}) {
    bindingsSec.u32(static_cast<uint32_t>(list->size()));
    for (const PlanBinding &b : *list) {
      bindingsSec.u32(st.intern(b.name));
      bindingsSec.i32(b.tensor);
    }
  }
  stringsSec.u32(static_cast<uint32_t>(st.strings().size()));
  for (const std::string &str : st.strings()) {
    if (str.size() > kMaxStringBytes)
      return Status(StatusCode::kInvalidArgument, "PlanWriter: a name or string attribute is longer than " +
                                                      std::to_string(kMaxStringBytes) + " bytes");
    stringsSec.u32(static_cast<uint32_t>(str.size()));
    stringsSec.bytes(str.data(), str.size());
  }

  // Header, section table, metadata, padding, data.
  const uint64_t tableOffset = kHeaderSize;
  const uint32_t numSections = 5;
  uint64_t cursor = tableOffset + numSections * kSectionEntrySize;
  struct Entry {
    SectionKind kind;
    ByteWriter *body;
    uint64_t offset, size;
  };
  Entry entries[4] = {{SectionKind::kStrings, &stringsSec, 0, 0},
                      {SectionKind::kTensors, &tensorsSec, 0, 0},
                      {SectionKind::kKernels, &kernelsSec, 0, 0},
                      {SectionKind::kBindings, &bindingsSec, 0, 0}};
  for (Entry &e : entries) {
    e.offset = cursor;
    e.size = e.body->size();
    cursor = alignUp(cursor + e.size, 8);
  }
  const uint64_t dataOffset = alignUp(cursor, kDataFileAlignment);
  const uint64_t fileSize = dataOffset + dataBytes;

  ByteWriter w;
  w.bytes(kMagic, sizeof(kMagic));
  w.u32(kVersionMajor);
  w.u32(kVersionMinor);
  w.u32(static_cast<uint32_t>(kHeaderSize));
  w.u32(numSections);
  w.u64(tableOffset);
  w.u64(fileSize);
  w.u64(0);  // metadata checksum, patched below
  w.u64(0);  // data checksum, patched below
  w.u64(memoryPlan_.arenaBytes);
  w.u64(stateBytes);
  w.zeros(kHeaderSize - w.size());
  for (const Entry &e : entries) {
    w.u32(static_cast<uint32_t>(e.kind));
    w.u32(0);
    w.u64(e.offset);
    w.u64(e.size);
  }
  w.u32(static_cast<uint32_t>(SectionKind::kData));
  w.u32(0);
  w.u64(dataOffset);
  w.u64(dataBytes);
  for (const Entry &e : entries) {
    w.zeros(e.offset - w.size());
    w.bytes(e.body->buffer().data(), e.size);
  }
  w.zeros(dataOffset - w.size());

  uint64_t dataChecksum = kFnvOffset;
  forEachDataChunk([&](const uint8_t *p, size_t n) {
    dataChecksum = fnv1a64(p, n, dataChecksum);
    return Status::ok();
  });
  w.patchU64(hdr::kDataChecksum, dataChecksum);
  w.patchU64(hdr::kMetadataChecksum, metadataChecksum(w.buffer().data(), dataOffset));
  *metadata = std::move(w.buffer());
  return Status::ok();
}

Status PlanWriter::forEachDataChunk(const std::function<Status(const uint8_t *, size_t)> &emit) const {
  // Data offsets were assigned in tensor order, so this walks the section
  // front to back; padding between tensors is < 64 zero bytes.
  static const uint8_t zeros[kDataAlignment] = {};
  uint64_t pos = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (!hasInit_[i]) continue;
    if (tensors_[i].dataOffset > pos) MPC_RETURN_IF_ERROR(emit(zeros, tensors_[i].dataOffset - pos));
    if (!initData_[i].empty()) MPC_RETURN_IF_ERROR(emit(initData_[i].data(), initData_[i].size()));
    pos = tensors_[i].dataOffset + initData_[i].size();
  }
  uint64_t end = alignUp(pos, kDataAlignment);
  if (end > pos) MPC_RETURN_IF_ERROR(emit(zeros, end - pos));
  return Status::ok();
}

namespace {

Status writeAll(int fd, const uint8_t *p, size_t n, const std::string &path) {
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return Status(StatusCode::kIOError, "cannot write plan '" + path + "': " + std::strerror(errno));
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return Status::ok();
}

}  // namespace

Status PlanWriter::write(const std::string &path) {
  // Only the metadata is assembled in memory; the data section is streamed
  // from the tensors' initial values (weights may be many gigabytes).
  std::vector<uint8_t> metadata;
  MPC_RETURN_IF_ERROR(build(&metadata));
  // Write next to the target and rename, so a reader never sees half a plan
  // and a crash leaves the old file intact.
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status(StatusCode::kIOError, "cannot create '" + tmp + "': " + std::strerror(errno));
  Status s = writeAll(fd, metadata.data(), metadata.size(), tmp);
  if (s.isOk())
    s = forEachDataChunk([&](const uint8_t *p, size_t n) { return writeAll(fd, p, n, tmp); });
  if (s.isOk() && ::fsync(fd) != 0)
    s = Status(StatusCode::kIOError, "cannot sync '" + tmp + "': " + std::strerror(errno));
  if (::close(fd) != 0 && s.isOk())
    s = Status(StatusCode::kIOError, "cannot close '" + tmp + "': " + std::strerror(errno));
  if (s.isOk() && std::rename(tmp.c_str(), path.c_str()) != 0)
    s = Status(StatusCode::kIOError, "cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  if (!s.isOk()) std::remove(tmp.c_str());
  return s;
}

}  // namespace mpc::rt
