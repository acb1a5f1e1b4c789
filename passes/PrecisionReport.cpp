//===- PrecisionReport.cpp - what autocast decided, as JSON / text / dot --===//

#include "passes/PrecisionReport.h"

#include "dialects/mpc/MpcOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace mpc {

namespace {

std::string dtypeName(Type t) {
  Type e = getElementTypeOrSelf(t);
  if (e.isF32())
    return "fp32";
  if (e.isF16())
    return "fp16";
  if (e.isBF16())
    return "bf16";
  if (e.isF64())
    return "fp64";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << e;
  return s;
}

int64_t bytesOf(Type t) {
  auto ranked = dyn_cast<RankedTensorType>(t);
  if (!ranked || !ranked.hasStaticShape())
    return 0;
  unsigned bits = ranked.getElementTypeBitWidth();
  return ranked.getNumElements() * static_cast<int64_t>(bits == 1 ? 8 : bits) / 8;
}

std::string nodeName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return "";
}

/// The element type a parameter load is stored in after export.
Type storedType(ml_program::GlobalLoadConstOp load) {
  Type stored;
  for (Operation *user : load->getUsers()) {
    auto c = dyn_cast<CastOp>(user);
    if (!c || c.getUser() || (stored && stored != c.getType()))
      return load.getType();
    stored = c.getType();
  }
  return stored ? stored : load.getType();
}

struct NodeRow {
  std::string name, op, dtype, rule;
  std::string fp8; // mpc-fp8's verdict on a GEMM: the FP8 GEMM, or "fallback: <reason>"
};

std::vector<NodeRow> collectRows(ModuleOp module) {
  std::vector<NodeRow> rows;
  module.walk([&](Operation *op) {
    auto precision = op->getAttrOfType<DictionaryAttr>("mpc.precision");
    if (!precision)
      return;
    NodeRow row{nodeName(op), op->getName().stripDialect().str(), "", ""};
    if (auto dtype = precision.getAs<TypeAttr>("dtype"))
      row.dtype = dtypeName(dtype.getValue());
    if (auto rule = precision.getAs<StringAttr>("rule"))
      row.rule = rule.str();
    if (auto fp8 = precision.getAs<StringAttr>("fp8"))
      row.fp8 = fp8.str();
    rows.push_back(row);
  });
  return rows;
}

llvm::json::Object bytesJson(const std::map<std::string, int64_t> &m) {
  llvm::json::Object o;
  for (auto &[k, v] : m)
    o[k] = v;
  return o;
}

std::string bytesText(const std::map<std::string, int64_t> &m) {
  std::string s;
  for (auto &[k, v] : m)
    s += (s.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return s.empty() ? "none" : s;
}

std::string dotColor(const std::string &dtype) {
  if (dtype == "fp32")
    return "lightskyblue";
  if (dtype == "bf16")
    return "orange";
  if (dtype == "fp16")
    return "gold";
  if (dtype == "fp64")
    return "gray70";
  return "white";
}

/// Quotes and backslashes escaped, newlines as Graphviz's "\n".
std::string dotEscape(StringRef s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void writeDot(ModuleOp module, llvm::raw_ostream &os) {
  os << "digraph precision {\n  rankdir=TB;\n  node [style=filled, fontname=\"Helvetica\"];\n";
  os << "  legend [shape=note, fillcolor=white, label=\"fp32: blue\\nbf16: orange\\nfp16: "
        "gold\\nfp64: gray\\nint/bool: white\\ncasts: diamonds\"];\n";
  llvm::DenseMap<Value, std::string> ids;
  unsigned counter = 0;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    for (BlockArgument arg : func.getArguments()) {
      std::string id = "n" + std::to_string(counter++);
      ids[arg] = id;
      auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mpc.name");
      std::string dtype = dtypeName(arg.getType());
      os << "  " << id << " [shape=invhouse, fillcolor=" << dotColor(dtype) << ", label=\""
         << dotEscape((name ? name.str() : "input") + "\n" + dtype) << "\"];\n";
    }
    func.walk([&](Operation *op) {
      if (op == func.getOperation())
        return;
      std::string id = "n" + std::to_string(counter++);
      std::string dtype = op->getNumResults() ? dtypeName(op->getResult(0).getType()) : "";
      std::string label = op->getName().stripDialect().str();
      std::string shape = "box";
      if (auto load = dyn_cast<ml_program::GlobalLoadConstOp>(op)) {
        label = load.getGlobal().getLeafReference().str();
        shape = "cylinder";
      } else if (isa<CastOp>(op)) {
        shape = "diamond";
        label = "cast";
      } else if (isa<func::ReturnOp>(op)) {
        shape = "house";
        label = "outputs";
      } else if (std::string n = nodeName(op); !n.empty()) {
        label = n + "\n" + label;
      }
      if (auto precision = op->getAttrOfType<DictionaryAttr>("mpc.precision"))
        if (auto rule = precision.getAs<StringAttr>("rule"))
          label += "\n" + rule.str();
      os << "  " << id << " [shape=" << shape << ", fillcolor=" << dotColor(dtype) << ", label=\""
         << dotEscape(dtype.empty() ? label : label + "\n" + dtype) << "\"];\n";
      for (Value v : op->getOperands())
        if (auto it = ids.find(v); it != ids.end())
          os << "  " << it->second << " -> " << id << ";\n";
      for (Value r : op->getResults())
        ids[r] = id;
    });
  }
  os << "}\n";
}

} // namespace

