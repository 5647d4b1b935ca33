/*
 * Training-mode batch norm over NHWC activations (M = N·H·W rows of C channels) as WebAssembly
 * SIMD, the kernels behind LtBatchNormTrain / LtBatchNormTrainGrad on the wasm backend
 * (src/backends/wasm-batch-norm.ts, which has the formulas and the JavaScript fallback).
 *
 * SIMD runs across channels: a group of 16 channels (4 vectors, then 4-wide, then scalar for the
 * rest, so any C works) is accumulated in registers down a block of rows that sits in L1.
 * Accuracy: the backward's sums (Σdy, Σdy·(x−μ), which cancel) are float64 throughout. The
 * forward's block sums are float32 over at most 64 rows, flushed into float64 per-channel totals
 * (the sums of x and of squares that it takes do not cancel). Forward statistics are one pass over memory: per block, the block mean and the block's sum of
 * squared deviations from it (a second pass over the block while it is in L1), merged into the
 * running float64 mean / M2 with Chan et al.'s parallel update — as stable as two passes over the
 * whole tensor, without the second trip through memory.
 *
 * The kernels run in place: y overwrites x, dx overwrites dy.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* rows per block: about 16 KiB of a block in L1, between 8 and 64 rows */
static int block_rows(int C) {
  int r = 4096 / (C > 0 ? C : 1);
  return r < 8 ? 8 : r > 64 ? 64 : r;
}

#define ZERO wasm_f32x4_splat(0.0f)
#define LD(p) wasm_v128_load(p)
#define ST(p, v) wasm_v128_store((p), (v))
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul

/* out[c] = Σ_r x[r·C + c] · s over n rows */
static void block_sum(const float *x, int C, int n, float s, float *out) {
  const v128_t vs = wasm_f32x4_splat(s);
  int c = 0;
  for (; c + 16 <= C; c += 16) {
    v128_t a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO;
    const float *p = x + c;
    for (int r = 0; r < n; r++, p += C) {
      a0 = ADD(a0, LD(p)); a1 = ADD(a1, LD(p + 4)); a2 = ADD(a2, LD(p + 8)); a3 = ADD(a3, LD(p + 12));
    }
    ST(out + c, MUL(a0, vs)); ST(out + c + 4, MUL(a1, vs)); ST(out + c + 8, MUL(a2, vs)); ST(out + c + 12, MUL(a3, vs));
  }
  for (; c + 4 <= C; c += 4) {
    v128_t a0 = ZERO;
    const float *p = x + c;
    for (int r = 0; r < n; r++, p += C) a0 = ADD(a0, LD(p));
    ST(out + c, MUL(a0, vs));
  }
  for (; c < C; c++) {
    float a = 0.0f;
    const float *p = x + c;
    for (int r = 0; r < n; r++, p += C) a += *p;
    out[c] = a * s;
  }
}

/* out[c] = Σ_r (x[r·C + c] − m[c])² over n rows */
static void block_sqdev(const float *x, int C, int n, const float *m, float *out) {
  int c = 0;
  for (; c + 16 <= C; c += 16) {
    const v128_t m0 = LD(m + c), m1 = LD(m + c + 4), m2 = LD(m + c + 8), m3 = LD(m + c + 12);
    v128_t a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO;
    const float *p = x + c;
    for (int r = 0; r < n; r++, p += C) {
      v128_t d0 = SUB(LD(p), m0), d1 = SUB(LD(p + 4), m1), d2 = SUB(LD(p + 8), m2), d3 = SUB(LD(p + 12), m3);
      a0 = ADD(a0, MUL(d0, d0)); a1 = ADD(a1, MUL(d1, d1)); a2 = ADD(a2, MUL(d2, d2)); a3 = ADD(a3, MUL(d3, d3));
    }
    ST(out + c, a0); ST(out + c + 4, a1); ST(out + c + 8, a2); ST(out + c + 12, a3);
  }
  for (; c + 4 <= C; c += 4) {
    const v128_t m0 = LD(m + c);
    v128_t a0 = ZERO;
    const float *p = x + c;
    for (int r = 0; r < n; r++, p += C) {
      v128_t d0 = SUB(LD(p), m0);
      a0 = ADD(a0, MUL(d0, d0));
    }
    ST(out + c, a0);
  }
  for (; c < C; c++) {
    float a = 0.0f;
    const float *p = x + c;
    for (int r = 0; r < n; r++, p += C) {
      float d = *p - m[c];
      a += d * d;
    }
    out[c] = a;
  }
}

