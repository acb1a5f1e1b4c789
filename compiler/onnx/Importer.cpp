//===- Importer.cpp - ONNX model -> mpc dialect ---------------------------===//
//
// One pass over the (topologically sorted) graph. Each supported op type has a
// handler that reads the node's attributes, folds constant shape/axes inputs
// into attributes, builds mpc ops with inferred result types and binds the
// node's outputs. Anything unexpected becomes one error naming the node.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/Importer.h"

#include <queue>

#include "compiler/onnx/Initialization.h"
#include "compiler/onnx/ModelLoader.h"
#include "dialects/mpc/MpcOps.h"
#include "passes/autodiff/Autodiff.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace mpc {

namespace {

constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 21;
constexpr llvm::StringLiteral kPreviewTraining = "ai.onnx.preview.training";

/// A node being imported: its proto, location, opset and operand values
/// (null for omitted optional inputs).
struct Node {
  const onnx::NodeProto &proto;
  std::string name; // the ONNX name, or "<OpType>_<index>" when it has none
  Location loc;
  int64_t opset;
  SmallVector<Value> inputs;

  const onnx::AttributeProto *attr(StringRef name) const {
    for (const auto &a : proto.attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  bool has(StringRef name) const { return attr(name) != nullptr; }
  int64_t getInt(StringRef name, int64_t dflt) const {
    auto *a = attr(name);
    return a ? a->i() : dflt;
  }
  float getFloat(StringRef name, float dflt) const {
    auto *a = attr(name);
    return a ? a->f() : dflt;
  }
  std::string getString(StringRef name, StringRef dflt) const {
    auto *a = attr(name);
    return a ? a->s() : dflt.str();
  }
  SmallVector<int64_t> getInts(StringRef name) const {
    SmallVector<int64_t> out;
    if (auto *a = attr(name))
      out.assign(a->ints().begin(), a->ints().end());
    return out;
  }
  Value input(unsigned i) const { return i < inputs.size() ? inputs[i] : Value(); }
  unsigned numOutputs() const { return proto.output_size(); }
};

/// Carries the first error out of deeply nested helpers.
struct ImportError {
  std::string message;
};

class Importer {
public:
  Importer(MLIRContext &ctx, const ImportOptions &options, std::string modelDir)
      : ctx(ctx), b(&ctx), options(options), modelDir(std::move(modelDir)) {}

  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model, std::string &error);

private:
  using Handler = LogicalResult (Importer::*)(Node &, SmallVectorImpl<Value> &);
  static const llvm::StringMap<Handler> &handlers();

  // Graph structure.
  LogicalResult importGraph(const onnx::GraphProto &graph);
  LogicalResult sortNodes(const onnx::GraphProto &graph,
                          std::vector<const onnx::NodeProto *> &order);
  LogicalResult importNode(const onnx::NodeProto &node, int64_t index);
  FailureOr<Type> tensorType(const onnx::ValueInfoProto &info, bool isInput);
  FailureOr<Type> elementType(int32_t onnxType, StringRef what);

  // Values.
  FailureOr<Value> lookup(StringRef name);
  FailureOr<ElementsAttr> tensorAttr(const onnx::TensorProto &t);
  std::optional<SmallVector<int64_t>> constInts(StringRef name);
  LogicalResult requireConstInts(Node &n, unsigned input, StringRef what,
                                 SmallVector<int64_t> &out);

  // Op construction.
  template <typename OpTy>
  FailureOr<Operation *> build(Node &n, ValueRange operands,
                               ArrayRef<NamedAttribute> attrs = {});
  template <typename OpTy>
  FailureOr<Value> build1(Node &n, ValueRange operands, ArrayRef<NamedAttribute> attrs = {}) {
    auto op = build<OpTy>(n, operands, attrs);
    if (failed(op))
      return failure();
    return (*op)->getResult(0);
  }
  FailureOr<Value> reshape(Node &n, Value x, ArrayRef<int64_t> shape);
  FailureOr<Value> constant(Node &n, ElementsAttr value);
  LogicalResult nodeError(Node &n, const Twine &message);
  int64_t normaliseAxis(Node &n, int64_t axis, int64_t rank, bool &ok);
  RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }
  LogicalResult requireInputs(Node &n, unsigned min, unsigned max);
  // Variadic ops (Sum, Concat, ...): one or more inputs, none of them empty.
  LogicalResult requireAllInputs(Node &n);

