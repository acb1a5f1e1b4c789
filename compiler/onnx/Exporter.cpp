//===- Exporter.cpp - mpc dialect -> ONNX model ---------------------------===//
//
// The inverse of the importer for the ops it produces: each mpc op becomes the
// ONNX node it was imported from (reshape -> Reshape with a shape
// initializer, attribute inputs of opset 13/18 as int64 initializers, gelu
// decomposed below opset 20), in block order, which is a topological order.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/Exporter.h"

#include <cmath>
#include <cstring>

#include "compiler/onnx/Checker.h"
#include "dialects/mpc/MpcOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"
#include "onnx/onnx_pb.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace mpc {

namespace {

int32_t onnxElemType(Type t) {
  Type e = getElementTypeOrSelf(t);
  if (e.isF32())
    return onnx::TensorProto::FLOAT;
  if (e.isF16())
    return onnx::TensorProto::FLOAT16;
  if (e.isBF16())
    return onnx::TensorProto::BFLOAT16;
  if (e.isF64())
    return onnx::TensorProto::DOUBLE;
  if (e.isInteger(1))
    return onnx::TensorProto::BOOL;
  if (e.isInteger(8))
    return onnx::TensorProto::INT8;
  if (e.isInteger(32))
    return onnx::TensorProto::INT32;
  if (e.isInteger(64))
    return onnx::TensorProto::INT64;
  if (isa<Float8E4M3FNType>(e))
    return 17; // FLOAT8E4M3FN (newer than libonnx 1.12's enum)
  if (isa<Float8E5M2Type>(e))
    return 19; // FLOAT8E5M2
  return 0;
}

std::string typeStr(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

std::string locName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string n = locName(inner); !n.empty())
        return n;
  return "";
}

/// Little-endian bytes of an elements attribute, one element after another
/// (bool as one byte per element, as ONNX stores it).
bool elementBytes(ElementsAttr attr, std::vector<char> &bytes, std::string &error) {
  auto type = cast<ShapedType>(attr.getType());
  int64_t n = type.getNumElements();
  Type elem = type.getElementType();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob) {
      error = "the data of resource '" + resource.getRawHandle().getKey().str() + "' is missing";
      return false;
    }
    ArrayRef<char> data = blob->getData();
    bytes.assign(data.begin(), data.end());
    return true;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense) {
    error = "unsupported constant attribute kind";
    return false;
  }
  if (elem.isInteger(1)) {
    for (bool b : dense.getValues<bool>())
      bytes.push_back(b ? 1 : 0);
    return true;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    for (int64_t i = 0; i < n; ++i)
      bytes.insert(bytes.end(), raw.begin(), raw.end());
  } else {
    bytes.assign(raw.begin(), raw.end());
  }
  return true;
}

const llvm::fltSemantics &semanticsOf(Type elem) {
  return cast<FloatType>(elem).getFloatSemantics();
}

/// Converts f32 bytes to `to` (f16 / bf16) with round-to-nearest-even.
/// Returns the number of finite values that overflow `to`'s range, and the
/// largest magnitude among them.
int64_t convertFloats(const std::vector<char> &in, Type to, std::vector<char> &out,
                      double &largest) {
  int64_t overflow = 0;
  size_t n = in.size() / 4;
  out.resize(n * 2);
  for (size_t i = 0; i < n; ++i) {
    float f;
    std::memcpy(&f, in.data() + 4 * i, 4);
    llvm::APFloat v(f);
    bool lost = false;
    auto status = v.convert(semanticsOf(to), llvm::APFloat::rmNearestTiesToEven, &lost);
    if ((status & llvm::APFloat::opOverflow) && std::isfinite(f)) {
      ++overflow;
      largest = std::max(largest, static_cast<double>(std::fabs(f)));
    }
    uint16_t bits = static_cast<uint16_t>(v.bitcastToAPInt().getZExtValue());
    std::memcpy(out.data() + 2 * i, &bits, 2);
  }
  return overflow;
}

