/*
 * ferry-nova-power.c: libvirt domain states and their names as Nova's power_state.
 */
#include "engine/nova/ferry-nova.h"

/* nova/virt/libvirt/guest.py LIBVIRT_POWER_STATE, indexed by virDomainState. */
static const int libvirt_to_nova[] = {
    [0] = FERRY_NOVA_POWER_NOSTATE,   /* VIR_DOMAIN_NOSTATE */
    [1] = FERRY_NOVA_POWER_RUNNING,   /* VIR_DOMAIN_RUNNING */
    [2] = FERRY_NOVA_POWER_RUNNING,   /* VIR_DOMAIN_BLOCKED: Nova reports it as running */
    [3] = FERRY_NOVA_POWER_PAUSED,    /* VIR_DOMAIN_PAUSED */
    [4] = FERRY_NOVA_POWER_SHUTDOWN,  /* VIR_DOMAIN_SHUTDOWN */
    [5] = FERRY_NOVA_POWER_SHUTDOWN,  /* VIR_DOMAIN_SHUTOFF */
    [6] = FERRY_NOVA_POWER_CRASHED,   /* VIR_DOMAIN_CRASHED */
    [7] = FERRY_NOVA_POWER_SUSPENDED, /* VIR_DOMAIN_PMSUSPENDED */
};

int
ferry_nova_power_state_from_libvirt(int vir_domain_state)
{
    if (vir_domain_state < 0 || (gsize)vir_domain_state >= G_N_ELEMENTS(libvirt_to_nova))
        return FERRY_NOVA_POWER_NOSTATE;
    return libvirt_to_nova[vir_domain_state];
}

static const struct {
    const char *name;
    int state;
} power_names[] = {
    {"nostate", FERRY_NOVA_POWER_NOSTATE}, {"running", FERRY_NOVA_POWER_RUNNING},
    {"paused", FERRY_NOVA_POWER_PAUSED},   {"shutdown", FERRY_NOVA_POWER_SHUTDOWN},
    {"crashed", FERRY_NOVA_POWER_CRASHED}, {"suspended", FERRY_NOVA_POWER_SUSPENDED},
};

int
ferry_nova_power_state_from_name(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(power_names); i++) {
        if (g_ascii_strcasecmp(name, power_names[i].name) == 0)
            return power_names[i].state;
    }
    return -1;
}
