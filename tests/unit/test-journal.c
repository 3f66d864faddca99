/*
 * test-journal.c: the operations journal and its locks, in a temporary state directory.
 * flock() locks belong to an open file, so a second open in this same process is refused
 * exactly as a second ferry process would be.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/ferry-journal.h"

#define UUID "8146279f-f6ba-42ac-803e-17a38f44f498"

typedef struct {
    char *dir;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("ferry-test-journal-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    g_setenv("FERRY_STATE_DIR", f->dir, TRUE);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);

    g_assert_cmpint(system(cmd), ==, 0);
    g_unsetenv("FERRY_STATE_DIR");
    g_free(f->dir);
}

static FerryJournal *
begin(void)
{
    g_autoptr(GError) error = NULL;
    FerryJournal *j =
        ferry_journal_begin(NULL, "web-01", UUID, "hostA", "hostB", "block", "running", &error);

    g_assert_no_error(error);
    g_assert_nonnull(j);
    return j;
}

static void
test_second_on_same_guest_refused(Fixture *f, gconstpointer data)
{
    g_autoptr(FerryJournal) first = begin();
    g_autoptr(FerryJournal) second = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *pid = g_strdup_printf("ferry pid %d since ", (int)getpid());

    second =
        ferry_journal_begin(NULL, "web-01", UUID, "hostA", "hostC", "block", "running", &error);
    g_assert_null(second);
    g_assert_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY);
    g_assert_nonnull(strstr(error->message, pid));
    g_assert_nonnull(strstr(error->message, "guest 'web-01' (" UUID ")"));
}

static void
test_check_free_by_name_and_uuid(Fixture *f, gconstpointer data)
{
    g_autoptr(FerryJournal) first = begin();
    g_autoptr(GError) error = NULL;

    g_assert_false(ferry_journal_check_free(NULL, "web-01", &error));
    g_assert_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY);
    g_clear_error(&error);
    g_assert_false(ferry_journal_check_free(NULL, UUID, &error));
    g_assert_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY);
    g_clear_error(&error);
    g_assert_true(ferry_journal_check_free(NULL, "web-02", &error));
    g_assert_no_error(error);
    /* released at the end: free again */
    ferry_journal_end(first, "done");
    g_assert_true(ferry_journal_check_free(NULL, "web-01", &error));
    g_assert_no_error(error);
}

static void
test_destination_image_locked_once(Fixture *f, gconstpointer data)
{
    g_autoptr(FerryJournal) first = begin();
    g_autoptr(FerryJournal) other = NULL;
    g_autoptr(GError) error = NULL;
    const char *paths[] = {"/var/lib/libvirt/images/a.qcow2", NULL};

    g_assert_true(ferry_journal_lock_paths(first, NULL, "hostB", paths, &error));
    g_assert_no_error(error);
    other = ferry_journal_begin(NULL, "web-02", "00000000-0000-0000-0000-000000000002", "hostC",
                                "hostB", "block", "running", &error);
    g_assert_no_error(error);
    g_assert_false(ferry_journal_lock_paths(other, NULL, "hostB", paths, &error));
    g_assert_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY);
    g_assert_nonnull(strstr(error->message, "destination image '/var/lib/libvirt/images/a.qcow2' "
                                            "on 'hostB'"));
    g_clear_error(&error);
    /* the same path on another host is another file */
    g_assert_true(ferry_journal_lock_paths(other, NULL, "hostC", paths, &error));
    g_assert_no_error(error);
    ferry_journal_end(first, "done");
    g_assert_true(ferry_journal_lock_paths(other, NULL, "hostB", paths, &error));
    g_assert_no_error(error);
}

static void
test_records_read_back_unfinished(Fixture *f, gconstpointer data)
{
    g_autoptr(FerryJournal) j = begin();
    g_autoptr(GPtrArray) ops = NULL;
    g_autoptr(GError) error = NULL;
    const char *paths[] = {"/i/a.qcow2", "/i/b.qcow2", NULL};
    const FerryJournalOp *op;
    JsonObject *rec;
    JsonArray *a;

    ferry_journal_step_paths(j, "dst-images-begin", paths);
    ferry_journal_step(j, "suspended-by-ferry", "reason", "timeout", "absent", NULL, NULL);
    g_assert_true(ferry_journal_has_step(j, "suspended-by-ferry"));
    g_assert_false(ferry_journal_has_step(j, "end"));
    /* the process dies here: no end */
    g_clear_pointer(&j, ferry_journal_free);

    ops = ferry_journal_list(NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ops->len, ==, 1);
    op = g_ptr_array_index(ops, 0);
    g_assert_false(op->ended);
    g_assert_cmpstr(ferry_journal_op_get(op, "name"), ==, "web-01");
    g_assert_cmpstr(ferry_journal_op_get(op, "uuid"), ==, UUID);
    g_assert_cmpstr(ferry_journal_op_get(op, "destination"), ==, "hostB");
    g_assert_cmpstr(ferry_journal_op_get(op, "state"), ==, "running");
    rec = ferry_journal_op_find(op, "dst-images-begin");
    g_assert_nonnull(rec);
    a = json_object_get_array_member(rec, "paths");
    g_assert_cmpuint(json_array_get_length(a), ==, 2);
    g_assert_cmpstr(json_array_get_string_element(a, 1), ==, "/i/b.qcow2");
    rec = ferry_journal_op_find(op, "suspended-by-ferry");
    g_assert_cmpstr(json_object_get_string_member(rec, "reason"), ==, "timeout");
    g_assert_false(json_object_has_member(rec, "absent"));
}

