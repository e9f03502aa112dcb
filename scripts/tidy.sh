#!/usr/bin/env bash
# clang-tidy over the project's sources with the repo's .clang-tidy, using the build's
# compile_commands.json. Fails on any finding (WarningsAsErrors). The src/app/cli*.cpp files are
# built as one unity source, so compile_commands.json does not list them; clang-tidy then takes
# the flags of the nearest listed file, which are the same (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=$(nproc)
# clang-tidy's exit status is not used: the log is the verdict (a clean run prints nothing but
# the "N warnings generated" noise, which the grep drops; grep's own "no lines" is not a failure).
git ls-files 'src/*.cpp' | { xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet 2>&1 || true; } |
  { grep -v -E '^[0-9]+ warnings? generated|^Suppressed [0-9]+ warnings|^Use -header-filter' || true; } |
  tee "$build/tidy.log"
if grep -q -E 'warning:|error:' "$build/tidy.log"; then
  echo "tidy: findings above" >&2
  exit 1
fi
echo "tidy: clean"
