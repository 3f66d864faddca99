/*
 * ferry-nova-pending.c: syncs that could not reach the database, queued as
 * journal_dir/pending/ID.json and replayed by `ferry nova-sync --pending`.
 *
 * Each entry carries the migration uuid chosen when it was queued; a replay finds the
 * migration row of an entry already applied and only drops the entry, so nothing runs
 * twice.  A lock file keeps two replays apart.
 */
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "engine/nova/ferry-nova-journal.h"
#include "engine/nova/ferry-nova-pending.h"

static char *
pending_dir(FerryNovaConfig *config)
{
    return g_build_filename(config->journal_dir, "pending", NULL);
}

char *
ferry_nova_pending_add(FerryNovaConfig *config, const FerryNovaRequest *req, GError **error)
{
    g_autofree char *dir = pending_dir(config);
    g_autofree char *id = ferry_nova_journal_new_id();
    g_autofree char *name = g_strdup_printf("%s.json", id);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "op");
    json_builder_add_string_value(b, ferry_nova_op_name(req->op));
    json_builder_set_member_name(b, "instance");
    json_builder_add_string_value(b, req->instance);
    json_builder_set_member_name(b, "src_host");
    json_builder_add_string_value(b, req->src_host);
    json_builder_set_member_name(b, "dst_host");
    json_builder_add_string_value(b, req->dst_host);
    json_builder_set_member_name(b, "power_state");
    json_builder_add_int_value(b, req->power_state);
    json_builder_set_member_name(b, "migration_type");
    json_builder_add_string_value(b, req->migration_type);
    json_builder_set_member_name(b, "migration_uuid");
    json_builder_add_string_value(b, req->migration_uuid);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    text = json_to_string(root, TRUE);

    if (g_mkdir_with_parents(dir, 0700) < 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "cannot create queue directory '%s': %s", dir, g_strerror(errno));
        return NULL;
    }
    if (!g_file_set_contents_full(path, text, -1,
                                  G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                  0600, &local)) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "cannot queue the Nova sync in '%s': %s", path, local->message);
        return NULL;
    }
    return g_steal_pointer(&id);
}

static gint
compare_ids(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
ferry_nova_list_pending(FerryNovaConfig *config, GError **error)
{
    g_autofree char *dir = pending_dir(config);
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = NULL;
    g_autoptr(GError) local = NULL;
    const char *name;

    d = g_dir_open(dir, 0, &local);
    if (!d) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer(&ids);
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "cannot list queued Nova syncs: %s", local->message);
        return NULL;
    }
    while ((name = g_dir_read_name(d))) {
        g_autofree char *id = NULL;

        if (!g_str_has_suffix(name, ".json"))
            continue;
        id = g_strndup(name, strlen(name) - strlen(".json"));
        if (ferry_nova_journal_id_valid(id))
            g_ptr_array_add(ids, g_steal_pointer(&id));
    }
    /* Ids start with a UTC timestamp: name order is queue order. */
    g_ptr_array_sort(ids, compare_ids);
    return g_steal_pointer(&ids);
}

void
ferry_nova_replay_free(FerryNovaReplay *replay)
{
    if (!replay)
        return;
    if (replay->failed)
        g_ptr_array_unref(replay->failed);
    g_free(replay);
}

static int
lock_queue(FerryNovaConfig *config, GError **error)
{
    g_autofree char *path = g_build_filename(config->journal_dir, "pending.lock", NULL);
    int fd;

    if (g_mkdir_with_parents(config->journal_dir, 0700) < 0 ||
        (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "cannot open the queue lock '%s': %s", path, g_strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_REFUSED,
                    "another 'ferry nova-sync --pending' is replaying the queue (%s)", path);
        return -1;
    }
    return fd;
}

