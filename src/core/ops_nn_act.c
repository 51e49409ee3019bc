/* Front ends of the activations and softmax: check, allocate, dispatch. */
#include <string.h>

#include "ops_nn.h"

static const char *const act_names[DNN_ACT_COUNT] = {
    [DNN_ACT_LINEAR] = "linear",         [DNN_ACT_RELU] = "relu",
    [DNN_ACT_LEAKY_RELU] = "leaky_relu", [DNN_ACT_ELU] = "elu",
    [DNN_ACT_SELU] = "selu",             [DNN_ACT_GELU] = "gelu",
    [DNN_ACT_GELU_TANH] = "gelu_tanh",   [DNN_ACT_SOFTPLUS] = "softplus",
    [DNN_ACT_SWISH] = "swish",           [DNN_ACT_TANH] = "tanh",
    [DNN_ACT_SIGMOID] = "sigmoid",       [DNN_ACT_HARD_SIGMOID] = "hard_sigmoid",
    [DNN_ACT_SOFTSIGN] = "softsign",     [DNN_ACT_EXPONENTIAL] = "exponential",
};

const char *dnn_activation_name(dnn_activation act) {
  return (unsigned)act < DNN_ACT_COUNT ? act_names[act] : "activation";
}

int dnn_activation_from_name(const char *name) {
  if (!name) return -1;
  if (strcmp(name, "silu") == 0) return DNN_ACT_SWISH;
  for (int i = 0; i < DNN_ACT_COUNT; i++)
    if (strcmp(name, act_names[i]) == 0) return i;
  return -1;
}

bool dnn_activation_grad_from_output(dnn_activation act, double alpha) {
  switch (act) {
    case DNN_ACT_GELU:
    case DNN_ACT_GELU_TANH:
    case DNN_ACT_SWISH:
    case DNN_ACT_SOFTSIGN: return false;
    case DNN_ACT_LEAKY_RELU: return alpha >= 0;
    case DNN_ACT_ELU: return alpha > 0;
    default: return (unsigned)act < DNN_ACT_COUNT;
  }
}

static dnn_status check_act(dnn_activation act) {
  if ((unsigned)act >= DNN_ACT_COUNT) return dnn_error(DNN_ERR_ARG, "activation: unknown activation code %d", (int)act);
  return DNN_OK;
}

dnn_tensor *dnn_activate(const dnn_tensor *x, dnn_activation act, double alpha) {
  if (check_act(act) || nn_check_float(dnn_activation_name(act), "the input", x)) return NULL;
  dnn_tensor *xc = nn_contig(x);
  DNN_CHECK_NULL(xc);
  dnn_tensor *out = dnn_empty(x->ndim, x->shape, (dnn_dtype)x->dtype, dnn_tensor_device(x));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_ACTIVATION, .out = out, .in = {xc}, .n_in = 1, .k = act, .s0 = alpha};
    if (dnn_dispatch(dnn_tensor_device(x), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(xc);
  return out;
}

static dnn_status same_shape(const char *op, const char *wa, const dnn_tensor *a, const char *wb, const dnn_tensor *b) {
  char b0[200], b1[200];
  if (a->ndim == b->ndim && memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0) return DNN_OK;
  return dnn_error(DNN_ERR_SHAPE, "%s: %s %s and %s %s differ in shape", op, wa, DNN_SHAPE_STR(a, b0), wb,
                   DNN_SHAPE_STR(b, b1));
}

dnn_tensor *dnn_activate_backward(const dnn_tensor *g, const dnn_tensor *x, const dnn_tensor *y,
                                    dnn_activation act, double alpha) {
  if (check_act(act)) return NULL;
  const char *op = dnn_activation_name(act);
  const dnn_tensor *ref = x ? x : y;
  if (!ref) {
    dnn_error(DNN_ERR_ARG, "%s backward: needs the input or the output", op);
    return NULL;
  }
  if (!x && !dnn_activation_grad_from_output(act, alpha)) {
    dnn_error(DNN_ERR_ARG, "%s backward: the derivative needs the input, not the output", op);
    return NULL;
  }
  if (nn_check_float(op, "the gradient", g) || nn_check_like(op, "the gradient", g, ref) ||
      same_shape(op, "gradient", g, x ? "input" : "output", ref))
    return NULL;
  dnn_tensor *gc = nn_contig(g), *rc = nn_contig(ref), *out = NULL;
  if (gc && rc) out = dnn_empty(g->ndim, g->shape, (dnn_dtype)g->dtype, dnn_tensor_device(g));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_ACTIVATION_BACKWARD, .out = out, .in = {gc, x ? rc : NULL, x ? NULL : rc},
                     .n_in = 3, .k = act, .s0 = alpha};
    if (dnn_dispatch(dnn_tensor_device(g), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(gc);
  dnn_tensor_release(rc);
  return out;
}

/* ---- softmax ---- */

static const char *sm_name(bool log) { return log ? "log_softmax" : "softmax"; }

dnn_tensor *dnn_softmax(const dnn_tensor *x, int dim, bool log) {
  const char *op = sm_name(log);
  if (nn_check_float(op, "the input", x)) return NULL;
  if (x->ndim == 0) {
    dnn_error(DNN_ERR_SHAPE, "%s: needs at least 1 dim, got a 0-d tensor", op);
    return NULL;
  }
  int d = dnn_wrap_dim(op, dim, x->ndim);
  if (d < 0) return NULL;
  dnn_tensor *xc = nn_contig(x);
  DNN_CHECK_NULL(xc);
  dnn_tensor *out = dnn_empty(x->ndim, x->shape, (dnn_dtype)x->dtype, dnn_tensor_device(x));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_SOFTMAX, .out = out, .in = {xc}, .n_in = 1, .dim = d, .flag = log};
    if (dnn_dispatch(dnn_tensor_device(x), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(xc);
  return out;
}

dnn_tensor *dnn_softmax_backward(const dnn_tensor *g, const dnn_tensor *y, int dim, bool log) {
  const char *op = sm_name(log);
  if (nn_check_float(op, "the gradient", g) || nn_check_like(op, "the gradient", g, y) ||
      same_shape(op, "gradient", g, "output", y))
    return NULL;
  int d = dnn_wrap_dim(op, dim, y->ndim);
  if (d < 0) return NULL;
  dnn_tensor *gc = nn_contig(g), *yc = nn_contig(y), *out = NULL;
  if (gc && yc) out = dnn_empty(y->ndim, y->shape, (dnn_dtype)y->dtype, dnn_tensor_device(y));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_SOFTMAX_BACKWARD, .out = out, .in = {gc, yc}, .n_in = 2, .dim = d, .flag = log};
    if (dnn_dispatch(dnn_tensor_device(y), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(gc);
  dnn_tensor_release(yc);
  return out;
}
