//===- PlanEmitter.cpp - mpc dialect -> executable plan (.mpcp) -----------===//

#include "compiler/plan/PlanEmitter.h"

#include "core/fused_program.h"
#include "core/memory_planner.h"
#include "core/plan_writer.h"
#include "dialects/mpc/MpcOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
namespace rt = mpc::rt;

namespace mpc {
namespace {

std::string locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto n = locationName(inner); !n.empty())
        return n;
  std::string s;
  llvm::raw_string_ostream os(s);
  loc.print(os);
  return s;
}

rt::DType toDType(Type t) {
  if (t.isF32()) return rt::DType::kF32;
  if (t.isF16()) return rt::DType::kF16;
  if (t.isBF16()) return rt::DType::kBF16;
  if (t.isF64()) return rt::DType::kF64;
  if (isa<Float8E4M3FNType>(t)) return rt::DType::kF8E4M3FN;
  if (isa<Float8E5M2Type>(t)) return rt::DType::kF8E5M2;
  if (t.isInteger(1)) return rt::DType::kBool;
  if (t.isInteger(8)) return rt::DType::kI8;
  if (t.isInteger(32)) return rt::DType::kI32;
  if (t.isInteger(64)) return rt::DType::kI64;
  return rt::DType::kInvalid;
}

class Emitter {
public:
  Emitter(ModuleOp module, uint64_t maxBytes) : module(module), maxBytes(maxBytes) {
    writer.setMemoryLimit(maxBytes);
  }
  /// Writes the plan to `path`, or into `buffer` when it is given.
  LogicalResult run(func::FuncOp func, StringRef path, PlanStats *stats,
                    std::vector<uint8_t> *buffer = nullptr);
  std::string error;

private:
  LogicalResult fail(Operation *op, const Twine &message) {
    if (error.empty())
      error = "op '" + op->getName().getStringRef().str() + "' at '" +
              locationName(op->getLoc()) + "': " + message.str();
    return failure();
  }
  FailureOr<int32_t> tensorFor(Operation *op, Value v, StringRef name, rt::Storage storage,
                               const void *data = nullptr);
  /// Refuses a tensor larger than maxBytes (the memory cap), naming it.
  LogicalResult checkSize(Location loc, StringRef name, rt::DType dtype,
                          const std::vector<int64_t> &shape);
  FailureOr<int32_t> dataTensor(Operation *op, StringRef name, ElementsAttr value,
                                rt::Storage storage);
  LogicalResult kernel(Operation *op);
  LogicalResult convertAttr(Operation *op, NamedAttribute attr, std::vector<rt::Attr> &out);
  LogicalResult fusedProgram(FusedElementwiseOp op, std::vector<rt::Attr> &out);
  FailureOr<int32_t> globalTensor(Operation *op, StringRef sym);
  LogicalResult planStores(Block &block);

  ModuleOp module;
  uint64_t maxBytes; // 0: no limit
  rt::PlanWriter writer;
  llvm::DenseMap<Value, int32_t> ids;
  llvm::StringMap<int32_t> globals;
  uint64_t constantBytes = 0;

  // Training steps: mutable globals are state tensors. `current` is the tensor
  // holding a global's value at the point being emitted (its state tensor
  // until a global_store, then the stored value's tensor); `directStore` maps
  // a stored value to the global whose state tensor its op writes directly;
  // `pendingCopies` are the stores that need a `copy` kernel at the end.
  llvm::StringMap<int32_t> current;
  llvm::DenseMap<Value, StringRef> directStore;
  std::vector<std::pair<ml_program::GlobalStoreOp, int32_t>> pendingCopies;
};

/// Kernels that may write a state tensor they also read: every output element
/// depends only on the same element of its inputs (the optimizer updates,
/// gradient accumulation, the step counters and the loss scale,
/// batch_norm_train's running statistics per channel, the elementwise ops the
/// memory planner lets work in place).
bool isAliasSafe(Operation *op) {
  if (isa<SgdUpdateOp, MomentumUpdateOp, AdamUpdateOp, OnnxAdagradOp, OnnxMomentumOp,
          OnnxAdamOp, BatchNormTrainOp, Fp8ScaleUpdateOp, AccumulateGradOp, CountStepOp,
          LossScaleUpdateOp>(op))
    return true;
  return rt::isInPlaceCapable(op->getName().getStringRef().drop_front(4).str());
}

