/* HDF5 helper layer: groups, members, kinds, links (h5_group.h). */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_base.h"
#include "io/h5_group.h"

#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t link_info;
#define link_get_info H5Lget_info2
#define link_iterate H5Literate2
#else
typedef H5L_info_t link_info;
#define link_get_info H5Lget_info
#define link_iterate H5Literate
#endif

static bool is_self(const char *name) {
  return !name || !*name || strcmp(name, ".") == 0;
}

/* H5Lexists fails (rather than says no) when a parent on the path is
 * missing; both mean "not there" to us.  "/" and "." always exist. */
static bool link_exists(hid_t loc, const char *name) {
  if (is_self(name) || strcmp(name, "/") == 0) return true;
  return H5Lexists(loc, name, H5P_DEFAULT) > 0;
}

dnn_h5_id dnn_h5_group_create(dnn_h5_id loc, const char *name) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  hid_t g = -1, gcpl = -1, lcpl = -1;
  if (link_exists((hid_t)loc, name)) {
    dnn_h5_fail(loc, name, "group", false, DNN_ERR_ARG, "the name exists already");
    goto done;
  }
  gcpl = H5Pcreate(H5P_GROUP_CREATE);
  lcpl = dnn_h5_lcpl(name);
  if (gcpl >= 0 && lcpl >= 0 &&
      H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
    g = H5Gcreate2((hid_t)loc, name, lcpl, gcpl, H5P_DEFAULT);
  if (g < 0) dnn_h5_fail(loc, name, "group", true, DNN_ERR_IO, "cannot create it");
done:
  if (gcpl >= 0) H5Pclose(gcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return g;
}

dnn_h5_id dnn_h5_group_open(dnn_h5_id loc, const char *name) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  hid_t g = -1;
  dnn_h5_kind k = dnn_h5_kind_of(loc, name, NULL);
  if (k == DNN_H5_NONE)
    dnn_h5_fail(loc, name, "group", false, DNN_ERR_IO, "no such group");
  else if (k != DNN_H5_GROUP)
    dnn_h5_fail(loc, name, NULL, false, DNN_ERR_IO, "expected a group, found a %s",
                dnn_h5_kind_name(k));
  else if ((g = H5Gopen2((hid_t)loc, is_self(name) ? "." : name, H5P_DEFAULT)) < 0)
    dnn_h5_fail(loc, name, "group", true, DNN_ERR_IO, "cannot open it");
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return g;
}

void dnn_h5_object_close(dnn_h5_id obj) {
  if (obj < 0) return;
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  H5Oclose((hid_t)obj);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
}

const char *dnn_h5_kind_name(dnn_h5_kind k) {
  switch (k) {
    case DNN_H5_NONE: return "nothing";
    case DNN_H5_GROUP: return "group";
    case DNN_H5_DATASET: return "dataset";
    case DNN_H5_DATATYPE: return "named datatype";
    case DNN_H5_SOFT_LINK: return "soft link";
    case DNN_H5_EXTERNAL_LINK: return "external link";
    default: return "object of an unknown kind";
  }
}

