/* CPU kernels of the fused crossentropies (categorical, sparse, binary),
 * forward and backward, for float32 and float64.  The front ends
 * (core/ops_loss.c) pass contiguous operands:
 *   forward:  in[0] y_pred, in[1] y_true (y_pred's dtype) or labels;
 *             out loss (rows), out2 aux (rows) or NULL
 *   backward: in[0] grad (rows), in[1] y_pred, in[2] y_true or labels,
 *             in[3] aux or NULL; out d_pred or NULL, out2 d_true or NULL
 * dim = class axis (0-based), flag = from_logits, s0 = label_smoothing,
 * has_s1/k = ignore_class. */
#include <math.h>
#include <stdio.h>

#include "backend_cpu.h"
#include "iter.h"
#include "kernels_loss.h"
#include "loss_common.h"

#define T float
#define SFX f32
#define EXP loss_expf
#define LOG logf
#define LOG1P log1pf
#include "loss_xent_tmpl.h"
#undef T
#undef SFX
#undef EXP
#undef LOG
#undef LOG1P

#define T double
#define SFX f64
#define EXP exp
#define LOG log
#define LOG1P log1p
#include "loss_xent_tmpl.h"
#undef T
#undef SFX
#undef EXP
#undef LOG
#undef LOG1P

dnn_status cpu_loss_check_labels(const char *op, const dnn_tensor *labels, int64_t C, bool has_ignore,
                             int64_t ignore) {
  int64_t n = dnn_numel(labels);
  bool is_float = dnn_dtype_is_float((dnn_dtype)labels->dtype);
  for (int64_t i = 0; i < n; i++) {
    double v = loss_label_at(labels, i);
    if (has_ignore && v == (double)ignore) continue;
    if (v >= 0 && v < (double)C && v == floor(v)) continue;
    char ig[64] = "";
    if (has_ignore) snprintf(ig, sizeof ig, " or ignore_class=%lld", (long long)ignore);
    if (is_float && v == v && v == floor(v) && fabs(v) < 9.2e18) is_float = false; /* print as integer */
    if (is_float)
      return dnn_error(DNN_ERR_INDEX,
                       "%s: label %g (position %lld) is not a class id: labels must be integers in [0, %lld]%s",
                       op, v, (long long)i + 1, (long long)C - 1, ig);
    return dnn_error(DNN_ERR_INDEX,
                     "%s: label %lld (position %lld) is out of range for %lld classes "
                     "(labels are 0-based class ids in [0, %lld]%s)",
                     op, (long long)v, (long long)i + 1, (long long)C, (long long)C - 1, ig);
  }
  return DNN_OK;
}

static dnn_status xent(const dnn_op_args *a, bool backward) {
  const dnn_tensor *pred = backward ? a->in[1] : a->in[0];
  if (!backward && a->op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY) {
    dnn_status st = cpu_loss_check_labels(dnn_xent_name(a->op), a->in[1], pred->shape[a->dim], a->has_s1, a->k);
    if (st != DNN_OK) return st;
  }
  switch ((dnn_dtype)pred->dtype) {
    case DNN_FLOAT32: xent_run_f32(a, backward); return DNN_OK;
    case DNN_FLOAT64: xent_run_f64(a, backward); return DNN_OK;
    default:
      return dnn_error(DNN_ERR_DTYPE, "%s: y_pred must be float32 or float64, got %s", dnn_xent_name(a->op),
                       dnn_dtype_name((dnn_dtype)pred->dtype));
  }
}

dnn_status cpu_xent_forward(const dnn_op_args *a) { return xent(a, false); }
dnn_status cpu_xent_backward(const dnn_op_args *a) { return xent(a, true); }