bool isZeroSplat(ElementsAttr value) {
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense || !dense.isSplat())
    return false;
  if (auto f = dyn_cast<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().isPosZero();
  return dense.getSplatValue<APInt>().isZero();
}

FailureOr<int32_t> Emitter::tensorFor(Operation *op, Value v, StringRef name,
                                      rt::Storage storage, const void *data) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape())
    return fail(op, "value has no static tensor type");
  rt::DType dtype = toDType(type.getElementType());
  if (dtype == rt::DType::kInvalid)
    return fail(op, "element type is not supported by the runtime");
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  if (failed(checkSize(op->getLoc(), name, dtype, shape)))
    return failure();
  int32_t id = writer.addTensor(name.str(), dtype, shape, storage, data);
  ids[v] = id;
  return id;
}

LogicalResult Emitter::checkSize(Location loc, StringRef name, rt::DType dtype,
                                 const std::vector<int64_t> &shape) {
  uint64_t bytes = 0;
  bool ok = rt::tensorBytes(dtype, shape, &bytes);
  if (maxBytes == 0 || (ok && bytes <= maxBytes))
    return success();
  if (error.empty())
    error = "tensor '" + name.str() + "' (" + rt::describeType(dtype, shape) + ") at '" +
            locationName(loc) + "' needs " + (ok ? std::to_string(bytes) : "more than 2^62") +
            " bytes, more than the memory limit of " + std::to_string(maxBytes) +
            " bytes (--max-tensor-bytes)";
  return failure();
}

/// Bytes of a constant in the runtime's layout (C order, one byte per bool).
LogicalResult rawBytes(ElementsAttr value, std::vector<char> &bytes) {
  auto type = cast<ShapedType>(value.getType());
  int64_t n = type.getNumElements();
  Type elem = type.getElementType();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return failure();
    ArrayRef<char> data = blob->getData();
    bytes.assign(data.begin(), data.end());
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense)
    return failure();
  if (elem.isInteger(1)) {
    for (bool b : dense.getValues<bool>())
      bytes.push_back(b ? 1 : 0);
    return success();
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    bytes.reserve(raw.size() * n);
    for (int64_t i = 0; i < n; ++i)
      bytes.insert(bytes.end(), raw.begin(), raw.end());
  } else {
    bytes.assign(raw.begin(), raw.end());
  }
  return success();
}

FailureOr<int32_t> Emitter::dataTensor(Operation *op, StringRef name, ElementsAttr value,
                                       rt::Storage storage) {
  std::vector<char> bytes;
  if (failed(rawBytes(value, bytes)))
    return fail(op, "constant data of '" + name + "' is not available");
  auto type = cast<ShapedType>(value.getType());
  size_t expected = type.getNumElements() * rt::dtypeSize(toDType(type.getElementType()));
  if (bytes.size() != expected)
    return fail(op, "constant '" + name + "' has " + Twine(bytes.size()) + " bytes, expected " +
                        Twine(expected));
  constantBytes += bytes.size();
  return tensorFor(op, op->getResult(0), name, storage, bytes.data());
}

LogicalResult Emitter::convertAttr(Operation *op, NamedAttribute attr,
                                   std::vector<rt::Attr> &out) {
  std::string name = attr.getName().str();
  Attribute a = attr.getValue();
  if (auto b = dyn_cast<BoolAttr>(a))
    out.push_back({name, int64_t(b.getValue())});
  else if (auto i = dyn_cast<IntegerAttr>(a))
    out.push_back({name, i.getInt()});
  else if (auto f = dyn_cast<FloatAttr>(a))
    out.push_back({name, f.getValueAsDouble()});
  else if (auto s = dyn_cast<StringAttr>(a))
    out.push_back({name, s.str()});
  else if (auto arr = dyn_cast<DenseI64ArrayAttr>(a))
    out.push_back({name, std::vector<int64_t>(arr.asArrayRef().begin(), arr.asArrayRef().end())});
  else if (isa<UnitAttr>(a))
    out.push_back({name, int64_t(1)});
  else if (auto t = dyn_cast<TypeAttr>(a)) {
    std::string text;
    llvm::raw_string_ostream os(text);
    t.getValue().print(os);
    out.push_back({name, text});
  }
  else
    return fail(op, "attribute '" + name + "' has a kind the runtime cannot take");
  return success();
}

