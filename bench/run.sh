#!/usr/bin/env bash
# The relay benchmark (bench/README.md): direct to the mock, nginx, the Portkey gateway and
# codex-relay, each in front of the same mock provider, in one run.
#   bench/run.sh [BUILD_DIR]          (make bench)
# Env: BENCH_TARGETS="direct nginx portkey relay" (a target may be named again: "nginx relay nginx
#      relay" interleaves rounds; the table shows each target's first, bench/rounds.mjs all),
#      BENCH_DURATION=10 (seconds per workload),
#      BENCH_SLOW_STREAMS=9000, BENCH_WORK=/tmp/codex-relay-bench, BENCH_PROXY_CPU=0,
#      BENCH_LOAD_CPU=1.
# The proxy under test runs alone on BENCH_PROXY_CPU; the mock and the load client share
# BENCH_LOAD_CPU. Results: one JSON line per workload in $BENCH_WORK/results.jsonl, and the
# table (bench/report.mjs) on stdout and in $BENCH_WORK/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TARGETS=${BENCH_TARGETS:-direct nginx portkey relay}
DURATION=${BENCH_DURATION:-10}
WARMUP=2
SLOW_STREAMS=${BENCH_SLOW_STREAMS:-9000}
WORK=${BENCH_WORK:-/tmp/codex-relay-bench}
PROXY_CPU=${BENCH_PROXY_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
MOCK_PORT=18601 PROXY_PORT=18602 ADMIN_PORT=18603
MOCK=$BUILD/bench_mock_provider LOADGEN=$BUILD/bench_loadgen RELAY=$BUILD/codex-relay
PORTKEY=bench/peers/node_modules/@portkey-ai/gateway/build/start-server.js

rm -rf "$WORK" && mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

wait_port() { # port: up to 10 s for a listener
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on port $1" >&2
  return 1
}
tree_pids() { echo "$1" $(pgrep -P "$1" || true); }
cpu_ticks() { # utime+stime of a process and its children, in clock ticks
  local t=0
  for p in $(tree_pids "$1"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
rss_kib() {
  local r=0
  for p in $(tree_pids "$1"); do
    r=$((r + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status")))
  done
  echo "$r"
}

taskset -c "$LOAD_CPU" "$MOCK" --listen "127.0.0.1:$MOCK_PORT" --events 200 --slow-events 20 \
  --slow-interval-ms 1000 >"$WORK/mock.log" 2>&1 &
pids+=($!)
wait_port "$MOCK_PORT"

SMALL='{"model":"bench-small","messages":[{"role":"user","content":"ping"}]}'
SSE='{"model":"bench-sse","input":"ping","stream":true}'
SLOW='{"model":"bench-slow","input":"ping","stream":true}'

start_target() { # name -> sets PORT, PID (0 for direct), HDRS (loadgen header args)
  HDRS=(--header "Authorization: Bearer sk-bench-upstream")
  case "$1" in
  direct)
    PORT=$MOCK_PORT PID=0
    ;;
  nginx)
    mkdir -p "$WORK/nginx"
    sed -e "s#@WORK@#$WORK/nginx#g" -e "s#@MOCK_PORT@#$MOCK_PORT#g" -e "s#@PORT@#$PROXY_PORT#g" \
      bench/nginx.conf.in >"$WORK/nginx/nginx.conf"
    taskset -c "$PROXY_CPU" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
    PID=$! PORT=$PROXY_PORT
    ;;
  portkey)
    NODE_ENV=production taskset -c "$PROXY_CPU" node "$PORTKEY" --port="$PROXY_PORT" --headless \
      >"$WORK/portkey.log" 2>&1 &
    PID=$! PORT=$PROXY_PORT
    HDRS+=(--header "x-portkey-provider: openai"
      --header "x-portkey-custom-host: http://127.0.0.1:$MOCK_PORT/v1")
    ;;
  relay)
    local data=$WORK/relay
    rm -rf "$data" # a target named twice (interleaved rounds) starts from a fresh store
    mkdir -p "$data"
    cat >"$data/relay.toml" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
threads = 1
# W4's 9,000 streams all come from 127.0.0.1: the per-address default (256) would refuse most.
max_connections = 9200
max_connections_per_ip = 9200
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[store]
data_dir = "$data"
EOF
    local cli=("$RELAY" --config "$data/relay.toml")
    # Every limit set, far above what the run reaches, so admission does all of its checks
    # (two rate windows, a concurrency lease, the daily and monthly quotas) on every request.
    "${cli[@]}" tenant add bench --rps 1000000 --rpm 60000000 --concurrency 100000 \
      --daily-requests 1000000000 --daily-tokens 1000000000000 --monthly-tokens 1000000000000 \
      >/dev/null
    local key
    key=$("${cli[@]}" key add bench)
    BENCH_UPSTREAM_KEY=sk-bench-upstream "${cli[@]}" account add mock \
      --base-url "http://127.0.0.1:$MOCK_PORT/v1" --api-key-env BENCH_UPSTREAM_KEY >/dev/null
    taskset -c "$PROXY_CPU" "${cli[@]}" serve 2>"$WORK/relay.log" &
    PID=$! PORT=$PROXY_PORT
    HDRS=(--header "Authorization: Bearer $key")
    ;;
  esac
  wait_port "$PORT"
}

# name workload extra-loadgen-args...: one loadgen run, its JSON plus the proxy's CPU use
measure() {
  local target=$1 workload=$2
  shift 2
  local c0=0 out t0 t1
  [[ $PID != 0 ]] && c0=$(cpu_ticks "$PID")
  t0=$(date +%s%N)
  out=$(taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:$PORT" "${HDRS[@]}" "$@")
  t1=$(date +%s%N)
  local cpu=0
  [[ $PID != 0 ]] && cpu=$(($(cpu_ticks "$PID") - c0))
  # wall_ms covers the warm-up too, as the CPU ticks do: their ratio is how busy the proxy was.
  echo "{\"target\":\"$target\",\"workload\":\"$workload\",\"proxy_cpu_ticks\":$cpu,\"tick_hz\":$(getconf CLK_TCK),\"wall_ms\":$(((t1 - t0) / 1000000)),\"result\":$out}" |
    tee -a "$RESULTS"
}

# W4: every stream opened at once; RSS sampled while they are all open
measure_slow() {
  local target=$1 base_rss=0 peak=0 c0=0
  if [[ $PID != 0 ]]; then
    base_rss=$(rss_kib "$PID") c0=$(cpu_ticks "$PID")
  fi
  taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:$PORT" "${HDRS[@]}" --path /v1/responses \
    --body "$SLOW" --connections "$SLOW_STREAMS" --once --ramp 2000 --expect-events 20 \
    --timeout 90 >"$WORK/slow.json" &
  local lg=$!
  while kill -0 "$lg" 2>/dev/null; do
    if [[ $PID != 0 ]]; then
      local r
      r=$(rss_kib "$PID")
      ((r > peak)) && peak=$r
    fi
    sleep 0.5
  done
  wait "$lg"
  local cpu=0
  [[ $PID != 0 ]] && cpu=$(($(cpu_ticks "$PID") - c0))
  echo "{\"target\":\"$target\",\"workload\":\"W4\",\"proxy_cpu_ticks\":$cpu,\"tick_hz\":$(getconf CLK_TCK),\"rss_base_kib\":$base_rss,\"rss_peak_kib\":$peak,\"result\":$(cat "$WORK/slow.json")}" |
    tee -a "$RESULTS"
}

for target in $TARGETS; do
  echo "bench: $target" >&2
  start_target "$target"
  timed=(--duration "$DURATION" --warmup "$WARMUP")
  measure "$target" W3c1 --path /v1/responses --body "$SSE" --connections 1 --expect-events 200 "${timed[@]}"
  measure "$target" W1 --path /v1/chat/completions --body "$SMALL" --connections 64 "${timed[@]}"
  measure "$target" W2 --path /v1/responses --body "$SSE" --connections 64 --expect-events 200 "${timed[@]}"
  measure_slow "$target"
  if [[ $PID != 0 ]]; then
    kill "$PID"
    wait "$PID" 2>/dev/null || true
  fi
  sleep 1
done

node bench/report.mjs "$RESULTS" | tee "$WORK/results.md"
