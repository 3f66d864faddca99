/*
 * ferry-main.c: the ferry command: global options, then one subcommand from commands[].
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli.h"
#include "engine/cli/ferry-cmd-nova-sync.h"

typedef struct {
    const char *name;
    FerryCommandFunc func;
    const char *summary;
} FerryCommand;

static int
cmd_nova_sync(int argc, char **argv, const FerryGlobals *globals)
{
    return ferry_cmd_nova_sync(argc, argv, globals->config_path);
}

static const FerryCommand commands[] = {
    {"migrate", ferry_cmd_migrate, "live-migrate a running guest to another host"},
    {"xml", ferry_cmd_xml, "show the destination XML and disk plan, without migrating"},
    {"nova-sync", cmd_nova_sync, "tell Nova where a guest now lives; --undo, --pending"},
    {"check", ferry_cmd_check, "check ssh trust between hosts or shared storage"},
};

static void
usage(FILE *out)
{
    fprintf(out, "Usage: ferry [--config FILE] [--verbose] COMMAND [OPTIONS...]\n\n"
                 "Moves KVM guests between libvirt hosts.\n\nCommands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nThe inventory is --config FILE, else $FERRY_CONFIG, else "
                 "/etc/ferry/inventory.ini.\n'ferry COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
    FerryGlobals globals = {0};
    int i = 1;

    setlocale(LC_ALL, "");
    /* Global options come before the command name. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (g_str_equal(argv[i], "--config") && i + 1 < argc) {
            globals.config_path = argv[++i];
        } else if (g_str_has_prefix(argv[i], "--config=")) {
            globals.config_path = argv[i] + strlen("--config=");
        } else if (g_str_equal(argv[i], "--verbose") || g_str_equal(argv[i], "-v")) {
            globals.verbose = TRUE;
        } else if (g_str_equal(argv[i], "--help") || g_str_equal(argv[i], "-h")) {
            usage(stdout);
            return FERRY_EXIT_OK;
        } else if (g_str_equal(argv[i], "--version")) {
            printf("ferry 0.1.0\n");
            return FERRY_EXIT_OK;
        } else {
            ferry_cli_error("unknown option '%s'", argv[i]);
            usage(stderr);
            return FERRY_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return FERRY_EXIT_USAGE;
    }
    if (globals.verbose)
        g_setenv("G_MESSAGES_DEBUG", "ferry", TRUE);
    for (gsize c = 0; c < G_N_ELEMENTS(commands); c++) {
        if (g_str_equal(argv[i], commands[c].name))
            return commands[c].func(argc - i, argv + i, &globals);
    }
    ferry_cli_error("unknown command '%s'", argv[i]);
    usage(stderr);
    return FERRY_EXIT_USAGE;
}