/// The program of a fused group (core/fused_program.h): slots 0..n-1 are the
/// body arguments (the kernel inputs), slot n + k the result of body op k.
LogicalResult Emitter::fusedProgram(FusedElementwiseOp op, std::vector<rt::Attr> &out) {
  if (op.getInputs().size() > size_t(rt::fused::kMaxInputs))
    return fail(op, "fused group has " + Twine(op.getInputs().size()) +
                        " operands, the runtime takes at most " + Twine(rt::fused::kMaxInputs));
  Block &body = op.getBody().front();
  llvm::DenseMap<Value, int64_t> slot;
  for (BlockArgument arg : body.getArguments())
    slot[arg] = arg.getArgNumber();
  std::vector<int64_t> ops, args, dtypes;
  std::vector<double> alpha;
  for (Operation &inner : body.without_terminator()) {
    int64_t code = rt::fused::opcodeFromName(inner.getName().getStringRef().drop_front(4).str());
    if (code < 0)
      return fail(&inner, "cannot be part of a fused_elementwise kernel");
    ops.push_back(code);
    for (int a = 0; a < rt::fused::kMaxArgs; ++a) {
      if (a >= int(inner.getNumOperands())) {
        args.push_back(-1);
        continue;
      }
      auto it = slot.find(inner.getOperand(a));
      if (it == slot.end())
        return fail(&inner, "operand is not defined in the fused group");
      args.push_back(it->second);
    }
    dtypes.push_back(
        int64_t(toDType(cast<RankedTensorType>(inner.getResult(0).getType()).getElementType())));
    double immediate = 0;
    if (auto leaky = dyn_cast<LeakyReluOp>(inner))
      immediate = leaky.getAlphaAttr().getValueAsDouble(); // as convertAttr passes it
    else if (auto gelu = dyn_cast<GeluOp>(inner))
      immediate = gelu.getApproximate() == "tanh" ? 1 : 0;
    alpha.push_back(immediate);
    slot[inner.getResult(0)] = int64_t(body.getNumArguments() + ops.size() - 1);
  }
  auto yield = cast<YieldOp>(body.getTerminator());
  if (ops.empty() ||
      slot.lookup(yield.getValue()) != int64_t(body.getNumArguments() + ops.size() - 1))
    return fail(op, "fused group must yield the result of its last op");
  out.push_back({"ops", ops});
  out.push_back({"args", args});
  out.push_back({"dtypes", dtypes});
  out.push_back({"alpha", alpha});
  return success();
}

FailureOr<int32_t> Emitter::globalTensor(Operation *op, StringRef sym) {
  auto known = globals.find(sym);
  if (known != globals.end())
    return known->second;
  auto global = module.lookupSymbol<ml_program::GlobalOp>(sym);
  if (!global)
    return fail(op, "global '" + sym + "' does not exist");
  auto value = dyn_cast_or_null<ElementsAttr>(global.getValueAttr());
  int32_t id;
  if (global.getIsMutable()) {
    // State: initial value in the plan (none for zeros: the runtime zeroes it).
    auto type = dyn_cast<RankedTensorType>(global.getType());
    if (!type || !type.hasStaticShape() || toDType(type.getElementType()) == rt::DType::kInvalid)
      return fail(op, "global '" + sym + "' needs a static tensor type the runtime supports");
    if (value && !isZeroSplat(value)) {
      std::vector<char> bytes;
      if (failed(rawBytes(value, bytes)))
        return fail(op, "initial value of global '" + sym + "' is not available");
      if (bytes.size() != type.getNumElements() * rt::dtypeSize(toDType(type.getElementType())))
        return fail(op, "initial value of global '" + sym + "' has the wrong size");
      constantBytes += bytes.size();
      id = writer.addTensor(sym.str(), toDType(type.getElementType()),
                            std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
                            rt::Storage::kState, bytes.data());
    } else {
      id = writer.addTensor(sym.str(), toDType(type.getElementType()),
                            std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
                            rt::Storage::kState);
    }
  } else {
    if (!value)
      return fail(op, "global '" + sym + "' has no tensor value");
    auto t = dataTensor(op, sym, value, rt::Storage::kConstant);
    if (failed(t))
      return failure();
    id = *t;
  }
  globals[sym] = id;
  current[sym] = id;
  return id;
}

