/* HDF5 helper layer, part 3: groups, members, object kinds and links.
 * Conventions (locations, paths, errors) are in src/dnn/hdf5.h. */
#ifndef DNN_IO_H5_GROUP_H
#define DNN_IO_H5_GROUP_H

#include "dnn.h"

/* Creates group `name` below loc (its parent must exist) tracking the
 * creation order of its links, so members list in the order written (h5py
 * iterates such groups in that order too).  Returns the open group (close it
 * with dnn_h5_object_close) or -1.  Errors: the name exists already. */
dnn_h5_id dnn_h5_group_create(dnn_h5_id loc, const char *name);
/* Opens an existing group; -1 with "group /x: no such group" / "... is a dataset". */
dnn_h5_id dnn_h5_group_open(dnn_h5_id loc, const char *name);
/* Closes a group, dataset or named datatype id. */
void dnn_h5_object_close(dnn_h5_id obj);

/* What loc/name is, without following soft or external links (DNN_H5_NONE
 * when nothing is there or a parent on the path is missing).  For groups,
 * datasets and datatypes, *key (when not NULL) receives its identity. */
dnn_h5_kind dnn_h5_kind_of(dnn_h5_id loc, const char *name, dnn_h5_objkey *key);
/* "group", "dataset", ... for messages. */
const char *dnn_h5_kind_name(dnn_h5_kind k);

/* The link names of group loc/name in the given order (DNN_H5_ORDER_AUTO:
 * creation order when tracked, else by name).  Free with dnn_h5_strings_free. */
dnn_status dnn_h5_group_members(dnn_h5_id loc, const char *name, dnn_h5_order order,
                                dnn_h5_strings *out);
/* Calls fn(name, ctx) for each member in that order; fn returns non-zero to
 * stop (that value is returned as the status; keep it a dnn_status). */
typedef dnn_status (*dnn_h5_member_fn)(const char *member, void *ctx);
dnn_status dnn_h5_group_iterate(dnn_h5_id loc, const char *name, dnn_h5_order order,
                                dnn_h5_member_fn fn, void *ctx);

/* A hard link `name` (below loc) to the object at loc/target: both paths
 * then name one object (h5py sees two members sharing it). */
dnn_status dnn_h5_link_hard(dnn_h5_id loc, const char *target, const char *name);

#endif
