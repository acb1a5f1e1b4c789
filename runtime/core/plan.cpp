// Plan loader: maps the file and validates every field before anything uses it.
#include "core/plan.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/byte_io.h"

namespace mpc::rt {

using namespace plan;

// ---------------------------------------------------------------------------
// Shared helpers

std::string describeType(DType dtype, const std::vector<int64_t> &dims) {
  std::string s(dtypeName(dtype));
  s += '[';
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(dims[i]);
  }
  return s + ']';
}

std::string describeTensor(const std::vector<PlanTensor> &tensors, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= tensors.size()) return "tensor #" + std::to_string(id);
  return "tensor '" + tensors[id].name + "' (#" + std::to_string(id) + ")";
}

std::string describeKernel(const PlanKernel &k, size_t index) {
  return "kernel #" + std::to_string(index) + " '" + k.op + "' at '" + k.location + "'";
}

bool tensorBytes(DType dtype, const std::vector<int64_t> &dims, uint64_t *nbytes) {
  uint64_t n = dtypeSize(dtype);
  for (int64_t d : dims) {
    if (d < 0 || mulOverflows(n, static_cast<uint64_t>(d), &n)) return false;
  }
  // Keep sizes representable as int64 (TensorView::numel) and as size_t.
  if (n > (uint64_t{1} << 62)) return false;
  *nbytes = n;
  return true;
}

Status validateGraph(const std::vector<PlanTensor> &tensors, const std::vector<PlanKernel> &kernels,
                     const std::vector<PlanBinding> &inputs, const std::vector<PlanBinding> &outputs,
                     const std::vector<PlanBinding> &states, StatusCode code) {
  const size_t n = tensors.size();
  auto inRange = [&](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n; };
  // An activation is defined when a kernel writes it; everything else is
  // defined from the start.
  std::vector<char> defined(n, 0);
  for (size_t i = 0; i < n; ++i) defined[i] = tensors[i].storage != Storage::kActivation;
  // Per tensor: the last kernel that listed it as an input / output, so the
  // duplicate checks stay linear even for kernels with many operands.
  std::vector<int64_t> inputOf(n, -1), outputOf(n, -1);

  for (size_t k = 0; k < kernels.size(); ++k) {
    const PlanKernel &kern = kernels[k];
    if (kern.op.empty()) return Status(code, describeKernel(kern, k) + ": empty op name");
    if (kern.outputs.empty()) return Status(code, describeKernel(kern, k) + ": has no outputs");
    for (size_t j = 0; j < kern.inputs.size(); ++j) {
      int32_t id = kern.inputs[j];
      if (!inRange(id))
        return Status(code, describeKernel(kern, k) + ": input " + std::to_string(j) + " refers to tensor #" +
                                std::to_string(id) + ", out of range (plan has " + std::to_string(n) + " tensors)");
      if (!defined[id])
        return Status(code, describeKernel(kern, k) + ": input " + std::to_string(j) + " " +
                                describeTensor(tensors, id) + " is used before any kernel defines it");
      inputOf[id] = static_cast<int64_t>(k);
    }
    for (size_t j = 0; j < kern.outputs.size(); ++j) {
      int32_t id = kern.outputs[j];
      if (!inRange(id))
        return Status(code, describeKernel(kern, k) + ": output " + std::to_string(j) + " refers to tensor #" +
                                std::to_string(id) + ", out of range (plan has " + std::to_string(n) + " tensors)");
      const PlanTensor &t = tensors[id];
      if (t.storage == Storage::kConstant || t.storage == Storage::kInput)
        return Status(code, describeKernel(kern, k) + ": output " + std::to_string(j) + " " +
                                describeTensor(tensors, id) + " has " + std::string(storageName(t.storage)) +
                                " storage and cannot be written");
      if (outputOf[id] == static_cast<int64_t>(k))
        return Status(code, describeKernel(kern, k) + ": " + describeTensor(tensors, id) +
                                " appears twice among the outputs");
      outputOf[id] = static_cast<int64_t>(k);
      if (t.storage == Storage::kActivation) {
        if (defined[id])
          return Status(code, describeKernel(kern, k) + ": " + describeTensor(tensors, id) +
                                  " is already defined by an earlier kernel (activations are written once)");
        if (inputOf[id] == static_cast<int64_t>(k))
          return Status(code, describeKernel(kern, k) + ": " + describeTensor(tensors, id) +
                                  " is both an input and an output");
      }
    }
    for (int32_t id : kern.outputs) defined[id] = 1;
  }

  auto checkBindings = [&](const std::vector<PlanBinding> &list, const char *what) -> Status {
    std::unordered_set<std::string> names;
    for (const PlanBinding &b : list) {
      if (b.name.empty()) return Status(code, std::string(what) + " binding with an empty name");
      if (!names.insert(b.name).second) return Status(code, std::string(what) + " name '" + b.name + "' is bound twice");
      if (!inRange(b.tensor))
        return Status(code, std::string(what) + " '" + b.name + "' refers to tensor #" + std::to_string(b.tensor) +
                                ", out of range (plan has " + std::to_string(n) + " tensors)");
    }
    return Status::ok();
  };
  MPC_RETURN_IF_ERROR(checkBindings(inputs, "input"));
  MPC_RETURN_IF_ERROR(checkBindings(outputs, "output"));
  MPC_RETURN_IF_ERROR(checkBindings(states, "state"));

  std::vector<char> boundInput(n, 0);
  for (const PlanBinding &b : inputs) {
    if (tensors[b.tensor].storage != Storage::kInput)
      return Status(code, "input '" + b.name + "' is bound to " + describeTensor(tensors, b.tensor) + ", a " +
                              std::string(storageName(tensors[b.tensor].storage)) + " tensor, not an input");
    if (boundInput[b.tensor])
      return Status(code, "input '" + b.name + "': " + describeTensor(tensors, b.tensor) + " is bound twice");
    boundInput[b.tensor] = 1;
  }
  for (size_t i = 0; i < n; ++i)
    if (tensors[i].storage == Storage::kInput && !boundInput[i])
      return Status(code, describeTensor(tensors, static_cast<int32_t>(i)) +
                              " has input storage but no input binding");
  for (const PlanBinding &b : states)
    if (tensors[b.tensor].storage != Storage::kState)
      return Status(code, "state '" + b.name + "' is bound to " + describeTensor(tensors, b.tensor) + ", a " +
                              std::string(storageName(tensors[b.tensor].storage)) + " tensor, not a state");
  for (const PlanBinding &b : outputs)
    if (!defined[b.tensor])
      return Status(code, "output '" + b.name + "' is " + describeTensor(tensors, b.tensor) +
                              ", which no kernel defines");
  return Status::ok();
}