/// Decides, for each ml_program.global_store, whether the op defining the
/// stored value can write the global's state tensor directly: it must be the
/// last reader of the global's old value (no later op reads a load of the
/// global made before the store), alias-safe if it reads that value itself,
/// and the value must be stored to this one global only.
LogicalResult Emitter::planStores(Block &block) {
  llvm::DenseMap<Operation *, int64_t> position;
  int64_t n = 0;
  for (Operation &op : block)
    position[&op] = n++;
  llvm::StringMap<ml_program::GlobalStoreOp> storeOf;
  llvm::DenseMap<Value, int> storeCount;
  for (Operation &op : block) {
    auto store = dyn_cast<ml_program::GlobalStoreOp>(op);
    if (!store)
      continue;
    StringRef sym = store.getGlobal().getLeafReference();
    if (!storeOf.try_emplace(sym, store).second)
      return fail(&op, "global '" + sym + "' is stored more than once in one step");
    ++storeCount[store.getValue()];
  }
  for (auto &[sym, store] : storeOf) {
    Value v = store.getValue();
    Operation *def = v.getDefiningOp();
    if (!def || !isa<MpcDialect>(def->getDialect()) || isa<ConstantOp>(def) ||
        storeCount[v] != 1 || def->getBlock() != &block)
      continue;
    // Loads of the old value and the last op that reads one of them.
    int64_t storePos = position[store], lastRead = -1;
    bool defReads = false;
    for (Operation &op : block) {
      auto load = dyn_cast<ml_program::GlobalLoadOp>(op);
      if (!load || load.getGlobal().getLeafReference() != sym || position[&op] > storePos)
        continue;
      for (Operation *user : load->getUsers()) {
        lastRead = std::max(lastRead, position[user]);
        defReads |= user == def;
      }
    }
    if (lastRead > position[def] || (defReads && !isAliasSafe(def)))
      continue;
    directStore[v] = store.getGlobal().getLeafReference();
  }
  return success();
}

LogicalResult Emitter::kernel(Operation *op) {
  std::string location = locationName(op->getLoc());
  std::vector<int32_t> inputs, outputs;
  for (Value v : op->getOperands()) {
    auto it = ids.find(v);
    if (it == ids.end())
      return fail(op, "operand is not produced by a supported op");
    inputs.push_back(it->second);
  }
  for (auto [i, r] : llvm::enumerate(op->getResults())) {
    if (auto direct = directStore.find(r); direct != directStore.end()) {
      auto state = globalTensor(op, direct->second);
      if (failed(state))
        return failure();
      ids[r] = *state;
      outputs.push_back(*state);
      continue;
    }
    std::string name = op->getNumResults() == 1 ? location : location + ":" + std::to_string(i);
    auto id = tensorFor(op, r, name, rt::Storage::kActivation);
    if (failed(id))
      return failure();
    outputs.push_back(*id);
  }
  std::vector<rt::Attr> attrs;
  if (auto fused = dyn_cast<FusedElementwiseOp>(op)) {
    if (failed(fusedProgram(fused, attrs)))
      return failure();
  } else if (auto info = op->getRegisteredInfo())
    // Inherent attributes only: discardable ones are annotations for passes.
    for (NamedAttribute attr : op->getAttrs()) {
      if (!llvm::is_contained(info->getAttributeNames(), attr.getName()))
        continue;
      if (failed(convertAttr(op, attr, attrs)))
        return failure();
    }
  StringRef opName = op->getName().getStringRef();
  writer.addKernel(opName.drop_front(4).str(), inputs, outputs, attrs, location);
  return success();
}