int64_t irVersionFor(int64_t opset) {
  if (opset <= 14)
    return 7;
  if (opset <= 18)
    return 8;
  if (opset <= 20)
    return 9;
  return 10;
}

class Exporter {
public:
  Exporter(ModuleOp module, std::string &error) : module(module), error(error) {}
  LogicalResult run(onnx::ModelProto &model);

private:
  LogicalResult fail(const Twine &message) {
    error = message.str();
    return failure();
  }
  std::string uniqueValueName(StringRef base);
  std::string uniqueNodeName(StringRef base);
  onnx::NodeProto *addNode(StringRef opType, StringRef nodeName, ArrayRef<std::string> inputs,
                           ArrayRef<std::string> outputs);
  void setTensorType(onnx::ValueInfoProto *info, Type type);
  std::string addInitializer(StringRef base, Type elem, ArrayRef<int64_t> dims,
                             const std::vector<char> &bytes);
  std::string addInts(StringRef base, ArrayRef<int64_t> values);
  std::string addScalar(StringRef base, double value, Type elem);
  std::string castTo(StringRef node, const std::string &input, Type from, Type to);
  LogicalResult exportGlobals();
  LogicalResult exportOp(Operation *op);
  LogicalResult exportGelu(GeluOp op, StringRef node, const std::string &x, const std::string &y);

  ModuleOp module;
  std::string &error;
  func::FuncOp func;
  onnx::GraphProto *graph = nullptr;
  int64_t opset = 17;
  llvm::DenseMap<Value, std::string> names;
  llvm::StringSet<> valueNames, nodeNames;
  llvm::DenseSet<Operation *> foldedCasts;
};

std::string Exporter::uniqueValueName(StringRef base) {
  std::string name = base.empty() ? "t" : base.str();
  for (int i = 1; !valueNames.insert(name).second; ++i)
    name = base.str() + "_" + std::to_string(i);
  return name;
}

std::string Exporter::uniqueNodeName(StringRef base) {
  std::string name = base.empty() ? "node" : base.str();
  for (int i = 1; !nodeNames.insert(name).second; ++i)
    name = base.str() + "_" + std::to_string(i);
  return name;
}

onnx::NodeProto *Exporter::addNode(StringRef opType, StringRef nodeName,
                                   ArrayRef<std::string> inputs, ArrayRef<std::string> outputs) {
  onnx::NodeProto *node = graph->add_node();
  node->set_op_type(opType.str());
  node->set_name(uniqueNodeName(nodeName));
  for (const std::string &in : inputs)
    node->add_input(in);
  for (const std::string &out : outputs)
    node->add_output(out);
  return node;
}

void addAttr(onnx::NodeProto *node, StringRef name, int64_t v) {
  auto *a = node->add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
// ODS returns I64Attr values as uint64_t.
void addAttr(onnx::NodeProto *node, StringRef name, uint64_t v) {
  addAttr(node, name, static_cast<int64_t>(v));
}
void addAttr(onnx::NodeProto *node, StringRef name, float v) {
  auto *a = node->add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void addAttr(onnx::NodeProto *node, StringRef name, StringRef v) {
  auto *a = node->add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v.str());
}
void addAttr(onnx::NodeProto *node, StringRef name, ArrayRef<int64_t> v) {
  auto *a = node->add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}

void Exporter::setTensorType(onnx::ValueInfoProto *info, Type type) {
  auto *tt = info->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnxElemType(type));
  auto *shape = tt->mutable_shape();
  if (auto ranked = dyn_cast<RankedTensorType>(type))
    for (int64_t d : ranked.getShape())
      shape->add_dim()->set_dim_value(d);
}

