/* The update rules of Keras's optimizers over a flat range of elements, for
 * one element type.  optim_update.c includes this once per dtype with
 *   OT       the element type (float, double)
 *   OS(x)    x with the dtype's suffix
 * Every rule computes in double and rounds once when it stores, so float32
 * variables follow the float64 trajectory as closely as float32 can hold it.
 * Per element: the gradient is scaled (norm clipping) and clipped by value,
 * the variable is decayed (decoupled weight decay, before the rule, as Keras
 * does it), then the rule runs.  Elements are independent, so any split of
 * the range across threads gives the same result. */

static inline double OS(load_grad)(const upd_ctx *c, const OT *g, int64_t i) {
  double x = (double)g[i] * c->scale;
  if (c->clipvalue > 0) x = x < -c->clipvalue ? -c->clipvalue : x > c->clipvalue ? c->clipvalue : x;
  return x;
}

static inline double OS(load_var)(const upd_ctx *c, const OT *p, int64_t i) {
  double v = (double)p[i];
  return c->decay ? v - v * c->wd_lr : v;
}

static void OS(sgd)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict m = c->slot[0];
  const double lr = c->lr, mu = c->cfg->momentum;
  if (!m) {
    for (int64_t i = b; i < e; i++) p[i] = (OT)(OS(load_var)(c, p, i) - lr * OS(load_grad)(c, g, i));
    return;
  }
  const bool nesterov = c->cfg->nesterov;
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double mi = mu * (double)m[i] - lr * gi;
    m[i] = (OT)mi;
    p[i] = (OT)(pi + (nesterov ? mu * mi - lr * gi : mi));
  }
}

static void OS(rmsprop)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  const dnn_optim_config *cfg = c->cfg;
  const bool has_mom = cfg->momentum > 0;
  OT *restrict v = c->slot[0];
  OT *restrict mo = has_mom ? c->slot[1] : NULL;
  OT *restrict ag = cfg->centered ? c->slot[has_mom ? 2 : 1] : NULL;
  const double lr = c->lr, rho = cfg->rho, mu = cfg->momentum, eps = cfg->epsilon;
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double vi = rho * (double)v[i] + (1 - rho) * gi * gi;
    v[i] = (OT)vi;
    double den = vi + eps;
    if (ag) {
      double ai = rho * (double)ag[i] + (1 - rho) * gi;
      ag[i] = (OT)ai;
      den = vi - ai * ai + eps;
    }
    double inc = lr * gi / sqrt(den);
    if (mo) {
      inc = mu * (double)mo[i] + inc;
      mo[i] = (OT)inc;
    }
    p[i] = (OT)(pi - inc);
  }
}

static void OS(adam)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict m = c->slot[0], *restrict v = c->slot[1], *restrict vh = c->slot[2];
  const double b1 = c->cfg->beta_1, b2 = c->cfg->beta_2, eps = c->cfg->epsilon, alpha = c->alpha;
  if (sizeof(OT) == 4 && !vh && c->clipvalue <= 0 && c->scale == 1 && !c->decay) {
    /* the plain float32 step (the common case) in float lanes: double sqrt
     * and division made this pass a quarter of an MLP's step time */
    const float fb1 = (float)(1 - b1), fb2 = (float)(1 - b2), feps = (float)eps, falpha = (float)alpha;
    float *restrict pf = (float *)p, *restrict mf = (float *)m, *restrict vf = (float *)v;
    const float *restrict gf = (const float *)g;
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      float gi = gf[i];
      float mi = mf[i] + (gi - mf[i]) * fb1;
      float vi = vf[i] + (gi * gi - vf[i]) * fb2;
      mf[i] = mi;
      vf[i] = vi;
      pf[i] -= mi * falpha / (sqrtf(vi) + feps);
    }
    return;
  }
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double mi = (double)m[i], vi = (double)v[i];
    mi += (gi - mi) * (1 - b1);
    vi += (gi * gi - vi) * (1 - b2);
    m[i] = (OT)mi;
    v[i] = (OT)vi;
    if (vh) {
      double h = (double)vh[i];
      vi = h > vi ? h : vi;
      vh[i] = (OT)vi;
    }
    p[i] = (OT)(pi - mi * alpha / (sqrt(vi) + eps));
  }
}

static void OS(adadelta)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict ag = c->slot[0], *restrict ad = c->slot[1];
  const double lr = c->lr, rho = c->cfg->rho, eps = c->cfg->epsilon;
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double agi = rho * (double)ag[i] + (1 - rho) * gi * gi;
    double adi = (double)ad[i];
    double delta = -sqrt(adi + eps) * gi / sqrt(agi + eps);
    ag[i] = (OT)agi;
    ad[i] = (OT)(rho * adi + (1 - rho) * delta * delta);
    p[i] = (OT)(pi + lr * delta);
  }
}

