/*
 * ferry-cli.h: the ferry command's shared pieces.
 *
 * Every command has the same shape: a function in its own ferry-cmd-*.c, listed in
 * ferry-main.c's commands[], that parses its own GOptionEntry table, asks for the inventory
 * through ferry_cli_inventory() (resolved once by main: --config, else $FERRY_CONFIG, else the
 * default path), does its work and returns TRUE, or FALSE with a GError.  main prints the error
 * once ("ferry: MESSAGE" on stderr) and turns it into the exit status (ferry_cli_exit_status).
 */
#pragma once

#include <gio/gio.h>

#include "engine/ferry-inventory.h"

G_BEGIN_DECLS

/* Exit statuses, the same for every command, as the README documents them. */
enum {
    FERRY_EXIT_OK = 0,
    FERRY_EXIT_FAILED = 1,  /* the operation failed (migrate: the message says where the guest
                             * is; before the move, on its source as it was) */
    FERRY_EXIT_USAGE = 2,   /* refused before anything changed: bad arguments, inventory or
                             * configuration, a guest or host that does not exist or is
                             * ambiguous, a destination check that failed, a guest locked */
    FERRY_EXIT_QUEUED = 75, /* EX_TEMPFAIL: done, but the Nova sync is queued (its database is
                             * unreachable; `ferry nova-sync --pending` replays it) */
};

#define FERRY_CLI_ERROR (ferry_cli_error_quark())
GQuark ferry_cli_error_quark(void);

typedef enum {
    FERRY_CLI_ERROR_USAGE,  /* bad arguments: exit 2 */
    FERRY_CLI_ERROR_FAILED, /* failed, and what failed was already printed in detail: exit 1 */
} FerryCliErrorCode;

typedef struct {
    const char *config_arg;  /* --config as given, or NULL */
    char *config_path;       /* --config, else $FERRY_CONFIG, else the default */
    gboolean verbose;
    FerryInventory *inventory; /* loaded by the first ferry_cli_inventory() */
    int status;              /* 0, or the exit status a command chose (75: done, Nova queued;
                              * 2: refused before anything changed) over the error's own */
} FerryCli;

/* A command: argv[0] is its name.  TRUE when done; FALSE with @error set otherwise. */
typedef gboolean (*FerryCommandFunc)(FerryCli *cli, int argc, char **argv, GError **error);

gboolean ferry_cmd_migrate(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_xml(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_check(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_nova_sync(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_recover(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_status(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_abort(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_bench(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_list(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_locate(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_evacuate(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_plan(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_apply(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_rescue(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_snapshot(FerryCli *cli, int argc, char **argv, GError **error);

/* The inventory, loaded once; FERRY_INVENTORY_ERROR (exit 2) when it cannot be. */
FerryInventory *ferry_cli_inventory(FerryCli *cli, GError **error);

/* Parses a command's options; G_OPTION_ERROR (exit 2) on a bad one, with a "did you mean"
 * when an unknown option is close to one of @entries (NULL: none). */
gboolean ferry_cli_parse(GOptionContext *context, int *argc, char ***argv,
                         const GOptionEntry *entries, GError **error);

/* Sets a FERRY_CLI_ERROR_USAGE error. */
void ferry_cli_usage_error(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* The exit status for a command's error (NULL: FERRY_EXIT_OK). */
int ferry_cli_exit_status(const GError *error);

/* Prints "ferry: <message>" to stderr (warnings that do not end the command). */
void ferry_cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* A cancellable that fires on SIGINT or SIGTERM (`ferry abort` sends SIGTERM) unless the
 * operation is past its point of no return (ferry-abort.h: then the signal is answered with
 * what happens instead); SIGHUP only says that the operation carries on.  The signals are
 * handled in a thread of its own, so the engine's threads never see them.  Call before any
 * other thread is started. */
GCancellable *ferry_cli_signal_cancellable(void);

gboolean ferry_cli_stderr_is_tty(void);

/* ferry-cli-log.c: from here on stdout and stderr are also copied to a new log file,
 * STATE_DIR/logs/TIME-PID-@name.log, to the end of the process (what follows a lost terminal
 * is not lost).  Call after ferry_cli_signal_cancellable().  Returns its path. */
char *ferry_cli_log_start(FerryCli *cli, const char *name, GError **error);
/* The log file's path, NULL before ferry_cli_log_start(). */
const char *ferry_cli_log_path(void);
/* Whether stderr was a terminal before the log took it over. */
gboolean ferry_cli_log_stderr_was_tty(void);

char *ferry_cli_format_bytes(guint64 bytes);

/* "did you mean": the one candidate within a few typos of @word (or that it is a prefix of),
 * else NULL (none, or two equally close).  Pure. */
const char *ferry_cli_suggest(const char *word, const char *const *candidates, gsize n);
guint ferry_cli_edit_distance(const char *a, const char *b);

/* Appends " (did you mean 'X'?)" to @error's message when @word is close to X. */
void ferry_cli_error_suggest(GError *error, const char *word, const char *const *candidates,
                             gsize n);

/* For an unknown host or guest in @error: suggests the inventory's host names or the guests
 * defined on the reachable hosts (asked only when the error is that nothing was found). */
void ferry_cli_suggest_host(FerryCli *cli, GError *error, const char *host);
void ferry_cli_suggest_domain(FerryCli *cli, GError *error, const char *domain);

/* For an unknown --option in a GOptionContext error: the closest of @entries. */
void ferry_cli_suggest_option(GError *error, int argc, char **argv, const GOptionEntry *entries);

/* `ferry help`: the main help text, and the commands' names. */
const char *const *ferry_cli_command_names(gsize *n);

G_END_DECLS
