/* dnn_optim_apply: one optimizer step over a list of variables.  Everything is
 * checked first; then norms for clipping (one pass over the gradients, folded
 * into the update as a scale), then one fused kernel per variable. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A tensor header over caller memory (host), for small argument blocks and
 * scalar results that travel through the backend table.  Nothing is
 * allocated; the header and storage must not outlive the call. */
static void borrowed(dnn_tensor *t, dnn_storage *s, void *data, size_t nbytes, dnn_dtype dt, int ndim) {
  memset(s, 0, sizeof *s);
  s->refcount = 1;
  s->device = DNN_CPU;
  s->nbytes = nbytes;
  s->data = data;
  memset(t, 0, sizeof *t);
  t->refcount = 1;
  t->dtype = (int8_t)dt;
  t->ndim = (int8_t)ndim;
  if (ndim == 1) {
    t->shape[0] = (int64_t)(nbytes / dnn_dtype_size(dt));
    t->strides[0] = 1;
  }
  t->storage = s;
}

/* Sum of squares of t (float64); non-contiguous input is copied first. */
static dnn_status sqnorm(const dnn_tensor *t, double *out) {
  dnn_tensor *c = dnn_contiguous((dnn_tensor *)t);
  if (!c) return dnn_error_code();
  dnn_tensor res;
  dnn_storage rs;
  *out = 0;
  borrowed(&res, &rs, out, sizeof *out, DNN_FLOAT64, 0);
  dnn_op_args a = {.op = DNN_OP_OPTIM_SQNORM, .out = &res, .in = {c}, .n_in = 1};
  dnn_status st = dnn_dispatch(dnn_tensor_device(c), &a);
  dnn_tensor_release(c);
  return st;
}

dnn_status dnn_optim_global_norm(int n, const dnn_tensor *const *ts, double *norm) {
  double total = 0;
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    if (!dnn_dtype_is_float((dnn_dtype)ts[i]->dtype))
      return dnn_error(DNN_ERR_DTYPE, "global_norm: tensor %d is %s; norms need float32 or float64", i + 1,
                       dnn_dtype_name((dnn_dtype)ts[i]->dtype));
  }
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    double s;
    DNN_RETURN_IF_ERR(sqnorm(ts[i], &s));
    total += s;
  }
  *norm = sqrt(total);
  return DNN_OK;
}

static bool same_shape(const dnn_tensor *a, const dnn_tensor *b) {
  return a->ndim == b->ndim && memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0;
}

/* The checks of one variable, before anything is written. */
static dnn_status check_variable(const char *op, const dnn_optim_config *cfg, int i, const dnn_tensor *p,
                                 const dnn_tensor *g, const dnn_tensor *s, int nslots) {
  char b0[200], b1[200];
  if (!p) return dnn_error(DNN_ERR_ARG, "%s: variable %d is missing", op, i + 1);
  if (!dnn_dtype_is_float((dnn_dtype)p->dtype))
    return dnn_error(DNN_ERR_DTYPE, "%s: variable %d is %s; only float32 and float64 variables can be trained",
                     op, i + 1, dnn_dtype_name((dnn_dtype)p->dtype));
  if (!g) return DNN_OK;
  if (!dnn_dtype_is_float((dnn_dtype)g->dtype))
    return dnn_error(DNN_ERR_DTYPE, "%s: gradient %d is %s; gradients must be float32 or float64", op, i + 1,
                     dnn_dtype_name((dnn_dtype)g->dtype));
  if (!same_shape(p, g))
    return dnn_error(DNN_ERR_SHAPE, "%s: gradient %d has shape %s but variable %d has shape %s", op, i + 1,
                     DNN_SHAPE_STR(g, b0), i + 1, DNN_SHAPE_STR(p, b1));
  if (!dnn_device_eq(dnn_tensor_device(p), dnn_tensor_device(g)))
    return dnn_error(DNN_ERR_DEVICE, "%s: gradient %d is on %s but variable %d is on %s", op, i + 1,
                     dnn_device_str(dnn_tensor_device(g), b0), i + 1, dnn_device_str(dnn_tensor_device(p), b1));
  if (dnn_grad_enabled() && p->requires_grad)
    return dnn_error(DNN_ERR_ARG, "%s: variable %d requires grad and grad mode is on; update it under dnn.no_grad",
                     op, i + 1);
  if (nslots == 0) return DNN_OK;
  int64_t want[DNN_MAX_DIMS];
  want[0] = nslots;
  if (p->ndim < DNN_MAX_DIMS) memcpy(want + 1, p->shape, sizeof(int64_t) * (size_t)p->ndim);
  if (!s)
    return dnn_error(DNN_ERR_ARG, "%s: variable %d has no slots (%s keeps %d per variable)", op, i + 1,
                     dnn_optim_kind_name(cfg->kind), nslots);
  if (s->ndim != p->ndim + 1 || memcmp(s->shape, want, sizeof(int64_t) * (size_t)s->ndim) != 0 ||
      s->dtype != p->dtype || !dnn_is_contiguous(s) || !dnn_device_eq(dnn_tensor_device(s), dnn_tensor_device(p)))
    return dnn_error(DNN_ERR_SHAPE, "%s: slots of variable %d are %s %s; expected contiguous %s %s", op, i + 1,
                     dnn_dtype_name((dnn_dtype)s->dtype), DNN_SHAPE_STR(s, b0),
                     dnn_dtype_name((dnn_dtype)p->dtype), dnn_shape_str(p->ndim + 1, want, b1));
  if (s->storage == p->storage || s->storage == g->storage)
    return dnn_error(DNN_ERR_ARG, "%s: slots of variable %d share memory with the variable or its gradient", op,
                     i + 1);
  return DNN_OK;
}