// ---------------------------------------------------------------------------
// Loader

namespace {

class Parser {
public:
  Parser(const std::string &source) : source_(source) {}
  Status fail(const std::string &what) const { return Status(StatusCode::kInvalidPlan, "invalid plan '" + source_ + "': " + what); }

private:
  const std::string &source_;
};

struct Section {
  uint64_t offset = 0, size = 0;
  bool present = false;
};

const char *sectionName(uint32_t kind) {
  switch (static_cast<SectionKind>(kind)) {
  case SectionKind::kStrings: return "strings";
  case SectionKind::kTensors: return "tensors";
  case SectionKind::kKernels: return "kernels";
  case SectionKind::kBindings: return "bindings";
  case SectionKind::kData: return "data";
  }
  return "unknown";
}

}  // namespace

void Plan::FreeDeleter::operator()(void *p) const { std::free(p); }

Plan::~Plan() {
  if (mapBase_) munmap(mapBase_, mapSize_);
}

Status Plan::load(const std::string &path, const LoadOptions &options, std::shared_ptr<const Plan> *out) {
  if (!out) return Status(StatusCode::kInvalidArgument, "Plan::load: null output pointer");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIOError,
                  "cannot open plan '" + path + "': " + std::strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(StatusCode::kIOError, "plan '" + path + "' is not a regular file");
  }
  std::shared_ptr<Plan> p(new Plan());
  p->source_ = path;
  p->fileSize_ = static_cast<size_t>(st.st_size);
  if (p->fileSize_ > 0) {
    void *base = mmap(nullptr, p->fileSize_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return Status(StatusCode::kIOError, "cannot map plan '" + path + "': " + std::strerror(err));
    }
    p->mapBase_ = base;
    p->mapSize_ = p->fileSize_;
    p->file_ = static_cast<const uint8_t *>(base);
  }
  ::close(fd);  // the mapping stays valid
  MPC_RETURN_IF_ERROR(p->parse(options));
  *out = std::move(p);
  return Status::ok();
}

