//===- Fp8.cpp - mpc-fp8 ---------------------------------------------------===//
//
// Eligible low-precision GEMMs of the forward graph become FP8 GEMMs
// (DESIGN.md section 5, "FP8 delayed scaling"; docs/training.md, "FP8
// training").
//
// Where it runs: after mpc-autocast (eligibility is "the GEMM already computes
// in bf16/fp16", the low-precision class autocast decided) and before
// mpc-training-step, so the backward is built from the FP8 GEMMs' own
// gradient rule (FP8 dgrad and wgrad with E5M2 gradients) rather than from
// bf16 matmuls. mpc-fp8-scale-update then runs after mpc-training-step to
// append the end-of-step scaling update, once the backward's grad_output
// quantizes exist (compiler/Fp8Pipeline.cpp builds this order).
//
// A converted `y = x W` (x: ... x K, W: K x N) becomes
//
//   x2       = reshape x to M x K                (when x has rank > 2)
//   xq, ax   = fp8_quantize x2, <n>.fp8.input.scale      {mpc.fp8_operand}
//   wq, aw   = fp8_quantize W,  <n>.fp8.weight.scale     {mpc.fp8_operand}
//   wt       = transpose wq [1, 0]               (the TN form: both K-major)
//   y2       = fp8_gemm xq, wt, input.scale_inv, weight.scale_inv
//   y        = reshape y2 to y's shape
//
// `mpc.gemm` maps the same way, with its transposes, alpha, beta and bias.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_FP8
#include "passes/Passes.h.inc"

namespace {

std::string nodeNameOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string n = nodeNameOf(inner); !n.empty())
        return n;
  return "";
}

RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

bool isLow(Type t) { return t.isBF16() || t.isF16(); }

/// The GEMM in M, N, K terms, whichever op it is.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
};

/// A MatMul or Gemm as `alpha * op(x) op(w) + beta * c`, with a MatMul's
/// batched input flattened to M x K (built before `op` by `b`).
struct GemmOperands {
  Value x, w, c;
  bool transA = false, transB = false;
  float alpha = 1.0f, beta = 1.0f;
};

GemmOperands gemmOperands(OpBuilder &b, Operation *op, const GemmShape &shape) {
  GemmOperands g{op->getOperand(0), op->getOperand(1), Value()};
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    g.transA = gemm.getTransA();
    g.transB = gemm.getTransB();
    g.alpha = gemm.getAlpha().convertToFloat();
    g.beta = gemm.getBeta().convertToFloat();
    g.c = gemm.getC();
  } else if (rankedOf(g.x).getRank() != 2) {
    g.x = ReshapeOp::create(b, op->getLoc(),
                            RankedTensorType::get({shape.m, shape.k}, rankedOf(g.x).getElementType()),
                            g.x);
  }
  return g;
}

struct Fp8Pass : impl::Fp8Base<Fp8Pass> {
  using Fp8Base::Fp8Base;

  /// Why `op` stays in bf16/fp16, or "" when it can go FP8; fills `shape`.
  std::string ineligible(Operation *op, GemmShape &shape) {
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    auto lt = rankedOf(lhs), rt = rankedOf(rhs);
    Type le = lt.getElementType(), re = rt.getElementType();
    Type ye = rankedOf(op->getResult(0)).getElementType();
    if (!isLow(le) || !isLow(re) || le != re || ye != le) {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << "operands are " << le << " x " << re << " -> " << ye
         << ", not in the low-precision class (FP8 GEMMs replace bf16/fp16 GEMMs: run "
            "--autocast=bf16|fp16 first)";
      return s;
    }
    if (auto mm = dyn_cast<MatMulOp>(op)) {
      if (rt.getRank() != 2 || lt.getRank() < 2)
        return "matmul of a rank-" + std::to_string(lt.getRank()) + " by a rank-" +
               std::to_string(rt.getRank()) +
               " operand: only Linear-style GEMMs (rank >= 2 input, 2-D weight) go FP8";
      shape.k = lt.getShape().back();
      shape.m = lt.getNumElements() / std::max<int64_t>(shape.k, 1);
      shape.n = rt.getDimSize(1);
    } else {
      auto g = cast<GemmOp>(op);
      shape.m = g.getTransA() ? lt.getDimSize(1) : lt.getDimSize(0);
      shape.k = g.getTransA() ? lt.getDimSize(0) : lt.getDimSize(1);
      shape.n = g.getTransB() ? rt.getDimSize(0) : rt.getDimSize(1);
    }
    // MXFP8 blocks run along each GEMM's reduction dim: K in the forward, N in
    // dgrad, M in wgrad, so all three must be multiples of the 32-element block.
    int64_t multiple = recipe == "mxfp8" ? 32 : 16;
    for (auto [name, v] : {std::pair("M", shape.m), std::pair("N", shape.n), std::pair("K", shape.k)})
      if (v % multiple != 0 || v == 0)
        return std::string(name) + " = " + std::to_string(v) + " is not a multiple of " +
               std::to_string(multiple) +
               (multiple == 16 ? " (cuBLASLt FP8 GEMMs need leading dimensions that are multiples "
                                 "of 16)"
                               : " (MXFP8 uses 32-element blocks along the reduction dim of the "
                                 "forward GEMM and of its dgrad and wgrad)");
    int64_t size = shape.m * shape.n * shape.k;
    if (size < minGemmSize)
      return "M*N*K = " + std::to_string(shape.m) + "*" + std::to_string(shape.n) + "*" +
             std::to_string(shape.k) + " = " + std::to_string(size) + " is below min-gemm-size " +
             std::to_string(minGemmSize) + " (small GEMMs are faster in bf16/fp16)";
    return "";
  }

