#!/bin/bash
# ferry xml --file SAVED.xml --from A --to B works offline and touches no host: with the
# operator's network down (a host-touching `ferry xml DOMAIN` fails there, so the hosts really
# are out of reach) it prints exactly what `ferry xml DOMAIN` prints online -- plan and rewritten
# XML (hostC's images dir and bridge); and with the network up, no connection reaches any
# host's libvirtd or sshd while it runs (iptables counters on the hosts), sshd logs nothing.
. "$(dirname "$0")/lib.sh"
g=t84-xml
on_exit 'ip -n "$P-op" link set eth0 up; remove_guest $g'
remove_guest $g
"$LAB_DIR/guest.sh" create $g local-nic a
lv a dumpxml --migratable $g >"$OUT/saved.xml"

# online, for comparison: the same code reading the XML from hostA
ferry xml $g --to hostC
check "online: ferry xml $g --to hostC exits 0" test "$FERRY_RC" = 0
cp "$OUT/out" "$OUT/online"
ferry xml $g --to hostC --json
cp "$OUT/out" "$OUT/online.json"
check "online: the XML is rewritten for hostC (images dir, bridge)" \
    sh -c "grep -q \"<source file='/var/lib/libvirt/images-c/$g.qcow2'/>\" '$OUT/online' && grep -q \"<source bridge='br-vm'/>\" '$OUT/online'"

# ---- the operator's machine cut off from every host ----
ip -n "$P-op" link set eth0 down
ferry xml $g --to hostC
check "offline: ferry xml DOMAIN (which asks the hosts) fails: they are out of reach" test "$FERRY_RC" != 0
ferry xml --file "$OUT/saved.xml" --from hostA --to hostC
check "offline: ferry xml --file exits 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "offline: it prints exactly what the online command printed" cmp -s "$OUT/out" "$OUT/online"
check "offline: nothing on stderr" test ! -s "$OUT/err"
ferry xml --file "$OUT/saved.xml" --from hostA --to hostC --json
# (online, "checks" holds the destination's checks; offline there are none: null)
check "offline: --json exits 0 and prints what the online --json printed, checks aside" \
    sh -c "test '$FERRY_RC' = 0 && python3 -c 'import json,sys
on, off = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(not (on.pop(\"checks\")[\"ok\"] and off.pop(\"checks\") is None and on == off))' '$OUT/online.json' '$OUT/out'"
ip -n "$P-op" link set eth0 up
for _ in $(seq 50); do op ping -c1 -W1 "$(lab_ip a)" >/dev/null 2>&1 && break; sleep 0.1; done

# ---- online again: the hosts see no connection while it runs ----
for h in $LAB_HOSTS; do
    net_watch "$h" op 16509
    net_watch "$h" op 22
done
ferry xml $g --to hostB
check "control: ferry xml DOMAIN connects to the hosts' libvirtd (the counters count)" \
    test "$(net_conns a op 16509)" -ge 1
for h in $LAB_HOSTS; do net_zero "$h"; done
declare -A sshd_log
for h in $LAB_HOSTS; do sshd_log[$h]=$(stat -c %s "$LAB/$h/log/sshd.log"); done
ferry xml --file "$OUT/saved.xml" --from hostA --to hostC
check "online: ferry xml --file exits 0, same output" sh -c "test '$FERRY_RC' = 0 && cmp -s '$OUT/out' '$OUT/online'"
for h in $LAB_HOSTS; do
    check "online: no connection to host${h^^}'s libvirtd or sshd during ferry xml --file" \
        test "$(net_conns "$h" op 16509)/$(net_conns "$h" op 22)" = 0/0
    check "online: host${h^^}'s sshd logged nothing" test "$(stat -c %s "$LAB/$h/log/sshd.log")" = "${sshd_log[$h]}"
done
check "the guest still runs on hostA only" only_on a $g running
done_testing