std::string Exporter::addInitializer(StringRef base, Type elem, ArrayRef<int64_t> dims,
                                     const std::vector<char> &bytes) {
  std::string name = uniqueValueName(base);
  onnx::TensorProto *t = graph->add_initializer();
  t->set_name(name);
  t->set_data_type(onnxElemType(elem));
  for (int64_t d : dims)
    t->add_dims(d);
  t->set_raw_data(bytes.data(), bytes.size());
  return name;
}

std::string Exporter::addInts(StringRef base, ArrayRef<int64_t> values) {
  std::vector<char> bytes(values.size() * 8);
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return addInitializer(base, IntegerType::get(module.getContext(), 64),
                        {static_cast<int64_t>(values.size())}, bytes);
}

std::string Exporter::addScalar(StringRef base, double value, Type elem) {
  llvm::APFloat v(value);
  bool lost = false;
  (void)v.convert(semanticsOf(elem), llvm::APFloat::rmNearestTiesToEven, &lost);
  llvm::APInt bits = v.bitcastToAPInt();
  std::vector<char> bytes(bits.getBitWidth() / 8);
  uint64_t raw = bits.getZExtValue();
  std::memcpy(bytes.data(), &raw, bytes.size());
  return addInitializer(base, elem, {}, bytes);
}

std::string Exporter::castTo(StringRef node, const std::string &input, Type from, Type to) {
  if (getElementTypeOrSelf(from) == getElementTypeOrSelf(to))
    return input;
  std::string out = uniqueValueName(input + "_" + typeStr(getElementTypeOrSelf(to)));
  auto *n = addNode("Cast", (node + "/cast").str(), {input}, {out});
  addAttr(n, "to", static_cast<int64_t>(onnxElemType(to)));
  return out;
}

LogicalResult Exporter::exportGlobals() {
  // Loads by global; a global becomes one initializer.
  llvm::MapVector<StringRef, SmallVector<ml_program::GlobalLoadConstOp>> loads;
  func.walk([&](ml_program::GlobalLoadConstOp load) {
    loads[load.getGlobal().getLeafReference()].push_back(load);
  });
  SymbolTable symbols(module);
  for (auto &[symbol, uses] : loads) {
    auto global = symbols.lookup<ml_program::GlobalOp>(symbol);
    if (!global || !global.getValue())
      return fail("global '" + symbol + "' has no value to export");
    auto value = dyn_cast<ElementsAttr>(*global.getValue());
    if (!value)
      return fail("global '" + symbol + "' does not hold a tensor");
    auto type = cast<ShapedType>(value.getType());
    std::vector<char> bytes;
    if (!elementBytes(value, bytes, error)) {
      error = "global '" + symbol.str() + "': " + error;
      return failure();
    }
    // Fold the casts when every use of the parameter is one compiler cast type.
    Type folded;
    SmallVector<CastOp> casts;
    bool foldable = type.getElementType().isF32();
    for (auto load : uses)
      for (Operation *user : load->getUsers()) {
        auto c = dyn_cast<CastOp>(user);
        Type to = c ? getElementTypeOrSelf(c.getType()) : Type();
        if (!c || c.getUser() || !(to.isF16() || to.isBF16()) || (folded && folded != to)) {
          foldable = false;
          continue;
        }
        folded = to;
        casts.push_back(c);
      }
    if (foldable && folded) {
      std::vector<char> low;
      double largest = 0;
      int64_t overflow = convertFloats(bytes, folded, low, largest);
      if (overflow == 0) {
        std::string name = addInitializer(symbol, folded, type.getShape(), low);
        for (CastOp c : casts) {
          names[c.getY()] = name;
          foldedCasts.insert(c);
        }
        for (auto load : uses)
          names[load.getResult()] = name;
        continue;
      }
      llvm::errs() << "mpc-opt: warning: initializer '" << symbol << "' has " << overflow
                   << " value(s) outside the " << (folded.isF16() ? "fp16" : "bf16")
                   << " range (largest |x| = " << largest << "): kept in fp32 with a Cast node\n";
    }
    std::string name = addInitializer(symbol, type.getElementType(), type.getShape(), bytes);
    for (auto load : uses)
      names[load.getResult()] = name;
  }
  return success();
}

