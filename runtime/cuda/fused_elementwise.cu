// fused_elementwise on CUDA: each thread interprets the program
// (core/fused_program.h) for one output element. Registers are doubles: a
// value of an f32/f16/bf16 instruction is exact in them, and each instruction
// computes in FP32 (FP64 for f64 instructions) with the per-op kernels'
// opcode switch (math.cuh) and rounds to its dtype, as the CPU kernel does.
// All inputs of the element are read before the output is written, so the
// output may alias an input of its shape.
//
// The program travels as a kernel parameter, so its length is bounded
// (kMaxInstrs); longer programs are rejected when the plan is loaded.
#include "core/fused_program.h"
#include "cuda/device.cuh"
#include "cuda/math.cuh"
#include "cuda/register.h"

namespace mpc::rt::cuda {
namespace fusedew {

using fused::Opcode;

constexpr int kMaxInstrs = 48;

struct Instr {
  Opcode op;
  int32_t arity;
  int32_t args[fused::kMaxArgs];
  DType dtype;
  double alpha;
};

struct Program {
  int numInputs = 0, numInstrs = 0;
  const void *inputs[fused::kMaxInputs] = {};
  DType inputTypes[fused::kMaxInputs] = {};
  Instr instrs[kMaxInstrs] = {};
  void *out = nullptr;
  DType outType = DType::kF32;
};

__device__ __forceinline__ double roundTo(float v, DType t) {
  if (t == DType::kBF16) return bfloat16ToFloat(floatToBFloat16(v));
  if (t == DType::kF16) return halfToFloat(floatToHalf(v));
  return v;
}

__device__ __forceinline__ double loadInput(const void *p, DType t, int64_t off) {
  switch (t) {
  case DType::kF32: return static_cast<const float *>(p)[off];
  case DType::kF16: return halfToFloat(static_cast<const Half *>(p)[off].bits);
  case DType::kBF16: return bfloat16ToFloat(static_cast<const BFloat16 *>(p)[off].bits);
  case DType::kF64: return static_cast<const double *>(p)[off];
  default: return static_cast<const uint8_t *>(p)[off] != 0 ? 1.0 : 0.0;  // bool
  }
}

__device__ __forceinline__ double run(const Instr &ins, const double *r) {
  const double x = r[ins.args[0]];
  switch (ins.op) {
  case Opcode::kWhere: return x != 0 ? r[ins.args[1]] : r[ins.args[2]];  // a selection, no rounding
  case Opcode::kCast:
    // As the cast kernel: f64 goes through round-to-odd FP32 before a 16-bit
    // target (a float-exact value passes through unchanged).
    if (ins.dtype == DType::kF64) return x;
    if (ins.dtype == DType::kF32) return static_cast<float>(x);
    return roundTo(doubleToFloatRoundToOdd(x), ins.dtype);
  default: break;
  }
  const int arity = ins.arity;
  if (ins.dtype == DType::kF64)
    return arity == 1 ? applyUnary<double>(ins.op, x, ins.alpha) : applyBinary<double>(ins.op, x, r[ins.args[1]]);
  // FP32 math; pow's exponent is rounded to FP32 like the unfused kernel's.
  const float fx = static_cast<float>(x);
  const float v = arity == 1 ? applyUnary<float>(ins.op, fx, ins.alpha)
                             : applyBinary<float>(ins.op, fx, static_cast<float>(r[ins.args[1]]));
  return roundTo(v, ins.dtype);
}

__global__ void fusedKernel(int64_t n, Indexer<fused::kMaxInputs> ix, Program prog) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    double r[fused::kMaxInputs + kMaxInstrs];
    int64_t off[fused::kMaxInputs];
    ix.offsets(i, off);  // computes all 16 offsets; unused ones are 0
    for (int k = 0; k < prog.numInputs; ++k) r[k] = loadInput(prog.inputs[k], prog.inputTypes[k], off[k]);
    for (int k = 0; k < prog.numInstrs; ++k) r[prog.numInputs + k] = run(prog.instrs[k], r);
    const double y = r[prog.numInputs + prog.numInstrs - 1];
    switch (prog.outType) {
    case DType::kF32: static_cast<float *>(prog.out)[i] = static_cast<float>(y); break;
    case DType::kF16: static_cast<Half *>(prog.out)[i] = Half{floatToHalf(static_cast<float>(y))}; break;
    case DType::kBF16: static_cast<BFloat16 *>(prog.out)[i] = BFloat16{floatToBFloat16(static_cast<float>(y))}; break;
    case DType::kF64: static_cast<double *>(prog.out)[i] = y; break;
    default: break;
    }
  }
}

