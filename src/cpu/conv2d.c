/* CPU kernels of 2-d convolution, channels-last: forward, input gradient and
 * kernel/bias gradient.  Each builds the row pointers of its GEMM (see
 * kernels_conv.h) from the conv geometry and lets conv_gemm.c do the math. */
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "iter.h"
#include "kernels_conv.h"

typedef struct {
  int64_t n, h, w, c;          /* input (N,H,W,C) */
  int64_t kh, kw, cin_g, cout; /* kernel (kh,kw,C/groups,Cout) */
  int64_t groups, cout_g;
  int64_t oh, ow;              /* output */
  int64_t sh, sw, pt, pl, dh, dw;
  size_t es;
  const char *src;  /* what the pointers point into: x, or the output gradient */
  const char *zero; /* zeros standing for the padding */
  int64_t krow;     /* im2row: elements per gathered row (taps * C/groups) */
} conv_geo;

static void geo_init(conv_geo *g, const dnn_op_args *a, const dnn_tensor *x, const dnn_tensor *k,
                     const dnn_tensor *y) {
  g->n = x->shape[0], g->h = x->shape[1], g->w = x->shape[2], g->c = x->shape[3];
  g->kh = k->shape[0], g->kw = k->shape[1], g->cin_g = k->shape[2], g->cout = k->shape[3];
  g->groups = a->dims[DNN_CONV_GROUPS];
  g->cout_g = g->cout / g->groups;
  g->oh = y->shape[1], g->ow = y->shape[2];
  g->sh = a->dims[DNN_CONV_SH], g->sw = a->dims[DNN_CONV_SW];
  g->pt = a->dims[DNN_CONV_PT], g->pl = a->dims[DNN_CONV_PL];
  g->dh = a->dims[DNN_CONV_DH], g->dw = a->dims[DNN_CONV_DW];
  g->es = dnn_dtype_size((dnn_dtype)x->dtype);
  g->krow = g->kh * g->kw * g->cin_g;
}

/* Few input channels per group: gather rows (im2row by blocks) rather than
 * run taps of a handful of elements. */
static bool use_im2row(const conv_geo *g) { return g->cin_g < conv_gemm_mr(); }

/* A zeroed buffer long enough for any tap read (plus the micro-kernel's slack). */
static char *zeros_for(const conv_geo *g) {
  int64_t n = g->c > g->cout ? g->c : g->cout;
  if (g->krow > n) n = g->krow;
  return calloc((size_t)(n + conv_gemm_mr()) + 16, g->es);
}

/* Pointer to input pixel (n, ih, iw) + channel offset, or the zero vector. */
static inline const char *in_pixel(const conv_geo *g, int64_t n, int64_t ih, int64_t iw, int64_t coff) {
  if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) return g->zero;
  return g->src + (size_t)(((n * g->h + ih) * g->w + iw) * g->c + coff) * g->es;
}

/* n elements of size es: inline copies, as the runs are short (a few
 * elements) and a memcpy call per run would cost more than the copy. */
static inline void copy_run(char *dst, const char *src, int64_t n, size_t es) {
#if defined(__AVX512F__)
  /* up to 64 bytes: one masked load and store (masked-off lanes never fault) */
  if (es == 4 && n <= 16) {
    __mmask16 m = (__mmask16)((1u << n) - 1);
    _mm512_mask_storeu_ps(dst, m, _mm512_maskz_loadu_ps(m, src));
    return;
  }
  if (es == 8 && n <= 8) {
    __mmask8 m = (__mmask8)((1u << n) - 1);
    _mm512_mask_storeu_pd(dst, m, _mm512_maskz_loadu_pd(m, src));
    return;
  }
#endif
  if (es == 4)
    for (int64_t i = 0; i < n; i++) memcpy(dst + 4 * i, src + 4 * i, 4);
  else
    for (int64_t i = 0; i < n; i++) memcpy(dst + 8 * i, src + 8 * i, 8);
}

/* Gathers the rows of output pixels m0..m0+count-1 into dst (row i at
 * dst + i*krow elements): taps in (ki, kj) order, C/groups elements each.
 * Rows are walked by runs along an output row, so the per-row work is the
 * copy itself; a kernel row inside the input is one contiguous run when the
 * group holds all the channels and dilation is 1. */
