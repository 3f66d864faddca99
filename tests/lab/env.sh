# tests/lab/env.sh -- sourced by the lab scripts and the lab tests.  Definitions only.
#
# The lab is a small KVM cluster on one machine, each "host" a network namespace:
#
#   netns ${P}-sw    bridge br0; one veth port per host
#   netns ${P}-a/b/c compute hosts hostA/B/C (10.77.0.11/12/13): own mount + UTS namespace
#                    (held by an anchor process), private /run, /etc/libvirt, /var/lib/libvirt,
#                    /var/log/libvirt, /var/cache/libvirt, /root/.ssh, /etc/hosts;
#                    own libvirtd (qemu+tcp, port 16509, no auth) and own sshd (root by key only)
#   netns ${P}-s     storage host 10.77.0.20: qemu-storage-daemon exporting an NBD disk
#   netns ${P}-op    the operator's machine 10.77.0.2: where ferry runs (tests/lab/op.sh)
#
# All state lives under $LAB; nothing is written to the real /etc, /var or /root.
# Two labs can run at once with different FERRY_LAB / FERRY_LAB_PREFIX values.
LAB=${FERRY_LAB:-/tmp/ferry-lab}
P=${FERRY_LAB_PREFIX:-ferry}
NET=10.77.0
LAB_HOSTS="a b c"
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lab_ip() {
    case "$1" in
        op) echo "$NET.2" ;;
        a) echo "$NET.11" ;;
        b) echo "$NET.12" ;;
        c) echo "$NET.13" ;;
        s) echo "$NET.20" ;;
        *) return 1 ;;
    esac
}

# Where a host keeps local guest disks.  hostC differs on purpose, and so does its guest
# bridge: migrations to it exercise ferry's XML rewriting (paths and bridges).
lab_images_dir() {
    case "$1" in c) echo /var/lib/libvirt/images-c ;; *) echo /var/lib/libvirt/images ;; esac
}
lab_bridge() {
    case "$1" in c) echo br-vm ;; *) echo br-guest ;; esac
}

# libvirt's host UUID must differ per host, or libvirt refuses "migration to the same host".
lab_host_uuid() {
    printf 'f0e1d2c3-0000-4000-8000-0000000000%02x\n' "'$1"
}

# hx HOST CMD... : run CMD inside compute host HOST (its network, mount and UTS namespaces).
hx() {
    local h=$1
    shift
    nsenter -t "$(cat "$LAB/$h/anchor.pid")" -m -u -n -- "$@"
}

# lv HOST VIRSH-ARGS... : virsh against HOST's libvirtd through its private unix socket.
lv() {
    local h=$1
    shift
    virsh -q -c "qemu+unix:///system?socket=$LAB/$h/run/libvirt/libvirt-sock" "$@"
}

# op CMD... : run CMD on the operator's machine, with the lab inventory selected.
op() {
    ip netns exec "$P-op" env FERRY_CONFIG="$LAB/inventory.ini" "$@"
}