  /// Adds `fp8 = text` to the op's mpc.precision dictionary.
  void annotate(Operation *op, StringRef text) {
    MLIRContext *ctx = op->getContext();
    SmallVector<NamedAttribute> entries;
    if (auto p = op->getAttrOfType<DictionaryAttr>("mpc.precision"))
      for (NamedAttribute a : p)
        if (a.getName() != "fp8")
          entries.push_back(a);
    entries.emplace_back(StringAttr::get(ctx, "fp8"), StringAttr::get(ctx, text));
    op->setAttr("mpc.precision", DictionaryAttr::get(ctx, entries));
  }

  /// recipe=mxfp8: one mpc.mx_gemm on the high-precision operands, brought
  /// into the TN form by transposes; no scaling state (block scales are
  /// computed from each block).
  void convertMx(Operation *op, const GemmShape &shape) {
    MLIRContext *ctx = op->getContext();
    Location loc = op->getLoc();
    OpBuilder b(op);
    auto transpose = [&](Value v) -> Value {
      return TransposeOp::create(b, loc, v, ArrayRef<int64_t>{1, 0});
    };
    auto [x, w, c, transA, transB, alpha, beta] = gemmOperands(b, op, shape);
    Value a = transA ? transpose(x) : x;
    Value bw = transB ? w : transpose(w);
    Type ye = rankedOf(op->getResult(0)).getElementType();
    SmallVector<Value> operands = {a, bw};
    if (c)
      operands.push_back(c);
    bool hybrid = format == "hybrid";
    auto gemm = MxGemmOp::create(
        b, loc, TypeRange{RankedTensorType::get({shape.m, shape.n}, ye)}, operands,
        {NamedAttribute(b.getStringAttr("a_format"), b.getI64IntegerAttr(5)),
         NamedAttribute(b.getStringAttr("b_format"), b.getI64IntegerAttr(5)),
         NamedAttribute(b.getStringAttr("grad_format"), b.getI64IntegerAttr(hybrid ? 6 : 5)),
         NamedAttribute(b.getStringAttr("alpha"), b.getF32FloatAttr(alpha)),
         NamedAttribute(b.getStringAttr("beta"), b.getF32FloatAttr(beta))});
    if (auto p = op->getAttrOfType<DictionaryAttr>("mpc.precision"))
      gemm->setAttr("mpc.precision", p);
    std::string yName;
    llvm::raw_string_ostream(yName) << ye;
    annotate(gemm, "MXFP8 GEMM (32-element blocks along K, E8M0 scales): E4M3 x E4M3 -> " +
                       yName + ", backward with " + (hybrid ? "E5M2" : "E4M3") +
                       " gradients; emulated on the CPU. Hopper has no native MXFP8: the CUDA "
                       "backend would use the per-tensor recipe");
    (void)ctx;
    Value y = gemm.getY();
    if (y.getType() != op->getResult(0).getType())
      y = ReshapeOp::create(b, loc, op->getResult(0).getType(), y);
    op->getResult(0).replaceAllUsesWith(y);
    op->erase();
  }