Status Plan::loadFromBuffer(const void *data, size_t size, const LoadOptions &options,
                            std::shared_ptr<const Plan> *out) {
  if (!out || (!data && size)) return Status(StatusCode::kInvalidArgument, "Plan::loadFromBuffer: null pointer");
  std::shared_ptr<Plan> p(new Plan());
  p->source_ = "<buffer>";
  // A 64-byte aligned copy: tensors in the data section then have the same
  // alignment as when the file is mapped.
  void *copy = nullptr;
  if (posix_memalign(&copy, kDataAlignment, size ? size : 1) != 0 || !copy)
    return Status(StatusCode::kOutOfMemory, "cannot copy a plan of " + std::to_string(size) + " bytes");
  if (size) std::memcpy(copy, data, size);
  p->owned_.reset(static_cast<uint8_t *>(copy));
  p->file_ = p->owned_.get();
  p->fileSize_ = size;
  MPC_RETURN_IF_ERROR(p->parse(options));
  *out = std::move(p);
  return Status::ok();
}

int32_t Plan::findInput(const std::string &name) const {
  for (const PlanBinding &b : inputs_)
    if (b.name == name) return b.tensor;
  return -1;
}
int32_t Plan::findOutput(const std::string &name) const {
  for (const PlanBinding &b : outputs_)
    if (b.name == name) return b.tensor;
  return -1;
}
int32_t Plan::findState(const std::string &name) const {
  for (const PlanBinding &b : states_)
    if (b.name == name) return b.tensor;
  return -1;
}

namespace {

// Reads the sections of one plan; every failure names the section and record.
class SectionParser {
public:
  SectionParser(const Parser &p, const uint8_t *file) : p_(p), file_(file) {}

  Status strings(const Section &s, std::vector<std::string> *out) {
    ByteReader r(file_ + s.offset, s.size);
    uint32_t count;
    if (!r.u32(&count)) return p_.fail("strings section: truncated count");
    if (count > r.remaining() / 4) return p_.fail("strings section: count " + std::to_string(count) + " exceeds section size");
    out->reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t len;
      const uint8_t *bytes;
      if (!r.u32(&len) || len > kMaxStringBytes || !r.bytes(len, &bytes))
        return p_.fail("strings section: string #" + std::to_string(i) + " is truncated or too long");
      out->emplace_back(reinterpret_cast<const char *>(bytes), len);
    }
    if (!r.atEnd()) return p_.fail("strings section: " + std::to_string(r.remaining()) + " trailing bytes");
    return Status::ok();
  }

  Status string(ByteReader &r, const std::vector<std::string> &strings, const std::string &field, std::string *out) {
    uint32_t idx;
    if (!r.u32(&idx)) return p_.fail(field + ": truncated");
    if (idx >= strings.size())
      return p_.fail(field + ": string index " + std::to_string(idx) + " out of range (" +
                     std::to_string(strings.size()) + " strings)");
    *out = strings[idx];
    return Status::ok();
  }

