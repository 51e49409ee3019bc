/* CPU kernels of 2-d max/average pooling, channels-last.  A window is a
 * range of rows times a range of columns, clipped to the input: regular
 * pooling (padding cells are simply outside the range, so "same" averages
 * only real cells, as TensorFlow does) and PyTorch's adaptive bins share the
 * same loops.  The inner loops run over channels, which are contiguous. */
#include <math.h>
#include <string.h>

#include "iter.h"
#include "kernels_conv.h"

typedef struct {
  int64_t n, h, w, c, oh, ow;
  int64_t kh, kw, sh, sw, pt, pl;
  bool adaptive, is_max;
  const char *x;  /* input, or the output gradient (backward) */
  char *y;        /* output, or the input gradient (backward) */
  int32_t *idx;   /* argmax (forward: written if not NULL; backward: read) */
  const int32_t *cidx;
} pool_geo;

static void pool_geo_init(pool_geo *g, const dnn_op_args *a, const dnn_tensor *in, const dnn_tensor *out) {
  g->n = in->shape[0], g->h = in->shape[1], g->w = in->shape[2], g->c = in->shape[3];
  g->oh = out->shape[1], g->ow = out->shape[2];
  g->kh = a->dims[DNN_POOL_KH], g->kw = a->dims[DNN_POOL_KW];
  g->sh = a->dims[DNN_POOL_SH], g->sw = a->dims[DNN_POOL_SW];
  g->pt = a->dims[DNN_POOL_PT], g->pl = a->dims[DNN_POOL_PL];
  g->adaptive = a->dims[DNN_POOL_ADAPTIVE] != 0;
}

/* Window [*b, *e) along one axis for output index i, clipped to [0, size). */
static inline void window(const pool_geo *g, bool rows, int64_t i, int64_t *b, int64_t *e) {
  int64_t size = rows ? g->h : g->w, out = rows ? g->oh : g->ow;
  if (g->adaptive) {
    *b = i * size / out;
    *e = ((i + 1) * size + out - 1) / out;
    return;
  }
  int64_t s = rows ? g->sh : g->sw, p = rows ? g->pt : g->pl, k = rows ? g->kh : g->kw;
  int64_t lo = i * s - p, hi = lo + k;
  *b = lo < 0 ? 0 : lo;
  *e = hi > size ? size : hi;
}

#define POOL_FWD(T)                                                                                     \
  static void pool_fwd_##T(const pool_geo *g, int64_t n, int64_t oh) {                                 \
    int64_t C = g->c, hs, he;                                                                          \
    window(g, true, oh, &hs, &he);                                                                     \
    const T *img = (const T *)g->x + n * g->h * g->w * C;                                              \
    T *out = (T *)g->y + (n * g->oh + oh) * g->ow * C;                                                 \
    int32_t *ix = g->idx ? g->idx + (n * g->oh + oh) * g->ow * C : NULL;                               \
    for (int64_t ow = 0; ow < g->ow; ow++, out += C) {                                                 \
      int64_t ws, we;                                                                                  \
      window(g, false, ow, &ws, &we);                                                                  \
      if (hs >= he || ws >= we) { /* no cell of the input: cannot happen for valid geometries */      \
        for (int64_t c = 0; c < C; c++) out[c] = 0;                                                    \
        if (ix)                                                                                        \
          for (int64_t c = 0; c < C; c++) ix[ow * C + c] = 0;                                          \
        continue;                                                                                      \
      }                                                                                                \
      const T *first = img + (hs * g->w + ws) * C;                                                     \
      if (g->is_max) {                                                                                 \
        int32_t *xi = ix ? ix + ow * C : NULL;                                                         \
        memcpy(out, first, sizeof(T) * (size_t)C);                                                     \
        if (xi)                                                                                        \
          for (int64_t c = 0; c < C; c++) xi[c] = (int32_t)(hs * g->w + ws);                           \
        for (int64_t ih = hs; ih < he; ih++)                                                           \
          for (int64_t iw = (ih == hs ? ws + 1 : ws); iw < we; iw++) {                                 \
            const T *v = img + (ih * g->w + iw) * C;                                                   \
            int32_t pos = (int32_t)(ih * g->w + iw);                                                   \
            if (xi) {                                                                                  \
              for (int64_t c = 0; c < C; c++) {                                                        \
                bool take = v[c] > out[c] || (v[c] != v[c] && out[c] == out[c]);                       \
                out[c] = take ? v[c] : out[c];                                                         \
                xi[c] = take ? pos : xi[c];                                                            \
              }                                                                                        \
            } else {                                                                                   \
              for (int64_t c = 0; c < C; c++) {                                                        \
                bool take = v[c] > out[c] || (v[c] != v[c] && out[c] == out[c]);                       \
                out[c] = take ? v[c] : out[c];                                                         \
              }                                                                                        \
            }                                                                                          \
          }                                                                                            \
      } else {                                                                                         \
        memcpy(out, first, sizeof(T) * (size_t)C);                                                     \
        for (int64_t ih = hs; ih < he; ih++)                                                           \
          for (int64_t iw = (ih == hs ? ws + 1 : ws); iw < we; iw++) {                                 \
            const T *v = img + (ih * g->w + iw) * C;                                                   \
            for (int64_t c = 0; c < C; c++) out[c] += v[c];                                            \
          }                                                                                            \
        T inv = (T)1 / (T)((he - hs) * (we - ws));                                                     \
        for (int64_t c = 0; c < C; c++) out[c] *= inv;                                                 \
      }                                                                                                \
    }                                                                                                  \
  }
