#!/bin/bash
# ferry under valgrind for a whole block migration and a refusal: no invalid access, no
# definite leak; and the hosts show the migration done and the refusal and `ferry xml` harmless.
. "$(dirname "$0")/lib.sh"
g=t90-vg
remove_guest $g
"$LAB_DIR/guest.sh" create $g local a
vg() {
    FERRY_RC=0
    op timeout 300 valgrind -q --leak-check=full --show-leak-kinds=definite \
        --errors-for-leak-kinds=definite --error-exitcode=99 "$FERRY_BIN_PLAIN" "$@" \
        >"$OUT/out" 2>"$OUT/err" || FERRY_RC=$?
}
vg migrate $g --to hostB
check "block migration under valgrind: exit 0, no error" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/err"
check "guest runs on hostB, and only there" only_on b $g running
check "its disk is on hostB and gone from hostA" \
    test "$(file_state b "$(image_path b $g)")/$(file_state a "$(image_path a $g)")" = present/absent
snapshot_take
vg migrate $g --to hostB
check "refusal under valgrind: exit 2, no error" test "$FERRY_RC" = 2
[ "$FERRY_RC" = 2 ] || diag "$OUT/err"
check "... nothing changed on any host (domains and files)" unchanged_since_snapshot
vg xml $g --to hostC
check "ferry xml under valgrind: exit 0, no error" test "$FERRY_RC" = 0
check "... nothing changed on any host (domains and files)" unchanged_since_snapshot
remove_guest $g
done_testing