  Status tensors(const Section &s, const std::vector<std::string> &strings, std::vector<PlanTensor> *out) {
    ByteReader r(file_ + s.offset, s.size);
    uint32_t count;
    if (!r.u32(&count)) return p_.fail("tensors section: truncated count");
    if (count > r.remaining() / 32 || count > uint32_t{INT32_MAX})
      return p_.fail("tensors section: count " + std::to_string(count) + " exceeds section size");
    out->resize(count);
    for (uint32_t i = 0; i < count; ++i) {
      PlanTensor &t = (*out)[i];
      std::string where = "tensor #" + std::to_string(i);
      MPC_RETURN_IF_ERROR(string(r, strings, where + " name", &t.name));
      where = "tensor '" + t.name + "' (#" + std::to_string(i) + ")";
      uint8_t dtype, storage, rank, reserved;
      if (!r.u8(&dtype) || !r.u8(&storage) || !r.u8(&rank) || !r.u8(&reserved)) return p_.fail(where + ": truncated");
      if (!isValidDType(dtype)) return p_.fail(where + ": invalid dtype code " + std::to_string(dtype));
      if (storage >= kNumStorage) return p_.fail(where + ": invalid storage class " + std::to_string(storage));
      if (rank > kMaxRank) return p_.fail(where + ": rank " + std::to_string(rank) + " exceeds " + std::to_string(kMaxRank));
      if (reserved != 0) return p_.fail(where + ": reserved byte is " + std::to_string(reserved) + ", expected 0");
      t.dtype = static_cast<DType>(dtype);
      t.storage = static_cast<Storage>(storage);
      t.dims.resize(rank);
      for (auto &d : t.dims)
        if (!r.i64(&d)) return p_.fail(where + ": truncated dims");
      if (!r.u64(&t.arenaOffset) || !r.u64(&t.dataOffset) || !r.u64(&t.nbytes)) return p_.fail(where + ": truncated offsets");
    }
    if (!r.atEnd()) return p_.fail("tensors section: " + std::to_string(r.remaining()) + " trailing bytes");
    return Status::ok();
  }

  Status ids(ByteReader &r, const std::string &field, std::vector<int32_t> *out) {
    uint32_t n;
    if (!r.u32(&n)) return p_.fail(field + ": truncated count");
    if (n > kMaxKernelOperands || n > r.remaining() / 4) return p_.fail(field + ": count " + std::to_string(n) + " is out of range");
    out->resize(n);
    for (auto &id : *out)
      if (!r.i32(&id)) return p_.fail(field + ": truncated");
    return Status::ok();
  }

  Status attr(ByteReader &r, const std::vector<std::string> &strings, const std::string &where, Attr *a) {
    MPC_RETURN_IF_ERROR(string(r, strings, where + " attribute name", &a->name));
    std::string field = where + " attribute '" + a->name + "'";
    uint8_t kind;
    if (!r.u8(&kind)) return p_.fail(field + ": truncated");
    switch (static_cast<AttrKind>(kind)) {
    case AttrKind::kInt: {
      int64_t v;
      if (!r.i64(&v)) return p_.fail(field + ": truncated");
      a->value = v;
      return Status::ok();
    }
    case AttrKind::kFloat: {
      double v;
      if (!r.f64(&v)) return p_.fail(field + ": truncated");
      a->value = v;
      return Status::ok();
    }
    case AttrKind::kString: {
      std::string v;
      MPC_RETURN_IF_ERROR(string(r, strings, field, &v));
      a->value = std::move(v);
      return Status::ok();
    }
    case AttrKind::kInts:
    case AttrKind::kFloats: {
      uint32_t n;
      if (!r.u32(&n)) return p_.fail(field + ": truncated count");
      if (n > kMaxAttrElements || n > r.remaining() / 8) return p_.fail(field + ": count " + std::to_string(n) + " is out of range");
      if (static_cast<AttrKind>(kind) == AttrKind::kInts) {
        std::vector<int64_t> v(n);
        for (auto &x : v) r.i64(&x);  // bounds checked above
        a->value = std::move(v);
      } else {
        std::vector<double> v(n);
        for (auto &x : v) r.f64(&x);
        a->value = std::move(v);
      }
      return Status::ok();
    }
    }
    return p_.fail(field + ": invalid attribute kind " + std::to_string(kind));
  }

