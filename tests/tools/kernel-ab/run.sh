#!/bin/bash
# Alternating A/B processes of kernel-ab on both ISAs: OLD and NEW are RegService.Benchmarks bin folders of two builds
# (for example a `git worktree add /tmp/old main` built with `dotnet build tests/RegService.Benchmarks -c Release`).
#   tests/tools/kernel-ab/run.sh OLD_BIN NEW_BIN [pairs] [eigen]
set -e
old=$1; new=$2; pairs=${3:-3}; mode=$4
here=$(cd "$(dirname "$0")" && pwd)
dotnet build "$here" -c Release -o "$here/bin/out" > /dev/null
for isa in 512 256; do
  if [ $isa = 256 ]; then export DOTNET_EnableAVX512=0; else unset DOTNET_EnableAVX512; fi
  for pair in $(seq "$pairs"); do
    # ABBA: the slot order alternates, so a bias of the second slot does not read as a difference.
    order="old new"; [ $((pair % 2)) = 0 ] && order="new old"
    for which in $order; do
      dir=$old; [ $which = new ] && dir=$new
      echo "isa=$isa pair=$pair $which load1=$(cut -d' ' -f1 /proc/loadavg) $(dotnet "$here/bin/out/kernel-ab.dll" "$dir/RegService.Numerics.dll" 10 $mode | tr '\n' ' ')"
    done
  done
done
