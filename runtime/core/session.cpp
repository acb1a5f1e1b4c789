#include "core/session.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/backends.h"
#include "core/thread_pool.h"

#include "cpu/register.h"
#include "cuda/context.h"

namespace mpc::rt {

namespace {

// One zeroed, 64-byte aligned allocation (never empty, so views of empty
// tensors still point at valid memory).
Status allocateArena(uint64_t bytes, const char *what, void **out) {
  uint64_t size = plan::alignUp(bytes == 0 ? 64 : bytes, plan::kDataAlignment);
  if (size < bytes || size > SIZE_MAX)
    return Status(StatusCode::kOutOfMemory, std::string("cannot allocate the ") + what + " of " + std::to_string(bytes) + " bytes");
  void *p = nullptr;
  if (posix_memalign(&p, plan::kDataAlignment, static_cast<size_t>(size)) != 0 || !p)
    return Status(StatusCode::kOutOfMemory, std::string("cannot allocate the ") + what + " of " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, static_cast<size_t>(size));
  *out = p;
  return Status::ok();
}

std::string dtypeList(const std::vector<DType> &dtypes, size_t numInputs) {
  std::string s = "(";
  for (size_t i = 0; i < dtypes.size(); ++i) {
    if (i == numInputs) s += ") -> (";
    else if (i) s += ", ";
    s += dtypeName(dtypes[i]);
  }
  if (numInputs == dtypes.size()) s += ") -> (";
  return s + ")";
}

}  // namespace

Session::~Session() {
  if (cuda_) return;  // the context frees its device and pinned allocations
  std::free(activationArena_);
  std::free(stateArena_);
}

Status Session::create(std::shared_ptr<const Plan> plan, const SessionOptions &options,
                       std::unique_ptr<Session> *out) {
  if (!plan || !out) return Status(StatusCode::kInvalidArgument, "Session::create: null plan or output");
  if (options.device != Device::kCPU && options.device != Device::kCUDA)
    return Status(StatusCode::kInvalidArgument, "unknown device code " + std::to_string(static_cast<int>(options.device)));
  if (options.numThreads < 0)
    return Status(StatusCode::kInvalidArgument, "numThreads must be >= 0, got " + std::to_string(options.numThreads));

  std::unique_ptr<Session> s(new Session());
  s->plan_ = std::move(plan);
  s->options_ = options;
  if (!isDeviceAvailable(options.device)) {
    if (options.device == Device::kCUDA)
      return Status(StatusCode::kUnsupported, "device 'cuda' is unavailable: " + cuda::deviceDescription());
    return Status(StatusCode::kUnsupported, "device 'cpu' is unavailable: this libmpcrt was built without the CPU backend");
  }
  registerBuiltinKernels();
  if (options.device == Device::kCUDA) {
    MPC_RETURN_IF_ERROR(s->createCuda());
    MPC_RETURN_IF_ERROR(s->prepareKernels());
    *out = std::move(s);
    return Status::ok();
  }
  int threads = options.numThreads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s->pool_ = std::make_unique<ThreadPool>(threads);
  // OpenBLAS stays on the calling thread; the pool splits GEMMs (cpu/gemm.h).
  setCpuBlasThreads(threads);

  const Plan &p = *s->plan_;
  MPC_RETURN_IF_ERROR(allocateArena(p.activationArenaBytes(), "activation arena", &s->activationArena_));
  MPC_RETURN_IF_ERROR(allocateArena(p.stateArenaBytes(), "state arena", &s->stateArena_));

  // Every offset was validated by the loader, so these pointers are in bounds.
  const auto &tensors = p.tensors();
  s->views_.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const PlanTensor &t = tensors[i];
    TensorView &v = s->views_[i];
    v.dtype = t.dtype;
    v.rank = static_cast<int>(t.dims.size());
    for (int d = 0; d < v.rank; ++d) v.dims[d] = t.dims[d];
    switch (t.storage) {
    case Storage::kActivation:
    case Storage::kInput: v.data = static_cast<uint8_t *>(s->activationArena_) + t.arenaOffset; break;
    case Storage::kState: v.data = static_cast<uint8_t *>(s->stateArena_) + t.arenaOffset; break;
    // Kernels never write constants (validateGraph), so dropping const is safe.
    case Storage::kConstant: v.data = const_cast<uint8_t *>(p.data() + t.dataOffset); break;
    }
  }
  s->resetState();
  s->inputSet_.assign(p.inputs().size(), 0);
  MPC_RETURN_IF_ERROR(s->prepareKernels());
  *out = std::move(s);
  return Status::ok();
}

