/* Tab completion: readline asks for the word under the cursor and dnn.repl's
 * complete(word) (Lua, lua/dnn/repl.lua) answers with the full candidates
 * ("dnn.zeros", "t:add", ...).  The list shows only the part after the last
 * '.' or ':', as shells show file names without their directory. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

#include "cli.h"

static lua_State *comp_L;
static int comp_ref = LUA_NOREF;

/* readline's array: [0] the common prefix that replaces the word, then the
 * candidates, NULL-terminated; a single candidate is [0] alone.  All malloc'd
 * because readline frees them. */
static char **to_matches(lua_State *L, int idx) {
  int n = (int)lua_rawlen(L, idx);
  if (n <= 0) return NULL;
  char **m = calloc((size_t)n + 2, sizeof *m);
  if (!m) return NULL;
  int k = 1;
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    const char *s = lua_tostring(L, -1);
    if (s && (m[k] = strdup(s)) != NULL) k++;
    lua_pop(L, 1);
  }
  if (k == 1) {
    free(m);
    return NULL;
  }
  size_t common = strlen(m[1]);
  for (int i = 2; i < k; i++) {
    size_t j = 0;
    while (j < common && m[i][j] == m[1][j]) j++;
    common = j;
  }
  if (k == 2) { /* one candidate: it is the substitution */
    m[0] = m[1];
    m[1] = NULL;
    return m;
  }
  m[0] = strndup(m[1], common);
  if (!m[0]) {
    for (int i = 1; i < k; i++) free(m[i]);
    free(m);
    return NULL;
  }
  return m;
}

static char **attempt_completion(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;    /* never fall back to file names */
  rl_completion_append_character = 0; /* "dnn.zeros" then "(" or ".", not a space */
  lua_State *L = comp_L;
  if (!L || comp_ref == LUA_NOREF || !lua_checkstack(L, 4)) return NULL;
  int top = lua_gettop(L);
  char **m = NULL;
  lua_rawgeti(L, LUA_REGISTRYINDEX, comp_ref);
  if (lua_getfield(L, -1, "complete") == LUA_TFUNCTION) {
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TTABLE) m = to_matches(L, lua_gettop(L));
  }
  lua_settop(L, top);
  return m;
}

static void display_matches(char **matches, int n, int max_length) {
  (void)max_length;
  char **shown = calloc((size_t)n + 2, sizeof *shown);
  if (!shown) return;
  int width = 0;
  shown[0] = matches[0];
  for (int i = 1; i <= n; i++) {
    const char *s = matches[i];
    const char *dot = strrchr(s, '.'), *colon = strrchr(s, ':');
    const char *cut = dot > colon ? dot : colon;
    shown[i] = (char *)(cut ? cut + 1 : s);
    int len = (int)strlen(shown[i]);
    if (len > width) width = len;
  }
  rl_display_match_list(shown, n, width);
  rl_forced_update_display();
  free(shown);
}

void dnn_complete_init(lua_State *L, int repl_ref) {
  comp_L = L;
  comp_ref = repl_ref;
  rl_attempted_completion_function = attempt_completion;
  rl_completion_display_matches_hook = display_matches;
  /* '.' and ':' are not breaks: "dnn.io.re" and "t:ad" are one word */
  static char breaks[] = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#?!";
  rl_basic_word_break_characters = breaks;
  rl_completer_word_break_characters = breaks;
}