static JsonObject *
load_entry(const char *path, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;

    if (!json_parser_load_from_file(parser, path, error))
        return NULL;
    root = json_parser_get_root(parser);
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_JOURNAL,
                    "'%s' is not a queued Nova sync", path);
        return NULL;
    }
    return json_object_ref(json_node_get_object(root));
}

/* Moves a refused entry aside, so it neither blocks the queue nor is lost. */
static void
set_aside(FerryNovaConfig *config, const char *path, const char *id)
{
    g_autofree char *dir = g_build_filename(config->journal_dir, "failed", NULL);
    g_autofree char *name = g_strdup_printf("%s.json", id);
    g_autofree char *dest = g_build_filename(dir, name, NULL);

    if (g_mkdir_with_parents(dir, 0700) < 0 || g_rename(path, dest) < 0)
        g_warning("cannot move '%s' to '%s': %s", path, dest, g_strerror(errno));
}

FerryNovaReplay *
ferry_nova_replay_pending(FerryNovaConfig *config, GError **error)
{
    g_autoptr(FerryNovaReplay) replay = g_new0(FerryNovaReplay, 1);
    g_autoptr(GPtrArray) ids = NULL;
    g_autofree char *dir = pending_dir(config);
    int lock_fd;

    replay->failed = g_ptr_array_new_with_free_func(g_free);
    lock_fd = lock_queue(config, error);
    if (lock_fd < 0)
        return NULL;
    ids = ferry_nova_list_pending(config, error);
    if (!ids) {
        close(lock_fd);
        return NULL;
    }
    for (guint i = 0; i < ids->len; i++) {
        const char *id = g_ptr_array_index(ids, i);
        g_autofree char *name = g_strdup_printf("%s.json", id);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autoptr(JsonObject) entry = NULL;
        g_autoptr(FerryNovaResult) result = NULL;
        g_autoptr(GError) local = NULL;
        FerryNovaRequest req = {0};

        entry = load_entry(path, &local);
        if (!entry) {
            g_ptr_array_add(replay->failed, g_strdup_printf("%s: %s", id, local->message));
            set_aside(config, path, id);
            continue;
        }
        req.instance = json_object_get_string_member_with_default(entry, "instance", NULL);
        req.src_host = json_object_get_string_member_with_default(entry, "src_host", NULL);
        req.dst_host = json_object_get_string_member_with_default(entry, "dst_host", NULL);
        req.power_state = json_object_get_int_member_with_default(entry, "power_state", 1);
        req.migration_type =
            json_object_get_string_member_with_default(entry, "migration_type", NULL);
        req.migration_uuid =
            json_object_get_string_member_with_default(entry, "migration_uuid", NULL);
        /* Only what apply_or_queue() queues: never a begin. */
        if (!req.instance || !req.dst_host || !req.migration_uuid ||
            !ferry_nova_op_from_name(json_object_get_string_member_with_default(entry, "op", NULL),
                                     &req.op) ||
            req.op == FERRY_NOVA_OP_BEGIN) {
            g_ptr_array_add(replay->failed, g_strdup_printf("%s: incomplete entry", id));
            set_aside(config, path, id);
            continue;
        }
        result = ferry_nova_apply(config, &req, FALSE, &local);
        if (!result && (g_error_matches(local, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_UNREACHABLE) ||
                        g_error_matches(local, FERRY_NOVA_ERROR, FERRY_NOVA_ERROR_PARTIAL))) {
            /* Keep this one and the rest, in order, for the next replay (which finds a
             * cell database already written and finishes placement). */
            replay->remaining = ids->len - i;
            break;
        }
        if (!result) {
            g_ptr_array_add(replay->failed, g_strdup_printf("%s: %s", id, local->message));
            set_aside(config, path, id);
            continue;
        }
        if (result->already_done)
            replay->already++;
        else
            replay->replayed++;
        if (g_unlink(path) < 0)
            g_warning("cannot remove replayed entry '%s': %s", path, g_strerror(errno));
    }
    close(lock_fd);
    return g_steal_pointer(&replay);
}
