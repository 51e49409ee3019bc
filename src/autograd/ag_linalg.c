/* Differentiable matrix products.  For out = a @ b (torch.matmul rules):
 * grad_a = g @ b^T and grad_b = a^T @ g, with 1-d operands treated as a row
 * or column and batch dims summed back to each input's shape. */
#include <string.h>

#include "arena.h"

/* t as a matrix: 1-d vectors become [1,n] (row) or [n,1] (column). */
static dnn_tensor *as_matrix(ag_arena *ar, const dnn_tensor *t, bool row) {
  if (!t) return NULL;
  if (t->ndim != 1) return ar_keep(ar, dnn_alias((dnn_tensor *)t));
  return ar_keep(ar, dnn_unsqueeze((dnn_tensor *)t, row ? 0 : 1));
}

static dnn_tensor *mT(ag_arena *ar, const dnn_tensor *t) {
  if (!t) return NULL;
  return ar_keep(ar, dnn_transpose((dnn_tensor *)t, -2, -1));
}

static dnn_status matmul_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *a = n->saved[0], *b = n->saved[1];
  bool a1 = a->ndim == 1, b1 = b->ndim == 1;
  /* g with the dropped dims restored: [..., M, N] */
  dnn_tensor *gm = ar_keep(ar, dnn_alias((dnn_tensor *)g));
  if (gm && a1) gm = ar_keep(ar, dnn_unsqueeze(gm, gm->ndim - (b1 ? 0 : 1)));
  if (gm && b1) gm = ar_keep(ar, dnn_unsqueeze(gm, gm->ndim));
  dnn_tensor *am = as_matrix(ar, a, true), *bm = as_matrix(ar, b, false);
  dnn_tensor *ga = NULL, *gb = NULL;
  if (n->edges[0].needs && gm && bm) ga = ar_keep(ar, dnn_matmul(gm, mT(ar, bm))); /* [..., M, K] */
  if (n->edges[1].needs && gm && am) gb = ar_keep(ar, dnn_matmul(mT(ar, am), gm)); /* [..., K, N] */
  /* drop the dims a 1-d operand gained; ar_grad_for sums the batch dims away */
  if (ga && a1) ga = ar_keep(ar, dnn_squeeze(ga, -2));
  if (gb && b1) gb = ar_keep(ar, dnn_squeeze(gb, -1));
  gin[0] = ar_grad_for(ar, n, 0, ga);
  gin[1] = ar_grad_for(ar, n, 1, gb);
  return ar_end(ar, 2, gin);
}

static dnn_status save_both(dnn_node *n, void *vctx) {
  const dnn_tensor **ab = vctx;
  if (dnn_ag_save(n, 0, ab[0])) return dnn_error_code();
  return dnn_ag_save(n, 1, ab[1]);
}

dnn_tensor *dnn_ag_matmul(const dnn_tensor *a, const dnn_tensor *b) {
  dnn_tensor *out = dnn_matmul(a, b);
  const dnn_tensor *ins[2] = {a, b};
  return dnn_ag_finish(out, "matmul", matmul_backward, 2, ins, save_both, ins);
}

/* out = beta c + alpha a @ b (a, b matrices) */
static dnn_status addmm_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *a = n->saved[0], *b = n->saved[1];
  const dnn_tensor *gc = n->edges[0].needs ? AR_MULS(g, n->s1) : NULL;
  const dnn_tensor *ga = NULL, *gb = NULL;
  if (n->edges[1].needs) ga = AR_MULS(ar_keep(ar, dnn_matmul(g, mT(ar, b))), n->s0);
  if (n->edges[2].needs) gb = AR_MULS(ar_keep(ar, dnn_matmul(mT(ar, a), g)), n->s0);
  gin[0] = ar_grad_for(ar, n, 0, gc);
  gin[1] = ar_grad_for(ar, n, 1, ga);
  gin[2] = ar_grad_for(ar, n, 2, gb);
  return ar_end(ar, 3, gin);
}

typedef struct {
  const dnn_tensor *a, *b;
  double alpha, beta;
} addmm_ctx;

static dnn_status addmm_setup(dnn_node *n, void *vctx) {
  addmm_ctx *c = vctx;
  n->s0 = c->alpha;
  n->s1 = c->beta;
  if (dnn_ag_save(n, 0, c->a)) return dnn_error_code();
  return dnn_ag_save(n, 1, c->b);
}

dnn_tensor *dnn_ag_addmm(const dnn_tensor *c, const dnn_tensor *a, const dnn_tensor *b, double beta, double alpha) {
  dnn_tensor *out = dnn_addmm(c, a, b, beta, alpha);
  const dnn_tensor *ins[3] = {c, a, b};
  addmm_ctx ctx = {a, b, alpha, beta};
  return dnn_ag_finish(out, "addmm", addmm_backward, 3, ins, addmm_setup, &ctx);
}
