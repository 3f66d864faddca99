/*
 * ferry-tls.h: encrypted migration (--tls, VIR_MIGRATE_TLS: QEMU encrypts the memory and NBD
 * disk streams).  QEMU on the destination serves with a server certificate, QEMU on the source
 * connects with a client certificate, both signed by a CA both trust, from the directory
 * libvirt's qemu.conf names (migrate_tls_x509_cert_dir, else default_tls_x509_cert_dir, else
 * /etc/pki/qemu).  The precheck asks each host for its files, so that a host without them is
 * a clear error before anything moves instead of a failed job.
 */
#pragma once

#include <glib.h>

#include "ssh/ferry-ssh-session.h"

G_BEGIN_DECLS

#define FERRY_TLS_QEMU_CONF "/etc/libvirt/qemu.conf"
#define FERRY_TLS_DEFAULT_DIR "/etc/pki/qemu"

/* The certificate directory a qemu.conf (@text, NULL: none) gives migrations, and in @key the
 * setting it came from ("migrate_tls_x509_cert_dir", ... or "default"). */
char *ferry_tls_cert_dir(const char *text, const char **key);

/* @host (for messages) has what QEMU needs there: as destination (@server) ca-cert.pem,
 * server-cert.pem, server-key.pem; as source ca-cert.pem, client-cert.pem, client-key.pem. */
gboolean ferry_tls_check_host(FerrySshSession *ssh, const char *host, gboolean server,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