static void
test_torn_last_line_ignored(Fixture *f, gconstpointer data)
{
    g_autoptr(FerryJournal) j = begin();
    g_autoptr(GPtrArray) ops = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autofree char *jdir = g_build_filename(f->dir, "journal", NULL);
    g_autoptr(GDir) d = NULL;
    g_autofree char *path = NULL;
    FILE *fp;

    ferry_journal_step(j, "migrate-begin", NULL);
    g_clear_pointer(&j, ferry_journal_free);
    d = g_dir_open(jdir, 0, &error);
    g_assert_no_error(error);
    path = g_build_filename(jdir, g_dir_read_name(d), NULL);
    /* a crash in the middle of an append, then a line that would say it ended */
    fp = fopen(path, "a");
    g_assert_nonnull(fp);
    fputs("{\"time\":\"x\",\"op\":\"o\",\"step\":\"migrate-ret\n{\"step\":\"end\"}\n", fp);
    fclose(fp);
    ops = ferry_journal_list(NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ops->len, ==, 1);
    g_assert_false(((FerryJournalOp *)g_ptr_array_index(ops, 0))->ended);
    g_assert_nonnull(ferry_journal_op_find(g_ptr_array_index(ops, 0), "migrate-begin"));
}

static void
test_end_and_resolve_finish_an_operation(Fixture *f, gconstpointer data)
{
    g_autoptr(FerryJournal) j = begin();
    g_autoptr(FerryJournal) r = NULL;
    g_autoptr(GPtrArray) ops = NULL;
    g_autoptr(GError) error = NULL;
    const FerryJournalOp *op;

    g_clear_pointer(&j, ferry_journal_free); /* killed */
    ops = ferry_journal_list(NULL, &error);
    g_assert_no_error(error);
    op = g_ptr_array_index(ops, 0);
    /* recover takes the guest's lock: held by a live ferry it is refused */
    {
        g_autoptr(FerryJournal) live = begin();
        g_autoptr(FerryJournal) refused = ferry_journal_attach(NULL, op, &error);

        g_assert_null(refused);
        g_assert_error(error, FERRY_JOURNAL_ERROR, FERRY_JOURNAL_ERROR_BUSY);
        g_clear_error(&error);
        ferry_journal_end(live, "done");
    }
    r = ferry_journal_attach(NULL, op, &error);
    g_assert_no_error(error);
    ferry_journal_resolve(r, "resolved", "nothing to do");
    g_clear_pointer(&ops, g_ptr_array_unref);
    ops = ferry_journal_list(NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ops->len, ==, 2);
    for (guint i = 0; i < ops->len; i++)
        g_assert_true(((FerryJournalOp *)g_ptr_array_index(ops, i))->ended);
}

static void
test_describe_running(Fixture *f, gconstpointer data)
{
    g_autoptr(FerryJournal) j = begin();
    g_autofree char *s = NULL;
    g_autofree char *after = NULL;

    ferry_journal_step(j, "migrate-begin", NULL);
    ferry_journal_note_activity("created qcow2 image '/i/a.qcow2'");
    s = ferry_journal_describe_running();
    g_assert_nonnull(strstr(s, "moving 'web-01' hostA -> hostB"));
    g_assert_nonnull(strstr(s, "step 'migrate-begin' for "));
    g_assert_nonnull(strstr(s, "last: created qcow2 image '/i/a.qcow2'"));
    ferry_journal_end(j, "done");
    after = ferry_journal_describe_running();
    g_assert_null(after);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
    ADD("/journal/lock/second-on-same-guest-refused-naming-the-first",
        test_second_on_same_guest_refused);
    ADD("/journal/lock/check-free-by-name-and-uuid", test_check_free_by_name_and_uuid);
    ADD("/journal/lock/destination-image-locked-once", test_destination_image_locked_once);
    ADD("/journal/read/records-read-back-unfinished", test_records_read_back_unfinished);
    ADD("/journal/read/torn-last-line-ignored", test_torn_last_line_ignored);
    ADD("/journal/read/end-and-resolve-finish-an-operation",
        test_end_and_resolve_finish_an_operation);
    ADD("/journal/running/described-for-the-second-signal", test_describe_running);
#undef ADD
    return g_test_run();
}