static void gather_rows(const conv_geo *g, int64_t m0, int count, int64_t coff, char *dst) {
  size_t es = g->es, tap = (size_t)g->cin_g * es, seg = tap * (size_t)g->kw, row = (size_t)g->krow * es;
  bool runs = g->dw == 1 && g->cin_g == g->c;
  int64_t ow = m0 % g->ow, r = m0 / g->ow, oh = r % g->oh, n = r / g->oh;
  for (int i = 0; i < count;) {
    int run = (int)(g->ow - ow < count - i ? g->ow - ow : count - i);
    for (int64_t ki = 0; ki < g->kh; ki++) {
      int64_t ih = oh * g->sh - g->pt + ki * g->dh;
      char *d = dst + (size_t)i * row + (size_t)ki * seg;
      if (ih < 0 || ih >= g->h) {
        for (int j = 0; j < run; j++) memset(d + (size_t)j * row, 0, seg);
        continue;
      }
      const char *base = g->src + (size_t)((n * g->h + ih) * g->w * g->c + coff) * es;
      for (int j = 0; j < run; j++, d += row) {
        int64_t iw0 = (ow + j) * g->sw - g->pl;
        if (runs && iw0 >= 0 && iw0 + g->kw <= g->w) {
          copy_run(d, base + (size_t)(iw0 * g->c) * es, g->kw * g->cin_g, es);
          continue;
        }
        for (int64_t kj = 0; kj < g->kw; kj++) {
          int64_t iw = iw0 + kj * g->dw;
          if (iw >= 0 && iw < g->w)
            copy_run(d + (size_t)kj * tap, base + (size_t)(iw * g->c) * es, g->cin_g, es);
          else
            memset(d + (size_t)kj * tap, 0, tap);
        }
      }
    }
    i += run;
    ow = 0;
    if (++oh == g->oh) oh = 0, n++;
  }
}

/* ---- forward ---- */

static void fwd_rows_direct(const conv_rows_job *j, int grp, int64_t m0, int count, const void **ptrs,
                            void *scratch) {
  (void)scratch;
  const conv_geo *g = j->ctx;
  int64_t ow = m0 % g->ow, r = m0 / g->ow, oh = r % g->oh, n = r / g->oh;
  int64_t coff = grp * g->cin_g;
  for (int i = 0; i < count; i++) {
    const void **p = ptrs + (size_t)i * (size_t)j->ntaps;
    for (int64_t ki = 0; ki < g->kh; ki++) {
      int64_t ih = oh * g->sh - g->pt + ki * g->dh;
      for (int64_t kj = 0; kj < g->kw; kj++) *p++ = in_pixel(g, n, ih, ow * g->sw - g->pl + kj * g->dw, coff);
    }
    if (++ow == g->ow) {
      ow = 0;
      if (++oh == g->oh) oh = 0, n++;
    }
  }
}

static void fwd_rows_gather(const conv_rows_job *j, int grp, int64_t m0, int count, const void **ptrs,
                            void *scratch) {
  const conv_geo *g = j->ctx;
  size_t row = (size_t)g->krow * g->es;
  gather_rows(g, m0, count, grp * g->cin_g, scratch);
  for (int i = 0; i < count; i++) ptrs[i] = (char *)scratch + (size_t)i * row;
}

/* Packs the kernel for conv_rows_gemm, group by group, with rows (tap, k)
 * and columns j: forward k = input channel, j = output channel; transposed
 * (input gradient) k = output channel, j = input channel. */
static void *pack_kernel(const conv_geo *g, const dnn_tensor *kt, bool transposed, int ntaps, int64_t Kt,
                         int64_t N) {
  dnn_dtype dt = (dnn_dtype)kt->dtype;
  size_t per = conv_packed_b_elems(dt, ntaps, Kt, N);
  void *bp = NULL;
  if (posix_memalign(&bp, 64, per * (size_t)g->groups * g->es + 64) != 0) return NULL;
  const char *w = dnn_data_ptr(kt);
  int64_t st = g->cin_g * g->cout;
  for (int64_t grp = 0; grp < g->groups; grp++) {
    const char *src = w + (size_t)(grp * g->cout_g) * g->es;
    char *dst = (char *)bp + per * (size_t)grp * g->es;
    if (!transposed)
      conv_pack_b(dt, dst, src, ntaps, Kt, N, ntaps == 1 ? 0 : st, g->cout, 1);
    else
      conv_pack_b(dt, dst, src, ntaps, Kt, N, st, 1, g->cout);
  }
  return bp;
}

