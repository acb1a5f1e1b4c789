// FP8 training kernels (docs/ops.md, "FP8 ops"): fp8_quantize (scaled
// saturating conversion with the amax of the unscaled input), fp8_gemm (TN,
// exact products of the FP8 values, FP32 accumulation through the FP32 BLAS,
// scaled output), fp8_current_scale, fp8_scale_update (core/fp8_scaling.h) and
// mx_gemm (OCP MX block scaling, emulated exactly on the dequantized values).
//
// The FP8 conversions are those of core/float_formats.h, bit-identical to
// cuda_fp8.h's __NV_SATFINITE conversions. Every FP8 value is exact in FP32 and
// so is the product of two of them (at most 4 x 4 significant bits), so the
// only rounding in fp8_gemm is FP32 summation, as on the tensor cores with
// CUBLAS_COMPUTE_32F (whose summation order differs).
#include <cmath>
#include <limits>
#include <vector>

#include "core/fp8_scaling.h"
#include "cpu/cpu_common.h"
#include "cpu/gemm.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

bool isFp8Type(DType t) { return t == DType::kF8E4M3FN || t == DType::kF8E5M2; }
bool isWide(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64; }

float fp8ToFloat(uint8_t v, bool e4m3) { return e4m3 ? e4m3fnToFloat(v) : e5m2ToFloat(v); }

Status checkF32Scalar(const KernelCall &call, const TensorView &t, const char *what) {
  MPC_RETURN_IF_ERROR(checkDType(call, t, DType::kF32, what));
  if (t.numel() != 1) return kernelError(call, std::string(what) + " must have one element, got " + shapeString(t));
  return Status::ok();
}

// ---- fp8_quantize: (x, scale) -> (q, amax) ----

Status checkFp8Quantize(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 2));
  if (!isWide(call.inputs[0].dtype)) return kernelError(call, "x must be f32, f16, bf16 or f64");
  if (!isFp8Type(call.outputs[0].dtype)) return kernelError(call, "q must be f8E4M3FN or f8E5M2");
  MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[1], "scale"));
  MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.outputs[1], "amax"));
  return checkShape(call, call.outputs[0], call.inputs[0], "q");
}

Status fp8Quantize(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkFp8Quantize(call));
  const float scale = *call.inputs[1].as<const float>();
  const bool e4m3 = call.outputs[0].dtype == DType::kF8E4M3FN;
  uint8_t *q = call.outputs[0].as<uint8_t>();
  const TensorView &x = call.inputs[0];
  const int64_t n = x.numel();
  std::vector<double> partial(std::max<int64_t>((n + kElementwiseGrain - 1) / kElementwiseGrain, 1), 0.0);
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xp = x.as<const T>();
    parallelFor(call.pool, n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      double m = 0;
      for (int64_t i = b; i < e; ++i) {
        const double xd = static_cast<double>(Elem<T>::load(xp[i]));
        const double ax = std::fabs(xd);
        if (ax > m || ax != ax) m = (m != m) ? m : ax;
        // FP32 value times FP32 scale, then the saturating conversion (as mpc.quantize).
        const float v = static_cast<float>(Elem<T>::load(xp[i])) * scale;
        q[i] = e4m3 ? floatToE4M3FN(v, true) : floatToE5M2(v, true);
      }
      partial[b / kElementwiseGrain] = m;
    });
  });
  double m = 0;
  for (double v : partial)
    if (v > m || v != v) m = (m != m) ? m : v;
  *call.outputs[1].as<float>() = m != m ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(m);
  return Status::ok();
}

// ---- fp8_gemm: (a[M,K], b[N,K], sa, sb, c?) -> y[M,N] ----

