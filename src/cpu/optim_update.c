/* OPTIM_UPDATE on the CPU: one variable's fused optimizer step in place.
 * The step's scalars (bias corrections, Nadam's momentum schedule) are worked
 * out once here; the rules (optim_rules.h) then make one pass over the
 * variable, its gradient and its slots, split across threads when large. */
#include <math.h>
#include <string.h>

#include "backend_cpu.h"
#include "iter.h"
#include "kernels_optim.h"

typedef struct {
  const dnn_optim_config *cfg;
  void *p;                          /* the variable (contiguous) */
  const void *g;                    /* its gradient (contiguous, same dtype) */
  void *slot[DNN_OPTIM_MAX_SLOTS];  /* slot k, NULL past the config's count */
  double lr;
  double scale;      /* gradient scale from norm clipping */
  double clipvalue;  /* 0: off */
  bool decay;        /* weight decay for this variable */
  double wd_lr;      /* weight_decay * learning_rate */
  double alpha;      /* Adam: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) */
  double bias1;      /* 1 - beta_1^t */
  double bias2;      /* 1 - beta_2^t */
  double nadam_m;    /* Nadam: u_{t+1} / (1 - u_1...u_{t+1}) */
  double nadam_g;    /* Nadam: (1 - u_t) / (1 - u_1...u_t) */
} upd_ctx;

#define OT float
#define OS(x) x##_f32
#include "optim_rules.h"
#undef OT
#undef OS
#define OT double
#define OS(x) x##_f64
#include "optim_rules.h"
#undef OT
#undef OS

/* Scalars of this step that every element shares. */
static void step_scalars(upd_ctx *c, const dnn_optim_config *cfg) {
  double t = (double)cfg->step;
  c->bias1 = 1 - pow(cfg->beta_1, t);
  c->bias2 = 1 - pow(cfg->beta_2, t);
  c->alpha = c->lr * sqrt(c->bias2) / c->bias1;
  if (cfg->kind == DNN_OPTIM_NADAM) {
    /* Keras: u_t = beta_1 (1 - 0.5 * 0.96^t); the caller keeps the product of
     * u_1..u_t (u_product), which already includes this step's u_t */
    double u_t = cfg->beta_1 * (1 - 0.5 * pow(0.96, t));
    double u_next = cfg->beta_1 * (1 - 0.5 * pow(0.96, t + 1));
    double prod = cfg->u_product, prod_next = prod * u_next;
    c->nadam_m = u_next / (1 - prod_next);
    c->nadam_g = (1 - u_t) / (1 - prod);
  }
}

dnn_status cpu_optim_update(const dnn_op_args *a) {
  const dnn_tensor *blk = a->in[1];
  if (!blk || blk->dtype != DNN_UINT8 || dnn_numel(blk) != (int64_t)sizeof(dnn_optim_config))
    return dnn_error(DNN_ERR_INTERNAL, "optim_update: the configuration block is missing or malformed");
  const dnn_optim_config *cfg = dnn_data_ptr(blk);
  dnn_tensor *p = a->out;
  const dnn_tensor *g = a->in[0];
  int64_t n = dnn_numel(p);
  int nslots = dnn_optim_slot_count(cfg);
  if (g->dtype != p->dtype || !dnn_is_contiguous(p) || !dnn_is_contiguous(g) || dnn_numel(g) != n ||
      (nslots > 0 && (!a->out2 || dnn_numel(a->out2) != n * nslots || a->out2->dtype != p->dtype)))
    return dnn_error(DNN_ERR_INTERNAL, "optim_update: operands do not fit (the front end checks them)");
  upd_ctx c = {.cfg = cfg, .p = dnn_data_ptr(p), .g = dnn_data_ptr(g), .lr = cfg->learning_rate,
               .scale = a->s0, .clipvalue = cfg->clipvalue, .decay = a->flag,
               .wd_lr = cfg->weight_decay * cfg->learning_rate};
  size_t esize = dnn_dtype_size((dnn_dtype)p->dtype);
  for (int k = 0; k < nslots; k++) c.slot[k] = (char *)dnn_data_ptr(a->out2) + (size_t)(k * n) * esize;
  step_scalars(&c, cfg);
  /* a few flops and 2 + 2 * nslots memory streams per element */
  if (p->dtype == DNN_FLOAT32) cpu_parallel_for(n, 4, update_range_f32, &c);
  else if (p->dtype == DNN_FLOAT64) cpu_parallel_for(n, 4, update_range_f64, &c);
  else return dnn_error(DNN_ERR_DTYPE, "optim_update: %s variables are not supported",
                        dnn_dtype_name((dnn_dtype)p->dtype));
  return DNN_OK;
}
