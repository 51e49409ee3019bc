/* dist.h -- data-parallel collectives across processes: Open MPI for
 * launching and CPU tensors, NCCL for tensors on GPUs (when built with the
 * CUDA toolkit).  Horovod's model: one process per replica, `mpirun -np N`.
 *
 * Without MPI (not compiled in, or not launched by mpirun) everything works
 * as one replica: rank 0 of 1, collectives return their input.
 *
 * Every collective starts with a small non-blocking exchange waited for
 * under a deadline (dnn_dist_set_timeout), in which the replicas arrive and
 * compare their arguments: a replica that hangs or never calls the matching
 * collective gives an error here instead of a hang.  After such a
 * failure the communicator is marked broken: later collectives fail at once
 * and the process aborts the whole job when it exits (MPI_Abort), so the
 * other replicas stop too.  A replica that dies is noticed by mpirun, which
 * kills the others.
 *
 * Ranks are 0-based ids, as in MPI.  The engine rules hold: no lua.h, no
 * exit/abort except dnn_dist_abort, errors through dnn_error. */
#ifndef DNN_DIST_H
#define DNN_DIST_H

#include "dnn.h"

typedef enum { DNN_DIST_SUM, DNN_DIST_AVG, DNN_DIST_MIN, DNN_DIST_MAX, DNN_DIST_PROD } dnn_dist_op;

/* "sum", "avg" ("average", "mean"), "min", "max", "prod"; -1 if unknown. */
int dnn_dist_op_from_name(const char *name);
const char *dnn_dist_op_name(dnn_dist_op op);

typedef struct {
  dnn_dist_op op;
  double prescale;     /* each replica's values are multiplied by this first (0 or 1: no) */
  double divide_by;    /* the reduced values are divided by this (0 or 1: no; AVG divides by size) */
  size_t bucket_bytes; /* fusion buffer: tensors are packed into buckets of about this size,
                          one collective per bucket (0: DNN_DIST_BUCKET_BYTES) */
  bool no_check;       /* skip the argument check: for callers whose layout is already agreed
                          (small payloads then still wait under the deadline) */
  uint64_t signature;  /* compared across replicas with the arguments (0: none), e.g. the
                          dnn_dist_layout_hash of tensors a later no_check call sends */
  bool reuse_inputs;   /* with out: contiguous inputs receive the result and are returned
                          (retained) instead of new tensors */
  size_t first_bucket_bytes; /* the first bucket's size (0: bucket_bytes), as DDP's 1 MB first
                                bucket: the overlapped reducer sends it early */
} dnn_dist_reduce_opts;

/* A hash of the dtypes and shapes of n tensors (for signature). */
uint64_t dnn_dist_layout_hash(int n, dnn_tensor *const *ts);

#define DNN_DIST_BUCKET_BYTES ((size_t)25 << 20) /* PyTorch DDP's bucket_cap_mb = 25 */

bool dnn_dist_mpi_compiled(void);
bool dnn_dist_nccl_compiled(void);
/* The environment says an MPI launcher started this process (mpirun/srun). */
bool dnn_dist_launched(void);

/* Initialises once: MPI when compiled in and launched, else one replica.
 * Checks with a collective (under the timeout) that every replica joined. */
dnn_status dnn_dist_init(void);
bool dnn_dist_initialized(void);
int dnn_dist_rank(void);       /* 0 when not initialised */
int dnn_dist_size(void);       /* 1 when not initialised */
int dnn_dist_local_rank(void); /* rank among the replicas on this host */
int dnn_dist_local_size(void);
const char *dnn_dist_backend(void); /* "mpi" or "none" */
const char *dnn_dist_processor_name(void);

/* Seconds a collective may wait for the others (<= 0: forever).  Default
 * 300, or $DNN_DIST_TIMEOUT. */
void dnn_dist_set_timeout(double seconds);
double dnn_dist_timeout(void);
bool dnn_dist_broken(void);

dnn_status dnn_dist_barrier(void);

/* Reduces n tensors across replicas, fused into few large collectives.
 * out == NULL: in place into ts.  Else out[i] receives a new contiguous
 * tensor shaped like ts[i] (ts untouched; see reuse_inputs).  Every
 * replica must pass the same dtypes and shapes in the same order: a
 * mismatch is an error on every replica that names each one's tensors. */
dnn_status dnn_dist_allreduce(int n, dnn_tensor *const *ts, dnn_tensor **out,
                              const dnn_dist_reduce_opts *o);