LogicalResult Exporter::exportGelu(GeluOp op, StringRef node, const std::string &x,
                                   const std::string &y) {
  if (opset >= 20) {
    auto *n = addNode("Gelu", node, {x}, {y});
    addAttr(n, "approximate", op.getApproximate());
    return success();
  }
  Type elem = getElementTypeOrSelf(op.getX().getType());
  auto tmp = [&](StringRef suffix) { return uniqueValueName((node + "/" + suffix).str()); };
  auto bin = [&](StringRef type, StringRef suffix, const std::string &a, const std::string &b,
                 std::string out = "") {
    if (out.empty())
      out = tmp(suffix);
    addNode(type, (node + "/" + suffix).str(), {a, b}, {out});
    return out;
  };
  std::string one = addScalar((node + "/one").str(), 1.0, elem);
  std::string half = addScalar((node + "/half").str(), 0.5, elem);
  std::string inner;
  if (op.getApproximate() == "tanh") {
    std::string x2 = bin("Mul", "x2", x, x);
    std::string x3 = bin("Mul", "x3", x2, x);
    std::string c = addScalar((node + "/c").str(), 0.044715, elem);
    std::string k = addScalar((node + "/k").str(), std::sqrt(2.0 / M_PI), elem);
    std::string poly = bin("Add", "poly", x, bin("Mul", "cx3", x3, c));
    std::string t = tmp("tanh");
    addNode("Tanh", (node + "/tanh").str(), {bin("Mul", "scaled", poly, k)}, {t});
    inner = t;
  } else {
    std::string r = addScalar((node + "/rsqrt2").str(), 1.0 / std::sqrt(2.0), elem);
    std::string e = tmp("erf");
    addNode("Erf", (node + "/erf").str(), {bin("Mul", "scaled", x, r)}, {e});
    inner = e;
  }
  std::string onePlus = bin("Add", "one_plus", inner, one);
  std::string xTimes = bin("Mul", "x_times", x, onePlus);
  bin("Mul", "", xTimes, half, y);
  return success();
}

