/*
 * ferry-journal.c: the operations journal and the per-guest lock (see ferry-journal.h).
 */
#include "engine/ferry-journal.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* clang-format off */
G_DEFINE_QUARK(ferry-journal-error-quark, ferry_journal_error)
/* clang-format on */

struct _FerryJournal {
    char *path;  /* journal file */
    char *op;    /* operation id */
    int fd;      /* the journal, O_APPEND */
    int lock_fd; /* the guest's lock file, flock()ed; -1: none */
    char *lock_path;
    GArray *path_locks; /* int: fds of the destination images' locks */
    GHashTable *steps;  /* the steps recorded (names) */
    char *what;         /* "migrating 'g' hostA -> hostB", for the second signal */
    gboolean ended;
};

/* The running operation of this process, for ferry_journal_describe_running(): the signal
 * thread reads it while the migration's thread writes it. */
static GMutex running_lock;
static char *running_what;
static char *running_step;
static char *running_activity;
static gint64 running_since_us;

char *
ferry_journal_state_dir(const FerryInventory *inventory)
{
    const char *env = g_getenv("FERRY_STATE_DIR");
    char *dir;

    if (env && *env)
        return g_strdup(env);
    if (inventory && inventory->keyfile &&
        (dir = g_key_file_get_string(inventory->keyfile, "ferry", "state_dir", NULL))) {
        g_strstrip(dir);
        if (*dir)
            return dir;
        g_free(dir);
    }
    return g_strdup(FERRY_JOURNAL_DEFAULT_STATE_DIR);
}

static gboolean
fsync_dir(const char *dir, GError **error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) < 0) {
        int saved = errno;

        if (fd >= 0)
            close(fd);
        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_IO,
                    "cannot sync directory '%s': %s", dir, g_strerror(saved));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* STATE/SUB, created (0700) when missing. */
static char *
state_subdir(const FerryInventory *inventory, const char *sub, GError **error)
{
    g_autofree char *state = ferry_journal_state_dir(inventory);
    g_autofree char *dir = g_build_filename(state, sub, NULL);

    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int saved = errno;

        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_IO,
                    "cannot create the state directory '%s' (set [ferry] state_dir in the "
                    "inventory or $FERRY_STATE_DIR): %s",
                    dir, g_strerror(saved));
        return NULL;
    }
    return g_steal_pointer(&dir);
}

static char *
now_iso8601(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();

    return g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

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

/* Appends one record and syncs it to disk. */
static gboolean
journal_append(FerryJournal *journal, JsonBuilder *b, GError **error)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *text = NULL;
    g_autofree char *line = NULL;

    json_generator_set_root(gen, root);
    text = json_generator_to_data(gen, NULL);
    line = g_strconcat(text, "\n", NULL);
    if (!write_all(journal->fd, line, strlen(line)) || fsync(journal->fd) < 0) {
        int saved = errno;

        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_IO,
                    "cannot write the journal '%s': %s", journal->path, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

static JsonBuilder *
record_new(FerryJournal *journal, const char *step)
{
    JsonBuilder *b = json_builder_new();
    g_autofree char *time = now_iso8601();

    g_hash_table_add(journal->steps, g_strdup(step));
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "time");
    json_builder_add_string_value(b, time);
    json_builder_set_member_name(b, "op");
    json_builder_add_string_value(b, journal->op);
    json_builder_set_member_name(b, "step");
    json_builder_add_string_value(b, step);
    return b;
}

static void
add_string(JsonBuilder *b, const char *key, const char *value)
{
    if (!value)
        return;
    json_builder_set_member_name(b, key);
    json_builder_add_string_value(b, value);
}

static void
running_set(const char *what, const char *step)
{
    g_mutex_lock(&running_lock);
    if (what) {
        g_free(running_what);
        running_what = g_strdup(what);
    }
    g_free(running_step);
    running_step = g_strdup(step);
    running_since_us = g_get_monotonic_time();
    g_mutex_unlock(&running_lock);
}

void
ferry_journal_note_activity(const char *message)
{
    g_mutex_lock(&running_lock);
    g_free(running_activity);
    running_activity = g_strdup(message);
    g_mutex_unlock(&running_lock);
}

static void
running_clear(void)
{
    g_mutex_lock(&running_lock);
    g_clear_pointer(&running_what, g_free);
    g_clear_pointer(&running_step, g_free);
    g_clear_pointer(&running_activity, g_free);
    g_mutex_unlock(&running_lock);
}

char *
ferry_journal_describe_running(void)
{
    char *s = NULL;

    g_mutex_lock(&running_lock);
    if (running_what)
        s = g_strdup_printf(
            "%s: step '%s' for %.1f s%s%s", running_what, running_step ? running_step : "-",
            (g_get_monotonic_time() - running_since_us) / (double)G_USEC_PER_SEC,
            running_activity ? "; last: " : "", running_activity ? running_activity : "");
    g_mutex_unlock(&running_lock);
    return s;
}

/* ---- the lock */

static char *
lock_holder(int fd)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    if (n <= 0)
        return g_strdup("another ferry (it did not say which)");
    buf[n] = '\0';
    g_strstrip(buf);
    return g_strdup_printf("ferry %s", buf);
}