static dnn_h5_kind object_kind(hid_t loc, const char *name, dnn_h5_objkey *key) {
  const char *n = is_self(name) ? "." : name;
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t oi;
  if (H5Oget_info_by_name3(loc, n, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return DNN_H5_OTHER;
  if (key) {
    memset(key, 0, sizeof *key);
    memcpy(key->bytes, &oi.fileno, sizeof oi.fileno);
    memcpy(key->bytes + 8, &oi.token, sizeof oi.token);
  }
#else
  H5O_info_t oi;
  if (H5Oget_info_by_name2(loc, n, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return DNN_H5_OTHER;
  if (key) {
    memset(key, 0, sizeof *key);
    memcpy(key->bytes, &oi.fileno, sizeof oi.fileno);
    memcpy(key->bytes + 8, &oi.addr, sizeof oi.addr);
  }
#endif
  switch (oi.type) {
    case H5O_TYPE_GROUP: return DNN_H5_GROUP;
    case H5O_TYPE_DATASET: return DNN_H5_DATASET;
    case H5O_TYPE_NAMED_DATATYPE: return DNN_H5_DATATYPE;
    default: return DNN_H5_OTHER;
  }
}

dnn_h5_kind dnn_h5_kind_of(dnn_h5_id loc, const char *name, dnn_h5_objkey *key) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_h5_kind k = DNN_H5_NONE;
  if (is_self(name) || strcmp(name, "/") == 0) {
    k = object_kind((hid_t)loc, name, key);
  } else if (link_exists((hid_t)loc, name)) {
    link_info li;
    if (link_get_info((hid_t)loc, name, &li, H5P_DEFAULT) < 0)
      k = DNN_H5_OTHER;
    else if (li.type == H5L_TYPE_SOFT)
      k = DNN_H5_SOFT_LINK;
    else if (li.type == H5L_TYPE_EXTERNAL)
      k = DNN_H5_EXTERNAL_LINK;
    else if (li.type != H5L_TYPE_HARD)
      k = DNN_H5_OTHER;
    else
      k = object_kind((hid_t)loc, name, key);
  }
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return k;
}

typedef struct {
  dnn_h5_strings *out;
  int64_t cap;
  bool oom;
} collect_ctx;

static herr_t collect_name(hid_t g, const char *name, const link_info *info, void *data) {
  (void)g, (void)info;
  collect_ctx *c = data;
  dnn_h5_strings *l = c->out;
  if (l->n == c->cap) {
    int64_t cap = c->cap ? 2 * c->cap : 16;
    char **s = realloc(l->s, (size_t)cap * sizeof *s);
    if (s) l->s = s;
    size_t *len = realloc(l->len, (size_t)cap * sizeof *len);
    if (len) l->len = len;
    if (!s || !len) {
      c->oom = true;
      return -1;
    }
    c->cap = cap;
  }
  size_t n = strlen(name);
  char *copy = malloc(n + 1);
  if (!copy) {
    c->oom = true;
    return -1;
  }
  memcpy(copy, name, n + 1);
  l->s[l->n] = copy;
  l->len[l->n++] = n;
  return 0;
}

/* Whether the group tracks creation order (else it can only list by name). */
static bool tracks_order(hid_t g) {
  hid_t gcpl = H5Gget_create_plist(g);
  if (gcpl < 0) return false;
  unsigned flags = 0;
  bool ok = H5Pget_link_creation_order(gcpl, &flags) >= 0 && (flags & H5P_CRT_ORDER_TRACKED);
  H5Pclose(gcpl);
  return ok;
}

dnn_status dnn_h5_group_members(dnn_h5_id loc, const char *name, dnn_h5_order order,
                                dnn_h5_strings *out) {
  memset(out, 0, sizeof *out);
  hid_t g = dnn_h5_group_open(loc, name);
  if (g < 0) return dnn_error_code();
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  bool by_creation = order == DNN_H5_ORDER_CREATION || (order == DNN_H5_ORDER_AUTO && tracks_order(g));
  if (order == DNN_H5_ORDER_CREATION && !tracks_order(g)) {
    st = dnn_h5_fail(g, NULL, "group", false, DNN_ERR_ARG,
                     "does not track creation order (list it by name)");
  } else {
    collect_ctx c = {out, 0, false};
    hsize_t idx = 0;
    herr_t r = link_iterate(g, by_creation ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME, H5_ITER_INC, &idx,
                            collect_name, &c);
    if (r < 0 && by_creation && order == DNN_H5_ORDER_AUTO && !c.oom) {
      /* tracked but not indexed in dense storage: fall back to names */
      dnn_h5_strings_free(out);
      c = (collect_ctx){out, 0, false};
      idx = 0;
      r = link_iterate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &c);
    }
    if (c.oom)
      st = dnn_error(DNN_ERR_MEMORY, "out of memory listing a group");
    else if (r < 0)
      st = dnn_h5_fail(g, NULL, "group", true, DNN_ERR_IO, "cannot list its members");
  }
  if (st != DNN_OK) dnn_h5_strings_free(out);
  H5Gclose(g);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

dnn_status dnn_h5_group_iterate(dnn_h5_id loc, const char *name, dnn_h5_order order,
                                dnn_h5_member_fn fn, void *ctx) {
  dnn_h5_strings l;
  dnn_status st = dnn_h5_group_members(loc, name, order, &l);
  for (int64_t i = 0; st == DNN_OK && i < l.n; i++) st = fn(l.s[i], ctx);
  dnn_h5_strings_free(&l);
  return st;
}

dnn_status dnn_h5_link_hard(dnn_h5_id loc, const char *target, const char *name) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  hid_t lcpl = -1;
  if (link_exists((hid_t)loc, name)) {
    st = dnn_h5_fail(loc, name, "link", false, DNN_ERR_ARG, "the name exists already");
  } else if (!link_exists((hid_t)loc, target)) {
    st = dnn_h5_fail(loc, target, "link target", false, DNN_ERR_ARG, "no such object");
  } else {
    lcpl = dnn_h5_lcpl(name);
    if (lcpl < 0 || H5Lcreate_hard((hid_t)loc, target, (hid_t)loc, name, lcpl, H5P_DEFAULT) < 0)
      st = dnn_h5_fail(loc, name, "link", true, DNN_ERR_IO, "cannot create it");
  }
  if (lcpl >= 0) H5Pclose(lcpl);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}
