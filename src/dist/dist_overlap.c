/* The overlapped gradient reduction (PyTorch DDP's Reducer): the backward
 * pass tells when each variable's gradient is final (the autograd engine's
 * grad hook); its values go into their fusion bucket at once, and a bucket
 * whose gradients are all in is reduced by a communication thread while the
 * main thread goes on computing the gradients of earlier layers.
 *
 * Same result as dnn_dist_allreduce: the buckets are planned by
 * dnn_dist_plan over the same list (the variables with a gradient on some
 * replica, last variable first, as the backward pass produces them), packed
 * with the same prescale, reduced by the same MPI call (the non-blocking one
 * for buckets up to DNN_DIST_SMALL_BYTES, the blocking one above, as the
 * unchecked path of dnn_dist_allreduce does) and divided the same way, so the
 * two paths agree bit for bit.  Buckets start strictly in order (collectives
 * must be issued in the same order on every replica).
 *
 * Threads: MPI runs at MPI_THREAD_SERIALIZED.  The thread runs collectives
 * only between a bucket's start and dnn_dist_reducer_finish; every other
 * collective of this process first waits for it (dnn_dist_quiesce, from
 * dnn_dist_check_usable), so two threads never call MPI at once.  Before a
 * large bucket's blocking allreduce the thread waits for the others in a
 * non-blocking barrier polled with short sleeps, so it does not spin on a
 * core while a slower replica still computes.  The main thread waits for the
 * buckets under the deadline (dnn.distributed's timeout). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "dist_internal.h"

#define g dnn_dist_g
#define CHUNK_ELEMS ((int64_t)1 << 30)

/* ---- the communication thread ---- */

