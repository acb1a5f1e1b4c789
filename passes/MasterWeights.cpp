//===- MasterWeights.cpp - mpc-master-weights -----------------------------===//
//
// Stores trainable parameters in their low compute dtype, optionally with an
// FP32 master copy that the optimizer updates (apex O2 / mixed-precision
// training as in Micikevicius et al. 2018). Runs after mpc-training-step; see
// Passes.td and docs/training.md.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"

#include <cstring>

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_MASTERWEIGHTS
#include "passes/Passes.h.inc"

namespace {

/// The FP32 values of a global's initial value, or nothing when its form is
/// not one the pass reads (then the parameter keeps FP32 storage).
std::optional<std::vector<float>> f32Values(Attribute init) {
  if (auto dense = dyn_cast<DenseElementsAttr>(init)) {
    if (!dense.getElementType().isF32())
      return std::nullopt;
    auto values = dense.getValues<float>();
    return std::vector<float>(values.begin(), values.end());
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || !resource.getElementType().isF32())
      return std::nullopt;
    ArrayRef<char> bytes = blob->getData();
    int64_t n = resource.getNumElements();
    if (bytes.size() != static_cast<size_t>(n) * sizeof(float))
      return std::nullopt;
    std::vector<float> out(n);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  return std::nullopt;
}

/// `values` rounded to nearest even in `type`'s element type, in the same
/// form (dense or resource blob) as `like`.
Attribute convertValues(ArrayRef<float> values, RankedTensorType type, Attribute like,
                        StringRef blobName) {
  auto ft = cast<FloatType>(type.getElementType());
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    APFloat f(values[i]);
    bool lost = false;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    bits[i] = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
  }
  ArrayRef<char> raw(reinterpret_cast<const char *>(bits.data()), bits.size() * sizeof(uint16_t));
  if (isa<DenseResourceElementsAttr>(like))
    return DenseResourceElementsAttr::get(
        type, blobName, HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(uint64_t)));
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

struct MasterWeightsPass : impl::MasterWeightsBase<MasterWeightsPass> {
  using MasterWeightsBase::MasterWeightsBase;

  LogicalResult fail(Operation *at, const Twine &message) {
    at->emitError("mpc-master-weights: ") << message;
    return failure();
  }

  /// The loads of `sym` in `func`.
  static SmallVector<ml_program::GlobalLoadOp> loadsOf(func::FuncOp func, StringRef sym) {
    SmallVector<ml_program::GlobalLoadOp> loads;
    func.walk([&](ml_program::GlobalLoadOp l) {
      if (l.getGlobal().getLeafReference() == sym)
        loads.push_back(l);
    });
    return loads;
  }

  /// Rebuilds optimizer op `op` with `param` as its parameter operand and,
  /// when `working` is set, a working-copy result of that type.
  static Operation *rebuild(OpBuilder &b, Operation *op, Value param, Type working) {
    SmallVector<Value> operands(op->getOperands());
    operands[0] = param;
    SmallVector<NamedAttribute> attrs(op->getAttrs());
    if (working)
      attrs.push_back(NamedAttribute(b.getStringAttr("working_type"), TypeAttr::get(working)));
    b.setInsertionPoint(op);
    if (isa<SgdUpdateOp>(op))
      return SgdUpdateOp::create(b, op->getLoc(), operands, attrs);
    if (isa<MomentumUpdateOp>(op))
      return MomentumUpdateOp::create(b, op->getLoc(), operands, attrs);
    return AdamUpdateOp::create(b, op->getLoc(), operands, attrs);
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Type low;
    if (paramDtype == "bf16")
      low = BFloat16Type::get(ctx);
    else if (paramDtype == "fp16")
      low = Float16Type::get(ctx);
    else if (paramDtype != "fp32")
      return fail(module, "param-dtype must be fp32, bf16 or fp16, got '" + paramDtype + "'");
    if (!low)
      return success();
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!func)
      return fail(module, "the module has no function @main");