/* The scale that clipnorm applies to one gradient (Keras's _clip_by_norm:
 * g * clip / max(norm, clip); an all-zero gradient is left alone, NaN stays). */
static dnn_status clipnorm_scale(const dnn_optim_config *cfg, const dnn_tensor *g, double *scale) {
  double sq;
  DNN_RETURN_IF_ERR(sqnorm(g, &sq));
  if (isnan(sq)) *scale = NAN;
  else if (sq > 0) *scale = cfg->clipnorm / fmax(sqrt(sq), cfg->clipnorm);
  else *scale = 1;
  return DNN_OK;
}

/* Updates one checked variable; strided variables and gradients of another
 * dtype go through contiguous copies (the kernels want flat memory). */
static dnn_status update_one(const char *op, const dnn_optim_config *cfg, dnn_tensor *cfg_block,
                             dnn_tensor *p, const dnn_tensor *g, dnn_tensor *s, double scale, bool decay) {
  dnn_tensor *gc = dnn_to_dtype((dnn_tensor *)g, (dnn_dtype)p->dtype);
  if (!gc) return dnn_error_code();
  dnn_tensor *gcc = dnn_contiguous(gc);
  dnn_tensor_release(gc);
  if (!gcc) return dnn_error_code();
  dnn_tensor *pc = dnn_is_contiguous(p) ? p : dnn_contiguous(p);
  dnn_status st = pc ? dnn_check_inplace(op, p) : dnn_error_code();
  if (st == DNN_OK) {
    dnn_op_args a = {.op = DNN_OP_OPTIM_UPDATE, .out = pc, .out2 = s, .in = {gcc, cfg_block}, .n_in = 2,
                     .s0 = scale, .flag = decay && cfg->weight_decay > 0};
    st = dnn_dispatch(dnn_tensor_device(p), &a);
  }
  if (st == DNN_OK && pc != p) st = dnn_copy_(p, pc);
  if (pc && pc != p) dnn_tensor_release(pc);
  dnn_tensor_release(gcc);
  return st;
}

dnn_status dnn_optim_apply(const dnn_optim_config *cfg, int n, dnn_tensor *const *params,
                           const dnn_tensor *const *grads, dnn_tensor *const *slots, const bool *decay) {
  DNN_RETURN_IF_ERR(dnn_optim_check_config(cfg));
  char op[96];
  snprintf(op, sizeof op, "%s.apply_gradients", cfg->name ? cfg->name : dnn_optim_kind_name(cfg->kind));
  if (n < 0) return dnn_error(DNN_ERR_ARG, "%s: negative variable count %d", op, n);
  int nslots = dnn_optim_slot_count(cfg), used = 0;
  for (int i = 0; i < n; i++) {
    const dnn_tensor *g = grads[i];
    DNN_RETURN_IF_ERR(check_variable(op, cfg, i, params[i], g, slots ? slots[i] : NULL, nslots));
    used += g != NULL;
  }
  if (used == 0) return dnn_error(DNN_ERR_ARG, "%s: no gradients provided for any variable", op);

  double gscale = 1;
  if (cfg->global_clipnorm > 0) {
    double norm;
    DNN_RETURN_IF_ERR(dnn_optim_global_norm(n, grads, &norm));
    /* Keras: clip * min(1/norm, 1/clip), NaN when the norm is not finite */
    gscale = !isfinite(norm) ? NAN : norm > cfg->global_clipnorm ? cfg->global_clipnorm / norm : 1;
  }

  dnn_optim_config copy = *cfg; /* the kernels read it through the backend table */
  dnn_tensor block;
  dnn_storage block_storage;
  borrowed(&block, &block_storage, &copy, sizeof copy, DNN_UINT8, 1);
  for (int i = 0; i < n; i++) {
    if (!grads[i]) continue;
    double scale = gscale;
    if (cfg->clipnorm > 0) DNN_RETURN_IF_ERR(clipnorm_scale(cfg, grads[i], &scale));
    DNN_RETURN_IF_ERR(update_one(op, cfg, &block, params[i], grads[i], nslots ? slots[i] : NULL, scale,
                                 decay ? decay[i] : true));
  }
  return DNN_OK;
}
