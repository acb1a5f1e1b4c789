// fused_elementwise: a chain of elementwise ops evaluated per output element
// (the program encoding is in core/fused_program.h and docs/ops.md).
//
// The output is processed in blocks of kBlock elements. For each block every
// input is loaded (with broadcast indexing) into a register file of blocks,
// each instruction runs over the block and rounds its result to its dtype, and
// the last instruction's block is stored. Every input block is read before the
// output block is written, so the output may alias an input of its shape.
// Values of f64 instructions live in double registers, all others in float
// registers holding values exactly representable in their dtype. The scalar
// math is the unfused kernels' (elementwise_math.h) and the rounding is
// Elem<T>'s and the cast kernel's, so the result is the unfused plan's bits.
#include <algorithm>
#include <cmath>

#include "core/fused_program.h"
#include "cpu/cpu_common.h"
#include "cpu/elementwise_math.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

using fused::Opcode;

constexpr int64_t kBlock = 256;

struct Instr {
  Opcode op;
  int32_t args[fused::kMaxArgs];
  DType dtype;
  double alpha;
};

bool isWideFloat(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64; }

// An array attribute without copying it; null (and *err set) when it is
// present with another kind, or absent and required.
template <typename T>
const std::vector<T> *arrayAttr(const KernelCall &call, const char *name, bool required, Status *err) {
  const Attr *a = call.attrs ? call.attrs->find(name) : nullptr;
  if (!a) {
    if (required)
      *err = kernelError(call, "attribute '" + std::string(name) + "' is missing");
    return nullptr;
  }
  const auto *v = std::get_if<std::vector<T>>(&a->value);
  if (!v)
    *err = kernelError(call, "attribute '" + std::string(name) + "' has the wrong kind");
  return v;
}

std::string instrName(size_t k, Opcode op) {
  return "instruction " + std::to_string(k) + " (" + std::string(fused::kOpcodeNames[static_cast<int>(op)]) + ")";
}

