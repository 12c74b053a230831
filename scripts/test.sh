#!/usr/bin/env bash
# The README's test command, and what CI runs: every unit and integration test (the scenario
# suite and snapshots included), the suite through the CLI, then the Worker's wasm32 build, a
# wrangler dry-run deploy, the same suite on workerd (the wasm build under wrangler dev), the
# workerd target's process-hygiene tests, and the native/workerd trace parity check.
# Installs what a fresh machine lacks (scripts/install-wasm-toolchain.sh), reusing what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# CI replays one fixed set of property-test cases so a landing never depends on luck; local runs
# keep exploring new random cases (a failure is saved in the *.proptest-regressions files).
if [ "${CI:-}" = true ]; then export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261203}"; fi

step "cargo test (core, native adapters, fakes, scanner, harness, scenario suite)"
cargo test --workspace --locked

step "scenario suite through the CLI (the README's main command)"
cargo run --locked --quiet -p agency-harness -- run

step "wasm32 toolchain"
bash scripts/install-wasm-toolchain.sh

step "Worker build (wasm32) and wrangler deploy --dry-run"
bash scripts/build-worker.sh --release
dry_run_dir="$(mktemp -d)"
if ! dry_run="$(CLOUDFLARE_CF_FETCH_ENABLED=false npx --no-install wrangler deploy --dry-run --outdir "$dry_run_dir" 2>&1)"; then
  printf '%s\n' "$dry_run"
  exit 1
fi
rm -rf "$dry_run_dir"
# "Total Upload: 1309.18 KiB / gzip: 304.84 KiB". Workers limit the compressed size to 3 MiB on
# the Free plan and 10 MiB on Paid; stay deployable on either.
upload="$(grep -o 'Total Upload: .*' <<<"$dry_run" || true)"
gzip_kib="$(sed -n 's/.*gzip: \([0-9.]*\) KiB.*/\1/p' <<<"$upload")"
[[ -n "$gzip_kib" ]] || { printf '%s\n' "$dry_run"; echo "wrangler deploy --dry-run printed no upload size" >&2; exit 1; }
echo "wrangler deploy --dry-run: ok; $upload (limits: 3 MiB gzip on Workers Free, 10 MiB on Paid)"
awk -v kib="$gzip_kib" 'BEGIN { exit !(kib <= 3072) }' || { echo "the Worker is over 3 MiB gzip" >&2; exit 1; }

# The harness builds the Worker itself (the same script; a no-op rebuild here) and runs every
# scenario against it under one `wrangler dev`.
step "scenario suite on workerd (wasm build under wrangler dev, local D1/R2/Queues)"
cargo run --locked --quiet -p agency-harness -- run --target workerd

step "workerd target hygiene: no port or process left after drop, SIGINT, SIGKILL"
cargo test --locked --quiet -p agency-harness --test workerd_process -- --ignored --test-threads=1

step "parity: native and workerd traces of every scenario (ids, times, dates masked)"
cargo run --locked --quiet -p agency-harness -- parity
