#!/usr/bin/env bash
# The projections' rebuild benchmark, for one build or several alternated, each run on a fresh
# copy of the same ledger.
#
# Usage: ops/bench/rebuild-ab.sh TEMPLATE RUNS BENCH[=TEMPLATE] [BENCH[=TEMPLATE] ...]
#
#   TEMPLATE  a folder holding a ledger whose projections were built once; make one with
#             CASELEDGER_BENCH_DIR=TEMPLATE CASELEDGER_BENCH_ONLY_REBUILD=1 \
#               cargo bench -p caseledger-projections --bench projections
#   RUNS      runs of each build
#   BENCH     the projections bench executable of a build: `cargo bench -p
#             caseledger-projections --bench projections --no-run` prints its path; copy it
#             aside before building the next one. `BENCH=FOLDER` runs that build on copies
#             of its own template instead: a build whose projection versions differ from the
#             template's first rebuilds the changed projections when it opens the copy, and
#             that upgrade, before the measured rebuild, slows it (by about a tenth, seen on
#             2026-11-27). Make each build's template with that build.
#
# Before each run the template is copied to TEMPLATE.run, and the page cache is dropped when
# this user may (root): a run whose memory must first be reclaimed from the page cache pays
# for it in page faults. The runs of the builds alternate (A B A B …), since one build's
# figures drift from minute to minute on a shared virtual machine (mostly with whether its host
# still backs the free memory a run touches: see ops/bench/README.md; each run prints its
# system time, the pages the machine allocated and the bytes written). At the end, one line a
# build gives its rebuild rates and their least, median and greatest.
#
# CASELEDGER_REBUILD_MODE picks what each run does: ONLY_REBUILD (the default: the rebuild
# alone), SKIP_WRITER (the rebuild and the queries) or FULL (everything). Every mode skips
# the bench's SQLite baseline, which the bench's own runs include.
set -euo pipefail

if [[ $# -lt 3 ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
template="${1%/}"
runs="$2"
shift 2
if [[ ! -d "$template" ]]; then
  echo "no ledger template at $template" >&2
  exit 2
fi
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "RUNS must be a positive number, not $runs" >&2
  exit 2
fi
for spec in "$@"; do
  bench="${spec%%=*}"
  if [[ ! -x "$bench" ]]; then
    echo "not an executable: $bench" >&2
    exit 2
  fi
  if [[ "$spec" == *=* && ! -d "${spec#*=}" ]]; then
    echo "no ledger template at ${spec#*=}" >&2
    exit 2
  fi
done
mode="${CASELEDGER_REBUILD_MODE:-ONLY_REBUILD}"
case "$mode" in
  ONLY_REBUILD | SKIP_WRITER) mode_env=("CASELEDGER_BENCH_$mode=1" CASELEDGER_BENCH_SKIP_BASELINE=1) ;;
  FULL) mode_env=(CASELEDGER_BENCH_SKIP_BASELINE=1) ;;
  *)
    echo "CASELEDGER_REBUILD_MODE is ONLY_REBUILD, SKIP_WRITER or FULL, not $mode" >&2
    exit 2
    ;;
esac
scratch="$template.run"
trap 'rm -rf "$scratch"' EXIT
declare -A rates

for ((run = 1; run <= runs; run++)); do
  for spec in "$@"; do
    bench="${spec%%=*}"
    source="$template"
    if [[ "$spec" == *=* ]]; then
      source="${spec#*=}"
    fi
    rm -rf "$scratch"
    cp -r "${source%/}" "$scratch"
    sync
    if [[ -w /proc/sys/vm/drop_caches ]]; then
      echo 1 > /proc/sys/vm/drop_caches
    fi
    echo "== run $run of $bench on $source, $(date -u +%H:%M:%S) UTC, load$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
    output="$(env "${mode_env[@]}" CASELEDGER_BENCH_DIR="$scratch" "$bench" --bench 2>&1 || true)"
    grep -E 'rebuild all|CPU time|pages the machine|lookup|workload query|case list|per-batch apply:|read the log alone' <<<"$output" || true
    rate="$(grep -oE 'rebuild all projections: [0-9]+ records in [0-9.]+ s = [0-9]+' <<<"$output" | grep -oE '[0-9]+$' || true)"
    rates["$spec"]+="${rate:-failed} "
  done
done

# One line a build: its rebuild rates in order, then their least, median and greatest. Only
# the medians of alternated runs compare (see above).
echo "== summary (records/s of the rebuild)"
for spec in "$@"; do
  read -r -a measured <<<"${rates[$spec]}"
  sorted=($(printf '%s\n' "${measured[@]}" | { grep -E '^[0-9]+$' || true; } | sort -n))
  count=${#sorted[@]}
  if ((count == 0)); then
    echo "$spec: no rebuild figure (${rates[$spec]})"
    continue
  fi
  if ((count % 2 == 1)); then
    median=${sorted[count / 2]}
  else
    median=$(((sorted[count / 2 - 1] + sorted[count / 2]) / 2))
  fi
  echo "$spec: ${rates[$spec]}-> least ${sorted[0]}, median $median, greatest ${sorted[count - 1]} ($count runs)"
done
