/*
 * ferry-cli.h: the ferry command's shared pieces.  Each subcommand lives in its own
 * ferry-cmd-*.c with its own GOptionEntry table and is listed in ferry-main.c's commands[].
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

enum {
    FERRY_EXIT_OK = 0,
    FERRY_EXIT_FAILED = 1, /* the operation failed; nothing was left half-done */
    FERRY_EXIT_USAGE = 2,  /* bad arguments or configuration; nothing was touched */
};

typedef struct {
    const char *config_path; /* --config, or NULL */
    gboolean verbose;
} FerryGlobals;

typedef int (*FerryCommandFunc)(int argc, char **argv, const FerryGlobals *globals);

/* The subcommands, listed in ferry-main.c's commands[]. */
int ferry_cmd_migrate(int argc, char **argv, const FerryGlobals *globals);
int ferry_cmd_xml(int argc, char **argv, const FerryGlobals *globals);
int ferry_cmd_check(int argc, char **argv, const FerryGlobals *globals);

/* Prints "ferry: <message>" to stderr. */
void ferry_cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Parses a subcommand's options; on error prints it with the usage hint and returns FALSE. */
gboolean ferry_cli_parse(GOptionContext *context, int *argc, char ***argv);

/* A cancellable that fires on SIGINT or SIGTERM (handled in a thread of its own, so the
 * engine's threads never see the signals). */
GCancellable *ferry_cli_signal_cancellable(void);

gboolean ferry_cli_stderr_is_tty(void);

char *ferry_cli_format_bytes(guint64 bytes);

G_END_DECLS
