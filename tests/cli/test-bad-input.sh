#!/bin/bash
# tests/cli/test-bad-input.sh -- the ferry command against bad input, table-driven (TAP).
#
# Every case runs the real `ferry` binary ($FERRY_BIN) with one bad inventory, option or
# argument and checks: the exit status is the one the README documents (2: bad arguments or
# configuration, nothing touched; 1: the operation failed), the message names what is wrong
# and where (a regex over stderr+stdout), nothing crashed (exit >= 128, a sanitizer report)
# and GLib printed no CRITICAL or WARNING; with --json, that stdout is JSON lines valid against
# docs/json-schema.json (tests/json/validate.py).  No host is needed: the inventory's libvirt URIs
# point at a closed port on loopback, or at libvirt's test:///default driver.
set -uo pipefail
FERRY_BIN=${FERRY_BIN:?set FERRY_BIN to the ferry binary}
validate=$(cd "$(dirname "$0")/../json" && pwd)/validate.py
work=$(mktemp -d /tmp/ferry-bad-input.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
n=0
failed=0

# A valid inventory: two hosts whose libvirtd is a closed port, ssh settings that exist.
: >key
: >known_hosts
good() {
    cat <<INI
[ferry]
ssh_user = root
ssh_key = $work/key
known_hosts = $work/known_hosts

[host A]
uri = qemu+tcp://127.0.0.1:1/system
address = 127.0.0.1
images_dir = /var/lib/libvirt/images

[host B]
uri = qemu+tcp://127.0.0.1:1/system
address = 127.0.0.2
images_dir = /var/lib/libvirt/images
INI
}
good >good.ini
# inv NAME CONTENT: an inventory file with CONTENT (printf %b: \n, \xNN)
inv() { printf '%b' "$2" >"$1.ini"; }
# with NAME SED-EXPR: the good inventory changed by SED-EXPR
with() { good | sed -e "$2" >"$1.ini"; }

cat >dom.xml <<'XML'
<domain type='qemu'><name>d1</name><uuid>6f1c2a36-1c44-4d0d-9d59-6a3ee7a1c0de</uuid>
<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='/var/lib/libvirt/images/d1.qcow2'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>
XML

# case STATUS REGEX [VAR=VALUE...] -- ARGS...: one case.  VAR=VALUE pairs before "--" go to
# ferry's environment (FERRY_CONFIG is unset otherwise).
case_() {
    local want=$1 regex=$2 rc=0 problem=""
    shift 2
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    n=$((n + 1))
    env -u FERRY_CONFIG "${envs[@]}" timeout -k 5 60 "$FERRY_BIN" "$@" >out 2>err </dev/null || rc=$?
    cat out err >all
    if [ "$rc" -ge 124 ]; then
        problem="crashed or hung (exit $rc)"
    elif [ "$rc" != "$want" ]; then
        problem="exit $rc, expected $want"
    elif ! grep -qE -- "$regex" all; then
        problem="message does not match /$regex/"
    elif grep -qE 'CRITICAL|WARNING \*\*|runtime error:|AddressSanitizer|LeakSanitizer' all; then
        problem="GLib warning or sanitizer report"
    elif [[ " $* " == *" --json "* ]] && [ -s out ] && ! python3 "$validate" out 2>schema; then
        problem="stdout is not valid against docs/json-schema.json: $(head -c 400 schema)"
    fi
    local what="${envs[*]:+${envs[*]} }ferry $*"
    if [ -z "$problem" ]; then
        echo "ok $n - $what: exit $rc, /$regex/"
    else
        failed=$((failed + 1))
        echo "not ok $n - $what: $problem"
        sed 's/^/#   /' all | head -8
    fi
}

# ---------------------------------------------------------------- the inventory file itself
for cmd in "migrate d1 --to B" "xml d1 --to B" "check ssh --from A --to B" "check shared --from A --to B" \
    "nova-sync 6f1c2a36-1c44-4d0d-9d59-6a3ee7a1c0de --to B" "nova-sync --pending"; do
    # shellcheck disable=SC2086
    case_ 2 "$work/nope.ini" -- --config "$work/nope.ini" $cmd
    # shellcheck disable=SC2086
    case_ 2 "$work/nope.ini" FERRY_CONFIG="$work/nope.ini" -- $cmd
done
inv empty ''
case_ 2 "empty.ini.*(no host|empty)" -- --config "$work/empty.ini" migrate d1 --to B
mkdir dir.ini
case_ 2 "dir.ini" -- --config "$work/dir.ini" migrate d1 --to B
case_ 2 "dir.ini" FERRY_CONFIG="$work/dir.ini" -- xml d1 --to B
inv latin1 "[host A]\nuri = qemu:///system\naddress = caf\xe9\n[host B]\nuri = qemu:///system\n"
case_ 2 "latin1.ini.*(UTF-8|utf-8|encoding)" -- --config "$work/latin1.ini" migrate d1 --to B
inv garbage 'this is not an ini file\n'
case_ 2 "garbage.ini" -- --config "$work/garbage.ini" migrate d1 --to B
with section '$a [hots C]\nuri = qemu:///system'
# the good inventory with a state directory of its own (status, snapshot: the journal and the
# definitions cache there)
with state "s|^\[ferry\]|&\nstate_dir = $work/state|"
case_ 2 "section.ini.*hots C" -- --config "$work/section.ini" migrate d1 --to B
with key '/^\[host B\]/a urii = qemu:///system'
case_ 2 "key.ini.*urii" -- --config "$work/key.ini" migrate d1 --to B
with fkey '/^\[ferry\]/a ssh_keys = /x'
case_ 2 "fkey.ini.*ssh_keys" -- --config "$work/fkey.ini" check ssh --from A --to B
with nouri '/^\[host B\]/,$ {/^uri/d}'
case_ 2 "nouri.ini.*(B.*uri|uri.*B)" -- --config "$work/nouri.ini" migrate d1 --to B
with dup '$a [host A]\nuri = qemu:///system'
case_ 2 "dup.ini.*A" -- --config "$work/dup.ini" migrate d1 --to B
with duphost '$a [host a]\nuri = qemu:///system'
case_ 2 "duphost.ini.*(a|A)" -- --config "$work/duphost.ini" migrate d1 --to B
with nokey '/^ssh_key/d'
case_ 2 "ssh_key" -- --config "$work/nokey.ini" check ssh --from A --to B
case_ 2 "ssh_key" -- --config "$work/nokey.ini" check shared --from A --to B
with nokh '/^known_hosts/d'
case_ 2 "known_hosts" -- --config "$work/nokh.ini" check ssh --from A --to B
case_ 2 "known_hosts" -- --config "$work/nokh.ini" check ssh --all
with negmem '/^\[host B\]/a reserved_memory_mib = -5'
case_ 2 "negmem.ini.*reserved_memory_mib" -- --config "$work/negmem.ini" migrate d1 --to B
with bigmem '/^\[host B\]/a reserved_memory_mib = 99999999999999999999999'
case_ 2 "bigmem.ini.*reserved_memory_mib" -- --config "$work/bigmem.ini" migrate d1 --to B
with junkmem '/^\[host B\]/a reserved_disk_mib = 512MB'
case_ 2 "junkmem.ini.*reserved_disk_mib" -- --config "$work/junkmem.ini" migrate d1 --to B
with port '/^\[host B\]/a ssh_port = 70000'
case_ 2 "port.ini.*ssh_port" -- --config "$work/port.ini" migrate d1 --to B
with port0 '/^\[host B\]/a ssh_port = -1'
case_ 2 "port0.ini.*ssh_port" -- --config "$work/port0.ini" check ssh --from A --to B
with bridges '/^\[host B\]/a bridges = public'
case_ 2 "bridges.ini.*bridges" -- --config "$work/bridges.ini" migrate d1 --to B
with relimg 's|^images_dir = .*|images_dir = images|'
case_ 2 "relimg.ini.*images_dir" -- --config "$work/relimg.ini" migrate d1 --to B
with nova '$a [nova]\nuser = nova\npassword_file = /nonexistent/pw'
case_ 2 "/nonexistent/pw" -- --config "$work/nova.ini" nova-sync 6f1c2a36-1c44-4d0d-9d59-6a3ee7a1c0de --to B
with novakey '$a [nova]\nuser = nova\npasswd = x'
case_ 2 "novakey.ini.*passwd" -- --config "$work/novakey.ini" nova-sync --pending

# ---------------------------------------------------------------- global options, commands
case_ 2 "[Uu]nknown option '?--bogus" -- --bogus migrate d1 --to B
case_ 2 "unknown command 'teleport'" -- --config good.ini teleport d1
case_ 2 "Usage" --
case_ 2 "--config" -- --config
case_ 0 "Usage" -- --help
case_ 0 "--to" -- --config good.ini migrate --help

# ferry help [COMMAND]; global options anywhere; "did you mean"
case_ 0 "Commands:.*|Exit status" -- help
case_ 0 "75 +done, but the Nova sync is queued" -- help
case_ 0 "cold +shut-off guest" -- help migrate
case_ 0 "check ssh|hop" -- help check
case_ 2 "unknown command 'teleport'" -- help teleport
case_ 2 "unknown command 'migrat' \(did you mean 'migrate'\?\)" -- --config good.ini migrat d1 --to B
case_ 2 "Unknown option --bandwith \(did you mean '--bandwidth'\?\)" -- --config good.ini migrate d1 --to B --bandwith 3
case_ 2 "unknown check 'sshh'.*did you mean 'ssh'" -- --config good.ini check sshh --from A --to B
with named 's/^\[host A\]/[host hostA]/; s/^\[host B\]/[host hostB]/'
case_ 2 "unknown host 'hsotB'.*did you mean 'hostB'" -- --config named.ini migrate d1 --to hsotB
case_ 2 "unknown host 'hostX'" -- --config named.ini xml d1 --to hostX
case_ 2 "one DOMAIN.*did you mean '--to hostB'" -- --config named.ini migrate d1 hostB
with testdrv '0,/^uri = .*/s||uri = test:///default|'
case_ 2 "'tset'.*did you mean 'test'" -- --config testdrv.ini migrate tset --to B
case_ 0 "<domain" -- xml --file dom.xml --from A --to B --xml-only --config good.ini --verbose
case_ 0 "<domain" -- xml --file dom.xml --config good.ini --from A --to B --xml-only
case_ 2 "unknown option '--bogus' before the command" -- --bogus --config good.ini help

# --json: errors too are one JSON line with a stable kind
case_ 2 '^\{"event":"result","command":"xml","ok":false.*"error":\{"kind":"usage","message":".*missing.xml' -- --config good.ini xml --file "$work/missing.xml" --from A --to B --json
case_ 2 '"command":"xml","ok":false.*"kind":"inventory"' -- --config "$work/nope.ini" xml d1 --to B --json
case_ 2 '"command":"check-ssh","ok":false.*"kind":"usage"' -- --config good.ini check ssh --from A --json
case_ 2 '"command":"migrate","ok":false,"error":\{"kind":"usage".*"refused":true' -- --config good.ini migrate d1 --to B --mode sideways --json
case_ 0 '^\{"event":"result","command":"xml","ok":true,"source":"A","destination":"B","movable":true,"disks":\[' -- --config good.ini xml --file dom.xml --from A --to B --json

# ---------------------------------------------------------------- migrate arguments
case_ 2 "DOMAIN" -- --config good.ini migrate --to B
case_ 2 "--to" -- --config good.ini migrate d1
case_ 2 "one DOMAIN|unexpected|d2" -- --config good.ini migrate d1 d2 --to B
case_ 2 "unknown host 'Z'" -- --config good.ini migrate d1 --to Z
case_ 2 "unknown host 'Y'" -- --config good.ini migrate d1 --to B --from Y
case_ 2 "bandwidth" -- --config good.ini migrate d1 --to B --bandwidth -1
case_ 2 "bandwidth" -- --config good.ini migrate d1 --to B --bandwidth abc
case_ 2 "bandwidth" -- --config good.ini migrate d1 --to B --bandwidth 99999999999999999999
case_ 2 "parallel" -- --config good.ini migrate d1 --to B --parallel 100000
case_ 2 "parallel" -- --config good.ini migrate d1 --to B --parallel -3
case_ 2 "timeout" -- --config good.ini migrate d1 --to B --timeout 1e99
case_ 2 "timeout" -- --config good.ini migrate d1 --to B --timeout -5
case_ 2 "timeout" -- --config good.ini migrate d1 --to B --timeout nan
case_ 2 "max-downtime" -- --config good.ini migrate d1 --to B --max-downtime -1
case_ 2 "stall-window" -- --config good.ini migrate d1 --to B --stall-window -1
case_ 2 "timeout action .bogus." -- --config good.ini migrate d1 --to B --on-timeout bogus
case_ 2 "--postcopy" -- --config good.ini migrate d1 --to B --on-timeout postcopy
case_ 2 "use auto, shared, block, block-full or cold" -- --config good.ini migrate d1 --to B --mode sideways
case_ 2 "(cannot|could not|unable to) (connect|reach)|not reachable|unreachable" -- --config good.ini migrate d1 --to B

# ---------------------------------------------------------------- xml arguments
case_ 2 "--file.*DOMAIN|DOMAIN.*--file" -- --config good.ini xml d1 --file dom.xml --from A --to B
case_ 2 "$work/missing.xml" -- --config good.ini xml --file "$work/missing.xml" --from A --to B
mkdir xmldir
case_ 2 "xmldir" -- --config good.ini xml --file "$work/xmldir" --from A --to B
printf 'not xml at all' >junk.xml
case_ 2 "junk.xml" -- --config good.ini xml --file "$work/junk.xml" --from A --to B
case_ 2 "--from" -- --config good.ini xml --file dom.xml --to B
case_ 2 "--to" -- --config good.ini xml --file dom.xml --from A
case_ 0 "<domain" -- --config good.ini xml --file dom.xml --from A --to B --xml-only
case_ 0 "<domain" FERRY_CONFIG="$work/good.ini" -- xml --file dom.xml --from A --to B --xml-only
case_ 0 "<domain" FERRY_CONFIG="$work/nope.ini" -- --config good.ini xml --file dom.xml --from A --to B --xml-only

# ---------------------------------------------------------------- check arguments
case_ 2 "ssh|shared" -- --config good.ini check
case_ 2 "bogus" -- --config good.ini check bogus
case_ 2 "--all" -- --config good.ini check ssh --all --from A
case_ 2 "--to" -- --config good.ini check ssh --from A
case_ 2 "unknown host 'Z'" -- --config good.ini check ssh --from A --to Z
case_ 2 "same host|itself|differ" -- --config good.ini check ssh --from A --to A
case_ 2 "absolute|relative" -- --config good.ini check shared --from A --to B --dir relative/dir

# ---------------------------------------------------------------- rescue and snapshot arguments
case_ 2 "one HOST" -- --config good.ini rescue
case_ 2 "one HOST" -- --config good.ini rescue A B
case_ 2 "unknown host 'Z'" -- --config good.ini rescue Z --confirm-dead Z
case_ 2 "--confirm-dead 'B' does not name the host to rescue 'A'.*nothing was changed" -- --config good.ini rescue A --confirm-dead B
case_ 2 "--confirm-dead 'a' does not name the host to rescue 'A'" -- --config good.ini rescue A --confirm-dead a
case_ 2 "--to 'A' is the host to rescue" -- --config good.ini rescue A --to A
case_ 2 "unknown host 'Z'" -- --config good.ini rescue A --to Z
case_ 2 "--cleanup takes neither --to nor --confirm-dead" -- --config good.ini rescue --cleanup A --confirm-dead A
case_ 2 "no arguments" -- --config good.ini snapshot A
with fence 's|^\[host A\]|&\nfence_command = /usr/bin/ipmitool "unterminated|'
case_ 2 "fence.ini: \\[host A\\] fence_command" -- --config "$work/fence.ini" rescue A --confirm-dead A
with fencekey 's|^\[host A\]|&\nfence_cmd = /bin/true|'
case_ 2 "fencekey.ini.*fence_cmd" -- --config "$work/fencekey.ini" rescue A --confirm-dead A
# A's libvirtd and sshd do not answer, but no other host can be asked (B's ssh fails): a cut
# in ferry's own network cannot be ruled out, so A is not proven dead
with nowitness 's|^\[host A\]|&\nssh_port = 1|'
# (refused before anything changed: exit 2, as every refusal)
case_ 2 "cannot prove 'A' dead: no other inventory host could be asked.*nothing was changed" -- --config "$work/nowitness.ini" rescue A --confirm-dead A
case_ 2 '^\{"event":"result","command":"rescue","ok":false,"host":"A","cleanup":false,"dry_run":false,"fencing":\{"unreachable":false,"witnesses":\[\],.*"guests":null,.*"error":\{"kind":"no-witness","message":"cannot prove' -- --config "$work/nowitness.ini" rescue A --confirm-dead A --json
# --cleanup: A must answer
case_ 2 "cannot clean up 'A': it does not answer.*nothing was changed" -- --config good.ini rescue --cleanup A
case_ 2 '^\{"event":"result","command":"rescue","ok":false,"error":\{"kind":"unreachable","message":"cannot clean up' -- --config good.ini rescue --cleanup A --json
case_ 2 '^\{"event":"result","command":"rescue","ok":false,"error":\{"kind":"usage"' -- --config good.ini rescue A --to A --json
case_ 0 '^\{"event":"result","command":"snapshot","ok":true,"definitions_dir":"'"$work"'/state","recorded":0,"hosts":\[\{"host":"A","reachable":false,"definitions":0,"oldest_age_s":null,"error":\{"kind":"unreachable"' -- --config state.ini snapshot --json

# ---------------------------------------------------------------- nova-sync arguments
case_ 2 "UUID|--undo|--pending" -- --config good.ini nova-sync
case_ 2 "not-a-uuid" -- --config good.ini nova-sync not-a-uuid --to B
case_ 2 "\\[nova\\]" -- --config good.ini nova-sync --undo abc
case_ 2 "\[nova\]" -- --config good.ini nova-sync 6f1c2a36-1c44-4d0d-9d59-6a3ee7a1c0de --to B
case_ 2 "\[nova\]" FERRY_CONFIG="$work/good.ini" -- nova-sync 6f1c2a36-1c44-4d0d-9d59-6a3ee7a1c0de --to B
case_ 2 "--undo|--pending" -- --config good.ini nova-sync --undo 1 --pending

# ---------------------------------------------------------------- fleet: list, locate, evacuate, plan, apply
# two hosts on libvirt's test driver: both hold the running domain 'test' (same UUID)
cat >tdrv.ini <<INI
[ferry]
connect_timeout = 5
state_dir = $work/tdrv-state

[host A]
uri = test:///default
images_dir = /var/lib/libvirt/images

[host B]
uri = test:///default
images_dir = /var/lib/libvirt/images
nova_host = cmp-b.example
INI
map() { printf '%s' "$2" >"$1.json"; }
case_ 2 "exactly one HOST" -- --config good.ini evacuate
case_ 2 "unknown host 'Z'|'Z'.*not in|no host 'Z'" -- --config good.ini evacuate Z
case_ 2 "--to A: that is the host being evacuated" -- --config good.ini evacuate A --to A
case_ 2 "--to: .*'Z'" -- --config good.ini evacuate A --to Z
case_ 2 "--concurrency takes 1 to 64" -- --config good.ini evacuate A --concurrency -1
case_ 2 "--bandwidth takes" -- --config good.ini evacuate A --bandwidth -5
case_ 2 "--vcpu-ratio takes" -- --config good.ini evacuate A --vcpu-ratio nan
case_ 2 "--timeout takes" -- --config good.ini evacuate A --timeout -1
case_ 2 "cannot evacuate 'A': cannot connect to libvirt on 'A'.*nothing was moved" -- --config good.ini evacuate A --dry-run
case_ 2 '^\{"event":"result","command":"evacuate","ok":false,"error":\{"kind":"precheck","message":"cannot evacuate' -- --config good.ini evacuate A --dry-run --json
case_ 2 '^\{"event":"result","command":"evacuate","ok":false,"error":\{"kind":"usage"' -- --config good.ini evacuate A --to A --json
case_ 2 "plan needs --host-map FILE" -- --config good.ini plan
case_ 2 "--yes is for apply" -- --config good.ini plan --host-map x.json --yes
case_ 2 "apply takes no argument" -- --config good.ini apply extra --host-map x.json
case_ 2 "host map '$work/missing.json': " -- --config good.ini plan --host-map "$work/missing.json"
map malformed '{"A": ["x"'
case_ 2 "host map '$work/malformed.json': not JSON" -- --config good.ini plan --host-map "$work/malformed.json"
map list '["A"]'
case_ 2 "list.json': expected an object" -- --config good.ini apply --yes --host-map "$work/list.json"
map empty '{}'
case_ 2 "empty.json': names no host" -- --config good.ini plan --host-map "$work/empty.json"
map unknownhost '{"A": [], "Zed": ["x"]}'
case_ 2 "unknownhost.json', key 'Zed': unknown host \(the inventory" -- --config good.ini plan --host-map "$work/unknownhost.json"
map notlist '{"A": "d1"}'
case_ 2 "notlist.json', key 'A': expected a list of guests, found a string" -- --config good.ini plan --host-map "$work/notlist.json"
map notname '{"B": ["d1", 7]}'
case_ 2 "notname.json', key 'B': item 2 is not a guest name or UUID \(a number\)" -- --config good.ini plan --host-map "$work/notname.json"
map hosttwice '{"A": [], "a": []}'
case_ 2 "hosttwice.json', key 'a': host 'A' is given twice" -- --config good.ini plan --host-map "$work/hosttwice.json"
map noguest '{"A": ["no-such-guest"]}'
case_ 2 "noguest.json', key 'A': unknown guest 'no-such-guest'" -- --config tdrv.ini plan --host-map "$work/noguest.json"
map guesttwice '{"A": ["test"], "cmp-b.example": ["6695eb01-f6a4-8304-79aa-97f2502e193f"]}'
case_ 2 "guesttwice.json', key 'cmp-b.example': guest '6695eb01-f6a4-8304-79aa-97f2502e193f' is named twice \(also under key 'A'\)" -- --config tdrv.ini apply --yes --host-map "$work/guesttwice.json"
map ontwo '{"cmp-b.example": ["test"]}'
case_ 2 "ontwo.json', key 'cmp-b.example': guest 'test' cannot go there: running on 'A', 'B'" -- --config tdrv.ini apply --yes --host-map "$work/ontwo.json"
case_ 2 '^\{"event":"result","command":"plan","ok":false,"host_map":".*unknownhost.json","moves":null,"in_place":null,"misfits":null,"error":\{"kind":"host-map"' -- --config good.ini plan --host-map "$work/unknownhost.json" --json
case_ 2 '^\{"event":"result","command":"apply","ok":false,"host_map":.*"results":null,.*"error":\{"kind":"capacity","message":"host map .*ontwo.json' -- --config tdrv.ini apply --yes --host-map "$work/ontwo.json" --json
case_ 2 "locate takes exactly one NAME or UUID" -- --config good.ini locate
case_ 2 "domain 'nope' was not found on any host" -- --config tdrv.ini locate nope
case_ 2 '^\{"event":"result","command":"locate","ok":false,"error":\{"kind":"not-found","message":"domain .nope. was not found' -- --config tdrv.ini locate nope --json
# on two hosts: exit 2, as every command that meets a guest running on two hosts
case_ 2 "domain 'test' is running on several hosts \(A \(running\), B \(running\)\)" -- --config tdrv.ini locate test
case_ 2 '^\{"event":"result","command":"locate","ok":false,"query":"test","name":"test","uuid":"6695eb01-f6a4-8304-79aa-97f2502e193f","hosts":\[\{"host":"A","state":"running","running":true,"persistent":true\},\{"host":"B".*"running_on":null,"flag":"running on .A., .B.",.*"nova":null,"error":\{"kind":"ambiguous"' -- --config tdrv.ini locate test --json
case_ 2 "list takes no argument" -- --config good.ini list extra
case_ 0 '^\{"event":"result","command":"list","ok":true,"hosts":\[\{"name":"A","reachable":false,"error":\{"kind":"unreachable","message":"cannot connect to libvirt on .A.*"memory_total_bytes":null,' -- --config good.ini list --json
case_ 0 "running on 'A', 'B'" -- --config tdrv.ini list
# list and locate refresh the definitions cache for ferry rescue (one definition per host)
case_ 0 '"command":"list","ok":true,.*"guests":\[\{"name":"test","uuid":"6695eb01-f6a4-8304-79aa-97f2502e193f","host":"A","state":"running"' -- --config tdrv.ini list --json
n=$((n + 1))
if [ -s "$work/tdrv-state/definitions/A/6695eb01-f6a4-8304-79aa-97f2502e193f.xml" ] &&
    [ -s "$work/tdrv-state/definitions/B/6695eb01-f6a4-8304-79aa-97f2502e193f.json" ]; then
    echo "ok $n - after ferry list the definitions cache holds 'test' of A and of B"
else
    failed=$((failed + 1))
    echo "not ok $n - after ferry list the definitions cache holds 'test' of A and of B"
    ls -lR "$work/tdrv-state" 2>&1 | sed 's/^/#   /' | head -8
fi
case_ 0 '^\{"event":"result","command":"status","ok":true,"state_dir":".*tdrv-state","operations":0,"error":null\}$' -- --config tdrv.ini status --json
case_ 2 '^\{"event":"result","command":"status","ok":false,"error":\{"kind":"usage"' -- --config tdrv.ini status extra --json

echo "1..$n"
[ "$failed" = 0 ]
