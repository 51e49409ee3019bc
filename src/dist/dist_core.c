/* The replica set: initialisation, ranks, the deadline every wait obeys,
 * and what happens at exit.  Collectives are in dist_coll.c.
 *
 * Exit: an MPI process must call MPI_Finalize, and MPI_Finalize waits for the
 * others, so a replica that leaves on an error while the others sit in a
 * collective would hang them all.  The exit handler (on_exit sees the exit
 * status) therefore meets the others on a communicator of its own, with a
 * deadline: all there -> MPI_Finalize; otherwise (a replica left on an
 * error, or one is stuck) -> MPI_Abort, and mpirun stops every replica. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dist_internal.h"

dnn_dist_state dnn_dist_g = {.rank = 0, .size = 1, .local_rank = 0, .local_size = 1, .timeout = 300.0};
#define g dnn_dist_g

/* Seconds an exiting replica waits for the others when it leaves on an
 * error: enough for replicas that fail together (a mismatch every rank
 * detects) to print their messages and finalize, short enough to stop a
 * job promptly when one replica fails alone. */
#define ERROR_EXIT_GRACE 3.0

double dnn_dist_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool dnn_dist_mpi_compiled(void) {
#ifdef DNN_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool dnn_dist_launched(void) {
  static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return true;
  return false;
}

bool dnn_dist_initialized(void) { return g.initialized; }
int dnn_dist_rank(void) { return g.rank; }
int dnn_dist_size(void) { return g.size; }
int dnn_dist_local_rank(void) { return g.local_rank; }
int dnn_dist_local_size(void) { return g.local_size; }
const char *dnn_dist_backend(void) { return g.mpi ? "mpi" : "none"; }
const char *dnn_dist_processor_name(void) {
  if (!g.processor[0] && gethostname(g.processor, sizeof g.processor - 1) != 0)
    snprintf(g.processor, sizeof g.processor, "localhost");
  return g.processor;
}
bool dnn_dist_broken(void) { return g.broken; }
dnn_dist_stats dnn_dist_get_stats(void) { return g.stats; }

void dnn_dist_set_timeout(double seconds) { g.timeout = seconds; }
double dnn_dist_timeout(void) { return g.timeout; }

dnn_status dnn_dist_fail(dnn_status code, const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g.mpi) g.broken = true;
  return dnn_error(code, "%s", msg);
}

dnn_status dnn_dist_check_usable(const char *op) {
  if (g.broken)
    return dnn_error(DNN_ERR_INTERNAL,
                     "%s: an earlier collective failed on this replica (rank %d); the replicas are out "
                     "of step and the job has to be restarted",
                     op, g.rank);
  return dnn_dist_quiesce(op); /* the overlapped reducer's collectives come first */
}

static const char *const op_names[] = {"sum", "avg", "min", "max", "prod"};
const char *dnn_dist_op_name(dnn_dist_op op) {
  return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}
int dnn_dist_op_from_name(const char *name) {
  if (!name) return -1;
  if (!strcmp(name, "average") || !strcmp(name, "mean")) return DNN_DIST_AVG;
  if (!strcmp(name, "product")) return DNN_DIST_PROD;
  for (int i = 0; i < (int)(sizeof op_names / sizeof op_names[0]); i++)
    if (!strcmp(name, op_names[i])) return i;
  return -1;
}

#ifdef DNN_HAVE_MPI

MPI_Datatype dnn_dist_mpi_type(dnn_dtype dt) {
  switch (dt) {
  case DNN_FLOAT32: return MPI_FLOAT;
  case DNN_FLOAT64: return MPI_DOUBLE;
  case DNN_INT32: return MPI_INT32_T;
  case DNN_INT64: return MPI_INT64_T;
  case DNN_UINT8:
  case DNN_BOOL: return MPI_UINT8_T;
  default: return MPI_DATATYPE_NULL;
  }
}

MPI_Op dnn_dist_mpi_op(dnn_dist_op op) {
  switch (op) {
  case DNN_DIST_MIN: return MPI_MIN;
  case DNN_DIST_MAX: return MPI_MAX;
  case DNN_DIST_PROD: return MPI_PROD;
  default: return MPI_SUM;
  }
}

dnn_status dnn_dist_mpi_error(const char *op, int rc) {
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return dnn_dist_fail(DNN_ERR_INTERNAL, "%s: MPI error on rank %d: %s", op, g.rank, text);
}

/* Open MPI progresses non-blocking collectives inside MPI calls, so the wait
 * polls: it spins briefly (replicas in step finish in microseconds), then
 * yields for a couple of milliseconds (a replica a little behind), then
 * sleeps in short, growing naps so a replica waiting for a slow one leaves
 * the cores to it. */
dnn_status dnn_dist_wait(int n, MPI_Request *reqs, const char *op) {
  double start = dnn_dist_now();
  long sleep_ns = 20000;
  for (unsigned spins = 0;; spins++) {
    int done = 0;
    int rc = MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) return dnn_dist_mpi_error(op, rc);
    if (done) return DNN_OK;
    if (spins < 2000) continue;
    double waited = dnn_dist_now() - start;
    if (g.timeout > 0 && waited > g.timeout)
      return dnn_dist_fail(DNN_ERR_INTERNAL,
                           "%s: no answer from the other replicas after %.3g s (this is rank %d of %d): "
                           "one of them stopped, hangs, or called a different collective; the job is "
                           "stopped when this process exits (timeout: dnn.distributed.init{timeout=} or "
                           "DNN_DIST_TIMEOUT)",
                           op, waited, g.rank, g.size);
    if (waited < 2e-3) {
      sched_yield();
    } else {
      struct timespec ts = {0, sleep_ns};
      nanosleep(&ts, NULL);
      if (sleep_ns < 500000) sleep_ns += sleep_ns / 2;
    }
  }
}

