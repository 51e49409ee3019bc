/* State and helpers shared by the src/dist files (not part of dist.h). */
#ifndef DNN_DIST_INTERNAL_H
#define DNN_DIST_INTERNAL_H

#include "core/internal.h"
#include "dist.h"

#ifdef DNN_HAVE_MPI
#include <mpi.h>
#endif

typedef struct {
  bool initialized; /* dnn_dist_init ran (with MPI or as one replica) */
  bool mpi;         /* MPI is in use: MPI_Init ran */
  bool broken;      /* a collective failed or timed out: abort at exit */
  int rank, size, local_rank, local_size;
  int thread_level; /* what MPI_Init_thread provided */
  double timeout;
  char processor[64];
  dnn_dist_stats stats;
#ifdef DNN_HAVE_MPI
  MPI_Comm comm;      /* the collectives of training */
  MPI_Comm exit_comm; /* only the meeting at exit: never matches a training collective */
#endif
} dnn_dist_state;

extern dnn_dist_state dnn_dist_g;

/* Marks the communicator broken and records the error. */
dnn_status dnn_dist_fail(dnn_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails at once when a previous collective broke the communicator. */
dnn_status dnn_dist_check_usable(const char *op);

#ifdef DNN_HAVE_MPI
/* Waits for n requests with the deadline; op names the collective in errors. */
dnn_status dnn_dist_wait(int n, MPI_Request *reqs, const char *op);
/* Turns an MPI error code into an engine error (and marks broken). */
dnn_status dnn_dist_mpi_error(const char *op, int rc);
MPI_Datatype dnn_dist_mpi_type(dnn_dtype dt);
MPI_Op dnn_dist_mpi_op(dnn_dist_op op);
#endif

/* Monotonic seconds. */
double dnn_dist_now(void);

/* Unchecked buckets up to this size are reduced with a non-blocking
 * collective waited for under the deadline (they may be the replicas'
 * meeting); larger ones with the blocking collective. */
#define DNN_DIST_SMALL_BYTES ((size_t)64 << 10)

/* ---- fusion buckets (dist_coll.c; the overlapped reducer shares them) ---- */
typedef struct {
  int first, count; /* range in the index array */
  dnn_dtype dt;
  int64_t elems;
} dnn_dist_bucket;
/* Groups ts by dtype (first appearance) and splits each group at cap bytes
 * (the first bucket at first_cap, 0: cap): idx (n entries) lists the tensors
 * bucket by bucket, bk (n entries) the buckets; returns their number. */
int dnn_dist_plan(int n, dnn_tensor *const *ts, size_t cap, size_t first_cap, int *idx, dnn_dist_bucket *bk);
/* Copies t (any layout) into dst, times scale (floats; 0 or 1: a copy). */
dnn_status dnn_dist_pack(char *dst, dnn_tensor *t, double scale);
void dnn_dist_divide(char *buf, dnn_dtype dt, int64_t m, double by);
/* Writes the segment of s at off (elements) into t. */
dnn_status dnn_dist_unpack(dnn_storage *s, int64_t off, dnn_tensor *t);

/* ---- the overlapped reducer's communication thread (dist_overlap.c) ---- */
/* Waits (under the deadline) until the thread has no collective in flight:
 * the main thread calls MPI only then (MPI_THREAD_SERIALIZED). */
dnn_status dnn_dist_quiesce(const char *op);
/* The thread is inside a collective now. */
bool dnn_dist_overlap_busy(void);

#endif
