/*
 * ferry-main.c: the ferry command: global options, then one command from commands[], whose
 * error is printed once here and turned into the exit status.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>

#include "engine/cli/ferry-cli.h"

typedef struct {
    const char *name;
    FerryCommandFunc func;
    const char *summary;
} FerryCommand;

static const FerryCommand commands[] = {
    {"migrate", ferry_cmd_migrate, "move a guest to another host (live, block, shared or cold)"},
    {"xml", ferry_cmd_xml, "show the destination XML and disk plan, without migrating"},
    {"nova-sync", ferry_cmd_nova_sync, "tell Nova where a guest now lives; --undo, --pending"},
    {"check", ferry_cmd_check, "check ssh trust between hosts or shared storage"},
    {"recover", ferry_cmd_recover, "finish or roll back what a killed ferry left unfinished"},
    {"rescue", ferry_cmd_rescue, "start a dead host's shared-disk guests elsewhere; --cleanup"},
    {"snapshot", ferry_cmd_snapshot, "record every guest's definition, for rescue (cron)"},
};

static char *
commands_description(void)
{
    GString *s = g_string_new("Commands:\n");

    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        g_string_append_printf(s, "  %-12s %s\n", commands[i].name, commands[i].summary);
    g_string_append(s, "\nThe inventory is --config FILE, else $FERRY_CONFIG, else " FERRY_INVENTORY_DEFAULT_PATH
                       ".\n'ferry COMMAND --help' describes a command.\n"
                       "Exit status: 0 done, 1 failed, 2 bad arguments or configuration "
                       "(nothing touched), 75 Nova sync queued.");
    return g_string_free(s, FALSE);
}

static void
cli_clear(FerryCli *cli)
{
    g_free(cli->config_path);
    g_clear_pointer(&cli->inventory, ferry_inventory_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FerryCli, cli_clear)

int
main(int argc, char **argv)
{
    g_auto(FerryCli) cli = {0};
    g_autofree char *config = NULL;
    g_autofree char *description = commands_description();
    gboolean version = FALSE;
    const GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
         "The inventory (default: $FERRY_CONFIG, else " FERRY_INVENTORY_DEFAULT_PATH ")", "FILE"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &cli.verbose, "Debug messages on stderr", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print ferry's version", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("COMMAND [OPTIONS...]");
    g_autoptr(GError) error = NULL;
    const FerryCommand *command = NULL;

    setlocale(LC_ALL, "");
    /* stdout closed under us (ferry ... | head) is a failed write, not death mid-move */
    signal(SIGPIPE, SIG_IGN);
    g_option_context_set_summary(context, "Moves KVM guests between libvirt hosts.");
    g_option_context_set_description(context, description);
    g_option_context_add_main_entries(context, entries, NULL);
    /* Global options come before the command: parsing stops at its name. */
    g_option_context_set_strict_posix(context, TRUE);
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "ferry: %s (see ferry --help)\n", error->message);
        return FERRY_EXIT_USAGE;
    }
    if (version) {
        printf("ferry 0.1.0\n");
        return FERRY_EXIT_OK;
    }
    if (argc < 2) {
        g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);
        fprintf(stderr, "%s", help);
        return FERRY_EXIT_USAGE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_equal(argv[1], commands[i].name))
            command = &commands[i];
    }
    if (!command) {
        fprintf(stderr, "ferry: unknown command '%s' (see ferry --help)\n", argv[1]);
        return FERRY_EXIT_USAGE;
    }
    /* Debug messages and warnings go to stderr: stdout carries only results (JSON with --json). */
    g_log_writer_default_set_use_stderr(TRUE);
    if (cli.verbose)
        g_log_set_debug_enabled(TRUE);
    cli.config_arg = config;
    cli.config_path = g_strdup(ferry_inventory_resolve_path(config));
    if (command->func(&cli, argc - 1, argv + 1, &error))
        return FERRY_EXIT_OK;
    if (error && !g_error_matches(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED))
        fprintf(stderr, "ferry: %s\n", error->message);
    return error ? ferry_cli_exit_status(error) : FERRY_EXIT_FAILED;
}
