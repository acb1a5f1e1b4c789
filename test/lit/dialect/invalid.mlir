// RUN: mpc-opt %s -split-input-file -verify-diagnostics

func.func @broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @below {{'mpc.add' operands do not broadcast: 'tensor<2x3xf32>' and 'tensor<4xf32>'}}
  // expected-error @below {{'mpc.add' op failed to infer returned types}}
  %0 = mpc.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @element_types(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) -> tensor<2x3xf32> {
  // expected-error @below {{'mpc.mul' operand element types differ: 'f32' vs 'f16'}}
  // expected-error @below {{'mpc.mul' op failed to infer returned types}}
  %0 = mpc.mul %a, %b : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @inferred_mismatch(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3x3xf32> {
  // expected-error @below {{'mpc.sub' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x3xf32>'}}
  // expected-error @below {{'mpc.sub' op failed to infer returned types}}
  %0 = mpc.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @compare_result(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @below {{'mpc.less' op result #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = mpc.less %a, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @where_types(%c: tensor<3xi1>, %x: tensor<3xf32>, %y: tensor<3xbf16>) -> tensor<3xf32> {
  // expected-error @below {{'mpc.where' x and y element types differ: 'f32' vs 'bf16'}}
  // expected-error @below {{'mpc.where' op failed to infer returned types}}
  %0 = mpc.where %c, %x, %y : (tensor<3xi1>, tensor<3xf32>, tensor<3xbf16>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @unary_type(%x: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @below {{'mpc.relu' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type or 64-bit float values, but got 'tensor<3xi32>'}}
  %0 = mpc.relu %x : (tensor<3xi32>) -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @gelu(%x: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @below {{'mpc.gelu' op approximate must be "none" or "tanh", got "fast"}}
  %0 = mpc.gelu %x {approximate = "fast"} : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @matmul(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @below {{'mpc.matmul' contraction dims differ: 'tensor<2x3xf32>' x 'tensor<4x5xf32>'}}
  // expected-error @below {{'mpc.matmul' op failed to infer returned types}}
  %0 = mpc.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<5x4x6xf32>) -> tensor<2x3x6xf32> {
  // expected-error @below {{'mpc.matmul' batch dims do not broadcast: 'tensor<2x3x4xf32>' x 'tensor<5x4x6xf32>'}}
  // expected-error @below {{'mpc.matmul' op failed to infer returned types}}
  %0 = mpc.matmul %a, %b : (tensor<2x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x3x6xf32>
  return %0 : tensor<2x3x6xf32>
}

// -----

func.func @gemm_c(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>, %c: tensor<4xf32>) -> tensor<4x5xf32> {
  // expected-error @below {{'mpc.gemm' C of shape [4] does not broadcast to [4,5]}}
  // expected-error @below {{'mpc.gemm' op failed to infer returned types}}
  %0 = mpc.gemm %a, %b, %c : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<4xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @gemm_trans(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>) -> tensor<4x5xf32> {
  // expected-error @below {{'mpc.gemm' contraction dims differ (3 vs 5) for 'tensor<4x3xf32>' x 'tensor<3x5xf32>'}}
  // expected-error @below {{'mpc.gemm' op failed to infer returned types}}
  %0 = mpc.gemm %a, %b {trans_b = true} : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @conv_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @below {{'mpc.conv' channels do not match: X has 4, W expects 3 x group 1 (W has 6 output channels)}}
  // expected-error @below {{'mpc.conv' op failed to infer returned types}}
  %0 = mpc.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_group(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @below {{'mpc.conv' channels do not match: X has 4, W expects 2 x group 4 (W has 6 output channels)}}
  // expected-error @below {{'mpc.conv' op failed to infer returned types}}
  %0 = mpc.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 4 : i64}
      : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_bias(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @below {{'mpc.conv' bias must be 6 elements of 'f32', got 'tensor<4xf32>'}}
  // expected-error @below {{'mpc.conv' op failed to infer returned types}}
  %0 = mpc.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<4xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @window_too_large(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x1x1xf32> {
  // expected-error @below {{'mpc.max_pool' window of 5 (dilation 1) does not fit spatial dim 0 of size 4 with pads [0,0,0,0]}}
  // expected-error @below {{'mpc.max_pool' op failed to infer returned types}}
  %0 = mpc.max_pool %x {kernel_shape = array<i64: 5, 5>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x2x4x4xf32>) -> tensor<1x2x1x1xf32>
  return %0 : tensor<1x2x1x1xf32>
}

// -----

func.func @pads_size(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @below {{'mpc.avg_pool' expects 2 kernel dims, 2 strides, 4 pads and 2 dilations, got 2, 2, 2, 2}}
  // expected-error @below {{'mpc.avg_pool' op failed to infer returned types}}
  %0 = mpc.avg_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1>}
      : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @negative_pads(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @below {{'mpc.avg_pool' pads must be non-negative, got [0,-1,0,1]}}
  // expected-error @below {{'mpc.avg_pool' op failed to infer returned types}}
  %0 = mpc.avg_pool %x {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, -1, 0, 1>}
      : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @zero_stride(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @below {{'mpc.max_pool' kernel, strides and dilations must be positive}}
  // expected-error @below {{'mpc.max_pool' op failed to infer returned types}}
  %0 = mpc.max_pool %x {kernel_shape = array<i64: 1, 1>, strides = array<i64: 0, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @pool_rank(%x: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  // expected-error @below {{'mpc.max_pool' supports 2-D inputs (rank 4, NCHW) only, got 'tensor<2x4x4xf32>'}}
  // expected-error @below {{'mpc.max_pool' op failed to infer returned types}}
  %0 = mpc.max_pool %x {kernel_shape = array<i64: 1, 1>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %0 : tensor<2x4x4xf32>
}

// -----

func.func @batch_norm_params(%x: tensor<2x3x4x4xf32>, %s: tensor<3xf32>, %m: tensor<4xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @below {{'mpc.batch_norm' mean must have shape [3], got 'tensor<4xf32>'}}
  // expected-error @below {{'mpc.batch_norm' op failed to infer returned types}}
  %0 = mpc.batch_norm %x, %s, %s, %m, %s
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x4x4xf32>
}

// -----

func.func @layer_norm_axis(%x: tensor<2x8xf32>, %g: tensor<8xf32>) {
  // expected-error @below {{'mpc.layer_norm' axis 2 is out of range for 'tensor<2x8xf32>'}}
  // expected-error @below {{'mpc.layer_norm' op failed to infer returned types}}
  %0:3 = mpc.layer_norm %x, %g {axis = 2 : i64}
      : (tensor<2x8xf32>, tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x8xf32>, %g: tensor<4xf32>) {
  // expected-error @below {{'mpc.layer_norm' scale/bias of shape [4] do not broadcast to the normalised dims [8]}}
  // expected-error @below {{'mpc.layer_norm' op failed to infer returned types}}
  %0:3 = mpc.layer_norm %x, %g {axis = 1 : i64}
      : (tensor<2x8xf32>, tensor<4xf32>) -> (tensor<2x8xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return
}

// -----

func.func @softmax_axis(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error @below {{'mpc.softmax' op axis -1 is out of range for 'tensor<4x10xf32>'}}
  %0 = mpc.softmax %x {axis = -1 : i64} : (tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @log_softmax_axis(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error @below {{'mpc.log_softmax' op axis 2 is out of range for 'tensor<4x10xf32>'}}
  %0 = mpc.log_softmax %x {axis = 2 : i64} : (tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @reduce_unsorted(%x: tensor<4x10x3xf32>) -> tensor<1x10x1xf32> {
  // expected-error @below {{'mpc.reduce_sum' axes [2,0] must be sorted, unique and within rank 3}}
  // expected-error @below {{'mpc.reduce_sum' op failed to infer returned types}}
  %0 = mpc.reduce_sum %x {axes = array<i64: 2, 0>} : (tensor<4x10x3xf32>) -> tensor<1x10x1xf32>
  return %0 : tensor<1x10x1xf32>
}

// -----

func.func @reduce_duplicate(%x: tensor<4x10x3xf32>) -> tensor<1x10x3xf32> {
  // expected-error @below {{'mpc.reduce_max' axes [0,0] must be sorted, unique and within rank 3}}
  // expected-error @below {{'mpc.reduce_max' op failed to infer returned types}}
  %0 = mpc.reduce_max %x {axes = array<i64: 0, 0>} : (tensor<4x10x3xf32>) -> tensor<1x10x3xf32>
  return %0 : tensor<1x10x3xf32>
}

// -----

func.func @reduce_empty(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error @below {{'mpc.reduce_mean' axes must not be empty (the importer expands "all axes")}}
  // expected-error @below {{'mpc.reduce_mean' op failed to infer returned types}}
  %0 = mpc.reduce_mean %x {axes = array<i64>} : (tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @reduce_range(%x: tensor<4x10xf32>) -> tensor<4xf32> {
  // expected-error @below {{'mpc.reduce_sum' axes [-1] must be sorted, unique and within rank 2}}
  // expected-error @below {{'mpc.reduce_sum' op failed to infer returned types}}
  %0 = mpc.reduce_sum %x {axes = array<i64: -1>, keepdims = false} : (tensor<4x10xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @below {{'mpc.reshape' op changes the element count from 6 to 7}}
  %0 = mpc.reshape %x : (tensor<2x3xf32>) -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @reshape_type(%x: tensor<2x3xf32>) -> tensor<6xf16> {
  // expected-error @below {{'mpc.reshape' op changes the element type from 'f32' to 'f16'}}
  %0 = mpc.reshape %x : (tensor<2x3xf32>) -> tensor<6xf16>
  return %0 : tensor<6xf16>
}

// -----

func.func @transpose_perm(%x: tensor<2x3x4xf32>) -> tensor<4x3x3xf32> {
  // expected-error @below {{'mpc.transpose' perm [2,1,1] is not a permutation}}
  // expected-error @below {{'mpc.transpose' op failed to infer returned types}}
  %0 = mpc.transpose %x {perm = array<i64: 2, 1, 1>} : (tensor<2x3x4xf32>) -> tensor<4x3x3xf32>
  return %0 : tensor<4x3x3xf32>
}

// -----

func.func @transpose_rank(%x: tensor<2x3x4xf32>) -> tensor<3x2xf32> {
  // expected-error @below {{'mpc.transpose' perm [1,0] does not match rank 3}}
  // expected-error @below {{'mpc.transpose' op failed to infer returned types}}
  %0 = mpc.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) -> tensor<2x6xf32> {
  // expected-error @below {{'mpc.concat' inputs differ in dim 0: 'tensor<2x3xf32>' vs 'tensor<3x3xf32>'}}
  // expected-error @below {{'mpc.concat' op failed to infer returned types}}
  %0 = mpc.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @concat_types(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) -> tensor<2x6xf32> {
  // expected-error @below {{'mpc.concat' inputs differ in element type or rank: 'tensor<2x3xf32>' vs 'tensor<2x3xf16>'}}
  // expected-error @below {{'mpc.concat' op failed to infer returned types}}
  %0 = mpc.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @below {{'mpc.concat' axis -1 is out of range for 'tensor<2x3xf32>'}}
  // expected-error @below {{'mpc.concat' op failed to infer returned types}}
  %0 = mpc.concat %a {axis = -1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @split_sizes(%x: tensor<2x8xf32>) {
  // expected-error @below {{'mpc.split' sizes [3,4] do not add up to dim 1 of 'tensor<2x8xf32>'}}
  // expected-error @below {{'mpc.split' op failed to infer returned types}}
  %0:2 = mpc.split %x {axis = 1 : i64, sizes = array<i64: 3, 4>} : (tensor<2x8xf32>) -> (tensor<2x3xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @split_negative(%x: tensor<2x8xf32>) {
  // expected-error @below {{'mpc.split' sizes must be non-negative, got [9,-1]}}
  // expected-error @below {{'mpc.split' op failed to infer returned types}}
  %0:2 = mpc.split %x {axis = 1 : i64, sizes = array<i64: 9, -1>} : (tensor<2x8xf32>) -> (tensor<2x9xf32>, tensor<2x0xf32>)
  return
}

// -----

func.func @slice_normalised(%x: tensor<2x6xf32>) -> tensor<2x2xf32> {
  // expected-error @below {{'mpc.slice' dim 1 of size 6: start -2, end 6, step 1 are not normalised}}
  // expected-error @below {{'mpc.slice' op failed to infer returned types}}
  %0 = mpc.slice %x {starts = array<i64: 0, -2>, ends = array<i64: 2, 6>, steps = array<i64: 1, 1>} : (tensor<2x6xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @slice_end(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  // expected-error @below {{'mpc.slice' dim 1 of size 6: start 0, end 7, step 1 are not normalised}}
  // expected-error @below {{'mpc.slice' op failed to infer returned types}}
  %0 = mpc.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 2, 7>, steps = array<i64: 1, 1>} : (tensor<2x6xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @slice_step(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  // expected-error @below {{'mpc.slice' dim 1 of size 6: start 0, end 6, step 0 are not normalised}}
  // expected-error @below {{'mpc.slice' op failed to infer returned types}}
  %0 = mpc.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 2, 6>, steps = array<i64: 1, 0>} : (tensor<2x6xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @slice_count(%x: tensor<2x6xf32>) -> tensor<2xf32> {
  // expected-error @below {{'mpc.slice' needs one start, end and step per dim of 'tensor<2x6xf32>'}}
  // expected-error @below {{'mpc.slice' op failed to infer returned types}}
  %0 = mpc.slice %x {starts = array<i64: 0>, ends = array<i64: 2>, steps = array<i64: 1>} : (tensor<2x6xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gather_axis(%t: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<10x3xf32> {
  // expected-error @below {{'mpc.gather' axis 2 is out of range for 'tensor<10x4xf32>'}}
  // expected-error @below {{'mpc.gather' op failed to infer returned types}}
  %0 = mpc.gather %t, %i {axis = 2 : i64} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<10x3xf32>
  return %0 : tensor<10x3xf32>
}

// -----

func.func @expand(%x: tensor<3x2xf32>) -> tensor<2x3x4xf32> {
  // expected-error @below {{'mpc.expand' op input of type 'tensor<3x2xf32>' does not broadcast to 'tensor<2x3x4xf32>'}}
  %0 = mpc.expand %x : (tensor<3x2xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

func.func @expand_type(%x: tensor<3x1xf32>) -> tensor<3x4xf16> {
  // expected-error @below {{'mpc.expand' op changes the element type}}
  %0 = mpc.expand %x : (tensor<3x1xf32>) -> tensor<3x4xf16>
  return %0 : tensor<3x4xf16>
}

// -----

func.func @constant_type() -> tensor<3xf32> {
  // expected-error @below {{'mpc.constant' op value of type 'tensor<2xf32>' does not match result type 'tensor<3xf32>'}}
  %0 = mpc.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @dropout_ratio(%x: tensor<4xf32>) {
  // expected-error @below {{'mpc.dropout' ratio must be in [0, 1), got 1.000000e+00}}
  // expected-error @below {{'mpc.dropout' op failed to infer returned types}}
  %0:2 = mpc.dropout %x {ratio = 1.0 : f32} : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi1>)
  return
}

// -----

func.func @loss_labels(%s: tensor<32x10xf32>, %l: tensor<16xi64>) {
  // expected-error @below {{'mpc.softmax_cross_entropy_loss' labels must have shape [32], got 'tensor<16xi64>'}}
  // expected-error @below {{'mpc.softmax_cross_entropy_loss' op failed to infer returned types}}
  %0:2 = mpc.softmax_cross_entropy_loss %s, %l : (tensor<32x10xf32>, tensor<16xi64>) -> (tensor<f32>, tensor<32x10xf32>)
  return
}

// -----

func.func @loss_reduction(%s: tensor<32x10xf32>, %l: tensor<32xi64>) -> tensor<f32> {
  // expected-error @below {{'mpc.nll_loss' reduction must be "none", "sum" or "mean", got "avg"}}
  // expected-error @below {{'mpc.nll_loss' op failed to infer returned types}}
  %0 = mpc.nll_loss %s, %l {reduction = "avg"} : (tensor<32x10xf32>, tensor<32xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @loss_weights(%s: tensor<32x10xf32>, %l: tensor<32xi64>, %w: tensor<32xf32>) -> tensor<f32> {
  // expected-error @below {{'mpc.nll_loss' weights must have shape [10], got 'tensor<32xf32>'}}
  // expected-error @below {{'mpc.nll_loss' op failed to infer returned types}}
  %0 = mpc.nll_loss %s, %l, %w : (tensor<32x10xf32>, tensor<32xi64>, tensor<32xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @cast_shape(%x: tensor<4xf32>) -> tensor<2x2xf16> {
  // expected-error @below {{'mpc.cast' op requires the same shape for all operands and results}}
  %0 = mpc.cast %x : (tensor<4xf32>) -> tensor<2x2xf16>
  return %0 : tensor<2x2xf16>
}

// -----

func.func @quantize_shape(%x: tensor<4x4xf32>, %s: tensor<f32>) -> tensor<16xf8E4M3FN> {
  // expected-error @below {{'mpc.quantize' op result shape differs from the operand's}}
  %0 = mpc.quantize %x, %s : (tensor<4x4xf32>, tensor<f32>) -> tensor<16xf8E4M3FN>
  return %0 : tensor<16xf8E4M3FN>
}

// -----

func.func @quantize_scale(%x: tensor<4xf32>, %s: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  // expected-error @below {{'mpc.quantize' op operand #1 must be 0D tensor of 32-bit float values, but got 'tensor<4xf32>'}}
  %0 = mpc.quantize %x, %s : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf8E4M3FN>
  return %0 : tensor<4xf8E4M3FN>
}

// -----

func.func @dequantize_shape(%q: tensor<4xf8E5M2>, %s: tensor<f32>) -> tensor<2x2xbf16> {
  // expected-error @below {{'mpc.dequantize' op result shape differs from the operand's}}
  %0 = mpc.dequantize %q, %s : (tensor<4xf8E5M2>, tensor<f32>) -> tensor<2x2xbf16>
  return %0 : tensor<2x2xbf16>
}