/* float64 lanes of a float32 vector: low pair, high pair */
#define LO(v) wasm_f64x2_promote_low_f32x4(v)
#define HI(v) wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle((v), (v), 2, 3, 2, 3))
#define DADD wasm_f64x2_add
#define DMUL wasm_f64x2_mul

/*
 * sdy[c] += Σ_r dy, sdyxc[c] += Σ_r dy·(x − mu[c]) over n rows, in float64 (these sums cancel:
 * Σdy is typically far smaller than Σ|dy|, so float32 partial sums would show). 8 channels at a
 * time (8 float64x2 accumulators), then 4, then scalar.
 */
static void block_grad_sums(const float *dy, const float *x, int C, int n, const float *mu, double *sdy, double *sdyxc) {
  int c = 0;
  for (; c + 8 <= C; c += 8) {
    const v128_t m0 = LD(mu + c), m1 = LD(mu + c + 4);
    v128_t s0 = LD(sdy + c), s1 = LD(sdy + c + 2), s2 = LD(sdy + c + 4), s3 = LD(sdy + c + 6);
    v128_t t0 = LD(sdyxc + c), t1 = LD(sdyxc + c + 2), t2 = LD(sdyxc + c + 4), t3 = LD(sdyxc + c + 6);
    const float *p = x + c, *q = dy + c;
    for (int r = 0; r < n; r++, p += C, q += C) {
      const v128_t g0 = LD(q), g1 = LD(q + 4), d0 = SUB(LD(p), m0), d1 = SUB(LD(p + 4), m1);
      const v128_t g0l = LO(g0), g0h = HI(g0), g1l = LO(g1), g1h = HI(g1);
      s0 = DADD(s0, g0l); s1 = DADD(s1, g0h); s2 = DADD(s2, g1l); s3 = DADD(s3, g1h);
      t0 = DADD(t0, DMUL(g0l, LO(d0))); t1 = DADD(t1, DMUL(g0h, HI(d0)));
      t2 = DADD(t2, DMUL(g1l, LO(d1))); t3 = DADD(t3, DMUL(g1h, HI(d1)));
    }
    ST(sdy + c, s0); ST(sdy + c + 2, s1); ST(sdy + c + 4, s2); ST(sdy + c + 6, s3);
    ST(sdyxc + c, t0); ST(sdyxc + c + 2, t1); ST(sdyxc + c + 4, t2); ST(sdyxc + c + 6, t3);
  }
  for (; c + 4 <= C; c += 4) {
    const v128_t m0 = LD(mu + c);
    v128_t s0 = LD(sdy + c), s1 = LD(sdy + c + 2), t0 = LD(sdyxc + c), t1 = LD(sdyxc + c + 2);
    const float *p = x + c, *q = dy + c;
    for (int r = 0; r < n; r++, p += C, q += C) {
      const v128_t g0 = LD(q), d0 = SUB(LD(p), m0);
      const v128_t g0l = LO(g0), g0h = HI(g0);
      s0 = DADD(s0, g0l); s1 = DADD(s1, g0h);
      t0 = DADD(t0, DMUL(g0l, LO(d0))); t1 = DADD(t1, DMUL(g0h, HI(d0)));
    }
    ST(sdy + c, s0); ST(sdy + c + 2, s1); ST(sdyxc + c, t0); ST(sdyxc + c + 2, t1);
  }
  for (; c < C; c++) {
    double s = sdy[c], t = sdyxc[c];
    const float *p = x + c, *q = dy + c;
    for (int r = 0; r < n; r++, p += C, q += C) {
      s += *q;
      t += (double)*q * (double)(*p - mu[c]);
    }
    sdy[c] = s;
    sdyxc[c] = t;
  }
}

/* out[r·C + c] = a[c]·u[r·C + c] + k[c]·v[r·C + c] + d[c] for M rows (v may be null: k ignored) */
static void affine_rows(float *out, const float *u, const float *v, int M, int C, const float *a, const float *k, const float *d) {
  for (int r = 0; r < M; r++) {
    float *o = out + (int64_t)r * C;
    const float *pu = u + (int64_t)r * C;
    const float *pv = v ? v + (int64_t)r * C : 0;
    int c = 0;
    if (pv) {
      for (; c + 4 <= C; c += 4) ST(o + c, ADD(ADD(MUL(LD(a + c), LD(pu + c)), MUL(LD(k + c), LD(pv + c))), LD(d + c)));
      for (; c < C; c++) o[c] = a[c] * pu[c] + k[c] * pv[c] + d[c];
    } else {
      for (; c + 4 <= C; c += 4) ST(o + c, ADD(MUL(LD(a + c), LD(pu + c)), LD(d + c)));
      for (; c < C; c++) o[c] = a[c] * pu[c] + d[c];
    }
  }
}

