/* dnnlua: Lua 5.4 with the dnn module preloaded.
 *   dnnlua script.lua a b    run a script (global `arg` as in lua5.4)
 *   dnnlua -e CODE           run a chunk;  -l MOD  require a module
 *   dnnlua -i script.lua     run, then enter the REPL
 *   dnnlua                   the REPL (when stdin is a terminal)
 * Modelled on lua.c: errors print a traceback and exit non-zero. */
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dnn.h"

int luaopen_dnn_core(lua_State *L);

static const char *progname = "dnnlua";
static lua_State *global_L;

/* Ctrl-C: the hook raises a Lua error at the next instruction (lua.c's lstop). */
static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* set by Ctrl-C so the report starts on a new line, after the echoed ^C */
static volatile sig_atomic_t interrupted;

static void laction(int sig) {
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process */
  interrupted = 1;
  lua_sethook(global_L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int dnn_docall(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  global_L = L;
  signal(SIGINT, laction);
  int status = lua_pcall(L, nargs, nres, base);
  signal(SIGINT, SIG_DFL);
  /* a Ctrl-C that came as the call ended must not stop the next one */
  if (lua_gethook(L) == lstop) lua_sethook(L, NULL, 0, 0);
  lua_remove(L, base);
  return status;
}

void dnn_report(lua_State *L, const char *name) {
  fflush(stdout); /* results printed so far come before the error */
  if (interrupted && isatty(STDERR_FILENO)) fputc('\n', stderr);
  interrupted = 0;
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "%s: %s\n", name ? name : progname, msg ? msg : "(error object is not a string)");
  fflush(stderr);
  lua_pop(L, 1);
}

static int report_status(lua_State *L, int status) {
  if (status != LUA_OK) dnn_report(L, progname);
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = dnn_docall(L, 0, 0);
  return report_status(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod: mod = require "mod"; -l g=mod: g = require "mod"; -l mod-v2:
 * mod = require "mod-v2" (lua.c's rules). */
static int dolibrary(lua_State *L, const char *arg) {
  char glob[256];
  snprintf(glob, sizeof glob, "%s", arg);
  const char *modname = arg;
  char *eq = strchr(glob, '=');
  if (eq) {
    *eq = 0;
    modname = arg + (eq - glob) + 1;
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  int status = dnn_docall(L, 1, 1);
  if (status == LUA_OK) {
    char *suffix = eq ? NULL : strchr(glob, '-');
    if (suffix) *suffix = 0;
    lua_setglobal(L, glob);
  }
  return report_status(L, status);
}

static bool dir_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The folder holding the dnn Lua sources (lua/dnn/): $DNN_LUA_DIR, the source tree this binary
 * was built from, or ../lua next to the executable. */
static void lua_dir(char *out, size_t n) {
  const char *env = getenv("DNN_LUA_DIR");
  if (env && dir_exists(env)) {
    snprintf(out, n, "%s", env);
    return;
  }
#ifdef DNN_LUA_DIR
  if (dir_exists(DNN_LUA_DIR)) {
    snprintf(out, n, "%s", DNN_LUA_DIR);
    return;
  }
#endif
  char exe[2048];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(out, n, "%s/../lua", exe);
    return;
  }
  snprintf(out, n, "lua");
}

static void setup_dnn(lua_State *L) {
  char dir[4096], path[9000];
  lua_dir(dir, sizeof dir);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  snprintf(path, sizeof path, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushstring(L, path);
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_dnn_core);
  lua_setfield(L, -2, "dnn.core");
  lua_pop(L, 2);
}

/* arg table: arg[0] = script, arg[1..] = its arguments, interpreter at negatives. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  int narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  int i;
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = dnn_docall(L, n, LUA_MULTRET);
  }
  return report_status(L, status);
}

static void print_usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -i        enter interactive mode after executing 'script'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -v, --version  show version information\n"
          "  -h, --help     show this help\n"
          "  --        stop handling options\n"
          "  -         execute stdin and stop handling options\n"
          "With no script and a terminal on stdin, starts the REPL (the global 'dnn' is loaded).\n",
          progname);
}

const char *dnn_version_string(void) {
  static char buf[128];
  snprintf(buf, sizeof buf, "dnnlua %s (%s; %s)", DNN_VERSION,
#ifdef DNN_HAVE_CUDA
           "CPU + CUDA",
#else
           "CPU",
#endif
           LUA_RELEASE);
  return buf;
}

static void print_version(void) { printf("%s\n", dnn_version_string()); }

/* The global `help` is dnn.help.help (also callable as dnn.help(...)). */
static void set_help_global(lua_State *L) {
  int top = lua_gettop(L);
  if (lua_getglobal(L, "dnn") == LUA_TTABLE && lua_getfield(L, -1, "help") == LUA_TTABLE &&
      lua_getfield(L, -1, "help") == LUA_TFUNCTION)
    lua_setglobal(L, "help");
  lua_settop(L, top);
}

typedef struct {
  int interactive, version, script, help;
} opts;

/* Scans options; returns -1 on a bad option. */
static int collect_args(char **argv, opts *o) {
  int i;
  for (i = 1; argv[i] != NULL; i++) {
    const char *a = argv[i];
    if (a[0] != '-') {
      o->script = i;
      return 0;
    }
    if (strcmp(a, "--") == 0) {
      if (argv[i + 1]) o->script = i + 1;
      return 0;
    }
    if (strcmp(a, "-") == 0) {
      o->script = i;
      return 0;
    }
    if (strcmp(a, "-i") == 0) o->interactive = 1;
    else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) o->version = 1;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) o->help = 1;
    else if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
      if (argv[i + 1] == NULL) return -1;
      i++;
    } else if (strncmp(a, "-e", 2) == 0 || strncmp(a, "-l", 2) == 0) {
      /* -eCODE / -lmod */
    } else {
      return -1;
    }
  }
  return 0;
}

static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && (a[1] == 'e' || a[1] == 'l')) {
      const char *extra = a[2] ? a + 2 : argv[++i];
      int st = a[1] == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
      if (st != LUA_OK) return 0;
    }
  }
  return 1;
}

