#!/usr/bin/env bash
# The README's test command, and what CI runs: every unit and integration test (the scenario
# suite and snapshots included), then the Worker's wasm32 build and a wrangler dry-run deploy.
# Installs what a fresh machine lacks (scripts/install-wasm-toolchain.sh), reusing what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo test (core, native adapters, fakes, scanner, harness, scenario suite)"
cargo test --workspace --locked

step "scenario suite through the CLI (the README's main command)"
cargo run --locked --quiet -p agency-harness -- run

step "wasm32 toolchain"
bash scripts/install-wasm-toolchain.sh

step "Worker build (wasm32) and wrangler deploy --dry-run"
bash scripts/build-worker.sh --release
CLOUDFLARE_CF_FETCH_ENABLED=false npx --no-install wrangler deploy --dry-run --outdir "$(mktemp -d)" >/dev/null
echo "wrangler deploy --dry-run: ok"
