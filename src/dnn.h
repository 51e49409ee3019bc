/* dnn.h -- the one public header of the dnnlua engine (libdnn).
 *
 * Conventions:
 *  - Functions that make a tensor return a new reference, or NULL with the
 *    error recorded (dnn_error_message()).  Functions that change something
 *    return a dnn_status (DNN_OK == 0).
 *  - Dims and indices here are 0-based; the Lua bindings translate from the
 *    1-based user contract.
 *  - Shapes and dtypes are checked before anything is allocated.
 *  - The engine never includes lua.h, never exits, never aborts.
 */
#ifndef DNN_H
#define DNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNN_VERSION "0.1.0"
#define DNN_MAX_DIMS 8

/* ---------- status and errors (core/status.c) ---------- */
typedef enum {
  DNN_OK = 0,
  DNN_ERR_ARG,        /* bad argument value */
  DNN_ERR_SHAPE,      /* shapes do not fit */
  DNN_ERR_DTYPE,      /* dtype not supported by the op */
  DNN_ERR_INDEX,      /* index out of range */
  DNN_ERR_DEVICE,     /* devices mixed or not available */
  DNN_ERR_MEMORY,     /* allocation failed */
  DNN_ERR_IO,         /* file missing, truncated, malformed */
  DNN_ERR_UNSUPPORTED,
  DNN_ERR_INTERNAL,
} dnn_status;

