#!/usr/bin/env bash
# The Redis cases of admission_bench against a throwaway redis-server on loopback
# (scripts/test-redis.sh), which is always stopped again, also on failure or Ctrl-C.
#
#   bench/run-redis-bench.sh [EXTRA BENCHMARK ARGS...]
#
# Extra arguments go to build/admission_bench after the defaults, so they can override them
# (e.g. --benchmark_filter=RedisRate). Figures and what they mean: bench/README.md.
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build
bench=$build/admission_bench

# The build is incremental: a no-op when admission_bench is up to date.
cmake --build "$build" -j2 --target admission_bench

dir=$(mktemp -d "${TMPDIR:-/tmp}/relay-redis-bench.XXXXXX")
cleanup() {
  "$root/scripts/test-redis.sh" stop "$dir" >&2 || true
  rm -rf -- "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$root/scripts/test-redis.sh" start "$dir" >&2
CODEX_RELAY_BENCH_REDIS_URL=$(cat "$dir/url")
export CODEX_RELAY_BENCH_REDIS_URL
echo "redis: $(redis-server --version)" >&2

"$bench" --benchmark_filter=Redis --benchmark_min_time=0.5 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true "$@"
