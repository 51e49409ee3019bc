/* Lua bindings of the nn area. */
#include "lutil.h"

void dnnL_open_nn(lua_State *L) { (void)L; }
