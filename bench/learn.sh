#!/usr/bin/env bash
# Benchmark: what `sysgate learn` costs next to `strace -f -c`, in the same run, on a
# syscall-heavy and a process-heavy workload; and a check that learning loses nothing: the
# learned profile allows every syscall strace counted on the same workload.
#
#   bench/learn.sh [RUNS]        (default 5 runs of each, interleaved; the median and the
#                                 minimum are reported: on a shared machine the minimum is the
#                                 better estimate of the intrinsic cost)
#
# Uses target/release/sysgate (built here if missing, honouring CARGO_TARGET_DIR) or the
# binary named by $SYSGATE. Installs strace with apt-get if it is missing. Needs ptrace.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-5}"
target_dir="${CARGO_TARGET_DIR:-target}"
sysgate="${SYSGATE:-$target_dir/release/sysgate}"
if [ ! -x "$sysgate" ]; then
  echo "bench: building $sysgate" >&2
  cargo build --release -q -p sysgate-cli
fi
if ! command -v strace >/dev/null; then
  echo "bench: installing strace" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Wall time of one command in seconds, its output discarded.
seconds() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", (e - s) / 1e9 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minimum() { sort -n | head -1; }

# The syscall names strace counted (-c table), and those the learned profile allows.
strace_names() { awk 'NR > 2 && $NF != "total" && $1 !~ /^-/ { print $NF }' "$1" | sort -u; }
profile_names() {
  tr -d ' \n' <"$1" | grep -o '"names":\[[^]]*\]' | grep -o '"[a-z0-9_]*"' \
    | grep -v '"names"' | tr -d '"' | sort -u
}

bench() {
  local label="$1"
  shift
  local plain=() traced=() notify=() ptrace=()
  for _ in $(seq "$runs"); do
    plain+=("$(seconds "$@")")
    traced+=("$(seconds strace -f -c -o /dev/null "$@")")
    notify+=("$(seconds "$sysgate" learn -q --tracer notify -o "$work/timed.json" -- "$@")")
    ptrace+=("$(seconds "$sysgate" learn -q --tracer ptrace -o "$work/timed.json" -- "$@")")
  done
  local stat p s n t
  for stat in median minimum; do
    p=$(printf '%s\n' "${plain[@]}" | $stat)
    s=$(printf '%s\n' "${traced[@]}" | $stat)
    n=$(printf '%s\n' "${notify[@]}" | $stat)
    t=$(printf '%s\n' "${ptrace[@]}" | $stat)
    awk -v label="$label" -v stat="$stat" -v p="$p" -v s="$s" -v n="$n" -v t="$t" 'BEGIN {
      so = s - p
      printf "%s (%s of the runs): plain %.3fs; strace -f -c %.3fs (+%.3fs)\n", label, stat, p, s, so
      printf "  sysgate learn --tracer notify %.3fs (+%.3fs): overhead %.2f of strace (target <= 0.33)\n",
        n, n - p, (so > 0 ? (n - p) / so : 0)
      printf "  sysgate learn --tracer ptrace %.3fs (+%.3fs): overhead %.2f of strace\n",
        t, t - p, (so > 0 ? (t - p) / so : 0)
    }'
  done

  # Nothing lost: every syscall strace counts is in the learned profile.
  strace -f -c -o "$work/strace.txt" "$@" >/dev/null 2>&1 || true
  local tracer missing
  for tracer in notify ptrace; do
    "$sysgate" learn -q --tracer "$tracer" -o "$work/learned.json" -- "$@" >/dev/null 2>&1 || true
    missing=$(comm -23 <(strace_names "$work/strace.txt") <(profile_names "$work/learned.json"))
    if [ -n "$missing" ]; then
      echo "  $tracer: LOST syscalls strace counted: $missing"
      return 1
    fi
    echo "  $tracer: the learned profile has all $(strace_names "$work/strace.txt" | wc -l) syscalls strace counted"
  done
}

echo "sysgate: $sysgate; $runs runs each, medians; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bench "syscall-heavy" dd if=/dev/zero of=/dev/null bs=1 count=200000
bench "process-heavy" sh -c 'for i in $(seq 1000); do /bin/true; done'
