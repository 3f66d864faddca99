/*
 * ferry-main.c: the ferry command: global options (anywhere on the line), then one command
 * from commands[], whose error is printed once here and turned into the exit status.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "engine/cli/ferry-cli.h"

typedef struct {
    const char *name;
    FerryCommandFunc func;
    const char *summary;
} FerryCommand;

static gboolean cmd_help(FerryCli *cli, int argc, char **argv, GError **error);

static const FerryCommand commands[] = {
    {"migrate", ferry_cmd_migrate, "move a guest to another host: live (block or shared) or cold"},
    {"xml", ferry_cmd_xml, "show the destination XML and disk plan, without migrating"},
    {"nova-sync", ferry_cmd_nova_sync, "tell Nova where a guest now lives; --undo, --pending"},
    {"check", ferry_cmd_check, "check ssh trust (every hop a migration uses) or shared storage"},
    {"recover", ferry_cmd_recover, "finish or roll back what a killed ferry left unfinished"},
    {"status", ferry_cmd_status, "list running and recent operations (phase, progress, log)"},
    {"abort", ferry_cmd_abort, "abort a running migration from another shell (as Ctrl-C there)"},
    {"bench", ferry_cmd_bench, "measure migrations by ferry and by plain virsh, side by side"},
    {"list", ferry_cmd_list, "every host and guest of the inventory, asked at once"},
    {"locate", ferry_cmd_locate, "where a guest is defined, runs, and Nova thinks it is"},
    {"evacuate", ferry_cmd_evacuate, "move every guest off a host, several at once"},
    {"plan", ferry_cmd_plan, "the moves a host map needs (--host-map FILE)"},
    {"apply", ferry_cmd_apply, "carry out a host map (--host-map FILE), asking before each"},
    {"rescue", ferry_cmd_rescue, "start a dead host's shared-disk guests elsewhere; --cleanup"},
    {"snapshot", ferry_cmd_snapshot, "record every guest's definition, for rescue (cron)"},
    {"help", cmd_help, "describe ferry, or one command (ferry help COMMAND)"},
};

static const char *command_names[G_N_ELEMENTS(commands)];

const char *const *
ferry_cli_command_names(gsize *n)
{
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        command_names[i] = commands[i].name;
    *n = G_N_ELEMENTS(commands);
    return command_names;
}

#define EXIT_STATUS_TEXT                                                                           \
    "Exit status (every command):\n"                                                               \
    "  0   done\n"                                                                                 \
    "  1   failed (migrate: the message says where the guest is; a move that failed before the\n" \
    "      guest moved leaves it running on its source as it was)\n"                              \
    "  2   refused before anything changed: bad arguments, inventory or configuration, a guest\n" \
    "      or host that does not exist or is ambiguous, a failed destination check, a guest\n"    \
    "      another ferry works on, a fleet plan or host map that does not fit, a rescue of a\n"   \
    "      host not proven dead and fenced\n"                                                     \
    "  75  done, but the Nova sync is queued (its database unreachable): ferry nova-sync "        \
    "--pending"

static char *
commands_description(void)
{
    GString *s = g_string_new("Commands:\n");

    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        g_string_append_printf(s, "  %-12s %s\n", commands[i].name, commands[i].summary);
    g_string_append(s, "\nGlobal options may come anywhere on the line.  The inventory is "
                       "--config FILE,\nelse $FERRY_CONFIG, else " FERRY_INVENTORY_DEFAULT_PATH
                       ".  'ferry help COMMAND' describes a command.\n"
                       "--json output: one JSON object a line, as docs/json-schema.json "
                       "describes.\n\n" EXIT_STATUS_TEXT);
    return g_string_free(s, FALSE);
}

static const FerryCommand *
command_find(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_equal(name, commands[i].name))
            return &commands[i];
    }
    return NULL;
}

static void
unknown_command(const char *name, GError **error)
{
    gsize n;
    const char *const *names = ferry_cli_command_names(&n);

    ferry_cli_usage_error(error, "unknown command '%s'", name);
    ferry_cli_error_suggest(*error, name, names, n);
    {
        char *m = g_strdup_printf("%s; see ferry help", (*error)->message);
        g_free((*error)->message);
        (*error)->message = m;
    }
}

static char *main_help;

/* `ferry help [COMMAND]`: the main help, or the command's own --help. */
static gboolean
cmd_help(FerryCli *cli, int argc, char **argv, GError **error)
{
    const FerryCommand *command;
    char *help_argv[] = {NULL, (char *)"--help", NULL};

    if (argc < 2) {
        printf("%s", main_help);
        return TRUE;
    }
    if (argc > 2) {
        ferry_cli_usage_error(error, "help takes at most one COMMAND");
        return FALSE;
    }
    if (!(command = command_find(argv[1])) || command->func == cmd_help) {
        if (command)
            return cmd_help(cli, 1, argv, error);
        unknown_command(argv[1], error);
        return FALSE;
    }
    help_argv[0] = argv[1];
    /* GOption prints the help and exits 0 by itself */
    return command->func(cli, 2, help_argv, error);
}

