/*
 * ferry-cmd-nova-sync.h: the `ferry nova-sync` subcommand.
 */
#pragma once

/* argv[0] is the subcommand name.  Returns the exit status: 0 done, 1 failed,
 * 2 bad usage, 75 (EX_TEMPFAIL) queued because the database is unreachable. */
int ferry_cmd_nova_sync(int argc, char **argv, const char *config_path);
