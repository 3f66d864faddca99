/*
 * ferry-locate.c: which host has this domain.
 */
#include "engine/ferry-locate.h"

#include <libvirt/virterror.h>

#include "engine/ferry-virt-util.h"

/* clang-format off */
G_DEFINE_QUARK(ferry-locate-error-quark, ferry_locate_error)
/* clang-format on */

void
ferry_location_free(FerryLocation *location)
{
    if (!location)
        return;
    g_clear_pointer(&location->domain, virDomainFree);
    g_clear_pointer(&location->conn, virConnectClose);
    g_free(location->name);
    g_free(location->unreachable);
    g_free(location);
}

virDomainPtr
ferry_locate_lookup(virConnectPtr conn, const char *name)
{
    virDomainPtr dom = virDomainLookupByName(conn, name);

    if (!dom)
        dom = virDomainLookupByUUIDString(conn, name);
    virResetLastError();
    return dom;
}

static FerryLocation *
locate_on(const FerryInventory *inventory, const char *name, const char *host_name,
          GError **error)
{
    g_autoptr(FerryLocation) loc = g_new0(FerryLocation, 1);

    loc->host = ferry_inventory_get_host(inventory, host_name, error);
    if (!loc->host)
        return NULL;
    loc->conn = ferry_virt_connect_full(loc->host->uri, loc->host->name,
                                        inventory->connect_timeout, error);
    if (!loc->conn)
        return NULL;
    loc->domain = ferry_locate_lookup(loc->conn, name);
    if (!loc->domain) {
        g_set_error(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_NOT_FOUND,
                    "domain '%s' is not defined on '%s'", name, loc->host->name);
        return NULL;
    }
    loc->name = g_strdup(virDomainGetName(loc->domain));
    return g_steal_pointer(&loc);
}

FerryLocation *
ferry_locate_domain(const FerryInventory *inventory, const char *name, const char *host_name,
                    GError **error)
{
    g_autoptr(FerryLocation) loc = NULL;
    g_autoptr(GString) unreachable = g_string_new(NULL);
    g_autoptr(GString) running_on = g_string_new(NULL);
    guint n_running = 0;

    if (host_name) {
        /* --from says where to look first, not where not to look: a guest that also runs
         * elsewhere is refused as without it */
        g_autoptr(FerryLocation) everywhere = NULL;
        g_autoptr(GError) local = NULL;

        if (!(loc = locate_on(inventory, name, host_name, error)))
            return NULL;
        everywhere = ferry_locate_domain(inventory, name, NULL, &local);
        if (!everywhere &&
            g_error_matches(local, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_AMBIGUOUS)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
        if (everywhere && everywhere->host != loc->host &&
            virDomainIsActive(everywhere->domain) == 1) {
            g_set_error(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_AMBIGUOUS,
                        "domain '%s' runs on '%s', not on '%s' (--from): refusing to touch it",
                        name, everywhere->host->name, loc->host->name);
            return NULL;
        }
        virResetLastError();
        return g_steal_pointer(&loc);
    }

    loc = g_new0(FerryLocation, 1);
    for (guint i = 0; i < inventory->hosts->len; i++) {
        const FerryHost *host = g_ptr_array_index(inventory->hosts, i);
        g_autoptr(GError) local = NULL;
        g_autoptr(virConnect) conn =
            ferry_virt_connect_full(host->uri, host->name, inventory->connect_timeout, &local);
        g_autoptr(virDomain) dom = NULL;
        gboolean active;

        if (!conn) {
            g_string_append_printf(unreachable, "%s%s", unreachable->len ? "; " : "",
                                   local->message);
            continue;
        }
        dom = ferry_locate_lookup(conn, name);
        if (!dom)
            continue;
        active = virDomainIsActive(dom) == 1;
        if (active) {
            n_running++;
            g_string_append_printf(running_on, "%s'%s'", running_on->len ? ", " : "",
                                   host->name);
        }
        /* Prefer the host where it runs; a defined-only copy is kept only if none runs. */
        if (!loc->domain || (active && virDomainIsActive(loc->domain) != 1)) {
            g_clear_pointer(&loc->domain, virDomainFree);
            g_clear_pointer(&loc->conn, virConnectClose);
            loc->domain = g_steal_pointer(&dom);
            loc->conn = g_steal_pointer(&conn);
            loc->host = host;
        }
    }
    if (n_running > 1) {
        g_set_error(error, FERRY_LOCATE_ERROR, FERRY_LOCATE_ERROR_AMBIGUOUS,
                    "domain '%s' is running on several hosts (%s): refusing to touch it", name,
                    running_on->str);
        return NULL;
    }
    if (!loc->domain) {
        /* Not found where ferry asked; where it could not ask, it may well be. */
        g_set_error(error, FERRY_LOCATE_ERROR,
                    unreachable->len ? FERRY_LOCATE_ERROR_UNREACHABLE
                                     : FERRY_LOCATE_ERROR_NOT_FOUND,
                    "domain '%s' was not found on any host of '%s'%s%s%s", name,
                    inventory->path, unreachable->len ? " (not reachable: " : "",
                    unreachable->str, unreachable->len ? ")" : "");
        return NULL;
    }
    loc->name = g_strdup(virDomainGetName(loc->domain));
    if (unreachable->len)
        loc->unreachable = g_strdup(unreachable->str);
    return g_steal_pointer(&loc);
}