  Status kernels(const Section &s, const std::vector<std::string> &strings, std::vector<PlanKernel> *out) {
    ByteReader r(file_ + s.offset, s.size);
    uint32_t count;
    if (!r.u32(&count)) return p_.fail("kernels section: truncated count");
    if (count > r.remaining() / 20) return p_.fail("kernels section: count " + std::to_string(count) + " exceeds section size");
    out->resize(count);
    for (uint32_t i = 0; i < count; ++i) {
      PlanKernel &k = (*out)[i];
      std::string where = "kernel #" + std::to_string(i);
      MPC_RETURN_IF_ERROR(string(r, strings, where + " op", &k.op));
      MPC_RETURN_IF_ERROR(string(r, strings, where + " location", &k.location));
      where = describeKernel(k, i);
      MPC_RETURN_IF_ERROR(ids(r, where + " inputs", &k.inputs));
      MPC_RETURN_IF_ERROR(ids(r, where + " outputs", &k.outputs));
      uint32_t nattrs;
      if (!r.u32(&nattrs)) return p_.fail(where + ": truncated attribute count");
      if (nattrs > r.remaining() / 5) return p_.fail(where + ": attribute count " + std::to_string(nattrs) + " is out of range");
      std::vector<Attr> attrs(nattrs);
      for (Attr &a : attrs) MPC_RETURN_IF_ERROR(attr(r, strings, where, &a));
      std::unordered_set<std::string> names;
      for (const Attr &a : attrs)
        if (!names.insert(a.name).second) return p_.fail(where + ": attribute '" + a.name + "' appears twice");
      k.attrs = Attrs(std::move(attrs));
    }
    if (!r.atEnd()) return p_.fail("kernels section: " + std::to_string(r.remaining()) + " trailing bytes");
    return Status::ok();
  }

  Status bindings(const Section &s, const std::vector<std::string> &strings, std::vector<PlanBinding> *inputs,
                  std::vector<PlanBinding> *outputs, std::vector<PlanBinding> *states) {
    ByteReader r(file_ + s.offset, s.size);
    const char *names[3] = {"input", "output", "state"};
    std::vector<PlanBinding> *lists[3] = {inputs, outputs, states};
    for (int l = 0; l < 3; ++l) {
      uint32_t count;
      if (!r.u32(&count)) return p_.fail(std::string("bindings section: truncated ") + names[l] + " count");
      if (count > r.remaining() / 8) return p_.fail(std::string("bindings section: ") + names[l] + " count " + std::to_string(count) + " exceeds section size");
      lists[l]->resize(count);
      for (uint32_t i = 0; i < count; ++i) {
        PlanBinding &b = (*lists[l])[i];
        std::string where = std::string(names[l]) + " binding #" + std::to_string(i);
        MPC_RETURN_IF_ERROR(string(r, strings, where + " name", &b.name));
        if (!r.i32(&b.tensor)) return p_.fail(where + ": truncated");
      }
    }
    if (!r.atEnd()) return p_.fail("bindings section: " + std::to_string(r.remaining()) + " trailing bytes");
    return Status::ok();
  }

private:
  const Parser &p_;
  const uint8_t *file_;
};

}  // namespace

