/* The background pool (see prefetch.h).  One mutex guards the queue and
 * every job's counters: tasks are tens of microseconds to milliseconds (a PNG
 * decode), so the lock is never the bottleneck, and one lock keeps the
 * cancel/free logic simple. */
#include "prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dnn_job {
  dnn_pool *pool;
  dnn_task_fn fn;
  void *ctx;
  void (*ctx_free)(void *);
  int64_t ntasks, next, running, done;
  int64_t err_task; /* lowest failing task, or -1 */
  dnn_status err_code;
  char err_msg[1024];
  bool queued;
  dnn_job *qnext;
};

struct dnn_pool {
  pthread_mutex_t mu;
  pthread_cond_t work; /* a task became available, or stop */
  pthread_cond_t idle; /* a task finished */
  dnn_job *head, *tail;
  int nthreads, refs;
  int nice; /* added to the workers' niceness */
  bool stop;
  pthread_t *threads;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Under the lock: unlinks j from the queue. */
static void unqueue(dnn_pool *p, dnn_job *j) {
  if (!j->queued) return;
  dnn_job **pp = &p->head, *prev = NULL;
  while (*pp && *pp != j) prev = *pp, pp = &(*pp)->qnext;
  if (*pp) {
    *pp = j->qnext;
    if (p->tail == j) p->tail = prev;
  }
  j->queued = false;
  j->qnext = NULL;
}

/* Under the lock: runs task k of j with the lock released. */
static void run_task(dnn_pool *p, dnn_job *j, int64_t k) {
  j->running++;
  pthread_mutex_unlock(&p->mu);
  dnn_error_clear();
  dnn_status st = j->fn(j->ctx, k);
  char msg[1024];
  if (st != DNN_OK) snprintf(msg, sizeof msg, "%s", dnn_error_message());
  pthread_mutex_lock(&p->mu);
  if (st != DNN_OK && (j->err_task < 0 || k < j->err_task)) {
    j->err_task = k;
    j->err_code = st;
    memcpy(j->err_msg, msg, sizeof msg);
  }
  j->running--;
  j->done++;
  pthread_cond_broadcast(&p->idle);
}

static void *worker(void *arg) {
  dnn_pool *p = arg;
  /* Background priority: when the CPUs are all busy, the compute threads
   * (OpenMP, whose barriers stall while one of them is preempted) win, and
   * the workers use what is left; a wait for a batch that is not ready runs
   * its tasks on the main thread anyway.  Linux applies niceness per thread. */
  if (p->nice > 0) {
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, tid);
    if (errno == 0) setpriority(PRIO_PROCESS, tid, cur + p->nice);
  }
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && !p->head) pthread_cond_wait(&p->work, &p->mu);
    if (p->stop) break;
    dnn_job *j = p->head;
    int64_t k = j->next++;
    if (j->next >= j->ntasks) unqueue(p, j);
    run_task(p, j, k);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

dnn_pool *dnn_pool_new(int nthreads) {
  if (nthreads < 1 || nthreads > 256) {
    dnn_error(DNN_ERR_ARG, "prefetch: the number of worker threads must be 1..256, got %d", nthreads);
    return NULL;
  }
  dnn_pool *p = calloc(1, sizeof *p);
  if (p) p->threads = calloc((size_t)nthreads, sizeof *p->threads);
  if (!p || !p->threads) {
    free(p);
    dnn_error(DNN_ERR_MEMORY, "prefetch: out of memory");
    return NULL;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->idle, NULL);
  p->refs = 1;
  const char *nice = getenv("DNN_PREFETCH_NICE");
  p->nice = nice ? atoi(nice) : 5;
  if (p->nice < 0) p->nice = 0; /* raising priority needs privileges */
  if (p->nice > 19) p->nice = 19;
  for (int i = 0; i < nthreads; i++) {
    if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
      if (i == 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->work);
        pthread_cond_destroy(&p->idle);
        free(p->threads);
        free(p);
        dnn_error(DNN_ERR_INTERNAL, "prefetch: cannot start a worker thread");
        return NULL;
      }
      break; /* fewer workers than asked is still a pool */
    }
    p->nthreads = i + 1;
  }
  return p;
}

int dnn_pool_threads(const dnn_pool *p) { return p->nthreads; }

void dnn_pool_retain(dnn_pool *p) {
  pthread_mutex_lock(&p->mu);
  p->refs++;
  pthread_mutex_unlock(&p->mu);
}

void dnn_pool_release(dnn_pool *p) {
  pthread_mutex_lock(&p->mu);
  bool last = --p->refs == 0;
  if (last) p->stop = true;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  if (!last) return;
  /* every job holds a reference, so no job is queued or running here */
  for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->idle);
  free(p->threads);
  free(p);
}

dnn_job *dnn_job_submit(dnn_pool *p, int64_t ntasks, dnn_task_fn fn, void *ctx,
                        void (*ctx_free)(void *)) {
  dnn_job *j = calloc(1, sizeof *j);
  if (!j) {
    if (ctx_free) ctx_free(ctx);
    dnn_error(DNN_ERR_MEMORY, "prefetch: out of memory");
    return NULL;
  }
  j->pool = p;
  j->fn = fn;
  j->ctx = ctx;
  j->ctx_free = ctx_free;
  j->ntasks = ntasks < 0 ? 0 : ntasks;
  j->err_task = -1;
  pthread_mutex_lock(&p->mu);
  p->refs++;
  if (j->ntasks > 0) {
    j->queued = true;
    if (p->tail) p->tail->qnext = j;
    else p->head = j;
    p->tail = j;
    pthread_cond_broadcast(&p->work);
  }
  pthread_mutex_unlock(&p->mu);
  return j;
}

bool dnn_job_done(dnn_job *j) {
  pthread_mutex_lock(&j->pool->mu);
  bool d = j->done == j->ntasks;
  pthread_mutex_unlock(&j->pool->mu);
  return d;
}

dnn_status dnn_job_wait(dnn_job *j, double *waited) {
  double t0 = now_s();
  dnn_pool *p = j->pool;
  pthread_mutex_lock(&p->mu);
  /* help: take this job's untaken tasks */
  while (j->next < j->ntasks) {
    int64_t k = j->next++;
    if (j->next >= j->ntasks) unqueue(p, j);
    run_task(p, j, k);
  }
  while (j->done < j->ntasks) pthread_cond_wait(&p->idle, &p->mu);
  dnn_status st = DNN_OK;
  if (j->err_task >= 0) st = dnn_error(j->err_code, "%s", j->err_msg);
  pthread_mutex_unlock(&p->mu);
  if (waited) *waited = now_s() - t0;
  return st;
}

void *dnn_job_ctx(dnn_job *j) { return j->ctx; }

void dnn_job_free(dnn_job *j) {
  if (!j) return;
  dnn_pool *p = j->pool;
  pthread_mutex_lock(&p->mu);
  unqueue(p, j);
  j->ntasks = j->next; /* untaken tasks are dropped */
  while (j->running > 0) pthread_cond_wait(&p->idle, &p->mu);
  pthread_mutex_unlock(&p->mu);
  if (j->ctx_free) j->ctx_free(j->ctx);
  free(j);
  dnn_pool_release(p);
}