  LogicalResult convert(Operation *op, func::FuncOp func, const GemmShape &shape,
                        SymbolTable &symbols, StringRef prefix) {
    if (recipe == "mxfp8") {
      convertMx(op, shape);
      return success();
    }
    MLIRContext *ctx = op->getContext();
    Location loc = op->getLoc();
    auto f32 = Float32Type::get(ctx);
    auto scalar = RankedTensorType::get({}, f32);
    Type e4m3 = Float8E4M3FNType::get(ctx);
    bool delayed = recipe == "delayed";
    OpBuilder b(op);

    // Scale and scale_inv of one forward operand: loads of the state
    // (delayed) or computed from the tensor's own amax (current).
    auto scales = [&](StringRef role, Value x) -> FailureOr<std::pair<Value, Value>> {
      if (!delayed) {
        Value amax = AmaxOp::create(b, loc, x);
        auto cs = Fp8CurrentScaleOp::create(
            b, loc, TypeRange{scalar, scalar}, ValueRange{amax},
            {NamedAttribute(b.getStringAttr("format"), b.getI64IntegerAttr(5)),
             NamedAttribute(b.getStringAttr("margin"), b.getI64IntegerAttr(margin))});
        return std::pair<Value, Value>(cs.getScale(), cs.getScaleInv());
      }
      Value s = ml_program::GlobalLoadOp::create(
          b, loc, scalar, FlatSymbolRefAttr::get(ctx, (prefix + ".fp8." + role + ".scale").str()));
      Value si = ml_program::GlobalLoadOp::create(
          b, loc, scalar,
          FlatSymbolRefAttr::get(ctx, (prefix + ".fp8." + role + ".scale_inv").str()));
      return std::pair<Value, Value>(s, si);
    };
    auto quantize = [&](StringRef role, Value x, Value scale) -> Value {
      auto qt = RankedTensorType::get(rankedOf(x).getShape(), e4m3);
      auto q = Fp8QuantizeOp::create(b, loc, TypeRange{qt, scalar}, ValueRange{x, scale});
      if (delayed)
        q->setAttr("mpc.fp8_operand", StringAttr::get(ctx, (prefix + ".fp8." + role).str()));
      return q.getQ();
    };
    auto transpose = [&](Value v) -> Value {
      return TransposeOp::create(b, loc, v, ArrayRef<int64_t>{1, 0});
    };

    auto [x, w, c, transA, transB, alpha, beta] = gemmOperands(b, op, shape);
    if (delayed)
      for (StringRef role : {"input", "weight", "grad_output"})
        if (failed(createState(op, symbols, func, (prefix + ".fp8." + role).str())))
          return failure();
    auto xs = scales("input", x);
    auto ws = scales("weight", w);
    if (failed(xs) || failed(ws))
      return failure();
    Value xq = quantize("input", x, xs->first);
    Value wq = quantize("weight", w, ws->first);
    // TN: a is M x K, b is N x K.
    Value a = transA ? transpose(xq) : xq;
    // matmul's weight is K x N; gemm's is N x K with trans_b.
    Value bq = transB ? wq : transpose(wq);
    Type ye = rankedOf(op->getResult(0)).getElementType();
    auto yt = RankedTensorType::get({shape.m, shape.n}, ye);
    SmallVector<Value> operands = {a, bq, xs->second, ws->second};
    if (c)
      operands.push_back(c);
    auto gemm = Fp8GemmOp::create(
        b, loc, TypeRange{yt}, operands,
        {NamedAttribute(b.getStringAttr("alpha"), b.getF32FloatAttr(alpha)),
         NamedAttribute(b.getStringAttr("beta"), b.getF32FloatAttr(beta))});
    bool hybrid = format == "hybrid";
    gemm->setAttr("mpc.fp8",
                  DictionaryAttr::get(
                      ctx, {NamedAttribute(b.getStringAttr("state"), b.getStringAttr(prefix)),
                            NamedAttribute(b.getStringAttr("grad_format"),
                                           b.getStringAttr(hybrid ? "e5m2" : "e4m3")),
                            NamedAttribute(b.getStringAttr("recipe"), b.getStringAttr(recipe)),
                            NamedAttribute(b.getStringAttr("margin"),
                                           b.getI64IntegerAttr(margin))}));
    if (auto p = op->getAttrOfType<DictionaryAttr>("mpc.precision"))
      gemm->setAttr("mpc.precision", p);
    std::string yName;
    llvm::raw_string_ostream(yName) << ye;
    annotate(gemm, "FP8 GEMM (" + recipe + " scaling): E4M3 x E4M3 -> " + yName +
                       ", FP32 accumulation; backward dgrad/wgrad with " +
                       (hybrid ? "E5M2" : "E4M3") + " gradients" +
                       (delayed ? "; state " + prefix.str() + ".fp8.{input,weight,grad_output}.*"
                                : std::string()));
    Value y = gemm.getY();
    if (y.getType() != op->getResult(0).getType())
      y = ReshapeOp::create(b, loc, op->getResult(0).getType(), y);
    op->getResult(0).replaceAllUsesWith(y);
    op->erase();
    return success();
  }

