/*
 * Colour jitter + normalisation of packed RGB as WebAssembly SIMD, the same arithmetic as
 * applyJitter + jitterNormalizeInto in src/data/image-pipeline.ts (torchvision's ColorJitter
 * brightness / contrast / saturation on float pixels clamped to [0, 255] after each op, then
 * (x / 255 - mean) / std), in float32 where the JS computes in float64 and stores float32: results
 * agree to ~1e-5 of a grey level (the contrast mean is summed in float64 here too).
 *
 * Four pixels (12 floats, 3 vectors) at a time; per-channel constants repeat with that period:
 * lanes of vector j hold channels (4j + l) mod 3.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define LUMA_R 0.299f
#define LUMA_G 0.587f
#define LUMA_B 0.114f

static inline v128_t clamp255(v128_t v) {
  return wasm_f32x4_pmin(wasm_f32x4_splat(255.0f), wasm_f32x4_pmax(wasm_f32x4_splat(0.0f), v));
}
static inline float clamp255s(float v) { return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v; }

/* the channel-periodic vector of three per-channel values, for vector j (0, 1, 2) of a 4-pixel group */
static inline v128_t periodic(float c0, float c1, float c2, int j) {
  return j == 0 ? wasm_f32x4_make(c0, c1, c2, c0) : j == 1 ? wasm_f32x4_make(c1, c2, c0, c1) : wasm_f32x4_make(c2, c0, c1, c2);
}

/* px[i] = clamp(f * px[i] + add) over all n floats */
static void affine_clamp(float *px, int n, float f, float add) {
  const v128_t vf = wasm_f32x4_splat(f), va = wasm_f32x4_splat(add);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(px + i, clamp255(wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(px + i), vf), va)));
  for (; i < n; i++) px[i] = clamp255s(px[i] * f + add);
}

/* mean grey level (ITU-R 601-2 luma) of npix pixels, accumulated in float64 */
static double mean_grey(const float *px, int npix) {
  const v128_t w0 = periodic(LUMA_R, LUMA_G, LUMA_B, 0), w1 = periodic(LUMA_R, LUMA_G, LUMA_B, 1), w2 = periodic(LUMA_R, LUMA_G, LUMA_B, 2);
  v128_t acc = wasm_f64x2_splat(0.0);
  int p = 0;
  for (; p + 4 <= npix; p += 4) {
    const float *q = px + 3 * p;
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(q), w0), wasm_f32x4_mul(wasm_v128_load(q + 4), w1)),
                              wasm_f32x4_mul(wasm_v128_load(q + 8), w2));
    acc = wasm_f64x2_add(acc, wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(s), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(s, s, 2, 3, 0, 1))));
  }
  double sum = wasm_f64x2_extract_lane(acc, 0) + wasm_f64x2_extract_lane(acc, 1);
  for (; p < npix; p++) sum += (double)(LUMA_R * px[3 * p] + LUMA_G * px[3 * p + 1] + LUMA_B * px[3 * p + 2]);
  return sum / npix;
}

/* each channel c = clamp(f * c + (1 - f) * grey) with the pixel's own grey */
static void saturation(float *px, int npix, float f) {
  const float g1 = 1.0f - f;
  const v128_t vf = wasm_f32x4_splat(f), vg = wasm_f32x4_splat(g1);
  int p = 0;
  for (; p + 4 <= npix; p += 4) {
    float *q = px + 3 * p;
    const v128_t v0 = wasm_v128_load(q), v1 = wasm_v128_load(q + 4), v2 = wasm_v128_load(q + 8);
    /* v0 = r0 g0 b0 r1, v1 = g1 b1 r2 g2, v2 = b2 r3 g3 b3 */
    const v128_t r = wasm_i32x4_shuffle(wasm_i32x4_shuffle(v0, v1, 0, 3, 6, 0), v2, 0, 1, 2, 5);
    const v128_t g = wasm_i32x4_shuffle(wasm_i32x4_shuffle(v0, v1, 1, 4, 7, 0), v2, 0, 1, 2, 6);
    const v128_t b = wasm_i32x4_shuffle(wasm_i32x4_shuffle(v0, v1, 2, 5, 0, 0), v2, 0, 1, 4, 7);
    const v128_t grey = wasm_f32x4_mul(vg, wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(r, wasm_f32x4_splat(LUMA_R)), wasm_f32x4_mul(g, wasm_f32x4_splat(LUMA_G))),
                                                          wasm_f32x4_mul(b, wasm_f32x4_splat(LUMA_B))));
    /* grey per pixel, spread back to the interleaved layout: g0 g0 g0 g1 | g1 g1 g2 g2 | g2 g3 g3 g3 */
    const v128_t e0 = wasm_i32x4_shuffle(grey, grey, 0, 0, 0, 1);
    const v128_t e1 = wasm_i32x4_shuffle(grey, grey, 1, 1, 2, 2);
    const v128_t e2 = wasm_i32x4_shuffle(grey, grey, 2, 3, 3, 3);
    wasm_v128_store(q, clamp255(wasm_f32x4_add(wasm_f32x4_mul(v0, vf), e0)));
    wasm_v128_store(q + 4, clamp255(wasm_f32x4_add(wasm_f32x4_mul(v1, vf), e1)));
    wasm_v128_store(q + 8, clamp255(wasm_f32x4_add(wasm_f32x4_mul(v2, vf), e2)));
  }
  for (; p < npix; p++) {
    float *q = px + 3 * p;
    const float grey = g1 * (LUMA_R * q[0] + LUMA_G * q[1] + LUMA_B * q[2]);
    q[0] = clamp255s(f * q[0] + grey);
    q[1] = clamp255s(f * q[1] + grey);
    q[2] = clamp255s(f * q[2] + grey);
  }
}

