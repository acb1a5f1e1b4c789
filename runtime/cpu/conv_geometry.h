// Convolution geometry and im2col, shared by conv and its gradients.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace mpc::rt::cpu {

// A 2-D convolution over N x C x H x W with M filters of C / group x kH x kW.
struct ConvGeometry {
  int64_t n, c, h, w;  // input (x, or dx for the gradients)
  int64_t m, kh, kw;   // filters (w / dw)
  int64_t oh, ow;      // output (y, or dy)
  int64_t group;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
};

// col[(ci * kh + i) * kw + j][oy * ow + ox] = x[ci][iy][ix] for one image and
// group of cg channels (0 in the padding).
template <typename A>
void im2col(const ConvGeometry &p, ThreadPool *pool, const A *x, int64_t cg, A *col) {
  const int64_t rows = cg * p.kh * p.kw, cols = p.oh * p.ow;
  parallelFor(pool, rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t ci = r / (p.kh * p.kw), i = (r / p.kw) % p.kh, j = r % p.kw;
      const A *plane = x + ci * p.h * p.w;
      A *dst = col + r * cols;
      for (int64_t oy = 0; oy < p.oh; ++oy) {
        const int64_t iy = oy * p.sh - p.padTop + i * p.dh;
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          const int64_t ix = ox * p.sw - p.padLeft + j * p.dw;
          dst[oy * p.ow + ox] = (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) ? plane[iy * p.w + ix] : A(0);
        }
      }
    }
  });
}

} // namespace mpc::rt::cpu
