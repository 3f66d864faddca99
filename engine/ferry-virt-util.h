/*
 * ferry-virt-util.h: small helpers around libvirt shared by the engine's files.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "engine/ferry-job-sample.h"

G_BEGIN_DECLS

#define FERRY_VIRT_ERROR (ferry_virt_error_quark())
GQuark ferry_virt_error_quark(void);

/* The GError code is libvirt's virErrorNumber (VIR_ERR_*), so callers can tell cases apart. */

/* Sets @error from libvirt's last error of this thread: "@context: <libvirt message>".  Call it
 * before freeing the object that raised the error. */
void ferry_virt_set_error(GError **error, const char *context_format, ...) G_GNUC_PRINTF(2, 3);

/* The same message, in @domain with @code (libvirt's own code is then only in the text). */
void ferry_virt_set_error_full(GError **error, GQuark domain, int code, const char *context_format,
                               ...) G_GNUC_PRINTF(4, 5);

/* Replaces *@error (if any) by a new error with the same message in @domain/@code: errors
 * are never edited in place.  Does nothing when @error or *@error is NULL. */
void ferry_error_recode(GError **error, GQuark domain, int code);

/* The deadline of a libvirt connect when the inventory sets none ([ferry] connect_timeout). */
#define FERRY_VIRT_CONNECT_TIMEOUT_S 10

/* Opens @uri with libvirt's default event loop registered once per process (needed for
 * keepalive and events).  @host_name is for messages.  The open runs in a thread of its own
 * and is given up after @timeout_s seconds (0: FERRY_VIRT_CONNECT_TIMEOUT_S), with an error
 * (code VIR_ERR_OPERATION_TIMEOUT) naming the host: a hung libvirtd must not hang ferry. */
virConnectPtr ferry_virt_connect_full(const char *uri, const char *host_name, guint timeout_s,
                                      GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The same with the default deadline. */
virConnectPtr ferry_virt_connect(const char *uri, const char *host_name,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNetwork, virNetworkFree)

/* Fills @sample from a job-stats parameter list (fields libvirt does not report stay 0). */
void ferry_job_sample_from_params(FerryJobSample *sample, virTypedParameterPtr params, int nparams);

const char *ferry_virt_state_to_string(int state);

/* The memory of @conn's host (virNodeGetMemoryStats, all cells): @total_bytes, and
 * @available_bytes = free + buffers + cached -- what guests can really have, as the kernel's
 * MemAvailable counts it (virNodeGetFreeMemory leaves the page cache out, so a host that has
 * read many files looks full).  Either out-parameter may be NULL. */
gboolean ferry_virt_node_memory(virConnectPtr conn, const char *host_name, guint64 *total_bytes,
                                guint64 *available_bytes, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
