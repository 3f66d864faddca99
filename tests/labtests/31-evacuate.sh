#!/bin/bash
# ferry evacuate hostA, and host maps, in the lab.
#  1. hostA holds five guests: ga-local (running, local disk), gc-overlay (paused, overlay on a
#     base present everywhere), gb-shared (running, NBD disk), gd-dirty (running, dirtying its
#     memory), t31-off (shut off, local disk).
#  2. a plan that cannot fit (hostB and hostC keep more memory in reserve than they have) is
#     refused naming every guest, before anything moves: nothing changes on any host; --dry-run
#     prints the plan and changes nothing either.
#  3. `ferry evacuate hostA --concurrency 2`: every guest arrives on hostB or hostC in its
#     original power state, in exactly one place, its disk identical by checksum; hostA holds no
#     domain and none of their disk images; never more than two moves at once, and two did run
#     at once.
#  4. host maps: one with an unknown guest, one with a guest named twice, one over capacity: each
#     refused (exit 2) naming the file, the key and the reason, nothing moved; `ferry plan`
#     prints the moves; `ferry apply --yes` puts every guest back on hostA, in its state.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t31"
guests="ga-local gb-shared gc-overlay gd-dirty t31-off"
declare -A want=([ga-local]=running [gb-shared]=running [gc-overlay]=paused [gd-dirty]=running
    [t31-off]="shut off")
