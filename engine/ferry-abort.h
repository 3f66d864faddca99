/*
 * ferry-abort.h: whether the running operation can still be aborted, asked by whoever wants to
 * abort it (Ctrl-C, SIGTERM, `ferry abort` from another shell: they all arrive as a signal in
 * the CLI's signal thread).
 *
 * An abort is the cancellable fired: the job is aborted and ferry rolls back, the guest stays
 * on its source.  That is only true until the point of no return: a switch to post-copy (the
 * guest runs on the destination from then on, libvirt refuses to abort the job) or the guest
 * having moved.  The engine closes the gate before it crosses that point, with a sentence
 * saying what will happen instead; an abort asked for after that is refused with it and the
 * cancellable is not fired (verify, cleanup and the Nova sync then run to their end).  Both
 * sides take the same lock: an abort either fires before the engine crosses (and the engine
 * does not cross), or is refused.  One operation per process.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Fires @cancellable and returns TRUE, unless the gate is closed: then FALSE, with *@why (a new
 * string) saying why abort is no longer possible and what happens instead. */
gboolean ferry_abort_request(GCancellable *cancellable, char **why);

/* Closes the gate with @why (copied).  FALSE, and the gate stays open, when @cancellable was
 * already fired: the caller must not cross. */
gboolean ferry_abort_gate_close(GCancellable *cancellable, const char *why);

/* Reopens it (the crossing failed: a post-copy switch libvirt refused). */
void ferry_abort_gate_open(void);

G_END_DECLS