typedef struct job {
  char *buf;
  int64_t elems;
  dnn_dtype dt;
  dnn_dist_op op;
  bool small;
  int state; /* 0 idle, 1 queued, 2 running, 3 done */
  dnn_status st;
  char err[700];
  struct job *next;
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_work = PTHREAD_COND_INITIALIZER, cv_done = PTHREAD_COND_INITIALIZER;
static job *q_head, *q_tail;
static int in_flight; /* queued or running */
static int thread_state; /* 0 not started, 1 running, -1 could not start */


/* The collective of one bucket (on whichever thread runs it). */
static void run_job(job *j) {
  dnn_status st = DNN_OK;
#ifdef DNN_HAVE_MPI
  const char *op = "allreduce";
  size_t esz = dnn_dtype_size(j->dt);
  MPI_Datatype type = dnn_dist_mpi_type(j->dt);
  MPI_Request req;
  if (j->small) {
    int rc = MPI_Iallreduce(MPI_IN_PLACE, j->buf, (int)j->elems, type, dnn_dist_mpi_op(j->op), g.comm, &req);
    st = rc == MPI_SUCCESS ? dnn_dist_wait(1, &req, op) : dnn_dist_mpi_error(op, rc);
  } else {
    int rc = MPI_Ibarrier(g.comm, &req); /* everyone here: then the fast blocking form */
    st = rc == MPI_SUCCESS ? dnn_dist_wait(1, &req, op) : dnn_dist_mpi_error(op, rc);
    for (int64_t c = 0; c < j->elems && st == DNN_OK; c += CHUNK_ELEMS) {
      int64_t m = j->elems - c < CHUNK_ELEMS ? j->elems - c : CHUNK_ELEMS;
      rc = MPI_Allreduce(MPI_IN_PLACE, j->buf + c * (int64_t)esz, (int)m, type, dnn_dist_mpi_op(j->op), g.comm);
      if (rc != MPI_SUCCESS) st = dnn_dist_mpi_error(op, rc);
    }
  }
#endif
  j->st = st;
  if (st != DNN_OK) snprintf(j->err, sizeof j->err, "%s", dnn_error_message());
}

static void *comm_main(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (!q_head) pthread_cond_wait(&cv_work, &mu);
    job *j = q_head;
    q_head = j->next;
    if (!q_head) q_tail = NULL;
    j->state = 2;
    pthread_mutex_unlock(&mu);
    run_job(j);
    pthread_mutex_lock(&mu);
    j->state = 3;
    in_flight--;
    pthread_cond_broadcast(&cv_done);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

static bool use_thread(void) {
#ifdef DNN_HAVE_MPI
  if (!g.mpi || g.size < 2 || g.thread_level < MPI_THREAD_SERIALIZED) return false;
#else
  return false;
#endif
  if (thread_state == 0) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    thread_state = pthread_create(&t, &attr, comm_main, NULL) == 0 ? 1 : -1;
    pthread_attr_destroy(&attr);
  }
  return thread_state == 1;
}

/* Hands j to the thread (or runs it here when there is no thread). */
static void submit(job *j) {
  j->next = NULL;
  j->st = DNN_OK;
  j->err[0] = 0;
#ifdef DNN_HAVE_MPI
  bool mpi = g.mpi && g.size > 1;
#else
  bool mpi = false;
#endif
  if (!mpi) { /* one replica: the sum is the values themselves */
    j->state = 3;
    return;
  }
  if (!use_thread()) {
    j->state = 2;
    run_job(j);
    j->state = 3;
    return;
  }
  pthread_mutex_lock(&mu);
  j->state = 1;
  if (q_tail) q_tail->next = j;
  else q_head = j;
  q_tail = j;
  in_flight++;
  pthread_cond_signal(&cv_work);
  pthread_mutex_unlock(&mu);
}

/* Waits on cv_done in slices until done() or the deadline. */
static dnn_status wait_until(bool (*done)(const void *), const void *arg, const char *op) {
  double start = dnn_dist_now();
  pthread_mutex_lock(&mu);
  while (!done(arg)) {
    double waited = dnn_dist_now() - start;
    if (g.timeout > 0 && waited > g.timeout) {
      pthread_mutex_unlock(&mu);
      return dnn_dist_fail(DNN_ERR_INTERNAL,
                           "%s: no answer from the other replicas after %.3g s (this is rank %d of %d): a "
                           "gradient bucket is still being reduced; one replica stopped, hangs, or its backward "
                           "pass differs; the job is stopped when this process exits",
                           op, waited, g.rank, g.size);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&cv_done, &mu, &ts);
  }
  pthread_mutex_unlock(&mu);
  return DNN_OK;
}

static bool idle(const void *arg) {
  (void)arg;
  return in_flight == 0;
}

static bool job_done(const void *arg) { return ((const job *)arg)->state == 3 || ((const job *)arg)->state == 0; }

dnn_status dnn_dist_quiesce(const char *op) {
  if (thread_state != 1) return DNN_OK;
  pthread_mutex_lock(&mu);
  bool busy = in_flight > 0;
  pthread_mutex_unlock(&mu);
  return busy ? wait_until(idle, NULL, op) : DNN_OK;
}

bool dnn_dist_overlap_busy(void) {
  if (thread_state != 1) return false;
  pthread_mutex_lock(&mu);
  bool busy = in_flight > 0;
  pthread_mutex_unlock(&mu);
  return busy;
}

bool dnn_dist_overlap_threaded(void) {
#ifdef DNN_HAVE_MPI
  return g.mpi && g.thread_level >= MPI_THREAD_SERIALIZED;
#else
  return false;
#endif
}

/* ---- the reducer ---- */

struct dnn_dist_reducer {
  int n;             /* variables, in parameter order */
  dnn_tensor **vars; /* retained */
  size_t cap, first_cap;
  /* the plan, for the variables in `planned_for` */
  bool planned;
  bool *planned_for;
  int nb;
  dnn_dist_bucket *bk;
  int *var_bucket;  /* -1: not in this step */
  int64_t *var_off; /* element offset in its bucket */
  int *pending;     /* per bucket: gradients still to come */
  dnn_storage **buf;
  job *jobs;
  /* the step */
  bool active;
  int next_launch;
  double pre, div;
  dnn_dist_op op;
  bool *got;
  dnn_tensor **grads; /* what ready() was given (retained) */
  dnn_tensor **out;   /* finish's results (retained) */
};

static void release_step(dnn_dist_reducer *r) {
  for (int i = 0; i < r->n; i++) {
    if (r->grads[i]) dnn_tensor_release(r->grads[i]);
    if (r->out[i]) dnn_tensor_release(r->out[i]);
    r->grads[i] = r->out[i] = NULL;
  }
}

dnn_dist_reducer *dnn_dist_reducer_new(int n, dnn_tensor *const *vars, size_t bucket_bytes, size_t first_bucket_bytes) {
  const char *op = "DistributedOptimizer";
  if (n < 1) {
    dnn_error(DNN_ERR_ARG, "%s: no variables to reduce", op);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    if (!vars[i]) {
      dnn_error(DNN_ERR_ARG, "%s: variable %d is missing", op, i + 1);
      return NULL;
    }
    if (dnn_tensor_device(vars[i]).type != DNN_DEVICE_CPU) {
      dnn_error(DNN_ERR_UNSUPPORTED, "%s: variable %d is not on the cpu (overlapped reduction is CPU/MPI only)", op,
                i + 1);
      return NULL;
    }
    if (!dnn_dtype_is_float((dnn_dtype)vars[i]->dtype) || dnn_dtype_is_half((dnn_dtype)vars[i]->dtype)) {
      dnn_error(DNN_ERR_DTYPE, "%s: variable %d is %s, not float32 or float64", op, i + 1,
                dnn_dtype_name((dnn_dtype)vars[i]->dtype));
      return NULL;
    }
  }
  dnn_dist_reducer *r = calloc(1, sizeof *r);
  if (!r) goto oom;
  r->n = n;
  r->cap = bucket_bytes ? bucket_bytes : DNN_DIST_BUCKET_BYTES;
  r->first_cap = first_bucket_bytes;
  size_t un = (size_t)n;
  r->vars = calloc(un, sizeof *r->vars);
  r->planned_for = calloc(un, sizeof *r->planned_for);
  r->bk = calloc(un, sizeof *r->bk);
  r->var_bucket = calloc(un, sizeof *r->var_bucket);
  r->var_off = calloc(un, sizeof *r->var_off);
  r->pending = calloc(un, sizeof *r->pending);
  r->buf = calloc(un, sizeof *r->buf);
  r->jobs = calloc(un, sizeof *r->jobs);
  r->got = calloc(un, sizeof *r->got);
  r->grads = calloc(un, sizeof *r->grads);
  r->out = calloc(un, sizeof *r->out);
  if (!r->vars || !r->planned_for || !r->bk || !r->var_bucket || !r->var_off || !r->pending || !r->buf || !r->jobs ||
      !r->got || !r->grads || !r->out) {
    dnn_dist_reducer_free(r);
    goto oom;
  }
  for (int i = 0; i < n; i++) {
    r->vars[i] = vars[i];
    dnn_tensor_retain(vars[i]);
  }
  return r;
oom:
  dnn_error(DNN_ERR_MEMORY, "%s: out of memory", op);
  return NULL;
}

void dnn_dist_reducer_free(dnn_dist_reducer *r) {
  if (!r) return;
  if (dnn_dist_quiesce("DistributedOptimizer") != DNN_OK) return; /* the thread still owns the buffers */
  if (r->grads && r->out) release_step(r);
  for (int i = 0; r->vars && i < r->n; i++)
    if (r->vars[i]) dnn_tensor_release(r->vars[i]);
  for (int b = 0; r->buf && b < r->n; b++)
    if (r->buf[b]) dnn_storage_release(r->buf[b]);
  free(r->vars), free(r->planned_for), free(r->bk), free(r->var_bucket), free(r->var_off), free(r->pending);
  free(r->buf), free(r->jobs), free(r->got), free(r->grads), free(r->out);
  free(r);
}

bool dnn_dist_reducer_matches(const dnn_dist_reducer *r, int n, dnn_tensor *const *leaves) {
  if (!r || n != r->n) return false;
  for (int i = 0; i < n; i++)
    if (leaves[i] != r->vars[i]) return false;
  return true;
}

/* Plans the buckets over the variables in `present`, last first. */
static dnn_status replan(dnn_dist_reducer *r, const bool *present) {
  bool same = r->planned;
  for (int i = 0; same && i < r->n; i++) same = r->planned_for[i] == present[i];
  if (same) return DNN_OK;
  dnn_tensor **list = malloc(sizeof *list * (size_t)r->n);
  int *var_of = malloc(sizeof *var_of * (size_t)r->n);
  int *idx = malloc(sizeof *idx * (size_t)r->n);
  if (!list || !var_of || !idx) {
    free(list), free(var_of), free(idx);
    return dnn_error(DNN_ERR_MEMORY, "DistributedOptimizer: out of memory");
  }
  int m = 0;
  for (int i = r->n - 1; i >= 0; i--) {
    r->var_bucket[i] = -1;
    if (!present[i]) continue;
    list[m] = r->vars[i];
    var_of[m++] = i;
  }
  r->nb = m ? dnn_dist_plan(m, list, r->cap, r->first_cap, idx, r->bk) : 0;
  dnn_status st = DNN_OK;
  for (int b = 0; b < r->nb && st == DNN_OK; b++) {
    int64_t off = 0;
    for (int k = 0; k < r->bk[b].count; k++) {
      int v = var_of[idx[r->bk[b].first + k]];
      r->var_bucket[v] = b;
      r->var_off[v] = off;
      off += dnn_numel(r->vars[v]);
    }
    size_t bytes = (size_t)r->bk[b].elems * dnn_dtype_size(r->bk[b].dt);
    if (!r->buf[b] || r->buf[b]->nbytes < bytes) { /* kept from step to step (no fresh pages) */
      if (r->buf[b]) dnn_storage_release(r->buf[b]);
      r->buf[b] = dnn_storage_new(DNN_CPU, bytes < 4096 ? 4096 : bytes);
      if (!r->buf[b]) st = dnn_error_code();
    }
  }
  free(list), free(var_of), free(idx);
  if (st != DNN_OK) {
    r->planned = false;
    return st;
  }
  memcpy(r->planned_for, present, sizeof *present * (size_t)r->n);
  r->planned = true;
  return DNN_OK;
}

static char *seg(dnn_dist_reducer *r, int v) {
  int b = r->var_bucket[v];
  return (char *)r->buf[b]->data + r->var_off[v] * (int64_t)dnn_dtype_size(r->bk[b].dt);
}

/* Starts every complete bucket whose predecessors have started. */
static void launch(dnn_dist_reducer *r) {
  while (r->next_launch < r->nb && r->pending[r->next_launch] == 0) {
    int b = r->next_launch++;
    job *j = &r->jobs[b];
    size_t bytes = (size_t)r->bk[b].elems * dnn_dtype_size(r->bk[b].dt);
    j->buf = r->buf[b]->data;
    j->elems = r->bk[b].elems;
    j->dt = r->bk[b].dt;
    j->op = r->op;
    j->small = bytes <= DNN_DIST_SMALL_BYTES;
    g.stats.collectives += j->small ? 1 : 2;
    g.stats.bytes += bytes;
    g.stats.buckets++;
    submit(j);
  }
}

static dnn_status wait_jobs(dnn_dist_reducer *r, const char *op) {
  for (int b = 0; b < r->next_launch; b++) /* state is read under the lock */
    DNN_RETURN_IF_ERR(wait_until(job_done, &r->jobs[b], op));
  for (int b = 0; b < r->next_launch; b++)
    if (r->jobs[b].st != DNN_OK) return dnn_dist_fail(r->jobs[b].st, "%s", r->jobs[b].err);
  return DNN_OK;
}

dnn_status dnn_dist_reducer_start(dnn_dist_reducer *r, const bool *present, const bool *local,
                                  const dnn_dist_reduce_opts *o) {
  const char *op = "DistributedOptimizer";
  DNN_RETURN_IF_ERR(dnn_dist_check_usable(op)); /* also: the last step's buckets are done */
  if (r->active) { /* a step left unfinished (an error in its backward pass) */
    DNN_RETURN_IF_ERR(wait_jobs(r, op));
    r->active = false;
  }
  release_step(r);
  DNN_RETURN_IF_ERR(replan(r, present));
  double div = o->divide_by != 0.0 ? o->divide_by : 1.0;
  if (o->op == DNN_DIST_AVG) div *= (double)g.size;
  r->div = div;
  r->pre = o->prescale != 0.0 ? o->prescale : 1.0;
  r->op = o->op == DNN_DIST_AVG ? DNN_DIST_SUM : o->op;
  for (int b = 0; b < r->nb; b++) {
    r->pending[b] = r->bk[b].count;
    r->jobs[b].state = 0;
  }
  for (int i = 0; i < r->n; i++) {
    r->got[i] = false;
    if (r->var_bucket[i] >= 0 && !local[i]) { /* no gradient here: it counts as zero */
      memset(seg(r, i), 0, (size_t)dnn_numel(r->vars[i]) * dnn_dtype_size((dnn_dtype)r->vars[i]->dtype));
      r->got[i] = true;
      r->pending[r->var_bucket[i]]--;
    }
  }
  r->next_launch = 0;
  r->active = true;
  g.stats.reduce_calls++;
  launch(r);
  return DNN_OK;
}

dnn_status dnn_dist_reducer_ready(dnn_dist_reducer *r, int i, dnn_tensor *grad) {
  if (!r->active || i < 0 || i >= r->n || r->var_bucket[i] < 0 || r->got[i]) return DNN_OK;
  dnn_tensor *v = r->vars[i];
  if (grad && (grad->dtype != v->dtype || dnn_numel(grad) != dnn_numel(v)))
    return dnn_error(DNN_ERR_SHAPE, "DistributedOptimizer: the gradient of variable %d has %lld %s values, the "
                     "variable %lld %s", i + 1, (long long)dnn_numel(grad), dnn_dtype_name((dnn_dtype)grad->dtype),
                     (long long)dnn_numel(v), dnn_dtype_name((dnn_dtype)v->dtype));
  if (grad) {
    DNN_RETURN_IF_ERR(dnn_dist_pack(seg(r, i), grad, r->pre));
    dnn_tensor_retain(grad);
    r->grads[i] = grad;
  } else {
    memset(seg(r, i), 0, (size_t)dnn_numel(v) * dnn_dtype_size((dnn_dtype)v->dtype));
  }
  r->got[i] = true;
  r->pending[r->var_bucket[i]]--;
  launch(r);
  return DNN_OK;
}

dnn_status dnn_dist_reducer_finish(dnn_dist_reducer *r) {
  const char *op = "DistributedOptimizer";
  if (!r->active) return dnn_error(DNN_ERR_ARG, "%s: no overlapped step was started", op);
  g.stats.early_buckets += (uint64_t)r->next_launch;
  for (int i = 0; i < r->n; i++) /* never reached in this pass: zero, so the buckets still go */
    if (r->var_bucket[i] >= 0 && !r->got[i]) DNN_RETURN_IF_ERR(dnn_dist_reducer_ready(r, i, NULL));
  double t0 = dnn_dist_now();
  dnn_status st = wait_jobs(r, op);
  g.stats.reducer_wait_s += dnn_dist_now() - t0;
  r->active = false;
  if (st != DNN_OK) return st;
  for (int b = 0; b < r->nb; b++)
    if (r->div != 1.0) dnn_dist_divide(r->buf[b]->data, r->bk[b].dt, r->bk[b].elems, r->div);
  for (int i = 0; i < r->n && st == DNN_OK; i++) {
    int b = r->var_bucket[i];
    if (b < 0) continue;
    dnn_tensor *t = r->grads[i];
    if (t && dnn_is_contiguous(t)) { /* the pass's own gradient receives the result */
      st = dnn_dist_unpack(r->buf[b], r->var_off[i], t);
      dnn_tensor_retain(t);
      r->out[i] = t;
    } else {
      dnn_tensor *v = r->vars[i];
      r->out[i] = dnn_empty(v->ndim, v->shape, (dnn_dtype)v->dtype, DNN_CPU);
      if (!r->out[i]) st = dnn_error_code();
      else memcpy(dnn_data_ptr(r->out[i]), seg(r, i), (size_t)dnn_numel(v) * dnn_dtype_size((dnn_dtype)v->dtype));
    }
  }
  return st;
}

dnn_tensor *dnn_dist_reducer_result(const dnn_dist_reducer *r, int i, const dnn_tensor *given) {
  if (i < 0 || i >= r->n || !r->out[i]) return NULL;
  if (given && given != r->grads[i] && given != r->out[i]) return NULL; /* the caller's own tensor */
  return r->out[i];
}

int dnn_dist_reducer_size(const dnn_dist_reducer *r) { return r->n; }
int dnn_dist_reducer_buckets(const dnn_dist_reducer *r) { return r->nb; }
