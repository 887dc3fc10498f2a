#!/usr/bin/env bash
# Run every cargo-fuzz target for a while (default 60 s each), seeded with the fixtures in
# ../shared/fixtures/profiles. Needs a nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`); not run in CI (CI runs a smoke test of the same parsers as an
# ordinary #[test]: crates/sysgate/tests/parsers_survive_mutations.rs).
#
#   fuzz/run.sh            # every target, 60 s each
#   fuzz/run.sh 600 lxc    # one target, 10 minutes
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(docker systemd lxc k8s detect)
fixtures=../../shared/fixtures/profiles
for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus"
  if [ -d "$fixtures" ]; then
    cp -n "$fixtures"/* "$corpus"/ 2>/dev/null || true
  fi
  echo "fuzz: $t for ${seconds}s"
  cargo +nightly fuzz run "$t" "$corpus" -- -max_total_time="$seconds" -max_len=65536
done