PrecisionSnapshot snapshotPrecision(ModuleOp module) {
  PrecisionSnapshot s;
  llvm::StringSet<> seenGlobals;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    for (BlockArgument arg : func.getArguments())
      s.activationBytes[dtypeName(arg.getType())] += bytesOf(arg.getType());
    func.walk([&](Operation *op) {
      if (isa<ml_program::GlobalLoadOp>(op))
        return; // training state, counted from its global below
      if (auto load = dyn_cast<ml_program::GlobalLoadConstOp>(op)) {
        if (seenGlobals.insert(load.getGlobal().getLeafReference()).second) {
          Type t = storedType(load);
          s.parameterBytes[dtypeName(t)] += bytesOf(t);
        }
        return;
      }
      if (op->hasTrait<OpTrait::ConstantLike>() || op == func.getOperation())
        return;
      if (auto c = dyn_cast<CastOp>(op)) {
        ++(c.getUser() ? s.userCasts : s.casts);
        // Casts of parameters are folded into the stored parameter.
        if (c.getX().getDefiningOp<ml_program::GlobalLoadConstOp>() && !c.getUser())
          return;
      }
      for (Value r : op->getResults())
        s.activationBytes[dtypeName(r.getType())] += bytesOf(r.getType());
    });
  }
  for (auto global : module.getOps<ml_program::GlobalOp>())
    if (global.getIsMutable())
      s.stateBytes[dtypeName(global.getType())] += bytesOf(global.getType());
  return s;
}

bool writePrecisionReport(ModuleOp module, const PrecisionSnapshot &before,
                          const PrecisionSnapshot &after, StringRef path, std::string &error) {
  StringRef ext = llvm::sys::path::extension(path);
  if (ext != ".json" && ext != ".txt" && ext != ".dot") {
    error = "--precision-report must end in .json, .txt or .dot, got '" + path.str() + "'";
    return false;
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return false;
  }
  std::vector<NodeRow> rows = collectRows(module);
  if (ext == ".dot") {
    writeDot(module, os);
    return true;
  }
  if (ext == ".json") {
    llvm::json::Array nodes;
    for (const NodeRow &r : rows) {
      llvm::json::Object node{{"name", r.name}, {"op", r.op}, {"dtype", r.dtype}, {"rule", r.rule}};
      if (!r.fp8.empty())
        node["fp8"] = r.fp8;
      nodes.push_back(std::move(node));
    }
    llvm::json::Object summary{
        {"casts_inserted", after.casts - before.casts},
        {"casts", after.casts},
        {"user_casts", after.userCasts},
        {"parameter_bytes_before", bytesJson(before.parameterBytes)},
        {"parameter_bytes_after", bytesJson(after.parameterBytes)},
        {"training_state_bytes", bytesJson(after.stateBytes)},
        {"activation_bytes_before", bytesJson(before.activationBytes)},
        {"activation_bytes_after", bytesJson(after.activationBytes)},
    };
    llvm::json::Value root =
        llvm::json::Object{{"nodes", std::move(nodes)}, {"summary", std::move(summary)}};
    os << llvm::formatv("{0:2}", root) << "\n";
    return true;
  }
  size_t w0 = 4, w1 = 2, w2 = 5;
  for (const NodeRow &r : rows) {
    w0 = std::max(w0, r.name.size());
    w1 = std::max(w1, r.op.size());
    w2 = std::max(w2, r.dtype.size());
  }
  auto line = [&](StringRef a, StringRef b, StringRef c, StringRef d) {
    os << llvm::left_justify(a, w0) << "  " << llvm::left_justify(b, w1) << "  "
       << llvm::left_justify(c, w2) << "  " << d << "\n";
  };
  line("node", "op", "dtype", "rule");
  line(std::string(w0, '-'), std::string(w1, '-'), std::string(w2, '-'), "----");
  for (const NodeRow &r : rows)
    line(r.name, r.op, r.dtype, r.fp8.empty() ? r.rule : r.rule + "  [fp8 " + r.fp8 + "]");
  os << "\ncasts: " << after.casts << " (" << (after.casts - before.casts)
     << " inserted), user casts " << after.userCasts << "\n";
  os << "parameter bytes:  before " << bytesText(before.parameterBytes) << "; after "
     << bytesText(after.parameterBytes) << "\n";
  if (!after.stateBytes.empty())
    os << "training state:   " << bytesText(after.stateBytes)
       << " (parameters, optimizer moments and counters)\n";
  os << "activation bytes: before " << bytesText(before.activationBytes) << "; after "
     << bytesText(after.activationBytes) << "\n";
  return true;
}

} // namespace mpc