LogicalResult Exporter::exportOp(Operation *op) {
  if (isa<ml_program::GlobalLoadConstOp, func::ReturnOp>(op) || foldedCasts.contains(op))
    return success();
  std::string node = locName(op->getLoc());
  if (node.empty())
    node = op->getName().stripDialect().str();
  auto nodeError = [&](const Twine &what) {
    return fail("node '" + node + "' (" + op->getName().getStringRef() + "): " + what);
  };
  SmallVector<std::string> in;
  for (Value v : op->getOperands()) {
    auto it = names.find(v);
    if (it == names.end())
      return nodeError("an operand has no ONNX name (defined outside @main?)");
    in.push_back(it->second);
  }
  SmallVector<std::string> out;
  for (auto [i, r] : llvm::enumerate(op->getResults())) {
    if (!names.count(r))
      names[r] =
          uniqueValueName(op->getNumResults() == 1 ? node : node + "_out" + std::to_string(i));
    out.push_back(names[r]);
  }
  Type t0 = op->getNumOperands() ? op->getOperand(0).getType() : Type();
  auto simple = [&](StringRef type) { return addNode(type, node, in, out); };
  // Ops that map one to one, without attributes.
  static const llvm::StringSet<> direct = {
      "neg",     "abs",           "exp", "log", "sqrt",  "reciprocal", "tanh",
      "sigmoid", "relu",          "erf", "not", "add",   "sub",        "mul",
      "div",     "max",           "min", "pow", "equal", "less",       "less_equal",
      "greater", "greater_equal", "and", "or",  "where", "matmul",     "global_avg_pool"};
  if (isa<MpcDialect>(op->getDialect()) && direct.contains(op->getName().stripDialect())) {
    simple(onnxOpTypeOf(op->getName().stripDialect(), opset));
    return success();
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](LeakyReluOp o) {
        addAttr(simple("LeakyRelu"), "alpha", o.getAlpha().convertToFloat());
        return success();
      })
      .Case([&](GeluOp o) { return exportGelu(o, node, in[0], out[0]); })
      .Case([&](GemmOp o) {
        if (o.getC())
          in[2] = castTo(node, in[2], o.getC().getType(), t0);
        auto *n = addNode("Gemm", node, in, out);
        addAttr(n, "alpha", o.getAlpha().convertToFloat());
        addAttr(n, "beta", o.getBeta().convertToFloat());
        addAttr(n, "transA", static_cast<int64_t>(o.getTransA()));
        addAttr(n, "transB", static_cast<int64_t>(o.getTransB()));
        return success();
      })
      .Case([&](ConvOp o) {
        auto w = cast<RankedTensorType>(o.getW().getType());
        auto *n = simple("Conv");
        addAttr(n, "kernel_shape", ArrayRef<int64_t>{w.getDimSize(2), w.getDimSize(3)});
        addAttr(n, "strides", o.getStrides());
        addAttr(n, "pads", o.getPads());
        addAttr(n, "dilations", o.getDilations());
        addAttr(n, "group", o.getGroup());
        return success();
      })
      .Case([&](MaxPoolOp o) {
        auto *n = simple("MaxPool");
        addAttr(n, "kernel_shape", o.getKernelShape());
        addAttr(n, "strides", o.getStrides());
        addAttr(n, "pads", o.getPads());
        addAttr(n, "dilations", o.getDilations());
        addAttr(n, "ceil_mode", static_cast<int64_t>(o.getCeilMode()));
        return success();
      })
      .Case([&](AvgPoolOp o) {
        auto *n = simple("AveragePool");
        addAttr(n, "kernel_shape", o.getKernelShape());
        addAttr(n, "strides", o.getStrides());
        addAttr(n, "pads", o.getPads());
        addAttr(n, "ceil_mode", static_cast<int64_t>(o.getCeilMode()));
        addAttr(n, "count_include_pad", static_cast<int64_t>(o.getCountIncludePad()));
        return success();
      })
      .Case([&](BatchNormOp o) {
        // Below opset 15 every input shares X's type.
        if (opset < 15)
          for (unsigned i = 1; i < 5; ++i)
            in[i] = castTo(node, in[i], op->getOperand(i).getType(), t0);
        addAttr(addNode("BatchNormalization", node, in, out), "epsilon",
                o.getEpsilon().convertToFloat());
        return success();
      })
      .Case([&](BatchNormTrainOp o) {
        if (opset < 15)
          return nodeError("training-mode BatchNormalization needs opset 15 or later");
        auto *n = addNode("BatchNormalization", node, in, out);
        addAttr(n, "epsilon", o.getEpsilon().convertToFloat());
        addAttr(n, "momentum", o.getMomentum().convertToFloat());
        addAttr(n, "training_mode", int64_t(1));
        return success();
      })
      .Case([&](LayerNormOp o) {
        if (opset < 17)
          return nodeError("LayerNormalization needs opset 17 or later, the module has " +
                           Twine(opset));
        for (unsigned i = 1; i < in.size(); ++i)
          in[i] = castTo(node, in[i], op->getOperand(i).getType(), t0);
        auto *n = addNode("LayerNormalization", node, in, out);
        addAttr(n, "axis", o.getAxis());
        addAttr(n, "epsilon", o.getEpsilon().convertToFloat());
        return success();
      })
      .Case([&](SoftmaxOp o) {
        addAttr(simple("Softmax"), "axis", o.getAxis());
        return success();
      })
      .Case([&](LogSoftmaxOp o) {
        addAttr(simple("LogSoftmax"), "axis", o.getAxis());
        return success();
      })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp>([&](auto o) {
        bool axesInput = isa<ReduceSumOp>(op) ? opset >= 13 : opset >= 18;
        StringRef type = isa<ReduceSumOp>(op)    ? "ReduceSum"
                         : isa<ReduceMeanOp>(op) ? "ReduceMean"
                                                 : "ReduceMax";
        onnx::NodeProto *n;
        if (axesInput) {
          n = addNode(type, node, {in[0], addInts(node + "/axes", o.getAxes())}, out);
        } else {
          n = simple(type);
          addAttr(n, "axes", o.getAxes());
        }
        addAttr(n, "keepdims", static_cast<int64_t>(o.getKeepdims()));
        return success();
      })
      .Case([&](ReshapeOp o) {
        addNode("Reshape", node, {in[0], addInts(node + "/shape", o.getType().getShape())}, out);
        return success();
      })
      .Case([&](ExpandOp o) {
        addNode("Expand", node, {in[0], addInts(node + "/shape", o.getType().getShape())}, out);
        return success();
      })
      .Case([&](TransposeOp o) {
        addAttr(simple("Transpose"), "perm", o.getPerm());
        return success();
      })
      .Case([&](ConcatOp o) {
        addAttr(simple("Concat"), "axis", o.getAxis());
        return success();
      })
      .Case([&](SplitOp o) {
        onnx::NodeProto *n;
        if (opset >= 13) {
          n = addNode("Split", node, {in[0], addInts(node + "/split", o.getSizes())}, out);
        } else {
          n = simple("Split");
          addAttr(n, "split", o.getSizes());
        }
        addAttr(n, "axis", o.getAxis());
        return success();
      })
      .Case([&](SliceOp o) {
        auto x = cast<RankedTensorType>(o.getX().getType());
        SmallVector<int64_t> ends(o.getEnds()), axes;
        for (int64_t d = 0; d < x.getRank(); ++d) {
          axes.push_back(d);
          // mpc's "-1 = before index 0" for negative steps is ONNX's -dim-1.
          if (o.getSteps()[d] < 0 && ends[d] == -1)
            ends[d] = -x.getDimSize(d) - 1;
        }
        addNode("Slice", node,
                {in[0], addInts(node + "/starts", o.getStarts()), addInts(node + "/ends", ends),
                 addInts(node + "/axes", axes), addInts(node + "/steps", o.getSteps())},
                out);
        return success();
      })
      .Case([&](GatherOp o) {
        addAttr(simple("Gather"), "axis", o.getAxis());
        return success();
      })
      .Case([&](ConstantOp o) {
        auto type = cast<ShapedType>(o.getValue().getType());
        std::vector<char> bytes;
        if (!elementBytes(o.getValue(), bytes, error))
          return nodeError(error);
        auto *n = addNode("Constant", node, {}, out);
        auto *a = n->add_attribute();
        a->set_name("value");
        a->set_type(onnx::AttributeProto::TENSOR);
        onnx::TensorProto *t = a->mutable_t();
        t->set_data_type(onnxElemType(type));
        for (int64_t d : type.getShape())
          t->add_dims(d);
        t->set_raw_data(bytes.data(), bytes.size());
        return success();
      })
      .Case([&](DropoutOp o) {
        std::string ratio = addScalar(node + "/ratio", o.getRatio().convertToDouble(),
                                      Float32Type::get(op->getContext()));
        std::vector<char> yes = {1};
        std::string training =
            addInitializer(node + "/training_mode", IntegerType::get(op->getContext(), 1), {}, yes);
        auto *n = addNode("Dropout", node, {in[0], ratio, training}, out);
        addAttr(n, "seed", o.getSeed());
        return success();
      })
      .Case<SoftmaxCrossEntropyLossOp, NllLossOp>([&](auto o) {
        auto *n =
            simple(isa<NllLossOp>(op) ? "NegativeLogLikelihoodLoss" : "SoftmaxCrossEntropyLoss");
        addAttr(n, "reduction", o.getReduction());
        if (o.getIgnoreIndex())
          addAttr(n, "ignore_index", static_cast<int64_t>(*o.getIgnoreIndex()));
        return success();
      })
      .Case([&](CastOp o) {
        Type to = getElementTypeOrSelf(o.getType());
        auto *n = simple("Cast");
        addAttr(n, "to", static_cast<int64_t>(onnxElemType(to)));
        if (isa<Float8E4M3FNType, Float8E5M2Type>(to) && opset >= 19)
          addAttr(n, "saturate", static_cast<int64_t>(o.getSaturate()));
        return success();
      })
      .Default([&](Operation *) { return nodeError("has no ONNX equivalent for export"); });
}

