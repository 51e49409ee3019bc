/* Differentiable conv2d.  The node saves x and the kernel (channels-last) and
 * the options; its backward runs the two gradient kernels: the input
 * gradient (a convolution of the output gradient with the kernel transposed)
 * and the kernel gradient (with the bias gradient, the column sums of the
 * output gradient, in the same call).  channels_first inputs go through
 * differentiable transposes around the channels-last op. */
#include "arena.h"

/* node->dims holds the options: strides, dilation, padding mode and pads, groups */
static void opts_to_node(dnn_node *n, const dnn_conv2d_opts *o) {
  n->dims[0] = (int)o->strides[0], n->dims[1] = (int)o->strides[1];
  n->dims[2] = (int)o->dilation[0], n->dims[3] = (int)o->dilation[1];
  n->dims[4] = (int)o->padding;
  n->dims[5] = (int)o->pad[0], n->dims[6] = (int)o->pad[1];
  n->dims[7] = (int)o->groups;
}

static dnn_conv2d_opts opts_from_node(const dnn_node *n) {
  dnn_conv2d_opts o = dnn_conv2d_default_opts();
  o.strides[0] = n->dims[0], o.strides[1] = n->dims[1];
  o.dilation[0] = n->dims[2], o.dilation[1] = n->dims[3];
  o.padding = (dnn_padding)n->dims[4];
  o.pad[0] = n->dims[5], o.pad[1] = n->dims[6];
  o.groups = n->dims[7];
  return o;
}

static dnn_status conv2d_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  const dnn_tensor *x = n->saved[0], *k = n->saved[1];
  dnn_conv2d_opts o = opts_from_node(n);
  if (n->edges[0].needs) {
    gin[0] = dnn_conv2d_input_grad(g, k, x->shape, &o);
    if (!gin[0]) return dnn_error_code();
  }
  bool need_k = n->edges[1].needs, need_b = n->n_in > 2 && n->edges[2].needs;
  if (need_k || need_b) {
    dnn_status st = dnn_conv2d_kernel_grad(x, g, k->shape, &o, need_k ? &gin[1] : NULL, need_b ? &gin[2] : NULL);
    if (st != DNN_OK) {
      dnn_tensor_release(gin[0]);
      gin[0] = NULL;
      return st;
    }
  }
  return DNN_OK;
}

typedef struct {
  const dnn_tensor *x, *k;
  const dnn_conv2d_opts *o;
} conv_setup_ctx;

static dnn_status conv2d_setup(dnn_node *n, void *vctx) {
  conv_setup_ctx *c = vctx;
  opts_to_node(n, c->o);
  if (dnn_ag_save(n, 0, c->x)) return dnn_error_code();
  return dnn_ag_save(n, 1, c->k);
}

dnn_tensor *dnn_ag_conv2d(const dnn_tensor *x, const dnn_tensor *k, const dnn_tensor *b, const dnn_conv2d_opts *o) {
  const dnn_tensor *ins[3] = {x, k, b};
  if (!dnn_ag_should_record(b ? 3 : 2, ins)) return dnn_conv2d(x, k, b, o);
  if (!o->channels_first) {
    dnn_tensor *y = dnn_conv2d(x, k, b, o);
    conv_setup_ctx c = {x, k, o};
    return dnn_ag_finish(y, "conv2d", conv2d_backward, b ? 3 : 2, ins, conv2d_setup, &c);
  }
  /* check against the shapes as given, then transpose through the graph */
  if (dnn_conv2d_check(x, k, b, o, NULL) != DNN_OK) return NULL;
  static const int to_last[4] = {0, 2, 3, 1}, to_first[4] = {0, 3, 1, 2};
  dnn_conv2d_opts ol = *o;
  ol.channels_first = false;
  dnn_tensor *xl = dnn_ag_permute((dnn_tensor *)x, to_last);
  dnn_tensor *yl = xl ? dnn_ag_conv2d(xl, k, b, &ol) : NULL;
  dnn_tensor_release(xl);
  dnn_tensor *yf = yl ? dnn_ag_permute(yl, to_first) : NULL;
  dnn_tensor_release(yl);
  dnn_tensor *y = yf ? dnn_ag_contiguous(yf) : NULL;
  dnn_tensor_release(yf);
  return y;
}
