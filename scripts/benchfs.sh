#!/usr/bin/env bash
# A journaled ext4 filesystem in an image file, loop-mounted, for benchmarks that write many
# files (needs root). The development VM's own filesystem is ext4 without a journal, where the
# kernel skips inodes freed in the last minutes when it allocates new ones: every benchmark
# deletes its nodes' directories, so the next one creates files several times slower. A
# journaled ext4, as servers run, does not do that.
# usage: benchfs.sh mount IMAGE DIR [SIZE]   (default 8G; the image is created when missing)
#        benchfs.sh umount DIR
# then:  TMPDIR=DIR target/release/meridian-bench throughput ...
set -euo pipefail

case "${1:-}" in
mount)
  image=$2; dir=$3; size=${4:-8G}
  if [ "$(id -u)" != 0 ]; then echo "benchfs.sh: mounting needs root" >&2; exit 2; fi
  if [ ! -e "$image" ]; then
    truncate -s "$size" "$image"
    # One inode per 4 KB: a 50,000-write cluster benchmark creates 600,000 files and
    # directories, more than mkfs's default of one per 16 KB gives an 8 GB image.
    mkfs.ext4 -q -F -i 4096 "$image"
  fi
  mkdir -p "$dir"
  if ! mountpoint -q "$dir"; then mount -o loop "$image" "$dir"; fi
  echo "$dir: journaled ext4 from $image"
  ;;
umount)
  umount "$2"
  ;;
*)
  echo "usage: benchfs.sh mount IMAGE DIR [SIZE] | umount DIR" >&2
  exit 2
  ;;
esac
