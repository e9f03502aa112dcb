#!/usr/bin/env bash
# Runs every libFuzzer target of the sanitizer build (make sanitize-build) for FUZZ_SECONDS each,
# FUZZ_JOBS at a time, and prints one line per target: executions, new corpus units, findings.
#   scripts/fuzz.sh [BUILD_DIR]      default build-san; FUZZ_SECONDS (600), FUZZ_JOBS (2)
# The targets are those of CMakeLists.txt's fuzz list (BUILD_DIR/fuzz_targets.txt). Each run
# starts from the repo's seed corpus, tests/fuzz/corpus/<name>, which it only reads: new units go
# to a fresh work corpus under a temp dir, removed afterwards. A crash, leak, timeout or
# out-of-memory fails the run; its reproducer is kept in $FUZZ_ARTIFACTS (default
# BUILD_DIR/fuzz-artifacts) and named in the output. Reproduce with: BUILD_DIR/fuzz_<name> FILE
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-san}
seconds=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-2}
artifacts=${FUZZ_ARTIFACTS:-$build_dir/fuzz-artifacts}
rss_limit_mb=${FUZZ_RSS_LIMIT_MB:-2048}

# Any sanitizer finding ends the run with an error and a stack trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=0:print_stacktrace=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

# CMake writes the fuzz list of CMakeLists.txt here, so a target added there is run too.
list=$build_dir/fuzz_targets.txt
[[ -f $list ]] || { echo "fuzz: no $list (configure $build_dir first: make sanitize-build)" >&2; exit 2; }
names=()
while read -r name; do
  [[ -n $name ]] || continue
  if [[ ! -x $build_dir/fuzz_$name ]]; then
    echo "fuzz: $build_dir/fuzz_$name is not built (make sanitize-build)" >&2
    exit 2
  fi
  names+=("$name")
done <"$list"

work=$(mktemp -d /tmp/codex-relay-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

# One target: its summary line goes to $work/<name>.result, its libFuzzer log to $work/<name>.log.
run_one() {
  local name=$1
  local corpus=$work/corpus/$name out=$artifacts/$name
  rm -rf "$out"
  mkdir -p "$corpus" "$out"
  local rc=0
  "$build_dir/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
    -rss_limit_mb="$rss_limit_mb" -timeout=25 -artifact_prefix="$out/" \
    "$corpus" "tests/fuzz/corpus/$name" >"$work/$name.log" 2>&1 || rc=$?
  local execs new found
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -1)
  # Units found by mutation after the seed corpus was loaded ("#N NEW ..." lines).
  new=$(grep -cE '^#[0-9]+[[:space:]]+NEW' "$work/$name.log" || true)
  found=$(find "$out" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | sort | tr '\n' ' ')
  if ((rc != 0)) || [[ -n $found ]]; then
    cp "$work/$name.log" "$out/fuzz.log"
    printf 'fuzz %-20s FAIL  executions=%s new_units=%s findings: exit %d %s(log: %s)\n' \
      "$name" "${execs:-?}" "$new" "$rc" "$found" "$out/fuzz.log" >"$work/$name.result"
    return 1
  fi
  rmdir "$out" 2>/dev/null || true
  printf 'fuzz %-20s ok    executions=%s new_units=%s findings=0\n' \
    "$name" "${execs:-?}" "$new" >"$work/$name.result"
}

echo "fuzz: ${#names[@]} targets, ${seconds}s each, $jobs at a time ($build_dir)"
running=0 failed=0
for name in "${names[@]}"; do
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$name" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done

for name in "${names[@]}"; do cat "$work/$name.result"; done
if ((failed)); then
  echo "fuzz: FAILED (reproducers above; run BUILD_DIR/fuzz_<name> FILE to replay one)" >&2
  exit 1
fi
echo "fuzz: all ${#names[@]} targets ran ${seconds}s with no finding"
