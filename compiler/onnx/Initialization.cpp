//===- Initialization.cpp - run training_info's initialization graph ------===//

#include "compiler/onnx/Initialization.h"

#include <cstring>
#include <memory>
#include <vector>

#include "compiler/plan/PlanEmitter.h"
#include "core/plan.h"
#include "core/session.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
namespace rt = mpc::rt;

namespace mpc {

LogicalResult evaluateOnCpu(ModuleOp module, int64_t inlineLimitBytes, int64_t maxBytes,
                            SmallVectorImpl<ElementsAttr> &results, std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func || func.getNumArguments() != 0) {
    error = "the initialization function must be @main without arguments";
    return failure();
  }
  std::vector<uint8_t> bytes;
  if (failed(emitPlanToBuffer(module, bytes, error)))
    return failure();
  std::shared_ptr<const rt::Plan> plan;
  rt::Status status = rt::Plan::loadFromBuffer(bytes.data(), bytes.size(), {}, &plan);
  if (status.isOk() &&
      plan->activationArenaBytes() + plan->stateArenaBytes() > uint64_t(maxBytes)) {
    error = "it needs " + std::to_string(plan->activationArenaBytes() + plan->stateArenaBytes()) +
            " bytes of working memory, more than the limit of " + std::to_string(maxBytes);
    return failure();
  }
  std::unique_ptr<rt::Session> session;
  if (status.isOk())
    status = rt::Session::create(plan, rt::SessionOptions{}, &session);
  if (status.isOk())
    status = session->run();
  if (!status.isOk()) {
    error = "running it on the CPU runtime: " + status.message();
    return failure();
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto nameAttr = func.getResultAttrOfType<StringAttr>(i, "mpc.name");
    std::string name = nameAttr ? nameAttr.str() : "output" + std::to_string(i);
    rt::TensorView view;
    status = session->output(name, &view);
    if (!status.isOk()) {
      error = "reading its result '" + name + "': " + status.message();
      return failure();
    }
    auto type = cast<RankedTensorType>(func.getResultTypes()[i]);
    if (view.numel() != type.getNumElements() ||
        view.nbytes() * 8 != size_t(type.getNumElements()) *
                                 (type.getElementType().isInteger(1)
                                      ? 8
                                      : type.getElementType().getIntOrFloatBitWidth())) {
      error = "its result '" + name + "' has an unexpected size";
      return failure();
    }
    ArrayRef<char> raw(static_cast<const char *>(view.data), view.nbytes());
    if (type.getElementType().isInteger(1)) {
      SmallVector<bool> bits;
      for (char c : raw)
        bits.push_back(c != 0);
      results.push_back(DenseElementsAttr::get(type, bits));
    } else if (static_cast<int64_t>(raw.size()) > inlineLimitBytes) {
      auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(uint64_t));
      results.push_back(DenseResourceElementsAttr::get(type, name, std::move(blob)));
    } else {
      results.push_back(DenseElementsAttr::getFromRawBuffer(type, raw));
    }
  }
  return success();
}

} // namespace mpc
