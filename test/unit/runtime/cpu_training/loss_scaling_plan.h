// Two small hand-built plans that exercise the loss scaling and gradient
// accumulation kernels the way mpc-opt --train emits them.
//
// buildLossScalingPlan: the "gradient" is the graph input g (f16, already
// multiplied by the loss scale), so a test can inject inf/NaN:
//   inputs   x f32[4], g f16[4]
//   states   W f32[4] (master), W.working f16[4], loss_scale.scale f32[] (4),
//            loss_scale.growth_tracker i64[], optimizer.step i64[], optimizer.lr f32[]
//   loss = reduce_sum(x)
//   (u, found_inf, nonfinite_index, grad_norm) = unscale_and_check(g, scale) names "W"
//   c = clip_grad_norm(u, grad_norm) max_norm
//   (W, W.working) = sgd_update(W, c, lr, found_inf)
//   optimizer.step = count_step(optimizer.step, found_inf)
//   (scale, tracker) = loss_scale_update(scale, tracker, found_inf) growth_interval 2
//   outputs loss, found_inf, grad_norm, nonfinite_index
//
// buildAccumulationPlan: K micro-batches per step, gradient = input g f32[4]:
//   states   W f32[4], acc f32[4], accumulate.micro_step i64[], optimizer.step, optimizer.lr
//   loss = reduce_sum(g)
//   skip = accumulation_skip(micro_step) steps K
//   acc = accumulate_grad(acc, g, micro_step) steps K
//   W = sgd_update(W, acc, lr, skip)
//   optimizer.step = count_step(optimizer.step, skip)
//   micro_step = count_step(micro_step)
#pragma once

#include <vector>

#include "core/plan_writer.h"

namespace mpc::rt::test {

inline void buildLossScalingPlan(PlanWriter &w, float initScale = 4.0f, double maxNorm = 100.0) {
  const DType f32 = DType::kF32, i64 = DType::kI64;
  const std::vector<float> wInit = {1.0f, -2.0f, 0.5f, 3.0f};
  const float lr = 0.5f;
  int32_t x = w.addTensor("x", f32, {4}, Storage::kInput);
  int32_t g = w.addTensor("g", DType::kF16, {4}, Storage::kInput);
  int32_t W = w.addTensor("W", f32, {4}, Storage::kState, wInit.data());
  int32_t Wh = w.addTensor("W.working", DType::kF16, {4}, Storage::kState);
  int32_t scale = w.addTensor("loss_scale.scale", f32, {}, Storage::kState, &initScale);
  int32_t tracker = w.addTensor("loss_scale.growth_tracker", i64, {}, Storage::kState);
  int32_t step = w.addTensor("optimizer.step", i64, {}, Storage::kState);
  int32_t lrT = w.addTensor("optimizer.lr", f32, {}, Storage::kState, &lr);
  int32_t loss = w.addTensor("loss", f32, {}, Storage::kActivation);
  int32_t u = w.addTensor("u", f32, {4}, Storage::kActivation);
  int32_t found = w.addTensor("found_inf", f32, {}, Storage::kActivation);
  int32_t index = w.addTensor("nonfinite_index", i64, {}, Storage::kActivation);
  int32_t norm = w.addTensor("grad_norm", f32, {}, Storage::kActivation);
  int32_t c = w.addTensor("c", f32, {4}, Storage::kActivation);
  w.addKernel("reduce_sum", {x}, {loss}, {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t(0)}}, "loss");
  w.addKernel("unscale_and_check", {g, scale}, {u, found, index, norm}, {{"names", std::string("W")}}, "unscale");
  w.addKernel("clip_grad_norm", {u, norm}, {c}, {{"max_norm", maxNorm}}, "clip");
  w.addKernel("sgd_update", {W, c, lrT, found}, {W, Wh}, {}, "W_sgd");
  w.addKernel("count_step", {step, found}, {step}, {}, "step_count");
  w.addKernel("loss_scale_update", {scale, tracker, found}, {scale, tracker}, {{"growth_interval", int64_t(2)}},
              "scale_update");
  w.bindInput("x", x);
  w.bindInput("g", g);
  w.bindOutput("loss", loss);
  w.bindOutput("found_inf", found);
  w.bindOutput("grad_norm", norm);
  w.bindOutput("nonfinite_index", index);
}

inline void buildAccumulationPlan(PlanWriter &w, int64_t k) {
  const DType f32 = DType::kF32, i64 = DType::kI64;
  const std::vector<float> wInit = {1.0f, -2.0f, 0.5f, 3.0f};
  const float lr = 0.25f;
  int32_t g = w.addTensor("g", f32, {4}, Storage::kInput);
  int32_t W = w.addTensor("W", f32, {4}, Storage::kState, wInit.data());
  int32_t acc = w.addTensor("W.grad_accum", f32, {4}, Storage::kState);
  int32_t micro = w.addTensor("accumulate.micro_step", i64, {}, Storage::kState);
  int32_t step = w.addTensor("optimizer.step", i64, {}, Storage::kState);
  int32_t lrT = w.addTensor("optimizer.lr", f32, {}, Storage::kState, &lr);
  int32_t loss = w.addTensor("loss", f32, {}, Storage::kActivation);
  int32_t skip = w.addTensor("skip", f32, {}, Storage::kActivation);
  w.addKernel("reduce_sum", {g}, {loss}, {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t(0)}}, "loss");
  w.addKernel("accumulation_skip", {micro}, {skip}, {{"steps", k}}, "accum_skip");
  w.addKernel("accumulate_grad", {acc, g, micro}, {acc}, {{"steps", k}}, "accum");
  w.addKernel("sgd_update", {W, acc, lrT, skip}, {W}, {}, "W_sgd");
  w.addKernel("count_step", {step, skip}, {step}, {}, "step_count");
  w.addKernel("count_step", {micro}, {micro}, {}, "micro_count");
  w.bindInput("g", g);
  w.bindOutput("loss", loss);
}

}  // namespace mpc::rt::test