LogicalResult Emitter::run(func::FuncOp func, StringRef path, PlanStats *stats,
                           std::vector<uint8_t> *buffer) {
  if (!func.getBody().hasOneBlock())
    return fail(func, "@main must have a single block");
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    auto nameAttr = func.getArgAttrOfType<StringAttr>(i, "mpc.name");
    std::string name = nameAttr ? nameAttr.str() : "arg" + std::to_string(i);
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || !type.hasStaticShape() || toDType(type.getElementType()) == rt::DType::kInvalid)
      return fail(func, "input '" + name + "' needs a static tensor type the runtime supports");
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    if (failed(checkSize(func.getLoc(), name, toDType(type.getElementType()), shape)))
      return failure();
    int32_t id = writer.addTensor(name, toDType(type.getElementType()), shape, rt::Storage::kInput);
    ids[arg] = id;
    writer.bindInput(name, id);
  }
  if (failed(planStores(func.getBody().front())))
    return failure();
  for (Operation &op : func.getBody().front()) {
    if (isa<ml_program::GlobalLoadConstOp, ml_program::GlobalLoadOp>(op)) {
      StringRef sym = isa<ml_program::GlobalLoadOp>(op)
                          ? cast<ml_program::GlobalLoadOp>(op).getGlobal().getLeafReference()
                          : cast<ml_program::GlobalLoadConstOp>(op).getGlobal().getLeafReference();
      if (failed(globalTensor(&op, sym)))
        return failure();
      ids[op.getResult(0)] = current[sym];
      continue;
    }
    if (auto store = dyn_cast<ml_program::GlobalStoreOp>(op)) {
      StringRef sym = store.getGlobal().getLeafReference();
      auto state = globalTensor(&op, sym);
      if (failed(state))
        return failure();
      if (!module.lookupSymbol<ml_program::GlobalOp>(sym).getIsMutable())
        return fail(&op, "stores to the immutable global '" + sym + "'");
      auto it = ids.find(store.getValue());
      if (it == ids.end())
        return fail(&op, "stored value is not produced by a supported op");
      // Later loads see the new value; the state tensor gets it at the end of
      // the step unless the producing kernel already wrote it there.
      current[sym] = it->second;
      if (it->second != *state)
        pendingCopies.push_back({store, it->second});
      continue;
    }
    if (auto c = dyn_cast<ConstantOp>(op)) {
      if (failed(dataTensor(&op, locationName(op.getLoc()), c.getValue(),
                            rt::Storage::kConstant)))
        return failure();
      continue;
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      // A state's old value returned while the step stores a new one is
      // snapshotted before the copies at the end overwrite it.
      llvm::DenseSet<int32_t> overwritten;
      for (auto &[store, from] : pendingCopies)
        overwritten.insert(globals[store.getGlobal().getLeafReference()]);
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        auto nameAttr = func.getResultAttrOfType<StringAttr>(i, "mpc.name");
        std::string name = nameAttr ? nameAttr.str() : "output" + std::to_string(i);
        int32_t id = ids.at(v);
        if (overwritten.contains(id)) {
          auto snapshot = tensorFor(&op, v, name, rt::Storage::kActivation);
          if (failed(snapshot))
            return failure();
          writer.addKernel("copy", {id}, {*snapshot}, {}, locationName(ret.getLoc()));
          id = *snapshot;
        }
        writer.bindOutput(name, id);
      }
      continue;
    }
    if (!isa<MpcDialect>(op.getDialect()))
      return fail(&op, "is not lowered to the runtime (only mpc ops, constants and "
                       "ml_program.global_load_const are)");
    if (failed(kernel(&op)))
      return failure();
  }
  // Stored values no kernel wrote in place: copy them into the state at the
  // end of the step, after every reader of the old value.
  for (auto [store, from] : pendingCopies) {
    StringRef sym = store.getGlobal().getLeafReference();
    writer.addKernel("copy", {from}, {globals[sym]}, {}, locationName(store.getLoc()));
  }
  rt::Status status = buffer ? writer.writeToBuffer(buffer) : writer.write(path.str());
  if (!status.isOk()) {
    error = (buffer ? std::string("building the plan: ") : "writing plan '" + path.str() + "': ") +
            status.message();
    return failure();
  }
  if (stats) {
    stats->kernels = writer.numKernels();
    stats->tensors = writer.tensors().size();
    stats->activationArenaBytes = writer.memoryPlan().arenaBytes;
    stats->constantBytes = constantBytes;
    for (const auto &t : writer.tensors())
      stats->stateTensors += t.storage == rt::Storage::kState;
    stats->stateCopies = pendingCopies.size();
  }
  return success();
}

} // namespace

LogicalResult emitPlanToBuffer(ModuleOp module, std::vector<uint8_t> &buffer,
                               std::string &error, uint64_t maxMemoryBytes) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    error = "the module has no function @main to lower";
    return failure();
  }
  Emitter emitter(module, maxMemoryBytes);
  if (failed(emitter.run(func, "", nullptr, &buffer))) {
    error = emitter.error;
    return failure();
  }
  return success();
}

LogicalResult emitPlan(ModuleOp module, StringRef path, std::string &error, PlanStats *stats,
                       uint64_t maxMemoryBytes) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    error = "the module has no function @main to lower";
    return failure();
  }
  Emitter emitter(module, maxMemoryBytes);
  if (failed(emitter.run(func, path, stats))) {
    error = emitter.error;
    return failure();
  }
  return success();
}

} // namespace mpc
