/* Differentiable elementwise ops: forward through the core op, then record.
 * Backward formulas are written with core ops (grad mode is off there). */
#include <math.h>

#include "arena.h"

#define IN(n) ((const dnn_tensor *)(n)->saved[0])
#define IN2(n) ((const dnn_tensor *)(n)->saved[1])
#define OUT(n) ((const dnn_tensor *)(n)->saved[2])

/* ---- tensor (op) tensor ---- */

static dnn_status binary_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *a = IN(n), *b = IN2(n), *out = OUT(n);
  const dnn_tensor *ga = NULL, *gb = NULL;
  switch (n->op) {
    case DNN_OP_ADD: ga = g, gb = g; break;
    case DNN_OP_SUB: ga = g, gb = n->edges[1].needs ? AR_NEG(g) : NULL; break;
    case DNN_OP_MUL:
      if (n->edges[0].needs) ga = AR_MUL(g, b);
      if (n->edges[1].needs) gb = AR_MUL(g, a);
      break;
    case DNN_OP_DIV:
      if (n->edges[0].needs) ga = AR_DIV(g, b);
      if (n->edges[1].needs) gb = AR_NEG(AR_DIV(AR_MUL(g, out), b)); /* -g a / b^2 */
      break;
    case DNN_OP_POW:
      if (n->edges[0].needs) /* g b a^(b-1) */
        ga = AR_MUL(AR_MUL(g, b), ar_bin(ar, DNN_OP_POW, a, AR_ADDS(b, -1.0)));
      if (n->edges[1].needs) /* g out log(a), 0 where a == 0 */
        gb = AR_MUL(AR_MUL(g, out), ar_keep(ar, dnn_where(ar_sc(ar, DNN_OP_EQ, a, 0), ar_sc(ar, DNN_OP_MUL, a, 0),
                                                          ar_un(ar, DNN_OP_LOG, a))));
      break;
    case DNN_OP_MAXIMUM:
    case DNN_OP_MINIMUM: { /* the larger (smaller) input takes g; ties split it */
      dnn_op cmp = n->op == DNN_OP_MAXIMUM ? DNN_OP_GT : DNN_OP_LT;
      const dnn_tensor *win = ar_sc(ar, DNN_OP_ADD, ar_bin(ar, cmp, a, b), 0.0);
      const dnn_tensor *tie = AR_MULS(ar_bin(ar, DNN_OP_EQ, a, b), 0.5);
      const dnn_tensor *wa = AR_ADD(win, tie);
      if (n->edges[0].needs) ga = AR_MUL(g, wa);
      if (n->edges[1].needs) gb = AR_MUL(g, ar_rsc(ar, DNN_OP_SUB, 1.0, wa));
      break;
    }
    case DNN_OP_ATAN2: { /* d/da = b/(a^2+b^2), d/db = -a/(a^2+b^2) */
      const dnn_tensor *den = AR_ADD(AR_MUL(a, a), AR_MUL(b, b));
      if (n->edges[0].needs) ga = AR_DIV(AR_MUL(g, b), den);
      if (n->edges[1].needs) gb = AR_NEG(AR_DIV(AR_MUL(g, a), den));
      break;
    }
    case DNN_OP_FMOD:
    case DNN_OP_REMAINDER: {
      ga = g;
      if (n->edges[1].needs)
        gb = AR_NEG(AR_MUL(g, ar_un(ar, n->op == DNN_OP_FMOD ? DNN_OP_TRUNC : DNN_OP_FLOOR, AR_DIV(a, b))));
      break;
    }
    default:
      break;
  }
  gin[0] = ar_grad_for(ar, n, 0, ga);
  gin[1] = ar_grad_for(ar, n, 1, gb);
  return ar_end(ar, 2, gin);
}

typedef struct {
  const dnn_tensor *a, *b, *out;
  dnn_op op;
} bin_setup_ctx;

static dnn_status bin_setup(dnn_node *n, void *vctx) {
  bin_setup_ctx *c = vctx;
  n->op = c->op;
  /* every formula needs at most a, b and the output */
  if (dnn_ag_save(n, 0, c->a) || dnn_ag_save(n, 1, c->b)) return dnn_error_code();
  if (c->op == DNN_OP_DIV || c->op == DNN_OP_POW) return dnn_ag_save(n, 2, c->out);
  return DNN_OK;
}

dnn_tensor *dnn_ag_binary(dnn_op op, const dnn_tensor *a, const dnn_tensor *b) {
  dnn_tensor *out = dnn_binary(op, a, b);
  const dnn_tensor *ins[2] = {a, b};
  bin_setup_ctx c = {a, b, out, op};
  return dnn_ag_finish(out, dnn_op_name(op), binary_backward, 2, ins, bin_setup, &c);
}

/* ---- tensor (op) scalar ---- */

