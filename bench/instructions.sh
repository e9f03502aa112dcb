#!/usr/bin/env bash
# User-space instructions per request of the relay (all its threads), counted by callgrind:
# a figure that does not move with the VM's neighbours, unlike req/s, so it can tell a 3 %
# change from noise. It leaves out the kernel and says nothing of cache misses: check a change
# with bench/run.sh as well. See bench/README.md, "Instructions per request".
#   bench/instructions.sh [BUILD_DIR] [W1|W2|W4]     default build, W1
# W4: per event of a slow stream: 300 of them opened within 1 s, counted from 6 s to 16 s, when
# all are open and each gets one event a second, so 300 x 10 events (no set-up, no ending).
# Env: INSTR_DURATION=10 (seconds counted, after 3 s uncounted), INSTR_WORK=/tmp/codex-relay-instr
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:-build}
WL=${2:-W1}
WORK=${INSTR_WORK:-/tmp/codex-relay-instr}
DURATION=${INSTR_DURATION:-10}
MOCK_PORT=18631 PROXY_PORT=18632 ADMIN_PORT=18633
command -v valgrind >/dev/null || { echo "instructions: needs valgrind (apt-get install valgrind)" >&2; exit 2; }

rm -rf "$WORK" && mkdir -p "$WORK/relay"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$BUILD/bench_mock_provider" --listen "127.0.0.1:$MOCK_PORT" --events 200 --slow-events 20 \
  --slow-interval-ms 1000 >"$WORK/mock.log" 2>&1 &
pids+=($!)
cat >"$WORK/relay/relay.toml" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
threads = 1
max_connections_per_ip = 400 # W4's 300 streams come from one address
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[store]
data_dir = "$WORK/relay"
EOF
cli=("$BUILD/codex-relay" --config "$WORK/relay/relay.toml")
# The tenant of bench/run.sh: every limit set, so admission does all of its checks.
"${cli[@]}" tenant add bench --rps 1000000 --rpm 60000000 --concurrency 100000 \
  --daily-requests 1000000000 --daily-tokens 1000000000000 --monthly-tokens 1000000000000 >/dev/null
key=$("${cli[@]}" key add bench)
BENCH_UPSTREAM_KEY=sk-bench-upstream "${cli[@]}" account add mock \
  --base-url "http://127.0.0.1:$MOCK_PORT/v1" --api-key-env BENCH_UPSTREAM_KEY >/dev/null
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" --dump-instr=no \
  "${cli[@]}" serve >"$WORK/relay.log" 2>&1 &
vg=$!
pids+=($vg)
for _ in $(seq 150); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break
  sleep 0.2
done

if [[ $WL == W4 ]]; then
  args=(--path /v1/responses --connections 300 --expect-events 20
    --body '{"model":"bench-slow","input":"ping","stream":true}')
elif [[ $WL == W1 ]]; then
  args=(--path /v1/chat/completions --connections 8
    --body '{"model":"bench-small","messages":[{"role":"user","content":"ping"}]}')
else
  args=(--path /v1/responses --connections 8 --expect-events 200
    --body '{"model":"bench-sse","input":"ping","stream":true}')
fi
load=("$BUILD/bench_loadgen" --target "127.0.0.1:$PROXY_PORT" --header "Authorization: Bearer $key"
  "${args[@]}")
if [[ $WL == W4 ]]; then
  streams=300
  "${load[@]}" --once --ramp 1000 --timeout 120 >"$WORK/load.json" &
  lg=$!
  sleep 6
  callgrind_control -z "$vg" >/dev/null 2>&1
  sleep 10
  callgrind_control -d "$vg" >/dev/null 2>&1
  wait "$lg"
  instructions=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/callgrind.out.1")
  completed=$(grep -o '"completed":[0-9]*' "$WORK/load.json" | cut -d: -f2)
  [[ $completed == "$streams" ]] || { echo "instructions: only $completed of $streams slow streams completed" >&2; exit 1; }
  echo "{\"workload\":\"W4\",\"events\":$((streams * 10)),\"instructions\":$instructions,\"instructions_per_event\":$((instructions / (streams * 10)))}"
  echo "instructions: profile in $WORK/callgrind.out.1 (node bench/callgrind-top.mjs it $((streams * 10)))" >&2
  exit 0
fi
"${load[@]}" --duration 3 --warmup 0 >/dev/null # start-up and first requests: not counted
callgrind_control -z "$vg" >/dev/null 2>&1
"${load[@]}" --duration "$DURATION" --warmup 0 >"$WORK/load.json"
sleep 0.3 # the last responses' settle and records
callgrind_control -d "$vg" >/dev/null 2>&1
for _ in $(seq 50); do
  [[ -s $WORK/callgrind.out.1 ]] && break
  sleep 0.2
done
requests=$(grep -o '"completed":[0-9]*' "$WORK/load.json" | cut -d: -f2)
instructions=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/callgrind.out.1")
echo "{\"workload\":\"$WL\",\"requests\":$requests,\"instructions\":$instructions,\"instructions_per_request\":$((instructions / requests))}"
echo "instructions: profile in $WORK/callgrind.out.1 (node bench/callgrind-top.mjs it $requests)" >&2
