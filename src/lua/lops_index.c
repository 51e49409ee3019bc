/* Indexing ops from Lua: gather, scatter, index_select, masks, one_hot,
 * cat/stack/split/chunk, sort/topk/bincount/unique. */
#include "lutil.h"

void dnnL_open_ops_index(lua_State *L) { (void)L; }