/*
 * Forward. x: M·C floats, overwritten by y. gamma, beta: C floats each. stats: 3·C floats out
 * (mean, biased variance, 1/√(var + eps)). work: 8-aligned scratch of 2·C doubles + 5·C floats
 * (bn_train_work_bytes).
 */
EXPORT(bn_train_forward)
void bn_train_forward(float *x, int M, int C, const float *gamma, const float *beta, float eps, float *stats, void *work) {
  double *mean = (double *)work, *m2 = mean + C;
  float *bmean = (float *)(m2 + C), *bsq = bmean + C, *scale = bsq + C, *shift = scale + C;
  for (int c = 0; c < C; c++) mean[c] = m2[c] = 0.0;
  const int R = block_rows(C);
  for (int r0 = 0; r0 < M; r0 += R) {
    const int n = M - r0 < R ? M - r0 : R;
    const float *xb = x + (int64_t)r0 * C;
    block_sum(xb, C, n, 1.0f / (float)n, bmean);
    block_sqdev(xb, C, n, bmean, bsq);
    /* Chan et al.: merge (r0 rows, mean, m2) with (n rows, bmean, bsq) */
    const double na = (double)r0, nb = (double)n, nt = na + nb, w = nb / nt, cross = na * nb / nt;
    for (int c = 0; c < C; c++) {
      const double delta = (double)bmean[c] - mean[c];
      mean[c] += delta * w;
      m2[c] += (double)bsq[c] + delta * delta * cross;
    }
  }
  for (int c = 0; c < C; c++) {
    const double variance = M > 0 ? m2[c] / M : 0.0;
    const double inv = 1.0 / __builtin_sqrt(variance + (double)eps);
    stats[c] = (float)mean[c];
    stats[C + c] = (float)variance;
    stats[2 * C + c] = (float)inv;
    const double sc = inv * gamma[c];
    scale[c] = (float)sc;
    shift[c] = (float)(beta[c] - mean[c] * sc);
  }
  affine_rows(x, x, 0, M, C, scale, 0, shift);
}

/*
 * Backward. dy: M·C floats, overwritten by dx. x: M·C floats. gamma, mean, invstd: C floats each.
 * grads: 2·C floats out (dgamma, dbeta). work: as for the forward.
 */
EXPORT(bn_train_backward)
void bn_train_backward(float *dy, const float *x, int M, int C, const float *gamma, const float *mean, const float *invstd, float *grads, void *work) {
  double *sdy = (double *)work, *sdyxc = sdy + C;
  float *a = (float *)(sdyxc + C), *k = a + C, *d = k + C;
  for (int c = 0; c < C; c++) sdy[c] = sdyxc[c] = 0.0;
  const int R = block_rows(C);
  for (int r0 = 0; r0 < M; r0 += R) {
    const int n = M - r0 < R ? M - r0 : R;
    block_grad_sums(dy + (int64_t)r0 * C, x + (int64_t)r0 * C, C, n, mean, sdy, sdyxc);
  }
  /* dx = gs·dy − gs·t·x + gs·(μ·t − Σdy/M) with gs = γ·s, t = s²·Σdy·(x−μ)/M */
  for (int c = 0; c < C; c++) {
    const double s = invstd[c], gs = (double)gamma[c] * s;
    const double t = M > 0 ? s * s * sdyxc[c] / M : 0.0;
    const double mdy = M > 0 ? sdy[c] / M : 0.0;
    a[c] = (float)gs;
    k[c] = (float)(-gs * t);
    d[c] = (float)(gs * (mean[c] * t - mdy));
    grads[c] = (float)(s * sdyxc[c]);
    grads[C + c] = (float)sdy[c];
  }
  affine_rows(dy, dy, x, M, C, a, k, d);
}

/* bytes of scratch the kernels need for C channels */
EXPORT(bn_train_work_bytes)
int bn_train_work_bytes(int C) { return 2 * C * (int)sizeof(double) + 5 * C * (int)sizeof(float); }
