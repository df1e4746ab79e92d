#!/usr/bin/env bash
# Installs VS Code for the web (code-server, pinned in code-server/package-lock.json)
# into a per-machine cache folder and prints that folder's path on stdout.
#
# The npm package normally finishes its install with a postinstall script that
# fetches prebuilt binaries from outside the package registry; that cannot work
# here, so the same steps are done by hand: registry packages only, native
# modules compiled locally, Debian's ripgrep in place of the downloaded one.
# A stamp file written last marks a complete install; an incomplete one is
# wiped and redone. Every step has its own time limit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
version="$(node -p 'require(process.argv[1]).dependencies["code-server"]' "$here/code-server/package.json")"
cache="${KDLENS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kdlens-e2e}"
dest="$cache/code-server-$version"
stamp="$dest/.kdlens-complete"

log() { echo "e2e-install: $*" >&2; }

# The stamp records what the install was made from; any change redoes it.
want="$(
  {
    cat "$here/code-server/package-lock.json" "$here/install-code-server.sh"
    node --version
    command -v rg
  } | sha256sum | cut -d' ' -f1
)"

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -w 1200 9; then
  log "another install holds $cache/.lock for over 20 minutes; giving up"
  exit 1
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  log "reusing code-server $version from the cache"
  echo "$dest"
  exit 0
fi

# step SECONDS DESCRIPTION COMMAND...: runs one step, its output to the log file.
steplog="$cache/install.log"
: >"$steplog"
step() {
  local limit="$1" what="$2"
  shift 2
  local t0=$SECONDS rc=0
  log "$what"
  timeout --kill-after=10 "$limit" "$@" >>"$steplog" 2>&1 || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    log "timed out after ${limit}s: $what (log: $steplog)"
    tail -n 20 "$steplog" >&2
    exit 1
  elif [ "$rc" -ne 0 ]; then
    log "failed (exit $rc): $what (log: $steplog)"
    tail -n 40 "$steplog" >&2
    exit 1
  fi
  log "  done in $((SECONDS - t0))s"
}

for tool in rg g++ make python3 pkg-config; do
  command -v "$tool" >/dev/null 2>&1 || {
    log "missing $tool (Debian packages: ripgrep build-essential python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev)"
    exit 1
  }
done

t_all=$SECONDS
log "installing code-server $version into $dest (first run on this machine)"
rm -rf "$dest"
mkdir -p "$dest"
cp "$here/code-server/package.json" "$here/code-server/package-lock.json" "$dest/"
npm_quiet=(--no-audit --no-fund --loglevel=error)

step 600 "npm ci (code-server $version, scripts off)" \
  npm ci --prefix "$dest" --ignore-scripts "${npm_quiet[@]}"

cs="$dest/node_modules/code-server"
vs="$cs/lib/vscode"

# One dependency of the editor is locked to a git commit; the registry release
# of the same version is used instead.
step 30 "point git-locked dependencies at their registry releases" node -e '
  const fs = require("fs");
  const file = process.argv[1];
  const lock = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const [name, entry] of Object.entries(lock.packages || {})) {
    if (typeof entry.resolved === "string" && /^git[+:]/.test(entry.resolved)) {
      console.log("unpinned " + name);
      delete entry.resolved;
      delete entry.integrity;
    }
  }
  fs.writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
' "$vs/npm-shrinkwrap.json"

step 900 "npm install (editor runtime dependencies)" \
  bash -c 'cd "$1" && shift && npm install --omit=dev --ignore-scripts "$@"' _ "$vs" "${npm_quiet[@]}"

step 1200 "compile the editor's native modules" \
  bash -c 'cd "$1" && npm rebuild --loglevel=error @parcel/watcher @vscode/spdlog kerberos native-watchdog node-pty @vscode/deviceid @vscode/windows-process-tree @vscode/windows-registry' _ "$vs"

log "linking Debian's ripgrep and the asar folder"
mkdir -p "$vs/node_modules/@vscode/ripgrep/bin"
ln -sfn "$(command -v rg)" "$vs/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$vs/node_modules.asar"
(cd "$vs/bin/remote-cli" && ln -sfn code-linux.sh code-server)
(cd "$vs/bin/helpers" && ln -sfn browser-linux.sh browser.sh)

step 600 "npm install (built-in extensions)" \
  bash -c 'cd "$1/extensions" && shift && npm install --omit=dev --ignore-scripts "$@"' _ "$vs" "${npm_quiet[@]}"

step 600 "compile argon2 (code-server's password hashing)" \
  bash -c 'cd "$1" && npm rebuild --loglevel=error argon2' _ "$dest"

step 60 "check that the native modules load" bash -c '
  cd "$1/lib/vscode" && node -e "for (const m of [\"@parcel/watcher\", \"@vscode/spdlog\", \"node-pty\", \"kerberos\", \"native-watchdog\"]) require(m)" &&
  cd "$1" && node -e "require(\"argon2\")" &&
  CODE_SERVER_CONFIG="$2" node "$1/out/node/entry.js" --version' _ "$cs" "$dest/config.yaml"

echo "$want" >"$stamp"
log "code-server $version installed in $((SECONDS - t_all))s"
echo "$dest"