/* Meets the other replicas at exit on exit_comm, within `deadline` seconds. */
static bool meet_at_exit(double deadline) {
  MPI_Request req;
  if (MPI_Ibarrier(g.exit_comm, &req) != MPI_SUCCESS) return false;
  double saved = g.timeout;
  g.timeout = deadline;
  dnn_status st = dnn_dist_wait(1, &req, "exit");
  g.timeout = saved;
  return st == DNN_OK;
}

static void on_process_exit(int status, void *arg) {
  (void)arg;
  int fin = 0;
  if (!g.mpi || MPI_Finalized(&fin) != MPI_SUCCESS || fin) return;
  fflush(stdout);
  fflush(stderr);
  if (!g.broken && !dnn_dist_overlap_busy()) { /* a reduction in flight: the replicas are out of step */
    double deadline = status == 0 ? g.timeout : ERROR_EXIT_GRACE;
    if (meet_at_exit(deadline)) {
      MPI_Finalize();
      return;
    }
  }
  fprintf(stderr,
          "dnn.distributed: rank %d of %d exits with status %d while the other replicas cannot follow; "
          "stopping all of them (MPI_Abort)\n",
          g.rank, g.size, status);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
}

/* A stock lua5.4 loads dnn/core.so with RTLD_LOCAL; Open MPI's plugins
 * expect libmpi's symbols to be global.  Promote the loaded library. */
static void make_mpi_global(void) {
  Dl_info info;
  if (dladdr((void *)&MPI_Init_thread, &info) && info.dli_fname) {
    void *h = dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    (void)h; /* keep the reference: libmpi must stay loaded */
  }
}

static dnn_status init_mpi(void) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    make_mpi_global();
    int provided = 0;
    /* serialized: the overlapped reducer's thread runs collectives while
     * the main thread computes, never while it calls MPI itself */
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return dnn_error(DNN_ERR_INTERNAL, "distributed.init: MPI_Init failed (code %d)", rc);
    g.thread_level = provided;
  } else {
    MPI_Query_thread(&g.thread_level);
  }
  g.mpi = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &g.comm);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_dup(MPI_COMM_WORLD, &g.exit_comm);
  if (rc != MPI_SUCCESS) return dnn_dist_mpi_error("distributed.init", rc);
  MPI_Comm_set_errhandler(g.comm, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(g.exit_comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(g.comm, &g.rank);
  MPI_Comm_size(g.comm, &g.size);
  MPI_Comm local;
  if (MPI_Comm_split_type(g.comm, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
    MPI_Comm_rank(local, &g.local_rank);
    MPI_Comm_size(local, &g.local_size);
    MPI_Comm_free(&local);
  }
  int len = 0;
  char name[MPI_MAX_PROCESSOR_NAME];
  if (MPI_Get_processor_name(name, &len) == MPI_SUCCESS)
    snprintf(g.processor, sizeof g.processor, "%.63s", name);
  on_exit(on_process_exit, NULL);
  /* every replica joined: a first collective, under the deadline */
  int one = 1, joined = 0;
  MPI_Request req;
  rc = MPI_Iallreduce(&one, &joined, 1, MPI_INT, MPI_SUM, g.comm, &req);
  if (rc != MPI_SUCCESS) return dnn_dist_mpi_error("distributed.init", rc);
  g.stats.collectives++;
  DNN_RETURN_IF_ERR(dnn_dist_wait(1, &req, "distributed.init"));
  if (joined != g.size)
    return dnn_dist_fail(DNN_ERR_INTERNAL, "distributed.init: %d of %d replicas joined", joined, g.size);
  return DNN_OK;
}

dnn_status dnn_dist_abort(int code) {
  if (g.mpi) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
  }
  return dnn_error(DNN_ERR_UNSUPPORTED, "distributed.abort: not running under MPI");
}

#else /* no MPI: one replica */

dnn_status dnn_dist_abort(int code) {
  (void)code;
  return dnn_error(DNN_ERR_UNSUPPORTED, "distributed.abort: this build has no MPI");
}

#endif

dnn_status dnn_dist_init(void) {
  static bool failed; /* MPI may be half set up: never run its collectives twice */
  if (g.initialized) return DNN_OK;
  if (failed) return dnn_error(DNN_ERR_INTERNAL, "distributed.init: failed earlier on this replica");
  const char *env = getenv("DNN_DIST_TIMEOUT");
  if (env && *env) {
    char *end = NULL;
    double t = strtod(env, &end);
    if (end != env) g.timeout = t;
  }
#ifdef DNN_HAVE_MPI
  if (dnn_dist_launched()) {
    dnn_status st = init_mpi();
    if (st != DNN_OK) {
      failed = true;
      if (g.mpi) g.broken = true;
      return st;
    }
  }
#endif
  g.initialized = true;
  return DNN_OK;
}
