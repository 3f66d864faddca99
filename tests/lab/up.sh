#!/bin/bash
# tests/lab/up.sh -- bring up ferry's lab cluster on this machine (root, no systemd needed).
#
# Three compute hosts (hostA/B/C), a storage host exporting NBD disks, and an operator machine
# where ferry runs; see env.sh for the layout.  Then it creates the standard guests on hostA:
#   ga-local    running, local qcow2 disk with a known pattern       (block migration)
#   gb-shared   running, disk on the storage host's NBD export nbd0   (shared storage)
#   gc-overlay  running, qcow2 overlay on base.qcow2 present on every host (backing chain)
#   gd-dirty    defined, shut off: dirties its RAM continuously when started (convergence)
# The last line printed is the path of the inventory it wrote.
set -euo pipefail
. "$(dirname "$0")/env.sh"

t0=$(date +%s%N)
log() {
    local ms=$((($(date +%s%N) - t0) / 1000000))
    printf '[lab-up %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2
}

if [ -e "$LAB" ]; then
    echo "up.sh: a lab already exists at $LAB (run tests/lab/down.sh first)" >&2
    exit 3
fi
for h in sw op $LAB_HOSTS s; do
    if ip netns list | grep -qw "$P-$h"; then
        echo "up.sh: network namespace $P-$h already exists (run tests/lab/down.sh first)" >&2
        exit 3
    fi
done
# Whatever fails from here on, leave nothing behind.
trap 'rc=$?; if [ $rc != 0 ]; then echo "up.sh: failed (rc $rc), tearing down" >&2; "$LAB_DIR/down.sh" >&2 || true; fi' EXIT

for tool in libvirtd virsh qemu-system-x86_64 qemu-img qemu-io qemu-storage-daemon sshd ssh-keygen nsenter unshare ip gcc ld; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "up.sh: '$tool' is not installed (run tests/setup.sh)" >&2; exit 1; }
done

mkdir -p "$LAB"/{op,s,kernel}
# each host mounts its own /root/.ssh over this mount point: a fresh machine may not have it
[ -d /root/.ssh ] || install -d -m 700 /root/.ssh

# ------------------------------------------------------------------ network
ip netns add "$P-sw"
ip -n "$P-sw" link set lo up
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
for h in op $LAB_HOSTS s; do
    ip netns add "$P-$h"
    ip -n "$P-$h" link set lo up
    ip -n "$P-sw" link add "v-$h" type veth peer name eth0 netns "$P-$h"
    ip -n "$P-sw" link set "v-$h" master br0
    ip -n "$P-sw" link set "v-$h" up
    ip -n "$P-$h" addr add "$(lab_ip "$h")/24" dev eth0
    ip -n "$P-$h" link set eth0 up
done
{
    echo "127.0.0.1 localhost"
    for h in $LAB_HOSTS; do echo "$(lab_ip "$h") host$h"; done
    echo "$(lab_ip s) storage"
    echo "$(lab_ip op) operator"
} >"$LAB/hosts"
log "network up"

# ------------------------------------------------------------------ ssh keys
# Every compute host and the operator get an ed25519 client key; every compute host an sshd
# host key.  authorized_keys on each host lists all of them; known_hosts everywhere lists every
# compute host by name and address.
ssh-keygen -q -t ed25519 -N '' -C root@operator -f "$LAB/op/id_ed25519"
for h in $LAB_HOSTS; do
    mkdir -p "$LAB/$h/rootssh" "$LAB/$h/sshd"
    chmod 700 "$LAB/$h/rootssh"
    ssh-keygen -q -t ed25519 -N '' -C "root@host$h" -f "$LAB/$h/rootssh/id_ed25519"
    ssh-keygen -q -t ed25519 -N '' -f "$LAB/$h/sshd/ssh_host_ed25519_key"
done
: >"$LAB/op/known_hosts"
for h in $LAB_HOSTS; do
    echo "host$h,$(lab_ip "$h") $(cut -d' ' -f1,2 "$LAB/$h/sshd/ssh_host_ed25519_key.pub")" >>"$LAB/op/known_hosts"
done
for h in $LAB_HOSTS; do
    cat "$LAB/op/id_ed25519.pub" >"$LAB/$h/rootssh/authorized_keys"
    for o in $LAB_HOSTS; do cat "$LAB/$o/rootssh/id_ed25519.pub" >>"$LAB/$h/rootssh/authorized_keys"; done
    cp "$LAB/op/known_hosts" "$LAB/$h/rootssh/known_hosts"
    chmod 600 "$LAB/$h/rootssh/authorized_keys"
    cat >"$LAB/$h/sshd/sshd_config" <<CONF