/* Records a message for the calling thread and returns `code`. */
dnn_status dnn_error(dnn_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *dnn_error_message(void);
dnn_status dnn_error_code(void);
void dnn_error_clear(void);
/* Prefix the current message with "<op>: " (used by front ends). */
void dnn_error_prefix(const char *prefix);

/* ---------- dtypes and devices (core/dtype.c) ---------- */
typedef enum {
  DNN_FLOAT32,
  DNN_FLOAT64,
  DNN_INT32,
  DNN_INT64,
  DNN_UINT8,
  DNN_BOOL,
  DNN_FLOAT16,  /* IEEE binary16 storage; kernels compute in float32 */
  DNN_BFLOAT16, /* bfloat16 storage (float32's top 16 bits); kernels compute in float32 */
  DNN_DTYPE_COUNT
} dnn_dtype;

size_t dnn_dtype_size(dnn_dtype dt);
const char *dnn_dtype_name(dnn_dtype dt);
/* Parses "float32", "float", "double", "long", "int", "byte", ... ; -1 if unknown. */
int dnn_dtype_from_name(const char *name);
bool dnn_dtype_is_float(dnn_dtype dt);
/* Type promotion as in PyTorch: bool < uint8 < int32 < int64 < float16|bfloat16 < float32 <
 * float64, and float16 with bfloat16 gives float32. */
dnn_dtype dnn_dtype_promote(dnn_dtype a, dnn_dtype b);
/* float16 or bfloat16: storage types that kernels widen to float32. */
static inline bool dnn_dtype_is_half(dnn_dtype dt) { return dt == DNN_FLOAT16 || dt == DNN_BFLOAT16; }
/* Bit patterns of the half types.  From float32: round to nearest even, NaN
 * stays NaN, overflow gives Inf (as numpy and PyTorch); to float32: exact. */
uint16_t dnn_f32_to_f16(float f);
float dnn_f16_to_f32(uint16_t h);
uint16_t dnn_f32_to_bf16(float f);
float dnn_bf16_to_f32(uint16_t h);

typedef enum { DNN_DEVICE_CPU = 0, DNN_DEVICE_CUDA = 1, DNN_DEVICE_TYPE_COUNT } dnn_device_type;
typedef struct {
  int8_t type;  /* dnn_device_type */
  int8_t index; /* ordinal for CUDA */
} dnn_device;

static inline bool dnn_device_eq(dnn_device a, dnn_device b) {
  return a.type == b.type && a.index == b.index;
}
/* "cpu", "cuda:0" into buf (>= 16 bytes); returns buf. */
const char *dnn_device_str(dnn_device d, char *buf);
extern const dnn_device DNN_CPU;

/* ---------- storage and tensors (core/storage.c, core/tensor.c) ---------- */
typedef struct dnn_storage {
  int refcount; /* atomic */
  dnn_device device;
  size_t nbytes;
  void *data;
  /* Owner-specific release; NULL means data lives inside this block. */
  void (*release)(struct dnn_storage *);
  void *ctx;
  uint64_t version; /* bumped by every in-place write; autograd checks saved tensors */
} dnn_storage;

struct dnn_node; /* autograd node (autograd/) */

typedef struct dnn_tensor {
  int refcount; /* atomic */
  int8_t dtype; /* dnn_dtype */
  int8_t ndim;
  bool requires_grad;
  int64_t shape[DNN_MAX_DIMS];
  int64_t strides[DNN_MAX_DIMS]; /* in elements */
  int64_t offset;                /* in elements */
  dnn_storage *storage;
  /* autograd */
  struct dnn_tensor *grad;
  struct dnn_node *grad_fn;
} dnn_tensor;

dnn_storage *dnn_storage_new(dnn_device dev, size_t nbytes);
void dnn_storage_retain(dnn_storage *s);
void dnn_storage_release(dnn_storage *s);

/* New contiguous tensor, uninitialised.  shape may be NULL when ndim == 0. */
dnn_tensor *dnn_empty(int ndim, const int64_t *shape, dnn_dtype dt, dnn_device dev);
dnn_tensor *dnn_zeros(int ndim, const int64_t *shape, dnn_dtype dt, dnn_device dev);
dnn_tensor *dnn_full(int ndim, const int64_t *shape, double value, dnn_dtype dt, dnn_device dev);
dnn_tensor *dnn_scalar(double value, dnn_dtype dt); /* 0-d, CPU */
dnn_tensor *dnn_arange(double start, double end, double step, dnn_dtype dt);
dnn_tensor *dnn_linspace(double start, double end, int64_t steps, dnn_dtype dt);
dnn_tensor *dnn_eye(int64_t n, int64_t m, dnn_dtype dt);

void dnn_tensor_retain(dnn_tensor *t);
void dnn_tensor_release(dnn_tensor *t);
/* Bytes of storage a tensor keeps alive (what the Lua GC is told). */
size_t dnn_tensor_nbytes(const dnn_tensor *t);

int64_t dnn_numel(const dnn_tensor *t);
bool dnn_is_contiguous(const dnn_tensor *t);
static inline dnn_device dnn_tensor_device(const dnn_tensor *t) { return t->storage->device; }
/* Address of the first element (host pointer for CPU tensors). */
static inline void *dnn_data_ptr(const dnn_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)dnn_dtype_size((dnn_dtype)t->dtype);
}
/* "[2,3]" into buf of >= 200 bytes; returns buf. */
const char *dnn_shape_str(int ndim, const int64_t *shape, char *buf);
#define DNN_SHAPE_STR(t, buf) dnn_shape_str((t)->ndim, (t)->shape, (buf))

/* Normalises a possibly negative 0-based dim against ndim; -1 after setting an error. */
int dnn_wrap_dim(const char *op, int64_t dim, int ndim);