static void OS(adagrad)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict acc = c->slot[0];
  const double lr = c->lr, eps = c->cfg->epsilon;
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double a = (double)acc[i] + gi * gi;
    acc[i] = (OT)a;
    p[i] = (OT)(pi - lr * gi / sqrt(a + eps));
  }
}

static void OS(adamax)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict m = c->slot[0], *restrict u = c->slot[1];
  const double lr = c->lr, b1 = c->cfg->beta_1, b2 = c->cfg->beta_2, eps = c->cfg->epsilon;
  const double corr = c->bias1; /* 1 - beta_1^t */
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double mi = (double)m[i];
    mi += (gi - mi) * (1 - b1);
    double ui = b2 * (double)u[i], ag = fabs(gi);
    ui = ui > ag ? ui : ag; /* a NaN gradient stays NaN */
    m[i] = (OT)mi;
    u[i] = (OT)ui;
    p[i] = (OT)(pi - lr * mi / (corr * (ui + eps)));
  }
}

static void OS(nadam)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict m = c->slot[0], *restrict v = c->slot[1];
  const double lr = c->lr, b1 = c->cfg->beta_1, b2 = c->cfg->beta_2, eps = c->cfg->epsilon;
  const double mc = c->nadam_m, gc = c->nadam_g, vc = c->bias2; /* see optim_update.c */
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double mi = (double)m[i], vi = (double)v[i];
    mi += (gi - mi) * (1 - b1);
    vi += (gi * gi - vi) * (1 - b2);
    m[i] = (OT)mi;
    v[i] = (OT)vi;
    double m_hat = mc * mi + gc * gi;
    p[i] = (OT)(pi - m_hat * lr / (sqrt(vi / vc) + eps));
  }
}

static void OS(ftrl)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict acc = c->slot[0], *restrict lin = c->slot[1];
  const dnn_optim_config *cfg = c->cfg;
  const double lr = c->lr, pw = -cfg->lr_power, l1 = cfg->l1, shrink2 = 2 * cfg->l2_shrinkage;
  const double l2x2 = 2 * (cfg->l2 + cfg->beta / (2.0 * lr));
  const bool root = pw == 0.5; /* the default learning_rate_power -0.5: sqrt is exact */
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double ai = (double)acc[i], na = ai + gi * gi;
    double pna = root ? sqrt(na) : pow(na, pw), pa = root ? sqrt(ai) : pow(ai, pw);
    double li = (double)lin[i] + (gi + shrink2 * pi) - (pna - pa) / lr * pi;
    double quad = pna / lr + l2x2;
    double lc = li < -l1 ? -l1 : li > l1 ? l1 : li;
    lin[i] = (OT)li;
    acc[i] = (OT)na;
    p[i] = (OT)((lc - li) / quad);
  }
}

static void OS(lion)(const upd_ctx *c, int64_t b, int64_t e) {
  OT *restrict p = c->p;
  const OT *restrict g = c->g;
  OT *restrict m = c->slot[0];
  const double lr = c->lr, b1 = c->cfg->beta_1, b2 = c->cfg->beta_2;
  for (int64_t i = b; i < e; i++) {
    double gi = OS(load_grad)(c, g, i), pi = OS(load_var)(c, p, i);
    double mi = (double)m[i];
    double d = mi * b1 + gi * (1 - b1);
    double sg = d > 0 ? 1 : d < 0 ? -1 : d; /* sign, NaN stays NaN */
    p[i] = (OT)(pi - lr * sg);
    m[i] = (OT)(mi * b2 + gi * (1 - b2));
  }
}

static void OS(update_range)(void *vctx, int64_t b, int64_t e) {
  const upd_ctx *c = vctx;
  switch (c->cfg->kind) {
  case DNN_OPTIM_SGD: OS(sgd)(c, b, e); break;
  case DNN_OPTIM_RMSPROP: OS(rmsprop)(c, b, e); break;
  case DNN_OPTIM_ADAM: OS(adam)(c, b, e); break;
  case DNN_OPTIM_ADADELTA: OS(adadelta)(c, b, e); break;
  case DNN_OPTIM_ADAGRAD: OS(adagrad)(c, b, e); break;
  case DNN_OPTIM_ADAMAX: OS(adamax)(c, b, e); break;
  case DNN_OPTIM_NADAM: OS(nadam)(c, b, e); break;
  case DNN_OPTIM_FTRL: OS(ftrl)(c, b, e); break;
  case DNN_OPTIM_LION: OS(lion)(c, b, e); break;
  default: break;
  }
}
