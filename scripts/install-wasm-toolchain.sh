#!/usr/bin/env bash
# Install (idempotently) everything the agency-os Worker's wasm32 build and
# `wrangler dev` need. See /work/shared/toolchain/WASM.md for why each piece.
#
#   Debian packages  rustc-web cargo-web rust-web-src lld   (apt, only when missing)
#   worker-build     =0.8.7, `cargo install --locked`, rustup's cargo  -> $TOOLS/bin
#   wasm-bindgen-cli = the wasm-bindgen in Cargo.lock, `cargo install` WITHOUT --locked
#                      (one of its locked deps is missing from the index)   -> $TOOLS/bin
#   wrangler         4.86.0, pinned in package.json/package-lock.json, `npm ci` -> node_modules
#
# $TOOLS defaults to ~/.cache/agency-os/tools (shared by every clone); override with AGENCY_TOOLS_DIR.
# A warm run (everything present at the right version) installs nothing and
# takes a few seconds. Safe under CI=true, as root, non-interactively.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Per user, not per clone: a fresh clone (as CI makes) reuses tools already built here.
TOOLS="${AGENCY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agency-os/tools}"
WORKER_BUILD_VERSION="0.8.7"
WRANGLER_VERSION="4.86.0"
APT_PACKAGES=(rustc-web cargo-web rust-web-src lld)

