#!/usr/bin/env bash
# End-to-end tests with real clients (Codex CLI 0.169.0, openai SDK 6.49.0, curl, raw sockets)
# against the relay and the mock provider, inside a loopback-only network namespace.
#
#   tests/e2e/run.sh path/to/codex-relay [test files...]
#
# Needs: node (v20+), npm deps installed in tests/e2e (npm ci), openssl, curl, unshare, ip.
# Exits non-zero when a test fails. Work files go to tests/e2e/.work (gitignored).
set -euo pipefail

e2e_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$e2e_dir/../.." && pwd)

if [[ "${CODEX_RELAY_E2E_INNER:-}" != "1" ]]; then
  bin=${1:?usage: tests/e2e/run.sh path/to/codex-relay [test files...]}
  shift
  [[ -x "$bin" ]] || { echo "run.sh: relay binary $bin not found or not executable" >&2; exit 2; }
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  [[ -x "$e2e_dir/node_modules/.bin/codex" ]] || {
    echo "run.sh: e2e clients missing; run: (cd tests/e2e && npm ci)" >&2
    exit 2
  }

  work="${E2E_WORK_DIR:-$e2e_dir/.work}"  # another dir lets two runs share a checkout
  rm -rf "$work"
  mkdir -p "$work"
  "$e2e_dir/lib/make-certs.sh" "$work/tls"

  # Re-run inside a new network namespace with only loopback, as its own session (process group)
  # so every process the tests start can be cleaned up by that group id.
  export CODEX_RELAY_E2E_INNER=1 RELAY_BIN="$bin" E2E_WORK="$work" E2E_TLS_DIR="$work/tls"
  exec unshare -n -- setsid --wait bash "${BASH_SOURCE[0]}" "$@"
fi

# ---- inside the namespace
ip link set lo up
# No proxies: every address the tests use is loopback.
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy NO_PROXY no_proxy

cleanup() {
  local rc=$?
  trap '' TERM INT
  # Ends what the tests started and left behind: this session's own process group, by id.
  kill -TERM -- -$$ 2>/dev/null || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$repo_root"
if (($#)); then
  files=("$@")
else
  files=(tests/e2e/*.test.mjs)
fi
echo "e2e: relay $RELAY_BIN; $(node --version); codex $("$e2e_dir/node_modules/.bin/codex" --version 2>/dev/null | tail -1)"
rc=0
node --test --test-concurrency=1 --test-timeout=180000 "${files[@]}" || rc=$?
if ((rc != 0)); then
  # Help the reader of a CI log: the relays' own logs, newest last.
  for f in "$E2E_WORK"/relay-data-*/serve.log; do
    [[ -s "$f" ]] || continue
    echo "----- tail of $f"
    tail -n 40 "$f"
  done
fi
exit $rc
