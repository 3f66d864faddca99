#!/bin/bash
# tests/lab/down.sh -- tear the lab down, also after a failed test or an interrupted run.
#
# Stops every process living in one of the lab's network namespaces (the kernel lists them:
# `ip netns pids`; guests, libvirtd, sshd, qemu-storage-daemon, the anchors), by PID, deletes
# the namespaces (the veths and the bridge go with them), removes $LAB, and checks that no
# process, namespace or mount is left.  Exit 0 means clean.
set -uo pipefail
. "$(dirname "$0")/env.sh"

t0=$(date +%s%N)
log() {
    local ms=$((($(date +%s%N) - t0) / 1000000))
    printf '[lab-down %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"
}

namespaces=$(ip netns list | awk '{print $1}' | grep -E "^$P-(sw|op|a|b|c|s)$" || true)

for sig in TERM KILL; do
    pids=""
    for ns in $namespaces; do pids="$pids $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"; done
    # anchors whose namespace is gone already (interrupted up.sh)
    for f in "$LAB"/*/anchor.pid; do [ -f "$f" ] && pids="$pids $(cat "$f")"; done
    pids=$(for p in $pids; do [ -d "/proc/$p" ] && echo "$p"; done | sort -u | tr '\n' ' ')
    [ -z "${pids// /}" ] && break
    log "SIG$sig $pids"
    for p in $pids; do kill -s "$sig" "$p" 2>/dev/null; done
    for _ in $(seq 50); do
        alive=""
        for p in $pids; do [ -d "/proc/$p" ] && alive="$alive $p"; done
        [ -z "$alive" ] && break
        sleep 0.1
    done
done

for ns in $namespaces; do ip netns del "$ns" && log "deleted netns $ns"; done

# block devices of the disk-layout tests (lib.sh lab_blockdev): loop devices over files under
# $LAB, and the directory their nodes were mounted on in each host's namespace
for f in "$LAB"/*/blockdev/*.img; do
    [ -f "$f" ] || continue
    for dev in $(losetup -j "$f" -O NAME -n 2>/dev/null); do
        losetup -d "$dev" && log "detached $dev ($f)"
    done
done
[ -d "/dev/$P-vg" ] && rmdir "/dev/$P-vg" && log "removed /dev/$P-vg"

left=0
for ns in $namespaces; do
    if ip netns list | grep -qw "$ns"; then
        echo "down.sh: network namespace $ns is still there" >&2
        left=1
    fi
done
if grep -q " $LAB/" /proc/self/mountinfo; then
    echo "down.sh: mounts under $LAB are still there:" >&2
    grep " $LAB/" /proc/self/mountinfo >&2
    left=1
fi
for p in /proc/[0-9]*; do
    { c=$(tr '\0' ' ' <"$p/cmdline"); } 2>/dev/null || continue
    case "$c" in *"$LAB/"*)
        echo "down.sh: process ${p#/proc/} is still running: $c" >&2
        left=1
        ;;
    esac
done
for f in "$LAB"/*/blockdev/*.img; do
    [ -f "$f" ] || continue
    if [ -n "$(losetup -j "$f" 2>/dev/null)" ]; then
        echo "down.sh: loop device over $f is still attached" >&2
        left=1
    fi
done
if [ -e "/dev/$P-vg" ]; then
    echo "down.sh: /dev/$P-vg is still there" >&2
    left=1
fi
rm -rf "$LAB"
log "lab $LAB removed, clean=$([ $left = 0 ] && echo yes || echo NO)"
exit $left
