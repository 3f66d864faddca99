#!/bin/bash
# Early action on a guest that cannot converge (issue 15, point 3).  gd-dirty (128 MiB, dirtying
# about as fast as --bandwidth 20 sends) is migrated with --timeout 60:
#  1. hostA -> hostB, default policy: at each pass the policy predicts it cannot converge before
#     the timeout; after 3 passes in a row it suspends the guest then -- before 55 s, by the
#     prediction, not the timeout (about 14 s in the lab; later when the machine is loaded and
#     the guest's dirty rate wavers) -- saying what it predicted and why (rates, passes) and what
#     would let it finish live; the move completes, gd-dirty runs on hostB only, resumed there.
#  2. back hostB -> hostA with --postcopy: the prediction switches it to post-copy instead (post-
#     copy allowed beats the final action), likewise; it runs on hostA only.
# gd-dirty is left as up.sh made it: defined on hostA, shut off.
. "$(dirname "$0")/lib.sh"

export FERRY_STATE_DIR="$LAB/state-t58"
g=gd-dirty
policy_event() { # policy_event ACTION: the JSON policy event that took ACTION, at_s and reason
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("event") == "policy" and d.get("action") == sys.argv[2] and not d.get("error"):
        print("%.1f %s" % (d["at_s"], d["reason"])); break' "$OUT/out" "$1"
}
cleanup() {
    for h in b c; do lv $h destroy $g >/dev/null 2>&1 || true; lv $h undefine $g >/dev/null 2>&1 || true; done
    lv a destroy $g >/dev/null 2>&1 || true
    rm -rf "$FERRY_STATE_DIR"
}
on_exit cleanup
rm -rf "$FERRY_STATE_DIR"
check "setup: $g is defined on hostA only, shut off" only_on a $g "shut off"
lv a start $g >/dev/null

# ---- 1. default policy: suspended early --------------------------------------------------
ferry migrate $g --to hostB --bandwidth 20 --timeout 60 --json
ev=$(policy_event suspend)
diag <<<"suspend: $ev"
check "the policy suspended $g by its prediction, before the timeout (within 55 s)" \
    eval '[ -n "$ev" ] && less "${ev%% *}" 55'
check "... saying what it predicted and why, and what would let it finish live" \
    eval 'grep -Eq "^[0-9.]+ dirtying [0-9.]+ MiB/s, sending [0-9.]+ MiB/s: it (cannot converge|would need [0-9]+ s to converge, past the 60 s timeout) \(predicted at 3 passes in a row\); --postcopy or --auto-converge could let it finish live" <<<"$ev"'
check "... the move completed (exit 0): $g runs on hostB only, resumed" \
    eval '[ "$FERRY_RC" = 0 ] && only_on b $g running && [ "$(json_result final_action)" = suspend ]'

# ---- 2. --postcopy: switched to post-copy early ------------------------------------------
ferry migrate $g --to hostA --bandwidth 20 --timeout 60 --postcopy --json
ev=$(policy_event postcopy)
diag <<<"postcopy: $ev"
check "with --postcopy the prediction switched it to post-copy, within 55 s" \
    eval '[ -n "$ev" ] && less "${ev%% *}" 55 && grep -q "(predicted at 3 passes in a row): switching to post-copy now" <<<"$ev"'
check "... the move completed (exit 0): $g runs on hostA only" \
    eval '[ "$FERRY_RC" = 0 ] && only_on a $g running && [ "$(json_result final_action)" = postcopy ]'
lv a destroy $g >/dev/null
check "$g is back as up.sh left it: defined on hostA only, shut off" only_on a $g "shut off"
done_testing