// Decodes and validates the program against the call's tensors into `prog`
// and `slotTypes` (the dtype of every slot: inputs, then instructions). Only
// the error paths allocate once the vectors have grown.
Status decode(const KernelCall &call, std::vector<Instr> *prog, std::vector<DType> *slotTypes) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, fused::kMaxInputs, 1));
  Status st;
  const std::vector<int64_t> *opsP = arrayAttr<int64_t>(call, "ops", true, &st);
  const std::vector<int64_t> *argsP = arrayAttr<int64_t>(call, "args", true, &st);
  const std::vector<int64_t> *dtypesP = arrayAttr<int64_t>(call, "dtypes", true, &st);
  const std::vector<double> *alphaP = arrayAttr<double>(call, "alpha", false, &st);
  if (!st.isOk())
    return st;
  const std::vector<int64_t> &ops = *opsP, &args = *argsP, &dtypes = *dtypesP;
  const size_t n = ops.size();
  const size_t numAlpha = alphaP ? alphaP->size() : 0;
  if (n == 0)
    return kernelError(call, "attribute 'ops' is empty");
  if (args.size() != n * fused::kMaxArgs || dtypes.size() != n || (numAlpha != n && numAlpha != 0))
    return kernelError(call, "program has " + std::to_string(n) + " ops but " + std::to_string(args.size()) +
                                 " args (expected " + std::to_string(n * fused::kMaxArgs) + "), " +
                                 std::to_string(dtypes.size()) + " dtypes and " + std::to_string(numAlpha) +
                                 " alpha values");
  slotTypes->clear();
  for (int i = 0; i < call.numInputs; ++i) {
    const DType t = call.inputs[i].dtype;
    if (!isWideFloat(t) && t != DType::kBool)
      return kernelError(call, "input " + std::to_string(i) + " has dtype " + std::string(dtypeName(t)) +
                                   ", expected a float or bool tensor");
    slotTypes->push_back(t);
  }
  prog->clear();
  for (size_t k = 0; k < n; ++k) {
    if (ops[k] < 0 || ops[k] >= fused::kNumOpcodes)
      return kernelError(call, "instruction " + std::to_string(k) + " has an unknown opcode " + std::to_string(ops[k]));
    Instr ins;
    ins.op = static_cast<Opcode>(ops[k]);
    if (dtypes[k] < 0 || dtypes[k] > 255 || !isValidDType(static_cast<uint8_t>(dtypes[k])) ||
        !isWideFloat(static_cast<DType>(dtypes[k])))
      return kernelError(call, instrName(k, ins.op) + " has dtype code " + std::to_string(dtypes[k]) +
                                   ", expected f32, f16, bf16 or f64");
    ins.dtype = static_cast<DType>(dtypes[k]);
    ins.alpha = numAlpha ? (*alphaP)[k] : 0.0;
    const int arity = fused::opcodeArity(ins.op);
    for (int a = 0; a < fused::kMaxArgs; ++a) {
      const int64_t s = args[k * fused::kMaxArgs + a];
      if (a >= arity) {
        if (s != -1)
          return kernelError(call, instrName(k, ins.op) + " takes " + std::to_string(arity) + " operands");
        ins.args[a] = -1;
        continue;
      }
      if (s < 0 || s >= static_cast<int64_t>(slotTypes->size()))
        return kernelError(call, instrName(k, ins.op) + " reads slot " + std::to_string(s) + ", but only slots 0.." +
                                     std::to_string(slotTypes->size() - 1) + " are defined before it");
      ins.args[a] = static_cast<int32_t>(s);
    }
    // Operand dtypes as the unfused kernel requires them.
    auto argType = [&](int a) { return (*slotTypes)[ins.args[a]]; };
    auto typeError = [&](int a, std::string_view want) {
      return kernelError(call, instrName(k, ins.op) + " operand " + std::to_string(a) + " has dtype " +
                                   std::string(dtypeName(argType(a))) + ", expected " + std::string(want));
    };
    if (ins.op == Opcode::kCast) {
      if (!isWideFloat(argType(0)))
        return typeError(0, "f32, f16, bf16 or f64");
    } else if (ins.op == Opcode::kWhere) {
      if (argType(0) != DType::kBool)
        return typeError(0, "bool");
      if (argType(1) != ins.dtype)
        return typeError(1, dtypeName(ins.dtype));
      if (argType(2) != ins.dtype)
        return typeError(2, dtypeName(ins.dtype));
    } else if (ins.op == Opcode::kPow) {
      if (argType(0) != ins.dtype)
        return typeError(0, dtypeName(ins.dtype));
      if (!isWideFloat(argType(1)))
        return typeError(1, "f32, f16, bf16 or f64");
    } else {
      for (int a = 0; a < arity; ++a)
        if (argType(a) != ins.dtype)
          return typeError(a, dtypeName(ins.dtype));
    }
    if (ins.op == Opcode::kGelu && ins.alpha != 0 && ins.alpha != 1)
      return kernelError(call, instrName(k, ins.op) + " has approximate flag " + std::to_string(ins.alpha) +
                                   ", expected 0 or 1");
    slotTypes->push_back(ins.dtype);
    prog->push_back(ins);
  }
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], prog->back().dtype, "output"));
  int64_t strides[kMaxRank];
  for (int i = 0; i < call.numInputs; ++i)
    MPC_RETURN_IF_ERROR(broadcastStrides(call, call.inputs[i], call.outputs[0], strides));
  return Status::ok();
}

Status checkFused(const KernelCall &call) {
  std::vector<Instr> prog;
  std::vector<DType> slotTypes;
  return decode(call, &prog, &slotTypes);
}

// Rounds a float register to the dtype of its instruction.
float roundTo(float v, DType t) {
  if (t == DType::kBF16)
    return bfloat16ToFloat(floatToBFloat16(v));
  if (t == DType::kF16)
    return halfToFloat(floatToHalf(v));
  return v;
}

// One register: kBlock values as float or double (f64 slots).
struct RegisterFile {
  std::vector<double> storage;
  int64_t numSlots = 0;
  void reserve(int64_t slots) {
    if (static_cast<int64_t>(storage.size()) < slots * kBlock)
      storage.resize(slots * kBlock);
    numSlots = slots;
  }
  float *f(int s) { return reinterpret_cast<float *>(storage.data() + s * kBlock); }
  double *d(int s) { return storage.data() + s * kBlock; }
};