/* Global options may come anywhere (ferry xml g --to b --verbose): they are taken out of argv
 * before the command sees it, up to a "--". */
static gboolean
take_global_options(int *argc, char **argv, char **config, gboolean *verbose, gboolean *version,
                    gboolean *help, GError **error)
{
    int out = 1;
    int i;

    for (i = 1; i < *argc; i++) {
        const char *a = argv[i];

        if (g_str_equal(a, "--")) {
            break;
        } else if (g_str_equal(a, "--verbose") || g_str_equal(a, "-v")) {
            *verbose = TRUE;
        } else if (g_str_equal(a, "--version")) {
            *version = TRUE;
        } else if (out == 1 && (g_str_equal(a, "--help") || g_str_equal(a, "-h"))) {
            /* before the command: ferry's own help; after it, the command's */
            *help = TRUE;
        } else if (g_str_equal(a, "--config") || g_str_equal(a, "-c")) {
            if (i + 1 >= *argc) {
                ferry_cli_usage_error(error, "%s needs a FILE", a);
                return FALSE;
            }
            g_free(*config);
            *config = g_strdup(argv[++i]);
        } else if (g_str_has_prefix(a, "--config=")) {
            g_free(*config);
            *config = g_strdup(a + strlen("--config="));
        } else {
            argv[out++] = argv[i];
        }
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    argv[out] = NULL;
    *argc = out;
    return TRUE;
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
    gboolean version = FALSE, help = FALSE;
    g_autoptr(GOptionContext) context = g_option_context_new("COMMAND [OPTIONS...]");
    const GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
         "The inventory (default: $FERRY_CONFIG, else " FERRY_INVENTORY_DEFAULT_PATH ")", "FILE"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &cli.verbose, "Debug messages on stderr", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print ferry's version", NULL},
        {NULL},
    };
    g_autoptr(GError) error = NULL;
    const FerryCommand *command = NULL;
    int status;

    setlocale(LC_ALL, "");
    g_set_prgname("ferry");
    /* stdout closed under us (ferry ... | head) is a failed write, not death mid-move */
    signal(SIGPIPE, SIG_IGN);
    g_option_context_set_summary(context, "Moves KVM guests between libvirt hosts.");
    g_option_context_set_description(context, description);
    g_option_context_add_main_entries(context, entries, NULL);
    main_help = g_option_context_get_help(context, TRUE, NULL);
    if (!take_global_options(&argc, argv, &config, &cli.verbose, &version, &help, &error)) {
        fprintf(stderr, "ferry: %s (see ferry help)\n", error->message);
        g_free(main_help);
        return FERRY_EXIT_USAGE;
    }
    if (version) {
        printf("ferry 0.1.0\n");
        g_free(main_help);
        return FERRY_EXIT_OK;
    }
    if (help) {
        printf("%s", main_help);
        g_free(main_help);
        return FERRY_EXIT_OK;
    }
    if (argc < 2) {
        fprintf(stderr, "%s", main_help);
        g_free(main_help);
        return FERRY_EXIT_USAGE;
    }
    if (argv[1][0] == '-') {
        ferry_cli_usage_error(&error, "unknown option '%s' before the command", argv[1]);
        ferry_cli_error_suggest(error, argv[1],
                                (const char *const[]){"--config", "--verbose", "--version",
                                                      "--help"},
                                4);
    } else if (!(command = command_find(argv[1]))) {
        unknown_command(argv[1], &error);
    }
    if (error) {
        fprintf(stderr, "ferry: %s\n", error->message);
        g_free(main_help);
        return FERRY_EXIT_USAGE;
    }
    /* Debug messages and warnings go to stderr: stdout carries only results (JSON with --json). */
    g_log_writer_default_set_use_stderr(TRUE);
    if (cli.verbose)
        g_log_set_debug_enabled(TRUE);
    cli.config_arg = config;
    cli.config_path = g_strdup(ferry_inventory_resolve_path(config));
    if (command->func(&cli, argc - 1, argv + 1, &error)) {
        g_free(main_help);
        return cli.status ? cli.status : FERRY_EXIT_OK;
    }
    g_free(main_help);
    if (error && !g_error_matches(error, FERRY_CLI_ERROR, FERRY_CLI_ERROR_FAILED))
        fprintf(stderr, "ferry: %s\n", error->message);
    if (cli.status)
        return cli.status;
    status = error ? ferry_cli_exit_status(error) : FERRY_EXIT_FAILED;
    return status;
}
