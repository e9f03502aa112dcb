#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: installs only what is missing.
#   scripts/setup.sh          build + run dependencies
#   scripts/setup.sh --test   also test tools and the e2e clients (npm, into tests/e2e/node_modules)
#   scripts/setup.sh --bench  also the benchmark's peers: nginx, and the Portkey gateway (npm, into
#                             bench/peers/node_modules); valgrind for bench/instructions.sh, perf for bench/w4-split.sh
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0 want_bench=0
[[ "${1:-}" == "--test" ]] && want_test=1
[[ "${1:-}" == "--bench" ]] && want_bench=1

build_pkgs=(build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev
  libsimdjson-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  libhiredis-dev libpq-dev zlib1g-dev libgoogle-perftools-dev libgtest-dev libgmock-dev googletest libbenchmark-dev)
# clang-14 + libclang-rt-14-dev: the ASan/UBSan build and libFuzzer (make sanitize, make fuzz).
test_pkgs=(clang-format clang-tidy clang-14 libclang-rt-14-dev curl openssl nodejs npm iproute2 util-linux sqlite3 redis-server
  postgresql-15 tinyproxy dante-server squid)

bench_pkgs=(nginx-light nodejs npm util-linux procps valgrind linux-perf)

pkgs=("${build_pkgs[@]}")
((want_test)) && pkgs+=("${test_pkgs[@]}")
((want_bench)) && pkgs+=("${bench_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from outside Debian's packages on some images; a working binary is enough.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ((want_test)); then
  # The e2e clients (real Codex CLI, official openai SDK) are pinned in tests/e2e/package-lock.json.
  if ! (cd tests/e2e && npm ls --depth=0 >/dev/null 2>&1); then
    echo "setup: installing e2e clients with npm"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

if ((want_bench)); then
  if ! (cd bench/peers && npm ls --depth=0 >/dev/null 2>&1); then
    echo "setup: installing the benchmark's AI-gateway peer with npm"
    (cd bench/peers && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
