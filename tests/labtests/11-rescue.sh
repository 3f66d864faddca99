#!/bin/bash
# ferry rescue (issue 12): hostA dies outright -- every process in its namespace killed by PID
# (libvirtd, sshd, every qemu) and its link down -- while the lab's gb-shared (disk on the
# storage host's NBD export nbd0) and ga-local (local qcow2) run there.
#   - a host cut off from the operator machine only (iptables in op; hostB/C still reach it) is
#     refused as not dead, nothing changed;
#   - hostA dead, without --confirm-dead: refused (not fenced), nothing changed;
#   - --dry-run prints the plan with each definition's age and changes nothing;
#   - --confirm-dead hostA: gb-shared runs on hostB with the same disk contents (read on the
#     storage host), ga-local is reported not rescuable naming its disk;
#   - t11-novadir, a guest laid out as Nova lays one out on shared storage (its disk and
#     libvirt.xml in INSTANCES_PATH/UUID/, here a directory bind-mounted into every host), is
#     rescued from Nova's libvirt.xml, newer than ferry's cache;
#   - hostA back with its stale definitions: `rescue --cleanup` lists them, refuses while the
#     stale gb-shared runs there (split brain), then undefines it without touching any disk.
# At the end the lab's guests are put back on hostA as up.sh left them.
. "$(dirname "$0")/lib.sh"
HOSTCTL=$LAB_DIR/hostctl.sh
ip_a=$(lab_ip a)

# a short libvirt connect deadline: the survey waits that long for the dead host
inv=$OUT/inventory.ini
sed 's|^state_dir = .*|&\nconnect_timeout = 3|' "$LAB/inventory.ini" >"$inv"
rescue() { ferry --config "$inv" rescue "$@"; }

# a Nova-style instance directory on storage every host sees
mnt=/var/lib/libvirt/shared
ng=t11-novadir
nuuid=c1c1c1c1-0000-4000-8000-000000000011
idir=$mnt/instances/$nuuid
unshare_all() {
    for h in $LAB_HOSTS; do
        hx "$h" sh -c 'mountpoint -q "$1" && umount "$1"; rmdir "$1" 2>/dev/null' sh "$mnt" || true
    done
    rm -rf "$LAB/shared"
}
mkdir -p "$LAB/shared/instances/$nuuid"
for h in $LAB_HOSTS; do
    hx "$h" mkdir -p "$mnt"
    hx "$h" mount --bind "$LAB/shared" "$mnt"
done
sed -i "s|^images_dir = .*|&\nshared_dirs = $mnt|" "$inv"
qemu-img create -q -f qcow2 "$LAB/shared/instances/$nuuid/disk" 64M
sed -e "s|@NAME@|$ng|g" -e "s|@MEM_MIB@|64|g" -e "s|@DISK@|$idir/disk|g" -e "s|@FMT@|qcow2|g" \
    -e "s|</name>|</name>\n  <uuid>$nuuid</uuid>|" "$LAB_DIR/guests/disk.xml" >"$OUT/$ng.xml"