Status Plan::parse(const LoadOptions &options) {
  Parser p(source_);
  if (fileSize_ < kHeaderSize)
    return p.fail("file is " + std::to_string(fileSize_) + " bytes, smaller than the " + std::to_string(kHeaderSize) +
                  "-byte header (truncated or not a plan)");
  if (std::memcmp(file_, kMagic, sizeof(kMagic)) != 0) return p.fail("bad magic (not an mpc plan file)");
  versionMajor_ = loadU32LE(file_ + hdr::kVersionMajor);
  versionMinor_ = loadU32LE(file_ + hdr::kVersionMinor);
  if (versionMajor_ != kVersionMajor)
    return p.fail("format version " + std::to_string(versionMajor_) + "." + std::to_string(versionMinor_) +
                  " is not supported (this runtime reads " + std::to_string(kVersionMajor) + ".x)");
  uint32_t headerSize = loadU32LE(file_ + hdr::kHeaderSize);
  if (headerSize != kHeaderSize) return p.fail("header size " + std::to_string(headerSize) + ", expected " + std::to_string(kHeaderSize));
  uint64_t declaredSize = loadU64LE(file_ + hdr::kFileSize);
  if (declaredSize != fileSize_)
    return p.fail("file is " + std::to_string(fileSize_) + " bytes but its header says " + std::to_string(declaredSize) +
                  (fileSize_ < declaredSize ? " (truncated)" : ""));
  for (size_t i = 72; i < kHeaderSize; ++i)
    if (file_[i] != 0) return p.fail("reserved header byte " + std::to_string(i) + " is not zero");

  uint32_t numSections = loadU32LE(file_ + hdr::kNumSections);
  uint64_t tableOffset = loadU64LE(file_ + hdr::kSectionTableOffset);
  if (numSections > kMaxSections) return p.fail("section count " + std::to_string(numSections) + " exceeds " + std::to_string(kMaxSections));
  uint64_t tableEnd;
  if (tableOffset < kHeaderSize || addOverflows(tableOffset, uint64_t{numSections} * kSectionEntrySize, &tableEnd) ||
      tableEnd > fileSize_)
    return p.fail("section table offset " + std::to_string(tableOffset) + " is out of bounds");

  // Verify the checksum as early as the data section's start is known, so a
  // flipped bit is reported as corruption rather than as whichever field it hit.
  for (uint32_t i = 0; i < numSections; ++i) {
    const uint8_t *e = file_ + tableOffset + uint64_t{i} * kSectionEntrySize;
    uint64_t off = loadU64LE(e + 8);
    if (loadU32LE(e) != static_cast<uint32_t>(SectionKind::kData) || off < tableEnd || off > fileSize_) continue;
    if (loadU64LE(file_ + hdr::kMetadataChecksum) != metadataChecksum(file_, off))
      return p.fail("metadata checksum mismatch (the file is corrupt)");
    break;
  }

  Section sections[6];
  for (uint32_t i = 0; i < numSections; ++i) {
    const uint8_t *e = file_ + tableOffset + uint64_t{i} * kSectionEntrySize;
    uint32_t kind = loadU32LE(e);
    uint32_t reserved = loadU32LE(e + 4);
    uint64_t off = loadU64LE(e + 8), size = loadU64LE(e + 16), end;
    std::string where = "section #" + std::to_string(i) + " (" + sectionName(kind) + ")";
    if (kind < 1 || kind > 5) {
      if (versionMinor_ > kVersionMinor) continue;  // a newer compatible writer's addition
      return p.fail(where + ": unknown section kind " + std::to_string(kind));
    }
    if (reserved != 0) return p.fail(where + ": reserved field is not zero");
    if (sections[kind].present) return p.fail(where + ": appears twice");
    if (off < tableEnd || addOverflows(off, size, &end) || end > fileSize_)
      return p.fail(where + ": offset " + std::to_string(off) + " size " + std::to_string(size) +
                    " is outside the file (" + std::to_string(fileSize_) + " bytes)");
    sections[kind] = {off, size, true};
  }
  for (uint32_t kind = 1; kind <= 5; ++kind)
    if (!sections[kind].present) return p.fail(std::string("missing the ") + sectionName(kind) + " section");
  const Section &data = sections[static_cast<int>(SectionKind::kData)];
  if (data.offset % kDataFileAlignment != 0)
    return p.fail("data section offset " + std::to_string(data.offset) + " is not a multiple of " + std::to_string(kDataFileAlignment));
  for (uint32_t kind = 1; kind <= 4; ++kind)
    if (sections[kind].offset + sections[kind].size > data.offset)
      return p.fail(std::string(sectionName(kind)) + " section overlaps the data section");

  uint64_t want = loadU64LE(file_ + hdr::kMetadataChecksum);
  uint64_t got = metadataChecksum(file_, data.offset);
  if (want != got) return p.fail("metadata checksum mismatch (the file is corrupt)");
  if (options.verifyData && fnv1a64(file_ + data.offset, data.size) != loadU64LE(file_ + hdr::kDataChecksum))
    return p.fail("data section checksum mismatch (constants or initial state are corrupt)");

  activationArenaBytes_ = loadU64LE(file_ + hdr::kActivationArenaBytes);
  stateArenaBytes_ = loadU64LE(file_ + hdr::kStateArenaBytes);
  data_ = file_ + data.offset;
  dataSize_ = data.size;

  SectionParser sp(p, file_);
  std::vector<std::string> strings;
  MPC_RETURN_IF_ERROR(sp.strings(sections[int(SectionKind::kStrings)], &strings));
  MPC_RETURN_IF_ERROR(sp.tensors(sections[int(SectionKind::kTensors)], strings, &tensors_));
  MPC_RETURN_IF_ERROR(sp.kernels(sections[int(SectionKind::kKernels)], strings, &kernels_));
  MPC_RETURN_IF_ERROR(sp.bindings(sections[int(SectionKind::kBindings)], strings, &inputs_, &outputs_, &states_));

  // Every tensor's bytes must lie inside the region it claims.
  uint64_t activationEnd = 0, stateEnd = 0;  // what the tensors need
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PlanTensor &t = tensors_[i];
    std::string where = describeTensor(tensors_, static_cast<int32_t>(i));
    uint64_t nbytes, end;
    if (!tensorBytes(t.dtype, t.dims, &nbytes))
      return p.fail(where + ": shape " + describeType(t.dtype, t.dims) + " has a negative dim or overflows");
    if (nbytes != t.nbytes)
      return p.fail(where + ": nbytes " + std::to_string(t.nbytes) + " does not match " + describeType(t.dtype, t.dims) +
                    " (" + std::to_string(nbytes) + " bytes)");
    bool inArena = t.storage != Storage::kConstant;
    uint64_t arenaSize = t.storage == Storage::kState ? stateArenaBytes_ : activationArenaBytes_;
    const char *arenaName = t.storage == Storage::kState ? "state arena" : "activation arena";
    if (inArena) {
      if (t.arenaOffset % kDataAlignment != 0)
        return p.fail(where + ": " + arenaName + " offset " + std::to_string(t.arenaOffset) + " is not 64-byte aligned");
      if (addOverflows(t.arenaOffset, nbytes, &end) || end > arenaSize)
        return p.fail(where + ": " + arenaName + " range [" + std::to_string(t.arenaOffset) + ", +" + std::to_string(nbytes) +
                      ") exceeds the arena (" + std::to_string(arenaSize) + " bytes)");
      uint64_t &used = t.storage == Storage::kState ? stateEnd : activationEnd;
      used = std::max(used, alignUp(end, kDataAlignment));
    }
    bool needsData = t.storage == Storage::kConstant;
    bool mayHaveData = needsData || t.storage == Storage::kState;
    if (t.dataOffset == kNoData) {
      if (needsData) return p.fail(where + ": constant without data");
      continue;
    }
    if (!mayHaveData) return p.fail(where + ": " + std::string(storageName(t.storage)) + " tensor has a data offset");
    if (t.dataOffset % kDataAlignment != 0)
      return p.fail(where + ": data offset " + std::to_string(t.dataOffset) + " is not 64-byte aligned");
    if (addOverflows(t.dataOffset, nbytes, &end) || end > dataSize_)
      return p.fail(where + ": data range [" + std::to_string(t.dataOffset) + ", +" + std::to_string(nbytes) +
                    ") exceeds the data section (" + std::to_string(dataSize_) + " bytes)");
  }
  // An arena larger than its tensors need would only be a way to make a
  // session allocate (and zero) absurd amounts of memory.
  if (activationArenaBytes_ > activationEnd)
    return p.fail("activation arena size " + std::to_string(activationArenaBytes_) + " exceeds what its tensors need (" +
                  std::to_string(activationEnd) + " bytes)");
  if (stateArenaBytes_ > stateEnd)
    return p.fail("state arena size " + std::to_string(stateArenaBytes_) + " exceeds what its tensors need (" +
                  std::to_string(stateEnd) + " bytes)");
  Status s = validateGraph(tensors_, kernels_, inputs_, outputs_, states_, StatusCode::kInvalidPlan);
  if (!s.isOk()) return p.fail(s.message());
  return Status::ok();
}

}  // namespace mpc::rt
