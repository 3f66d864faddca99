/*
 * ferry-cli-log.c: the operation's log file, so that what ferry says outlives its terminal.
 *
 * A command that changes hosts (migrate) calls ferry_cli_log_start() first: stdout and stderr
 * become pipes read by a thread that copies every byte to STATE_DIR/logs/NAME.log (fsync at the
 * end) and to the original stdout and stderr while they take it.  A terminal that is gone (a
 * write fails: EIO after a hangup, EPIPE for `ferry ... | head`) is simply no longer written
 * to; the log file gets everything to the last line, including the error main prints after the
 * command returned (the copy is drained at exit).  The live display's cursor movements are left
 * out of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/cli/ferry-cli.h"
#include "engine/ferry-journal.h"

typedef struct {
    int in[2];     /* read ends of the stdout and stderr pipes */
    int orig[2];   /* the original stdout and stderr (-1: gone) */
    int log_fd;
    char *path;
    gint finishing;
    GThread *thread;
} FerryCliLog;

static FerryCliLog *cli_log;
static gboolean orig_stderr_tty = -1;

/* Writes all of @data to @fd; FALSE on any error (the reader is gone). */
static gboolean
write_all(int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* The file gets the text without the live display's "\r" and "ESC[K". */
static void
log_write(FerryCliLog *l, const char *data, gsize len)
{
    g_autoptr(GString) s = g_string_sized_new(len);

    for (gsize i = 0; i < len; i++) {
        if (data[i] == '\r')
            continue;
        if (data[i] == '\033' && i + 2 < len && data[i + 1] == '[' && data[i + 2] == 'K') {
            i += 2;
            continue;
        }
        g_string_append_c(s, data[i]);
    }
    if (l->log_fd >= 0 && !write_all(l->log_fd, s->str, s->len)) {
        /* nowhere to say it but the terminal, if it is still there */
        close(l->log_fd);
        l->log_fd = -1;
    }
}

static gpointer
log_thread(gpointer data)
{
    FerryCliLog *l = data;
    char buf[8192];

    for (;;) {
        struct pollfd pfd[2] = {{.fd = l->in[0], .events = POLLIN},
                                {.fd = l->in[1], .events = POLLIN}};
        int n = poll(pfd, 2, 200);
        gboolean open_ends = FALSE;

        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0) {
            /* at exit nothing more comes, even if a child still holds a write end */
            if (g_atomic_int_get(&l->finishing))
                break;
            continue;
        }
        for (int i = 0; i < 2; i++) {
            ssize_t got;

            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = read(l->in[i], buf, sizeof(buf));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(l->in[i]);
                l->in[i] = -1;
                continue;
            }
            log_write(l, buf, (gsize)got);
            if (l->orig[i] >= 0 && !write_all(l->orig[i], buf, (gsize)got)) {
                close(l->orig[i]);
                l->orig[i] = -1;
            }
        }
        for (int i = 0; i < 2; i++)
            open_ends |= l->in[i] >= 0;
        if (!open_ends)
            break;
    }
    return NULL;
}

static void
log_finish(void)
{
    FerryCliLog *l = cli_log;

    if (!l)
        return;
    fflush(stdout);
    fflush(stderr);
    /* the originals back on 1 and 2: the pipes' write ends close, the thread drains them */
    dup2(l->orig[0] >= 0 ? l->orig[0] : open("/dev/null", O_WRONLY | O_CLOEXEC), STDOUT_FILENO);
    dup2(l->orig[1] >= 0 ? l->orig[1] : open("/dev/null", O_WRONLY | O_CLOEXEC), STDERR_FILENO);
    g_atomic_int_set(&l->finishing, 1);
    g_thread_join(l->thread);
    if (l->log_fd >= 0) {
        if (fsync(l->log_fd) < 0)
            g_debug("cannot sync the log '%s'", l->path);
        close(l->log_fd);
    }
    for (int i = 0; i < 2; i++)
        if (l->in[i] >= 0)
            close(l->in[i]);
    g_free(l->path);
    g_free(l);
    cli_log = NULL;
}

const char *
ferry_cli_log_path(void)
{
    return cli_log ? cli_log->path : NULL;
}

gboolean
ferry_cli_log_stderr_was_tty(void)
{
    if (orig_stderr_tty == -1)
        return isatty(STDERR_FILENO);
    return orig_stderr_tty;
}

char *
ferry_cli_log_start(FerryCli *cli, const char *name, GError **error)
{
    g_autofree char *state = ferry_journal_state_dir(cli->inventory);
    g_autofree char *dir = g_build_filename(state, "logs", NULL);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%S");
    g_autofree char *file = NULL;
    g_autofree char *path = NULL;
    FerryCliLog *l;
    int out[2], err[2];
    int fd;

    g_return_val_if_fail(!cli_log, NULL);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int saved = errno;

        ferry_cli_usage_error(error, "cannot create the log directory '%s' (set [ferry] "
                              "state_dir in the inventory or $FERRY_STATE_DIR): %s",
                              dir, g_strerror(saved));
        return NULL;
    }
    file = g_strdup_printf("%s.%06d-%d-%s.log", stamp, g_date_time_get_microsecond(now),
                           (int)getpid(), name);
    path = g_build_filename(dir, file, NULL);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        int saved = errno;

        ferry_cli_usage_error(error, "cannot create the log file '%s': %s", path,
                              g_strerror(saved));
        return NULL;
    }
    if (!g_unix_open_pipe(out, FD_CLOEXEC, NULL) || !g_unix_open_pipe(err, FD_CLOEXEC, NULL)) {
        close(fd);
        ferry_cli_usage_error(error, "cannot create a pipe for the log: %s", g_strerror(errno));
        return NULL;
    }
    fflush(stdout);
    fflush(stderr);
    orig_stderr_tty = isatty(STDERR_FILENO);
    l = g_new0(FerryCliLog, 1);
    l->log_fd = fd;
    l->path = g_strdup(path);
    l->orig[0] = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    l->orig[1] = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    l->in[0] = out[0];
    l->in[1] = err[0];
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    close(out[1]);
    close(err[1]);
    /* lines reach the file (and the terminal) as they are written */
    setvbuf(stdout, NULL, _IOLBF, 0);
    cli_log = l;
    l->thread = g_thread_new("ferry-log", log_thread, l);
    atexit(log_finish);
    return g_steal_pointer(&path);
}