/* Takes the lock file @lock_name (for @what, "guest 'g' (UUID)"): the fd, or -1 with BUSY
 * naming the holder.  @label is written into it for the next one to read. */
static int
lock_take_file(const FerryInventory *inventory, const char *lock_name, const char *what,
               const char *op, const char *label, char **out_path, GError **error)
{
    g_autofree char *dir = state_subdir(inventory, "locks", error);
    g_autofree char *path = NULL;
    g_autofree char *since = now_iso8601();
    g_autofree char *content = NULL;
    int fd;

    if (!dir)
        return -1;
    path = g_build_filename(dir, lock_name, NULL);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int saved = errno;

        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_IO,
                    "cannot open the lock '%s': %s", path, g_strerror(saved));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        g_autofree char *holder = lock_holder(fd);

        close(fd);
        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY,
                    "%s is being handled by %s: refusing a second operation on it (lock '%s')",
                    what, holder, path);
        return -1;
    }
    content = g_strdup_printf("pid %d since %s op %s %s\n", (int)getpid(), since, op, label);
    if (ftruncate(fd, 0) < 0 || !write_all(fd, content, strlen(content)))
        g_warning("cannot write the lock '%s': %s", path, g_strerror(errno));
    if (out_path)
        *out_path = g_steal_pointer(&path);
    return fd;
}

/* Takes the lock of guest @uuid. */
static int
lock_take(const FerryInventory *inventory, const char *uuid, const char *name, const char *op,
          char **out_path, GError **error)
{
    g_autofree char *lock_name = g_strdup_printf("%s.lock", uuid);
    g_autofree char *what = g_strdup_printf("guest '%s' (%s)", name ? name : uuid, uuid);
    g_autofree char *label = g_strdup_printf("name %s", name ? name : uuid);

    return lock_take_file(inventory, lock_name, what, op, label, out_path, error);
}

gboolean
ferry_journal_lock_paths(FerryJournal *journal, const FerryInventory *inventory, const char *host,
                         const char *const *paths, GError **error)
{
    for (guint i = 0; journal && paths && paths[i]; i++) {
        g_autofree char *key = g_strdup_printf("%s:%s", host, paths[i]);
        g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
        g_autofree char *lock_name = g_strdup_printf("image-%s.lock", sum);
        g_autofree char *what = g_strdup_printf("destination image '%s' on '%s'", paths[i], host);
        g_autofree char *label = g_strdup_printf("image %s", key);
        int fd = lock_take_file(inventory, lock_name, what, journal->op, label, NULL, error);

        if (fd < 0)
            return FALSE;
        g_array_append_val(journal->path_locks, fd);
    }
    return TRUE;
}

