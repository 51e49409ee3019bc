/* Op enum entries of the optim area (included by dnn.h into DNN_OP_LIST).
 *  OPTIM_UPDATE  one variable's fused update: out = the variable (in place),
 *                out2 = its slots, packed (nslots, *shape); in[0] = the
 *                gradient; in[1] = the dnn_optim_config as a borrowed uint8
 *                host tensor; s0 = the gradient scale (norm clipping);
 *                flag = apply weight decay.
 *  OPTIM_SQNORM  sum of squares of in[0] in float64 into the 0-d float64
 *                out (blocked, so the sum does not depend on threads). */
#ifndef DNN_OPTIM_OPS_H
#define DNN_OPTIM_OPS_H
#define DNN_OP_LIST_OPTIM(X) X(OPTIM_UPDATE) X(OPTIM_SQNORM)
#endif
