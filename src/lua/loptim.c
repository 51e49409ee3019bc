/* Lua bindings of the optim area. */
#include "lutil.h"

void dnnL_open_optim(lua_State *L) { (void)L; }