/* The kernel as one (Cout/groups) x (taps * Cin/groups) matrix per group:
 * B[co][t*Cin/g + ci] = W[t][ci][co] (the banded input gradient). */
static void *pack_kernel_t1(const conv_geo *g, const dnn_tensor *kt, int ntaps) {
  dnn_dtype dt = (dnn_dtype)kt->dtype;
  int64_t N = ntaps * g->cin_g;
  size_t per = conv_packed_b_elems(dt, 1, g->cout_g, N);
  void *bp = NULL;
  if (posix_memalign(&bp, 64, per * (size_t)g->groups * g->es + 64) != 0) return NULL;
  const char *w = dnn_data_ptr(kt);
  for (int64_t grp = 0; grp < g->groups; grp++)
    conv_pack_b(dt, (char *)bp + per * (size_t)grp * g->es, w + (size_t)(grp * g->cout_g) * g->es, 1, g->cout_g, N, 0,
                1, g->cout);
  return bp;
}

dnn_status cpu_conv2d(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0], *k = a->in[1], *bias = a->in[2];
  dnn_tensor *y = a->out;
  conv_geo g;
  geo_init(&g, a, x, k, y);
  if (dnn_numel(y) == 0) return DNN_OK;
  dnn_dtype dt = (dnn_dtype)x->dtype;
  bool gather = use_im2row(&g);
  int ntaps = gather ? 1 : (int)(g.kh * g.kw);
  int64_t Kt = gather ? g.krow : g.cin_g;
  g.src = dnn_data_ptr(x);
  char *zero = zeros_for(&g);
  void *bp = pack_kernel(&g, k, false, ntaps, Kt, g.cout_g);
  int64_t nr = conv_gemm_nr(dt), nblk = (g.cout_g + nr - 1) / nr;
  void *bpack = NULL;
  if (bias && posix_memalign(&bpack, 64, (size_t)(nblk * nr * g.groups) * g.es) != 0) bpack = NULL;
  dnn_status st = DNN_OK;
  if (!zero || !bp || (bias && !bpack)) {
    st = dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory for packed weights");
    goto done;
  }
  g.zero = zero;
  if (bias)
    for (int64_t grp = 0; grp < g.groups; grp++)
      conv_pack_bias(dt, (char *)bpack + (size_t)(grp * nblk * nr) * g.es,
                     (const char *)dnn_data_ptr(bias) + (size_t)(grp * g.cout_g) * g.es, g.cout_g);
  conv_rows_job j = {
      .dtype = dt, .M = g.n * g.oh * g.ow, .N = g.cout_g, .Kt = Kt, .ntaps = ntaps, .groups = (int)g.groups,
      .Bp = bp, .zero = zero, .bias = bpack, .C = dnn_data_ptr(y), .ldc = g.cout,
      .rows = gather ? fwd_rows_gather : fwd_rows_direct,
      .scratch_bytes = gather ? (size_t)conv_gemm_mblock() * (size_t)g.krow * g.es + 64 : 0, .ctx = &g};
  st = conv_rows_gemm(&j);
done:
  free(zero);
  free(bp);
  free(bpack);
  return st;
}

/* ---- input gradient ----
 * Row-pointer form, for shapes whose bands (below) would need too much
 * scratch: a convolution of the output gradient, dx(n, ih, iw) = sum over taps
 * (ki, kj) whose output pixel oh = (ih + pt - ki*dh) / sh (exact, in range)
 * exists of g(n, oh, ow) W[ki,kj]^T; taps that do not exist read zeros. */

static void igrad_rows(const conv_rows_job *j, int grp, int64_t m0, int count, const void **ptrs, void *scratch) {
  (void)scratch;
  const conv_geo *g = j->ctx;
  int64_t iw = m0 % g->w, r = m0 / g->w, ih = r % g->h, n = r / g->h;
  int64_t coff = grp * g->cout_g;
  for (int i = 0; i < count; i++) {
    const void **p = ptrs + (size_t)i * (size_t)j->ntaps;
    for (int64_t ki = 0; ki < g->kh; ki++) {
      /* stride 1 (the usual case) needs no division */
      int64_t nh = ih + g->pt - ki * g->dh, oh = g->sh == 1 ? nh : nh / g->sh;
      bool okh = nh >= 0 && oh < g->oh && (g->sh == 1 || nh % g->sh == 0);
      const char *row = okh ? g->src + (size_t)((n * g->oh + oh) * g->ow * g->cout + coff) * g->es : NULL;
      for (int64_t kj = 0; kj < g->kw; kj++) {
        int64_t nw = iw + g->pl - kj * g->dw, ow = g->sw == 1 ? nw : nw / g->sw;
        bool ok = okh && nw >= 0 && ow < g->ow && (g->sw == 1 || nw % g->sw == 0);
        *p++ = ok ? row + (size_t)(ow * g->cout) * g->es : g->zero;
      }
    }
    if (++iw == g->w) {
      iw = 0;
      if (++ih == g->h) ih = 0, n++;
    }
  }
}

