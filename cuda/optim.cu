/* OPTIM_UPDATE and OPTIM_SQNORM on the GPU: one fused pass per variable
 * (variable, gradient and slots read once, written once), with the rules of
 * cpu/optim_rules.h: every rule computes in double and rounds once when it
 * stores, except the plain float32 Adam step, which the CPU also runs in
 * float lanes.  The step's scalars (bias corrections, Nadam's schedule) are
 * worked out on the host from the configuration block (a host tensor). */
#include <math.h>
#include <string.h>

#include "elementwise.cuh"

namespace {

struct upd {
  int kind;
  double lr, scale, clipvalue, wd_lr;
  bool decay;
  double momentum, rho, epsilon, beta_1, beta_2;
  bool nesterov, centered;
  double alpha, bias1, bias2, nadam_m, nadam_g;
  double lr_power, l1, l2, l2_shrinkage, beta;
  int nslots;
};

__device__ __forceinline__ double load_grad(const upd &c, double g) {
  double x = g * c.scale;
  if (c.clipvalue > 0) x = x < -c.clipvalue ? -c.clipvalue : x > c.clipvalue ? c.clipvalue : x;
  return x;
}
__device__ __forceinline__ double load_var(const upd &c, double v) { return c.decay ? v - v * c.wd_lr : v; }

template <typename T>
__global__ void update_kernel(upd c, int64_t n, T *p, const T *g, T *s0, T *s1, T *s2) {
  CU_GRID_STRIDE(i, n) {
    switch (c.kind) {
      case DNN_OPTIM_SGD: {
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        if (!s0) {
          p[i] = (T)(pi - c.lr * gi);
        } else {
          double mi = c.momentum * (double)s0[i] - c.lr * gi;
          s0[i] = (T)mi;
          p[i] = (T)(pi + (c.nesterov ? c.momentum * mi - c.lr * gi : mi));
        }
        break;
      }
      case DNN_OPTIM_RMSPROP: {
        bool has_mom = c.momentum > 0;
        T *v = s0, *mo = has_mom ? s1 : NULL, *ag = c.centered ? (has_mom ? s2 : s1) : NULL;
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double vi = c.rho * (double)v[i] + (1 - c.rho) * gi * gi;
        v[i] = (T)vi;
        double den = vi + c.epsilon;
        if (ag) {
          double ai = c.rho * (double)ag[i] + (1 - c.rho) * gi;
          ag[i] = (T)ai;
          den = vi - ai * ai + c.epsilon;
        }
        double inc = c.lr * gi / sqrt(den);
        if (mo) {
          inc = c.momentum * (double)mo[i] + inc;
          mo[i] = (T)inc;
        }
        p[i] = (T)(pi - inc);
        break;
      }
      case DNN_OPTIM_ADAM: {
        T *m = s0, *v = s1, *vh = s2;
        if (sizeof(T) == 4 && !vh && c.clipvalue <= 0 && c.scale == 1 && !c.decay) {
          /* the CPU's plain float32 step, in float */
          float fb1 = (float)(1 - c.beta_1), fb2 = (float)(1 - c.beta_2), feps = (float)c.epsilon;
          float falpha = (float)c.alpha;
          float gi = (float)g[i], mf = (float)m[i], vf = (float)v[i];
          float mi = mf + (gi - mf) * fb1;
          float vi = vf + (gi * gi - vf) * fb2;
          m[i] = (T)mi;
          v[i] = (T)vi;
          p[i] = (T)((float)p[i] - mi * falpha / (sqrtf(vi) + feps));
          break;
        }
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double mi = (double)m[i], vi = (double)v[i];
        mi += (gi - mi) * (1 - c.beta_1);
        vi += (gi * gi - vi) * (1 - c.beta_2);
        m[i] = (T)mi;
        v[i] = (T)vi;
        if (vh) {
          double h = (double)vh[i];
          vi = h > vi ? h : vi;
          vh[i] = (T)vi;
        }
        p[i] = (T)(pi - mi * c.alpha / (sqrt(vi) + c.epsilon));
        break;
      }
      case DNN_OPTIM_ADADELTA: {
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double agi = c.rho * (double)s0[i] + (1 - c.rho) * gi * gi;
        double adi = (double)s1[i];
        double delta = -sqrt(adi + c.epsilon) * gi / sqrt(agi + c.epsilon);
        s0[i] = (T)agi;
        s1[i] = (T)(c.rho * adi + (1 - c.rho) * delta * delta);
        p[i] = (T)(pi + c.lr * delta);
        break;
      }
      case DNN_OPTIM_ADAGRAD: {
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double a = (double)s0[i] + gi * gi;
        s0[i] = (T)a;
        p[i] = (T)(pi - c.lr * gi / sqrt(a + c.epsilon));
        break;
      }
      case DNN_OPTIM_ADAMAX: {
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double mi = (double)s0[i];
        mi += (gi - mi) * (1 - c.beta_1);
        double ui = c.beta_2 * (double)s1[i], ag = fabs(gi);
        ui = ui > ag ? ui : ag; /* a NaN gradient stays NaN */
        s0[i] = (T)mi;
        s1[i] = (T)ui;
        p[i] = (T)(pi - c.lr * mi / (c.bias1 * (ui + c.epsilon)));
        break;
      }
      case DNN_OPTIM_NADAM: {
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double mi = (double)s0[i], vi = (double)s1[i];
        mi += (gi - mi) * (1 - c.beta_1);
        vi += (gi * gi - vi) * (1 - c.beta_2);
        s0[i] = (T)mi;
        s1[i] = (T)vi;
        double m_hat = c.nadam_m * mi + c.nadam_g * gi;
        p[i] = (T)(pi - m_hat * c.lr / (sqrt(vi / c.bias2) + c.epsilon));
        break;
      }
      case DNN_OPTIM_FTRL: {
        double pw = -c.lr_power, shrink2 = 2 * c.l2_shrinkage, l2x2 = 2 * (c.l2 + c.beta / (2.0 * c.lr));
        bool root = pw == 0.5;
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double ai = (double)s0[i], na = ai + gi * gi;
        double pna = root ? sqrt(na) : pow(na, pw), pa = root ? sqrt(ai) : pow(ai, pw);
        double li = (double)s1[i] + (gi + shrink2 * pi) - (pna - pa) / c.lr * pi;
        double quad = pna / c.lr + l2x2;
        double lc = li < -c.l1 ? -c.l1 : li > c.l1 ? c.l1 : li;
        s1[i] = (T)li;
        s0[i] = (T)na;
        p[i] = (T)((lc - li) / quad);
        break;
      }
      case DNN_OPTIM_LION: {
        double gi = load_grad(c, (double)g[i]), pi = load_var(c, (double)p[i]);
        double mi = (double)s0[i];
        double d = mi * c.beta_1 + gi * (1 - c.beta_1);
        double sg = d > 0 ? 1 : d < 0 ? -1 : d;
        p[i] = (T)(pi - c.lr * sg);
        s0[i] = (T)(mi * c.beta_2 + gi * (1 - c.beta_2));
        break;
      }
      default: break;
    }
  }
}

/* Sum of squares in double: fixed chunks per block (by length only), then
 * one block adds the partials in order. */
#define SQ_THREADS 256
#define SQ_MAX_BLOCKS 1024
#define SQ_MIN_CHUNK 8192

template <typename T>
__global__ void sqnorm_partial(const T *x, int64_t n, int64_t chunk, double *part) {
  int64_t lo = blockIdx.x * chunk, hi = lo + chunk < n ? lo + chunk : n;
  double acc = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += SQ_THREADS) acc += (double)x[i] * (double)x[i];
  double s = cu_block_sum<SQ_THREADS>(acc);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}

