#!/bin/sh
# run-fuzz.sh SECONDS: build the libFuzzer targets with clang + ASan + UBSan in build-fuzz/ and
# fuzz each for SECONDS, seeded with the XML corpus and golden inputs.  Exits non-zero when a
# target crashes, leaks or trips a sanitizer; the crashing input is left in
# build-fuzz/fuzz-artifacts/.
set -eu

seconds=${1:-60}
case $seconds in
    ''|*[!0-9]*) echo "usage: $0 SECONDS" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/build-fuzz"

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" "$top" -Dfuzz=true -Dbuildtype=debug -Db_lundef=false
fi
meson compile -C "$build" fuzz-domain-xml

seeds="$build/fuzz-seeds"
work="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
rm -rf "$seeds"
mkdir -p "$seeds" "$work" "$artifacts"
for f in "$top"/tests/xml/corpus/*.xml "$top"/tests/xml/data/*.xml; do
    [ -f "$f" ] && cp "$f" "$seeds/"
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# New interesting inputs go to $work (kept between runs); the seeds are read only.
"$build/tests/fuzz/fuzz-domain-xml" \
    -max_total_time="$seconds" \
    -max_len=65536 \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -dict="$top/tests/fuzz/domain-xml.dict" \
    -artifact_prefix="$artifacts/" \
    "$work" "$seeds"
