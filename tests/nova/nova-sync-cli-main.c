/*
 * nova-sync-cli-main.c: runs the `nova-sync` subcommand alone, for the tests, until the
 * lead's ferry binary registers it.  Usage: ferry-nova-sync-cli INVENTORY nova-sync ARGS...
 */
#include <glib.h>

#include "engine/cli/ferry-cmd-nova-sync.h"

int
main(int argc, char **argv)
{
    if (argc < 3) {
        g_printerr("usage: %s INVENTORY nova-sync [ARGS...]\n", argv[0]);
        return 2;
    }
    return ferry_cmd_nova_sync(argc - 2, argv + 2, argv[1]);
}