/* The usual input gradient, by bands: for a band of R output rows, one GEMM
 * gives every (pixel, tap) product dA = g W^T (no multiply by padding, no
 * 1-in-stride^2 waste), then col2im adds each tap's slice into dx.  A band
 * only touches input rows near its own, so with R large enough bands two
 * apart never touch the same rows: even bands run in parallel, then odd ones
 * (a fixed order for every cell, whatever the thread count). */
typedef struct {
  const conv_geo *g;
  conv_rows_job *j; /* rows: output-gradient pixels (1 tap of Cout/groups); N: taps * Cin/groups */
  int64_t R, nrows; /* output rows per band; rows (n, oh) in all */
  int phase;
  char *dx;
  int failed;
} igrad_plan;

static inline void add_run(char *d, const char *s, int64_t n, size_t es) {
  if (es == 4) {
    float *df = (float *)d;
    const float *sf = (const float *)s;
    for (int64_t i = 0; i < n; i++) df[i] += sf[i];
  } else {
    double *dd = (double *)d;
    const double *sd = (const double *)s;
    for (int64_t i = 0; i < n; i++) dd[i] += sd[i];
  }
}

/* col2im of one band (output rows r0..r1-1, row i of scratch ld elements
 * apart): dx += each tap's slice.  Taps outside, pixels inside, so that
 * consecutive adds go to different cells (no waiting on the store just made). */
static void igrad_scatter(const igrad_plan *pl, int grp, int64_t r0, int64_t r1, const char *scratch, int64_t ld) {
  const conv_geo *g = pl->g;
  size_t es = g->es;
  for (int64_t r = r0; r < r1; r++) {
    int64_t n = r / g->oh, oh = r % g->oh;
    const char *src = scratch + (size_t)((r - r0) * g->ow * ld + grp * pl->j->N) * es;
    for (int64_t ki = 0; ki < g->kh; ki++) {
      int64_t ih = oh * g->sh - g->pt + ki * g->dh;
      if (ih < 0 || ih >= g->h) continue;
      char *drow = pl->dx + (size_t)(((n * g->h + ih) * g->w) * g->c + grp * g->cin_g) * es;
      for (int64_t kj = 0; kj < g->kw; kj++) {
        const char *s = src + (size_t)((ki * g->kw + kj) * g->cin_g) * es;
        for (int64_t ow = 0; ow < g->ow; ow++) {
          int64_t iw = ow * g->sw - g->pl + kj * g->dw;
          if (iw >= 0 && iw < g->w) add_run(drow + (size_t)(iw * g->c) * es, s + (size_t)(ow * ld) * es, g->cin_g, es);
        }
      }
    }
  }
}

static void igrad_bands(void *vp, int64_t b0, int64_t b1) {
  igrad_plan *pl = vp;
  const conv_geo *g = pl->g;
  int64_t maxrows = pl->R * g->ow, mr = conv_gemm_mr();
  int64_t ld = pl->j->N * g->groups;
  const void **ptrs = malloc(sizeof(*ptrs) * (size_t)((maxrows + mr - 1) / mr * mr));
  char *scratch = NULL;
  if (posix_memalign((void **)&scratch, 64, (size_t)(maxrows * ld) * g->es + 64) != 0) scratch = NULL;
  if (!ptrs || !scratch) {
    __atomic_store_n(&pl->failed, 1, __ATOMIC_RELAXED);
    free(ptrs);
    free(scratch);
    return;
  }
  for (int64_t bi = b0; bi < b1; bi++) {
    int64_t band = 2 * bi + pl->phase, r0 = band * pl->R, r1 = r0 + pl->R < pl->nrows ? r0 + pl->R : pl->nrows;
    int64_t p0 = r0 * g->ow;
    int count = (int)((r1 - r0) * g->ow);
    for (int grp = 0; grp < g->groups; grp++) {
      for (int i = 0; i < count; i++) ptrs[i] = g->src + (size_t)((p0 + i) * g->cout + grp * g->cout_g) * g->es;
      conv_rows_block(pl->j, grp, ptrs, count, scratch);
      igrad_scatter(pl, grp, r0, r1, scratch, ld);
    }
  }
  free(scratch);
  free(ptrs);
}