Status checkFp8Gemm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 4, 5, 1));
  const TensorView &a = call.inputs[0], &b = call.inputs[1], &y = call.outputs[0];
  if (!isFp8Type(a.dtype) || !isFp8Type(b.dtype)) return kernelError(call, "a and b must be f8E4M3FN or f8E5M2");
  if (a.dtype == DType::kF8E5M2 && b.dtype == DType::kF8E5M2)
    return kernelError(call, "E5M2 x E5M2 is not supported");
  if (y.dtype != DType::kF32 && y.dtype != DType::kF16 && y.dtype != DType::kBF16)
    return kernelError(call, "y must be f32, f16 or bf16");
  MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[2], "a_scale_inv"));
  MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[3], "b_scale_inv"));
  if (a.rank != 2 || b.rank != 2 || y.rank != 2 || a.dims[1] != b.dims[1] || y.dims[0] != a.dims[0] ||
      y.dims[1] != b.dims[0])
    return kernelError(call, "shapes must be a [M,K], b [N,K], y [M,N], got a " + shapeString(a) + ", b " +
                                 shapeString(b) + ", y " + shapeString(y));
  if (call.numInputs == 5) {
    if (!isWide(call.inputs[4].dtype)) return kernelError(call, "c must be a float tensor");
    int64_t strides[kMaxRank];
    MPC_RETURN_IF_ERROR(broadcastStrides(call, call.inputs[4], y, strides));
  }
  Status err;
  call.attrs->getFloat("alpha", 1.0, &err);
  MPC_RETURN_IF_ERROR(err);
  call.attrs->getFloat("beta", 1.0, &err);
  return err;
}

void fp8ToF32(ThreadPool *pool, const TensorView &t, std::vector<float> &out) {
  const bool e4m3 = t.dtype == DType::kF8E4M3FN;
  const uint8_t *p = t.as<const uint8_t>();
  out.resize(static_cast<size_t>(t.numel()));
  parallelFor(pool, t.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = fp8ToFloat(p[i], e4m3);
  });
}

// The epilogue both emulated GEMMs share: y = ((acc * sa) * sb) * alpha
// (+ beta * c, broadcast, when input `cInput` is present), rounded once to
// y's dtype.
Status storeGemmResult(const KernelCall &call, const std::vector<float> &acc, float sa, float sb,
                       float alpha, float beta, int cInput) {
  const TensorView &y = call.outputs[0];
  const bool hasC = call.numInputs == cInput + 1;
  int64_t strides[1][kMaxRank] = {};
  if (hasC) MPC_RETURN_IF_ERROR(broadcastStrides(call, call.inputs[cInput], y, strides[0]));
  const int64_t count = y.numel();
  bool ok = visitFloat(y.dtype, [&](auto ytag) {
    using Y = typename decltype(ytag)::type;
    Y *yp = y.as<Y>();
    auto finish = [&](int64_t i, float bias) {
      float v = ((acc[i] * sa) * sb) * alpha;
      if (hasC) v = v + beta * bias;
      if constexpr (std::is_same_v<Y, float>)
        yp[i] = v;
      else
        yp[i] = Elem<Y>::store(v);
    };
    if (!hasC) {
      parallelFor(call.pool, count, kElementwiseGrain, [&](int64_t bgn, int64_t end) {
        for (int64_t i = bgn; i < end; ++i) finish(i, 0.0f);
      });
      return;
    }
    visitFloat(call.inputs[cInput].dtype, [&](auto ctag) {
      using C = typename decltype(ctag)::type;
      const C *cp = call.inputs[cInput].as<const C>();
      parallelFor(call.pool, count, kElementwiseGrain, [&](int64_t bgn, int64_t end) {
        forEachBroadcast<1>(y, strides, bgn, end, [&](int64_t i, int64_t o, int64_t, int64_t) {
          finish(i, static_cast<float>(Elem<C>::load(cp[o])));
        });
      });
    });
  });
  if (!ok) return kernelError(call, "unsupported result dtype");
  return Status::ok();
}

Status fp8Gemm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkFp8Gemm(call));
  const TensorView &a = call.inputs[0], &b = call.inputs[1];
  const int64_t m = a.dims[0], k = a.dims[1], n = b.dims[0];
  const float sa = *call.inputs[2].as<const float>(), sb = *call.inputs[3].as<const float>();
  const float alpha = static_cast<float>(call.attrs->getFloat("alpha", 1.0));
  const float beta = static_cast<float>(call.attrs->getFloat("beta", 1.0));
  std::vector<float> af, bf, acc(static_cast<size_t>(m * n), 0.0f);
  fp8ToF32(call.pool, a, af);
  fp8ToF32(call.pool, b, bf);
  if (m > 0 && n > 0 && k > 0)
    parallelGemm<float>(call.pool, false, true, m, n, k, 1.0f, af.data(), k, bf.data(), k, 0.0f, acc.data(), n);
  return storeGemmResult(call, acc, sa, sb, alpha, beta, /*cInput=*/4);
}

