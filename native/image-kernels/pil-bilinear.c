/*
 * PIL's bilinear resampling (Pillow src/libImaging/Resample.c, 8-bit path) for packed RGB, as
 * WebAssembly SIMD kernels. src/data/image-resample.ts computes the coefficients (Pillow's
 * precompute_coeffs + normalize_coeffs_8bpc, 22-bit fixed point) and calls these two passes in
 * Pillow's order: horizontal into a temporary image, then vertical. The integer arithmetic is
 * Pillow's, so the output is bit-identical to Image.resize(..., Image.BILINEAR) (torchvision's
 * Resize / RandomResizedCrop on PIL images); the tests check it against the JS reference.
 *
 * Build: node scripts/build-wasm-kernels.mjs (clang with the wasm32 target and wasm-ld; Debian
 * clang-14 + lld-14), which regenerates src/data/image-kernels.wasm.ts.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define PREC 22
#define HALF (1 << (PREC - 1))

/*
 * Horizontal pass over `rows` rows: dst pixel (y, xx) = sum over x < bounds[2xx+1] of
 * src pixel (y, bounds[2xx] + x) * kk[xx * ksize + x]. src rows are srcStride bytes apart, 3 bytes a
 * pixel, and one readable byte must follow the last pixel (each pixel is loaded as 4 bytes, RGB
 * plus a lane that is ignored). With flip, output column xx is written at outW - 1 - xx.
 */
__attribute__((export_name("resample_h")))
void resample_h(const uint8_t *src, int srcStride, int rows, uint8_t *dst, int outW,
                const int32_t *bounds, const int32_t *kk, int ksize, int flip) {
  for (int y = 0; y < rows; y++) {
    const uint8_t *row = src + y * srcStride;
    uint8_t *orow = dst + y * outW * 3;
    for (int xx = 0; xx < outW; xx++) {
      const int xmin = bounds[2 * xx], xmax = bounds[2 * xx + 1];
      const int32_t *k = kk + xx * ksize;
      const uint8_t *p = row + xmin * 3;
      v128_t acc = wasm_i32x4_splat(HALF);
      for (int x = 0; x < xmax; x++, p += 3) {
        v128_t px = wasm_v128_load32_zero(p);
        px = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(px));
        acc = wasm_i32x4_add(acc, wasm_i32x4_mul(px, wasm_i32x4_splat(k[x])));
      }
      /* Pillow's clip8: arithmetic shift, then clamp to 0..255 (here: two saturating narrows) */
      acc = wasm_i32x4_shr(acc, PREC);
      v128_t n16 = wasm_i16x8_narrow_i32x4(acc, acc);
      uint32_t v = (uint32_t)wasm_i32x4_extract_lane(wasm_u8x16_narrow_i16x8(n16, n16), 0);
      uint8_t *o = orow + (flip ? outW - 1 - xx : xx) * 3;
      o[0] = (uint8_t)v;
      o[1] = (uint8_t)(v >> 8);
      o[2] = (uint8_t)(v >> 16);
    }
  }
}

static inline uint8_t clip8(int32_t s) {
  s >>= PREC;
  return s < 0 ? 0 : s > 255 ? 255 : (uint8_t)s;
}

/*
 * Vertical pass: dst row yy = sum over y < bounds[2yy+1] of src row bounds[2yy] + y times
 * kk[yy * ksize + y]; rows are rowBytes bytes. 16 bytes at a time, the remainder one by one.
 */
__attribute__((export_name("resample_v")))
void resample_v(const uint8_t *src, int rowBytes, int outH, uint8_t *dst,
                const int32_t *bounds, const int32_t *kk, int ksize) {
  for (int yy = 0; yy < outH; yy++) {
    const int ymin = bounds[2 * yy], ymax = bounds[2 * yy + 1];
    const int32_t *k = kk + yy * ksize;
    const uint8_t *base = src + ymin * rowBytes;
    uint8_t *orow = dst + yy * rowBytes;
    int i = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      v128_t a0 = wasm_i32x4_splat(HALF), a1 = a0, a2 = a0, a3 = a0;
      const uint8_t *p = base + i;
      for (int y = 0; y < ymax; y++, p += rowBytes) {
        const v128_t px = wasm_v128_load(p);
        const v128_t kv = wasm_i32x4_splat(k[y]);
        const v128_t lo = wasm_u16x8_extend_low_u8x16(px), hi = wasm_u16x8_extend_high_u8x16(px);
        a0 = wasm_i32x4_add(a0, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(lo), kv));
        a1 = wasm_i32x4_add(a1, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(lo), kv));
        a2 = wasm_i32x4_add(a2, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(hi), kv));
        a3 = wasm_i32x4_add(a3, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(hi), kv));
      }
      const v128_t n0 = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(a0, PREC), wasm_i32x4_shr(a1, PREC));
      const v128_t n1 = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(a2, PREC), wasm_i32x4_shr(a3, PREC));
      wasm_v128_store(orow + i, wasm_u8x16_narrow_i16x8(n0, n1));
    }
    for (; i < rowBytes; i++) {
      int32_t s = HALF;
      const uint8_t *p = base + i;
      for (int y = 0; y < ymax; y++, p += rowBytes) s += (int32_t)*p * k[y];
      orow[i] = clip8(s);
    }
  }
}