gboolean
ferry_journal_check_free(const FerryInventory *inventory, const char *domain, GError **error)
{
    g_autofree char *state = ferry_journal_state_dir(inventory);
    g_autofree char *dir = g_build_filename(state, "locks", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autofree char *needle = g_strdup_printf(" name %s\n", domain);
    const char *entry;

    if (!d)
        return TRUE; /* no lock was ever taken */
    while ((entry = g_dir_read_name(d))) {
        g_autofree char *path = NULL;
        g_autofree char *uuid = NULL;
        char buf[512];
        ssize_t n;
        int fd;

        if (!g_str_has_suffix(entry, ".lock"))
            continue;
        path = g_build_filename(dir, entry, NULL);
        uuid = g_strndup(entry, strlen(entry) - strlen(".lock"));
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            continue;
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        buf[MAX(n, 0)] = '\0';
        if ((g_ascii_strcasecmp(uuid, domain) == 0 || strstr(buf, needle)) &&
            flock(fd, LOCK_SH | LOCK_NB) < 0) {
            g_autofree char *holder = lock_holder(fd);

            close(fd);
            g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY,
                        "guest '%s' (%s) is being handled by %s: refusing a second operation "
                        "on it (lock '%s')",
                        domain, uuid, holder, path);
            return FALSE;
        }
        close(fd);
    }
    return TRUE;
}

/* ---- writing */

static FerryJournal *
journal_open_file(const char *path, const char *op, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    FerryJournal *journal;
    gboolean existed = g_file_test(path, G_FILE_TEST_EXISTS);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        int saved = errno;

        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_IO,
                    "cannot create the journal '%s': %s", path, g_strerror(saved));
        return NULL;
    }
    if (!existed && !fsync_dir(dir, error)) {
        close(fd);
        return NULL;
    }
    journal = g_new0(FerryJournal, 1);
    journal->path = g_strdup(path);
    journal->op = g_strdup(op);
    journal->fd = fd;
    journal->lock_fd = -1;
    journal->path_locks = g_array_new(FALSE, FALSE, sizeof(int));
    journal->steps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return journal;
}

FerryJournal *
ferry_journal_begin(const FerryInventory *inventory, const char *name, const char *uuid,
                    const char *src, const char *dst, const char *mode, const char *state,
                    GError **error)
{
    g_autofree char *dir = state_subdir(inventory, "journal", error);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%S");
    g_autofree char *op = NULL;
    g_autofree char *file = NULL;
    g_autofree char *path = NULL;
    g_autofree char *lock_path = NULL;
    g_autofree char *pid = NULL;
    g_autoptr(FerryJournal) journal = NULL;
    g_autoptr(JsonBuilder) b = NULL;
    int lock_fd;

    if (!dir)
        return NULL;
    op = g_strdup_printf("%s.%06d-%.8s-%d", stamp, g_date_time_get_microsecond(now), uuid,
                         (int)getpid());
    if ((lock_fd = lock_take(inventory, uuid, name, op, &lock_path, error)) < 0)
        return NULL;
    file = g_strdup_printf("%s.jsonl", op);
    path = g_build_filename(dir, file, NULL);
    if (!(journal = journal_open_file(path, op, error))) {
        close(lock_fd);
        return NULL;
    }
    journal->lock_fd = lock_fd;
    journal->lock_path = g_steal_pointer(&lock_path);
    journal->what =
        g_strdup_printf("moving '%s' %s -> %s (%s, journal %s)", name, src, dst, mode, path);
    pid = g_strdup_printf("%d", (int)getpid());
    b = record_new(journal, "start");
    add_string(b, "name", name);
    add_string(b, "uuid", uuid);
    add_string(b, "source", src);
    add_string(b, "destination", dst);
    add_string(b, "mode", mode);
    add_string(b, "state", state);
    add_string(b, "pid", pid);
    json_builder_end_object(b);
    if (!journal_append(journal, b, error))
        return NULL;
    running_set(journal->what, "start");
    return g_steal_pointer(&journal);
}

