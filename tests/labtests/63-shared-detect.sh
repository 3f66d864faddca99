#!/bin/bash
# ferry check shared: a directory bind-mounted from one place into every host is shared, each
# host's own images_dir is not; the answer follows the mounts (nothing cached) and no marker
# file is left behind.  Each answer is held against the hosts': a file made in the directory on
# one host is, or is not, there on the other.
. "$(dirname "$0")/lib.sh"
mnt=/var/lib/libvirt/shared
unmount_all() {
    for h in $LAB_HOSTS; do
        hx "$h" sh -c 'mountpoint -q "$1" && umount "$1"; rmdir "$1" 2>/dev/null' sh "$mnt" || true
    done
    rm -rf "$LAB/shared"
}
on_exit 'unmount_all'

mkdir -p "$LAB/shared"
for h in $LAB_HOSTS; do
    hx "$h" mkdir -p "$mnt"
    hx "$h" mount --bind "$LAB/shared" "$mnt"
done
inv="$OUT/inventory.ini"
sed "s|^images_dir = .*|&\nshared_dirs = $mnt|" "$LAB/inventory.ini" >"$inv"
# seen FROM TO DIR: a file made in DIR on host FROM is there in DIR on host TO ("present" or
# "absent", "error" if a host could not be asked)
seen() {
    local probe s
    probe="$3/.t63-probe-$RANDOM"
    hx "$1" touch -- "$probe" || { echo error; return; }
    s=$(file_state "$2" "$probe")
    hx "$1" rm -f -- "$probe" || s=error
    echo "$s"
}
# no_entry HOST DIR PATTERN: DIR exists on HOST and has no entry matching PATTERN
no_entry() {
    local l
    l=$(hx "$1" ls -A -- "$2") || return 1
    ! grep -q -- "$3" <<<"$l"
}

ferry --config "$inv" check shared --from hostA --to hostB
check "check shared: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/out" "$OUT/err"
check "images_dir is local to each host: not shared" \
    grep -q "^/var/lib/libvirt/images: not shared between hostA and hostB$" "$OUT/out"
check "... the hosts agree: a file made there on hostA is not on hostB" \
    test "$(seen a b /var/lib/libvirt/images)" = absent
check "the bind-mounted directory is shared" grep -q "^$mnt: shared between hostA and hostB$" "$OUT/out"
check "... the hosts agree: a file made there on hostA is on hostB" test "$(seen a b "$mnt")" = present
check "no marker file left in the shared directory" no_entry a "$mnt" .
no_marker_in_images() { no_entry a /var/lib/libvirt/images ferry-shared && no_entry b /var/lib/libvirt/images ferry-shared; }
check "no marker file left in hostA's or hostB's images_dir" no_marker_in_images

ferry --config "$inv" check shared --from hostC --to hostA --dir "$mnt"
check "--dir: hostC and hostA share it too" grep -q "^$mnt: shared between hostC and hostA$" "$OUT/out"
check "... the hosts agree: a file made there on hostC is on hostA" test "$(seen c a "$mnt")" = present

# Unmounted on hostA only: asked again, the answer changes (nothing is cached).
hx a umount "$mnt"
ferry --config "$inv" check shared --from hostA --to hostB --dir "$mnt"
check "after unmounting on hostA: not shared" grep -q "^$mnt: not shared between hostA and hostB$" "$OUT/out"
check "... the hosts agree: a file made there on hostA is not on hostB" test "$(seen a b "$mnt")" = absent
no_marker_in_mnt() { no_entry a "$mnt" ferry-shared && no_entry b "$mnt" ferry-shared; }
check "... and no marker file was left in either host's $mnt" no_marker_in_mnt

ferry check shared --from hostA --to hostB --dir /nonexistent
check "a directory missing on the destination: exit 1" test "$FERRY_RC" = 1
check "... named as not a directory" ferry_output_has "'/nonexistent' is shared: it is not a directory on 'hostB'"
check "... the hosts agree: hostB has no /nonexistent" test "$(file_state b /nonexistent)" = absent
ferry check shared --from hostA --to hostB --dir relative
check "a relative --dir: exit 2" test "$FERRY_RC" = 2
done_testing