__global__ void sqnorm_final(const double *part, int64_t nparts, double *out) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < nparts; i += SQ_THREADS) acc += part[i];
  double s = cu_block_sum<SQ_THREADS>(acc);
  if (threadIdx.x == 0) *out = s;
}

}  // namespace

/* out = the variable (in place), out2 = its slots (nslots, *shape); in[0] =
 * the gradient; in[1] = the dnn_optim_config as a borrowed uint8 host tensor;
 * s0 = the gradient scale; flag = apply weight decay (src/dnn/optim_ops.h). */
dnn_status cu_optim_update(const dnn_op_args *a) {
  const char *name = "optim_update";
  const dnn_tensor *blk = a->in[1];
  if (!blk || blk->dtype != DNN_UINT8 || dnn_numel(blk) != (int64_t)sizeof(dnn_optim_config) || !cu_on_cpu(blk))
    return dnn_error(DNN_ERR_INTERNAL, "optim_update: the configuration block is missing or malformed");
  const dnn_optim_config *cfg = (const dnn_optim_config *)dnn_data_ptr(blk);
  dnn_tensor *p = a->out;
  const dnn_tensor *g = a->in[0];
  cuda_ctx *c = cuda_ctx_of(name, p);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {p, g, a->out2};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t n = dnn_numel(p);
  int nslots = dnn_optim_slot_count(cfg);
  if (g->dtype != p->dtype || !dnn_is_contiguous(p) || !dnn_is_contiguous(g) || dnn_numel(g) != n ||
      (nslots > 0 && (!a->out2 || dnn_numel(a->out2) != n * nslots || a->out2->dtype != p->dtype)) || nslots > 3)
    return dnn_error(DNN_ERR_INTERNAL, "optim_update: operands do not fit (the front end checks them)");
  if (!dnn_dtype_is_float((dnn_dtype)p->dtype))
    return dnn_error(DNN_ERR_DTYPE, "optim_update: %s variables are not supported",
                     dnn_dtype_name((dnn_dtype)p->dtype));
  if (n == 0) return DNN_OK;
  upd u;
  memset(&u, 0, sizeof u);
  u.kind = cfg->kind;
  u.lr = cfg->learning_rate;
  u.scale = a->s0;
  u.clipvalue = cfg->clipvalue;
  u.decay = a->flag;
  u.wd_lr = cfg->weight_decay * cfg->learning_rate;
  u.momentum = cfg->momentum;
  u.rho = cfg->rho;
  u.epsilon = cfg->epsilon;
  u.beta_1 = cfg->beta_1;
  u.beta_2 = cfg->beta_2;
  u.nesterov = cfg->nesterov;
  u.centered = cfg->centered;
  u.lr_power = cfg->lr_power;
  u.l1 = cfg->l1;
  u.l2 = cfg->l2;
  u.l2_shrinkage = cfg->l2_shrinkage;
  u.beta = cfg->beta;
  u.nslots = nslots;
  /* the step's shared scalars, as cpu/optim_update.c's step_scalars */
  double t = (double)cfg->step;
  u.bias1 = 1 - pow(cfg->beta_1, t);
  u.bias2 = 1 - pow(cfg->beta_2, t);
  u.alpha = u.lr * sqrt(u.bias2) / u.bias1;
  if (cfg->kind == DNN_OPTIM_NADAM) {
    double u_t = cfg->beta_1 * (1 - 0.5 * pow(0.96, t));
    double u_next = cfg->beta_1 * (1 - 0.5 * pow(0.96, t + 1));
    double prod = cfg->u_product, prod_next = prod * u_next;
    u.nadam_m = u_next / (1 - prod_next);
    u.nadam_g = (1 - u_t) / (1 - prod);
  }
  unsigned grid = cuda_grid(n, CU_THREADS, c);
  size_t es = dnn_dtype_size((dnn_dtype)p->dtype);
  char *sb = nslots ? (char *)dnn_data_ptr(a->out2) : NULL;
  void *s[3] = {NULL, NULL, NULL};
  for (int k = 0; k < nslots; k++) s[k] = sb + (size_t)(k * n) * es;
  if (p->dtype == DNN_FLOAT32)
    update_kernel<float><<<grid, CU_THREADS, 0, c->stream>>>(u, n, (float *)dnn_data_ptr(p),
                                                             (const float *)dnn_data_ptr(g), (float *)s[0],
                                                             (float *)s[1], (float *)s[2]);
  else
    update_kernel<double><<<grid, CU_THREADS, 0, c->stream>>>(u, n, (double *)dnn_data_ptr(p),
                                                              (const double *)dnn_data_ptr(g), (double *)s[0],
                                                              (double *)s[1], (double *)s[2]);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* Sum of squares of the contiguous float in[0] into the 0-d float64 out
 * (a host tensor when the front end borrows caller memory, as it does). */
dnn_status cu_optim_sqnorm(const dnn_op_args *a) {
  const char *name = "optim_sqnorm";
  const dnn_tensor *x = a->in[0];
  cuda_ctx *c = cuda_ctx_of(name, x);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[1] = {x};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 1, ts));
  if (!dnn_is_contiguous(x) || !dnn_dtype_is_float((dnn_dtype)x->dtype) || a->out->dtype != DNN_FLOAT64)
    return dnn_error(DNN_ERR_INTERNAL, "optim_sqnorm: expects a contiguous float tensor and a float64 result");
  int64_t n = dnn_numel(x);
  int64_t chunk = (n + SQ_MAX_BLOCKS - 1) / SQ_MAX_BLOCKS;
  if (chunk < SQ_MIN_CHUNK) chunk = SQ_MIN_CHUNK;
  int64_t nparts = n ? (n + chunk - 1) / chunk : 0;
  dnn_device dev = dnn_tensor_device(x);
  double *buf = (double *)cuda_scratch_alloc(name, (size_t)(nparts + 1) * sizeof(double), dev);
  if (!buf) return dnn_error_code();
  double *result = buf + nparts;
  cudaError_t e = cudaSuccess;
  if (nparts > 0) {
    if (x->dtype == DNN_FLOAT32)
      sqnorm_partial<float><<<(unsigned)nparts, SQ_THREADS, 0, c->stream>>>((const float *)dnn_data_ptr(x), n, chunk,
                                                                             buf);
    else
      sqnorm_partial<double><<<(unsigned)nparts, SQ_THREADS, 0, c->stream>>>((const double *)dnn_data_ptr(x), n,
                                                                              chunk, buf);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) {
    sqnorm_final<<<1, SQ_THREADS, 0, c->stream>>>(buf, nparts, result);
    e = cudaGetLastError();
  }
  dnn_status st = e == cudaSuccess ? DNN_OK : cuda_fail(name, "sqnorm kernel launch", e);
  if (st == DNN_OK) {
    if (cu_on_cpu(a->out))
      st = dnn_cuda_memcpy_d2h(dnn_data_ptr(a->out), result, sizeof(double), dev);
    else if (dnn_device_eq(dnn_tensor_device(a->out), dev))
      st = dnn_cuda_memcpy_d2d(dnn_data_ptr(a->out), result, sizeof(double), dev);
    else
      st = dnn_error(DNN_ERR_DEVICE, "optim_sqnorm: the result is on another device");
  }
  cuda_scratch_free(buf, dev);
  return st;
}
