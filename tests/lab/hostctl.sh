#!/bin/bash
# tests/lab/hostctl.sh kill|revive|status HOST -- a lab compute host dies outright, or comes back.
#   kill HOST    every process in HOST's network namespace but its anchor (which only holds the
#                namespaces, like the machine's kernel) is killed by PID with SIGKILL: libvirtd,
#                sshd, every qemu; then its link goes down.  Its disks, its saved definitions
#                (/etc/libvirt/qemu) and its images stay, as on a real machine that lost power.
#   revive HOST  its link up, libvirtd and sshd started again as up.sh starts them (libvirtd
#                finds its guests' qemu gone: they are shut off); waits until libvirtd answers.
#   status HOST  "dead" or "alive" (libvirtd's socket answers)
# HOST is a lab host letter (a, b, c).  down.sh cleans up after either (it kills what is in the
# namespaces by PID and deletes them).
set -euo pipefail
. "$(dirname "$0")/env.sh"

h=${2:?usage: hostctl.sh kill|revive|status HOST}
anchor=$(cat "$LAB/$h/anchor.pid")
case "${1:-}" in
kill)
    for _ in 1 2 3; do
        pids=$(ip netns pids "$P-$h" | grep -vx "$anchor" || true)
        [ -z "$pids" ] && break
        for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
        for _ in $(seq 50); do
            alive=""
            for p in $pids; do [ -d "/proc/$p" ] && alive="$alive $p"; done
            [ -z "$alive" ] && break
            sleep 0.05
        done
    done
    if [ -n "$(ip netns pids "$P-$h" | grep -vx "$anchor" || true)" ]; then
        echo "hostctl.sh: processes left in $P-$h" >&2
        exit 1
    fi
    ip -n "$P-$h" link set eth0 down
    ;;
revive)
    ip -n "$P-$h" link set eth0 up
    if ! lv "$h" uri >/dev/null 2>&1; then
        hx "$h" /usr/sbin/libvirtd --listen --daemon --pid-file /run/libvirtd.pid \
            --config /etc/libvirt/libvirtd.conf
    fi
    if ! hx "$h" sh -c 'kill -0 "$(cat /run/sshd.pid)"' 2>/dev/null; then
        hx "$h" /usr/sbin/sshd -f "$LAB/$h/sshd/sshd_config" -E "$LAB/$h/log/sshd.log"
    fi
    for _ in $(seq 300); do lv "$h" uri >/dev/null 2>&1 && exit 0; sleep 0.05; done
    echo "hostctl.sh: the libvirtd of host$h does not answer" >&2
    exit 1
    ;;
status)
    if lv "$h" uri >/dev/null 2>&1; then echo alive; else echo dead; fi
    ;;
*)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
