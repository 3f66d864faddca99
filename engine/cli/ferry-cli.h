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

/* Exit statuses, as the README documents them. */
enum {
    FERRY_EXIT_OK = 0,
    FERRY_EXIT_FAILED = 1, /* the operation failed */
    FERRY_EXIT_USAGE = 2,  /* bad arguments or configuration; nothing was touched */
    FERRY_EXIT_QUEUED = 75, /* EX_TEMPFAIL: Nova's database unreachable, the sync is queued */
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
} FerryCli;

/* A command: argv[0] is its name.  TRUE when done; FALSE with @error set otherwise. */
typedef gboolean (*FerryCommandFunc)(FerryCli *cli, int argc, char **argv, GError **error);

gboolean ferry_cmd_migrate(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_xml(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_check(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_nova_sync(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_recover(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_rescue(FerryCli *cli, int argc, char **argv, GError **error);
gboolean ferry_cmd_snapshot(FerryCli *cli, int argc, char **argv, GError **error);

/* The inventory, loaded once; FERRY_INVENTORY_ERROR (exit 2) when it cannot be. */
FerryInventory *ferry_cli_inventory(FerryCli *cli, GError **error);

/* Parses a command's options; G_OPTION_ERROR (exit 2) on a bad one. */
gboolean ferry_cli_parse(GOptionContext *context, int *argc, char ***argv, GError **error);

/* Sets a FERRY_CLI_ERROR_USAGE error. */
void ferry_cli_usage_error(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* The exit status for a command's error (NULL: FERRY_EXIT_OK). */
int ferry_cli_exit_status(const GError *error);

/* Prints "ferry: <message>" to stderr (warnings that do not end the command). */
void ferry_cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* A cancellable that fires on SIGINT or SIGTERM (handled in a thread of its own, so the
 * engine's threads never see the signals). */
GCancellable *ferry_cli_signal_cancellable(void);

gboolean ferry_cli_stderr_is_tty(void);

char *ferry_cli_format_bytes(guint64 bytes);

G_END_DECLS