static dnn_status scalar_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *t = IN(n), *out = OUT(n), *gt = NULL;
  double s = n->s0;
  bool first = n->flag; /* s (op) t */
  switch (n->op) {
    case DNN_OP_ADD: gt = g; break;
    case DNN_OP_SUB: gt = first ? AR_NEG(g) : g; break;
    case DNN_OP_MUL: gt = AR_MULS(g, s); break;
    case DNN_OP_DIV: gt = first ? AR_NEG(AR_DIV(AR_MUL(g, out), t)) : AR_MULS(g, 1.0 / s); break;
    case DNN_OP_POW:
      if (first) gt = AR_MULS(AR_MUL(g, out), log(s));                       /* d s^t = s^t log s */
      else if (s == 0) gt = AR_MULS(g, 0.0);
      else gt = AR_MULS(AR_MUL(g, ar_sc(ar, DNN_OP_POW, t, s - 1)), s);        /* s t^(s-1) */
      break;
    case DNN_OP_MAXIMUM:
    case DNN_OP_MINIMUM: {
      dnn_op cmp = n->op == DNN_OP_MAXIMUM ? DNN_OP_GT : DNN_OP_LT;
      const dnn_tensor *w = AR_ADD(ar_sc(ar, DNN_OP_ADD, ar_sc(ar, cmp, t, s), 0.0),
                                   AR_MULS(ar_sc(ar, DNN_OP_EQ, t, s), 0.5));
      gt = AR_MUL(g, w);
      break;
    }
    case DNN_OP_FMOD:
    case DNN_OP_REMAINDER:
      gt = first ? AR_NEG(AR_MUL(g, ar_un(ar, n->op == DNN_OP_FMOD ? DNN_OP_TRUNC : DNN_OP_FLOOR,
                                          ar_rsc(ar, DNN_OP_DIV, s, t))))
                 : g;
      break;
    case DNN_OP_ATAN2: { /* atan2(t, s) or atan2(s, t) */
      const dnn_tensor *den = AR_ADDS(AR_MUL(t, t), s * s);
      gt = first ? AR_NEG(AR_DIV(AR_MULS(g, s), den)) : AR_DIV(AR_MULS(g, s), den);
      break;
    }
    default:
      break;
  }
  gin[0] = ar_grad_for(ar, n, 0, gt);
  return ar_end(ar, 1, gin);
}

typedef struct {
  const dnn_tensor *t, *out;
  dnn_op op;
  double s;
  bool first;
} sc_setup_ctx;

static dnn_status sc_setup(dnn_node *n, void *vctx) {
  sc_setup_ctx *c = vctx;
  n->op = c->op;
  n->s0 = c->s;
  n->flag = c->first;
  if (dnn_ag_save(n, 0, c->t)) return dnn_error_code();
  return dnn_ag_save(n, 2, c->out);
}

dnn_tensor *dnn_ag_binary_scalar(dnn_op op, const dnn_tensor *a, double s, bool scalar_is_int, bool scalar_first) {
  dnn_tensor *out = dnn_binary_scalar(op, a, s, scalar_is_int, scalar_first);
  sc_setup_ctx c = {a, out, op, s, scalar_first};
  return dnn_ag_finish(out, dnn_op_name(op), scalar_backward, 1, &a, sc_setup, &c);
}

/* ---- unary ---- */

static dnn_status unary_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *x = IN(n), *y = OUT(n), *gx = NULL;
  switch (n->op) {
    case DNN_OP_NEG: gx = AR_NEG(g); break;
    case DNN_OP_ABS: gx = AR_MUL(g, ar_un(ar, DNN_OP_SIGN, x)); break;
    case DNN_OP_EXP: gx = AR_MUL(g, y); break;
    case DNN_OP_LOG: gx = AR_DIV(g, x); break;
    case DNN_OP_LOG1P: gx = AR_DIV(g, AR_ADDS(x, 1.0)); break;
    case DNN_OP_EXPM1: gx = AR_MUL(g, AR_ADDS(y, 1.0)); break;
    case DNN_OP_SQRT: gx = AR_DIV(AR_MULS(g, 0.5), y); break;
    case DNN_OP_RSQRT: gx = AR_MULS(AR_MUL(g, AR_MUL(y, AR_MUL(y, y))), -0.5); break;
    case DNN_OP_SIN: gx = AR_MUL(g, ar_un(ar, DNN_OP_COS, x)); break;
    case DNN_OP_COS: gx = AR_NEG(AR_MUL(g, ar_un(ar, DNN_OP_SIN, x))); break;
    case DNN_OP_TAN: gx = AR_MUL(g, AR_ADDS(AR_MUL(y, y), 1.0)); break;
    case DNN_OP_TANH: gx = AR_MUL(g, ar_rsc(ar, DNN_OP_SUB, 1.0, AR_MUL(y, y))); break;
    case DNN_OP_SIGMOID: gx = AR_MUL(g, AR_MUL(y, ar_rsc(ar, DNN_OP_SUB, 1.0, y))); break;
    case DNN_OP_RELU: gx = AR_MUL(g, ar_sc(ar, DNN_OP_ADD, ar_sc(ar, DNN_OP_GT, y, 0.0), 0.0)); break;
    case DNN_OP_RECIPROCAL: gx = AR_NEG(AR_MUL(g, AR_MUL(y, y))); break;
    case DNN_OP_SQUARE: gx = AR_MULS(AR_MUL(g, x), 2.0); break;
    case DNN_OP_ERF: /* 2/sqrt(pi) exp(-x^2) */
      gx = AR_MULS(AR_MUL(g, ar_un(ar, DNN_OP_EXP, AR_NEG(AR_MUL(x, x)))), 1.1283791670955126);
      break;
    case DNN_OP_LOG2: gx = AR_DIV(g, AR_MULS(x, 0.6931471805599453)); break;
    case DNN_OP_LOG10: gx = AR_DIV(g, AR_MULS(x, 2.302585092994046)); break;
    case DNN_OP_ASIN: gx = AR_DIV(g, ar_un(ar, DNN_OP_SQRT, ar_rsc(ar, DNN_OP_SUB, 1.0, AR_MUL(x, x)))); break;
    case DNN_OP_ACOS: gx = AR_NEG(AR_DIV(g, ar_un(ar, DNN_OP_SQRT, ar_rsc(ar, DNN_OP_SUB, 1.0, AR_MUL(x, x))))); break;
    case DNN_OP_ATAN: gx = AR_DIV(g, AR_ADDS(AR_MUL(x, x), 1.0)); break;
    case DNN_OP_SINH: gx = AR_MUL(g, ar_un(ar, DNN_OP_COSH, x)); break;
    case DNN_OP_COSH: gx = AR_MUL(g, ar_un(ar, DNN_OP_SINH, x)); break;
    default: /* sign, floor, ceil, round, trunc: zero almost everywhere */
      gx = AR_MULS(g, 0.0);
      break;
  }
  gin[0] = ar_grad_for(ar, n, 0, gx);
  return ar_end(ar, 1, gin);
}

