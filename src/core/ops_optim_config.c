/* Optimizer configurations: names, slot layouts and the hyperparameter checks
 * Keras's constructors make (plus the ones whose absence yields NaN). */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "internal.h"

static const char *const kind_names[DNN_OPTIM_KIND_COUNT] = {
    [DNN_OPTIM_SGD] = "SGD",         [DNN_OPTIM_RMSPROP] = "RMSprop", [DNN_OPTIM_ADAM] = "Adam",
    [DNN_OPTIM_ADADELTA] = "Adadelta", [DNN_OPTIM_ADAGRAD] = "Adagrad", [DNN_OPTIM_ADAMAX] = "Adamax",
    [DNN_OPTIM_NADAM] = "Nadam",     [DNN_OPTIM_FTRL] = "Ftrl",       [DNN_OPTIM_LION] = "Lion",
};

const char *dnn_optim_kind_name(dnn_optim_kind kind) {
  return (unsigned)kind < DNN_OPTIM_KIND_COUNT ? kind_names[kind] : "?";
}

int dnn_optim_kind_from_name(const char *name) {
  for (int k = 0; k < DNN_OPTIM_KIND_COUNT; k++) {
    const char *a = kind_names[k], *b = name;
    while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b)) a++, b++;
    if (!*a && !*b) return k;
  }
  return -1;
}

static const char *cfg_name(const dnn_optim_config *cfg) {
  return cfg->name ? cfg->name : dnn_optim_kind_name(cfg->kind);
}

/* Fills names[] with the slots of cfg in Keras's order; returns the count. */
static int slot_layout(const dnn_optim_config *cfg, const char **names) {
  int n = 0;
  switch (cfg->kind) {
  case DNN_OPTIM_SGD:
    if (cfg->momentum != 0) names[n++] = "momentum";
    break;
  case DNN_OPTIM_RMSPROP:
    names[n++] = "velocity";
    if (cfg->momentum > 0) names[n++] = "momentum";
    if (cfg->centered) names[n++] = "average_gradient";
    break;
  case DNN_OPTIM_ADAM:
    names[n++] = "momentum";
    names[n++] = "velocity";
    if (cfg->amsgrad) names[n++] = "velocity_hat";
    break;
  case DNN_OPTIM_ADADELTA:
    names[n++] = "accumulated_grad";
    names[n++] = "accumulated_delta_var";
    break;
  case DNN_OPTIM_ADAGRAD: names[n++] = "accumulator"; break;
  case DNN_OPTIM_ADAMAX:
    names[n++] = "momentum";
    names[n++] = "norm";
    break;
  case DNN_OPTIM_NADAM:
    names[n++] = "momentum";
    names[n++] = "velocity";
    break;
  case DNN_OPTIM_FTRL:
    names[n++] = "accumulator";
    names[n++] = "linear";
    break;
  case DNN_OPTIM_LION: names[n++] = "momentum"; break;
  default: break;
  }
  return n;
}

int dnn_optim_slot_count(const dnn_optim_config *cfg) {
  const char *names[DNN_OPTIM_MAX_SLOTS];
  return slot_layout(cfg, names);
}

const char *dnn_optim_slot_name(const dnn_optim_config *cfg, int k) {
  const char *names[DNN_OPTIM_MAX_SLOTS];
  int n = slot_layout(cfg, names);
  return k >= 0 && k < n ? names[k] : NULL;
}

/* Slots that start at initial_accumulator_value rather than zero. */
static bool starts_at_accumulator_value(const dnn_optim_config *cfg, int k) {
  return (cfg->kind == DNN_OPTIM_ADAGRAD || cfg->kind == DNN_OPTIM_FTRL) && k == 0;
}

#define CHECK(cond, ...)                                                         \
  do {                                                                           \
    if (!(cond)) return dnn_error(DNN_ERR_ARG, __VA_ARGS__);                     \
  } while (0)

static dnn_status check_fraction(const char *nm, const char *arg, double v, bool open_top) {
  if (v >= 0 && (open_top ? v < 1 : v <= 1)) return DNN_OK;
  return dnn_error(DNN_ERR_ARG, "%s: %s must be in [0, 1%s, got %g", nm, arg, open_top ? ")" : "]", v);
}