# the disk contents of an NBD export, read on the storage host (through its NBD server)
nbd_sum() {
    local s
    s=$(ip netns exec "$P-s" sh -c 't=$(mktemp) || exit 1
        qemu-img convert -f raw -O raw "nbd://$1:10809/$2" "$t" && sha256sum <"$t"; rc=$?
        rm -f "$t"; exit $rc' sh "$(lab_ip s)" "$1") || s=""
    s=${s%% *}
    [[ $s =~ ^[0-9a-f]{64}$ ]] || { echo "# cannot read NBD export $1" >&2; exit 1; }
    echo "$s"
}
domains_bc() { lv b list --all --name && lv c list --all --name; }

restore() {
    ip netns exec "$P-op" iptables -D OUTPUT -d "$ip_a" -j DROP 2>/dev/null || true
    "$HOSTCTL" revive a >/dev/null 2>&1 || true
    # the lab's guests back on hostA as up.sh made them; whatever rescue put elsewhere removed
    for g in gb-shared gd-dirty; do
        for h in b c; do
            lv $h destroy $g >/dev/null 2>&1 || true
            lv $h undefine $g >/dev/null 2>&1 || true
        done
        if [ "$(state a $g)" = absent ]; then lv a define "$LAB/a/$g.xml" >/dev/null || true; fi
    done
    for g in ga-local gb-shared gc-overlay; do
        if [ "$(state a $g)" != running ]; then lv a start $g >/dev/null || true; fi
    done
    remove_guest $ng
    unshare_all
}
on_exit restore
remove_guest $ng
lv a define "$OUT/$ng.xml" >/dev/null
lv a start $ng >/dev/null

# --- the cache: what hostA holds, recorded while it is up (cron's job)
ferry --config "$inv" snapshot --json
check "ferry snapshot exits 0, its JSON result ok" test "$FERRY_RC/$(json_result ok)" = 0/true
uuid=$(lv a domuuid gb-shared)
check "the cache holds gb-shared's definition and state" \
    test -s "$LAB/state/definitions/hostA/$uuid.xml" -a -s "$LAB/state/definitions/hostA/$uuid.json"
check "... atomically written, mode 0600" test "$(stat -c %a "$LAB/state/definitions/hostA/$uuid.xml")" = 600
# Nova rewrites the instance's libvirt.xml after ferry's snapshot (a resize, a reboot --hard)
sleep 1.1
sed "s|</uuid>|</uuid>\n  <description>written by nova</description>|" "$OUT/$ng.xml" \
    >"$LAB/shared/instances/$nuuid/libvirt.xml"

ip netns exec "$P-s" qemu-io -f raw -c 'write -P 0x6b 1M 2M' "nbd://$(lab_ip s):10809/nbd0" >/dev/null
before=$(nbd_sum nbd0)

# --- a partition of the operator's network only: hostB and hostC still reach hostA
ip netns exec "$P-op" iptables -I OUTPUT -d "$ip_a" -j DROP
doms_before=$(domains_bc)
rescue hostA --confirm-dead hostA --json
diag "$OUT/err"
check "cut off from the operator only: refused before anything changed (exit 2)" test "$FERRY_RC" = 2
check "... naming the host that still reaches it" \
    ferry_output_has "'hostA' is not dead: 'hostB' reaches its"
check "... JSON error kind host-alive" test "$(json_result error | python3 -c 'import json,sys; print(json.load(sys.stdin)["kind"])')" = host-alive
check "... nothing changed: gb-shared runs on hostA only" only_on a gb-shared running
check "... no domain appeared on hostB or hostC" test "$(domains_bc)" = "$doms_before"
ip netns exec "$P-op" iptables -D OUTPUT -d "$ip_a" -j DROP

# --- hostA dies outright
"$HOSTCTL" kill a
check "hostA killed: nothing but its anchor is left in its namespace" \
    test "$(ip netns pids "$P-a" | grep -cvx "$(cat "$LAB/a/anchor.pid")")" = 0
check "... its libvirtd does not answer" test "$("$HOSTCTL" status a)" = dead

rescue hostA
diag "$OUT/err"
check "dead but not fenced, no --confirm-dead: refused (exit 2)" test "$FERRY_RC" = 2
check "... saying what is missing and what to do" \
    ferry_output_has "has no fence_command, and --confirm-dead hostA was not given"
check "... the probes were made from ferry and from another host" \
    grep -qE '^  hostB +-> libvirtd +10\.77\.0\.11:16509  (no answer|refused)' "$OUT/out"
check "... nothing changed on hostB and hostC" test "$(domains_bc)" = "$doms_before"

rescue hostA --confirm-dead hostB
check "--confirm-dead with another host's name: refused (exit 2)" test "$FERRY_RC" = 2
check "... saying so" ferry_output_has "--confirm-dead 'hostB' does not name the host to rescue 'hostA'"

# a fence_command that fails (exit 1) fences nothing: refused
sed 's|^\[host hostA\]|&\nfence_command = /bin/false|' "$inv" >"$OUT/fence-fails.ini"
ferry --config "$OUT/fence-fails.ini" rescue hostA
check "a fence_command that fails: refused (exit 2)" test "$FERRY_RC" = 2
check "... naming the command and its exit status" \
    ferry_output_has "'hostA' is not fenced: the fence_command of 'hostA' (/bin/false) failed: exit status 1"
check "... nothing changed on hostB and hostC" test "$(domains_bc)" = "$doms_before"

rescue hostA --dry-run --to hostB
diag "$OUT/err"
check "--dry-run exits 0" test "$FERRY_RC" = 0
check "... the plan puts gb-shared on hostB, with its definition's age" \
    grep -qE '^  gb-shared +running +[0-9]+ s +hostB +planned' "$OUT/out"
check "... ga-local is not rescuable: its local disk died with the host" \
    grep -qE "^  ga-local .*not-rescuable: disk vda \(/var/lib/libvirt/images/ga-local.qcow2\) is local to 'hostA'" "$OUT/out"
check "... $ng's definition comes from Nova's newer libvirt.xml on shared storage" \
    ferry_output_has "definition: Nova's $idir/libvirt.xml, read on 'hostB' (newer than ferry's cache)"
check "... nothing changed on hostB and hostC" test "$(domains_bc)" = "$doms_before"

rescue hostA --confirm-dead hostA --to hostB
diag "$OUT/out"
diag "$OUT/err"
check "--confirm-dead hostA: exit 0" test "$FERRY_RC" = 0
check "gb-shared runs on hostB (persistent)" test "$(state b gb-shared)" = running
check "... one qemu for it, on hostB" test "$(qemu_count b gb-shared)/$(qemu_count c gb-shared)" = 1/0
check "... same UUID as on hostA" test "$(lv b domuuid gb-shared)" = "$uuid"
check "ga-local reported not rescuable, with its disk" \
    grep -qE "^ga-local +not-rescuable .*disk vda \(/var/lib/libvirt/images/ga-local.qcow2\) is local to 'hostA': it died with the host" "$OUT/out"
check "... and not defined anywhere else" test "$(state b ga-local)/$(state c ga-local)" = absent/absent
check "$ng runs on hostB, defined from Nova's libvirt.xml" \
    test "$(state b $ng)/$(lv b dumpxml $ng | grep -c '<description>written by nova</description>')" = running/1
lv b suspend gb-shared >/dev/null
check "gb-shared's disk contents are those from before (read on the storage host)" \
    test "$(nbd_sum nbd0)" = "$before"
lv b resume gb-shared >/dev/null
check "the rescue is journaled (mode rescue, source hostA)" \
    grep -q '"source":"hostA","destination":"hostB","mode":"rescue"' "$LAB"/state/journal/*.jsonl

# --- hostA comes back with its stale definitions
"$HOSTCTL" revive a
check "hostA back: it still holds gb-shared, shut off" test "$(state a gb-shared)" = "shut off"
rescue --cleanup hostA --dry-run
check "cleanup --dry-run lists the stale gb-shared (also on hostB) to undefine" \
    grep -qE "^gb-shared +shut off +'hostB' \(running\) +undefine +would undefine" "$OUT/out"
check "... and leaves it" test "$(state a gb-shared)" = "shut off"

lv a start gb-shared >/dev/null # the split brain fencing exists to prevent
rescue --cleanup hostA
diag "$OUT/err"
check "cleanup while the stale copy runs on hostA: refused (exit 1)" test "$FERRY_RC" = 1
check "... saying it is a split brain" ferry_output_has "'gb-shared' on 'hostA' is running there although ferry rescued it"
check "... the running copy is not touched" test "$(state a gb-shared)" = running
lv a destroy gb-shared >/dev/null

rescue --cleanup hostA --json
diag "$OUT/out"
diag "$OUT/err"
check "cleanup: exit 0" test "$FERRY_RC" = 0
check "... its JSON result: gb-shared undefined, no error" \
    python3 -c 'import json,sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
g = [x for x in r["guests"] if x["name"] == "gb-shared"]
sys.exit(not (r["command"] == "rescue" and r["cleanup"] and r["ok"] and r["error"] is None
              and len(g) == 1 and g[0]["undefined"] and g[0]["action"] == "undefine"))' "$OUT/out"
check "... gb-shared undefined on hostA, still running on hostB" only_on b gb-shared running
check "... $ng undefined on hostA too, its disk on the shared storage kept" \
    test "$(state a $ng)/$(file_state b "$idir/disk")" = absent/present
check "... ga-local (not rescued) still defined on hostA, its disk there" \
    test "$(state a ga-local)/$(file_state a /var/lib/libvirt/images/ga-local.qcow2)" = "shut off/present"
check "gb-shared's disk contents are still those from before" test "$(nbd_sum nbd0)" = "$before"
done_testing