// How an input is read for a block of output elements.
struct InputPlan {
  enum Kind { kSame, kScalar, kBroadcast } kind;
  int64_t strides[kMaxRank];
};

template <typename T, typename R>
void loadAs(const TensorView &in, const InputPlan &p, const TensorView &out, int64_t begin, int64_t n, R *dst) {
  const T *src = in.as<const T>();
  auto conv = [](T v) -> R {
    if constexpr (std::is_same_v<T, uint8_t>)
      return v != 0 ? R(1) : R(0);
    else
      return static_cast<R>(Elem<T>::load(v));
  };
  if (p.kind == InputPlan::kSame) {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = conv(src[begin + i]);
  } else if (p.kind == InputPlan::kScalar) {
    const R v = conv(src[0]);
    for (int64_t i = 0; i < n; ++i)
      dst[i] = v;
  } else {
    const int64_t(*strides)[kMaxRank] = &p.strides;
    forEachBroadcast<1>(out, strides, begin, begin + n,
                        [&](int64_t i, int64_t off, int64_t, int64_t) { dst[i - begin] = conv(src[off]); });
  }
}

void loadInput(const TensorView &in, const InputPlan &p, const TensorView &out, int64_t begin, int64_t n,
               RegisterFile &rf, int slot) {
  switch (in.dtype) {
  case DType::kF32:
    loadAs<float>(in, p, out, begin, n, rf.f(slot));
    break;
  case DType::kF16:
    loadAs<Half>(in, p, out, begin, n, rf.f(slot));
    break;
  case DType::kBF16:
    loadAs<BFloat16>(in, p, out, begin, n, rf.f(slot));
    break;
  case DType::kF64:
    loadAs<double>(in, p, out, begin, n, rf.d(slot));
    break;
  case DType::kBool:
    loadAs<uint8_t>(in, p, out, begin, n, rf.f(slot));
    break;
  default:
    break; // rejected by decode
  }
}

template <typename A, typename F> void unaryOp(const A *x, A *y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = f(x[i]);
}
template <typename A, typename F> void binaryOp(const A *x, const A *z, A *y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = f(x[i], z[i]);
}