static void zero_images(void *vdx, int64_t n0, int64_t n1) {
  const dnn_tensor *dx = vdx;
  size_t img = (size_t)(dx->shape[1] * dx->shape[2] * dx->shape[3]) * dnn_dtype_size((dnn_dtype)dx->dtype);
  memset((char *)dnn_data_ptr(dx) + img * (size_t)n0, 0, img * (size_t)(n1 - n0));
}

/* Scratch of one band past which the row-pointer form is used instead. */
#define IGRAD_BAND_BYTES (16u << 20)

dnn_status cpu_conv2d_input_grad(const dnn_op_args *a) {
  const dnn_tensor *gy = a->in[0], *k = a->in[1];
  dnn_tensor *dx = a->out;
  conv_geo g;
  geo_init(&g, a, dx, k, gy);
  if (dnn_numel(dx) == 0) return DNN_OK;
  dnn_dtype dt = (dnn_dtype)dx->dtype;
  int ntaps = (int)(g.kh * g.kw);
  g.src = dnn_data_ptr(gy);
  /* bands of R output rows: R*sh > (kh-1)*dh keeps bands two apart disjoint */
  int64_t R = ((g.kh - 1) * g.dh + g.sh - 1) / g.sh;
  if (R < 1) R = 1;
  if (R * g.ow < 128) R = (128 + g.ow - 1) / g.ow;
  bool banded = (double)R * (double)g.ow * (double)(ntaps * g.cin_g * g.groups) * (double)g.es <= IGRAD_BAND_BYTES;
  char *zero = zeros_for(&g);
  void *bp = banded ? pack_kernel_t1(&g, k, ntaps) : pack_kernel(&g, k, true, ntaps, g.cout_g, g.cin_g);
  dnn_status st = DNN_OK;
  if (!zero || !bp) {
    st = dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory for packed weights");
  } else if (banded) {
    g.zero = zero;
    conv_rows_job j = {.dtype = dt, .N = ntaps * g.cin_g, .Kt = g.cout_g, .ntaps = 1, .groups = (int)g.groups,
                       .Bp = bp, .zero = zero, .ldc = ntaps * g.cin_g * g.groups};
    igrad_plan pl = {.g = &g, .j = &j, .R = R, .nrows = g.n * g.oh, .dx = dnn_data_ptr(dx)};
    cpu_parallel_for(g.n, g.h * g.w * g.c, zero_images, dx);
    int64_t nbands = (pl.nrows + R - 1) / R;
    int64_t cost = R * g.ow * j.N * j.Kt * g.groups / 16 + 1;
    for (pl.phase = 0; pl.phase < 2 && !pl.failed; pl.phase++)
      cpu_parallel_for((nbands - pl.phase + 1) / 2, cost, igrad_bands, &pl);
    if (pl.failed) st = dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory for scratch buffers");
  } else {
    g.zero = zero;
    conv_rows_job j = {.dtype = dt, .M = g.n * g.h * g.w, .N = g.cin_g, .Kt = g.cout_g, .ntaps = ntaps,
                       .groups = (int)g.groups, .Bp = bp, .zero = zero, .C = dnn_data_ptr(dx), .ldc = g.c,
                       .rows = igrad_rows, .ctx = &g};
    st = conv_rows_gemm(&j);
  }
  free(zero);
  free(bp);
  return st;
}

/* ---- kernel gradient: dW[t, ci, co] = sum_p x_t(p)[ci] g(p)[co] ---- */

static void kgrad_taps_direct(const conv_outer_job *j, int grp, int t, int64_t p0, int count, const void **ptrs,
                              void *scratch) {
  (void)scratch;
  const conv_geo *g = j->ctx;
  int64_t ki = t / g->kw, kj = t % g->kw;
  int64_t ow = p0 % g->ow, r = p0 / g->ow, oh = r % g->oh, n = r / g->oh;
  int64_t coff = grp * g->cin_g;
  for (int i = 0; i < count; i++) {
    ptrs[i] = in_pixel(g, n, oh * g->sh - g->pt + ki * g->dh, ow * g->sw - g->pl + kj * g->dw, coff);
    if (++ow == g->ow) {
      ow = 0;
      if (++oh == g->oh) oh = 0, n++;
    }
  }
}