POOL_FWD(float)
POOL_FWD(double)

typedef struct {
  pool_geo *g;
  bool f32;
} pool_ctx;

static void pool_fwd_range(void *vc, int64_t r0, int64_t r1) {
  pool_ctx *pc = vc;
  for (int64_t r = r0; r < r1; r++) {
    if (pc->f32)
      pool_fwd_float(pc->g, r / pc->g->oh, r % pc->g->oh);
    else
      pool_fwd_double(pc->g, r / pc->g->oh, r % pc->g->oh);
  }
}

/* in[0] x, out y, out2 argmax or NULL, flag max */
dnn_status cpu_pool2d(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0];
  pool_geo g;
  pool_geo_init(&g, a, x, a->out);
  g.is_max = a->flag;
  g.x = dnn_data_ptr(x);
  g.y = dnn_data_ptr(a->out);
  g.idx = a->out2 ? dnn_data_ptr(a->out2) : NULL;
  pool_ctx pc = {&g, x->dtype == DNN_FLOAT32};
  int64_t win = g.adaptive ? (g.h / (g.oh ? g.oh : 1) + 1) * (g.w / (g.ow ? g.ow : 1) + 1) : g.kh * g.kw;
  cpu_parallel_for(g.n * g.oh, g.ow * g.c * win, pool_fwd_range, &pc);
  return DNN_OK;
}

/* ---- backward: per image (windows of one image may overlap, images never do) ---- */

/* Windows that cannot overlap (regular pooling with strides >= pool size):
 * every input cell gets exactly one write, the gradient's share or zero, so
 * there is no zero-fill pass and no scatter; cells no window covers (a
 * remainder row or column, gaps when strides > pool size) are zeroed. */
static bool windows_disjoint(const pool_geo *g) { return !g->adaptive && g->sh >= g->kh && g->sw >= g->kw; }

