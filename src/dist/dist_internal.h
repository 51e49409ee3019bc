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
#endif

/* Monotonic seconds. */
double dnn_dist_now(void);

#endif
