/* Row kernels of the fused crossentropies for one float type, included by
 * cpu/loss_xent.c with T (float/double), SFX (f32/f64), EXP, LOG, LOG1P set.
 * A row is the C class values of one sample at element stride st.
 * Notation: t' = smoothed target, lse = log-sum-exp of the row, lo/hi = the
 * clip bounds eps and 1-eps in T, as Keras computes them. */

#define LX_CAT2(a, b) a##_##b
#define LX_CAT(a, b) LX_CAT2(a, b)
#define FN(name) LX_CAT(name, SFX)

static inline T FN(row_max)(const T *x, int64_t st, int64_t C) {
  T m = -INFINITY;
  if (st == 1 && C >= 64) { /* a vector reduction only pays off on long rows */
    _Pragma("omp simd reduction(max : m)") for (int64_t c = 0; c < C; c++) m = x[c] > m ? x[c] : m;
  } else {
    for (int64_t c = 0; c < C; c++) m = x[c * st] > m ? x[c * st] : m;
  }
  return m; /* a NaN logit may be skipped here, but it makes the sum of exps NaN */
}

static inline T FN(row_lse)(const T *x, int64_t st, int64_t C) {
  T m = FN(row_max)(x, st, C), s = 0;
  if (st == 1) {
    _Pragma("omp simd reduction(+ : s)") for (int64_t c = 0; c < C; c++) s += EXP(x[c] - m);
  } else {
    for (int64_t c = 0; c < C; c++) s += EXP(x[c * st] - m);
  }
  return m + LOG(s);
}