/* Overwrites ts on every replica with root's values (in place, fused). */
dnn_status dnn_dist_broadcast_(int n, dnn_tensor *const *ts, int root, size_t bucket_bytes);

/* The replicas' tensors concatenated along dim 0 in rank order (their first
 * dims may differ; dtypes and the other dims must agree). */
dnn_tensor *dnn_dist_allgather(const dnn_tensor *t);

/* Every replica's bytes: *out (malloc'd, free it) holds them back to back,
 * lens[r] (size() entries, caller's array) their lengths. */
dnn_status dnn_dist_allgather_bytes(const void *data, size_t len, char **out, size_t *lens);

/* Ends every replica at once (MPI_Abort); returns only without MPI. */
dnn_status dnn_dist_abort(int code);

typedef struct {
  uint64_t collectives;  /* MPI/NCCL collectives issued (buckets, checks, barriers) */
  uint64_t reduce_calls; /* dnn_dist_allreduce calls */
  uint64_t buckets;      /* fused buckets those calls sent */
  uint64_t bytes;        /* payload bytes reduced or broadcast */
  uint64_t early_buckets; /* overlapped reducer: buckets started before the backward pass ended */
  double reducer_wait_s;  /* overlapped reducer: seconds the main thread waited for buckets after it */
} dnn_dist_stats;
dnn_dist_stats dnn_dist_get_stats(void);

/* ---- overlapped gradient reduction (dist_overlap.c; PyTorch DDP's Reducer) ----
 * For one optimizer's variables: each step, start() with which variables have
 * a gradient on some replica (present) and here (local); ready() as the
 * backward pass finishes each gradient (autograd's grad hook): complete
 * buckets are reduced by a communication thread while the pass goes on;
 * finish() waits for them and writes the results.  Buckets, packing, MPI
 * calls and division are those of dnn_dist_allreduce over the present
 * variables, last first, with first_bucket_bytes, so both paths give the
 * same bits. */
typedef struct dnn_dist_reducer dnn_dist_reducer;
/* vars: CPU floating-point variables in parameter order (retained). */
dnn_dist_reducer *dnn_dist_reducer_new(int n, dnn_tensor *const *vars, size_t bucket_bytes,
                                       size_t first_bucket_bytes);
void dnn_dist_reducer_free(dnn_dist_reducer *r);
/* leaves are exactly r's variables, in order */
bool dnn_dist_reducer_matches(const dnn_dist_reducer *r, int n, dnn_tensor *const *leaves);
/* o: op (sum/avg), prescale, divide_by as dnn_dist_allreduce's. */
dnn_status dnn_dist_reducer_start(dnn_dist_reducer *r, const bool *present, const bool *local,
                                  const dnn_dist_reduce_opts *o);
/* Variable i's gradient is final (grad NULL: none, counts as zero). */
dnn_status dnn_dist_reducer_ready(dnn_dist_reducer *r, int i, dnn_tensor *grad);
/* Waits for the buckets (under the deadline) and writes each result into the
 * gradient tensor ready() got (a new tensor where that is not contiguous). */
dnn_status dnn_dist_reducer_finish(dnn_dist_reducer *r);
/* The reduced gradient of variable i after finish (borrowed), when `given`
 * is NULL or the tensor the pass produced; NULL otherwise or when the
 * variable had no gradient anywhere. */
dnn_tensor *dnn_dist_reducer_result(const dnn_dist_reducer *r, int i, const dnn_tensor *given);
int dnn_dist_reducer_size(const dnn_dist_reducer *r);
int dnn_dist_reducer_buckets(const dnn_dist_reducer *r);
/* MPI runs with a thread level that lets the reducer's thread communicate. */
bool dnn_dist_overlap_threaded(void);

/* NCCL (GPU tensors, one GPU per local rank).  Compiled when the CUDA
 * toolkit's nccl.h is found; libnccl and libcudart are loaded at first use. */
dnn_status dnn_dist_nccl_init(void);
/* In-place reduction of CUDA tensors (contiguous) with NCCL. */
dnn_status dnn_dist_nccl_allreduce_(int n, dnn_tensor *const *ts, const dnn_dist_reduce_opts *o);
dnn_status dnn_dist_nccl_broadcast_(int n, dnn_tensor *const *ts, int root);
/* Reduces (rank + 1) over all replicas in device memory: *got should equal
 * *want = size * (size + 1) / 2.  Exercises the path end to end on any GPU
 * machine, one rank included. */
dnn_status dnn_dist_nccl_selftest(int64_t count, double *got, double *want);

#endif
