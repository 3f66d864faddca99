#!/bin/bash
# ferry check shared: a directory bind-mounted from one place into every host is shared, each
# host's own images_dir is not; the answer follows the mounts (nothing cached) and no marker
# file is left behind.
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

ferry --config "$inv" check shared --from hostA --to hostB
check "check shared: exit 0" test "$FERRY_RC" = 0
[ "$FERRY_RC" = 0 ] || diag "$OUT/out" "$OUT/err"
check "images_dir is local to each host: not shared" \
    grep -q "^/var/lib/libvirt/images: not shared between hostA and hostB$" "$OUT/out"
check "the bind-mounted directory is shared" grep -q "^$mnt: shared between hostA and hostB$" "$OUT/out"
check "no marker file left in the shared directory" test -z "$(ls -A "$LAB/shared")"
check "no marker file left in hostB's images_dir" \
    test -z "$(hx b sh -c 'ls -A /var/lib/libvirt/images | grep ferry-shared')"

ferry --config "$inv" check shared --from hostC --to hostA --dir "$mnt"
check "--dir: hostC and hostA share it too" grep -q "^$mnt: shared between hostC and hostA$" "$OUT/out"

# Unmounted on hostA only: asked again, the answer changes (nothing is cached).
hx a umount "$mnt"
ferry --config "$inv" check shared --from hostA --to hostB --dir "$mnt"
check "after unmounting on hostA: not shared" grep -q "^$mnt: not shared between hostA and hostB$" "$OUT/out"

ferry check shared --from hostA --to hostB --dir /nonexistent
check "a directory missing on the destination: exit 1" test "$FERRY_RC" = 1
check "... named as not a directory" ferry_output_has "'/nonexistent' is shared: it is not a directory on 'hostB'"
ferry check shared --from hostA --to hostB --dir relative
check "a relative --dir: exit 2" test "$FERRY_RC" = 2
done_testing