// Decodes the attributes (validated at load by the CPU kernel's check).
Status decode(const KernelCall &call, Program *p) {
  Status st;
  const std::vector<int64_t> ops = call.attrs->getInts("ops", &st);
  const std::vector<int64_t> args = call.attrs->getInts("args", &st);
  const std::vector<int64_t> dtypes = call.attrs->getInts("dtypes", &st);
  const std::vector<double> alpha = call.attrs->getFloats("alpha", &st);
  if (!st.isOk()) return kernelError(call, st.message());
  if (ops.size() > static_cast<size_t>(kMaxInstrs))
    return kernelError(call, "the program has " + std::to_string(ops.size()) + " instructions; the CUDA kernel takes at most " +
                                 std::to_string(kMaxInstrs), StatusCode::kUnsupported);
  if (ops.empty() || args.size() != ops.size() * fused::kMaxArgs || dtypes.size() != ops.size())
    return kernelError(call, "malformed program");
  p->numInputs = call.numInputs;
  p->numInstrs = static_cast<int>(ops.size());
  for (int i = 0; i < call.numInputs; ++i) {
    p->inputs[i] = call.inputs[i].data;
    p->inputTypes[i] = call.inputs[i].dtype;
  }
  for (size_t k = 0; k < ops.size(); ++k) {
    Instr &ins = p->instrs[k];
    ins.op = static_cast<Opcode>(ops[k]);
    ins.arity = fused::opcodeArity(ins.op);
    // Unused operands read slot 0 (always defined); their values are ignored.
    for (int a = 0; a < fused::kMaxArgs; ++a) ins.args[a] = static_cast<int32_t>(std::max<int64_t>(0, args[k * fused::kMaxArgs + a]));
    ins.dtype = static_cast<DType>(dtypes[k]);
    ins.alpha = alpha.size() == ops.size() ? alpha[k] : 0.0;
  }
  p->out = call.outputs[0].data;
  p->outType = call.outputs[0].dtype;
  return Status::ok();
}

// The CPU kernel's program check, captured at registration.
KernelCheckFn cpuCheck = nullptr;

// The CPU check, plus the CUDA kernel's bound on the program length.
Status checkFusedCuda(const KernelCall &call) {
  if (cpuCheck) MPC_RETURN_IF_ERROR(cpuCheck(call));
  Program p;
  return decode(call, &p);
}

Status fusedKernelFn(const KernelCall &call) {
  Program p;
  MPC_RETURN_IF_ERROR(decode(call, &p));
  Indexer<fused::kMaxInputs> ix;
  const TensorView &out = call.outputs[0];
  ix.rank = out.rank;
  for (int d = 0; d < out.rank; ++d) ix.dims[d] = out.dims[d];
  for (int i = 0; i < call.numInputs; ++i)
    MPC_RETURN_IF_ERROR(cpu::broadcastStrides(call, call.inputs[i], out, ix.strides[i]));
  const int64_t n = out.numel();
  if (n == 0) return Status::ok();
  fusedKernel<<<gridFor(n), kBlockSize, 0, streamOf(call)>>>(n, ix, p);
  return launchStatus(call);
}

}  // namespace fusedew

void registerFusedElementwiseKernels(KernelRegistry &reg) {
  const KernelEntry *cpu = reg.lookup("fused_elementwise", Device::kCPU, {DType::kInvalid, DType::kInvalid});
  fusedew::cpuCheck = cpu ? cpu->check : nullptr;
  for (int n = 1; n <= fused::kMaxInputs; ++n)
    addKernel(reg, "fused_elementwise", std::vector<DType>(n + 1, DType::kInvalid), fusedew::fusedKernelFn,
              fusedew::checkFusedCuda);
}

}  // namespace mpc::rt::cuda