#define POOL_BWD(T)                                                                                     \
  static void zero_cells_##T(T *d, int64_t n) { memset(d, 0, sizeof(T) * (size_t)n); }                 \
  /* output row oh of image n: its window rows, and the uncovered rows      \
   * before them (after them too for the last row) */                                                  \
  static void pool_bwd_disjoint_##T(const pool_geo *g, int64_t n, int64_t oh) {                        \
    int64_t C = g->c, W = g->w;                                                                        \
    T *dimg = (T *)g->y + n * g->h * W * C;                                                            \
    const T *gy = (const T *)g->x + n * g->oh * g->ow * C;                                             \
    const int32_t *ix = g->is_max ? g->cidx + n * g->oh * g->ow * C : NULL;                            \
    int64_t hs, he, prev = 0, unused;                                                                  \
    window(g, true, oh, &hs, &he);                                                                     \
    if (oh > 0) window(g, true, oh - 1, &unused, &prev);                                               \
    if (prev < hs) zero_cells_##T(dimg + prev * W * C, (hs - prev) * W * C);                           \
    if (oh == g->oh - 1 && he < g->h) zero_cells_##T(dimg + he * W * C, (g->h - he) * W * C);          \
    for (int64_t ih = hs; ih < he; ih++) {                                                             \
        T *drow = dimg + ih * W * C;                                                                   \
        int64_t next_col = 0;                                                                          \
        for (int64_t ow = 0; ow < g->ow; ow++) {                                                       \
          int64_t ws, we;                                                                              \
          window(g, false, ow, &ws, &we);                                                              \
          if (ws > next_col) zero_cells_##T(drow + next_col * C, (ws - next_col) * C);                 \
          if (we > next_col) next_col = we;                                                            \
          const T *gv = gy + (oh * g->ow + ow) * C;                                                    \
          if (ix) {                                                                                    \
            const int32_t *iv = ix + (oh * g->ow + ow) * C;                                            \
            for (int64_t iw = ws; iw < we; iw++) {                                                     \
              T *d = drow + iw * C;                                                                    \
              int32_t pos = (int32_t)(ih * W + iw);                                                    \
              for (int64_t c = 0; c < C; c++) d[c] = iv[c] == pos ? gv[c] : (T)0;                      \
            }                                                                                          \
          } else {                                                                                     \
            T inv = hs < he && ws < we ? (T)1 / (T)((he - hs) * (we - ws)) : (T)0;                     \
            for (int64_t iw = ws; iw < we; iw++) {                                                     \
              T *d = drow + iw * C;                                                                    \
              for (int64_t c = 0; c < C; c++) d[c] = gv[c] * inv;                                      \
            }                                                                                          \
          }                                                                                            \
        }                                                                                              \
        if (W > next_col) zero_cells_##T(drow + next_col * C, (W - next_col) * C);                     \
    }                                                                                                  \
  }                                                                                                    \
  static void pool_bwd_##T(const pool_geo *g, int64_t n) {                                             \
    int64_t C = g->c;                                                                                  \
    T *dimg = (T *)g->y + n * g->h * g->w * C;                                                         \
    memset(dimg, 0, sizeof(T) * (size_t)(g->h * g->w * C));                                            \
    const T *gy = (const T *)g->x + n * g->oh * g->ow * C;                                             \
    if (g->is_max) {                                                                                   \
      const int32_t *ix = g->cidx + n * g->oh * g->ow * C;                                             \
      for (int64_t o = 0; o < g->oh * g->ow; o++, gy += C, ix += C)                                    \
        for (int64_t c = 0; c < C; c++) dimg[(int64_t)ix[c] * C + c] += gy[c];                         \
      return;                                                                                          \
    }                                                                                                  \
    for (int64_t oh = 0; oh < g->oh; oh++) {                                                           \
      int64_t hs, he;                                                                                  \
      window(g, true, oh, &hs, &he);                                                                   \
      for (int64_t ow = 0; ow < g->ow; ow++, gy += C) {                                                \
        int64_t ws, we;                                                                                \
        window(g, false, ow, &ws, &we);                                                                \
        if (hs >= he || ws >= we) continue;                                                            \
        T inv = (T)1 / (T)((he - hs) * (we - ws));                                                     \
        for (int64_t ih = hs; ih < he; ih++)                                                           \
          for (int64_t iw = ws; iw < we; iw++) {                                                       \
            T *d = dimg + (ih * g->w + iw) * C;                                                        \
            for (int64_t c = 0; c < C; c++) d[c] += gy[c] * inv;                                       \
          }                                                                                            \
      }                                                                                                \
    }                                                                                                  \
  }
POOL_BWD(float)
POOL_BWD(double)

static void pool_bwd_range(void *vc, int64_t n0, int64_t n1) {
  pool_ctx *pc = vc;
  for (int64_t n = n0; n < n1; n++) {
    if (pc->f32)
      pool_bwd_float(pc->g, n);
    else
      pool_bwd_double(pc->g, n);
  }
}

/* rows r = (n, oh) of disjoint windows: independent, so split by rows */
static void pool_bwd_rows(void *vc, int64_t r0, int64_t r1) {
  pool_ctx *pc = vc;
  for (int64_t r = r0; r < r1; r++) {
    if (pc->f32)
      pool_bwd_disjoint_float(pc->g, r / pc->g->oh, r % pc->g->oh);
    else
      pool_bwd_disjoint_double(pc->g, r / pc->g->oh, r % pc->g->oh);
  }
}

/* in[0] grad (N,OH,OW,C), in[1] argmax (max) or NULL, out dx (N,H,W,C) */
dnn_status cpu_pool2d_backward(const dnn_op_args *a) {
  const dnn_tensor *gy = a->in[0];
  dnn_tensor *dx = a->out;
  pool_geo g;
  pool_geo_init(&g, a, dx, gy);
  g.is_max = a->in[1] != NULL;
  g.x = dnn_data_ptr(gy);
  g.y = dnn_data_ptr(dx);
  g.cidx = a->in[1] ? dnn_data_ptr(a->in[1]) : NULL;
  g.idx = NULL;
  pool_ctx pc = {&g, dx->dtype == DNN_FLOAT32};
  if (dnn_numel(dx) == 0) return DNN_OK;
  if (windows_disjoint(&g) && g.oh > 0)
    cpu_parallel_for(g.n * g.oh, (g.h * g.w * g.c) / g.oh + 1, pool_bwd_rows, &pc);
  else
    cpu_parallel_for(g.n, g.h * g.w * g.c + g.oh * g.ow * g.c, pool_bwd_range, &pc);
  return DNN_OK;
}
