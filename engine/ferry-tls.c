/*
 * ferry-tls.c: where a host keeps QEMU's migration certificates, and whether they are there.
 */
#include "engine/ferry-tls.h"

#include <string.h>

#include "engine/ferry-migrate.h"
#include "ssh/ferry-remote-disk.h"

/* The quoted value of `KEY = "VALUE"` on a line of qemu.conf, NULL when @line sets @key not. */
static char *
conf_value(const char *line, const char *key)
{
    const char *p = line;
    size_t n = strlen(key);
    const char *end;

    while (g_ascii_isspace(*p))
        p++;
    if (strncmp(p, key, n) != 0)
        return NULL;
    p += n;
    while (g_ascii_isspace(*p))
        p++;
    if (*p++ != '=')
        return NULL;
    while (g_ascii_isspace(*p))
        p++;
    if (*p++ != '"' || !(end = strchr(p, '"')))
        return NULL;
    return g_strndup(p, end - p);
}

char *
ferry_tls_cert_dir(const char *text, const char **key)
{
    static const char *const keys[] = {"migrate_tls_x509_cert_dir", "default_tls_x509_cert_dir"};
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);

    for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
        char *found = NULL;

        /* the last setting wins, as in libvirt's conf parser */
        for (guint i = 0; lines[i]; i++) {
            char *v = conf_value(lines[i], keys[k]);
            if (v) {
                g_free(found);
                found = v;
            }
        }
        if (found) {
            *key = keys[k];
            return found;
        }
    }
    *key = "default";
    return g_strdup(FERRY_TLS_DEFAULT_DIR);
}

gboolean
ferry_tls_check_host(FerrySshSession *ssh, const char *host, gboolean server, GError **error)
{
    const char *const files[] = {"ca-cert.pem", server ? "server-cert.pem" : "client-cert.pem",
                                 server ? "server-key.pem" : "client-key.pem"};
    g_autofree char *conf = NULL;
    g_autofree char *dir = NULL;
    const char *key;
    gboolean exists = FALSE;

    if (!ferry_remote_path_exists(ssh, FERRY_TLS_QEMU_CONF, &exists, error))
        return FALSE;
    if (exists &&
        !ferry_ssh_sftp_read_file(ssh, FERRY_TLS_QEMU_CONF, 1024 * 1024, &conf, NULL, error)) {
        g_prefix_error(error, "--tls: cannot read %s on '%s': ", FERRY_TLS_QEMU_CONF, host);
        return FALSE;
    }
    dir = ferry_tls_cert_dir(conf, &key);
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(dir, files[i], NULL);

        if (!ferry_remote_path_exists(ssh, path, &exists, error))
            return FALSE;
        if (!exists) {
            g_set_error(error, FERRY_MIGRATE_ERROR, FERRY_MIGRATE_ERROR_PRECHECK,
                        "--tls: %s '%s' has no '%s' (the QEMU %s certificate directory, %s%s): "
                        "give it the CA certificate and a %s certificate and key signed by it",
                        server ? "destination" : "source", host, path, server ? "server" : "client",
                        g_str_equal(key, "default") ? "libvirt's default" : key,
                        g_str_equal(key, "default") ? "" : " in " FERRY_TLS_QEMU_CONF,
                        server ? "server" : "client");
            return FALSE;
        }
    }
    return TRUE;
}
