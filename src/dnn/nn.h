/* Engine API of the nn area (included at the end of dnn.h): activations,
 * softmax, the fused dense layer, batch and layer normalisation, dropout and
 * embeddings.  Keras semantics; dims here are 0-based (negative counts from
 * the end).  Every op takes float32 or float64 (ids: integer dtypes).
 *
 * Three levels, as elsewhere in the engine:
 *  - dnn_ag_*: differentiable forms (what the Lua bindings call); they record a
 *    node whose backward is one fused kernel per input group.
 *  - dnn_<op> / dnn_<op>_backward: core forms (check, allocate, dispatch; never
 *    record).
 *  - the kernels (src/cpu/nn_*.c), reached through dnn_dispatch.  Their
 *    argument blocks are described next to each op enum below; every tensor
 *    they get is contiguous (the front ends copy when needed).
 */
#ifndef DNN_NN_H
#define DNN_NN_H

/* ---------- activations (core/ops_nn_act.c, autograd/ag_nn_act.c) ----------
 * Kernel ACTIVATION: out = act(in[0]); k = activation, s0 = alpha.
 * Kernel ACTIVATION_BACKWARD: out = in[0] * act'(.), the derivative taken from
 * in[1] (the input x) when given, else from in[2] (the output y). */
typedef enum {
  DNN_ACT_LINEAR = 0,    /* identity */
  DNN_ACT_RELU,
  DNN_ACT_LEAKY_RELU,    /* x > 0 ? x : alpha x */
  DNN_ACT_ELU,           /* x > 0 ? x : alpha (e^x - 1) */
  DNN_ACT_SELU,          /* scale * elu(x, 1.67326...), scale = 1.05070... */
  DNN_ACT_GELU,          /* exact: x Phi(x) = x/2 (1 + erf(x / sqrt 2)) */
  DNN_ACT_GELU_TANH,     /* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
  DNN_ACT_SOFTPLUS,      /* log(1 + e^x) */
  DNN_ACT_SWISH,         /* x sigmoid(x) (= silu) */
  DNN_ACT_TANH,
  DNN_ACT_SIGMOID,
  DNN_ACT_HARD_SIGMOID,  /* Keras 2: clip(0.2 x + 0.5, 0, 1) */
  DNN_ACT_SOFTSIGN,      /* x / (1 + |x|) */
  DNN_ACT_EXPONENTIAL,   /* e^x */
  DNN_ACT_COUNT
} dnn_activation;

/* "relu", "gelu", ... (DNN_ACT_GELU_TANH is "gelu_tanh"). */
const char *dnn_activation_name(dnn_activation act);
/* Keras names ("silu" is swish, "gelu_tanh" the tanh form); -1 if unknown. */
int dnn_activation_from_name(const char *name);
/* True when act'(x) can be computed from y = act(x) alone (so a fused op need
 * not keep x): not for gelu, swish, softsign, nor alpha < 0 (leaky) / <= 0 (elu). */
bool dnn_activation_grad_from_output(dnn_activation act, double alpha);

dnn_tensor *dnn_activate(const dnn_tensor *x, dnn_activation act, double alpha);
/* g * act'(x), from x, or from y (x == NULL) where dnn_activation_grad_from_output. */
dnn_tensor *dnn_activate_backward(const dnn_tensor *g, const dnn_tensor *x, const dnn_tensor *y,
                                    dnn_activation act, double alpha);
dnn_tensor *dnn_ag_activate(const dnn_tensor *x, dnn_activation act, double alpha);

/* ---------- softmax (core/ops_nn_act.c, autograd/ag_nn_act.c) ----------
 * Kernel SOFTMAX: out = softmax(in[0]) along dim (flag: log_softmax); the max
 * is subtracted first.  Kernel SOFTMAX_BACKWARD: out = dx from in[0] = g and
 * in[1] = y: y (g - sum(g y)), or g - e^y sum(g) for log_softmax. */
dnn_tensor *dnn_softmax(const dnn_tensor *x, int dim, bool log);
dnn_tensor *dnn_softmax_backward(const dnn_tensor *g, const dnn_tensor *y, int dim, bool log);
dnn_tensor *dnn_ag_softmax(const dnn_tensor *x, int dim, bool log);

/* ---------- the dense layer (core/ops_nn_linear.c, autograd/ag_nn_linear.c) ----------
 * out = act(x @ kernel + bias): x (..., in), kernel (in, out) as Keras stores
 * Dense kernels, bias (out) or NULL; one GEMM, then one pass adding the bias
 * and applying act.
 * Kernel LINEAR: in[0] x (M, K), in[1] kernel (K, N) (either may be a
 * transposed view: any BLAS layout), in[2] bias (N) or NULL; out (M, N);
 * k = act, s0 = alpha (act must be dnn_activation_grad_from_output).
 * Kernel LINEAR_BACKWARD: in[0] g (M, N), in[1] y (M, N) or NULL (linear);
 * out = g * act'(y) (M, N) or NULL, out2 = its column sums (N) or NULL.
 * Kernel LINEAR_KERNEL_GRAD: in[0] x (M, K) (any BLAS layout), in[1] gz (M, N);
 * out (K, N) = x^T @ gz.
 * The CPU kernels use their own AVX-512 GEMMs for small batches (no packing
 * of the weight, bias and relu applied as tiles are stored), else OpenBLAS. */