// ---- fp8_current_scale: (amax) -> (scale, scale_inv) ----

Status checkFp8CurrentScale(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 2));
  MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[0], "amax"));
  MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.outputs[0], "scale"));
  MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.outputs[1], "scale_inv"));
  int64_t format, margin;
  MPC_RETURN_IF_ERROR(getInt(call, "format", 5, &format));
  MPC_RETURN_IF_ERROR(getInt(call, "margin", 0, &margin));
  if (format != 5 && format != 6) return kernelError(call, "format must be 5 (f8E4M3FN) or 6 (f8E5M2)");
  if (margin < 0 || margin > 64) return kernelError(call, "margin must be in [0, 64]");
  return Status::ok();
}

Status fp8CurrentScale(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkFp8CurrentScale(call));
  int64_t format, margin;
  MPC_RETURN_IF_ERROR(getInt(call, "format", 5, &format));
  MPC_RETURN_IF_ERROR(getInt(call, "margin", 0, &margin));
  float s = 1.0f;
  fp8ScaleFromAmax(*call.inputs[0].as<const float>(), fp8MaxOfCode(format), margin, &s);
  *call.outputs[0].as<float>() = s;
  *call.outputs[1].as<float>() = 1.0f / s;
  return Status::ok();
}

// ---- fp8_scale_update: (amax, history, scale, scale_inv)* [skip] -> (history', scale', scale_inv')* ----

Status checkFp8ScaleUpdate(const KernelCall &call) {
  if (call.numOutputs <= 0 || call.numOutputs % 3 != 0)
    return kernelError(call, "needs 3 outputs per FP8 operand, got " + std::to_string(call.numOutputs));
  const int n = call.numOutputs / 3;
  if (call.numInputs != 4 * n && call.numInputs != 4 * n + 1)
    return kernelError(call, "needs " + std::to_string(4 * n) + " inputs (+1 skip), got " +
                                 std::to_string(call.numInputs));
  MPC_RETURN_IF_ERROR(checkArity(call, call.numInputs, call.numInputs, call.numOutputs));
  std::vector<int64_t> formats;
  MPC_RETURN_IF_ERROR(getInts(call, "formats", &formats));
  if (static_cast<int>(formats.size()) != n)
    return kernelError(call, "attribute 'formats' needs one entry per FP8 operand");
  for (int64_t f : formats)
    if (f != 5 && f != 6) return kernelError(call, "attribute 'formats' entries must be 5 or 6");
  std::string algo;
  MPC_RETURN_IF_ERROR(getString(call, "amax_algo", "max", &algo));
  if (algo != "max" && algo != "most_recent") return kernelError(call, "amax_algo must be max or most_recent");
  int64_t margin;
  MPC_RETURN_IF_ERROR(getInt(call, "margin", 0, &margin));
  if (margin < 0 || margin > 64) return kernelError(call, "margin must be in [0, 64]");
  for (int i = 0; i < n; ++i) {
    const std::string op = "FP8 operand " + std::to_string(i) + ": ";
    const TensorView &h = call.inputs[4 * i + 1];
    MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[4 * i], (op + "amax").c_str()));
    MPC_RETURN_IF_ERROR(checkDType(call, h, DType::kF32, (op + "amax_history").c_str()));
    if (h.rank != 1 || h.dims[0] < 1) return kernelError(call, op + "amax_history must be 1-D and non-empty");
    MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[4 * i + 2], (op + "scale").c_str()));
    MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[4 * i + 3], (op + "scale_inv").c_str()));
    MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[3 * i], h, (op + "amax_history result").c_str()));
    MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[3 * i], DType::kF32, (op + "amax_history result").c_str()));
    MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.outputs[3 * i + 1], (op + "scale result").c_str()));
    MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.outputs[3 * i + 2], (op + "scale_inv result").c_str()));
  }
  if (call.numInputs == 4 * n + 1) MPC_RETURN_IF_ERROR(checkF32Scalar(call, call.inputs[4 * n], "skip"));
  return Status::ok();
}

