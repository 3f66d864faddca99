#!/bin/sh
# build.sh OUTPUT: builds the dirtying guest kernel.  Needs gcc and binutils only: nothing from
# libc is used, so -m32 works without gcc-multilib.
set -e
src=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTPUT.elf}
obj=$(mktemp --suffix=.o)
trap 'rm -f "$obj"' EXIT
gcc -m32 -ffreestanding -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables \
    -nostdlib -O2 -Wall -c "$src/dirty.c" -o "$obj"
ld -m elf_i386 --no-warn-rwx-segments -T "$src/kernel.ld" -o "$out" "$obj"