ListenAddress $(lab_ip "$h")
Port 22
HostKey $LAB/$h/sshd/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile /root/.ssh/authorized_keys
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
done
log "ssh keys generated"

# ------------------------------------------------------------------ guest kernel
"$LAB_DIR/dirtyguest/build.sh" "$LAB/kernel/dirty.elf"

# ------------------------------------------------------------------ TLS (ferry migrate --tls)
# A lab CA, and for each host a QEMU server certificate (for incoming migrations) and client
# certificate (for outgoing ones), in the host's private /etc/libvirt/pki/qemu, which its
# qemu.conf names as default_tls_x509_cert_dir (the lab writes nothing to the real /etc, so it
# cannot mount over /etc/pki/qemu, libvirt's default, which this machine does not have).
mkdir -p "$LAB/ca"
certtool --generate-privkey --key-type=ecdsa --outfile "$LAB/ca/ca-key.pem" 2>/dev/null
printf 'cn = "ferry lab CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >"$LAB/ca/ca.info"
certtool --generate-self-signed --load-privkey "$LAB/ca/ca-key.pem" --template "$LAB/ca/ca.info" \
    --outfile "$LAB/ca/ca-cert.pem" >/dev/null 2>&1
lab_tls_certs() { # lab_tls_certs HOST DIR
    local h=$1 dir=$2 role
    mkdir -p "$dir"
    cp "$LAB/ca/ca-cert.pem" "$dir/ca-cert.pem"
    for role in server client; do
        certtool --generate-privkey --key-type=ecdsa --outfile "$dir/$role-key.pem" 2>/dev/null
        printf 'organization = "ferry lab"\ncn = "host%s"\ndns_name = "host%s"\nip_address = "%s"\ntls_www_%s\nencryption_key\nsigning_key\nexpiration_days = 30\n' \
            "$h" "$h" "$(lab_ip "$h")" "$role" >"$dir/$role.info"
        certtool --generate-certificate --load-privkey "$dir/$role-key.pem" \
            --load-ca-certificate "$LAB/ca/ca-cert.pem" --load-ca-privkey "$LAB/ca/ca-key.pem" \
            --template "$dir/$role.info" --outfile "$dir/$role-cert.pem" >/dev/null 2>&1
        rm -f "$dir/$role.info"
    done
    chmod 600 "$dir"/*-key.pem
}

# ------------------------------------------------------------------ compute hosts
first_cache=""
for h in $LAB_HOSTS; do
    d=$LAB/$h
    mkdir -p "$d"/{run,lib/qemu,log/qemu,cache,etc} "$d/lib/$(basename "$(lab_images_dir "$h")")"
    cp -a /etc/libvirt/. "$d/etc/"
    rm -f "$d"/etc/qemu/networks/autostart/*.xml
    cat >"$d/etc/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "0.0.0.0"
tcp_port = "16509"
auth_tcp = "none"
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
host_uuid = "$(lab_host_uuid "$h")"
log_filters = "1:qemu.qemu_migration 3:qemu 3:util 3:rpc 3:remote 3:event 3:conf"
log_outputs = "2:file:/var/log/libvirt/libvirtd.log"
CONF
    # No cgroups, no security driver, no per-VM /dev namespace, no virtlogd: plain processes.
    # migration_host/address keep the migration and NBD streams on the lab addresses.
    cat >"$d/etc/qemu.conf" <<CONF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
migration_host = "$(lab_ip "$h")"
migration_address = "$(lab_ip "$h")"
default_tls_x509_cert_dir = "/etc/libvirt/pki/qemu"
CONF
    lab_tls_certs "$h" "$d/etc/pki/qemu"
    # QEMU capabilities probe (~4 s) only once: later hosts reuse the first host's cache.
    if [ -n "$first_cache" ]; then cp -a "$first_cache/qemu" "$d/cache/"; fi

    # The anchor process holds this host's mount and UTS namespaces.
    setsid ip netns exec "$P-$h" unshare --mount --uts --propagation private sleep infinity \
        </dev/null >/dev/null 2>&1 &
    echo $! >"$d/anchor.pid"
    for _ in $(seq 100); do
        [ "$(readlink "/proc/$(cat "$d/anchor.pid")/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
            [ "$(readlink "/proc/$(cat "$d/anchor.pid")/exe")" = "$(readlink -f /usr/bin/sleep)" ] && break
        sleep 0.05
    done
    hx "$h" sh -ec "
        hostname host$h
        mount --bind '$d/run' /run
        mkdir -p /run/libvirt /run/sshd /run/lock
        chmod 755 /run/sshd
        mount --bind '$d/lib' /var/lib/libvirt
        mount --bind '$d/etc' /etc/libvirt
        mount --bind '$d/log' /var/log/libvirt
        mount --bind '$d/cache' /var/cache/libvirt
        mount --bind '$d/rootssh' /root/.ssh
        mount --bind '$LAB/hosts' /etc/hosts
    "
    # --listen: without systemd socket activation libvirtd opens its TCP socket only with it.
    # the bridge guests' NICs attach to (named differently on hostC)
    ip -n "$P-$h" link add "$(lab_bridge "$h")" type bridge
    ip -n "$P-$h" link set "$(lab_bridge "$h")" up
    hx "$h" /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
        --config /etc/libvirt/libvirtd.conf
    hx "$h" /usr/sbin/sshd -f "$d/sshd/sshd_config" -E "$d/log/sshd.log"
    for _ in $(seq 300); do lv "$h" uri >/dev/null 2>&1 && break; sleep 0.05; done
    lv "$h" domcapabilities --virttype qemu >/dev/null
    first_cache=${first_cache:-$d/cache}
    log "host$h: libvirtd pid $(cat "$d/run/libvirtd.pid"), sshd pid $(cat "$d/run/sshd.pid")"
done

# ------------------------------------------------------------------ storage host
# Three NBD exports (nbd0..nbd2) of qcow2 images, served from 10.77.0.20:10809.
qsd_args=()
for i in 0 1 2; do
    qemu-img create -q -f qcow2 "$LAB/s/nbd$i.qcow2" 256M
    qsd_args+=(--blockdev "driver=file,node-name=f$i,filename=$LAB/s/nbd$i.qcow2"
        --blockdev "driver=qcow2,node-name=d$i,file=f$i"
        --export "type=nbd,id=e$i,node-name=d$i,name=nbd$i,writable=on")
done
setsid ip netns exec "$P-s" qemu-storage-daemon \
    --nbd-server "addr.type=inet,addr.host=$(lab_ip s),addr.port=10809" \
    "${qsd_args[@]}" \
    --pidfile "$LAB/s/qsd.pid" --daemonize </dev/null >"$LAB/s/qsd.log" 2>&1
log "storage: NBD exports nbd0..nbd2 at $(lab_ip s):10809 (pid $(cat "$LAB/s/qsd.pid"))"

# ------------------------------------------------------------------ inventory
cat >"$LAB/inventory.ini" <<INI
# ferry inventory written by tests/lab/up.sh for the lab at $LAB.
# ferry runs on the operator machine (tests/lab/op.sh), which reaches every host's libvirtd
# (uri) and sshd (ssh_host) on the lab network.
[ferry]
ssh_user = root
ssh_key = $LAB/op/id_ed25519
known_hosts = $LAB/op/known_hosts
state_dir = $LAB/state
INI
for h in $LAB_HOSTS; do
    H=$(echo "$h" | tr a-z A-Z)
    cat >>"$LAB/inventory.ini" <<INI

[host host$H]
# ferry's connection; peer_uri is how the other hosts' libvirtd reach this one (peer-to-peer)
uri = qemu+tcp://$(lab_ip "$h")/system
peer_uri = qemu+tcp://host$h/system
address = $(lab_ip "$h")
ssh_host = $(lab_ip "$h")
images_dir = $(lab_images_dir "$h")
bridges = guestnet=$(lab_bridge "$h")
INI
done

# ------------------------------------------------------------------ standard guests
for h in $LAB_HOSTS; do
    hx "$h" qemu-img create -q -f qcow2 "$(lab_images_dir "$h")/base.qcow2" 64M
    hx "$h" qemu-io -f qcow2 -c 'write -P 0x5a 0 4M' "$(lab_images_dir "$h")/base.qcow2" >/dev/null
done
"$LAB_DIR/guest.sh" create ga-local local a
"$LAB_DIR/guest.sh" create gb-shared shared a nbd0
"$LAB_DIR/guest.sh" create gc-overlay overlay a
"$LAB_DIR/guest.sh" create gd-dirty dirty a --no-start
log "guests: ga-local gb-shared gc-overlay running on hostA, gd-dirty defined"

# ------------------------------------------------------------------ checks
for h in $LAB_HOSTS; do
    for o in $LAB_HOSTS; do
        [ "$h" = "$o" ] || hx "$h" virsh -q -c "qemu+tcp://host$o/system" uri >/dev/null
    done
    op virsh -q -c "qemu+tcp://$(lab_ip "$h")/system" uri >/dev/null
done
log "every host reaches every libvirtd; the operator reaches all of them"
trap - EXIT
echo "$LAB/inventory.ini"