void
ferry_journal_step(FerryJournal *journal, const char *step, ...)
{
    g_autoptr(JsonBuilder) b = NULL;
    g_autoptr(GError) error = NULL;
    const char *key;
    va_list args;

    if (!journal)
        return;
    b = record_new(journal, step);
    va_start(args, step);
    while ((key = va_arg(args, const char *))) {
        const char *value = va_arg(args, const char *);

        add_string(b, key, value);
    }
    va_end(args);
    json_builder_end_object(b);
    if (!journal_append(journal, b, &error))
        g_warning("%s", error->message);
    running_set(NULL, step);
}

void
ferry_journal_step_paths(FerryJournal *journal, const char *step, const char *const *paths)
{
    g_autoptr(JsonBuilder) b = NULL;
    g_autoptr(GError) error = NULL;

    if (!journal)
        return;
    b = record_new(journal, step);
    json_builder_set_member_name(b, "paths");
    json_builder_begin_array(b);
    for (guint i = 0; paths && paths[i]; i++)
        json_builder_add_string_value(b, paths[i]);
    json_builder_end_array(b);
    json_builder_end_object(b);
    if (!journal_append(journal, b, &error))
        g_warning("%s", error->message);
    running_set(NULL, step);
}

static void
journal_unlock(FerryJournal *journal)
{
    for (guint i = 0; i < journal->path_locks->len; i++) {
        int fd = g_array_index(journal->path_locks, int, i);

        if (ftruncate(fd, 0) < 0)
            g_debug("cannot empty an image lock of %s", journal->op);
        close(fd);
    }
    g_array_set_size(journal->path_locks, 0);
    if (journal->lock_fd >= 0) {
        /* emptied first: a reader never names a process that has let go */
        if (ftruncate(journal->lock_fd, 0) < 0)
            g_debug("cannot empty the lock '%s'", journal->lock_path);
        close(journal->lock_fd);
        journal->lock_fd = -1;
    }
}

gboolean
ferry_journal_has_step(const FerryJournal *journal, const char *step)
{
    return journal && g_hash_table_contains(journal->steps, step);
}

void
ferry_journal_end(FerryJournal *journal, const char *result)
{
    if (!journal || journal->ended)
        return;
    ferry_journal_step(journal, "end", "result", result, NULL);
    journal->ended = TRUE;
    journal_unlock(journal);
    running_clear();
}

void
ferry_journal_free(FerryJournal *journal)
{
    if (!journal)
        return;
    journal_unlock(journal);
    if (journal->fd >= 0)
        close(journal->fd);
    g_free(journal->path);
    g_free(journal->op);
    g_free(journal->lock_path);
    g_free(journal->what);
    g_array_unref(journal->path_locks);
    g_hash_table_unref(journal->steps);
    g_free(journal);
}

/* ---- reading */

void
ferry_journal_op_free(FerryJournalOp *op)
{
    if (!op)
        return;
    g_free(op->path);
    g_free(op->op);
    g_ptr_array_unref(op->records);
    g_free(op);
}

static FerryJournalOp *
journal_read(const char *path)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(FerryJournalOp) op = g_new0(FerryJournalOp, 1);
    g_autoptr(GError) error = NULL;

    if (!g_file_get_contents(path, &text, NULL, &error)) {
        g_warning("cannot read the journal '%s': %s", path, error->message);
        return NULL;
    }
    op->path = g_strdup(path);
    op->records = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonNode *root;
        JsonObject *record;
        const char *step;

        if (!*lines[i])
            continue;
        if (!json_parser_load_from_data(parser, lines[i], -1, NULL) ||
            !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root))
            break; /* torn by a crash: what follows cannot be trusted */
        record = json_node_get_object(root);
        g_ptr_array_add(op->records, json_object_ref(record));
        step = json_object_get_string_member_with_default(record, "step", "");
        if (!op->op)
            op->op = g_strdup(json_object_get_string_member_with_default(record, "op", ""));
        if (g_str_equal(step, "end") || g_str_equal(step, "recovered"))
            op->ended = TRUE;
    }
    if (!op->records->len || !ferry_journal_op_find(op, "start"))
        return NULL;
    return g_steal_pointer(&op);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