LogicalResult Exporter::run(onnx::ModelProto &model) {
  for (auto f : module.getOps<func::FuncOp>())
    if (f.getName() == "main" || !func)
      func = f;
  if (!func || func.isExternal())
    return fail("the module has no @main function to export");
  if (func.getBody().getBlocks().size() != 1)
    return fail("@main must have a single block");
  if (auto attr = module->getAttrOfType<IntegerAttr>("mpc.opset"))
    opset = attr.getInt();
  if (opset < 13)
    return fail("export needs opset 13 or later, the module has " + Twine(opset));
  model.set_ir_version(irVersionFor(opset));
  model.set_producer_name("mpc");
  if (auto producer = module->getAttrOfType<StringAttr>("mpc.producer"))
    model.set_doc_string(("imported from " + producer.getValue()).str());
  auto *imp = model.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  graph = model.mutable_graph();
  std::string graphName = locName(func.getLoc());
  graph->set_name(graphName.empty() ? "main" : graphName);

  // Graph inputs and outputs keep their names; reserve them first.
  for (BlockArgument arg : func.getArguments()) {
    auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mpc.name");
    std::string n =
        uniqueValueName(name ? name.str() : "input_" + std::to_string(arg.getArgNumber()));
    names[arg] = n;
    if (!onnxElemType(arg.getType()))
      return fail("graph input '" + n + "' has type " + typeStr(arg.getType()) +
                  ", which ONNX export does not support");
    setTensorType(graph->add_input(), arg.getType());
    graph->mutable_input(graph->input_size() - 1)->set_name(n);
  }
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<std::string> outputNames;
  llvm::DenseSet<Value> claimed;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "mpc.name");
    std::string n = name ? name.str() : "output_" + std::to_string(i);
    if (!valueNames.insert(n).second)
      n = uniqueValueName(n);
    outputNames.push_back(n);
    Operation *def = v.getDefiningOp();
    if (def && !isa<ml_program::GlobalLoadConstOp>(def) && claimed.insert(v).second)
      names[v] = n;
  }
  if (failed(exportGlobals()))
    return failure();
  for (Operation &op : func.getBody().front())
    if (failed(exportOp(&op)))
      return failure();
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    if (names[v] != outputNames[i])
      addNode("Identity", outputNames[i], {names[v]}, {outputNames[i]});
    onnx::ValueInfoProto *info = graph->add_output();
    info->set_name(outputNames[i]);
    if (!onnxElemType(v.getType()))
      return fail("graph output '" + outputNames[i] + "' has type " + typeStr(v.getType()) +
                  ", which ONNX export does not support");
    setTensorType(info, v.getType());
  }
  return success();
}

} // namespace