Status Session::createCuda() {
  cuda::ContextOptions co;
  co.allowTF32 = options_.allowTF32;
  MPC_RETURN_IF_ERROR(cuda::Context::create(co, &cuda_));
  const Plan &p = *plan_;
  const auto &tensors = p.tensors();
  // Constants are packed into one device allocation and the caller-visible
  // tensors into one pinned host allocation, each tensor 64-byte aligned.
  std::vector<uint8_t> bound(tensors.size(), 0);
  for (size_t i = 0; i < tensors.size(); ++i)
    bound[i] = tensors[i].storage == Storage::kInput || tensors[i].storage == Storage::kState;
  for (const PlanBinding &b : p.outputs())
    if (tensors[b.tensor].storage != Storage::kConstant) bound[b.tensor] = 1;
  std::vector<uint64_t> place(tensors.size(), 0);
  uint64_t constBytes = 0, mirrorBytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    uint64_t *total = tensors[i].storage == Storage::kConstant ? &constBytes : bound[i] ? &mirrorBytes : nullptr;
    if (!total) continue;
    place[i] = *total;
    *total = plan::alignUp(*total + tensors[i].nbytes, plan::kDataAlignment);
  }
  void *consts = nullptr, *mirror = nullptr;
  MPC_RETURN_IF_ERROR(cuda_->allocate(p.activationArenaBytes(), "activation arena", &activationArena_));
  MPC_RETURN_IF_ERROR(cuda_->allocate(p.stateArenaBytes(), "state arena", &stateArena_));
  MPC_RETURN_IF_ERROR(cuda_->allocate(constBytes, "constants", &consts));
  MPC_RETURN_IF_ERROR(cuda_->allocateHost(mirrorBytes, "host mirror of inputs, outputs and states", &mirror));

  views_.resize(tensors.size());
  hostViews_.resize(tensors.size());
  mirror_.assign(tensors.size(), Mirror::kNone);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const PlanTensor &t = tensors[i];
    TensorView &v = views_[i];
    v.dtype = t.dtype;
    v.rank = static_cast<int>(t.dims.size());
    for (int d = 0; d < v.rank; ++d) v.dims[d] = t.dims[d];
    TensorView &h = hostViews_[i];
    h = v;
    h.data = nullptr;
    switch (t.storage) {
    case Storage::kActivation:
    case Storage::kInput: v.data = static_cast<uint8_t *>(activationArena_) + t.arenaOffset; break;
    case Storage::kState: v.data = static_cast<uint8_t *>(stateArena_) + t.arenaOffset; break;
    case Storage::kConstant:
      v.data = static_cast<uint8_t *>(consts) + place[i];
      h.data = const_cast<uint8_t *>(p.data() + t.dataOffset);
      MPC_RETURN_IF_ERROR(cuda_->copyToDevice(v.data, h.data, t.nbytes));
      break;
    }
    if (bound[i]) {
      h.data = static_cast<uint8_t *>(mirror) + place[i];
      mirror_[i] = Mirror::kInSync;  // both sides start zeroed
    }
  }
  resetState();
  inputSet_.assign(p.inputs().size(), 0);
  return Status::ok();
}

Status Session::prepareKernels() {
  const Plan &p = *plan_;
  const Device device = options_.device;
  calls_.resize(p.kernels().size());
  for (size_t k = 0; k < p.kernels().size(); ++k) {
    const PlanKernel &pk = p.kernels()[k];
    Call &c = calls_[k];
    std::vector<DType> dtypes;
    for (int32_t id : pk.inputs) {
      c.inputs.push_back(views_[id]);
      dtypes.push_back(views_[id].dtype);
    }
    for (int32_t id : pk.outputs) {
      c.outputs.push_back(views_[id]);
      dtypes.push_back(views_[id].dtype);
    }
    const KernelEntry *e = KernelRegistry::global().lookup(pk.op, device, dtypes);
    if (!e)
      return Status(StatusCode::kNotFound, "no " + std::string(device == Device::kCPU ? "cpu" : "cuda") +
                                               " kernel for op '" + pk.op + "' with dtypes " +
                                               dtypeList(dtypes, pk.inputs.size()) + " (kernel #" + std::to_string(k) +
                                               " at '" + pk.location + "')");
    c.fn = e->fn;
    c.call.op = pk.op;
    c.call.location = pk.location;
    c.call.inputs = c.inputs.data();
    c.call.numInputs = static_cast<int>(c.inputs.size());
    c.call.outputs = c.outputs.data();
    c.call.numOutputs = static_cast<int>(c.outputs.size());
    c.call.attrs = &pk.attrs;
    c.call.pool = pool_.get();
    if (cuda_) {
      c.call.stream = cuda_->stream();
      c.call.workspace = cuda_->workspace();
      c.call.workspaceBytes = cuda_->workspaceBytes();
      c.call.context = cuda_.get();
    }
    if (e->check) {
      Status s = e->check(c.call);
      if (!s.isOk())
        return Status(s.code() == StatusCode::kOk ? StatusCode::kInvalidPlan : s.code(),
                      "kernel #" + std::to_string(k) + " '" + pk.op + "' at '" + pk.location + "': " + s.message());
    }
  }
  return Status::ok();
}

