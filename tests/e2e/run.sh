#!/usr/bin/env bash
# End-to-end test of the kdlens extension in a real VS Code (code-server in
# Chromium). Usage: tests/e2e/run.sh [path/to/kdlens-X.Y.Z.vsix]
#
# Without an argument it tests kdlens-<version>.vsix at the top of the
# checkout, <version> read from client/package.json. KDLENS_E2E_SMOKE=1 runs
# only the harness check (code-server and the browser, no extension).
# The whole run is bounded by KDLENS_E2E_TIMEOUT seconds (default 1500,
# which covers a first install of code-server on this machine).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
limit="${KDLENS_E2E_TIMEOUT:-1500}"

# Re-run this script under one overall time limit.
if [ -z "${KDLENS_E2E_BOUNDED:-}" ]; then
  rc=0
  KDLENS_E2E_BOUNDED=1 timeout --kill-after=30 "$limit" bash "$0" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "e2e: FAILED: the end-to-end test did not finish within ${limit}s (KDLENS_E2E_TIMEOUT)" >&2
  fi
  exit "$rc"
fi

die() {
  echo "e2e: $*" >&2
  exit 1
}

# step SECONDS DESCRIPTION COMMAND...
step() {
  local limit="$1" what="$2" rc=0
  shift 2
  timeout --kill-after=10 "$limit" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then die "timed out after ${limit}s: $what"; fi
  [ "$rc" -eq 0 ] || die "failed (exit $rc): $what"
}

command -v node >/dev/null 2>&1 || die "node is not installed"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) === 20 ? 0 : 1)' ||
  die "code-server 4.96 needs node 20; found $(node --version)"
browser="${KDLENS_E2E_CHROMIUM:-/usr/bin/chromium}"
[ -x "$browser" ] || die "no Chromium at $browser (Debian package: chromium)"

vsix=""
if [ "${KDLENS_E2E_SMOKE:-}" != "1" ]; then
  if [ $# -ge 1 ]; then
    vsix="$1"
  else
    version="$(node -p 'require(process.argv[1]).version' "$repo/client/package.json")"
    vsix="$repo/kdlens-$version.vsix"
  fi
  [ -f "$vsix" ] || die "no extension package at $vsix (build it with: make vsix)"
  vsix="$(cd "$(dirname "$vsix")" && pwd)/$(basename "$vsix")"
fi

# The test's own Node packages (playwright-core only; it never downloads a browser).
stamp="$here/node_modules/.kdlens-lock"
if ! cmp -s "$here/package-lock.json" "$stamp" 2>/dev/null; then
  echo "e2e: installing the test's npm packages" >&2
  step 300 "npm ci in tests/e2e" env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
  cp "$here/package-lock.json" "$stamp"
fi

cs_root="$(bash "$here/install-code-server.sh")" || die "could not install code-server (see the messages above)"

export KDLENS_E2E_CODE_SERVER="$cs_root/node_modules/code-server"
export KDLENS_E2E_VSIX="$vsix"
export KDLENS_E2E_CHROMIUM="$browser"
export KDLENS_E2E_OUT="${KDLENS_E2E_OUT:-$here/out}"
mkdir -p "$KDLENS_E2E_OUT"
tap="$(mktemp)"
trap 'rm -f "$tap"' EXIT
cd "$here"
rc=0
node --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" kdlens.test.mjs || rc=$?
cp "$tap" "$KDLENS_E2E_OUT/results.tap" 2>/dev/null || true
count() { sed -n "s/^# $1 \([0-9][0-9]*\)$/\1/p" "$tap" | tail -n 1; }
passed="$(count pass)"
# Tests cancelled by a failed setup count as failed.
fail_n="$(count fail)"
cancelled_n="$(count cancelled)"
failed=$((${fail_n:-0} + ${cancelled_n:-0}))
skipped="$(count skipped)"
if [ -n "$passed" ]; then
  echo "e2e: ${passed} passed, ${failed} failed, ${skipped:-0} skipped"
fi
exit "$rc"