std::string onnxOpTypeOf(StringRef mpcOpName, int64_t opset) {
  static const llvm::StringMap<StringRef> names = {
      {"neg", "Neg"},
      {"abs", "Abs"},
      {"exp", "Exp"},
      {"log", "Log"},
      {"sqrt", "Sqrt"},
      {"reciprocal", "Reciprocal"},
      {"tanh", "Tanh"},
      {"sigmoid", "Sigmoid"},
      {"relu", "Relu"},
      {"erf", "Erf"},
      {"not", "Not"},
      {"leaky_relu", "LeakyRelu"},
      {"add", "Add"},
      {"sub", "Sub"},
      {"mul", "Mul"},
      {"div", "Div"},
      {"max", "Max"},
      {"min", "Min"},
      {"pow", "Pow"},
      {"equal", "Equal"},
      {"less", "Less"},
      {"less_equal", "LessOrEqual"},
      {"greater", "Greater"},
      {"greater_equal", "GreaterOrEqual"},
      {"and", "And"},
      {"or", "Or"},
      {"where", "Where"},
      {"matmul", "MatMul"},
      {"gemm", "Gemm"},
      {"conv", "Conv"},
      {"max_pool", "MaxPool"},
      {"avg_pool", "AveragePool"},
      {"global_avg_pool", "GlobalAveragePool"},
      {"batch_norm", "BatchNormalization"},
      {"batch_norm_train", "BatchNormalization"},
      {"layer_norm", "LayerNormalization"},
      {"softmax", "Softmax"},
      {"log_softmax", "LogSoftmax"},
      {"reduce_sum", "ReduceSum"},
      {"reduce_mean", "ReduceMean"},
      {"reduce_max", "ReduceMax"},
      {"reshape", "Reshape"},
      {"transpose", "Transpose"},
      {"concat", "Concat"},
      {"split", "Split"},
      {"slice", "Slice"},
      {"gather", "Gather"},
      {"expand", "Expand"},
      {"constant", "Constant"},
      {"dropout", "Dropout"},
      {"softmax_cross_entropy_loss", "SoftmaxCrossEntropyLoss"},
      {"nll_loss", "NegativeLogLikelihoodLoss"},
      {"cast", "Cast"}};
  // Below opset 20 gelu is written out with Erf (or Tanh), Mul and Add.
  if (mpcOpName == "gelu")
    return opset >= 20 ? "Gelu" : "Erf";
  auto it = names.find(mpcOpName);
  return it == names.end() ? "" : it->second.str();
}