/*
 * out (npix * 3 floats) = normalise(jitter(rgb)). ops o0, o1, o2: 0 brightness, 1 contrast,
 * 2 saturation, -1 none, applied in that order with factors fb, fc, fs. Normalisation: x * s_c - m_c.
 */
__attribute__((export_name("jitter_normalize")))
void jitter_normalize(const uint8_t *rgb, float *out, int npix, int o0, int o1, int o2, float fb, float fc, float fs,
                      float s0, float s1, float s2, float m0, float m1, float m2) {
  const int n = npix * 3;
  const int ops[3] = {o0, o1, o2};
  const int jitter = o0 >= 0 || o1 >= 0 || o2 >= 0;
  if (jitter) {
    int i = 0;
    for (; i + 16 <= n; i += 16) {
      const v128_t b = wasm_v128_load(rgb + i);
      const v128_t lo = wasm_u16x8_extend_low_u8x16(b), hi = wasm_u16x8_extend_high_u8x16(b);
      wasm_v128_store(out + i, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_low_u16x8(lo)));
      wasm_v128_store(out + i + 4, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_high_u16x8(lo)));
      wasm_v128_store(out + i + 8, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_low_u16x8(hi)));
      wasm_v128_store(out + i + 12, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_high_u16x8(hi)));
    }
    for (; i < n; i++) out[i] = (float)rgb[i];
    for (int k = 0; k < 3; k++) {
      if (ops[k] == 0 && fb != 1.0f) affine_clamp(out, n, fb, 0.0f);
      else if (ops[k] == 1 && fc != 1.0f) affine_clamp(out, n, fc, (float)((1.0 - (double)fc) * mean_grey(out, npix)));
      else if (ops[k] == 2 && fs != 1.0f) saturation(out, npix, fs);
    }
  }
  const v128_t S0 = periodic(s0, s1, s2, 0), S1 = periodic(s0, s1, s2, 1), S2 = periodic(s0, s1, s2, 2);
  const v128_t M0 = periodic(m0, m1, m2, 0), M1 = periodic(m0, m1, m2, 1), M2 = periodic(m0, m1, m2, 2);
  int p = 0;
  for (; p + 4 <= npix; p += 4) {
    float *q = out + 3 * p;
    v128_t v0, v1, v2;
    if (jitter) {
      v0 = wasm_v128_load(q);
      v1 = wasm_v128_load(q + 4);
      v2 = wasm_v128_load(q + 8);
    } else {
      const v128_t b = wasm_v128_load32_zero(rgb + 3 * p), c = wasm_v128_load32_zero(rgb + 3 * p + 4), d = wasm_v128_load32_zero(rgb + 3 * p + 8);
      v0 = wasm_f32x4_convert_u32x4(wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(b)));
      v1 = wasm_f32x4_convert_u32x4(wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(c)));
      v2 = wasm_f32x4_convert_u32x4(wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(d)));
    }
    wasm_v128_store(q, wasm_f32x4_sub(wasm_f32x4_mul(v0, S0), M0));
    wasm_v128_store(q + 4, wasm_f32x4_sub(wasm_f32x4_mul(v1, S1), M1));
    wasm_v128_store(q + 8, wasm_f32x4_sub(wasm_f32x4_mul(v2, S2), M2));
  }
  const float s[3] = {s0, s1, s2}, m[3] = {m0, m1, m2};
  for (int i = 3 * p; i < n; i++) out[i] = (jitter ? out[i] : (float)rgb[i]) * s[i % 3] - m[i % 3];
}