    SmallVector<Operation *> updates;
    func.walk([&](Operation *op) {
      if (isa<SgdUpdateOp, MomentumUpdateOp, AdamUpdateOp>(op))
        updates.push_back(op);
    });
    if (updates.empty())
      return fail(func, "expects a training step from mpc-training-step (no optimizer op)");

    SymbolTable symbols(module);
    for (Operation *op : updates) {
      auto paramLoad = op->getOperand(0).getDefiningOp<ml_program::GlobalLoadOp>();
      if (!paramLoad || op->getAttr("working_type"))
        continue;
      StringRef sym = paramLoad.getGlobal().getLeafReference();
      auto global = symbols.lookup<ml_program::GlobalOp>(sym);
      auto type = dyn_cast<RankedTensorType>(global.getType());
      if (!type || !type.getElementType().isF32())
        continue;

      // Every use other than the update must be a cast to the low dtype.
      SmallVector<ml_program::GlobalLoadOp> loads = loadsOf(func, sym);
      SmallVector<CastOp> casts;
      bool lowOnly = true;
      for (auto load : loads)
        for (Operation *user : load->getUsers()) {
          if (user == op)
            continue;
          auto cast = dyn_cast<CastOp>(user);
          if (cast && cast.getType().getElementType() == low)
            casts.push_back(cast);
          else
            lowOnly = false;
        }
      auto values = f32Values(global.getValueAttr());
      if (!lowOnly || casts.empty() || !values)
        continue;

      // The stored parameter becomes the low-precision working copy.
      auto lowType = RankedTensorType::get(type.getShape(), low);
      Attribute oldInit = global.getValueAttr();
      ml_program::GlobalOp master;
      if (this->master) {
        std::string name = (sym + ".master").str();
        if (symbols.lookup(name))
          return fail(global, "the state global '" + name + "' already exists");
        OpBuilder mb(global);
        master = ml_program::GlobalOp::create(mb, NameLoc::get(StringAttr::get(ctx, name)), name,
                                              type, /*is_mutable=*/true, oldInit,
                                              mb.getStringAttr("private"));
        symbols.insert(master);
      }
      global.setTypeAttr(TypeAttr::get(lowType));
      global.setValueAttr(convertValues(*values, lowType, oldInit, (sym + ".working").str()));

      OpBuilder b(ctx);
      for (CastOp cast : casts) {
        b.setInsertionPoint(cast);
        Value working = ml_program::GlobalLoadOp::create(b, cast.getLoc(), lowType,
                                                         FlatSymbolRefAttr::get(global.getSymNameAttr()));
        cast.replaceAllUsesWith(working);
        cast.erase();
      }
      b.setInsertionPoint(op);
      Value param = ml_program::GlobalLoadOp::create(
          b, paramLoad.getLoc(), master ? type : lowType,
          FlatSymbolRefAttr::get((master ? master : global).getSymNameAttr()));
      Operation *updated = rebuild(b, op, param, master ? low : Type());

      // Stores: the new parameter goes to the master (or the low global), the
      // working copy to the low global; moments are unchanged.
      for (unsigned i = 0; i < op->getNumResults(); ++i)
        for (OpOperand &use : llvm::make_early_inc_range(op->getResult(i).getUses())) {
          auto store = dyn_cast<ml_program::GlobalStoreOp>(use.getOwner());
          if (i == 0 && store && master)
            store.setGlobalAttr(FlatSymbolRefAttr::get(master.getSymNameAttr()));
          use.set(updated->getResult(i));
        }
      if (master) {
        b.setInsertionPointAfter(updated);
        ml_program::GlobalStoreOp::create(b, op->getLoc(),
                                          FlatSymbolRefAttr::get(global.getSymNameAttr()),
                                          updated->getResult(updated->getNumResults() - 1));
      }
      op->erase();
      for (auto load : loads)
        if (load->use_empty())
          load->erase();
    }
    return success();
  }

  void runOnOperation() override {
    if (failed(run()))
      signalPassFailure();
  }
};

} // namespace
} // namespace mpc