static dnn_status un_setup(dnn_node *n, void *vctx) {
  const dnn_tensor **io = vctx;
  n->op = (dnn_op)(intptr_t)io[2];
  if (dnn_ag_save(n, 0, io[0])) return dnn_error_code();
  return dnn_ag_save(n, 2, io[1]);
}

dnn_tensor *dnn_ag_unary(dnn_op op, const dnn_tensor *a) {
  dnn_tensor *out = dnn_unary(op, a);
  const dnn_tensor *io[3] = {a, out, (const dnn_tensor *)(intptr_t)op};
  return dnn_ag_finish(out, dnn_op_name(op), unary_backward, 1, &a, un_setup, io);
}

/* ---- clamp and where ---- */

static dnn_status clamp_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *x = IN(n);
  /* gradient passes where the input was inside [min, max] */
  const dnn_tensor *mask = ar_keep(ar, dnn_full(x->ndim, x->shape, 1.0, (dnn_dtype)x->dtype, dnn_tensor_device(x)));
  if (n->keepdim) mask = AR_MUL(mask, ar_sc(ar, DNN_OP_ADD, ar_sc(ar, DNN_OP_GE, x, n->s0), 0.0));
  if (n->flag) mask = AR_MUL(mask, ar_sc(ar, DNN_OP_ADD, ar_sc(ar, DNN_OP_LE, x, n->s1), 0.0));
  gin[0] = ar_grad_for(ar, n, 0, AR_MUL(g, mask));
  return ar_end(ar, 1, gin);
}

typedef struct {
  const dnn_tensor *x;
  bool hl, hh;
  double lo, hi;
} clamp_ctx;

static dnn_status clamp_setup(dnn_node *n, void *vctx) {
  clamp_ctx *c = vctx;
  n->keepdim = c->hl; /* has min */
  n->flag = c->hh;    /* has max */
  n->s0 = c->lo;
  n->s1 = c->hi;
  return dnn_ag_save(n, 0, c->x);
}

dnn_tensor *dnn_ag_clamp(const dnn_tensor *a, bool has_min, double min, bool has_max, double max) {
  dnn_tensor *out = dnn_clamp(a, has_min, min, has_max, max);
  clamp_ctx c = {a, has_min, has_max, min, max};
  return dnn_ag_finish(out, "clamp", clamp_backward, 1, &a, clamp_setup, &c);
}

static dnn_status where_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *cond = IN(n);
  const dnn_tensor *zero = AR_MULS(g, 0.0);
  gin[0] = NULL;
  if (n->edges[1].needs) gin[1] = ar_grad_for(ar, n, 1, ar_keep(ar, dnn_where(cond, g, zero)));
  if (n->edges[2].needs) gin[2] = ar_grad_for(ar, n, 2, ar_keep(ar, dnn_where(cond, zero, g)));
  return ar_end(ar, 3, gin);
}

static dnn_status where_setup(dnn_node *n, void *vctx) { return dnn_ag_save(n, 0, (const dnn_tensor *)vctx); }

dnn_tensor *dnn_ag_where(const dnn_tensor *cond, const dnn_tensor *a, const dnn_tensor *b) {
  dnn_tensor *out = dnn_where(cond, a, b);
  const dnn_tensor *ins[3] = {cond, a, b};
  return dnn_ag_finish(out, "where", where_backward, 3, ins, where_setup, (void *)cond);
}
