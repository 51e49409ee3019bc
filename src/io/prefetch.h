/* A pool of background threads for data loading: jobs of independent tasks
 * (one task = one image of a batch) run while the main thread trains.
 *
 * The main thread submits jobs in the order it will need them; workers take
 * tasks first-come first-served, so the batch needed next finishes first.
 * dnn_job_wait blocks until a job is done, and meanwhile runs the job's
 * remaining tasks itself, so a wait never idles while work is queued.  The
 * number of jobs in flight is the caller's choice (a bounded prefetch
 * window): the pool queues whatever it is given.
 *
 * Workers run at a lower priority than the process (nice +5, or
 * DNN_PREFETCH_NICE=n; 0 keeps the process's): when every core is busy the
 * compute threads go first, and the main thread runs a late batch itself.
 *
 * Tasks are plain C: they never call Lua, never allocate tensors (the memory
 * statistics are main-thread only), and report failure by returning a status
 * with dnn_error() recorded in their thread; the job keeps the message of its
 * lowest failing task, so errors do not depend on thread timing. */
#ifndef DNN_IO_PREFETCH_H
#define DNN_IO_PREFETCH_H

#include <stdint.h>

#include "dnn.h"

typedef struct dnn_pool dnn_pool;
typedef struct dnn_job dnn_job;
typedef dnn_status (*dnn_task_fn)(void *ctx, int64_t k);

/* nthreads >= 1 workers.  NULL with the error recorded. */
dnn_pool *dnn_pool_new(int nthreads);
/* Reference counting: each job holds one; the last release joins the workers
 * (after every queued job was cancelled or finished). */
void dnn_pool_retain(dnn_pool *p);
void dnn_pool_release(dnn_pool *p);
int dnn_pool_threads(const dnn_pool *p);

/* A job of ntasks calls fn(ctx, 0..ntasks-1).  ctx_free (may be NULL) runs
 * when the job is freed.  NULL with the error recorded (out of memory): then
 * ctx_free has already run. */
dnn_job *dnn_job_submit(dnn_pool *p, int64_t ntasks, dnn_task_fn fn, void *ctx,
                        void (*ctx_free)(void *));
/* Waits for the job (running its untaken tasks in this thread).  Returns
 * DNN_OK or the error of its lowest failing task, recorded in this thread.
 * *waited (may be NULL) gets the seconds spent in here. */
dnn_status dnn_job_wait(dnn_job *j, double *waited);
/* True once every task ran (never blocks). */
bool dnn_job_done(dnn_job *j);
/* Drops untaken tasks, waits for the running ones, frees the job.  Safe on
 * finished jobs (it then only frees). */
void dnn_job_free(dnn_job *j);
void *dnn_job_ctx(dnn_job *j);

#endif
