#!/usr/bin/env bash
# Where a fit's own thread spends its samples: the runner under `perf record -g` (the JIT's code named through its perf
# map), then the leaf function of every sample whose stack reaches FitEngine.Fit. That thread runs every serial part of a
# fit and its share of every parallel one, so its samples stand for the fit's wall time; the fit's helper threads
# (their stacks do not reach FitEngine.Fit) are left out. Needs linux-perf (Debian's `linux-perf`).
#
# usage: tests/RegService.Benchmarks/fit_thread_profile.sh KEY [OUT] [DATA]
#   KEY   a runner workload (poisson_path_50k_200, lasso_path_500_10k, ...; several joined by commas)
#   OUT   path prefix for OUT.data / OUT.txt / OUT.json (default /tmp/fit_thread)
#   DATA  the anchors' directory (default /tmp/anchors)
set -euo pipefail
key=${1:?usage: fit_thread_profile.sh KEY [OUT] [DATA]}
out=${2:-/tmp/fit_thread}
data=${3:-/tmp/anchors}
here=$(cd "$(dirname "$0")" && pwd)
dll="$here/bin/Release/net10.0/RegService.Benchmarks.dll"
[ -f "$dll" ] || dotnet build "$here" -c Release > /dev/null
# Without EnableWriteXorExecute=0 every JIT sample lands in memfd:doublemapper, unnamed.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
perf record -F 1500 -g -o "$out.data" dotnet "$dll" --data "$data" --reps 10 --skip-upload --only "$key" > "$out.json" 2> /dev/null
perf script -i "$out.data" -F comm,tid,ip,sym 2> /dev/null > "$out.txt"
python3 "$here/fit_thread_profile.py" "$out.txt"
