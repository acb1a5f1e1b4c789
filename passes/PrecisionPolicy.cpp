//===- PrecisionPolicy.cpp - autocast policy: presets and user rules ------===//

#include "passes/PrecisionPolicy.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;

namespace mpc {

std::optional<PrecisionPreset> parsePrecisionPreset(llvm::StringRef s) {
  return llvm::StringSwitch<std::optional<PrecisionPreset>>(s)
      .Case("conservative", PrecisionPreset::Conservative)
      .Case("default", PrecisionPreset::Default)
      .Case("aggressive", PrecisionPreset::Aggressive)
      .Default(std::nullopt);
}

llvm::StringRef stringifyPrecisionPreset(PrecisionPreset p) {
  switch (p) {
  case PrecisionPreset::Conservative:
    return "conservative";
  case PrecisionPreset::Default:
    return "default";
  case PrecisionPreset::Aggressive:
    return "aggressive";
  }
  return "default";
}

namespace {

/// ONNX op types whose mpc name is not the snake_case of the ONNX name.
std::vector<std::string> onnxAliases(llvm::StringRef name) {
  return llvm::StringSwitch<std::vector<std::string>>(name)
      .Case("MatMul", {"matmul"})
      .Case("LessOrEqual", {"less_equal"})
      .Case("GreaterOrEqual", {"greater_equal"})
      .Case("AveragePool", {"avg_pool"})
      .Case("GlobalAveragePool", {"global_avg_pool"})
      .Case("BatchNormalization", {"batch_norm", "batch_norm_train"})
      .Case("LayerNormalization", {"layer_norm"})
      .Case("NegativeLogLikelihoodLoss", {"nll_loss"})
      .Case("Sum", {"add"})
      .Cases({"Squeeze", "Unsqueeze", "Flatten"}, {"reshape"})
      .Default({});
}

std::string snakeCase(llvm::StringRef name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0 &&
        std::islower(static_cast<unsigned char>(name[i - 1])))
      out.push_back('_');
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool hasPrecisionInterface(llvm::StringRef mpcName, MLIRContext &context) {
  auto op = RegisteredOperationName::lookup(("mpc." + mpcName).str(), &context);
  return op && op->hasInterface<PrecisionOpInterface>();
}

std::string classList() { return "lower, fp32, promote, pass or exclude"; }

} // namespace

std::vector<std::string> PrecisionPolicy::resolveOpType(llvm::StringRef name,
                                                        MLIRContext &context) {
  name.consume_front("mpc.");
  std::vector<std::string> candidates = onnxAliases(name);
  if (candidates.empty())
    candidates.push_back(name.str() == snakeCase(name) ? name.str() : snakeCase(name));
  std::vector<std::string> out;
  for (const std::string &c : candidates)
    if (hasPrecisionInterface(c, context))
      out.push_back(c);
  return out;
}

bool PrecisionPolicy::loadFile(llvm::StringRef path, MLIRContext &context, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error = path.str() + ": cannot read the policy file: " + buffer.getError().message();
    return false;
  }
  return parse((*buffer)->getBuffer(), path, context, error);
}