ferry_journal_list(const FerryInventory *inventory, GError **error)
{
    g_autofree char *state = ferry_journal_state_dir(inventory);
    g_autofree char *dir = g_build_filename(state, "journal", NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) ops =
        g_ptr_array_new_with_free_func((GDestroyNotify)ferry_journal_op_free);
    g_autoptr(GError) local = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
    const char *entry;

    if (!d) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer(&ops);
        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_IO,
                    "cannot read the journal directory '%s': %s", dir, local->message);
        return NULL;
    }
    while ((entry = g_dir_read_name(d)))
        if (g_str_has_suffix(entry, ".jsonl"))
            g_ptr_array_add(names, g_build_filename(dir, entry, NULL));
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        FerryJournalOp *op = journal_read(g_ptr_array_index(names, i));

        if (op)
            g_ptr_array_add(ops, op);
    }
    return g_steal_pointer(&ops);
}

JsonObject *
ferry_journal_op_find(const FerryJournalOp *op, const char *step)
{
    for (guint i = 0; i < op->records->len; i++) {
        JsonObject *r = g_ptr_array_index(op->records, i);

        if (g_strcmp0(json_object_get_string_member_with_default(r, "step", ""), step) == 0)
            return r;
    }
    return NULL;
}

const char *
ferry_journal_op_get(const FerryJournalOp *op, const char *key)
{
    JsonObject *start = ferry_journal_op_find(op, "start");

    return start ? json_object_get_string_member_with_default(start, key, NULL) : NULL;
}

const char *
ferry_journal_op_last(const FerryJournalOp *op, const char *step, const char *key)
{
    for (guint i = op->records->len; i > 0; i--) {
        JsonObject *r = g_ptr_array_index(op->records, i - 1);

        if (g_strcmp0(json_object_get_string_member_with_default(r, "step", ""), step) == 0)
            return json_object_get_string_member_with_default(r, key, NULL);
    }
    return NULL;
}

int
ferry_journal_op_running_pid(const FerryInventory *inventory, const FerryJournalOp *op)
{
    const char *uuid = ferry_journal_op_get(op, "uuid");
    g_autofree char *state = ferry_journal_state_dir(inventory);
    g_autofree char *lock_name = NULL;
    g_autofree char *path = NULL;
    g_autofree char *needle = NULL;
    char buf[512];
    ssize_t n;
    int pid = 0;
    int fd;

    if (!uuid || op->ended)
        return 0;
    lock_name = g_strdup_printf("%s.lock", uuid);
    path = g_build_filename(state, "locks", lock_name, NULL);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[MAX(n, 0)] = '\0';
    needle = g_strdup_printf(" op %s ", op->op);
    /* held (a shared lock is refused) by the process the lock names, for this operation */
    if (!strstr(buf, needle) || flock(fd, LOCK_SH | LOCK_NB) == 0 ||
        sscanf(buf, "pid %d since ", &pid) != 1 || pid <= 0)
        pid = 0;
    close(fd);
    return pid;
}

FerryJournal *
ferry_journal_attach(const FerryInventory *inventory, const FerryJournalOp *op, GError **error)
{
    const char *uuid = ferry_journal_op_get(op, "uuid");
    g_autofree char *lock_path = NULL;
    FerryJournal *journal;
    int lock_fd;

    if (!uuid) {
        g_set_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_IO,
                    "journal '%s' names no guest UUID", op->path);
        return NULL;
    }
    if ((lock_fd = lock_take(inventory, uuid, ferry_journal_op_get(op, "name"), op->op, &lock_path,
                             error)) < 0)
        return NULL;
    if (!(journal = journal_open_file(op->path, op->op, error))) {
        close(lock_fd);
        return NULL;
    }
    journal->lock_fd = lock_fd;
    journal->lock_path = g_steal_pointer(&lock_path);
    return journal;
}

void
ferry_journal_resolve(FerryJournal *journal, const char *result, const char *detail)
{
    if (!journal)
        return;
    ferry_journal_step(journal, "recovered", "result", result, "detail", detail, NULL);
    journal->ended = TRUE;
    journal_unlock(journal);
    running_clear();
}