void Session::resetState() {
  const Plan &p = *plan_;
  for (size_t i = 0; i < p.tensors().size(); ++i) {
    const PlanTensor &t = p.tensors()[i];
    if (t.storage != Storage::kState) continue;
    // CUDA: the mirror takes the value and the next run() uploads it.
    void *dst = cuda_ ? hostViews_[i].data : views_[i].data;
    if (t.dataOffset == plan::kNoData) std::memset(dst, 0, t.nbytes);
    else std::memcpy(dst, p.data() + t.dataOffset, t.nbytes);
    if (cuda_) mirror_[i] = Mirror::kHostNewer;
  }
}

Status Session::inputView(const std::string &name, TensorView *out) {
  int32_t id = plan_->findInput(name);
  if (id < 0) return Status(StatusCode::kNotFound, "the plan has no input named '" + name + "'");
  if (out) *out = cuda_ ? hostViews_[id] : views_[id];
  if (cuda_) mirror_[id] = Mirror::kHostNewer;  // the caller fills the mirror
  for (size_t i = 0; i < plan_->inputs().size(); ++i)
    if (plan_->inputs()[i].name == name) inputSet_[i] = 1;
  return Status::ok();
}

Status Session::setInput(const std::string &name, DType dtype, const int64_t *dims, int rank, const void *data,
                         size_t nbytes) {
  int32_t id = plan_->findInput(name);
  if (id < 0) return Status(StatusCode::kNotFound, "the plan has no input named '" + name + "'");
  const PlanTensor &t = plan_->tensors()[id];
  std::vector<int64_t> given;
  if (rank < 0 || rank > kMaxRank || (rank > 0 && !dims))
    return Status(StatusCode::kInvalidArgument, "input '" + name + "': invalid rank " + std::to_string(rank));
  given.assign(dims, dims + rank);
  if (dtype != t.dtype || given != t.dims)
    return Status(StatusCode::kInvalidArgument, "input '" + name + "': expected " + describeType(t.dtype, t.dims) +
                                                    ", got " + describeType(dtype, given));
  if (nbytes != t.nbytes)
    return Status(StatusCode::kInvalidArgument, "input '" + name + "': expected " + std::to_string(t.nbytes) +
                                                    " bytes, got " + std::to_string(nbytes));
  if (nbytes && !data) return Status(StatusCode::kInvalidArgument, "input '" + name + "': null data");
  if (nbytes) std::memcpy(cuda_ ? hostViews_[id].data : views_[id].data, data, nbytes);
  if (cuda_) mirror_[id] = Mirror::kHostNewer;
  for (size_t i = 0; i < plan_->inputs().size(); ++i)
    if (plan_->inputs()[i].name == name) inputSet_[i] = 1;
  return Status::ok();
}

Status Session::runKernels() {
  for (size_t k = 0; k < calls_.size(); ++k) {
    Status s = calls_[k].fn(calls_[k].call);
    if (!s.isOk()) {
      const PlanKernel &pk = plan_->kernels()[k];
      return Status(s.code(), "kernel #" + std::to_string(k) + " '" + pk.op + "' at '" + pk.location + "': " + s.message());
    }
  }
  return Status::ok();
}

Status Session::run() {
  for (size_t i = 0; i < inputSet_.size(); ++i)
    if (!inputSet_[i]) return Status(StatusCode::kInvalidArgument, "input '" + plan_->inputs()[i].name + "' was never set");
  return cuda_ ? runCuda() : runKernels();
}

