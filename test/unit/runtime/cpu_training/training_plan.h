// A tiny training plan built by hand with PlanWriter (what mpc-opt --train
// emits for a linear softmax classifier trained with Adam):
//
//   inputs   x: f32[B, D], labels: i64[B]
//   states   W f32[D, C], b f32[C], W.exp_avg, W.exp_avg_sq, b.exp_avg,
//            b.exp_avg_sq, optimizer.step i64[], optimizer.lr f32[]
//   logits = matmul(x, W) + b
//   (loss, logp) = softmax_cross_entropy_loss(logits, labels)      (mean)
//   dlogits = softmax_cross_entropy_loss_grad(logp, labels, 1)
//   dW = matmul(transpose(x), dlogits);  db = reduce_sum(dlogits, [0])
//   (W, W.exp_avg, W.exp_avg_sq) = adam_update(W, dW, ..., step, lr)   in place
//   (b, b.exp_avg, b.exp_avg_sq) = adam_update(b, db, ..., step, lr)   in place
//   optimizer.step = add(optimizer.step, 1)                            in place
//   output "loss"
#pragma once

#include <random>
#include <string>
#include <vector>

#include "core/plan_writer.h"

namespace mpc::rt::test {

struct TrainingPlanShape {
  int64_t batch = 8, features = 5, classes = 3;
};

inline void buildTrainingPlan(PlanWriter &w, const TrainingPlanShape &s = {}, double lr = 0.05,
                              bool decoupled = true) {
  const int64_t B = s.batch, D = s.features, C = s.classes;
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> wInit(D * C), bInit(C, 0.1f);
  for (float &v : wInit) v = normal(rng);
  const float lrInit = static_cast<float>(lr), one = 1.0f;
  const int64_t oneI = 1;
  const DType f32 = DType::kF32;
  int32_t x = w.addTensor("x", f32, {B, D}, Storage::kInput);
  int32_t labels = w.addTensor("labels", DType::kI64, {B}, Storage::kInput);
  int32_t W = w.addTensor("W", f32, {D, C}, Storage::kState, wInit.data());
  int32_t b = w.addTensor("b", f32, {C}, Storage::kState, bInit.data());
  int32_t mW = w.addTensor("W.exp_avg", f32, {D, C}, Storage::kState);
  int32_t vW = w.addTensor("W.exp_avg_sq", f32, {D, C}, Storage::kState);
  int32_t mb = w.addTensor("b.exp_avg", f32, {C}, Storage::kState);
  int32_t vb = w.addTensor("b.exp_avg_sq", f32, {C}, Storage::kState);
  int32_t step = w.addTensor("optimizer.step", DType::kI64, {}, Storage::kState);
  int32_t lrT = w.addTensor("optimizer.lr", f32, {}, Storage::kState, &lrInit);
  int32_t oneT = w.addTensor("one", f32, {}, Storage::kConstant, &one);
  int32_t oneStep = w.addTensor("one_step", DType::kI64, {}, Storage::kConstant, &oneI);
  int32_t mm = w.addTensor("mm", f32, {B, C}, Storage::kActivation);
  int32_t logits = w.addTensor("logits", f32, {B, C}, Storage::kActivation);
  int32_t loss = w.addTensor("loss", f32, {}, Storage::kActivation);
  int32_t logp = w.addTensor("logp", f32, {B, C}, Storage::kActivation);
  int32_t dlogits = w.addTensor("dlogits", f32, {B, C}, Storage::kActivation);
  int32_t xT = w.addTensor("xT", f32, {D, B}, Storage::kActivation);
  int32_t dW = w.addTensor("dW", f32, {D, C}, Storage::kActivation);
  int32_t db = w.addTensor("db", f32, {C}, Storage::kActivation);
  w.addKernel("matmul", {x, W}, {mm}, {}, "MatMul_0");
  w.addKernel("add", {mm, b}, {logits}, {}, "Add_1");
  w.addKernel("softmax_cross_entropy_loss", {logits, labels}, {loss, logp}, {{"reduction", std::string("mean")}}, "Loss_2");
  w.addKernel("softmax_cross_entropy_loss_grad", {logp, labels, oneT}, {dlogits}, {{"reduction", std::string("mean")}},
              "Loss_2_grad");
  w.addKernel("transpose", {x}, {xT}, {{"perm", std::vector<int64_t>{1, 0}}}, "MatMul_0_grad_t");
  w.addKernel("matmul", {xT, dlogits}, {dW}, {}, "MatMul_0_grad");
  w.addKernel("reduce_sum", {dlogits}, {db}, {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t(0)}}, "Add_1_grad");
  const std::vector<Attr> adam = {{"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}, {"weight_decay", 0.01},
                                  {"decoupled", int64_t(decoupled)}};
  w.addKernel("adam_update", {W, dW, mW, vW, step, lrT}, {W, mW, vW}, adam, "W_adam");
  w.addKernel("adam_update", {b, db, mb, vb, step, lrT}, {b, mb, vb}, adam, "b_adam");
  w.addKernel("add", {step, oneStep}, {step}, {}, "step_increment");
  w.bindInput("x", x);
  w.bindInput("labels", labels);
  w.bindOutput("loss", loss);
}

// A deterministic, learnable batch: labels from a fixed linear rule.
inline void makeBatch(const TrainingPlanShape &s, uint32_t seed, std::vector<float> *x, std::vector<int64_t> *labels) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  x->assign(s.batch * s.features, 0.0f);
  labels->assign(s.batch, 0);
  for (int64_t i = 0; i < s.batch; ++i) {
    float best = -1e30f;
    for (int64_t f = 0; f < s.features; ++f) (*x)[i * s.features + f] = normal(rng);
    for (int64_t c = 0; c < s.classes; ++c) {
      float score = 0;
      for (int64_t f = 0; f < s.features; ++f) score += (*x)[i * s.features + f] * static_cast<float>((f + c) % 3 - 1);
      if (score > best) best = score, (*labels)[i] = c;
    }
  }
}

}  // namespace mpc::rt::test
