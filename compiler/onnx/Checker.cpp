//===- Checker.cpp - libonnx's model checker behind a plain call ----------===//
//
// Compiled with -fexceptions (see compiler/CMakeLists.txt): the checker throws
// onnx::checker::ValidationError.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/Checker.h"

#include <exception>

#include "onnx/checker.h"
#include "onnx/defs/schema.h"

namespace mpc {

std::string checkOnnxModel(const onnx::ModelProto &model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    std::string message = e.what();
    // The checker's messages span lines; errors here are one line.
    for (char &c : message)
      if (c == '\n')
        c = ' ';
    return message.empty() ? "the ONNX checker rejected the model" : message;
  } catch (...) {
    return "the ONNX checker rejected the model";
  }
  return "";
}

int64_t onnxMaxKnownOpset() {
  const auto &ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = ranges.find("");
  return it == ranges.end() ? 0 : it->second.second;
}

bool onnxOpAcceptsType(const std::string &opType, int64_t opset, const std::string &typeName) {
  const onnx::OpSchema *schema =
      onnx::OpSchemaRegistry::Schema(opType, static_cast<int>(opset), "");
  if (!schema)
    return false;
  const std::string want = "tensor(" + typeName + ")";
  // The op's data type is the constraint of its first float input (Where's
  // first input is the bool condition; Dropout's ratio and BatchNormalization's
  // statistics have constraints of their own).
  for (const auto &input : schema->inputs()) {
    bool takesFloat = false, takesWanted = false;
    for (const std::string *t : input.GetTypes()) {
      takesFloat |= *t == "tensor(float)";
      takesWanted |= *t == want;
    }
    if (takesFloat)
      return takesWanted;
  }
  return false;
}

} // namespace mpc
