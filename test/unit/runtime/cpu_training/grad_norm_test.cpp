// batch_norm_train_grad and layer_norm_grad against central finite
// differences of the forward kernels (f64), and the lower precisions against
// the f64 results on the same rounded operands.
#include "training_test_util.h"

namespace mpc::rt::test {
namespace {

TEST(BatchNormTrainGrad, F64MatchesFiniteDifferences) {
  for (const Dims &d : {Dims{4, 3}, Dims{2, 3, 4, 5}}) {
    const int64_t c = d[1];
    Tensor x = randomTensor(DType::kF64, d, 51), scale = randomTensor(DType::kF64, {c}, 52, 0.5, 2);
    Tensor bias = randomTensor(DType::kF64, {c}, 53), rm(DType::kF64, {c}), rv = randomTensor(DType::kF64, {c}, 54, 0.5, 1);
    Tensor dy = randomTensor(DType::kF64, d, 55);
    Tensor dx(DType::kF64, d), ds(DType::kF64, {c}), db(DType::kF64, {c});
    const std::vector<Attr> at = {attr("epsilon", 1e-3)};
    ASSERT_KERNEL_OK(runOp("batch_norm_train_grad", {&x, &scale, &dy}, {&dx, &ds, &db}, at));
    Tensor y(DType::kF64, d), nm(DType::kF64, {c}), nv(DType::kF64, {c});
    auto loss = [&] {
      EXPECT_TRUE(runKernel("batch_norm_train", {&x, &scale, &bias, &rm, &rv}, {&y, &nm, &nv},
                            {attr("epsilon", 1e-3), attr("momentum", 0.9)}).isOk());
      return dot(y, dy);
    };
    EXPECT_TRUE(allClose(dx, numericGrad(x, loss), {1e-6, 1e-7})) << "dx";
    EXPECT_TRUE(allClose(ds, numericGrad(scale, loss), {1e-6, 1e-7})) << "dscale";
    EXPECT_TRUE(allClose(db, numericGrad(bias, loss), {1e-6, 1e-7})) << "dbias";

    for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
      for (DType p : {t, DType::kF32}) {
        Tensor xt = convertTo(x, t), st = convertTo(scale, p), dyt = convertTo(dy, t);
        Tensor dxt(t, d), dst(p, {c}), dbt(p, {c});
        ASSERT_KERNEL_OK(runOp("batch_norm_train_grad", {&xt, &st, &dyt}, {&dxt, &dst, &dbt}, at));
        Tensor x64 = convertTo(xt, DType::kF64), s64 = convertTo(st, DType::kF64), dy64 = convertTo(dyt, DType::kF64);
        Tensor dx64(DType::kF64, d), ds64(DType::kF64, {c}), db64(DType::kF64, {c});
        ASSERT_KERNEL_OK(runOp("batch_norm_train_grad", {&x64, &s64, &dy64}, {&dx64, &ds64, &db64}, at));
        EXPECT_TRUE(allClose(dxt, dx64.values(), tolFor(t, 20))) << dtypeName(t);
        EXPECT_TRUE(allClose(dst, ds64.values(), tolFor(p == t ? t : DType::kF32, 20))) << dtypeName(t);
        EXPECT_TRUE(allClose(dbt, db64.values(), tolFor(p == t ? t : DType::kF32, 20))) << dtypeName(t);
        if (t == DType::kF32) break;
      }
    }
  }
}

TEST(LayerNormGrad, F64MatchesFiniteDifferences) {
  for (int64_t axis : {1, 2}) {
    const Dims d{3, 4, 5};
    Dims sd(d.begin() + axis, d.end()), statDims = d;
    for (size_t k = axis; k < d.size(); ++k) statDims[k] = 1;
    Tensor x = randomTensor(DType::kF64, d, 61), scale = randomTensor(DType::kF64, sd, 62, 0.5, 2);
    Tensor bias = randomTensor(DType::kF64, sd, 63), dy = randomTensor(DType::kF64, d, 64);
    Tensor y(DType::kF64, d), mean(DType::kF32, statDims), inv(DType::kF32, statDims);
    const std::vector<Attr> at = {attr("axis", axis), attr("epsilon", 1e-5)};
    ASSERT_KERNEL_OK(runKernel("layer_norm", {&x, &scale, &bias}, {&y, &mean, &inv}, at));
    Tensor dx(DType::kF64, d), ds(DType::kF64, sd), db(DType::kF64, sd);
    // With `epsilon` the f64 kernel recomputes the statistics in double.
    ASSERT_KERNEL_OK(runOp("layer_norm_grad", {&x, &scale, &mean, &inv, &dy}, {&dx, &ds, &db}, at));
    Tensor y2(DType::kF64, d), m2(DType::kF32, statDims), i2(DType::kF32, statDims);
    auto loss = [&] {
      EXPECT_TRUE(runKernel("layer_norm", {&x, &scale, &bias}, {&y2, &m2, &i2}, at).isOk());
      return dot(y2, dy);
    };
    EXPECT_TRUE(allClose(dx, numericGrad(x, loss), {1e-6, 1e-7})) << "dx axis " << axis;
    EXPECT_TRUE(allClose(ds, numericGrad(scale, loss), {1e-6, 1e-7})) << "dscale";
    EXPECT_TRUE(allClose(db, numericGrad(bias, loss), {1e-6, 1e-7})) << "dbias";

    // Without `epsilon` the saved f32 statistics are used: FP32-level agreement.
    Tensor dxs(DType::kF64, d), dss(DType::kF64, sd), dbs(DType::kF64, sd);
    ASSERT_KERNEL_OK(runOp("layer_norm_grad", {&x, &scale, &mean, &inv, &dy}, {&dxs, &dss, &dbs}, {attr("axis", axis)}));
    EXPECT_TRUE(allClose(dxs, dx.values(), {1e-5, 1e-6}));

    for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
      Tensor xt = convertTo(x, t), st = convertTo(scale, t), bt = convertTo(bias, t), dyt = convertTo(dy, t);
      Tensor yt(t, d), mt(DType::kF32, statDims), it(DType::kF32, statDims);
      ASSERT_KERNEL_OK(runKernel("layer_norm", {&xt, &st, &bt}, {&yt, &mt, &it}, at));
      Tensor dxt(t, d), dst(t, sd), dbt(t, sd);
      ASSERT_KERNEL_OK(runOp("layer_norm_grad", {&xt, &st, &mt, &it, &dyt}, {&dxt, &dst, &dbt}, {attr("axis", axis)}));
      Tensor x64 = convertTo(xt, DType::kF64), s64 = convertTo(st, DType::kF64), dy64 = convertTo(dyt, DType::kF64);
      Tensor dx64(DType::kF64, d), ds64(DType::kF64, sd), db64(DType::kF64, sd);
      ASSERT_KERNEL_OK(runOp("layer_norm_grad", {&x64, &s64, &mt, &it, &dy64}, {&dx64, &ds64, &db64}, at));
      EXPECT_TRUE(allClose(dxt, dx64.values(), tolFor(t, 20))) << dtypeName(t);
      EXPECT_TRUE(allClose(dst, ds64.values(), tolFor(t, 20))) << dtypeName(t);
      EXPECT_TRUE(allClose(dbt, db64.values(), tolFor(t, 20))) << dtypeName(t);
      // The mixed-precision form: f32 scale (and dscale, dbias) with low x.
      Tensor s32 = convertTo(st, DType::kF32), dx2(t, d), ds2(DType::kF32, sd), db2(DType::kF32, sd);
      ASSERT_KERNEL_OK(runOp("layer_norm_grad", {&xt, &s32, &mt, &it, &dyt}, {&dx2, &ds2, &db2}, {attr("axis", axis)}));
      EXPECT_TRUE(allClose(dx2, dx64.values(), tolFor(t, 20))) << dtypeName(t);
      EXPECT_TRUE(allClose(ds2, ds64.values(), tolFor(DType::kF32, 100))) << dtypeName(t);
      EXPECT_TRUE(allClose(db2, db64.values(), tolFor(DType::kF32, 100))) << dtypeName(t);
    }
  }
}

TEST(NormGrad, RejectsBadShapes) {
  Tensor x(DType::kF32, {2, 3}), scale(DType::kF32, {4}), dy(DType::kF32, {2, 3});
  Tensor dx(DType::kF32, {2, 3}), ds(DType::kF32, {4}), db(DType::kF32, {4});
  EXPECT_KERNEL_ERROR(checkOp("batch_norm_train_grad", {&x, &scale, &dy}, {&dx, &ds, &db}), "scale has shape");
  Tensor s3(DType::kF32, {3}), mean(DType::kF32, {2, 1}), inv(DType::kF32, {2, 1}), d3(DType::kF32, {3}), b3(DType::kF32, {3});
  EXPECT_KERNEL_ERROR(checkOp("layer_norm_grad", {&x, &s3, &mean, &inv, &dy}, {&dx, &d3, &b3}, {attr("axis", int64_t(2))}),
                      "axis");
  Tensor mean2(DType::kF32, {2, 3});
  EXPECT_KERNEL_ERROR(checkOp("layer_norm_grad", {&x, &s3, &mean2, &inv, &dy}, {&dx, &d3, &b3}, {attr("axis", int64_t(1))}),
                      "mean");
}

}  // namespace
}  // namespace mpc::rt::test