typedef struct {
  int argc;
  char **argv;
  int status;
} main_args;

static int pmain(lua_State *L) {
  main_args *m = lua_touserdata(L, 1);
  char **argv = m->argv;
  opts o = {0};
  if (argv[0] && argv[0][0]) progname = argv[0];
  if (collect_args(argv, &o) < 0) {
    print_usage(stderr);
    return 0;
  }
  if (o.help) {
    print_usage(stdout);
    m->status = 1;
    return 0;
  }
  if (o.version) {
    print_version();
    if (!o.script && !o.interactive) {
      m->status = 1;
      return 0;
    }
  }
  luaL_openlibs(L);
  setup_dnn(L);
  createargtable(L, argv, m->argc, o.script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0); /* as lua.c: short-lived tensors die young, cheaply */
  /* the global dnn, loaded eagerly so scripts and the REPL start ready */
  lua_getglobal(L, "require");
  lua_pushstring(L, "dnn");
  if (report_status(L, dnn_docall(L, 1, 1)) != LUA_OK) return 0;
  lua_setglobal(L, "dnn");
  set_help_global(L);
  int optlim = o.script > 0 ? o.script : m->argc;
  if (!runargs(L, argv, optlim)) return 0;
  if (o.script && handle_script(L, argv + o.script) != LUA_OK) return 0;
  if (o.interactive) {
    if (dnn_repl(L) != 0) return 0;
  } else if (o.script == 0 && !o.version) {
    bool ran_e = false;
    for (int i = 1; i < optlim; i++)
      if (strncmp(argv[i], "-e", 2) == 0) ran_e = true;
    if (!ran_e) {
      if (isatty(0)) {
        if (dnn_repl(L) != 0) return 0;
      } else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) {
        return 0;
      }
    }
  }
  m->status = 1;
  return 0;
}

int main(int argc, char **argv) {
  lua_State *L = lua_newstate(dnn_lua_alloc, NULL);
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", argv[0]);
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  main_args m = {argc, argv, 0};
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &m);
  int status = lua_pcall(L, 1, 0, 0);
  if (status != LUA_OK) dnn_report(L, progname);
  lua_close(L);
  return (status == LUA_OK && m.status) ? EXIT_SUCCESS : EXIT_FAILURE;
}