// Runs one instruction whose compute type is A over n elements.
template <typename A>
void runInstr(const Instr &ins, const std::vector<DType> &slotTypes, RegisterFile &rf, int dstSlot, A *tmp, int64_t n) {
  auto reg = [&](int s) -> A * {
    if constexpr (std::is_same_v<A, double>)
      return rf.d(s);
    else
      return rf.f(s);
  };
  A *y = reg(dstSlot);
  const A *x = ins.args[0] >= 0 && ins.op != Opcode::kWhere && ins.op != Opcode::kCast ? reg(ins.args[0]) : nullptr;
  const A *z = nullptr;
  switch (ins.op) {
  case Opcode::kNeg:
    unaryOp(x, y, n, [](A v) { return math::neg(v); });
    break;
  case Opcode::kAbs:
    unaryOp(x, y, n, [](A v) { return math::abs(v); });
    break;
  case Opcode::kExp:
    if constexpr (std::is_same_v<A, float>)
      math::expArray(x, y, n); // vectorised, the bits of math::exp
    else
      unaryOp(x, y, n, [](A v) { return math::exp(v); });
    break;
  case Opcode::kLog:
    unaryOp(x, y, n, [](A v) { return math::log(v); });
    break;
  case Opcode::kSqrt:
    unaryOp(x, y, n, [](A v) { return math::sqrt(v); });
    break;
  case Opcode::kReciprocal:
    unaryOp(x, y, n, [](A v) { return math::reciprocal(v); });
    break;
  case Opcode::kTanh:
    unaryOp(x, y, n, [](A v) { return math::tanh(v); });
    break;
  case Opcode::kSigmoid:
    unaryOp(x, y, n, [](A v) { return math::sigmoid(v); });
    break;
  case Opcode::kRelu:
    unaryOp(x, y, n, [](A v) { return math::relu(v); });
    break;
  case Opcode::kErf:
    if constexpr (std::is_same_v<A, float>)
      math::erfArray(x, y, n); // vectorised, the bits of math::erf
    else
      unaryOp(x, y, n, [](A v) { return math::erf(v); });
    break;
  case Opcode::kLeakyRelu: {
    const double alpha = ins.alpha;
    unaryOp(x, y, n, [alpha](A v) { return math::leakyRelu(v, alpha); });
    break;
  }
  case Opcode::kGelu:
    if (ins.alpha != 0)
      unaryOp(x, y, n, [](A v) { return math::geluTanh(v); });
    else if constexpr (std::is_same_v<A, float>)
      math::geluErfArray(x, y, n); // vectorised, the bits of math::geluErf
    else
      unaryOp(x, y, n, [](A v) { return math::geluErf(v); });
    break;
  case Opcode::kAdd:
    binaryOp(x, reg(ins.args[1]), y, n, [](A a, A b) { return math::add(a, b); });
    break;
  case Opcode::kSub:
    binaryOp(x, reg(ins.args[1]), y, n, [](A a, A b) { return math::sub(a, b); });
    break;
  case Opcode::kMul:
    binaryOp(x, reg(ins.args[1]), y, n, [](A a, A b) { return math::mul(a, b); });
    break;
  case Opcode::kDiv:
    binaryOp(x, reg(ins.args[1]), y, n, [](A a, A b) { return math::div(a, b); });
    break;
  case Opcode::kMax:
    binaryOp(x, reg(ins.args[1]), y, n, [](A a, A b) { return math::max(a, b); });
    break;
  case Opcode::kMin:
    binaryOp(x, reg(ins.args[1]), y, n, [](A a, A b) { return math::min(a, b); });
    break;
  case Opcode::kPow: {
    // The exponent is rounded to the compute type of the base, as the
    // unfused kernel does.
    const DType et = slotTypes[ins.args[1]];
    if ((et == DType::kF64) == std::is_same_v<A, double>) {
      z = reg(ins.args[1]);
    } else if (et == DType::kF64) {
      const double *e = rf.d(ins.args[1]);
      for (int64_t i = 0; i < n; ++i)
        tmp[i] = static_cast<A>(e[i]);
      z = tmp;
    } else {
      const float *e = rf.f(ins.args[1]);
      for (int64_t i = 0; i < n; ++i)
        tmp[i] = static_cast<A>(e[i]);
      z = tmp;
    }
    binaryOp(x, z, y, n, [](A a, A b) { return math::pow(a, b); });
    break;
  }
  case Opcode::kWhere: {
    // A selection: no arithmetic, the values are already of the result dtype.
    const float *c = rf.f(ins.args[0]);
    const A *a = reg(ins.args[1]), *b = reg(ins.args[2]);
    for (int64_t i = 0; i < n; ++i)
      y[i] = c[i] != 0 ? a[i] : b[i];
    return;
  }
  case Opcode::kCast: {
    // As the cast kernel: f32/f16/bf16 sources are exact in FP32 and round
    // once; f64 sources go through round-to-odd FP32 before a 16-bit target.
    const DType from = slotTypes[ins.args[0]];
    if (from == DType::kF64) {
      const double *s = rf.d(ins.args[0]);
      if constexpr (std::is_same_v<A, double>) {
        for (int64_t i = 0; i < n; ++i)
          y[i] = s[i];
      } else if (ins.dtype == DType::kF32) {
        for (int64_t i = 0; i < n; ++i)
          y[i] = static_cast<float>(s[i]);
      } else {
        for (int64_t i = 0; i < n; ++i)
          y[i] = doubleToFloatRoundToOdd(s[i]);
      }
    } else {
      const float *s = rf.f(ins.args[0]);
      for (int64_t i = 0; i < n; ++i)
        y[i] = static_cast<A>(s[i]);
    }
    break;
  }
  }
  if constexpr (std::is_same_v<A, float>) {
    if (ins.dtype == DType::kBF16 || ins.dtype == DType::kF16)
      for (int64_t i = 0; i < n; ++i)
        y[i] = roundTo(y[i], ins.dtype);
  }
}