// Alias-safe: each operand's inputs are read completely before its outputs are
// written (the plan may pass a state tensor as both).
Status fp8ScaleUpdate(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkFp8ScaleUpdate(call));
  const int n = call.numOutputs / 3;
  std::vector<int64_t> formats;
  MPC_RETURN_IF_ERROR(getInts(call, "formats", &formats));
  std::string algo;
  MPC_RETURN_IF_ERROR(getString(call, "amax_algo", "max", &algo));
  int64_t margin;
  MPC_RETURN_IF_ERROR(getInt(call, "margin", 0, &margin));
  const bool skip = call.numInputs == 4 * n + 1 && *call.inputs[4 * n].as<const float>() != 0.0f;
  std::vector<float> h;
  for (int i = 0; i < n; ++i) {
    const TensorView &hin = call.inputs[4 * i + 1];
    const float amax = *call.inputs[4 * i].as<const float>();
    float scale = *call.inputs[4 * i + 2].as<const float>();
    float scaleInv = *call.inputs[4 * i + 3].as<const float>();
    h.assign(hin.as<const float>(), hin.as<const float>() + hin.numel());
    if (!skip) fp8DelayedUpdate(amax, h.data(), static_cast<int64_t>(h.size()), &scale, &scaleInv,
                                fp8MaxOfCode(formats[i]), algo == "most_recent", margin);
    std::copy(h.begin(), h.end(), call.outputs[3 * i].as<float>());
    *call.outputs[3 * i + 1].as<float>() = scale;
    *call.outputs[3 * i + 2].as<float>() = scaleInv;
  }
  return Status::ok();
}

// ---- mx_gemm: (a[M,K], b[N,K], c?) -> y[M,N], OCP MX blocks along K ----

Status checkMxGemm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 3, 1));
  const TensorView &a = call.inputs[0], &b = call.inputs[1], &y = call.outputs[0];
  for (const TensorView *t : {&a, &b, &y})
    if (t->dtype != DType::kF32 && t->dtype != DType::kF16 && t->dtype != DType::kBF16)
      return kernelError(call, "a, b and y must be f32, f16 or bf16");
  if (a.rank != 2 || b.rank != 2 || y.rank != 2 || a.dims[1] != b.dims[1] || y.dims[0] != a.dims[0] ||
      y.dims[1] != b.dims[0])
    return kernelError(call, "shapes must be a [M,K], b [N,K], y [M,N], got a " + shapeString(a) + ", b " +
                                 shapeString(b) + ", y " + shapeString(y));
  if (a.dims[1] % kMxBlock != 0) return kernelError(call, "K must be a multiple of 32 (the MX block)");
  for (const char *name : {"a_format", "b_format", "grad_format"}) {
    int64_t f;
    MPC_RETURN_IF_ERROR(getInt(call, name, name[0] == 'g' ? 6 : 5, &f));
    if (f != 5 && f != 6) return kernelError(call, std::string("attribute '") + name + "' must be 5 or 6");
  }
  if (call.numInputs == 3) {
    if (!isWide(call.inputs[2].dtype)) return kernelError(call, "c must be a float tensor");
    int64_t strides[kMaxRank];
    MPC_RETURN_IF_ERROR(broadcastStrides(call, call.inputs[2], y, strides));
  }
  Status err;
  call.attrs->getFloat("alpha", 1.0, &err);
  MPC_RETURN_IF_ERROR(err);
  call.attrs->getFloat("beta", 1.0, &err);
  return err;
}