static inline T FN(clip)(T v, T lo, T hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Many short contiguous rows (classes on the last axis, C small): a loop of
 * C exps per row stays in the vector remainder, so rows are processed in
 * blocks whose shifted values x - max go through one long vectorised exp.
 * LX_BLOCK bounds the block in elements; rows longer than it use row_lse. */
#ifndef LX_BLOCK
#define LX_BLOCK 2048
#endif

/* lse[j] for rows r = 0..n-1 of x (row length C, n * C <= LX_BLOCK). */
static void FN(block_lse)(const T *x, int64_t C, int64_t n, T *lse) {
  T buf[LX_BLOCK];
  for (int64_t j = 0; j < n; j++) {
    const T *row = x + j * C;
    T m = FN(row_max)(row, 1, C);
    lse[j] = m;
    for (int64_t c = 0; c < C; c++) buf[j * C + c] = row[c] - m;
  }
  int64_t total = n * C;
  _Pragma("omp simd") for (int64_t i = 0; i < total; i++) buf[i] = EXP(buf[i]);
  for (int64_t j = 0; j < n; j++) {
    T s = 0;
    for (int64_t c = 0; c < C; c++) s += buf[j * C + c];
    lse[j] += LOG(s);
  }
}

/* out[i] = exp(x[i] - lse[row]) over n contiguous rows: the softmax. */
static void FN(block_softmax)(const T *x, int64_t C, int64_t n, const T *lse, T *out) {
  for (int64_t j = 0; j < n; j++)
    for (int64_t c = 0; c < C; c++) out[j * C + c] = x[j * C + c] - lse[j];
  int64_t total = n * C;
  _Pragma("omp simd") for (int64_t i = 0; i < total; i++) out[i] = EXP(out[i]);
}

/* ---- categorical (dense targets) ---- */

/* loss = sum_c t'_c (lse - x_c) from logits; -sum_c t'_c log(clip(p_c / sum p))
 * from probabilities.  aux = lse, or sum p. */
static void FN(cce_fwd_row)(const T *x, const T *t, int64_t st, int64_t C, bool logits, T a, T b, T lo,
                            T hi, T *loss, T *aux) {
  T l = 0;
  if (logits) {
    T lse = FN(row_lse)(x, st, C);
    for (int64_t c = 0; c < C; c++) l += (t[c * st] * a + b) * (lse - x[c * st]);
    *aux = lse;
  } else {
    T s = 0;
    for (int64_t c = 0; c < C; c++) s += x[c * st];
    for (int64_t c = 0; c < C; c++) l -= (t[c * st] * a + b) * LOG(FN(clip)(x[c * st] / s, lo, hi));
    *aux = s;
  }
  *loss = l;
}

/* d/dx: g (softmax * sum t' - t') from logits; through the clip (zero outside
 * [lo, hi]) and the division by s from probabilities.  d/dt: g a (lse - x)
 * or -g a log(clip(q)). */
static void FN(cce_bwd_row)(T g, const T *x, const T *t, int64_t st, int64_t C, bool logits, T a, T b,
                            T lo, T hi, T aux, T *dx, T *dt) {
  if (logits) {
    T lse = aux, tsum = 0;
    for (int64_t c = 0; c < C; c++) tsum += t[c * st] * a + b;
    if (dx)
      for (int64_t c = 0; c < C; c++) dx[c * st] = g * (EXP(x[c * st] - lse) * tsum - (t[c * st] * a + b));
    if (dt)
      for (int64_t c = 0; c < C; c++) dt[c * st] = g * a * (lse - x[c * st]);
    return;
  }
  /* dot = sum_c gq_c q_c with gq_c = -t'_c / q_c inside the clip, 0 outside */
  T s = aux, dot = 0;
  for (int64_t c = 0; c < C; c++) {
    T q = x[c * st] / s;
    if (q >= lo && q <= hi) dot -= t[c * st] * a + b;
  }
  for (int64_t c = 0; c < C; c++) {
    T q = x[c * st] / s, cq = FN(clip)(q, lo, hi);
    T gq = (q >= lo && q <= hi) ? -(t[c * st] * a + b) / cq : 0;
    if (dx) dx[c * st] = g * (gq - dot) / s;
    if (dt) dt[c * st] = -g * a * LOG(cq);
  }
}

/* ---- sparse (class ids) ---- */

/* loss = lse - x_y from logits; log(sum c) - log(c_y) with c = clip(p) from
 * probabilities (Keras takes log(clip(p)) as logits).  aux = lse or sum c. */
static void FN(scce_fwd_row)(const T *x, int64_t y, int64_t st, int64_t C, bool logits, T lo, T hi, T *loss,
                             T *aux) {
  if (logits) {
    T lse = FN(row_lse)(x, st, C);
    *aux = lse;
    *loss = y >= 0 ? lse - x[y * st] : 0;
  } else {
    T s = 0;
    for (int64_t c = 0; c < C; c++) s += FN(clip)(x[c * st], lo, hi);
    *aux = s;
    *loss = y >= 0 ? LOG(s) - LOG(FN(clip)(x[y * st], lo, hi)) : 0;
  }
}

static void FN(scce_bwd_row)(T g, const T *x, int64_t y, int64_t st, int64_t C, bool logits, T lo, T hi, T aux,
                             T *dx) {
  if (y < 0) {
    for (int64_t c = 0; c < C; c++) dx[c * st] = 0;
    return;
  }
  if (logits) {
    T lse = aux;
    if (st == 1) {
      _Pragma("omp simd") for (int64_t c = 0; c < C; c++) dx[c] = g * EXP(x[c] - lse);
    } else {
      for (int64_t c = 0; c < C; c++) dx[c * st] = g * EXP(x[c * st] - lse);
    }
    dx[y * st] -= g;
    return;
  }
  T inv_s = 1 / aux;
  for (int64_t c = 0; c < C; c++) {
    T p = x[c * st];
    dx[c * st] = (p >= lo && p <= hi) ? g * inv_s : 0;
  }
  T py = x[y * st];
  if (py >= lo && py <= hi) dx[y * st] -= g / py;
}

/* ---- binary (elementwise, mean over the axis) ---- */

/* max(x,0) - x z' + log1p(exp(-|x|)) from logits; -(z' log(p'+eps) +
 * (1-z') log(1-p'+eps)), p' = clip(p), from probabilities. */
static void FN(bce_fwd_row)(const T *x, const T *z, int64_t st, int64_t C, bool logits, T a, T b, T lo, T hi,
                            T *loss) {
  T l = 0;
  for (int64_t c = 0; c < C; c++) {
    T v = x[c * st], zz = z[c * st] * a + b;
    if (logits) {
      l += (v > 0 ? v : 0) - v * zz + LOG1P(EXP(-(v < 0 ? -v : v)));
    } else {
      T p = FN(clip)(v, lo, hi);
      l -= zz * LOG(p + lo) + (1 - zz) * LOG(1 - p + lo);
    }
  }
  *loss = l / (T)C;
}

static void FN(bce_bwd_row)(T g, const T *x, const T *z, int64_t st, int64_t C, bool logits, T a, T b, T lo,
                            T hi, T *dx, T *dz) {
  T gc = g / (T)C;
  for (int64_t c = 0; c < C; c++) {
    T v = x[c * st], zz = z[c * st] * a + b;
    if (logits) {
      T e = EXP(-(v < 0 ? -v : v));
      T sig = v >= 0 ? 1 / (1 + e) : e / (1 + e);
      if (dx) dx[c * st] = gc * (sig - zz);
      if (dz) dz[c * st] = -gc * a * v;
    } else {
      T p = FN(clip)(v, lo, hi);
      bool inside = v >= lo && v <= hi;
      if (dx) dx[c * st] = inside ? gc * ((1 - zz) / (1 - p + lo) - zz / (p + lo)) : 0;
      if (dz) dz[c * st] = gc * a * (LOG(1 - p + lo) - LOG(p + lo));
    }
  }
}

/* ---- drivers: rows split across threads (each row is independent, so the
 * result does not depend on the thread count) ---- */

typedef struct {
  const dnn_op_args *a;
  loss_geom g;
  T sa, sb; /* smoothing: t' = t * sa + sb */
  T lo, hi;
} FN(xent_ctx);

static void FN(xent_fwd_range)(void *vctx, int64_t r0, int64_t r1) {
  FN(xent_ctx) *k = vctx;
  const dnn_op_args *a = k->a;
  const T *x = dnn_data_ptr(a->in[0]);
  const T *t = a->op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY ? NULL : dnn_data_ptr(a->in[1]);
  T *loss = dnn_data_ptr(a->out);
  T *aux = a->out2 ? dnn_data_ptr(a->out2) : NULL;
  int64_t C = k->g.C, inner = k->g.inner;
  bool sparse = a->op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY;
  if (inner == 1 && a->flag && a->op != DNN_OP_BINARY_CROSSENTROPY && C <= LX_BLOCK / 4) {
    /* logits in short contiguous rows: blocked log-sum-exp */
    T lse[LX_BLOCK];
    int64_t per = LX_BLOCK / C;
    for (int64_t rb = r0; rb < r1; rb += per) {
      int64_t n = r1 - rb < per ? r1 - rb : per;
      FN(block_lse)(x + rb * C, C, n, lse);
      for (int64_t j = 0; j < n; j++) {
        int64_t r = rb + j;
        const T *row = x + r * C;
        T l = 0;
        if (sparse) {
          int64_t y = loss_class_at(a->in[1], r, C, a->has_s1, a->k);
          l = y >= 0 ? lse[j] - row[y] : 0;
        } else {
          const T *tr = t + r * C;
          for (int64_t c = 0; c < C; c++) l += (tr[c] * k->sa + k->sb) * (lse[j] - row[c]);
        }
        loss[r] = l;
        if (aux) aux[r] = lse[j];
      }
    }
    return;
  }
  for (int64_t r = r0; r < r1; r++) {
    int64_t base = (r / inner) * C * inner + r % inner;
    T ax = 0;
    switch (a->op) {
      case DNN_OP_CATEGORICAL_CROSSENTROPY:
        FN(cce_fwd_row)(x + base, t + base, inner, C, a->flag, k->sa, k->sb, k->lo, k->hi, &loss[r], &ax);
        break;
      case DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY: {
        int64_t y = loss_class_at(a->in[1], r, C, a->has_s1, a->k);
        FN(scce_fwd_row)(x + base, y, inner, C, a->flag, k->lo, k->hi, &loss[r], &ax);
        break;
      }
      default:
        FN(bce_fwd_row)(x + base, t + base, inner, C, a->flag, k->sa, k->sb, k->lo, k->hi, &loss[r]);
        break;
    }
    if (aux) aux[r] = ax;
  }
}

static void FN(xent_bwd_range)(void *vctx, int64_t r0, int64_t r1) {
  FN(xent_ctx) *k = vctx;
  const dnn_op_args *a = k->a;
  const T *grad = dnn_data_ptr(a->in[0]);
  const T *x = dnn_data_ptr(a->in[1]);
  bool sparse = a->op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD;
  const T *t = sparse ? NULL : dnn_data_ptr(a->in[2]);
  const T *aux = a->in[3] ? dnn_data_ptr(a->in[3]) : NULL;
  T *dx = a->out ? dnn_data_ptr(a->out) : NULL;
  T *dt = a->out2 ? dnn_data_ptr(a->out2) : NULL;
  int64_t C = k->g.C, inner = k->g.inner;
  if (inner == 1 && a->flag && dx && a->op != DNN_OP_BINARY_CROSSENTROPY_BACKWARD && C <= LX_BLOCK / 4) {
    /* logits in short contiguous rows: softmax of a block in one exp loop,
     * then g * (softmax * sum t' - t') per row (sum t' = 1, t' = onehot if sparse) */
    int64_t per = LX_BLOCK / C;
    for (int64_t rb = r0; rb < r1; rb += per) {
      int64_t n = r1 - rb < per ? r1 - rb : per;
      FN(block_softmax)(x + rb * C, C, n, aux + rb, dx + rb * C);
      for (int64_t j = 0; j < n; j++) {
        int64_t r = rb + j;
        T g = grad[r], *d = dx + r * C;
        if (sparse) {
          int64_t y = loss_class_at(a->in[2], r, C, a->has_s1, a->k);
          if (y < 0) g = 0;
          for (int64_t c = 0; c < C; c++) d[c] *= g;
          if (y >= 0) d[y] -= g;
          continue;
        }
        const T *tr = t + r * C;
        T tsum = 0;
        for (int64_t c = 0; c < C; c++) tsum += tr[c] * k->sa + k->sb;
        for (int64_t c = 0; c < C; c++) d[c] = g * (d[c] * tsum - (tr[c] * k->sa + k->sb));
        if (dt)
          for (int64_t c = 0; c < C; c++) dt[r * C + c] = g * k->sa * (aux[r] - x[r * C + c]);
      }
    }
    return;
  }
  for (int64_t r = r0; r < r1; r++) {
    int64_t base = (r / inner) * C * inner + r % inner;
    switch (a->op) {
      case DNN_OP_CATEGORICAL_CROSSENTROPY_BACKWARD:
        FN(cce_bwd_row)(grad[r], x + base, t + base, inner, C, a->flag, k->sa, k->sb, k->lo, k->hi, aux[r],
                        dx ? dx + base : NULL, dt ? dt + base : NULL);
        break;
      case DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD: {
        int64_t y = loss_class_at(a->in[2], r, C, a->has_s1, a->k);
        FN(scce_bwd_row)(grad[r], x + base, y, inner, C, a->flag, k->lo, k->hi, aux[r], dx + base);
        break;
      }
      default:
        FN(bce_bwd_row)(grad[r], x + base, t + base, inner, C, a->flag, k->sa, k->sb, k->lo, k->hi,
                        dx ? dx + base : NULL, dt ? dt + base : NULL);
        break;
    }
  }
}

/* geometry from the y_pred operand (in[0] forward, in[1] backward) */
static void FN(xent_run)(const dnn_op_args *a, bool backward) {
  const dnn_tensor *pred = backward ? a->in[1] : a->in[0];
  FN(xent_ctx) k = {.a = a, .g = loss_geom_of(pred, a->dim)};
  bool binary = a->op == DNN_OP_BINARY_CROSSENTROPY || a->op == DNN_OP_BINARY_CROSSENTROPY_BACKWARD;
  T ls = (T)a->s0;
  k.sa = 1 - ls;
  k.sb = binary ? ls / 2 : ls / (T)k.g.C;
  k.lo = (T)DNN_LOSS_EPSILON;
  k.hi = 1 - k.lo;
  int64_t rows = k.g.outer * k.g.inner;
  cpu_parallel_for(rows, k.g.C * 8, backward ? FN(xent_bwd_range) : FN(xent_fwd_range), &k);
}

#undef FN
#undef LX_CAT
#undef LX_CAT2
