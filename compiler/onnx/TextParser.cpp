//===- TextParser.cpp - libonnx's text parser behind a plain call ---------===//
//
// Compiled with -fexceptions (see compiler/CMakeLists.txt). No MLIR header.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/TextParser.h"

#include <exception>
#include <stdexcept>

#include "onnx/defs/parser.h"

namespace mpc {
namespace {

// libonnx spreads a message over several lines; errors are one line.
std::string joinLines(const std::string &text) {
  std::string out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    size_t a = text.find_first_not_of(" \t\r", begin), b = text.find_last_not_of(" \t\r", end - 1);
    if (a != std::string::npos && a < end && b != std::string::npos && b >= a) {
      if (!out.empty()) out += ' ';
      out.append(text, a, b - a + 1);
    }
    begin = end + 1;
  }
  return out;
}

} // namespace

bool parseOnnxText(const char *text, onnx::ModelProto &model, std::string &error) {
  try {
    onnx::OnnxParser parser(text);
    auto status = parser.Parse(model);
    if (status.IsOK()) return true;
    error = joinLines(status.ErrorMessage());
  } catch (const std::invalid_argument &) {
    error = "a number literal is malformed";
  } catch (const std::out_of_range &) {
    error = "a number literal is out of range";
  } catch (const std::exception &e) {
    error = joinLines(e.what());
  } catch (...) {
    error = "the ONNX text parser failed";
  }
  if (error.empty()) error = "the ONNX text parser failed";
  return false;
}

} // namespace mpc