dnn_tensor *dnn_linear(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias,
                       dnn_activation act, double alpha);
dnn_tensor *dnn_ag_linear(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias,
                          dnn_activation act, double alpha);

/* ---------- normalisation (core/ops_nn_norm.c, autograd/ag_nn_norm.c) ----------
 * Keras BatchNormalization.  x is normalised per index of `axis` (the feature
 * axis, -1 for channels-last, 1 for NCHW) over all other axes.
 * training: batch mean and biased variance, and moving_mean/moving_var are
 * updated in place: moving = moving * momentum + batch * (1 - momentum), with
 * the biased batch variance (as Keras 3 and tf.keras's non-fused path do).
 * Otherwise the moving statistics normalise.  gamma/beta (C) may be NULL.
 * Gradients flow to x, gamma and beta (the moving statistics are constants).
 * Kernel BATCH_NORM_STATS: in[0] x; out (2, C) = [mean; biased var]; dim = axis.
 * Kernel BATCH_NORM: in {x, stats (2, C), gamma|NULL, beta|NULL}; out y;
 * dim = axis, s0 = epsilon.
 * Kernel BATCH_NORM_BACKWARD: in {g, x, stats, gamma|NULL}; out = dx or NULL,
 * out2 = (2, C) [dgamma; dbeta] or NULL; dim, s0 = epsilon, flag = training
 * (the statistics came from the batch, so dx has the mean and variance terms). */
dnn_tensor *dnn_batch_norm_stats(const dnn_tensor *x, int axis);
dnn_tensor *dnn_batch_norm(const dnn_tensor *x, const dnn_tensor *stats, const dnn_tensor *gamma,
                           const dnn_tensor *beta, int axis, double epsilon);
dnn_status dnn_batch_norm_backward(const dnn_tensor *g, const dnn_tensor *x, const dnn_tensor *stats,
                                   const dnn_tensor *gamma, int axis, double epsilon, bool training,
                                   dnn_tensor **dx, dnn_tensor **dparams);
dnn_tensor *dnn_ag_batch_norm(const dnn_tensor *x, dnn_tensor *moving_mean, dnn_tensor *moving_var,
                              const dnn_tensor *gamma, const dnn_tensor *beta, int axis, bool training,
                              double momentum, double epsilon);

/* Keras LayerNormalization over `naxes` axes (gamma/beta have those axes'
 * sizes, in increasing axis order; either may be NULL); biased variance.
 * Kernel LAYER_NORM: in {x (rows, D), gamma (D)|NULL, beta (D)|NULL}; out y,
 * out2 (rows, 2) = [mean, 1/sqrt(var + eps)]; s0 = epsilon.
 * Kernel LAYER_NORM_BACKWARD: in {g, x, stats, gamma|NULL} (rows, D); out = dx
 * or NULL, out2 = (2, D) [dgamma; dbeta] or NULL. */
dnn_status dnn_layer_norm(const dnn_tensor *x, int64_t D, const dnn_tensor *gamma, const dnn_tensor *beta,
                          double epsilon, dnn_tensor **y, dnn_tensor **stats);
dnn_status dnn_layer_norm_backward(const dnn_tensor *g, const dnn_tensor *x, const dnn_tensor *stats,
                                   const dnn_tensor *gamma, int64_t D, dnn_tensor **dx, dnn_tensor **dparams);
dnn_tensor *dnn_ag_layer_norm(const dnn_tensor *x, const dnn_tensor *gamma, const dnn_tensor *beta, int naxes,
                              const int *axes, double epsilon);

/* ---------- dropout and embeddings (core/ops_nn_misc.c, autograd/ag_nn_misc.c) ----------
 * Inverted dropout: each element is kept with probability 1 - rate and scaled
 * by 1/(1 - rate).  Element i is kept when the i%4-th word of Philox block
 * (offset + i/4) under `seed`, as a 24-bit uniform, is >= rate, so the mask
 * does not depend on threads and backward regenerates it (no mask stored).
 * dnn_ag_dropout draws from the global generator (dnn_rng_reserve) unless
 * has_seed, when the mask comes from (seed, 0) and repeats on every call.
 * Kernel DROPOUT: in[0] x; out; s0 = rate, seed, offset. */
dnn_tensor *dnn_dropout(const dnn_tensor *x, double rate, uint64_t seed, uint64_t offset);
dnn_tensor *dnn_ag_dropout(const dnn_tensor *x, double rate, bool training, bool has_seed, uint64_t seed);

/* ids: integer tensor of 0-based ids (any shape); weight (vocab, dim); the
 * result has shape ids.shape .. (dim).  An id outside [0, vocab) is an error.
 * Kernel EMBEDDING: in[0] ids, in[1] weight; out (n, dim); k = vocab.
 * Kernel EMBEDDING_BACKWARD: in[0] ids, in[1] g (n, dim); out (vocab, dim) =
 * the rows of g added at their ids (the kernel zeroes out first). */
dnn_tensor *dnn_embedding(const dnn_tensor *ids, const dnn_tensor *weight);
dnn_tensor *dnn_embedding_backward(const dnn_tensor *ids, const dnn_tensor *g, int64_t vocab);
dnn_tensor *dnn_ag_embedding(const dnn_tensor *ids, const dnn_tensor *weight);

#endif
