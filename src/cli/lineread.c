/* Line input for the REPL.  On a terminal: readline's callback interface
 * driven by pselect, so that Ctrl-C while typing abandons the line (the
 * SIGINT handler only sets a flag; the loop sees it when pselect returns),
 * and a history file ($DNNLUA_HISTORY, else ~/.dnnlua_history) appended to
 * after every chunk, so a killed session keeps what it typed.  Otherwise
 * plain reads, as lua.c does without readline. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli.h"

enum { HISTORY_KEEP = 1000 };

static bool use_readline;
static char history_path[4096];

static volatile sig_atomic_t got_sigint, got_winch;
static char *cb_line;
static bool cb_done;

static void on_sigint(int sig) {
  (void)sig;
  got_sigint = 1;
}

static void on_winch(int sig) {
  (void)sig;
  got_winch = 1;
}

/* readline hands over a finished line (NULL at EOF); removing the handler
 * restores the terminal while the chunk runs. */
static void on_line(char *line) {
  cb_line = line;
  cb_done = true;
  rl_callback_handler_remove();
}

/* $DNNLUA_HISTORY (empty: no history file), else ~/.dnnlua_history. */
static void find_history_path(void) {
  const char *env = getenv("DNNLUA_HISTORY");
  const char *home = getenv("HOME");
  history_path[0] = 0;
  if (env) snprintf(history_path, sizeof history_path, "%s", env);
  else if (home && *home) snprintf(history_path, sizeof history_path, "%s/.dnnlua_history", home);
}

void dnn_lineread_init(void) {
  use_readline = isatty(STDIN_FILENO);
  if (!use_readline) return;
  rl_readline_name = "dnnlua";
  /* our handlers, installed only around pselect (see dnn_lineread) */
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  using_history();
  /* Timestamps mark where each entry starts, so multi-line chunks come
   * back from the file as one entry. */
  history_write_timestamps = 1;
  history_comment_char = '#';
  find_history_path();
  if (history_path[0]) {
    history_truncate_file(history_path, HISTORY_KEEP);
    read_history(history_path);
  }
}

int dnn_lineread_interactive(void) { return use_readline; }

static dnn_line_status read_plain(const char *prompt, char **line) {
  fputs(prompt, stdout);
  fflush(stdout);
  size_t cap = 0;
  char *buf = NULL;
  ssize_t n = getline(&buf, &cap, stdin);
  if (n < 0) {
    free(buf);
    return DNN_LINE_EOF;
  }
  if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
  *line = buf;
  return DNN_LINE_OK;
}

/* Ctrl-C while typing: show ^C after the text (the cursor goes to its end
 * first, so a line that wraps is not overwritten), drop the line and its
 * undo state, leave the terminal as readline found it; the next prompt
 * starts on a fresh line. */
static void abandon_line(void) {
  rl_point = rl_end;
  rl_redisplay();
  fputs("^C\n", rl_outstream ? rl_outstream : stdout);
  fflush(rl_outstream ? rl_outstream : stdout);
  rl_free_line_state();
  rl_callback_sigcleanup();
  rl_cleanup_after_signal();
  rl_callback_handler_remove();
}

static dnn_line_status read_readline(const char *prompt, char **line) {
  struct sigaction sa, old_int, old_winch;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: pselect must return EINTR */
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old_int);
  sa.sa_handler = on_winch;
  sigaction(SIGWINCH, &sa, &old_winch);
  /* Signals stay blocked except inside pselect, so none slips in between
   * checking the flags and going to sleep. */
  sigset_t block, orig;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &orig);

  got_sigint = got_winch = 0;
  cb_done = false;
  cb_line = NULL;
  dnn_line_status st = DNN_LINE_OK;
  rl_callback_handler_install(prompt, on_line);
  int fd = fileno(rl_instream ? rl_instream : stdin);
  while (!cb_done) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    int r = pselect(fd + 1, &fds, NULL, NULL, NULL, &orig);
    if (got_sigint) {
      got_sigint = 0;
      abandon_line();
      st = DNN_LINE_INTERRUPT;
      break;
    }
    if (got_winch) {
      got_winch = 0;
      rl_resize_terminal();
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      rl_callback_handler_remove();
      st = DNN_LINE_EOF;
      break;
    }
    if (r > 0) rl_callback_read_char();
  }
  sigprocmask(SIG_SETMASK, &orig, NULL);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGWINCH, &old_winch, NULL);
  if (st == DNN_LINE_OK) {
    if (cb_line == NULL) return DNN_LINE_EOF;
    *line = cb_line;
  }
  return st;
}

dnn_line_status dnn_lineread(const char *prompt, char **line) {
  *line = NULL;
  return use_readline ? read_readline(prompt, line) : read_plain(prompt, line);
}

static bool file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

void dnn_lineread_remember(const char *chunk) {
  if (!use_readline || chunk == NULL || chunk[0] == 0) return;
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last && strcmp(last->line, chunk) == 0) return; /* no runs of the same entry */
  add_history(chunk);
  char stamp[32];
  snprintf(stamp, sizeof stamp, "#%lld", (long long)time(NULL));
  add_history_time(stamp);
  if (!history_path[0]) return;
  /* append_history needs the file to exist; write_history creates it (0600) */
  if (file_exists(history_path)) append_history(1, history_path);
  else write_history(history_path);
}

void dnn_lineread_close(void) {
  if (!use_readline) return;
  if (history_path[0] && file_exists(history_path)) history_truncate_file(history_path, HISTORY_KEEP);
  rl_callback_handler_remove();
  clear_history();
}