log() { printf '[wasm-toolchain] %-17s %s\n' "$1" "$2"; }
die() { printf '[wasm-toolchain] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

T_START="$(now)"

# rustup's cargo (native) builds the host tools. Never Debian's /usr/bin/cargo here.
if [[ -n "${NATIVE_CARGO:-}" ]]; then
  :
elif [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
  NATIVE_CARGO="${CARGO_HOME:-$HOME/.cargo}/bin/cargo"
else
  NATIVE_CARGO="$(command -v cargo || true)"
fi
[[ -n "$NATIVE_CARGO" ]] || die "no native cargo found (expected rustup's in ~/.cargo/bin)"

# ---------------------------------------------------------------- 1. Debian packages
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
  t0="$(now)"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
  log "apt" "installed ${missing[*]} ($(( $(now) - t0 ))s)"
else
  log "apt" "present: ${APT_PACKAGES[*]}"
fi
[[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] || die "/usr/bin/rustc or /usr/bin/cargo missing after installing rustc-web/cargo-web"
[[ -x /usr/bin/wasm-ld ]] || die "/usr/bin/wasm-ld missing after installing lld"
/usr/bin/rustc --print target-list | grep -qx 'wasm32-unknown-unknown' \
  || die "/usr/bin/rustc has no wasm32-unknown-unknown target"
log "rustc (wasm)" "$(/usr/bin/rustc --version) / $(/usr/bin/wasm-ld --version | head -n1)"

mkdir -p "$TOOLS/bin"

# ---------------------------------------------------------------- 2. worker-build
have_wb="$("$TOOLS/bin/worker-build" --version 2>/dev/null | awk '{print $NF}' || true)"
if [[ "$have_wb" == "$WORKER_BUILD_VERSION" ]]; then
  log "worker-build" "present $WORKER_BUILD_VERSION ($TOOLS/bin/worker-build)"
else
  t0="$(now)"
  env -u CARGO_TARGET_DIR -u RUSTC -u RUSTC_BOOTSTRAP -u CARGO_UNSTABLE_BUILD_STD \
    "$NATIVE_CARGO" install --locked --quiet --force --root "$TOOLS" \
    worker-build --version "=$WORKER_BUILD_VERSION"
  have_wb="$("$TOOLS/bin/worker-build" --version | awk '{print $NF}')"
  [[ "$have_wb" == "$WORKER_BUILD_VERSION" ]] || die "worker-build reports '$have_wb', wanted $WORKER_BUILD_VERSION"
  log "worker-build" "installed $WORKER_BUILD_VERSION ($(( $(now) - t0 ))s, $TOOLS/bin/worker-build)"
fi

# ---------------------------------------------------------------- 3. wasm-bindgen-cli
# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
lock_wb_versions() {
  awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = /          { name = $3; gsub(/"/, "", name) }
    /^version = / && name == "wasm-bindgen" { v = $3; gsub(/"/, "", v); print v }
  ' "$ROOT/Cargo.lock" 2>/dev/null | sort -u
}
WB_VERSION="$(lock_wb_versions || true)"
if [[ -z "$WB_VERSION" ]]; then
  # No lockfile yet (or it predates the Worker crate): let cargo add the missing
  # entries without upgrading anything already locked.
  log "Cargo.lock" "no wasm-bindgen entry; resolving with 'cargo metadata'"
  (cd "$ROOT" && "$NATIVE_CARGO" metadata --format-version 1 >/dev/null) \
    || die "cargo metadata failed; cannot resolve the wasm-bindgen version (is the workspace complete?)"
  WB_VERSION="$(lock_wb_versions || true)"
fi
[[ -n "$WB_VERSION" ]] || die "Cargo.lock has no wasm-bindgen package (does runtime/worker depend on worker/wasm-bindgen?)"
[[ "$(wc -l <<<"$WB_VERSION")" -eq 1 ]] || die "Cargo.lock has several wasm-bindgen versions: $(tr '\n' ' ' <<<"$WB_VERSION")"

have_wbc="$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}' || true)"
if [[ "$have_wbc" == "$WB_VERSION" ]]; then
  log "wasm-bindgen-cli" "present $WB_VERSION ($TOOLS/bin/wasm-bindgen)"
else
  t0="$(now)"
  # Deliberately no --locked (see WASM.md).
  env -u CARGO_TARGET_DIR -u RUSTC -u RUSTC_BOOTSTRAP -u CARGO_UNSTABLE_BUILD_STD \
    "$NATIVE_CARGO" install --quiet --force --root "$TOOLS" \
    wasm-bindgen-cli --version "=$WB_VERSION"
  have_wbc="$("$TOOLS/bin/wasm-bindgen" --version | awk '{print $2}')"
  [[ "$have_wbc" == "$WB_VERSION" ]] || die "wasm-bindgen reports '$have_wbc', wanted $WB_VERSION"
  log "wasm-bindgen-cli" "installed $WB_VERSION ($(( $(now) - t0 ))s, $TOOLS/bin/wasm-bindgen)"
fi

# ---------------------------------------------------------------- 4. wrangler (npm)
command -v npm >/dev/null || die "npm not found"
[[ -f "$ROOT/package-lock.json" ]] || die "package-lock.json missing (it pins wrangler $WRANGLER_VERSION)"
LOCK_SUM="$(sha256sum "$ROOT/package-lock.json" "$ROOT/package.json" | sha256sum | awk '{print $1}')"
STAMP="$ROOT/node_modules/.agency-os-npm-ci.sha256"
have_wr="$(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/wrangler/package.json" 2>/dev/null || true)"
if [[ "$have_wr" == "$WRANGLER_VERSION" && -f "$STAMP" && "$(cat "$STAMP")" == "$LOCK_SUM" \
      && -x "$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild" ]]; then
  log "wrangler" "present $WRANGLER_VERSION (node_modules up to date with package-lock.json)"
else
  t0="$(now)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  have_wr="$(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/wrangler/package.json")"
  [[ "$have_wr" == "$WRANGLER_VERSION" ]] || die "npm ci gave wrangler '$have_wr', wanted $WRANGLER_VERSION"
  [[ -x "$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild" ]] || die "esbuild binary missing from node_modules"
  printf '%s\n' "$LOCK_SUM" >"$STAMP"
  log "wrangler" "installed $WRANGLER_VERSION via npm ci ($(( $(now) - t0 ))s)"
fi

log "done" "in $(( $(now) - T_START ))s; tools in $TOOLS/bin, wrangler in node_modules/.bin"
