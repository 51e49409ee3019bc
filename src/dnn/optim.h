/* Engine API of the optim area (included at the end of dnn.h): Keras's
 * optimizer update rules as fused kernels over a list of variables.
 *
 * The optimizer objects (lua/dnn/optimizers/) keep the step count, evaluate
 * learning-rate schedules and own the slots; one dnn_optim_apply call then
 * clips, decays and updates every variable in place, without temporaries. */
#ifndef DNN_OPTIM_H
#define DNN_OPTIM_H

typedef enum {
  DNN_OPTIM_SGD,
  DNN_OPTIM_RMSPROP,
  DNN_OPTIM_ADAM,
  DNN_OPTIM_ADADELTA,
  DNN_OPTIM_ADAGRAD,
  DNN_OPTIM_ADAMAX,
  DNN_OPTIM_NADAM,
  DNN_OPTIM_FTRL,
  DNN_OPTIM_LION,
  DNN_OPTIM_KIND_COUNT
} dnn_optim_kind;

#define DNN_OPTIM_MAX_SLOTS 3

/* One step's hyperparameters; fields an optimizer does not use are ignored.
 * Zero turns weight_decay and the three clips off (as Keras's None). */
typedef struct dnn_optim_config {
  dnn_optim_kind kind;
  const char *name;      /* for messages ("AdamW"); NULL: the kind's name */
  int64_t step;          /* 1-based number of this update (Keras: iterations + 1) */
  double learning_rate;  /* this step's value: schedules are evaluated by the caller */
  double beta_1, beta_2; /* Adam, Adamax, Nadam, Lion */
  double epsilon;
  double rho;            /* RMSprop, Adadelta */
  double momentum;       /* SGD, RMSprop */
  bool nesterov;         /* SGD */
  bool amsgrad;          /* Adam */
  bool centered;         /* RMSprop */
  double initial_accumulator_value; /* Adagrad, Ftrl: where accumulators start */
  double weight_decay;   /* decoupled: v -= v * weight_decay * lr, before the update */
  double clipnorm;       /* each gradient to this L2 norm at most */
  double clipvalue;      /* each gradient element into [-clipvalue, clipvalue] */
  double global_clipnorm; /* all gradients together to this L2 norm at most */
  double u_product;      /* Nadam: prod of u_1..u_step, kept by the caller */
  double lr_power, l1, l2, l2_shrinkage, beta; /* Ftrl */
} dnn_optim_config;

/* "SGD", "RMSprop", ... ; "?" out of range. */
const char *dnn_optim_kind_name(dnn_optim_kind kind);
/* Kind from a name, any case ("adam", "Adam"); -1 if unknown. */
int dnn_optim_kind_from_name(const char *name);
/* Slots per variable for this configuration (SGD without momentum: 0). */
int dnn_optim_slot_count(const dnn_optim_config *cfg);
/* Keras's name of slot k ("momentum", "velocity", ...); NULL out of range. */
const char *dnn_optim_slot_name(const dnn_optim_config *cfg, int k);
/* Checks the hyperparameters as Keras's constructors do; the error names the
 * argument and the value. */
dnn_status dnn_optim_check_config(const dnn_optim_config *cfg);

/* The slots of `param`: one contiguous (nslots, *param.shape) tensor of its
 * dtype and device, initialised as Keras does (zeros, or the initial
 * accumulator value).  NULL with an error when the config has no slots. */
dnn_tensor *dnn_optim_new_slots(const dnn_optim_config *cfg, const dnn_tensor *param);

/* One update of n variables in place.  grads[i] == NULL skips variable i (its
 * slots stay as they are); slots[i] is what dnn_optim_new_slots made (NULL
 * when the config has no slots); decay == NULL decays every variable when
 * weight_decay is set, else only those with decay[i].  Everything is checked
 * before anything is written; an error names "apply_gradients" and the
 * 1-based position of the variable.  Variables that require grad need grad
 * mode off (as any in-place write). */
dnn_status dnn_optim_apply(const dnn_optim_config *cfg, int n, dnn_tensor *const *params,
                           const dnn_tensor *const *grads, dnn_tensor *const *slots,
                           const bool *decay);

/* sqrt of the sum of squares of the elements of all n tensors (NULL entries
 * skipped), accumulated in float64, independent of the thread count. */
dnn_status dnn_optim_global_norm(int n, const dnn_tensor *const *ts, double *norm);

#endif