// The MX-quantized then dequantized values of a rows x K tensor, blocks of 32
// along each row: element(x) * 2^X, exact in FP32 (NaN for a non-finite block).
void mxDequantized(ThreadPool *pool, const TensorView &t, int64_t format, std::vector<float> &out) {
  const int64_t rows = t.dims[0], k = t.dims[1], blocksPerRow = k / kMxBlock;
  const bool e4m3 = format == 5;
  const int emax = e4m3 ? 8 : 15;
  out.resize(static_cast<size_t>(rows * k));
  visitFloat(t.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *p = t.as<const T>();
    parallelFor(pool, rows * blocksPerRow, 256, [&](int64_t bgn, int64_t end) {
      for (int64_t blk = bgn; blk < end; ++blk) {
        const int64_t base = blk * kMxBlock;
        float x[kMxBlock];
        float amax = 0.0f;
        bool bad = false;
        for (int i = 0; i < kMxBlock; ++i) {
          x[i] = static_cast<float>(Elem<T>::load(p[base + i]));
          const float ax = std::fabs(x[i]);
          if (!(ax <= kFp8FltMax)) bad = true;
          else if (ax > amax) amax = ax;
        }
        int e = 0;
        if (bad || !mxScaleExponent(amax, emax, &e)) {
          for (int i = 0; i < kMxBlock; ++i) out[base + i] = std::numeric_limits<float>::quiet_NaN();
          continue;
        }
        // x / 2^X as x * 2^-X: exact unless it under- or overflows, where
        // the conversion's rounding and saturation apply as for any value.
        const float inv = mxPow2(-e), scale = mxPow2(e);
        for (int i = 0; i < kMxBlock; ++i) {
          const float v = x[i] * inv;
          const float q = e4m3 ? e4m3fnToFloat(floatToE4M3FN(v, true)) : e5m2ToFloat(floatToE5M2(v, true));
          out[base + i] = q * scale;
        }
      }
    });
  });
}

Status mxGemm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkMxGemm(call));
  const TensorView &a = call.inputs[0], &b = call.inputs[1];
  const int64_t m = a.dims[0], k = a.dims[1], n = b.dims[0];
  int64_t fa, fb;
  MPC_RETURN_IF_ERROR(getInt(call, "a_format", 5, &fa));
  MPC_RETURN_IF_ERROR(getInt(call, "b_format", 5, &fb));
  const float alpha = static_cast<float>(call.attrs->getFloat("alpha", 1.0));
  const float beta = static_cast<float>(call.attrs->getFloat("beta", 1.0));
  std::vector<float> ad, bd, acc(static_cast<size_t>(m * n), 0.0f);
  mxDequantized(call.pool, a, fa, ad);
  mxDequantized(call.pool, b, fb, bd);
  if (m > 0 && n > 0 && k > 0)
    parallelGemm<float>(call.pool, false, true, m, n, k, 1.0f, ad.data(), k, bd.data(), k, 0.0f, acc.data(), n);
  // Block scales are already applied: unit tensor scales (x * 1 is exact).
  return storeGemmResult(call, acc, 1.0f, 1.0f, alpha, beta, /*cInput=*/2);
}

} // namespace

void registerFp8Kernels(KernelRegistry &reg) {
  const DType any = DType::kInvalid;
  addKernel(reg, "fp8_quantize", {any, any, any, any}, fp8Quantize, checkFp8Quantize);
  addKernel(reg, "fp8_gemm", {any, any, any, any, any}, fp8Gemm, checkFp8Gemm);
  addKernel(reg, "fp8_gemm", {any, any, any, any, any, any}, fp8Gemm, checkFp8Gemm);
  addKernel(reg, "mx_gemm", {any, any, any}, mxGemm, checkMxGemm);
  addKernel(reg, "mx_gemm", {any, any, any, any}, mxGemm, checkMxGemm);
  addKernel(reg, "fp8_current_scale", {any, any, any}, fp8CurrentScale, checkFp8CurrentScale);
  // One entry per operand count (the registry matches the number of dtypes).
  for (int n = 1; n <= kMaxFp8UpdateOperands; ++n) {
    addKernel(reg, "fp8_scale_update", std::vector<DType>(7 * n, any), fp8ScaleUpdate, checkFp8ScaleUpdate);
    addKernel(reg, "fp8_scale_update", std::vector<DType>(7 * n + 1, any), fp8ScaleUpdate, checkFp8ScaleUpdate);
  }
}

} // namespace mpc::rt::cpu