bool PrecisionPolicy::parse(llvm::StringRef text, llvm::StringRef source, MLIRContext &context,
                            std::string &error) {
  auto fail = [&](const llvm::Twine &message) {
    error = (source + ": " + message).str();
    return false;
  };
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed) {
    std::string why = llvm::toString(parsed.takeError());
    return fail("bad JSON: " + why);
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return fail("the policy must be a JSON object");

  auto makeRegex = [&](llvm::StringRef pattern, const llvm::Twine &where,
                       std::unique_ptr<llvm::Regex> &out) {
    out = std::make_unique<llvm::Regex>(pattern);
    std::string why;
    if (!out->isValid(why))
      return fail("bad regex '" + pattern + "' in " + where + ": " + why);
    return true;
  };
  auto parseClass = [&](const llvm::json::Value *v, const llvm::Twine &where, PrecisionClass &out) {
    std::optional<llvm::StringRef> s = v ? v->getAsString() : std::nullopt;
    if (!s)
      return fail(where + " needs a \"class\" string (" + classList() + ")");
    auto cls = parsePrecisionClass(*s);
    if (!cls)
      return fail("unknown class '" + *s + "' in " + where + ", expected " + classList());
    out = *cls;
    return true;
  };
  auto resolve = [&](llvm::StringRef name, const llvm::Twine &where,
                     std::vector<std::string> &out) {
    out = resolveOpType(name, context);
    if (out.empty())
      return fail("unknown op type '" + name + "' in " + where +
                  " (an mpc op with a precision class, e.g. matmul or MatMul)");
    return true;
  };

  for (const auto &kv : *root) {
    llvm::StringRef key = kv.first;
    const llvm::json::Value &value = kv.second;
    if (key == "keep_io_types") {
      auto b = value.getAsBoolean();
      if (!b)
        return fail("\"keep_io_types\" must be true or false");
      keepIoTypes = *b;
    } else if (key == "op_types") {
      const llvm::json::Object *obj = value.getAsObject();
      if (!obj)
        return fail("\"op_types\" must be an object mapping op types to classes");
      for (const auto &entry : *obj) {
        std::string where = "op_types." + entry.first.str();
        std::vector<std::string> ops;
        PrecisionClass cls;
        if (!resolve(entry.first, "\"op_types\"", ops) || !parseClass(&entry.second, where, cls))
          return false;
        for (const std::string &op : ops)
          opTypeRules[op] = cls;
      }
    } else if (key == "nodes") {
      const llvm::json::Array *arr = value.getAsArray();
      if (!arr)
        return fail("\"nodes\" must be an array of {\"pattern\", \"class\"} objects");
      for (auto [i, item] : llvm::enumerate(*arr)) {
        std::string where = "nodes[" + std::to_string(i) + "]";
        const llvm::json::Object *obj = item.getAsObject();
        if (!obj)
          return fail(where + " must be an object");
        for (const auto &field : *obj)
          if (field.first != "pattern" && field.first != "class")
            return fail("unknown key '" + field.first.str() + "' in " + where);
        auto pattern = obj->getString("pattern");
        if (!pattern)
          return fail(where + " needs a \"pattern\" string");
        NodeRule rule;
        rule.pattern = pattern->str();
        if (!makeRegex(*pattern, where, rule.regex) ||
            !parseClass(obj->get("class"), where, rule.cls))
          return false;
        nodeRules.push_back(std::move(rule));
      }
    } else if (key == "inputs") {
      const llvm::json::Array *arr = value.getAsArray();
      if (!arr)
        return fail("\"inputs\" must be an array of {\"op_type\"|\"node\", \"index\", "
                    "\"dtype\"} objects");
      for (auto [i, item] : llvm::enumerate(*arr)) {
        std::string where = "inputs[" + std::to_string(i) + "]";
        const llvm::json::Object *obj = item.getAsObject();
        if (!obj)
          return fail(where + " must be an object");
        InputRule rule;
        for (const auto &field : *obj) {
          llvm::StringRef k = field.first;
          if (k == "op_type") {
            auto s = field.second.getAsString();
            if (!s)
              return fail(where + ".op_type must be a string");
            if (!resolve(*s, where, rule.opTypes))
              return false;
          } else if (k == "node") {
            auto s = field.second.getAsString();
            if (!s)
              return fail(where + ".node must be a regex string");
            rule.pattern = s->str();
            if (!makeRegex(*s, where, rule.regex))
              return false;
          } else if (k == "index") {
            auto n = field.second.getAsInteger();
            if (!n || *n < 0 || *n > 1024)
              return fail(where + ".index must be a non-negative operand index");
            rule.index = static_cast<unsigned>(*n);
          } else if (k == "dtype") {
            auto s = field.second.getAsString();
            std::optional<InputPrecision> p;
            if (s)
              p = llvm::StringSwitch<std::optional<InputPrecision>>(*s)
                      .Case("fp32", InputPrecision::Fp32)
                      .Case("low", InputPrecision::Low)
                      .Case("keep", InputPrecision::Keep)
                      .Default(std::nullopt);
            if (!p)
              return fail(where + ".dtype must be \"fp32\", \"low\" or \"keep\"");
            rule.precision = *p;
          } else {
            return fail("unknown key '" + k + "' in " + where);
          }
        }
        if (!obj->get("index") || !obj->get("dtype"))
          return fail(where + " needs \"index\" and \"dtype\"");
        if (rule.opTypes.empty() && rule.pattern.empty())
          return fail(where + " needs \"op_type\" or \"node\"");
        inputRules.push_back(std::move(rule));
      }
    } else {
      return fail("unknown key '" + key +
                  "' (expected keep_io_types, op_types, nodes, "
                  "inputs)");
    }
  }
  return true;
}

PrecisionDecision PrecisionPolicy::classify(llvm::StringRef opName, llvm::StringRef nodeName,
                                            PrecisionClass defaultClass, bool fp32Strict) const {
  for (const NodeRule &rule : nodeRules)
    if (rule.regex->match(nodeName))
      return {rule.cls, ("node:" + rule.pattern + ":" + stringifyPrecisionClass(rule.cls)).str()};
  auto it = opTypeRules.find(opName);
  if (it != opTypeRules.end())
    return {it->second, ("op-type:" + stringifyPrecisionClass(it->second)).str()};
  PrecisionClass cls = defaultClass;
  if (preset == PrecisionPreset::Aggressive && cls != PrecisionClass::Untouched)
    cls = fp32Strict ? PrecisionClass::Fp32 : PrecisionClass::Lower;
  return {cls, (stringifyPrecisionPreset(preset) + ":" + stringifyPrecisionClass(cls)).str()};
}

std::optional<InputPrecision> PrecisionPolicy::inputOverride(llvm::StringRef opName,
                                                             llvm::StringRef nodeName,
                                                             unsigned index) const {
  for (const InputRule &rule : inputRules) {
    if (rule.index != index)
      continue;
    if (!rule.opTypes.empty() && !llvm::is_contained(rule.opTypes, opName))
      continue;
    if (rule.regex && !rule.regex->match(nodeName))
      continue;
    return rule.precision;
  }
  return std::nullopt;
}

} // namespace mpc