bool onnxSupportsDtype(StringRef mpcOpName, Type elem, int64_t opset) {
  std::string opType = onnxOpTypeOf(mpcOpName, opset);
  if (opType.empty())
    return false;
  Type e = getElementTypeOrSelf(elem);
  std::string typeName = e.isBF16() ? "bfloat16" : e.isF16() ? "float16" : e.isF32() ? "float" : "";
  return !typeName.empty() && onnxOpAcceptsType(opType, opset, typeName);
}

LogicalResult exportOnnx(ModuleOp module, StringRef path, std::string &error) {
  onnx::ModelProto model;
  if (failed(Exporter(module, error).run(model)))
    return failure();
  if (model.ByteSizeLong() > (size_t(2) << 30) - 1)
    return error = "the exported model exceeds protobuf's 2 GiB limit", failure();
  int64_t opset = model.opset_import(0).version();
  if (opset <= onnxMaxKnownOpset()) {
    std::string problem = checkOnnxModel(model);
    if (!problem.empty())
      return error = "the exported model fails the ONNX checker: " + problem, failure();
  } else {
    llvm::errs() << "mpc-opt: warning: not validated: libonnx's checker knows opsets up to "
                 << onnxMaxKnownOpset() << ", the model has opset " << opset << "\n";
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    return error = "cannot serialise the ONNX model", failure();
  // Write next to the target and rename: a failure never leaves half a model.
  std::string tmp = (path + ".tmp").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec, llvm::sys::fs::OF_None);
    if (ec)
      return error = "cannot write '" + path.str() + "': " + ec.message(), failure();
    os << bytes;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return error = "cannot write '" + path.str() + "'", failure();
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return error = "cannot write '" + path.str() + "': " + ec.message(), failure();
  }
  return success();
}

} // namespace mpc
