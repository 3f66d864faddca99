/*
 * ferry-journal.h: what ferry is doing, written down durably, and who may do it.
 *
 * Under the state directory ($FERRY_STATE_DIR, else the inventory's [ferry] state_dir, else
 * /var/lib/ferry):
 *
 *   journal/OPID.jsonl   one file per operation, one JSON object a line, each appended with
 *                        write + fsync (the directory fsynced when the file is created):
 *                        {"time": "...", "op": "OPID", "step": "...", ...}
 *                        The first record is "start" (guest, uuid, source, destination, mode,
 *                        state, pid); the last is "end" (result: done, rolled-back, failed);
 *                        `ferry recover` appends "recovered" to one that had no end.
 *   locks/UUID.lock      flock()ed by the one ferry working on that guest, for as long as it
 *                        does; it holds "pid PID since TIME op OPID name NAME".
 *
 * A journal that cannot be written stops the operation before anything moves: a move nobody
 * can recover is not started.  Steps recorded after that are best effort (a failure is
 * logged): the move itself is not stopped because the journal's disk filled up.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "engine/ferry-inventory.h"

G_BEGIN_DECLS

#define FERRY_JOURNAL_ERROR (ferry_journal_error_quark())
GQuark ferry_journal_error_quark(void);

typedef enum {
    FERRY_JOURNAL_ERROR_IO,   /* the state directory, a journal or a lock cannot be written */
    FERRY_JOURNAL_ERROR_BUSY, /* another ferry works on that guest */
} FerryJournalErrorCode;

#define FERRY_JOURNAL_DEFAULT_STATE_DIR "/var/lib/ferry"

typedef struct _FerryJournal FerryJournal;

/* The state directory for @inventory (a new string). */
char *ferry_journal_state_dir(const FerryInventory *inventory);

/* Before anything is looked up: refuses (BUSY) when a running ferry holds the lock of a guest
 * whose name or UUID is @domain, naming that process. */
gboolean ferry_journal_check_free(const FerryInventory *inventory, const char *domain,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Takes the guest's lock (BUSY, naming the holder, when another ferry has it), creates the
 * operation's journal and writes its "start" record. */
FerryJournal *ferry_journal_begin(const FerryInventory *inventory, const char *name,
                                  const char *uuid, const char *src, const char *dst,
                                  const char *mode, const char *state,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Locks the destination images @paths on @host for this operation (until its end): BUSY,
 * naming the holder, when another ferry is creating or copying one of them. */
gboolean ferry_journal_lock_paths(FerryJournal *journal, const FerryInventory *inventory,
                                  const char *host, const char *const *paths,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Appends the record {"step": @step, KEY: VALUE...} (NULL-terminated pairs of strings; a NULL
 * value is left out).  @journal NULL: nothing. */
void ferry_journal_step(FerryJournal *journal, const char *step, ...) G_GNUC_NULL_TERMINATED;

/* Appends {"step": @step, "paths": [@paths...]}. */
void ferry_journal_step_paths(FerryJournal *journal, const char *step, const char *const *paths);

/* Whether this operation recorded @step (FALSE for a NULL @journal). */
gboolean ferry_journal_has_step(const FerryJournal *journal, const char *step);

/* Writes the "end" record with @result and releases the lock. */
void ferry_journal_end(FerryJournal *journal, const char *result);

/* Frees; a journal not ended is left unfinished on disk (for `ferry recover`). */
void ferry_journal_free(FerryJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryJournal, ferry_journal_free)

/* Notes what the running operation does now (the last thing it told), for the second signal;
 * not journaled. */
void ferry_journal_note_activity(const char *message);

/* What this process is doing now ("migrating 'g' hostA -> hostB: step S for 3.2 s"), or NULL
 * when nothing: for the second Ctrl-C.  A new string. */
char *ferry_journal_describe_running(void);

/* ---- reading, for `ferry recover` */

typedef struct {
    char *path;         /* the journal file */
    char *op;           /* operation id */
    GPtrArray *records; /* JsonObject*: every record, in order */
    gboolean ended;     /* it has an "end" or "recovered" record */
} FerryJournalOp;

void ferry_journal_op_free(FerryJournalOp *op);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryJournalOp, ferry_journal_op_free)

/* Every operation under the state directory, oldest first (FerryJournalOp*).  A line that is
 * not JSON (a record torn by a crash) ends that file's reading. */
GPtrArray *ferry_journal_list(const FerryInventory *inventory,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The first record of @op with step @step, or NULL. */
JsonObject *ferry_journal_op_find(const FerryJournalOp *op, const char *step);
/* The start record's member @key, or NULL. */
const char *ferry_journal_op_get(const FerryJournalOp *op, const char *key);

/* The pid of the ferry that runs @op now: it holds the guest's lock (flock) and the lock names
 * @op.  0 when no process runs it (it ended, or its ferry died: see `ferry recover`). */
int ferry_journal_op_running_pid(const FerryInventory *inventory, const FerryJournalOp *op);

/* The member @key of @op's last record with step @step, or NULL. */
const char *ferry_journal_op_last(const FerryJournalOp *op, const char *step, const char *key);

/* Opens @op's guest lock (BUSY naming the holder when a ferry still runs it), appends
 * {"step": "recovered", "result": @result, "detail": @detail} when @result is not NULL, and
 * releases the lock.  For recover: it calls this with @result NULL first to take the lock
 * (returned; free it with ferry_journal_free), then ferry_journal_resolve() on it. */
FerryJournal *ferry_journal_attach(const FerryInventory *inventory, const FerryJournalOp *op,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;
void ferry_journal_resolve(FerryJournal *journal, const char *result, const char *detail);

G_END_DECLS