Status Session::runCuda() {
  const Plan &p = *plan_;
  // Inputs are uploaded on every run: as on the CPU, a view from inputView()
  // stays live, so the caller may refill it between runs without telling us.
  for (size_t i = 0; i < mirror_.size(); ++i) {
    if (mirror_[i] != Mirror::kHostNewer && p.tensors()[i].storage != Storage::kInput) continue;
    MPC_RETURN_IF_ERROR(cuda_->copyToDevice(views_[i].data, hostViews_[i].data, p.tensors()[i].nbytes));
    mirror_[i] = Mirror::kInSync;
  }
  if (options_.cudaGraphs && cuda_->hasGraph()) {
    MPC_RETURN_IF_ERROR(cuda_->launchGraph());
  } else if (options_.cudaGraphs && runs_ >= 1 && !captureFailed_) {
    // Captured on the second run: the first one did the lazy set-up (cuBLASLt
    // descriptors and heuristics), which must not happen inside a capture.
    // Kernels compute their launch parameters on the host, so the graph is
    // the whole step: replaying it skips every host-side check.
    MPC_RETURN_IF_ERROR(cuda_->beginCapture());
    Status kernels = runKernels();
    Status captured = cuda_->endCapture();
    MPC_RETURN_IF_ERROR(kernels);
    if (captured.isOk()) {
      MPC_RETURN_IF_ERROR(cuda_->launchGraph());
    } else {
      captureFailed_ = true;  // stay eager; the capture ran nothing
      MPC_RETURN_IF_ERROR(runKernels());
    }
  } else {
    MPC_RETURN_IF_ERROR(runKernels());
  }
  MPC_RETURN_IF_ERROR(cuda_->synchronize("running the plan"));
  ++runs_;
  for (size_t i = 0; i < mirror_.size(); ++i)
    if (p.tensors()[i].storage == Storage::kState) mirror_[i] = Mirror::kDeviceNewer;
  for (const PlanBinding &b : p.outputs()) {
    const Storage st = p.tensors()[b.tensor].storage;
    if (st == Storage::kConstant || st == Storage::kInput) continue;
    mirror_[b.tensor] = Mirror::kDeviceNewer;
    MPC_RETURN_IF_ERROR(syncToHost(b.tensor));
  }
  return Status::ok();
}

Status Session::syncToHost(int32_t id) const {
  if (!cuda_ || mirror_[id] != Mirror::kDeviceNewer) return Status::ok();
  const size_t n = plan_->tensors()[id].nbytes;
  Status s = cuda_->copyToHost(hostViews_[id].data, views_[id].data, n);
  if (!s.isOk()) {
    std::memset(hostViews_[id].data, 0xFF, n);  // never stale data: NaN/-1 bytes
    return s;
  }
  mirror_[id] = Mirror::kInSync;
  return Status::ok();
}

const TensorView &Session::tensorView(int32_t id) const {
  if (!cuda_) return views_[id];
  syncToHost(id);  // on failure the view holds 0xFF bytes; readState reports the error
  return hostViews_[id];
}

Status Session::output(const std::string &name, TensorView *out) const {
  int32_t id = plan_->findOutput(name);
  if (id < 0) return Status(StatusCode::kNotFound, "the plan has no output named '" + name + "'");
  if (out) *out = tensorView(id);
  return Status::ok();
}

Status Session::readState(const std::string &name, void *dst, size_t nbytes) const {
  int32_t id = plan_->findState(name);
  if (id < 0) return Status(StatusCode::kNotFound, "the plan has no state named '" + name + "'");
  const PlanTensor &t = plan_->tensors()[id];
  if (nbytes != t.nbytes)
    return Status(StatusCode::kInvalidArgument, "state '" + name + "' (" + describeType(t.dtype, t.dims) + ") has " +
                                                    std::to_string(t.nbytes) + " bytes, got a buffer of " + std::to_string(nbytes));
  if (nbytes && !dst) return Status(StatusCode::kInvalidArgument, "state '" + name + "': null buffer");
  MPC_RETURN_IF_ERROR(syncToHost(id));
  if (nbytes) std::memcpy(dst, cuda_ ? hostViews_[id].data : views_[id].data, nbytes);
  return Status::ok();
}

Status Session::writeState(const std::string &name, const void *src, size_t nbytes) {
  int32_t id = plan_->findState(name);
  if (id < 0) return Status(StatusCode::kNotFound, "the plan has no state named '" + name + "'");
  const PlanTensor &t = plan_->tensors()[id];
  if (nbytes != t.nbytes)
    return Status(StatusCode::kInvalidArgument, "state '" + name + "' (" + describeType(t.dtype, t.dims) + ") has " +
                                                    std::to_string(t.nbytes) + " bytes, got " + std::to_string(nbytes));
  if (nbytes && !src) return Status(StatusCode::kInvalidArgument, "state '" + name + "': null data");
  if (nbytes) std::memcpy(cuda_ ? hostViews_[id].data : views_[id].data, src, nbytes);
  if (cuda_) mirror_[id] = Mirror::kHostNewer;
  return Status::ok();
}

}  // namespace mpc::rt