  // Handlers (one per ONNX op type, or per family).
  template <typename OpTy> LogicalResult unary(Node &n, SmallVectorImpl<Value> &out);
  template <typename OpTy> LogicalResult binary(Node &n, SmallVectorImpl<Value> &out);
  template <typename OpTy> LogicalResult variadic(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importMean(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importPow(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importLeakyRelu(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importGelu(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importWhere(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importMatMul(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importGemm(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importConv(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importMaxPool(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importAveragePool(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importGlobalAveragePool(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importBatchNorm(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importLayerNorm(Node &n, SmallVectorImpl<Value> &out);
  template <typename OpTy> LogicalResult softmax(Node &n, SmallVectorImpl<Value> &out);
  template <typename OpTy> LogicalResult reduce(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importReshape(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importSqueeze(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importUnsqueeze(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importFlatten(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importTranspose(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importConcat(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importSplit(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importSlice(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importGather(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importExpand(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importIdentity(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importConstant(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importShape(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importCast(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importDropout(Node &n, SmallVectorImpl<Value> &out);
  template <typename OpTy> LogicalResult loss(Node &n, SmallVectorImpl<Value> &out);
  // ai.onnx.preview.training (version 1).
  static const llvm::StringMap<Handler> &previewTrainingHandlers();
  LogicalResult importPreviewOptimizer(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importGradient(Node &n, SmallVectorImpl<Value> &out);
  LogicalResult importTrainingInfo(const onnx::ModelProto &model);
  // training_info's initialization graph (Initialization.h).
  LogicalResult applyInitialization(const onnx::TrainingInfoProto &info,
                                    const llvm::StringMap<const onnx::TensorProto *> &mainInits);
  OwningOpRef<ModuleOp> buildInitialization(const onnx::TrainingInfoProto &info);

  MLIRContext &ctx;
  OpBuilder b;
  const ImportOptions &options;
  std::string modelDir;
  ModuleOp module;
  func::FuncOp func;
  int64_t opset = 0;
  /// Opset versions the model imports, by domain (for error messages).
  llvm::StringMap<int64_t> domainOpsets;
  std::string error;

  llvm::StringMap<Value> values;
  llvm::StringMap<const onnx::TensorProto *> initializers;
  Operation *lastGlobalLoad = nullptr;
  /// Nodes of the inference graph (unnamed training_info nodes are numbered on).
  int64_t graphNodeCount = 0;
  std::unique_ptr<SymbolTable> symbols;
  /// Small integer tensors known at import time (initializers, Constant and
  /// Shape outputs): what shape/axes inputs fold into attributes from.
  llvm::StringMap<SmallVector<int64_t>> intConstants;
  /// Scalars known at import time (Dropout's ratio and training_mode).
  llvm::StringMap<double> constScalars;
  const onnx::NodeProto *currentNode = nullptr;
  unsigned resourceCounter = 0;
};

//===----------------------------------------------------------------------===//
// Errors and small helpers
//===----------------------------------------------------------------------===//

/// Inputs that hold shapes, axes or other static parameters: the handlers fold
/// them into attributes, so they must be constants and are not SSA operands.
bool isAttributeInput(StringRef opType, size_t index, int64_t opset) {
  if (opType == "Reshape" || opType == "Expand" || opType == "Squeeze" ||
      opType == "Unsqueeze" || opType == "Split" || opType == "ReduceSum")
    return index == 1;
  if (opType == "ReduceMean" || opType == "ReduceMax")
    return opset >= 18 && index == 1;
  if (opType == "Slice")
    return index >= 1;
  if (opType == "Dropout")
    return index >= 1;
  return false;
}

/// The node's ONNX name, or "<OpType>_<index in the graph>" when it has none.
std::string nodeName(const onnx::NodeProto &node, int64_t index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
}

std::string describeNode(const onnx::NodeProto &node, int64_t opset, StringRef name = {}) {
  std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
  std::string shown = name.empty() ? node.name() : name.str();
  return "node '" + shown + "' (" + node.op_type() + ", domain '" + domain + "', opset " +
         std::to_string(opset) + ")";
}

LogicalResult Importer::nodeError(Node &n, const Twine &message) {
  if (error.empty())
    error = describeNode(n.proto, n.opset, n.name) + ": " + message.str();
  return failure();
}

LogicalResult Importer::requireInputs(Node &n, unsigned min, unsigned max) {
  unsigned count = n.proto.input_size();
  while (count > 0 && n.proto.input(count - 1).empty())
    --count;
  if (count < min || count > max)
    return nodeError(n, "expects " + Twine(min) + (min == max ? "" : " to " + Twine(max)) +
                            " inputs, got " + Twine(count));
  for (unsigned i = 0; i < min; ++i)
    if (n.proto.input(i).empty())
      return nodeError(n, "required input #" + Twine(i) + " is empty");
  return success();
}

LogicalResult Importer::requireAllInputs(Node &n) {
  if (n.proto.input_size() == 0)
    return nodeError(n, "expects at least 1 input, got 0");
  for (int i = 0; i < n.proto.input_size(); ++i)
    if (n.proto.input(i).empty())
      return nodeError(n, "input #" + Twine(i) + " is empty (every input of " +
                              n.proto.op_type() + " is required)");
  return success();
}

int64_t Importer::normaliseAxis(Node &n, int64_t axis, int64_t rank, bool &ok) {
  if (axis < -rank || axis >= rank) {
    ok = false;
    (void)nodeError(n, "axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
    return 0;
  }
  return axis < 0 ? axis + rank : axis;
}

template <typename OpTy>
FailureOr<Operation *> Importer::build(Node &n, ValueRange operands,
                                       ArrayRef<NamedAttribute> attrs) {
  // Mirrors the generated builders, but a failed inference or verification is
  // a diagnostic we report, not a fatal error.
  std::string diag;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    if (diag.empty())
      diag = d.str();
    return success();
  });
  // An ONNX input left empty reaches a handler as a null value, and handlers
  // drop the optional ones; a null operand here is a required input that was
  // empty. Refuse it rather than let type inference dereference it.
  for (auto [i, v] : llvm::enumerate(operands))
    if (!v)
      return nodeError(n, "operand #" + Twine(i) + " of '" + OpTy::getOperationName() +
                              "' comes from an empty input");
  OperationState state(n.loc, OpTy::getOperationName());
  state.addOperands(operands);
  state.addAttributes(attrs);
  if (!attrs.empty()) {
    OpaqueProperties props = &state.getOrAddProperties<typename OpTy::Properties>();
    auto info = state.name.getRegisteredInfo();
    if (failed(info->setOpPropertiesFromAttribute(
            state.name, props, state.attributes.getDictionary(&ctx),
            [&]() { return emitError(n.loc); })))
      return nodeError(n, "invalid attributes: " + diag);
  }
  if constexpr (OpTy::template hasTrait<InferTypeOpInterface::Trait>()) {
    SmallVector<Type> types;
    if (failed(OpTy::inferReturnTypes(&ctx, n.loc, state.operands,
                                      state.attributes.getDictionary(&ctx),
                                      state.getRawProperties(), state.regions, types)))
      return nodeError(n, diag.empty() ? "type inference failed" : diag);
    state.addTypes(types);
  }
  Operation *op = b.create(state);
  if (failed(verify(op))) {
    op->erase();
    return nodeError(n, diag.empty() ? "verification failed" : diag);
  }
  return op;
}

FailureOr<Value> Importer::reshape(Node &n, Value x, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, typeOf(x).getElementType());
  if (type == x.getType())
    return x;
  OperationState state(n.loc, ReshapeOp::getOperationName());
  state.addOperands(x);
  state.addTypes(type);
  Operation *op = b.create(state);
  // The verifier's diagnostic is replaced by the one-line node error below.
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  if (failed(verify(op))) {
    op->erase();
    std::string dims;
    for (auto [i, d] : llvm::enumerate(shape))
      dims += (i ? "," : "") + std::to_string(d);
    return nodeError(n, "cannot reshape " + std::to_string(typeOf(x).getNumElements()) +
                            " elements to shape [" + dims + "]");
  }
  return op->getResult(0);
}

FailureOr<Value> Importer::constant(Node &n, ElementsAttr value) {
  return ConstantOp::create(b, n.loc, value.getType(), value).getResult();
}

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

FailureOr<Type> Importer::elementType(int32_t onnxType, StringRef what) {
  switch (onnxType) {
  case 1: return Type(b.getF32Type());
  case 3: return Type(b.getIntegerType(8));
  case 6: return Type(b.getIntegerType(32));
  case 7: return Type(b.getIntegerType(64));
  case 9: return Type(b.getI1Type());
  case 10: return Type(b.getF16Type());
  case 11: return Type(b.getF64Type());
  case 16: return Type(b.getBF16Type());
  case 17: return Type(b.getType<Float8E4M3FNType>());
  case 19: return Type(b.getType<Float8E5M2Type>());
  default:
    if (error.empty())
      error = what.str() + " has element type " + onnxTypeName(onnxType) +
              ", which mpc does not support";
    return failure();
  }
}

FailureOr<Type> Importer::tensorType(const onnx::ValueInfoProto &info, bool isInput) {
  std::string what = std::string(isInput ? "graph input '" : "graph output '") + info.name() + "'";
  if (!info.type().has_tensor_type()) {
    error = what + " is not a tensor (sequences, maps and optionals are not supported)";
    return failure();
  }
  const auto &tt = info.type().tensor_type();
  auto elem = elementType(tt.elem_type(), what);
  if (failed(elem))
    return failure();
  auto override = options.inputShapes.find(info.name());
  if (isInput && override != options.inputShapes.end()) {
    if (tt.has_shape() && tt.shape().dim_size() != static_cast<int>(override->second.size())) {
      error = what + " has rank " + std::to_string(tt.shape().dim_size()) +
              " but --input-shape gives " + std::to_string(override->second.size()) + " dims";
      return failure();
    }
    for (int i = 0; tt.has_shape() && i < tt.shape().dim_size(); ++i) {
      const auto &d = tt.shape().dim(i);
      if (d.has_dim_value() && d.dim_value() != override->second[i]) {
        error = what + " dim " + std::to_string(i) + " is " + std::to_string(d.dim_value()) +
                " but --input-shape gives " + std::to_string(override->second[i]);
        return failure();
      }
    }
    return Type(RankedTensorType::get(override->second, *elem));
  }
  if (!tt.has_shape()) {
    if (!isInput)
      return Type(); // outputs may omit shapes: inferred types are used
    error = what + " has no shape: give one with --input-shape " + info.name() + "=d0,d1,...";
    return failure();
  }
  SmallVector<int64_t> shape;
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto &d = tt.shape().dim(i);
    if (d.has_dim_value() && d.dim_value() >= 0) {
      shape.push_back(d.dim_value());
      continue;
    }
    if (!isInput) {
      shape.push_back(ShapedType::kDynamic);
      continue;
    }
    std::string sym = d.has_dim_param() ? "'" + d.dim_param() + "'" : "unknown";
    error = what + " dim " + std::to_string(i) + " is " + sym +
            ": give a static shape with --input-shape " + info.name() + "=d0,d1,...";
    return failure();
  }
  // Output shapes may keep dynamic dims (negative here); only inputs must be static.
  if (isInput && checkedElementCount(shape) < 0) {
    error = what + " has an element count that overflows";
    return failure();
  }
  return Type(RankedTensorType::get(shape, *elem));
}

FailureOr<ElementsAttr> Importer::tensorAttr(const onnx::TensorProto &t) {
  std::string what = "tensor '" + t.name() + "'";
  auto elem = elementType(t.data_type(), what);
  if (failed(elem))
    return failure();
  SmallVector<int64_t> dims(t.dims().begin(), t.dims().end());
  std::vector<char> bytes;
  std::string readError;
  if (!readTensorBytes(t, modelDir, options.maxTensorBytes, bytes, readError)) {
    if (error.empty())
      error = readError;
    return failure();
  }
  auto type = RankedTensorType::get(dims, *elem);
  if (elem->isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : bytes)
      bits.push_back(c != 0);
    return ElementsAttr(DenseElementsAttr::get(type, bits));
  }
  if (static_cast<int64_t>(bytes.size()) > options.inlineLimitBytes) {
    std::string blobName = t.name().empty() ? "tensor_" + std::to_string(resourceCounter++)
                                            : t.name();
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(bytes.data(), bytes.size()), alignof(uint64_t));
    return ElementsAttr(DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
  }
  bool detectedSplat = false;
  if (!DenseElementsAttr::isValidRawBuffer(type, ArrayRef<char>(bytes.data(), bytes.size()),
                                           detectedSplat)) {
    if (error.empty())
      error = what + " has a data buffer that does not match its type";
    return failure();
  }
  return ElementsAttr(
      DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(bytes.data(), bytes.size())));
}

std::optional<SmallVector<int64_t>> Importer::constInts(StringRef name) {
  auto it = intConstants.find(name);
  if (it != intConstants.end())
    return it->second;
  return std::nullopt;
}

LogicalResult Importer::requireConstInts(Node &n, unsigned input, StringRef what,
                                         SmallVector<int64_t> &out) {
  if (static_cast<int>(input) >= n.proto.input_size() || n.proto.input(input).empty())
    return nodeError(n, "input '" + what + "' is missing");
  auto v = constInts(n.proto.input(input));
  if (!v)
    return nodeError(n, "input '" + what + "' ('" + n.proto.input(input) +
                            "') must be a constant or initializer: shapes are static in mpc");
  out = *v;
  return success();
}

/// Records the integer values of a small constant for shape/axes folding.
void recordIntConstant(llvm::StringMap<SmallVector<int64_t>> &map, StringRef name,
                       ElementsAttr attr) {
  auto dense = dyn_cast<DenseIntElementsAttr>(attr);
  if (!dense || dense.getNumElements() > 4096 || dense.getElementType().isInteger(1))
    return;
  SmallVector<int64_t> vals;
  for (const APInt &v : dense.getValues<APInt>())
    vals.push_back(v.getSExtValue());
  map[name] = std::move(vals);
}

FailureOr<Value> Importer::lookup(StringRef name) {
  auto it = values.find(name);
  if (it != values.end())
    return it->second;
  auto init = initializers.find(name);
  if (init == initializers.end()) {
    error = "value '" + name.str() + "' is used but never defined (dangling input)";
    return failure();
  }
  // Initializers become globals on first use; shape-only initializers never do.
  auto attr = tensorAttr(*init->second);
  if (failed(attr))
    return failure();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(func);
  auto global = ml_program::GlobalOp::create(b,
      NameLoc::get(b.getStringAttr(name)), name, attr->getType(),
      /*is_mutable=*/false, *attr, b.getStringAttr("private"));
  symbols->insert(global);
  Value loaded;
  {
    // Parameter loads stay together at the top of the body, in first-use order.
    OpBuilder entry(&ctx);
    if (lastGlobalLoad)
      entry.setInsertionPointAfter(lastGlobalLoad);
    else
      entry.setInsertionPointToStart(&func.getBody().front());
    auto load = ml_program::GlobalLoadConstOp::create(entry,
        NameLoc::get(b.getStringAttr(name)), attr->getType(),
        FlatSymbolRefAttr::get(global.getSymNameAttr()));
    lastGlobalLoad = load;
    loaded = load;
  }
  values[name] = loaded;
  return loaded;
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

LogicalResult Importer::sortNodes(const onnx::GraphProto &graph,
                                  std::vector<const onnx::NodeProto *> &order) {
  // Kahn's algorithm over value names; ONNX requires sorted graphs, but
  // exporters sometimes emit them unsorted, and cycles must be caught.
  llvm::StringMap<int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto &out : graph.node(i).output()) {
      if (out.empty())
        continue;
      if (!producer.insert({out, i}).second || initializers.count(out) || values.count(out)) {
        error = "value '" + out + "' is defined more than once (second definition by " +
                describeNode(graph.node(i), opset, nodeName(graph.node(i), i)) + ")";
        return failure();
      }
    }
  }
  std::vector<int> pending(graph.node_size(), 0);
  std::vector<std::vector<int>> users(graph.node_size());
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto &in : graph.node(i).input()) {
      auto it = producer.find(in);
      if (in.empty() || it == producer.end())
        continue;
      ++pending[i];
      users[it->second].push_back(i);
    }
  }
  // Always take the earliest ready node, so a sorted graph keeps its order.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < graph.node_size(); ++i)
    if (pending[i] == 0)
      ready.push(i);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(&graph.node(i));
    for (int u : users[i])
      if (--pending[u] == 0)
        ready.push(u);
  }
  if (static_cast<int>(order.size()) != graph.node_size()) {
    for (int i = 0; i < graph.node_size(); ++i)
      if (pending[i] > 0) {
        error = describeNode(graph.node(i), opset, nodeName(graph.node(i), i)) +
                ": the graph has a cycle through this node";
        return failure();
      }
  }
  return success();
}

LogicalResult Importer::importNode(const onnx::NodeProto &proto, int64_t index) {
  currentNode = &proto;
  std::string name = nodeName(proto, index);
  Node n{proto, name, NameLoc::get(b.getStringAttr(name)), opset, {}};
  bool preview = proto.domain() == kPreviewTraining;
  if (!proto.domain().empty() && proto.domain() != "ai.onnx") {
    n.opset = domainOpsets.lookup(proto.domain());
    if (!preview)
      return nodeError(n, "domain '" + proto.domain() + "' is not supported");
    if (n.opset != 1)
      return nodeError(n, "version " + Twine(n.opset) + " of domain '" + kPreviewTraining +
                              "' is not supported (mpc supports version 1)");
  }
  const llvm::StringMap<Handler> &table = preview ? previewTrainingHandlers() : handlers();
  auto it = table.find(proto.op_type());
  if (it == table.end())
    return nodeError(n, "op type '" + proto.op_type() + "' is not supported by mpc");
  // Supported op types added to ai.onnx after opset 13.
  static const llvm::StringMap<int64_t> since = {{"LayerNormalization", 17}, {"Gelu", 20}};
  if (auto s = since.find(proto.op_type()); s != since.end() && opset < s->second)
    return nodeError(n, "op type '" + proto.op_type() + "' is not in opset " + Twine(opset) +
                            " (it was added in opset " + Twine(s->second) + ")");
  // Every supported op has an output; handlers may rely on output(0).
  if (proto.output_size() == 0)
    return nodeError(n, "has no outputs");
  for (const auto &a : proto.attribute())
    if (!a.ref_attr_name().empty())
      return nodeError(n, "attribute references (function bodies) are not supported");
  for (const auto &in : proto.input()) {
    if (in.empty()) {
      n.inputs.push_back(Value());
      continue;
    }
    if (!values.count(in) && !initializers.count(in))
      return nodeError(n, "input '" + in + "' is never defined (dangling input)");
    if (isAttributeInput(proto.op_type(), n.inputs.size(), opset)) {
      // The handler reads its constant value and folds it into an attribute,
      // so it never becomes a parameter or an SSA operand.
      n.inputs.push_back(Value());
      continue;
    }
    auto v = lookup(in);
    if (failed(v))
      return failure();
    n.inputs.push_back(*v);
  }
  SmallVector<Value> results;
  if (failed((this->*(it->second))(n, results)))
    return failure();
  for (auto [i, out] : llvm::enumerate(proto.output())) {
    if (out.empty())
      continue;
    if (i >= results.size() || !results[i])
      return nodeError(n, "output #" + Twine(i) + " ('" + out + "') is not supported");
    values[out] = results[i];
  }
  return success();
}

LogicalResult Importer::importGraph(const onnx::GraphProto &graph) {
  for (const auto &init : graph.initializer()) {
    if (init.name().empty()) {
      error = "an initializer has no name";
      return failure();
    }
    if (!initializers.insert({init.name(), &init}).second) {
      error = "initializer '" + init.name() + "' is defined twice";
      return failure();
    }
    if ((init.data_type() == 6 || init.data_type() == 7) && init.dims_size() <= 1) {
      // Small integer initializers may feed shape/axes inputs.
      std::vector<char> bytes;
      std::string err;
      int64_t count = init.dims_size() ? init.dims(0) : 1;
      if (count <= 4096 && readTensorBytes(init, modelDir, 1 << 20, bytes, err)) {
        SmallVector<int64_t> vals;
        for (int64_t i = 0; i < count; ++i) {
          if (init.data_type() == 7) {
            int64_t v;
            memcpy(&v, bytes.data() + 8 * i, 8);
            vals.push_back(v);
          } else {
            int32_t v;
            memcpy(&v, bytes.data() + 4 * i, 4);
            vals.push_back(v);
          }
        }
        intConstants[init.name()] = vals;
      }
    }
  }
  for (const auto &s : graph.sparse_initializer()) {
    error = "sparse initializer '" + s.values().name() + "' is not supported";
    return failure();
  }

  // Signature: graph inputs that are not initializers (IR < 4 lists both).
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  llvm::StringSet<> seenInputs;
  for (const auto &in : graph.input()) {
    if (initializers.count(in.name()))
      continue;
    if (!seenInputs.insert(in.name()).second) {
      error = "graph input '" + in.name() + "' is declared twice";
      return failure();
    }
    auto t = tensorType(in, /*isInput=*/true);
    if (failed(t))
      return failure();
    argTypes.push_back(*t);
    argNames.push_back(in.name());
  }
  for (auto &kv : options.inputShapes)
    if (!seenInputs.count(kv.getKey())) {
      error = "--input-shape names '" + kv.getKey().str() + "', which is not a graph input";
      return failure();
    }

  b.setInsertionPointToEnd(module.getBody());
  func = func::FuncOp::create(b, NameLoc::get(b.getStringAttr(graph.name())), "main",
                                b.getFunctionType(argTypes, {}));
  symbols = std::make_unique<SymbolTable>(module);
  Block *entry = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(i, "mpc.name", b.getStringAttr(name));
    values[name] = entry->getArgument(i);
  }
  b.setInsertionPointToEnd(entry);

  std::vector<const onnx::NodeProto *> order;
  if (failed(sortNodes(graph, order)))
    return failure();
  // Unnamed nodes are named by their position in the graph, not in `order`.
  llvm::DenseMap<const onnx::NodeProto *, int64_t> position;
  for (int i = 0; i < graph.node_size(); ++i)
    position[&graph.node(i)] = i;
  for (const onnx::NodeProto *node : order)
    if (failed(importNode(*node, position[node])))
      return failure();

  // Results: check declared types against the inferred ones.
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  if (graph.output_size() == 0) {
    error = "the graph has no outputs";
    return failure();
  }
  llvm::StringSet<> seenOutputs;
  for (const auto &out : graph.output()) {
    if (!seenOutputs.insert(out.name()).second) {
      error = "graph output '" + out.name() + "' is listed twice";
      return failure();
    }
    auto v = lookup(out.name());
    if (failed(v)) {
      error = "graph output '" + out.name() + "' is never produced";
      return failure();
    }
    auto declared = tensorType(out, /*isInput=*/false);
    if (failed(declared))
      return failure();
    auto actual = typeOf(*v);
    if (auto d = dyn_cast_or_null<RankedTensorType>(*declared)) {
      bool shapeOk = d.getRank() == actual.getRank();
      for (int64_t i = 0; shapeOk && i < d.getRank(); ++i)
        shapeOk = d.isDynamicDim(i) || d.getDimSize(i) == actual.getDimSize(i);
      if (d.getElementType() != actual.getElementType() || !shapeOk) {
        std::string s1, s2;
        llvm::raw_string_ostream o1(s1), o2(s2);
        o1 << d;
        o2 << actual;
        error = "graph output '" + out.name() + "' is declared " + s1 + " but computes " + s2;
        return failure();
      }
    }
    results.push_back(*v);
    resultTypes.push_back(actual);
  }
  func::ReturnOp::create(b, func.getLoc(), results);
  func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  for (auto [i, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "mpc.name", b.getStringAttr(out.name()));
  return success();
}

//===----------------------------------------------------------------------===//
// Op handlers
//===----------------------------------------------------------------------===//

NamedAttribute named(OpBuilder &b, StringRef name, Attribute value) {
  return b.getNamedAttr(name, value);
}

template <typename OpTy>
LogicalResult Importer::unary(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  auto v = build1<OpTy>(n, {n.input(0)});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

template <typename OpTy>
LogicalResult Importer::binary(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  auto v = build1<OpTy>(n, {n.input(0), n.input(1)});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

template <typename OpTy>
LogicalResult Importer::variadic(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireAllInputs(n)))
    return failure();
  Value acc = n.input(0);
  for (unsigned i = 1; i < n.inputs.size(); ++i) {
    auto v = build1<OpTy>(n, {acc, n.input(i)});
    if (failed(v))
      return failure();
    acc = *v;
  }
  out.push_back(acc);
  return success();
}

LogicalResult Importer::importMean(Node &n, SmallVectorImpl<Value> &out) {
  SmallVector<Value> sum;
  if (failed(variadic<AddOp>(n, sum)))
    return failure();
  Type elem = typeOf(sum[0]).getElementType();
  if (!isa<FloatType>(elem))
    return nodeError(n, "Mean needs float inputs");
  auto scalarType = RankedTensorType::get({}, elem);
  auto count = DenseElementsAttr::get(
      scalarType, FloatAttr::get(elem, static_cast<double>(n.inputs.size())));
  auto c = constant(n, count);
  auto v = build1<DivOp>(n, {sum[0], *c});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importPow(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  Value base = n.input(0), exponent = n.input(1);
  if (!isa<FloatType>(typeOf(base).getElementType()))
    return nodeError(n, "Pow with a non-float base is not supported");
  if (!isa<FloatType>(typeOf(exponent).getElementType())) {
    // ONNX allows integer exponents; compute them in the base's type.
    auto t = RankedTensorType::get(typeOf(exponent).getShape(), typeOf(base).getElementType());
    exponent = CastOp::create(b, n.loc, t, exponent);
  }
  auto v = build1<PowOp>(n, {base, exponent});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importLeakyRelu(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  auto v = build1<LeakyReluOp>(
      n, {n.input(0)}, {named(b, "alpha", b.getF32FloatAttr(n.getFloat("alpha", 0.01f)))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importGelu(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  auto v = build1<GeluOp>(
      n, {n.input(0)},
      {named(b, "approximate", b.getStringAttr(n.getString("approximate", "none")))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importWhere(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 3, 3)))
    return failure();
  auto v = build1<WhereOp>(n, {n.input(0), n.input(1), n.input(2)});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importMatMul(Node &n, SmallVectorImpl<Value> &out) {
  return binary<MatMulOp>(n, out);
}

LogicalResult Importer::importGemm(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 3)))
    return failure();
  SmallVector<Value> operands = {n.input(0), n.input(1)};
  if (n.input(2))
    operands.push_back(n.input(2));
  auto v = build1<GemmOp>(
      n, operands,
      {named(b, "alpha", b.getF32FloatAttr(n.getFloat("alpha", 1.0f))),
       named(b, "beta", b.getF32FloatAttr(n.getFloat("beta", 1.0f))),
       named(b, "trans_a", b.getBoolAttr(n.getInt("transA", 0) != 0)),
       named(b, "trans_b", b.getBoolAttr(n.getInt("transB", 0) != 0))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

namespace {
/// Resolves ONNX window attributes (auto_pad, defaults) to explicit 2-D values.
struct Window {
  SmallVector<int64_t> kernel, strides, pads, dilations;
};
} // namespace

static LogicalResult resolveWindow(Node &n, RankedTensorType x, ArrayRef<int64_t> kernel,
                                   Window &w, std::string &why) {
  if (x.getRank() != 4) {
    why = "only 2-D (rank-4 NCHW) inputs are supported";
    return failure();
  }
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides = n.has("strides") ? n.getInts("strides") : SmallVector<int64_t>{1, 1};
  w.dilations = n.has("dilations") ? n.getInts("dilations") : SmallVector<int64_t>{1, 1};
  w.pads = n.has("pads") ? n.getInts("pads") : SmallVector<int64_t>{0, 0, 0, 0};
  if (w.kernel.size() != 2 || w.strides.size() != 2 || w.dilations.size() != 2 ||
      w.pads.size() != 4) {
    why = "kernel_shape, strides, dilations need 2 values and pads 4";
    return failure();
  }
  std::string autoPad = n.getString("auto_pad", "NOTSET");
  if (autoPad == "NOTSET")
    return success();
  if (autoPad == "VALID") {
    w.pads.assign(4, 0);
    return success();
  }
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER") {
    why = "auto_pad '" + autoPad + "' is not valid";
    return failure();
  }
  for (int i = 0; i < 2; ++i) {
    int64_t in = x.getDimSize(2 + i), s = w.strides[i];
    if (s <= 0) {
      why = "strides must be positive";
      return failure();
    }
    int64_t outSize = (in + s - 1) / s;
    int64_t effective = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t total = std::max<int64_t>(0, (outSize - 1) * s + effective - in);
    int64_t small = total / 2, large = total - small;
    w.pads[i] = autoPad == "SAME_UPPER" ? small : large;
    w.pads[i + 2] = autoPad == "SAME_UPPER" ? large : small;
  }
  return success();
}

LogicalResult Importer::importConv(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 3)))
    return failure();
  auto x = typeOf(n.input(0)), wt = typeOf(n.input(1));
  if (wt.getRank() != 4)
    return nodeError(n, "only 2-D convolution (rank-4 weights) is supported");
  SmallVector<int64_t> kernel = {wt.getDimSize(2), wt.getDimSize(3)};
  if (n.has("kernel_shape") && n.getInts("kernel_shape") != kernel)
    return nodeError(n, "kernel_shape does not match the weight shape");
  Window w;
  std::string why;
  if (failed(resolveWindow(n, x, kernel, w, why)))
    return nodeError(n, why);
  SmallVector<Value> operands = {n.input(0), n.input(1)};
  if (n.input(2))
    operands.push_back(n.input(2));
  auto v = build1<ConvOp>(n, operands,
                          {named(b, "strides", b.getDenseI64ArrayAttr(w.strides)),
                           named(b, "pads", b.getDenseI64ArrayAttr(w.pads)),
                           named(b, "dilations", b.getDenseI64ArrayAttr(w.dilations)),
                           named(b, "group", b.getI64IntegerAttr(n.getInt("group", 1)))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importMaxPool(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  if (n.numOutputs() > 1 && !n.proto.output(1).empty())
    return nodeError(n, "the Indices output of MaxPool is not supported");
  Window w;
  std::string why;
  if (!n.has("kernel_shape"))
    return nodeError(n, "kernel_shape is required");
  if (failed(resolveWindow(n, typeOf(n.input(0)), n.getInts("kernel_shape"), w, why)))
    return nodeError(n, why);
  auto v = build1<MaxPoolOp>(n, {n.input(0)},
                             {named(b, "kernel_shape", b.getDenseI64ArrayAttr(w.kernel)),
                              named(b, "strides", b.getDenseI64ArrayAttr(w.strides)),
                              named(b, "pads", b.getDenseI64ArrayAttr(w.pads)),
                              named(b, "dilations", b.getDenseI64ArrayAttr(w.dilations)),
                              named(b, "ceil_mode", b.getBoolAttr(n.getInt("ceil_mode", 0)))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importAveragePool(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  Window w;
  std::string why;
  if (!n.has("kernel_shape"))
    return nodeError(n, "kernel_shape is required");
  if (failed(resolveWindow(n, typeOf(n.input(0)), n.getInts("kernel_shape"), w, why)))
    return nodeError(n, why);
  if (llvm::any_of(w.dilations, [](int64_t d) { return d != 1; }))
    return nodeError(n, "AveragePool with dilations is not supported");
  auto v = build1<AvgPoolOp>(
      n, {n.input(0)},
      {named(b, "kernel_shape", b.getDenseI64ArrayAttr(w.kernel)),
       named(b, "strides", b.getDenseI64ArrayAttr(w.strides)),
       named(b, "pads", b.getDenseI64ArrayAttr(w.pads)),
       named(b, "ceil_mode", b.getBoolAttr(n.getInt("ceil_mode", 0))),
       named(b, "count_include_pad", b.getBoolAttr(n.getInt("count_include_pad", 0)))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importGlobalAveragePool(Node &n, SmallVectorImpl<Value> &out) {
  return unary<GlobalAvgPoolOp>(n, out);
}

LogicalResult Importer::importBatchNorm(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 5, 5)))
    return failure();
  SmallVector<Value> operands(n.inputs.begin(), n.inputs.begin() + 5);
  auto epsilon = named(b, "epsilon", b.getF32FloatAttr(n.getFloat("epsilon", 1e-5f)));
  if (n.getInt("training_mode", 0) == 0) {
    if (n.numOutputs() > 1 && llvm::any_of(llvm::drop_begin(n.proto.output()),
                                           [](const std::string &s) { return !s.empty(); }))
      return nodeError(n, "running statistics outputs need training_mode = 1");
    auto v = build1<BatchNormOp>(n, operands, {epsilon});
    if (failed(v))
      return failure();
    out.push_back(*v);
    return success();
  }
  auto op = build<BatchNormTrainOp>(
      n, operands, {epsilon, named(b, "momentum", b.getF32FloatAttr(n.getFloat("momentum", 0.9f)))});
  if (failed(op))
    return failure();
  out.append((*op)->getResults().begin(), (*op)->getResults().end());
  return success();
}

LogicalResult Importer::importLayerNorm(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 3)))
    return failure();
  if (n.getInt("stash_type", 1) != 1)
    return nodeError(n, "stash_type other than 1 (float32 statistics) is not supported");
  bool ok = true;
  int64_t axis = normaliseAxis(n, n.getInt("axis", -1), typeOf(n.input(0)).getRank(), ok);
  if (!ok)
    return failure();
  SmallVector<Value> operands = {n.input(0), n.input(1)};
  if (n.input(2))
    operands.push_back(n.input(2));
  auto op = build<LayerNormOp>(n, operands,
                               {named(b, "axis", b.getI64IntegerAttr(axis)),
                                named(b, "epsilon", b.getF32FloatAttr(n.getFloat("epsilon", 1e-5f)))});
  if (failed(op))
    return failure();
  out.append((*op)->getResults().begin(), (*op)->getResults().end());
  return success();
}

template <typename OpTy>
LogicalResult Importer::softmax(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  bool ok = true;
  int64_t axis = normaliseAxis(n, n.getInt("axis", -1), typeOf(n.input(0)).getRank(), ok);
  if (!ok)
    return failure();
  auto v = build1<OpTy>(n, {n.input(0)}, {named(b, "axis", b.getI64IntegerAttr(axis))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

template <typename OpTy>
LogicalResult Importer::reduce(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 2)))
    return failure();
  auto x = typeOf(n.input(0));
  bool axesAsInput = n.proto.op_type() == "ReduceSum" || opset >= 18;
  // Axes moved from the attribute to an input (ReduceSum at 13, the others at
  // 18): the wrong form would silently reduce over every axis.
  if (axesAsInput && n.has("axes"))
    return nodeError(n, "attribute 'axes' is not valid at opset " + Twine(opset) +
                            ": axes are the second input");
  if (!axesAsInput && n.proto.input_size() > 1 && !n.proto.input(1).empty())
    return nodeError(n, "takes its axes as an attribute at opset " + Twine(opset) +
                            ", not as an input");
  SmallVector<int64_t> axes;
  if (axesAsInput) {
    if (n.proto.input_size() > 1 && !n.proto.input(1).empty() &&
        failed(requireConstInts(n, 1, "axes", axes)))
      return failure();
  } else {
    axes = n.getInts("axes");
  }
  if (axes.empty()) {
    if (n.getInt("noop_with_empty_axes", 0)) {
      out.push_back(n.input(0));
      return success();
    }
    for (int64_t d = 0; d < x.getRank(); ++d)
      axes.push_back(d);
  }
  bool ok = true;
  for (int64_t &a : axes)
    a = normaliseAxis(n, a, x.getRank(), ok);
  if (!ok)
    return failure();
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty()) { // rank-0 input: nothing to reduce
    out.push_back(n.input(0));
    return success();
  }
  auto v = build1<OpTy>(n, {n.input(0)},
                        {named(b, "axes", b.getDenseI64ArrayAttr(axes)),
                         named(b, "keepdims", b.getBoolAttr(n.getInt("keepdims", 1) != 0))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importReshape(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 2)))
    return failure();
  SmallVector<int64_t> shape;
  if (failed(requireConstInts(n, 1, "shape", shape)))
    return failure();
  auto x = typeOf(n.input(0));
  bool allowZero = n.getInt("allowzero", 0) != 0;
  int64_t known = 1, inferAt = -1;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (d == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= x.getRank())
        return nodeError(n, "shape copies dim " + Twine(i) + ", which the input does not have");
      d = x.getDimSize(i);
    }
    if (d == -1) {
      if (inferAt >= 0)
        return nodeError(n, "shape has more than one -1");
      inferAt = i;
      continue;
    }
    if (d < 0)
      return nodeError(n, "shape has a negative dim " + Twine(d));
    if (d != 0 && known > INT64_MAX / d)
      return nodeError(n, "shape overflows");
    known *= d;
  }
  if (inferAt >= 0) {
    if (known == 0 || x.getNumElements() % known != 0)
      return nodeError(n, "cannot infer the -1 dim: " + Twine(x.getNumElements()) +
                              " elements do not divide by " + Twine(known));
    shape[inferAt] = x.getNumElements() / known;
  }
  auto v = reshape(n, n.input(0), shape);
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importSqueeze(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 2)))
    return failure();
  auto x = typeOf(n.input(0));
  if (n.has("axes"))
    return nodeError(n, "attribute 'axes' is not valid at opset " + Twine(opset) +
                            ": axes are the second input");
  SmallVector<int64_t> axes;
  if (n.proto.input_size() > 1 && !n.proto.input(1).empty() &&
      failed(requireConstInts(n, 1, "axes", axes)))
    return failure();
  bool ok = true;
  for (int64_t &a : axes) {
    a = normaliseAxis(n, a, x.getRank(), ok);
    if (ok && x.getDimSize(a) != 1)
      return nodeError(n, "cannot squeeze dim " + Twine(a) + " of size " +
                              Twine(x.getDimSize(a)));
  }
  if (!ok)
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < x.getRank(); ++d) {
    bool drop = axes.empty() ? x.getDimSize(d) == 1 : llvm::is_contained(axes, d);
    if (!drop)
      shape.push_back(x.getDimSize(d));
  }
  auto v = reshape(n, n.input(0), shape);
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importUnsqueeze(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 2)))
    return failure();
  auto x = typeOf(n.input(0));
  SmallVector<int64_t> axes;
  if (failed(requireConstInts(n, 1, "axes", axes)))
    return failure();
  int64_t rank = x.getRank() + axes.size();
  bool ok = true;
  for (int64_t &a : axes)
    a = normaliseAxis(n, a, rank, ok);
  if (!ok)
    return failure();
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return nodeError(n, "axes contain a duplicate");
  SmallVector<int64_t> shape;
  int64_t src = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(llvm::is_contained(axes, d) ? 1 : x.getDimSize(src++));
  auto v = reshape(n, n.input(0), shape);
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importFlatten(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  auto x = typeOf(n.input(0));
  int64_t axis = n.getInt("axis", 1);
  if (axis < 0)
    axis += x.getRank();
  if (axis < 0 || axis > x.getRank())
    return nodeError(n, "axis " + Twine(n.getInt("axis", 1)) + " is out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.getRank(); ++d)
    (d < axis ? outer : inner) *= x.getDimSize(d);
  auto v = reshape(n, n.input(0), {outer, inner});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importTranspose(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  int64_t rank = typeOf(n.input(0)).getRank();
  SmallVector<int64_t> perm = n.getInts("perm");
  if (!n.has("perm"))
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  auto v = build1<TransposeOp>(n, {n.input(0)}, {named(b, "perm", b.getDenseI64ArrayAttr(perm))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importConcat(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireAllInputs(n)))
    return failure();
  if (!n.has("axis"))
    return nodeError(n, "attribute 'axis' is required");
  bool ok = true;
  int64_t axis = normaliseAxis(n, n.getInt("axis", 0), typeOf(n.input(0)).getRank(), ok);
  if (!ok)
    return failure();
  auto v = build1<ConcatOp>(n, n.inputs, {named(b, "axis", b.getI64IntegerAttr(axis))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importSplit(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 2)))
    return failure();
  if (n.has("split"))
    return nodeError(n, "attribute 'split' is not valid at opset " + Twine(opset) +
                            ": the sizes are the second input");
  auto x = typeOf(n.input(0));
  bool ok = true;
  int64_t axis = normaliseAxis(n, n.getInt("axis", 0), x.getRank(), ok);
  if (!ok)
    return failure();
  SmallVector<int64_t> sizes;
  int64_t dim = x.getDimSize(axis);
  if (n.proto.input_size() > 1 && !n.proto.input(1).empty()) {
    if (failed(requireConstInts(n, 1, "split", sizes)))
      return failure();
  } else {
    int64_t parts = n.has("num_outputs") ? n.getInt("num_outputs", 1) : n.numOutputs();
    if (parts <= 0)
      return nodeError(n, "needs at least one output");
    // Checked before the sizes are built: num_outputs comes from the file.
    if (parts != n.numOutputs())
      return nodeError(n, "has " + Twine(n.numOutputs()) + " outputs but num_outputs = " +
                              Twine(parts));
    if (opset < 18 && dim % parts != 0)
      return nodeError(n, "dim " + Twine(dim) + " does not split evenly into " + Twine(parts));
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if (static_cast<int64_t>(sizes.size()) != n.numOutputs())
    return nodeError(n, "has " + Twine(n.numOutputs()) + " outputs but " + Twine(sizes.size()) +
                            " split sizes");
  auto op = build<SplitOp>(n, {n.input(0)},
                           {named(b, "axis", b.getI64IntegerAttr(axis)),
                            named(b, "sizes", b.getDenseI64ArrayAttr(sizes))});
  if (failed(op))
    return failure();
  out.append((*op)->getResults().begin(), (*op)->getResults().end());
  return success();
}

LogicalResult Importer::importSlice(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 3, 5)))
    return failure();
  auto x = typeOf(n.input(0));
  int64_t rank = x.getRank();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (failed(requireConstInts(n, 1, "starts", starts)) ||
      failed(requireConstInts(n, 2, "ends", ends)))
    return failure();
  bool hasAxes = n.proto.input_size() > 3 && !n.proto.input(3).empty();
  bool hasSteps = n.proto.input_size() > 4 && !n.proto.input(4).empty();
  if (hasAxes && failed(requireConstInts(n, 3, "axes", axes)))
    return failure();
  if (hasSteps && failed(requireConstInts(n, 4, "steps", steps)))
    return failure();
  if (!hasAxes)
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (!hasSteps)
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return nodeError(n, "starts, ends, axes and steps differ in length");
  SmallVector<int64_t> s(rank, 0), e(x.getShape()), st(rank, 1);
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    bool ok = true;
    int64_t a = normaliseAxis(n, axes[i], rank, ok);
    if (!ok)
      return failure();
    if (seen[a])
      return nodeError(n, "axis " + Twine(a) + " is sliced twice");
    seen[a] = true;
    int64_t dim = x.getDimSize(a), step = steps[i];
    if (step == 0)
      return nodeError(n, "step 0 on axis " + Twine(a));
    auto wrap = [&](int64_t v) { return v < 0 ? (v < -dim ? -1 - dim : v) + dim : v; };
    int64_t start = wrap(starts[i]), end = wrap(ends[i]);
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, 0, std::max<int64_t>(dim - 1, 0));
      end = std::clamp<int64_t>(end, -1, dim - 1);
      if (dim == 0)
        start = end = -1;
    }
    s[a] = start;
    e[a] = end;
    st[a] = step;
  }
  auto v = build1<SliceOp>(n, {n.input(0)},
                           {named(b, "starts", b.getDenseI64ArrayAttr(s)),
                            named(b, "ends", b.getDenseI64ArrayAttr(e)),
                            named(b, "steps", b.getDenseI64ArrayAttr(st))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importGather(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  bool ok = true;
  int64_t axis = normaliseAxis(n, n.getInt("axis", 0), typeOf(n.input(0)).getRank(), ok);
  if (!ok)
    return failure();
  auto v = build1<GatherOp>(n, {n.input(0), n.input(1)},
                            {named(b, "axis", b.getI64IntegerAttr(axis))});
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importExpand(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  SmallVector<int64_t> shape;
  if (failed(requireConstInts(n, 1, "shape", shape)))
    return failure();
  auto x = typeOf(n.input(0));
  auto result = broadcastShapes(x.getShape(), shape);
  if (!result || checkedElementCount(*result) < 0)
    return nodeError(n, "input does not broadcast to the requested shape");
  auto type = RankedTensorType::get(*result, x.getElementType());
  if (type == x) {
    out.push_back(n.input(0));
    return success();
  }
  out.push_back(ExpandOp::create(b, n.loc, type, n.input(0)));
  return success();
}

LogicalResult Importer::importIdentity(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  out.push_back(n.input(0));
  return success();
}

LogicalResult Importer::importConstant(Node &n, SmallVectorImpl<Value> &out) {
  if (n.proto.attribute_size() != 1)
    return nodeError(n, "Constant needs exactly one value attribute");
  const auto &a = n.proto.attribute(0);
  ElementsAttr value;
  if (a.name() == "value") {
    auto attr = tensorAttr(a.t());
    if (failed(attr)) {
      // tensorAttr set `error` without the node; name the node first.
      std::string why = error;
      error.clear();
      return nodeError(n, why);
    }
    value = *attr;
  } else if (a.name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()), a.f());
  } else if (a.name() == "value_floats") {
    SmallVector<float> v(a.floats().begin(), a.floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getF32Type()),
        ArrayRef<float>(v));
  } else if (a.name() == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   static_cast<int64_t>(a.i()));
  } else if (a.name() == "value_ints") {
    SmallVector<int64_t> v(a.ints().begin(), a.ints().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getI64Type()),
        ArrayRef<int64_t>(v));
  } else {
    return nodeError(n, "Constant attribute '" + a.name() + "' is not supported");
  }
  if (n.numOutputs() == 1) {
    recordIntConstant(intConstants, n.proto.output(0), value);
    if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.getNumElements() == 1) {
      Type elem = dense.getElementType();
      if (isa<FloatType>(elem))
        constScalars[n.proto.output(0)] = dense.getSplatValue<APFloat>().convertToDouble();
      else if (elem.isInteger(1))
        constScalars[n.proto.output(0)] = dense.getSplatValue<bool>();
    }
  }
  auto v = constant(n, value);
  out.push_back(*v);
  return success();
}

LogicalResult Importer::importShape(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  auto shape = typeOf(n.input(0)).getShape();
  int64_t rank = shape.size();
  auto clampIndex = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clampIndex(n.getInt("start", 0)), end = clampIndex(n.getInt("end", rank));
  SmallVector<int64_t> dims(shape.begin() + start, shape.begin() + std::max(start, end));
  auto value = DenseElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(dims.size())}, b.getI64Type()),
      ArrayRef<int64_t>(dims));
  intConstants[n.proto.output(0)] = dims;
  out.push_back(*constant(n, value));
  return success();
}

LogicalResult Importer::importCast(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  if (!n.has("to"))
    return nodeError(n, "attribute 'to' is required");
  auto elem = elementType(n.getInt("to", 0), "the target type");
  if (failed(elem)) {
    std::string why = error;
    error.clear();
    return nodeError(n, why);
  }
  auto x = typeOf(n.input(0));
  auto type = RankedTensorType::get(x.getShape(), *elem);
  if (type == x) {
    out.push_back(n.input(0));
    return success();
  }
  auto cast = CastOp::create(b, n.loc, type, n.input(0));
  cast.setSaturate(n.getInt("saturate", 1) != 0);
  cast.setUser(true);
  out.push_back(cast);
  return success();
}

/// ONNX: "if not specified we will auto generate one". Derive it from the node
/// name (FNV-1a), so two dropouts never share a mask stream and the choice is
/// the same on every compile.
static int64_t dropoutSeed(const Node &n) {
  if (n.has("seed"))
    return n.getInt("seed", 0);
  uint64_t h = 1469598103934665603ull;
  for (char c : n.name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h & 0x7FFFFFFFFFFFFFFFull);
}

LogicalResult Importer::importDropout(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 1, 3)))
    return failure();
  float ratio = 0.5f;
  bool training = false;
  auto scalarInput = [&](unsigned i, StringRef what, double &v) -> LogicalResult {
    if (static_cast<int>(i) >= n.proto.input_size() || n.proto.input(i).empty())
      return success();
    auto it = initializers.find(n.proto.input(i));
    const onnx::TensorProto *t = it == initializers.end() ? nullptr : it->second;
    auto c = constScalars.find(n.proto.input(i));
    if (c != constScalars.end()) {
      v = c->second;
      return success();
    }
    if (!t)
      return nodeError(n, "input '" + what + "' ('" + n.proto.input(i) +
                              "') must be a constant or initializer");
    std::vector<char> bytes;
    std::string why;
    if (!readTensorBytes(*t, modelDir, 64, bytes, why))
      return nodeError(n, why);
    if (t->data_type() == 1 && bytes.size() == 4) {
      float f;
      memcpy(&f, bytes.data(), 4);
      v = f;
    } else if (t->data_type() == 9 && bytes.size() == 1) {
      v = bytes[0] != 0;
    } else {
      return nodeError(n, "input '" + what + "' must be a scalar");
    }
    return success();
  };
  double r = ratio, tm = 0;
  if (failed(scalarInput(1, "ratio", r)) || failed(scalarInput(2, "training_mode", tm)))
    return failure();
  ratio = r;
  training = tm != 0;
  auto x = typeOf(n.input(0));
  if (!training) {
    out.push_back(n.input(0));
    if (n.numOutputs() > 1) {
      auto maskType = RankedTensorType::get(x.getShape(), b.getI1Type());
      out.push_back(*constant(n, DenseElementsAttr::get(maskType, true)));
    }
    return success();
  }
  auto op = build<DropoutOp>(n, {n.input(0)},
                             {named(b, "ratio", b.getF32FloatAttr(ratio)),
                              named(b, "seed", b.getI64IntegerAttr(dropoutSeed(n)))});
  if (failed(op))
    return failure();
  out.append((*op)->getResults().begin(), (*op)->getResults().end());
  return success();
}

/// SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss: (input, target,
/// weights?) with `reduction` and an optional `ignore_index`.
template <typename OpTy>
LogicalResult Importer::loss(Node &n, SmallVectorImpl<Value> &out) {
  if (failed(requireInputs(n, 2, 3)))
    return failure();
  SmallVector<Value> operands = {n.input(0), n.input(1)};
  if (n.input(2))
    operands.push_back(n.input(2));
  SmallVector<NamedAttribute> attrs = {
      named(b, "reduction", b.getStringAttr(n.getString("reduction", "mean")))};
  if (n.has("ignore_index"))
    attrs.push_back(named(b, "ignore_index", b.getI64IntegerAttr(n.getInt("ignore_index", 0))));
  auto op = build<OpTy>(n, operands, attrs);
  if (failed(op))
    return failure();
  out.append((*op)->getResults().begin(), (*op)->getResults().end());
  return success();
}

const llvm::StringMap<Importer::Handler> &Importer::handlers() {
  static const llvm::StringMap<Handler> table = {
      {"Neg", &Importer::unary<NegOp>},
      {"Abs", &Importer::unary<AbsOp>},
      {"Exp", &Importer::unary<ExpOp>},
      {"Log", &Importer::unary<LogOp>},
      {"Sqrt", &Importer::unary<SqrtOp>},
      {"Reciprocal", &Importer::unary<ReciprocalOp>},
      {"Tanh", &Importer::unary<TanhOp>},
      {"Sigmoid", &Importer::unary<SigmoidOp>},
      {"Relu", &Importer::unary<ReluOp>},
      {"Erf", &Importer::unary<ErfOp>},
      {"Not", &Importer::unary<NotOp>},
      {"LeakyRelu", &Importer::importLeakyRelu},
      {"Gelu", &Importer::importGelu},
      {"Add", &Importer::binary<AddOp>},
      {"Sub", &Importer::binary<SubOp>},
      {"Mul", &Importer::binary<MulOp>},
      {"Div", &Importer::binary<DivOp>},
      {"Pow", &Importer::importPow},
      {"Equal", &Importer::binary<EqualOp>},
      {"Less", &Importer::binary<LessOp>},
      {"LessOrEqual", &Importer::binary<LessEqualOp>},
      {"Greater", &Importer::binary<GreaterOp>},
      {"GreaterOrEqual", &Importer::binary<GreaterEqualOp>},
      {"And", &Importer::binary<AndOp>},
      {"Or", &Importer::binary<OrOp>},
      {"Max", &Importer::variadic<MaxOp>},
      {"Min", &Importer::variadic<MinOp>},
      {"Sum", &Importer::variadic<AddOp>},
      {"Mean", &Importer::importMean},
      {"Where", &Importer::importWhere},
      {"MatMul", &Importer::importMatMul},
      {"Gemm", &Importer::importGemm},
      {"Conv", &Importer::importConv},
      {"MaxPool", &Importer::importMaxPool},
      {"AveragePool", &Importer::importAveragePool},
      {"GlobalAveragePool", &Importer::importGlobalAveragePool},
      {"BatchNormalization", &Importer::importBatchNorm},
      {"LayerNormalization", &Importer::importLayerNorm},
      {"Softmax", &Importer::softmax<SoftmaxOp>},
      {"LogSoftmax", &Importer::softmax<LogSoftmaxOp>},
      {"ReduceSum", &Importer::reduce<ReduceSumOp>},
      {"ReduceMean", &Importer::reduce<ReduceMeanOp>},
      {"ReduceMax", &Importer::reduce<ReduceMaxOp>},
      {"Reshape", &Importer::importReshape},
      {"Squeeze", &Importer::importSqueeze},
      {"Unsqueeze", &Importer::importUnsqueeze},
      {"Flatten", &Importer::importFlatten},
      {"Transpose", &Importer::importTranspose},
      {"Concat", &Importer::importConcat},
      {"Split", &Importer::importSplit},
      {"Slice", &Importer::importSlice},
      {"Gather", &Importer::importGather},
      {"Expand", &Importer::importExpand},
      {"Identity", &Importer::importIdentity},
      {"Constant", &Importer::importConstant},
      {"Shape", &Importer::importShape},
      {"Cast", &Importer::importCast},
      {"Dropout", &Importer::importDropout},
      {"SoftmaxCrossEntropyLoss", &Importer::loss<SoftmaxCrossEntropyLossOp>},
      {"NegativeLogLikelihoodLoss", &Importer::loss<NllLossOp>},
  };
  return table;
}

//===----------------------------------------------------------------------===//
// ai.onnx.preview.training
//===----------------------------------------------------------------------===//

const llvm::StringMap<Importer::Handler> &Importer::previewTrainingHandlers() {
  static const llvm::StringMap<Handler> table = {
      {"Adagrad", &Importer::importPreviewOptimizer},
      {"Momentum", &Importer::importPreviewOptimizer},
      {"Adam", &Importer::importPreviewOptimizer},
      {"Gradient", &Importer::importGradient},
  };
  return table;
}

/// Adagrad (R, T, X..., G..., H...), Momentum (R, T, X..., G..., V...) and Adam
/// (R, T, X..., G..., V..., H...) become one op per optimised tensor; the
/// outputs are the new X..., then the new states in input order.
LogicalResult Importer::importPreviewOptimizer(Node &n, SmallVectorImpl<Value> &out) {
  StringRef op = n.proto.op_type();
  unsigned states = op == "Adam" ? 2 : 1;
  unsigned perTensor = 2 + states; // X, G and the states
  unsigned numInputs = n.proto.input_size();
  if (numInputs < 2 + perTensor || (numInputs - 2) % perTensor != 0)
    return nodeError(n, "expects R, T and " + Twine(perTensor) +
                            " inputs per optimised tensor (X..., G..., state...), got " +
                            Twine(numInputs) + " inputs");
  unsigned count = (numInputs - 2) / perTensor;
  if (n.numOutputs() != count * (1 + states))
    return nodeError(n, "optimises " + Twine(count) + " tensor(s) and so has " +
                            Twine(count * (1 + states)) + " outputs, got " +
                            Twine(n.numOutputs()));
  for (unsigned i = 0; i < numInputs; ++i)
    if (!n.input(i))
      return nodeError(n, "input #" + Twine(i) + " must not be omitted");
  // R: a float scalar (f32 in the op), T: an i64 scalar.
  auto scalar = [&](Value v, StringRef what) -> FailureOr<Value> {
    auto t = typeOf(v);
    if (t.getNumElements() != 1)
      return nodeError(n, "input '" + what + "' must be a scalar, got " +
                              Twine(t.getNumElements()) + " elements");
    if (t.getRank() == 0)
      return v;
    return reshape(n, v, {});
  };
  auto f32 = b.getF32Type();
  if (!isa<FloatType>(typeOf(n.input(0)).getElementType()))
    return nodeError(n, "input 'R' must be a float scalar");
  if (!typeOf(n.input(1)).getElementType().isInteger(64))
    return nodeError(n, "input 'T' must be an int64 scalar");
  auto rv = scalar(n.input(0), "R");
  auto tv = scalar(n.input(1), "T");
  if (failed(rv) || failed(tv))
    return failure();
  Value r = *rv;
  if (!typeOf(r).getElementType().isF32())
    r = CastOp::create(b, n.loc, RankedTensorType::get({}, f32), r);
  SmallVector<NamedAttribute> attrs;
  auto f = [&](StringRef name, float dflt) {
    attrs.push_back(b.getNamedAttr(name, b.getF32FloatAttr(n.getFloat(name, dflt))));
  };
  if (op == "Adagrad") {
    f("decay_factor", 0.0f), f("epsilon", 1e-6f), f("norm_coefficient", 0.0f);
  } else if (op == "Momentum") {
    for (StringRef required : {"alpha", "beta", "mode", "norm_coefficient"})
      if (!n.has(required))
        return nodeError(n, "attribute '" + required + "' is required");
    std::string mode = n.getString("mode", "standard");
    if (mode != "standard" && mode != "nesterov")
      return nodeError(n, "mode must be \"standard\" or \"nesterov\", got \"" + mode + "\"");
    f("alpha", 0.0f), f("beta", 0.0f), f("norm_coefficient", 0.0f);
    attrs.push_back(b.getNamedAttr("mode", b.getStringAttr(mode)));
  } else {
    f("alpha", 0.9f), f("beta", 0.999f), f("epsilon", 1e-6f), f("norm_coefficient", 0.0f),
        f("norm_coefficient_post", 0.0f);
  }
  out.assign(count * (1 + states), Value());
  for (unsigned i = 0; i < count; ++i) {
    SmallVector<Value> operands = {r, *tv};
    for (unsigned k = 0; k < perTensor; ++k)
      operands.push_back(n.input(2 + k * count + i));
    for (Value v : ArrayRef<Value>(operands).drop_front(2))
      if (!isa<FloatType>(typeOf(v).getElementType()))
        return nodeError(n, "optimised tensors, gradients and states must be float tensors");
    FailureOr<Operation *> built = failure();
    if (op == "Adagrad")
      built = build<OnnxAdagradOp>(n, operands, attrs);
    else if (op == "Momentum")
      built = build<OnnxMomentumOp>(n, operands, attrs);
    else
      built = build<OnnxAdamOp>(n, operands, attrs);
    if (failed(built))
      return failure();
    for (unsigned k = 0; k <= states; ++k)
      out[k * count + i] = (*built)->getResult(k);
  }
  return success();
}

/// Gradient(xs..., zs...) {xs, zs, y}: the gradients of y with respect to xs,
/// built by mpc's autodiff from the ops imported so far (y must come before
/// the Gradient node in the graph). An x that y does not depend on gets zeros.
LogicalResult Importer::importGradient(Node &n, SmallVectorImpl<Value> &out) {
  auto *xs = n.attr("xs");
  auto *y = n.attr("y");
  if (!xs || !y)
    return nodeError(n, "attributes 'xs' and 'y' are required");
  if (static_cast<int>(n.numOutputs()) != xs->strings_size())
    return nodeError(n, "has " + Twine(n.numOutputs()) + " outputs for " +
                            Twine(xs->strings_size()) + " xs");
  auto yv = values.find(y->s());
  if (yv == values.end())
    return nodeError(n, "y '" + y->s() +
                            "' must be computed by a node before the Gradient node");
  if (!isDifferentiableType(yv->second.getType()))
    return nodeError(n, "y '" + y->s() + "' is not a float tensor");
  SmallVector<Value> wrt;
  for (int i = 0; i < xs->strings_size(); ++i) {
    auto v = lookup(xs->strings(i));
    if (failed(v))
      return failure();
    if (!isDifferentiableType(v->getType()))
      return nodeError(n, "x '" + xs->strings(i) + "' is not a float tensor");
    wrt.push_back(*v);
  }
  Block *block = b.getInsertionBlock();
  // Inside training_info's algorithm the body already ends with the return.
  Operation *before = b.getInsertionPoint() == block->end() ? nullptr : &*b.getInsertionPoint();
  auto grads = buildBackward(*block, before, yv->second, wrt);
  if (failed(grads))
    return nodeError(n, "cannot differentiate '" + y->s() + "' (see the error above)");
  if (before)
    b.setInsertionPoint(before);
  else
    b.setInsertionPointToEnd(block);
  for (auto [x, g] : llvm::zip(wrt, *grads)) {
    if (g) {
      out.push_back(g);
      continue;
    }
    auto type = cast<RankedTensorType>(gradientType(x.getType()));
    auto zero = constant(n, DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
    if (failed(zero))
      return failure();
    out.push_back(*zero);
  }
  return success();
}

/// The initialization graph as a module of its own: @main without arguments
/// whose results are the initialization_binding values (named by their
/// initializers). `initializers` and `intConstants` hold the inference
/// graph's initializers; the graph may use them, its own initializers and
/// constants, nothing else.
OwningOpRef<ModuleOp> Importer::buildInitialization(const onnx::TrainingInfoProto &info) {
  const onnx::GraphProto &graph = info.initialization();
  OwningOpRef<ModuleOp> owned = ModuleOp::create(UnknownLoc::get(&ctx));
  module = *owned;
  for (const auto &init : graph.initializer()) {
    if (!initializers.insert({init.name(), &init}).second) {
      error = "initializer '" + init.name() + "' is already defined by the inference graph";
      return nullptr;
    }
    if ((init.data_type() == 6 || init.data_type() == 7) && init.dims_size() <= 1) {
      auto attr = tensorAttr(init);
      if (failed(attr))
        return nullptr;
      recordIntConstant(intConstants, init.name(), *attr);
    }
  }
  b.setInsertionPointToEnd(module.getBody());
  func = func::FuncOp::create(b, NameLoc::get(b.getStringAttr("initialization")), "main",
                              b.getFunctionType({}, {}));
  symbols = std::make_unique<SymbolTable>(module);
  b.setInsertionPointToEnd(func.addEntryBlock());
  std::vector<const onnx::NodeProto *> order;
  if (failed(sortNodes(graph, order)))
    return nullptr;
  llvm::DenseMap<const onnx::NodeProto *, int64_t> position;
  for (int i = 0; i < graph.node_size(); ++i)
    position[&graph.node(i)] = i;
  for (const onnx::NodeProto *node : order)
    if (failed(importNode(*node, position[node])))
      return nullptr;
  SmallVector<Value> results;
  for (const auto &binding : info.initialization_binding()) {
    if (!values.count(binding.value()) && !initializers.count(binding.value())) {
      error = "initialization_binding '" + binding.key() + "' <- '" + binding.value() + "': '" +
              binding.value() + "' is not computed by the initialization graph";
      return nullptr;
    }
    auto v = lookup(binding.value());
    if (failed(v))
      return nullptr;
    results.push_back(*v);
  }
  func::ReturnOp::create(b, func.getLoc(), results);
  func.setType(b.getFunctionType({}, ValueRange(results).getTypes()));
  for (auto [i, binding] : llvm::enumerate(info.initialization_binding()))
    func.setResultAttr(i, "mpc.name", b.getStringAttr(binding.key()));
  return owned;
}

/// ModelProto.training_info's initialization runs once before the first step:
/// mpc runs it at compile time on the CPU runtime (evaluateOnCpu) and its
/// results become the initial values of the bound initializers' globals.
LogicalResult Importer::applyInitialization(
    const onnx::TrainingInfoProto &info,
    const llvm::StringMap<const onnx::TensorProto *> &mainInits) {
  const onnx::GraphProto &graph = info.initialization();
  if (info.initialization_binding_size() == 0)
    return success(); // nothing is bound: the graph has no effect
  llvm::StringSet<> bound;
  for (const auto &binding : info.initialization_binding()) {
    std::string where = "training_info: initialization_binding '" + binding.key() + "' <- '" +
                        binding.value() + "'";
    if (!mainInits.count(binding.key())) {
      error = where + ": '" + binding.key() + "' is not an initializer of the inference graph";
      return failure();
    }
    if (!bound.insert(binding.key()).second) {
      error = where + ": '" + binding.key() + "' is bound twice";
      return failure();
    }
  }
  // It may use initializers and constants only: name the first other value.
  llvm::StringSet<> defined;
  for (const auto &init : graph.initializer())
    defined.insert(init.name());
  for (const auto &n : graph.node())
    for (const auto &out : n.output())
      defined.insert(out);
  for (const auto &in : graph.input())
    if (!mainInits.count(in.name()) && !defined.count(in.name())) {
      error = "training_info: the initialization graph declares the input '" + in.name() +
              "'; it may only use initializers and constants";
      return failure();
    }
  for (const auto &binding : info.initialization_binding())
    if (!defined.count(binding.value()) && !mainInits.count(binding.value())) {
      error = "training_info: initialization_binding '" + binding.key() + "' <- '" +
              binding.value() + "': '" + binding.value() +
              "' is not computed by the initialization graph";
      return failure();
    }
  for (int i = 0; i < graph.node_size(); ++i)
    for (const auto &in : graph.node(i).input()) {
      if (in.empty() || defined.count(in) || mainInits.count(in) || !values.count(in))
        continue;
      bool isInput = isa<BlockArgument>(values.lookup(in));
      error = "training_info: initialization " +
              describeNode(graph.node(i), opset, nodeName(graph.node(i), i)) + " uses '" + in +
              "', " + (isInput ? "a graph input" : "a value computed by the inference graph or the algorithm") +
              "; the initialization graph may only use initializers and constants";
      return failure();
    }

  Importer sub(ctx, options, modelDir);
  sub.opset = opset;
  sub.domainOpsets = domainOpsets;
  for (auto &kv : mainInits) {
    sub.initializers[kv.getKey()] = kv.getValue();
    if (auto it = intConstants.find(kv.getKey()); it != intConstants.end())
      sub.intConstants[kv.getKey()] = it->second;
  }
  OwningOpRef<ModuleOp> initModule = sub.buildInitialization(info);
  if (!initModule) {
    error = "training_info: initialization: " + (sub.error.empty() ? "import failed" : sub.error);
    return failure();
  }
  // Each result must have the type of the initializer it replaces.
  auto initFunc = (*initModule).lookupSymbol<func::FuncOp>("main");
  for (auto [i, binding] : llvm::enumerate(info.initialization_binding())) {
    const onnx::TensorProto &t = *mainInits.lookup(binding.key());
    auto elem = elementType(t.data_type(), "initializer '" + binding.key() + "'");
    if (failed(elem))
      return failure();
    auto expected = RankedTensorType::get(SmallVector<int64_t>(t.dims().begin(), t.dims().end()),
                                          *elem);
    Type got = initFunc.getResultTypes()[i];
    if (got != expected) {
      std::string s1, s2;
      llvm::raw_string_ostream o1(s1), o2(s2);
      o1 << got;
      o2 << expected;
      error = "training_info: initialization_binding '" + binding.key() + "' <- '" +
              binding.value() + "': the initialization computes '" + binding.value() + "' as " +
              s1 + ", the initializer '" + binding.key() + "' is " + s2;
      return failure();
    }
  }
  SmallVector<ElementsAttr> results;
  std::string evalError;
  if (failed(evaluateOnCpu(*initModule, options.inlineLimitBytes, options.maxTensorBytes, results,
                           evalError))) {
    error = "training_info: initialization: " + evalError;
    return failure();
  }
  // Globals exist for every initializer the step reads (the inference graph
  // and the algorithm are imported): an initializer nothing reads keeps none.
  for (auto [binding, value] : llvm::zip(info.initialization_binding(), results))
    if (auto global = symbols->lookup<ml_program::GlobalOp>(binding.key()))
      global.setValueAttr(value);
  return success();
}

/// ModelProto.training_info: the algorithm graph's nodes follow the inference
/// graph's in @main (they may use its inputs, outputs and initializers, and
/// Gradient), and each update_binding makes its initializer a mutable global
/// that the step stores the bound algorithm output into. The initialization
/// graph is evaluated at compile time (applyInitialization).
LogicalResult Importer::importTrainingInfo(const onnx::ModelProto &model) {
  if (model.training_info_size() > 1) {
    error = "training_info: only one TrainingInfoProto is supported, the model has " +
            std::to_string(model.training_info_size());
    return failure();
  }
  const onnx::TrainingInfoProto &info = model.training_info(0);
  const llvm::StringMap<const onnx::TensorProto *> mainInits = initializers;
  const onnx::GraphProto &algorithm = info.algorithm();
  llvm::StringSet<> mainInitializers;
  for (auto &kv : initializers)
    mainInitializers.insert(kv.getKey());
  for (const auto &init : algorithm.initializer())
    if (!initializers.insert({init.name(), &init}).second) {
      error = "training_info: algorithm initializer '" + init.name() +
              "' is already defined by the inference graph";
      return failure();
    }
  for (const auto &in : algorithm.input())
    if (!values.count(in.name()) && !initializers.count(in.name())) {
      error = "training_info: algorithm input '" + in.name() +
              "' is not an input, output or initializer of the inference graph";
      return failure();
    }
  Operation *ret = func.getBody().front().getTerminator();
  b.setInsertionPoint(ret);
  std::vector<const onnx::NodeProto *> order;
  if (failed(sortNodes(algorithm, order)))
    return failure();
  llvm::DenseMap<const onnx::NodeProto *, int64_t> position;
  for (int i = 0; i < algorithm.node_size(); ++i)
    position[&algorithm.node(i)] = graphNodeCount + i;
  for (const onnx::NodeProto *node : order)
    if (failed(importNode(*node, position[node])))
      return failure();
  for (const auto &binding : info.update_binding()) {
    std::string where = "training_info: update_binding '" + binding.key() + "' <- '" +
                        binding.value() + "'";
    if (!mainInitializers.count(binding.key())) {
      error = where + ": '" + binding.key() + "' is not an initializer of the inference graph";
      return failure();
    }
    auto it = values.find(binding.value());
    if (it == values.end()) {
      error = where + ": '" + binding.value() + "' is not computed by the algorithm";
      return failure();
    }
    auto loaded = lookup(binding.key()); // creates the global when unused so far
    if (failed(loaded))
      return failure();
    auto global = symbols->lookup<ml_program::GlobalOp>(binding.key());
    if (!global || global.getIsMutable()) {
      error = where + ": '" + binding.key() + "' is bound twice or is not a tensor";
      return failure();
    }
    if (global.getType() != it->second.getType()) {
      std::string s1, s2;
      llvm::raw_string_ostream o1(s1), o2(s2);
      o1 << global.getType();
      o2 << it->second.getType();
      error = where + ": the new value has type " + s2 + ", the initializer " + s1;
      return failure();
    }
    global.setIsMutable(true);
    SmallVector<ml_program::GlobalLoadConstOp> loads;
    func.walk([&](ml_program::GlobalLoadConstOp l) {
      if (l.getGlobal().getLeafReference() == global.getSymName())
        loads.push_back(l);
    });
    for (auto l : loads) {
      OpBuilder lb(l);
      auto nl = ml_program::GlobalLoadOp::create(lb, l.getLoc(), l.getType(), l.getGlobalAttr());
      l.replaceAllUsesWith(nl.getResult());
      if (lastGlobalLoad == l.getOperation())
        lastGlobalLoad = nl;
      l.erase();
    }
    OpBuilder sb(ret);
    ml_program::GlobalStoreOp::create(sb, NameLoc::get(b.getStringAttr(binding.key())),
                                      FlatSymbolRefAttr::get(global.getSymNameAttr()),
                                      it->second);
  }
  return applyInitialization(info, mainInits);
}

OwningOpRef<ModuleOp> Importer::run(const onnx::ModelProto &model, std::string &errorOut) {
  int64_t defaultOpset = -1;
  bool hasDefault = false;
  for (const auto &imp : model.opset_import()) {
    if (imp.domain().empty() || imp.domain() == "ai.onnx") {
      defaultOpset = imp.version();
      hasDefault = true;
    } else {
      domainOpsets[imp.domain()] = imp.version();
    }
  }
  // A model of preview-training ops alone (the ONNX backend tests of Adam,
  // Adagrad, Momentum) may import no default-domain opset.
  if (!hasDefault && domainOpsets.count(kPreviewTraining)) {
    defaultOpset = kMaxOpset;
    hasDefault = true;
  }
  if (!hasDefault) {
    errorOut = "the model imports no opset for the default domain 'ai.onnx'";
    return nullptr;
  }
  if (defaultOpset < kMinOpset || defaultOpset > kMaxOpset) {
    errorOut = "opset " + std::to_string(defaultOpset) + " of domain 'ai.onnx' is not supported"
               " (mpc supports opsets " + std::to_string(kMinOpset) + " to " +
               std::to_string(kMaxOpset) + ")";
    return nullptr;
  }
  opset = defaultOpset;
  if (!model.has_graph()) {
    errorOut = "the model has no graph";
    return nullptr;
  }
  OwningOpRef<ModuleOp> owned = ModuleOp::create(UnknownLoc::get(&ctx));
  module = *owned;
  module->setAttr("mpc.opset", b.getI64IntegerAttr(opset));
  if (!model.producer_name().empty())
    module->setAttr("mpc.producer", b.getStringAttr(model.producer_name()));
  if (failed(importGraph(model.graph()))) {
    errorOut = error.empty() ? "import failed" : error;
    return nullptr;
  }
  graphNodeCount = model.graph().node_size();
  if (model.training_info_size() > 0 && failed(importTrainingInfo(model))) {
    errorOut = error.empty() ? "import failed" : error;
    return nullptr;
  }
  return owned;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public entry points
//===----------------------------------------------------------------------===//

bool isOnnxPath(StringRef path) {
  return path.ends_with(".onnx") || path.ends_with(".onnxtxt");
}

void registerImportDialects(DialectRegistry &registry) {
  registry.insert<MpcDialect, func::FuncDialect, ml_program::MLProgramDialect>();
}

bool parseInputShape(StringRef spec, ImportOptions &options, std::string &error) {
  auto [name, dims] = spec.rsplit('=');
  if (name.empty() || dims.empty() || !spec.contains('=')) {
    error = "--input-shape expects name=d0,d1,..., got '" + spec.str() + "'";
    return false;
  }
  SmallVector<int64_t> shape;
  SmallVector<StringRef> parts;
  dims.split(parts, ',');
  for (StringRef p : parts) {
    int64_t d;
    if (p.trim().getAsInteger(10, d) || d < 0) {
      error = "--input-shape " + name.str() + ": '" + p.str() + "' is not a dimension";
      return false;
    }
    shape.push_back(d);
  }
  options.inputShapes[name] = shape;
  return true;
}

OwningOpRef<ModuleOp> importOnnxFile(MLIRContext &context, StringRef path,
                                     const ImportOptions &options, std::string &error) {
  onnx::ModelProto model;
  if (!loadModelProto(path, model, error)) {
    error = oneLineMessage(error);
    return nullptr;
  }
  context.loadDialect<MpcDialect, func::FuncDialect, ml_program::MLProgramDialect>();
  // ONNX Gradient nodes are resolved by the autodiff: its rules must be there.
  DialectRegistry gradients;
  registerGradientExternalModels(gradients);
  context.appendDialectRegistry(gradients);
  std::string dir = llvm::sys::path::parent_path(path).str();
  Importer importer(context, options, dir.empty() ? "." : dir);
  OwningOpRef<ModuleOp> module = importer.run(model, error);
  if (!module) error = oneLineMessage(error);
  return module;
}

} // namespace mpc