  LogicalResult createState(Operation *op, SymbolTable &symbols, func::FuncOp func,
                            const std::string &base) {
    MLIRContext *ctx = op->getContext();
    auto f32 = Float32Type::get(ctx);
    auto scalar = RankedTensorType::get({}, f32);
    auto hist = RankedTensorType::get({amaxHistory}, f32);
    OpBuilder mb(func);
    auto splat = [&](RankedTensorType t, float v) {
      return cast<ElementsAttr>(DenseElementsAttr::get(t, ArrayRef<float>(v)));
    };
    for (auto [suffix, type, init] : {std::tuple(".scale", scalar, 1.0f),
                                      std::tuple(".scale_inv", scalar, 1.0f),
                                      std::tuple(".amax_history", hist, 0.0f)}) {
      std::string name = base + suffix;
      if (symbols.lookup(name))
        return op->emitError("mpc-fp8: the FP8 state global '")
               << name << "' would collide with an existing symbol of that name";
      auto g = ml_program::GlobalOp::create(mb, NameLoc::get(StringAttr::get(ctx, name)), name,
                                            type, /*is_mutable=*/true, splat(type, init),
                                            mb.getStringAttr("private"));
      symbols.insert(g);
    }
    return success();
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    if (format != "hybrid" && format != "e4m3")
      return module.emitError("mpc-fp8: format must be hybrid or e4m3, got '") << format << "'";
    if (recipe != "delayed" && recipe != "current" && recipe != "mxfp8")
      return module.emitError("mpc-fp8: recipe must be delayed, current or mxfp8, got '")
             << recipe << "'";
    if (amaxAlgo != "max" && amaxAlgo != "most_recent")
      return module.emitError("mpc-fp8: amax-algo must be max or most_recent, got '")
             << amaxAlgo << "'";
    if (amaxHistory < 1 || amaxHistory > (int64_t(1) << 20))
      return module.emitError("mpc-fp8: amax-history must be in [1, 1048576], got ")
             << static_cast<int64_t>(amaxHistory);
    if (margin < 0 || margin > 64)
      return module.emitError("mpc-fp8: margin must be in [0, 64], got ") << static_cast<int64_t>(margin);
    if (minGemmSize < 0)
      return module.emitError("mpc-fp8: min-gemm-size must be >= 0, got ")
             << static_cast<int64_t>(minGemmSize);

    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    module->setAttr(
        "mpc.fp8",
        b.getDictionaryAttr({b.getNamedAttr("format", b.getStringAttr(format)),
                             b.getNamedAttr("recipe", b.getStringAttr(recipe)),
                             b.getNamedAttr("amax_history", b.getI64IntegerAttr(amaxHistory)),
                             b.getNamedAttr("amax_algo", b.getStringAttr(amaxAlgo)),
                             b.getNamedAttr("margin", b.getI64IntegerAttr(margin))}));
    SymbolTable symbols(module);
    int unnamed = 0;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.getBody().hasOneBlock())
        continue;
      SmallVector<Operation *> gemms;
      func.walk([&](Operation *op) {
        if (isa<MatMulOp, GemmOp>(op))
          gemms.push_back(op);
      });
      for (Operation *op : gemms) {
        GemmShape shape;
        std::string why = ineligible(op, shape);
        std::string prefix = nodeNameOf(op->getLoc());
        if (prefix.empty())
          prefix = "gemm" + std::to_string(unnamed++);
        if (why.empty() && recipe == "delayed" && symbols.lookup(prefix + ".fp8.input.scale"))
          why = "its FP8 state '" + prefix + ".fp8.*' is taken (two GEMM nodes named '" + prefix +
                "'?)";
        if (!why.empty()) {
          annotate(op, "fallback: " + why);
          continue;
        }
        if (failed(convert(op, func, shape, symbols, prefix)))
          return failure();
      }
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
