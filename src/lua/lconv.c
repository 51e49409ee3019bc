/* Lua bindings of the conv area. */
#include "lutil.h"

void dnnL_open_conv(lua_State *L) { (void)L; }
