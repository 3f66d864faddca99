#!/bin/bash
# The operator's view (issue 15, points 4-7): `ferry check ssh` checks every hop a migration
# uses -- this machine to both hosts, and host to host -- so that a destination missing from
# this machine's known_hosts is found by the check, not by the migration, each failure named
# with a remedy that exists; every --json line of these commands is valid against
# docs/json-schema.json; the progress figures are true: percentages within 0..100, the disk
# rate computed during a block migration, no dirty rate or ETA while paused, a cold copy with
# its own progress (a line every 2 s at most) and its own summary figures.
. "$(dirname "$0")/lib.sh"

g=t64-figures
KH=$LAB/op/known_hosts
cp -p "$KH" "$OUT/known_hosts.op"
cp -p "$LAB/a/rootssh/known_hosts" "$OUT/known_hosts.a"
cp -p "$LAB/b/rootssh/known_hosts" "$OUT/known_hosts.b"
restore() {
    cp -p "$OUT/known_hosts.op" "$KH"
    cp -p "$OUT/known_hosts.a" "$LAB/a/rootssh/known_hosts"
    cp -p "$OUT/known_hosts.b" "$LAB/b/rootssh/known_hosts"
    "$LAB_DIR/shape.sh" off
    remove_guest $g
}
on_exit restore
remove_guest $g
# valid FILE: every line of FILE is valid against the schema, in the schema's conventions
valid() { python3 "$FERRY_TOP/tests/json/validate.py" "$1"; }
# json EXPR: a Python expression over d, the last JSON line of $OUT/out
json() { python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(not eval(sys.argv[2]))' "$OUT/out" "$1"; }

"$LAB_DIR/guest.sh" create $g local a
check "setup: $g runs on hostA only" only_on a $g running

# ---- this machine does not know hostB's host key ------------------------------------------------
grep -vE "^(\[?$(lab_ip b)|hostb)[],: ]" "$OUT/known_hosts.op" >"$KH"
check "setup: hostB is gone from this machine's known_hosts" sh -c "! grep -q '$(lab_ip b)' '$KH'"
ferry check ssh --from hostA --to hostB
check "check ssh: exit 1" test "$FERRY_RC" = 1
check "check ssh: the hop this machine -> hostB is hostkey-unknown" grep -qx "this machine -> hostB: hostkey-unknown" "$OUT/out"
check "check ssh: its remedy names ferry's known_hosts file and how to fetch and compare the key" \
    grep -qF "remedy: ferry's known_hosts '$KH' has no key for hostB" "$OUT/out"
check "check ssh: ... with the commands to do it (ssh-keyscan, ssh-keygen -lf)" \
    sh -c "grep 'remedy:' '$OUT/out' | grep -q 'ssh-keyscan -t ed25519 -p 22 $(lab_ip b)' && grep -q 'ssh-keygen -lf' '$OUT/out'"
check "check ssh: the other hops hold (this machine -> hostA, hostA -> hostB)" \
    sh -c "grep -qx 'this machine -> hostA: ok' '$OUT/out' && grep -qx 'hostA -> hostB: ok' '$OUT/out'"
check "check ssh: no remedy points at an option that does not exist" sh -c "! grep -qi 'allow recording' '$OUT/out' '$OUT/err'"
[ "$FERRY_RC" = 1 ] || diag "$OUT/out" "$OUT/err"
hop_out=$(op timeout 20 ssh -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$KH" -i "$LAB/op/id_ed25519" "root@$(lab_ip b)" true 2>&1 || true)
check "the hosts agree: OpenSSH here refuses hostB's unknown key" grep -qE "Host key verification failed|No ED25519 host key is known" <<<"$hop_out"
ferry check ssh --from hostA --to hostB --json
check "check ssh --json: exit 1, one line, valid against the schema" sh -c "[ $FERRY_RC = 1 ] && [ \$(wc -l <'$OUT/out') = 1 ] && python3 '$FERRY_TOP/tests/json/validate.py' '$OUT/out'"
check "check ssh --json: the failed hop is from null (this machine) to hostB, class hostkey-unknown" \
    json 'd["ok"] is False and d["failed"] == 1 and [(h["from"], h["to"], h["class"]) for h in d["hops"] if not h["ok"]] == [(None, "hostB", "hostkey-unknown")]'
ferry check ssh --all
check "check ssh --all: exit 1, this machine -> hostB hostkey-unknown; hostB's row not asked (src-login-refused), hostB's column ok" \
    sh -c "[ $FERRY_RC = 1 ] && grep -qx 'this machine -> hostB: hostkey-unknown' '$OUT/out' && grep -qE '^hostA +- +ok +ok' '$OUT/out' && grep -qE '^hostB +src-login-refused +- +src-login-refused' '$OUT/out' && grep -q '^3 of 9 hops failed' '$OUT/out'"
ferry migrate $g --to hostB --json
check "migrate: refused before anything moved (exit 2), naming hostB's unknown host key" \
    sh -c "[ $FERRY_RC = 2 ] && grep -q \"host key of 'hostB' .* is unknown\" '$OUT/err'"
check "migrate --json: the failure result names the guest, both hosts, refused, no file" \
    json 'd["ok"] is False and d["refused"] is True and d["domain"] == "t64-figures" and d["source"] == "hostA" and d["destination"] == "hostB" and d["error"]["kind"] and d["files"]["created"] == []'
check "migrate: $g still runs on hostA only" only_on a $g running
cp -p "$OUT/known_hosts.op" "$KH"

# ---- hostA does not know hostB's host key (host to host) ---------------------------------------
sed -i '/^hostb,/d' "$LAB/a/rootssh/known_hosts"
ferry check ssh --from hostA --to hostB --json
check "host to host: exit 1; this machine's hops ok, hostA -> hostB hostkey-unknown" \
    json '[(h["from"], h["to"], h["class"]) for h in d["hops"]] == [(None, "hostA", "ok"), (None, "hostB", "ok"), ("hostA", "hostB", "hostkey-unknown")] and d["hops"][2]["remedy"]'
check "host to host: exit status 1" test "$FERRY_RC" = 1
cp -p "$OUT/known_hosts.a" "$LAB/a/rootssh/known_hosts"
ferry check ssh --from hostA --to hostB --json
check "restored: every hop holds (exit 0, ok true)" sh -c "[ $FERRY_RC = 0 ] && grep -q '\"ok\":true,\"failed\":0' '$OUT/out'"

# ---- a block migration on a slow link: the figures ---------------------------------------------
"$LAB_DIR/shape.sh" 40mbit
ferry migrate $g --to hostB --json
"$LAB_DIR/shape.sh" off
check "block: exit 0" test "$FERRY_RC" = 0
check "block: $g runs on hostB only" only_on b $g running
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "block: every line valid against the schema" valid "$OUT/out"
cp "$OUT/out" "$OUT/block.jsonl"
figures() {
    python3 - "$OUT/block.jsonl" "$1" <<'PY'
import json, sys
S = [o for o in map(json.loads, open(sys.argv[1])) if o["event"] == "sample"]
ok = eval(sys.argv[2])
if not ok:
    for o in S[:40]:
        print("# %s" % json.dumps({k: o.get(k) for k in ("elapsed_s", "stage", "memory_percent", "disk_percent", "disk_bps", "dirty_bps", "eta_s", "policy_next_in_s")}), file=sys.stderr)
sys.exit(not ok)
PY
}
check "block: several samples while the disks were copied" figures 'len([o for o in S if o["stage"] == "disks"]) >= 2'
check "block: the disk rate is computed (> 0) in most samples of the disk copy, never a made-up 0" \
    figures 'sum(1 for o in S if o["stage"] == "disks" and (o["disk_bps"] or 0) > 0) * 2 >= len([o for o in S if o["stage"] == "disks"]) - 1'
check "block: every percentage within 0..100" \
    figures 'all(o[k] is None or 0 <= o[k] <= 100 for o in S for k in ("memory_percent", "disk_percent"))'
check "block: memory_percent is what is in sync ((total - remaining) / total), not sent / total" \
    figures 'all(o["memory_percent"] is None or abs(o["memory_percent"] - 100.0 * (o["memory_total_bytes"] - o["memory_remaining_bytes"]) / o["memory_total_bytes"]) <= 0.06 for o in S)'
check "block: no dirty rate and no ETA while the guest is paused" \
    figures 'all(o["dirty_bps"] is None and o["eta_s"] is None for o in S if o["paused"])'
check "block: the policy's deadline never moves later (suspend in 59s never becomes 99s)" \
    figures 'all(b["elapsed_s"] + b["policy_next_in_s"] <= a["elapsed_s"] + a["policy_next_in_s"] + 0.5 for a, b in zip(S, S[1:]) if "policy_next_in_s" in a and "policy_next_in_s" in b)'

# ---- cold, relayed through ferry, human output: its own progress and summary -------------------
lv b destroy $g >/dev/null
# hostB does not know hostA's key: the copy is relayed through this machine (the issue saw ~100
# identical progress lines there)
sed -i '/^hosta,/d' "$LAB/b/rootssh/known_hosts"
"$LAB_DIR/shape.sh" 40mbit
ferry migrate $g --to hostA
"$LAB_DIR/shape.sh" off
cp -p "$OUT/known_hosts.b" "$LAB/b/rootssh/known_hosts"
check "cold: the disk was relayed through ferry" grep -q "copied disk vda to .* bytes, relay, sha256" "$OUT/err"
check "cold: exit 0" test "$FERRY_RC" = 0
check "cold: $g is shut off on hostA only" only_on a $g "shut off"
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "cold: the copy's progress has its own line (copying a disk), never 'memory after the disks'" \
    sh -c "grep -q 'copying a disk: ' '$OUT/err' && ! grep -q 'memory after the disks' '$OUT/err'"
copy_s=$(sed -n 's/^  disk: .* copied in \([0-9.]*\) s (.*)$/\1/p' "$OUT/out")
check "cold: the summary gives the copy's time and rate (${copy_s:-?} s), no job throughput" \
    sh -c "[ -n '$copy_s' ] && ! grep -q 'throughput:' '$OUT/out' && grep -q '^  definition: moved in' '$OUT/out'"
check "cold: progress printed at most every 2 s (not a line per tick)" \
    test "$(grep -c 'copying a disk: ' "$OUT/err")" -le "$(awk -v s="${copy_s:-0}" 'BEGIN { print int(s / 2) + 2 }')"
[ "$(grep -c 'copying a disk: ' "$OUT/err")" -le 20 ] || diag "$OUT/err"

done_testing
