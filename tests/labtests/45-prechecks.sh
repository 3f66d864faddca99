#!/bin/bash
# Pre-checks on the destination, before anything moves: a CPU it cannot provide, too little
# memory or disk space, "shared" storage that is not shared, and an ssh trust the source's
# libvirtd needs that does not hold.  Each is refused with its reason, which the hosts confirm;
# nothing changes anywhere (every host's domains and files are as before each refusal).
# Then the same guest moves over a qemu+ssh peer URI once the trust holds: the trust is checked
# first (hostB's sshd sees hostA's check login end before the guest starts arriving), and
# hostA's libvirtd reaches hostB over ssh, not over TCP.
. "$(dirname "$0")/lib.sh"
g=t45-local
remove_guest $g
remove_guest t45-cpu
"$LAB_DIR/guest.sh" create $g local a

# inventory_with NAME SED-EXPRESSION: a copy of the lab inventory, changed
inventory_with() {
    sed -e "$2" "$LAB/inventory.ini" >"$OUT/$1.ini"
    echo "$OUT/$1.ini"
}
# refused WHAT: the hosts are as they were before the refusal (snapshot_take)
refused() { check "$1: nothing changed on any host (domains and files)" unchanged_since_snapshot; }
# number_before TEXT: the number printed just before TEXT in ferry's output
number_before() {
    local n
    n=$(sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p" "$OUT/out" "$OUT/err")
    echo "${n%%$'\n'*}"
}

# -- CPU: a guest that requires a feature TCG's qemu64 does not have (defined, shut off)
cat >"$OUT/cpu.xml" <<XML
<domain type='qemu'><name>t45-cpu</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model>
<feature policy='require' name='avx512f'/></cpu>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
XML
lv a define "$OUT/cpu.xml" >/dev/null
snapshot_take
ferry migrate t45-cpu --to hostB
check "CPU the destination lacks: exit 2" test "$FERRY_RC" = 2
check "... names the missing feature" ferry_output_has "does not provide required features: avx512f"
cpu_cmp=$(lv b hypervisor-cpu-compare --virttype qemu --arch x86_64 --machine pc "$OUT/cpu.xml" 2>&1 || true)
check "... hostB's libvirtd agrees: that CPU is incompatible with its hypervisor" \
    grep -q "is incompatible with the CPU provided by hypervisor" <<<"$cpu_cmp"
check "... and the guest stays defined on hostA only" \
    test "$(state a t45-cpu)/$(state b t45-cpu)/$(state c t45-cpu)" = "shut off/absent/absent"
refused "CPU"
remove_guest t45-cpu

# -- memory: hostB keeps (much) more memory in reserve than it has
snapshot_take
inv=$(inventory_with memory '/^\[host hostB\]/a reserved_memory_mib = 100000000')
# available = free + buffers + cached (what guests can have; virNodeGetFreeMemory omits the cache)
free_mib() { lv b nodememstats | awk '/^(free|buffers|cached) *:/ { s += $3 } END { printf "%d", s / 1024 }'; }
free_before=$(free_mib)
ferry --config "$inv" migrate $g --to hostB
free_after=$(free_mib)
check "not enough memory on hostB: exit 2" test "$FERRY_RC" = 2
check "... says how much there is and is needed" ferry_output_has "MiB of available memory; the guest needs 64 MiB plus the host's reserve of 100000000 MiB"
said=$(number_before "MiB of available memory")
# available memory moves (other guests on this machine): ferry's figure lies between what hostB's
# libvirtd reported just before and just after, give or take 5%
between() { _num "$1" && _num "$2" && _num "$3" && awk -v x="$1" -v a="$2" -v b="$3" \
    'BEGIN { lo = (a < b ? a : b) * 0.95; hi = (a > b ? a : b) * 1.05; exit !(x >= lo && x <= hi) }'; }
check "... the available memory it names (${said:-?} MiB) is what hostB's libvirtd reports (${free_before:-?} .. ${free_after:-?} MiB)" \
    between "${said:-x}" "${free_before:-y}" "${free_after:-z}"
refused "memory"

# -- disk space: the same for the images directory
inv=$(inventory_with disk '/^\[host hostB\]/a reserved_disk_mib = 100000000')
avail_before=$(hx b df -m --output=avail /var/lib/libvirt/images | tail -1 | tr -d ' ')
ferry --config "$inv" migrate $g --to hostB
check "not enough disk space on hostB: exit 2" test "$FERRY_RC" = 2
check "... names the directory" ferry_output_has "'/var/lib/libvirt/images' on 'hostB' has"
said=$(number_before "MiB free;")
avail_after=$(hx b df -m --output=avail /var/lib/libvirt/images | tail -1 | tr -d ' ')
check "... the free space it names (${said:-?} MiB) is what hostB's filesystem has (df: ${avail_before:-?} .. ${avail_after:-?} MiB)" \
    between "${said:-x}" "${avail_before:-y}" "${avail_after:-z}"
need=$(number_before "MiB plus the host's reserve")
on_disk=$(hx a qemu-img info -U --output=json "$(image_path a $g)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["actual-size"])')
check "... the space it says the disk needs (${need:-?} MiB) is the source image's size on disk ($on_disk bytes)" \
    within "${need:-x}" "$(awk -v b="$on_disk" 'BEGIN { printf "%.1f", b / 1048576 }')" 1
refused "disk space"

# -- "shared" storage that is not: local images dirs listed as shared_dirs on both hosts
inv=$(inventory_with shared '/^images_dir = \/var\/lib\/libvirt\/images$/a shared_dirs = /var/lib/libvirt/images')
ferry --config "$inv" migrate $g --to hostB
check "shared_dirs that are not shared: exit 2" test "$FERRY_RC" = 2
check "... says it is not the same storage" ferry_output_has "is not the same storage on 'hostA' and 'hostB'"
refused "shared_dirs"
hx a touch /var/lib/libvirt/images/.t45-probe
seen_on_b=$(file_state b /var/lib/libvirt/images/.t45-probe)
hx a rm -f /var/lib/libvirt/images/.t45-probe
check "... the hosts agree: a file made in hostA's directory is not in hostB's" test "$seen_on_b" = absent

# -- the source's libvirtd reaches hostB over ssh: that trust must hold
inv=$(inventory_with ssh 's|^peer_uri = qemu+tcp://hostb/system|peer_uri = qemu+ssh://root@hostb/system|')
cp -p "$LAB/b/rootssh/authorized_keys" "$OUT/authorized_keys.b"
on_exit 'cp -p "$OUT/authorized_keys.b" "$LAB/b/rootssh/authorized_keys"'
grep -vF "$(cut -d' ' -f2 "$LAB/a/rootssh/id_ed25519.pub")" "$OUT/authorized_keys.b" >"$LAB/b/rootssh/authorized_keys"
ferry --config "$inv" migrate $g --to hostB
check "qemu+ssh peer without trust: exit 2" test "$FERRY_RC" = 2
check "... names the failure class and a remedy" ferry_output_has "but that trust does not hold: key-refused"
real_ssh=$(hx a ssh -o BatchMode=yes -o ConnectTimeout=10 root@hostb true 2>&1 || true)
check "... the hosts agree: OpenSSH from hostA to hostB is refused (publickey)" \
    grep -q "Permission denied (publickey)" <<<"$real_ssh"
refused "ssh trust"
cp -p "$OUT/authorized_keys.b" "$LAB/b/rootssh/authorized_keys"

log_watch "$LAB/b/log/sshd.log" sshd_b
events_start b
net_watch b a 16509
ferry --config "$inv" migrate $g --to hostB --json
check "qemu+ssh peer with trust: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
# ferry's own order: its trust report comes before the migrate phase begins
json_order=$(python3 -c '
import json, sys
trust = migrate = None
for i, line in enumerate(open(sys.argv[1])):
    e = json.loads(line)
    if trust is None and e.get("event") == "info" and "ssh trust hostA -> hostB holds" in (e.get("message") or ""):
        trust = i
    if migrate is None and e.get("event") == "phase" and e.get("phase") == "migrate":
        migrate = i
print("trust-first" if trust is not None and migrate is not None and trust < migrate else "trust %s, migrate %s" % (trust, migrate))
' "$OUT/out")
check "... ferry reported the trust check before the migrate phase ($json_order)" test "$json_order" = trust-first
sleep 0.3 # the last log lines read
arrived=$(event_time b $g '^lifecycle Started' || true)
sessions=$(ssh_sessions sshd_b a)
diag <<<"hostB: guest started arriving at ${arrived:-?}; ssh logins from hostA (port accepted disconnected):"$'\n'"$sessions"
# the check: a login from hostA that ended before the guest started arriving on hostB
checked_first() {
    [ -n "$arrived" ] && awk -v t="$arrived" '$3 != "-" && $3 < t { f = 1 } END { exit !f }' <<<"$sessions"
}
check "... the trust was checked first: hostB's sshd saw a login from hostA end before the guest started arriving" checked_first
# the tunnel: a login from hostA open while the guest arrived
tunnel_open() {
    [ -n "$arrived" ] && awk -v t="$arrived" '$2 < t && ($3 == "-" || $3 > t) { f = 1 } END { exit !f }' <<<"$sessions"
}
check "... and the migration went over qemu+ssh" ferry_output_has "qemu+ssh://root@hostb/system"
check "... hostB's sshd had a login from hostA open while the guest arrived (libvirt's ssh tunnel)" tunnel_open
check "... and hostA's libvirtd made no TCP connection to hostB's ($(net_conns b a 16509))" \
    test "$(net_conns b a 16509)" = 0
check "guest runs on hostB, and only there" only_on b $g running
remove_guest $g
done_testing