template <typename T, typename R> void storeAs(const R *src, T *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>)
      dst[i] = static_cast<T>(src[i]);
    else
      dst[i] = Elem<T>::store(static_cast<float>(src[i])); // exact: already rounded
  }
}

// What every worker needs, behind one pointer (so the std::function of
// parallelFor stays in its small buffer: no allocation per call).
struct Job {
  const KernelCall *call;
  const std::vector<Instr> *prog;
  const std::vector<DType> *slotTypes;
  const std::vector<InputPlan> *plans;
};

void runRange(const Job &job, int64_t begin, int64_t end) {
  const KernelCall &call = *job.call;
  const std::vector<Instr> &prog = *job.prog;
  const TensorView &out = call.outputs[0];
  const int numInputs = call.numInputs;
  const int numSlots = static_cast<int>(job.slotTypes->size());
  const int result = numSlots - 1;
  // Per-thread registers (plus one scratch register), grown once.
  thread_local RegisterFile rf;
  rf.reserve(numSlots + 1);
  // Instructions never write input slots: a single-element input fills its
  // register once for the whole range.
  for (int i = 0; i < numInputs; ++i)
    if ((*job.plans)[i].kind == InputPlan::kScalar)
      loadInput(call.inputs[i], (*job.plans)[i], out, begin, std::min(kBlock, end - begin), rf, i);
  for (int64_t b = begin; b < end; b += kBlock) {
    const int64_t n = std::min(kBlock, end - b);
    for (int i = 0; i < numInputs; ++i)
      if ((*job.plans)[i].kind != InputPlan::kScalar)
        loadInput(call.inputs[i], (*job.plans)[i], out, b, n, rf, i);
    for (size_t k = 0; k < prog.size(); ++k) {
      const int dst = numInputs + static_cast<int>(k);
      if (prog[k].dtype == DType::kF64)
        runInstr<double>(prog[k], *job.slotTypes, rf, dst, rf.d(numSlots), n);
      else
        runInstr<float>(prog[k], *job.slotTypes, rf, dst, rf.f(numSlots), n);
    }
    switch (out.dtype) {
    case DType::kF32:
      storeAs(rf.f(result), out.as<float>() + b, n);
      break;
    case DType::kF16:
      storeAs(rf.f(result), out.as<Half>() + b, n);
      break;
    case DType::kBF16:
      storeAs(rf.f(result), out.as<BFloat16>() + b, n);
      break;
    case DType::kF64:
      storeAs(rf.d(result), out.as<double>() + b, n);
      break;
    default:
      break; // rejected by decode
    }
  }
}

Status fusedElementwise(const KernelCall &call) {
  // The caller's decoded program, grown once per thread.
  thread_local std::vector<Instr> prog;
  thread_local std::vector<DType> slotTypes;
  thread_local std::vector<InputPlan> plans;
  MPC_RETURN_IF_ERROR(decode(call, &prog, &slotTypes));
  const TensorView &out = call.outputs[0];
  plans.resize(call.numInputs);
  for (int i = 0; i < call.numInputs; ++i) {
    const TensorView &in = call.inputs[i];
    InputPlan &p = plans[i];
    p.kind = sameShape(in, out) ? InputPlan::kSame : in.numel() == 1 ? InputPlan::kScalar : InputPlan::kBroadcast;
    MPC_RETURN_IF_ERROR(broadcastStrides(call, in, out, p.strides));
  }
  const Job job{&call, &prog, &slotTypes, &plans};
  parallelFor(call.pool, out.numel(), kElementwiseGrain,
              [j = &job](int64_t begin, int64_t end) { runRange(*j, begin, end); });
  return Status::ok();
}

} // namespace

void registerFusedElementwiseKernels(KernelRegistry &reg) {
  // 1..kMaxInputs inputs of any dtype: the check validates the program.
  for (int n = 1; n <= fused::kMaxInputs; ++n)
    addKernel(reg, "fused_elementwise", std::vector<DType>(n + 1, DType::kInvalid), fusedElementwise, checkFused);
}

} // namespace mpc::rt::cpu