/* ---------- views (core/view.c): share storage, no copy ---------- */
dnn_tensor *dnn_view(dnn_tensor *t, int ndim, const int64_t *shape); /* one -1 allowed */
dnn_tensor *dnn_reshape(dnn_tensor *t, int ndim, const int64_t *shape); /* copies if needed */
dnn_tensor *dnn_permute(dnn_tensor *t, const int *perm);
dnn_tensor *dnn_transpose(dnn_tensor *t, int d0, int d1);
dnn_tensor *dnn_narrow(dnn_tensor *t, int dim, int64_t start, int64_t length);
dnn_tensor *dnn_slice(dnn_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
dnn_tensor *dnn_select(dnn_tensor *t, int dim, int64_t index);
dnn_tensor *dnn_squeeze(dnn_tensor *t, int dim); /* dim < 0 (DNN_ALL_DIMS): all size-1 dims */
dnn_tensor *dnn_unsqueeze(dnn_tensor *t, int dim);
dnn_tensor *dnn_expand(dnn_tensor *t, int ndim, const int64_t *shape); /* -1 keeps a size */
dnn_tensor *dnn_as_strided(dnn_tensor *t, int ndim, const int64_t *shape,
                           const int64_t *strides, int64_t offset);
dnn_tensor *dnn_alias(dnn_tensor *t); /* same view, new header */
#define DNN_ALL_DIMS (-1000)

/* ---------- copies and conversion (cpu/copy.c via the backend) ---------- */
dnn_tensor *dnn_contiguous(dnn_tensor *t); /* returns t retained if already contiguous */
dnn_tensor *dnn_clone(const dnn_tensor *t);
dnn_tensor *dnn_to_dtype(dnn_tensor *t, dnn_dtype dt); /* retains t if same dtype */
dnn_tensor *dnn_flip(const dnn_tensor *t, int ndims, const int *dims);
/* dst[...] = src (broadcast, dtype converted), any strides. */
dnn_status dnn_copy_(dnn_tensor *dst, const dnn_tensor *src);
dnn_status dnn_fill_(dnn_tensor *t, double value);
dnn_status dnn_fill_int_(dnn_tensor *t, int64_t value); /* exact beyond 2^53 */

/* Element access (CPU), flat index into a possibly strided tensor. */
double dnn_get_flat(const dnn_tensor *t, int64_t i);
double dnn_get_at(const dnn_tensor *t, const int64_t *index);
void dnn_set_at(dnn_tensor *t, const int64_t *index, double v);
int64_t dnn_get_at_int(const dnn_tensor *t, const int64_t *index); /* exact for int64 */

/* ---------- the op enum and the backend table (core/backend.c) ---------- */
/* Areas add their ops through these lists (src/dnn/<area>_ops.h). */
#include "dnn/conv_ops.h"
#include "dnn/loss_ops.h"
#include "dnn/nn_ops.h"
#include "dnn/optim_ops.h"

#define DNN_OP_LIST(X)                                                           \
  DNN_OP_LIST_CORE(X) DNN_OP_LIST_CONV(X) DNN_OP_LIST_NN(X) DNN_OP_LIST_LOSS(X)    \
  DNN_OP_LIST_OPTIM(X)

#define DNN_OP_LIST_CORE(X)                                                      \
  /* binary elementwise */                                                      \
  X(ADD) X(SUB) X(MUL) X(DIV) X(POW) X(MAXIMUM) X(MINIMUM) X(FMOD) X(REMAINDER)  \
  X(ATAN2) X(EQ) X(NE) X(LT) X(LE) X(GT) X(GE) X(LOGICAL_AND) X(LOGICAL_OR)     \
  X(LOGICAL_XOR)                                                                 \
  /* unary elementwise */                                                       \
  X(NEG) X(ABS) X(EXP) X(LOG) X(LOG1P) X(EXPM1) X(SQRT) X(RSQRT) X(SIN) X(COS)   \
  X(TAN) X(TANH) X(SIGMOID) X(RELU) X(SIGN) X(FLOOR) X(CEIL) X(ROUND) X(TRUNC)   \
  X(RECIPROCAL) X(SQUARE) X(LOGICAL_NOT) X(ISNAN) X(ISINF) X(ERF) X(LOG2)        \
  X(LOG10) X(ASIN) X(ACOS) X(ATAN) X(SINH) X(COSH)                               \
  /* parameterised elementwise */                                               \
  X(CLAMP) X(WHERE) X(FILL) X(COPY)                                              \
  /* reductions */                                                              \
  X(SUM) X(MEAN) X(PROD) X(MAX) X(MIN) X(ARGMAX) X(ARGMIN) X(VAR) X(ALL) X(ANY)  \
  X(LOGSUMEXP) X(CUMSUM) X(CUMPROD)                                              \
  /* linear algebra */                                                          \
  X(MATMUL)                                                                      \
  /* indexing */                                                                \
  X(GATHER) X(SCATTER) X(SCATTER_ADD) X(INDEX_SELECT) X(INDEX_ADD)               \
  X(MASKED_FILL) X(MASKED_SELECT) X(MASKED_SCATTER) X(SORT) X(TOPK)       \
  X(BINCOUNT) X(UNIQUE) X(ONE_HOT)                                     \
  /* random */                                                                  \
  X(UNIFORM) X(NORMAL) X(BERNOULLI) X(RANDINT)

typedef enum {
#define DNN_X_ENUM(name) DNN_OP_##name,
  DNN_OP_LIST(DNN_X_ENUM)
#undef DNN_X_ENUM
  DNN_OP_COUNT
} dnn_op;

const char *dnn_op_name(dnn_op op); /* "add", "matmul", ... */

/* Every kernel takes the same argument block; each op reads what it needs.
 * Front ends have already checked shapes/dtypes and allocated outputs. */
typedef struct dnn_op_args {
  dnn_op op;
  dnn_tensor *out;
  dnn_tensor *out2; /* second output: indices of max/sort/topk, counts of unique */
  const dnn_tensor *in[4];
  int n_in;
  int dim;          /* reduction / indexing dim, or DNN_ALL_DIMS */
  int ndims;        /* for multi-dim reductions: dims[] */
  int dims[DNN_MAX_DIMS];
  bool keepdim;
  bool flag;        /* descending (sort), largest (topk), sorted (unique) ... */
  int64_t k;        /* topk k, correction of var, n of one_hot, minlength ... */
  double s0, s1;    /* scalars: clamp min/max, fill value, probabilities, ... */
  bool has_s0, has_s1;
  uint64_t seed, offset; /* RNG (Philox) key and counter */
  const void *params;    /* an op's own parameter block (its area header defines the type) */
} dnn_op_args;

typedef dnn_status (*dnn_kernel)(const dnn_op_args *a);

typedef struct dnn_backend {
  const char *name;
  void *(*alloc)(size_t nbytes, dnn_device dev);
  void (*free)(void *p, dnn_device dev);
  /* Copy bytes between this device and the host. */
  dnn_status (*memcpy_h2d)(void *dst, const void *src, size_t n, dnn_device dev);
  dnn_status (*memcpy_d2h)(void *dst, const void *src, size_t n, dnn_device dev);
  dnn_kernel kernels[DNN_OP_COUNT];
} dnn_backend;

/* Registers the backend of a device type (cpu/ does it for CPU; cuda/ for CUDA). */
void dnn_backend_register(dnn_device_type type, const dnn_backend *b);
const dnn_backend *dnn_backend_get(dnn_device dev); /* NULL if not compiled in */
/* Checks the table entry, runs the kernel. */
dnn_status dnn_dispatch(dnn_device dev, const dnn_op_args *a);

/* ---------- elementwise ops (core/ops_elementwise.c) ---------- */
dnn_tensor *dnn_binary(dnn_op op, const dnn_tensor *a, const dnn_tensor *b);
dnn_tensor *dnn_binary_scalar(dnn_op op, const dnn_tensor *a, double s, bool scalar_is_int,
                              bool scalar_first);
dnn_status dnn_binary_(dnn_op op, dnn_tensor *a, const dnn_tensor *b); /* in place into a */
dnn_status dnn_binary_scalar_(dnn_op op, dnn_tensor *a, double s, bool scalar_is_int);
dnn_tensor *dnn_unary(dnn_op op, const dnn_tensor *a);
dnn_status dnn_unary_(dnn_op op, dnn_tensor *a);
dnn_tensor *dnn_clamp(const dnn_tensor *a, bool has_min, double min, bool has_max, double max);
dnn_tensor *dnn_where(const dnn_tensor *cond, const dnn_tensor *a, const dnn_tensor *b);
/* Broadcast shape of a and b into out_shape; returns ndim or -1 with an error naming op. */
int dnn_broadcast_shape(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                        int64_t *out_shape);

/* ---------- reductions (core/ops_reduce.c) ---------- */
/* dims: ndims dims (0-based, may be negative); ndims == 0 reduces over all. */
dnn_tensor *dnn_reduce(dnn_op op, const dnn_tensor *t, int ndims, const int *dims, bool keepdim);
/* max/min along one dim with indices (0-based indices in out_idx). */
dnn_status dnn_reduce_with_indices(dnn_op op, const dnn_tensor *t, int dim, bool keepdim,
                                   dnn_tensor **values, dnn_tensor **indices);
dnn_tensor *dnn_var(const dnn_tensor *t, int ndims, const int *dims, int64_t correction,
                    bool keepdim);
dnn_tensor *dnn_cumulative(dnn_op op, const dnn_tensor *t, int dim);

/* ---------- linear algebra (core/ops_linalg.c) ---------- */
dnn_tensor *dnn_matmul(const dnn_tensor *a, const dnn_tensor *b);
dnn_tensor *dnn_mm(const dnn_tensor *a, const dnn_tensor *b);
dnn_tensor *dnn_bmm(const dnn_tensor *a, const dnn_tensor *b);
/* beta*c + alpha*(a@b), c broadcast to the result */
dnn_tensor *dnn_addmm(const dnn_tensor *c, const dnn_tensor *a, const dnn_tensor *b,
                      double beta, double alpha);

/* ---------- indexing ops (core/ops_index.c); indices are 0-based int64 ---------- */
dnn_tensor *dnn_gather(const dnn_tensor *t, int dim, const dnn_tensor *index);
dnn_tensor *dnn_scatter(const dnn_tensor *t, int dim, const dnn_tensor *index,
                        const dnn_tensor *src, bool add);
dnn_tensor *dnn_index_select(const dnn_tensor *t, int dim, const dnn_tensor *index);
dnn_tensor *dnn_masked_fill(const dnn_tensor *t, const dnn_tensor *mask, double value);
dnn_tensor *dnn_masked_select(const dnn_tensor *t, const dnn_tensor *mask);
dnn_tensor *dnn_one_hot(const dnn_tensor *labels, int64_t num_classes);
dnn_tensor *dnn_cat(int n, dnn_tensor *const *ts, int dim);
dnn_tensor *dnn_stack(int n, dnn_tensor *const *ts, int dim);
dnn_status dnn_sort(const dnn_tensor *t, int dim, bool descending, dnn_tensor **values,
                    dnn_tensor **indices);
dnn_status dnn_topk(const dnn_tensor *t, int64_t k, int dim, bool largest, dnn_tensor **values,
                    dnn_tensor **indices);
dnn_tensor *dnn_bincount(const dnn_tensor *t, const dnn_tensor *weights, int64_t minlength);
/* sorted unique values; counts (int64) and inverse (int64, 0-based) optional. */
dnn_status dnn_unique(const dnn_tensor *t, dnn_tensor **values, dnn_tensor **inverse,
                      dnn_tensor **counts);
/* t with src's slices added at index along dim (PyTorch index_add). */
dnn_tensor *dnn_index_add(const dnn_tensor *t, int dim, const dnn_tensor *index,
                          const dnn_tensor *src);
/* t with the masked positions (row-major order) taken from source in order. */
dnn_tensor *dnn_masked_scatter(const dnn_tensor *t, const dnn_tensor *mask,
                               const dnn_tensor *source);
/* In place: mask must broadcast to t's shape. */
dnn_status dnn_masked_fill_(dnn_tensor *t, const dnn_tensor *mask, double value);
/* int64 (n, ndim): 0-based coordinates of the non-zero elements, row-major. */
dnn_tensor *dnn_nonzero(const dnn_tensor *t);


/* ---------- random numbers (core/rng.c): Philox4x32-10, counter based ---------- */
typedef struct {
  uint64_t seed;
  uint64_t offset; /* counters consumed so far (in 128-bit blocks) */
} dnn_rng_state;

void dnn_manual_seed(uint64_t seed);
dnn_rng_state dnn_get_rng_state(void);
void dnn_set_rng_state(dnn_rng_state s);
/* Reserves n 128-bit blocks of the global stream; returns the first counter. */
uint64_t dnn_rng_reserve(uint64_t nblocks);
void dnn_philox(uint64_t seed, uint64_t counter, uint32_t out[4]);
dnn_status dnn_uniform_(dnn_tensor *t, double low, double high);
dnn_status dnn_normal_(dnn_tensor *t, double mean, double std);
dnn_status dnn_bernoulli_(dnn_tensor *t, double p);
dnn_status dnn_randint_(dnn_tensor *t, int64_t low, int64_t high);
dnn_tensor *dnn_randperm(int64_t n); /* int64, values 0..n-1 */

/* ---------- threads and memory (core/threads.c, core/memory.c) ---------- */
void dnn_set_num_threads(int n);
int dnn_get_num_threads(void);
/* Elements below which loops stay on one thread. */
#define DNN_PARALLEL_GRAIN 32768

typedef struct {
  int64_t live_tensors;
  int64_t live_storages;
  int64_t allocated_bytes; /* bytes of live storages, all devices */
  int64_t peak_bytes;
  int64_t total_allocations;
} dnn_memory_stats;
dnn_memory_stats dnn_get_memory_stats(void);
void dnn_memory_note_alloc(size_t nbytes);
void dnn_memory_note_free(size_t nbytes);

/* ---------- autograd (autograd/) ----------
 * Core ops (above) never record.  The dnn_ag_* front ends compute through the
 * core ops and, when grad mode is on and an input requires grad, record a node
 * whose backward uses core ops.  Only floating point tensors take gradients. */
bool dnn_grad_enabled(void);
bool dnn_set_grad_enabled(bool on); /* returns the previous mode */
dnn_status dnn_set_requires_grad(dnn_tensor *t, bool on); /* leaves only */
bool dnn_is_leaf(const dnn_tensor *t);
const char *dnn_grad_fn_name(const dnn_tensor *t); /* NULL for leaves */
/* A new header over t's storage outside the graph. */
dnn_tensor *dnn_detach(dnn_tensor *t);
/* Accumulates d(root)/d(leaf) into every leaf's .grad.  grad may be NULL for a
 * one-element root.  Without retain_graph the graph's saved tensors are freed. */
dnn_status dnn_backward(dnn_tensor *root, const dnn_tensor *grad, bool retain_graph);
/* Gradients of sum(outputs[i] * grad_outputs[i]) w.r.t. inputs, into results[]
 * (NULL for an input the outputs do not depend on, if allow_unused); .grad untouched. */
dnn_status dnn_grad(int n_out, dnn_tensor *const *outputs, dnn_tensor *const *grad_outputs, int n_in,
                    dnn_tensor *const *inputs, bool retain_graph, bool allow_unused,
                    dnn_tensor **results);
/* Marks an in-place write (bumps the storage version); errors when the write
 * would break autograd (a leaf that requires grad, while grad mode is on). */
dnn_status dnn_check_inplace(const char *op, dnn_tensor *t);

dnn_tensor *dnn_ag_binary(dnn_op op, const dnn_tensor *a, const dnn_tensor *b);
dnn_tensor *dnn_ag_binary_scalar(dnn_op op, const dnn_tensor *a, double s, bool scalar_is_int,
                                 bool scalar_first);
dnn_tensor *dnn_ag_unary(dnn_op op, const dnn_tensor *a);
dnn_tensor *dnn_ag_clamp(const dnn_tensor *a, bool has_min, double min, bool has_max, double max);
dnn_tensor *dnn_ag_where(const dnn_tensor *cond, const dnn_tensor *a, const dnn_tensor *b);
dnn_tensor *dnn_ag_reduce(dnn_op op, const dnn_tensor *t, int ndims, const int *dims, bool keepdim);
dnn_status dnn_ag_reduce_with_indices(dnn_op op, const dnn_tensor *t, int dim, bool keepdim,
                                      dnn_tensor **values, dnn_tensor **indices);
dnn_tensor *dnn_ag_var(const dnn_tensor *t, int ndims, const int *dims, int64_t correction, bool keepdim);
dnn_tensor *dnn_ag_cumulative(dnn_op op, const dnn_tensor *t, int dim);
dnn_tensor *dnn_ag_matmul(const dnn_tensor *a, const dnn_tensor *b);
dnn_tensor *dnn_ag_addmm(const dnn_tensor *c, const dnn_tensor *a, const dnn_tensor *b, double beta,
                         double alpha);
/* views and copies */
dnn_tensor *dnn_ag_view(dnn_tensor *t, int ndim, const int64_t *shape);
dnn_tensor *dnn_ag_reshape(dnn_tensor *t, int ndim, const int64_t *shape);
dnn_tensor *dnn_ag_permute(dnn_tensor *t, const int *perm);
dnn_tensor *dnn_ag_transpose(dnn_tensor *t, int d0, int d1);
dnn_tensor *dnn_ag_slice(dnn_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
dnn_tensor *dnn_ag_select(dnn_tensor *t, int dim, int64_t index);
dnn_tensor *dnn_ag_squeeze(dnn_tensor *t, int dim);
dnn_tensor *dnn_ag_unsqueeze(dnn_tensor *t, int dim);
dnn_tensor *dnn_ag_expand(dnn_tensor *t, int ndim, const int64_t *shape);
dnn_tensor *dnn_ag_flip(const dnn_tensor *t, int ndims, const int *dims);
dnn_tensor *dnn_ag_contiguous(dnn_tensor *t);
dnn_tensor *dnn_ag_clone(const dnn_tensor *t);
dnn_tensor *dnn_ag_to_dtype(dnn_tensor *t, dnn_dtype dt);
/* indexing */
dnn_tensor *dnn_ag_gather(const dnn_tensor *t, int dim, const dnn_tensor *index);
dnn_tensor *dnn_ag_index_select(const dnn_tensor *t, int dim, const dnn_tensor *index);
dnn_tensor *dnn_ag_masked_fill(const dnn_tensor *t, const dnn_tensor *mask, double value);
dnn_tensor *dnn_ag_masked_select(const dnn_tensor *t, const dnn_tensor *mask);
dnn_tensor *dnn_ag_scatter(const dnn_tensor *t, int dim, const dnn_tensor *index, const dnn_tensor *src,
                           bool add);
dnn_tensor *dnn_ag_cat(int n, dnn_tensor *const *ts, int dim);
dnn_tensor *dnn_ag_stack(int n, dnn_tensor *const *ts, int dim);

/* ---------- io (io/idx.c) ---------- */
/* Reads an IDX file (gzip or plain) into a tensor of its stored dtype. */
dnn_tensor *dnn_read_idx(const char *path);
/* Writes uint8/int32/float32/float64 as plain IDX, atomically (temp + rename). */
dnn_status dnn_write_idx(const char *path, dnn_tensor *t);

/* ---------- the areas' APIs (one header each, all reached through dnn.h) ---------- */
#include "dnn/conv.h"
#include "dnn/hdf5.h"
#include "dnn/loss.h"
#include "dnn/nn.h"
#include "dnn/optim.h"

#endif /* DNN_H */