static void kgrad_taps_gather(const conv_outer_job *j, int grp, int t, int64_t p0, int count, const void **ptrs,
                              void *scratch) {
  (void)t;
  const conv_geo *g = j->ctx;
  size_t row = (size_t)g->krow * g->es;
  gather_rows(g, p0, count, grp * g->cin_g, scratch);
  for (int i = 0; i < count; i++) ptrs[i] = (char *)scratch + (size_t)i * row;
}

/* Column sums of the output gradient (P, Cout): blocks of rows summed in the
 * tensor's type (vectorised), the blocks' sums added in double. */
#define BIAS_BLOCK 64
#define BIAS_GRAD(T)                                                                   \
  static void bias_grad_##T(const T *g, int64_t P, int64_t cout, T *out, double *acc, T *blk) { \
    for (int64_t p0 = 0; p0 < P; p0 += BIAS_BLOCK) {                                   \
      int64_t p1 = p0 + BIAS_BLOCK < P ? p0 + BIAS_BLOCK : P;                          \
      for (int64_t c = 0; c < cout; c++) blk[c] = 0;                                   \
      for (int64_t p = p0; p < p1; p++)                                                \
        for (int64_t c = 0; c < cout; c++) blk[c] += g[p * cout + c];                  \
      for (int64_t c = 0; c < cout; c++) acc[c] += blk[c];                             \
    }                                                                                  \
    for (int64_t c = 0; c < cout; c++) out[c] = (T)acc[c];                             \
  }
BIAS_GRAD(float)
BIAS_GRAD(double)

static dnn_status bias_grad(const dnn_tensor *gy, dnn_tensor *db) {
  int64_t cout = gy->shape[3], P = cout ? dnn_numel(gy) / cout : 0;
  double *acc = calloc((size_t)cout + 1, sizeof(double));
  void *blk = malloc(((size_t)cout + 1) * sizeof(double));
  if (!acc || !blk) {
    free(acc);
    free(blk);
    return dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory");
  }
  if (gy->dtype == DNN_FLOAT32)
    bias_grad_float(dnn_data_ptr(gy), P, cout, dnn_data_ptr(db), acc, blk);
  else
    bias_grad_double(dnn_data_ptr(gy), P, cout, dnn_data_ptr(db), acc, blk);
  free(acc);
  free(blk);
  return DNN_OK;
}

/* Rows of the p sum per segment: fixed by the shape, so that results do not
 * depend on the thread count; ~1k rows keep a segment's data in L2. */
#define KGRAD_SEG 1024

dnn_status cpu_conv2d_kernel_grad(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0], *gy = a->in[1];
  dnn_tensor *dk = a->out, *db = a->out2;
  if (!dk) return db ? bias_grad(gy, db) : DNN_OK;
  conv_geo g;
  geo_init(&g, a, x, dk, gy);
  dnn_dtype dt = (dnn_dtype)x->dtype;
  bool gather = use_im2row(&g);
  int ntaps = gather ? 1 : (int)(g.kh * g.kw);
  int64_t Kt = gather ? g.krow : g.cin_g;
  g.src = dnn_data_ptr(x);
  char *zero = zeros_for(&g);
  if (!zero) return dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory");
  g.zero = zero;
  conv_outer_job j = {.dtype = dt, .M = g.n * g.oh * g.ow, .N = g.cout_g, .Kt = Kt, .ntaps = ntaps,
                      .groups = (int)g.groups, .G = dnn_data_ptr(gy), .ldg = g.cout, .D = dnn_data_ptr(dk),
                      .ldd = g.cout, .dbias = db ? dnn_data_ptr(db) : NULL, .taps = gather ? kgrad_taps_gather : kgrad_taps_direct,
                      .scratch_bytes = gather ? (size_t)(KGRAD_SEG * g.krow + conv_gemm_mr() + 16) * g.es : 0,
                      .seg = KGRAD_SEG, .ctx = &g};
  dnn_status st = conv_outer_gemm(&j);
  free(zero);
  return st;
}