dnn_status dnn_optim_check_config(const dnn_optim_config *cfg) {
  if ((unsigned)cfg->kind >= DNN_OPTIM_KIND_COUNT)
    return dnn_error(DNN_ERR_ARG, "optimizer: unknown kind %d", (int)cfg->kind);
  const char *nm = cfg_name(cfg);
  CHECK(isfinite(cfg->learning_rate) && cfg->learning_rate >= 0,
        "%s: learning_rate must be a finite number >= 0, got %g", nm, cfg->learning_rate);
  CHECK(cfg->step >= 1, "%s: step must be >= 1 (the 1-based number of the update), got %lld", nm,
        (long long)cfg->step);
  CHECK(cfg->weight_decay >= 0, "%s: weight_decay must be >= 0, got %g", nm, cfg->weight_decay);
  CHECK(cfg->clipnorm >= 0, "%s: clipnorm must be > 0, got %g", nm, cfg->clipnorm);
  CHECK(cfg->clipvalue >= 0, "%s: clipvalue must be > 0, got %g", nm, cfg->clipvalue);
  CHECK(cfg->global_clipnorm >= 0, "%s: global_clipnorm must be > 0, got %g", nm, cfg->global_clipnorm);
  int clips = (cfg->clipnorm > 0) + (cfg->clipvalue > 0) + (cfg->global_clipnorm > 0);
  CHECK(clips <= 1,
        "%s: only one of clipnorm, clipvalue and global_clipnorm can be set, got clipnorm=%g, "
        "clipvalue=%g, global_clipnorm=%g",
        nm, cfg->clipnorm, cfg->clipvalue, cfg->global_clipnorm);
  CHECK(cfg->epsilon >= 0, "%s: epsilon must be >= 0, got %g", nm, cfg->epsilon);
  switch (cfg->kind) {
  case DNN_OPTIM_SGD:
    CHECK(cfg->momentum >= 0 && cfg->momentum <= 1, "%s: momentum must be a float between [0, 1], got %g",
          nm, cfg->momentum);
    break;
  case DNN_OPTIM_RMSPROP:
    DNN_RETURN_IF_ERR(check_fraction(nm, "rho", cfg->rho, false));
    CHECK(cfg->momentum >= 0 && cfg->momentum <= 1, "%s: momentum must be a float between [0, 1], got %g",
          nm, cfg->momentum);
    break;
  case DNN_OPTIM_ADADELTA: DNN_RETURN_IF_ERR(check_fraction(nm, "rho", cfg->rho, false)); break;
  case DNN_OPTIM_ADAM:
  case DNN_OPTIM_ADAMAX:
  case DNN_OPTIM_NADAM:
    DNN_RETURN_IF_ERR(check_fraction(nm, "beta_1", cfg->beta_1, true));
    DNN_RETURN_IF_ERR(check_fraction(nm, "beta_2", cfg->beta_2, true));
    break;
  case DNN_OPTIM_LION:
    CHECK(cfg->beta_1 > 0 && cfg->beta_1 <= 1,
          "%s: beta_1 must be in the (0, 1] range (otherwise the optimizer degenerates to SignSGD), got %g",
          nm, cfg->beta_1);
    DNN_RETURN_IF_ERR(check_fraction(nm, "beta_2", cfg->beta_2, false));
    break;
  case DNN_OPTIM_ADAGRAD:
    CHECK(cfg->initial_accumulator_value >= 0, "%s: initial_accumulator_value must be >= 0, got %g", nm,
          cfg->initial_accumulator_value);
    break;
  case DNN_OPTIM_FTRL:
    CHECK(cfg->initial_accumulator_value >= 0,
          "%s: initial_accumulator_value needs to be positive or zero, got %g", nm,
          cfg->initial_accumulator_value);
    CHECK(cfg->lr_power <= 0, "%s: learning_rate_power needs to be negative or zero, got %g", nm,
          cfg->lr_power);
    CHECK(cfg->l1 >= 0, "%s: l1_regularization_strength needs to be positive or zero, got %g", nm, cfg->l1);
    CHECK(cfg->l2 >= 0, "%s: l2_regularization_strength needs to be positive or zero, got %g", nm, cfg->l2);
    CHECK(cfg->l2_shrinkage >= 0,
          "%s: l2_shrinkage_regularization_strength needs to be positive or zero, got %g", nm,
          cfg->l2_shrinkage);
    CHECK(cfg->beta >= 0, "%s: beta must be >= 0, got %g", nm, cfg->beta);
    break;
  default: break;
  }
  return DNN_OK;
}

dnn_tensor *dnn_optim_new_slots(const dnn_optim_config *cfg, const dnn_tensor *param) {
  if (dnn_optim_check_config(cfg) != DNN_OK) return NULL;
  const char *nm = cfg_name(cfg);
  int nslots = dnn_optim_slot_count(cfg);
  if (nslots == 0) {
    dnn_error(DNN_ERR_ARG, "%s: this configuration keeps no slots", nm);
    return NULL;
  }
  if (!dnn_dtype_is_float((dnn_dtype)param->dtype)) {
    dnn_error(DNN_ERR_DTYPE, "%s: variable is %s; only float32 and float64 variables can be trained", nm,
              dnn_dtype_name((dnn_dtype)param->dtype));
    return NULL;
  }
  if (param->ndim >= DNN_MAX_DIMS) {
    dnn_error(DNN_ERR_SHAPE, "%s: variables of %d dims are not supported (slots add one dim, at most %d)",
              nm, param->ndim, DNN_MAX_DIMS);
    return NULL;
  }
  int64_t shape[DNN_MAX_DIMS];
  shape[0] = nslots;
  memcpy(shape + 1, param->shape, sizeof(int64_t) * (size_t)param->ndim);
  dnn_tensor *s = dnn_zeros(param->ndim + 1, shape, (dnn_dtype)param->dtype, dnn_tensor_device(param));
  if (!s) return NULL;
  for (int k = 0; k < nslots; k++) {
    if (!starts_at_accumulator_value(cfg, k) || cfg->initial_accumulator_value == 0) continue;
    dnn_tensor *v = dnn_select(s, 0, k);
    dnn_status st = v ? dnn_fill_(v, cfg->initial_accumulator_value) : dnn_error_code();
    dnn_tensor_release(v);
    if (st != DNN_OK) {
      dnn_tensor_release(s);
      return NULL;
    }
  }
  return s;
}