cleanup() {
    # the lab's guests as up.sh left them, on hostA
    local g
    for g in ga-local gb-shared gc-overlay; do
        [ "$(state a $g)" = paused ] && lv a resume $g >/dev/null 2>&1
    done
    [ "$(state a gd-dirty)" = running ] && lv a destroy gd-dirty >/dev/null 2>&1
    remove_guest t31-off
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
# where_is NAME: the host (a, b or c) NAME is on, if it is on exactly one
where_is() {
    local h s found=""
    for h in $LAB_HOSTS; do
        s=$(state $h "$1")
        [ "$s" = absent ] && continue
        [ -z "$found" ] || return 1
        found=$h
    done
    [ -n "$found" ] && echo "$found"
}

remove_guest t31-off
rm -rf "$FERRY_STATE_DIR"
"$LAB_DIR/guest.sh" create t31-off local a --no-start
lv a start gd-dirty >/dev/null
lv a suspend gc-overlay >/dev/null
declare -A sum
for g in ga-local gc-overlay t31-off; do sum[$g]=$(checksum $g a); done
for g in $guests; do
    [ "$(state a $g)" = "${want[$g]}" ] || { echo "# setup: $g is $(state a $g) on hostA" >&2; exit 1; }
done

# ---- 2. does not fit: refused before anything moves ----------------------------------------
snapshot_take
sed -e '/^\[host host[BC]\]/a reserved_memory_mib = 100000000' "$LAB/inventory.ini" >"$OUT/full.ini"
ferry --config "$OUT/full.ini" evacuate hostA
diag "$OUT/err"
check "a plan that does not fit: refused before anything moves, exit 2" test "$FERRY_RC" = 2
check "... naming each guest that does not fit, and why" \
    eval 'for g in $guests; do grep -q "does not fit: '"'"'$g'"'"'.*hostB: needs .* MiB of memory" "$OUT/out" || exit 1; done'
check "... and saying nothing was moved" grep -q "hostA: 5 guest(s) do not fit: .*nothing was moved" "$OUT/err"
check "... nothing changed on any host" unchanged_since_snapshot
ferry evacuate hostA --dry-run --to hostB --to hostC
check "--dry-run: exit 0, one line per guest, nothing changed" \
    eval '[ "$FERRY_RC" = 0 ] && [ "$(grep -c " hostA    -> host[BC] " "$OUT/out")" = 5 ] && unchanged_since_snapshot'

# ---- 3. evacuate hostA ----------------------------------------------------------------------
ferry evacuate hostA --concurrency 2 --json
[ "$FERRY_RC" = 0 ] || { diag "$OUT/err"; tail -1 "$OUT/out" | diag /dev/stdin; }
check "ferry evacuate hostA --concurrency 2: exit 0" test "$FERRY_RC" = 0
cp "$OUT/out" "$OUT/evacuate.json"
for g in $guests; do
    h=$(where_is $g) || h=""
    check "$g is in exactly one place, on hostB or hostC (host${h^^})" eval '[ "$h" = b ] || [ "$h" = c ]'
    check "... ${want[$g]}, as it was on hostA" test "$(state "${h:-a}" $g)" = "${want[$g]}"
    [ -z "${sum[$g]:-}" ] || check "... its disk identical" test "$(checksum $g "${h:-a}")" = "${sum[$g]}"
    [ "$g" = t31-off ] || [ "$g" = gd-dirty ] || [ "$g" = gb-shared ] ||
        check "... it runs: one qemu process for it, on host${h^^}" \
            eval '[ "$(qemu_count "${h:-a}" $g)" = 1 ] && [ "$(qemu_count a $g)" = 0 ]'
done
check "t31-off is persistent where it went, and still shut off (cold move)" persistent "$(where_is t31-off)" t31-off
names=$(lv a list --all --name | sed '/^$/d')
check "hostA holds no domain any more (its libvirtd lists none)" test -z "$names"
check "hostA holds none of the moved disk images" \
    eval 'image_absent a ga-local && image_absent a gc-overlay && image_absent a t31-off'
# ferry list agrees with the hosts: each guest's host and state, its disks' kinds; and it
# refreshes the definitions cache ferry rescue reads (emptied first: the moves recorded too)
rm -rf "$FERRY_STATE_DIR/definitions"
ferry list --json
python3 - "$OUT/out" >"$OUT/list" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for g in doc["guests"]:
    print(g["name"], g["host"], g["state"].replace(" ", "_"), ",".join(d["kind"] for d in g["disks"]) or "-")
print("hostA-guests", [h["guests"] for h in doc["hosts"] if h["name"] == "hostA"][0])
PY
listed_ok() {
    local g h
    for g in $guests; do
        h=$(where_is $g) || return 1
        grep -qx "$g host${h^^} $(state $h $g | tr ' ' _) .*" "$OUT/list" || { echo "# list: $(grep "^$g " "$OUT/list")" >&2; return 1; }
    done
    grep -qx "ga-local .* local" "$OUT/list" && grep -qx "gb-shared .* shared" "$OUT/list" &&
        grep -qx "hostA-guests 0" "$OUT/list"
}
check "ferry list --json: every guest where the hosts have it, in that state; disks local/shared; hostA 0 guests" listed_ok
cached_ok() {
    local g h u
    for g in $guests; do
        h=$(where_is $g) || return 1
        u=$(lv $h domuuid $g) || return 1
        [ -s "$FERRY_STATE_DIR/definitions/host${h^^}/$u.xml" ] &&
            [ -s "$FERRY_STATE_DIR/definitions/host${h^^}/$u.json" ] ||
            { echo "# no cached definition of $g on host${h^^}" >&2; return 1; }
    done
    [ -z "$(ls -A "$FERRY_STATE_DIR/definitions/hostA" 2>/dev/null)" ]
}
check "after ferry list the definitions cache holds each guest's definition where it is, none on hostA" cached_ok
# concurrency, from ferry's JSON: when each move began and how long it took
python3 - "$OUT/evacuate.json" >"$OUT/overlap" <<'PY'
import json, sys
doc = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
spans = [(r["started_s"], r["started_s"] + r["elapsed_s"]) for r in doc["results"]]
points = sorted({s for s, _ in spans} | {e - 1e-6 for _, e in spans})
print(max(sum(1 for s, e in spans if s <= t < e) for t in points), len(doc["results"]),
      sum(r["result"] == "done" for r in doc["results"]), len(doc["still_on_host"]))
PY
read -r peak n done_n left_n <"$OUT/overlap"
check "JSON: 5 results, 5 done, nothing left on the host" test "$n/$done_n/$left_n" = "5/5/0"
check "at most 2 moves at once, and 2 did run at once (peak $peak)" test "$peak" = 2

# ---- 4. host maps ---------------------------------------------------------------------------
snapshot_take
echo '{"hostB": ["ga-local"], "hostC": ["no-such-guest"]}' >"$OUT/unknown.json"
ferry plan --host-map "$OUT/unknown.json"
check "host map with an unknown guest: exit 2, naming file, key and guest" \
    eval '[ "$FERRY_RC" = 2 ] && grep -q "host map '"'$OUT/unknown.json'"', key '"'hostC'"': unknown guest '"'no-such-guest'"'" "$OUT/err"'
echo '{"hostA": ["ga-local", "gb-shared"], "hostC": ["ga-local"]}' >"$OUT/twice.json"
ferry apply --yes --host-map "$OUT/twice.json"
check "apply, a guest named twice: exit 2, naming file, key and guest" \
    eval '[ "$FERRY_RC" = 2 ] && grep -q "host map '"'$OUT/twice.json'"', key '"'hostC'"': guest '"'ga-local'"' is named twice (also under key '"'hostA'"')" "$OUT/err"'
echo '{"hostA": ["ga-local", "gd-dirty"]}' >"$OUT/full.json"
sed -e '/^\[host hostA\]/a reserved_memory_mib = 100000000' "$LAB/inventory.ini" >"$OUT/a-full.ini"
ferry --config "$OUT/a-full.ini" apply --yes --host-map "$OUT/full.json"
check "apply, hostA over capacity: exit 2, naming file, key, guest and the memory" \
    eval '[ "$FERRY_RC" = 2 ] && grep -q "host map '"'$OUT/full.json'"', key '"'hostA'"': guest '"'gd-dirty'"' cannot go there: hostA: needs 128 MiB of memory" "$OUT/err"'
check "... none of the three moved anything" unchanged_since_snapshot

echo '{"hostA": ["ga-local", "gb-shared", "gc-overlay", "gd-dirty", "t31-off"]}' >"$OUT/back.json"
ferry plan --host-map "$OUT/back.json"
check "ferry plan: five moves to hostA, nothing changed" \
    eval '[ "$FERRY_RC" = 0 ] && [ "$(grep -c " -> hostA " "$OUT/out")" = 5 ] && unchanged_since_snapshot'
ferry plan --host-map "$OUT/back.json" --json
check "ferry plan --json: its result line has the same five moves to hostA, none in place" \
    python3 -c 'import json,sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
sys.exit(not (r["command"] == "plan" and r["ok"] and r["error"] is None and r["in_place"] == []
              and sorted(m["guest"] for m in r["moves"] if m["to"] == "hostA") == sorted(sys.argv[2].split())))' "$OUT/out" "$guests"
ferry apply --yes --host-map "$OUT/back.json" --json
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "ferry apply --yes --json: exit 0, its result: five moved, none failed or not begun" \
    eval '[ "$FERRY_RC" = 0 ] && [ "$(json_result moved)/$(json_result failed)/$(json_result not_begun)/$(json_result ok)" = 5/0/0/true ]'
for g in $guests; do
    check "$g back on hostA only, ${want[$g]}" only_on a $g "${want[$g]}"
done
check "disks identical after the round trip" \
    eval 'for g in ga-local gc-overlay t31-off; do [ "$(checksum $g a)" = "${sum[$g]}" ] || exit 1; done'
ferry plan --host-map "$OUT/back.json"
check "the same map again: every guest in place, no move" \
    eval '[ "$FERRY_RC" = 0 ] && [ "$(grep -c "^in place: " "$OUT/out")" = 5 ] && ! grep -q " -> " "$OUT/out"'
done_testing
