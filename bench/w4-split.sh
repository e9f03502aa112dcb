#!/usr/bin/env bash
# W4 alone against one proxy, to see where its CPU goes (bench/README.md, "W4's CPU, split"):
# user and system CPU seconds per 1,000 slow streams, and the system calls per stream
# (`perf stat` on the proxy's process; 20 events make a stream).
#   bench/w4-split.sh relay|nginx [BUILD_DIR] [STREAMS]      default build, 9000
# Set up as bench/run.sh does: the proxy alone on CPU 0, the mock and the load client on CPU 1.
# Needs perf (Debian: linux-perf; make setup-bench installs it) and, for nginx, nginx-light.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:?usage: bench/w4-split.sh relay|nginx [BUILD_DIR] [STREAMS]}
BUILD=${2:-build}
STREAMS=${3:-9000}
WORK=${W4_SPLIT_WORK:-/tmp/codex-relay-w4-split}
MOCK_PORT=18901 PROXY_PORT=18902 ADMIN_PORT=18903
command -v perf >/dev/null || { echo "w4-split: needs perf (apt-get install linux-perf)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

rm -rf "$WORK" && mkdir -p "$WORK/relay" "$WORK/nginx"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

taskset -c 1 "$BUILD/bench_mock_provider" --listen "127.0.0.1:$MOCK_PORT" --events 200 \
  --slow-events 20 --slow-interval-ms 1000 >"$WORK/mock.log" 2>&1 &
pids+=($!)
auth=()
if [[ $TARGET == relay ]]; then
  cat >"$WORK/relay/relay.toml" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
threads = 1
max_connections = 9200
max_connections_per_ip = 9200
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[store]
data_dir = "$WORK/relay"
EOF
  cli=("$BUILD/codex-relay" --config "$WORK/relay/relay.toml")
  "${cli[@]}" tenant add bench --rps 1000000 --rpm 60000000 --concurrency 100000 \
    --daily-requests 1000000000 --daily-tokens 1000000000000 --monthly-tokens 1000000000000 >/dev/null
  key=$("${cli[@]}" key add bench 2>/dev/null)
  BENCH_UPSTREAM_KEY=sk-bench-upstream "${cli[@]}" account add mock \
    --base-url "http://127.0.0.1:$MOCK_PORT/v1" --api-key-env BENCH_UPSTREAM_KEY >/dev/null
  taskset -c 0 "${cli[@]}" serve 2>"$WORK/relay.log" &
  pids+=($!)
  proxy=$!
  auth=(--header "Authorization: Bearer $key")
elif [[ $TARGET == nginx ]]; then
  sed -e "s#@WORK@#$WORK/nginx#g" -e "s#@MOCK_PORT@#$MOCK_PORT#g" -e "s#@PORT@#$PROXY_PORT#g" \
    bench/nginx.conf.in >"$WORK/nginx/nginx.conf"
  taskset -c 0 nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' \
    2>"$WORK/nginx.log" &
  pids+=($!)
  sleep 1
  proxy=$(pgrep -P "${pids[-1]}" | head -1) # the worker
else
  echo "w4-split: target is relay or nginx" >&2
  exit 2
fi
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break
  sleep 0.2
done

calls=(recvfrom epoll_ctl epoll_wait sendmsg sendto writev write accept accept4 connect
  getsockopt setsockopt socket close)
events=task-clock
for c in "${calls[@]}"; do events+=",syscalls:sys_enter_$c"; done
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$proxy/stat")
perf stat -x, -e "$events" -p "$proxy" -o "$WORK/perf.txt" &
stat_pid=$!
taskset -c 1 "$BUILD/bench_loadgen" --target "127.0.0.1:$PROXY_PORT" "${auth[@]}" \
  --path /v1/responses --body '{"model":"bench-slow","input":"ping","stream":true}' \
  --connections "$STREAMS" --once --ramp 2000 --expect-events 20 --timeout 90 >"$WORK/load.json"
kill -INT "$stat_pid"
wait "$stat_pid" 2>/dev/null || true
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$proxy/stat")
hz=$(getconf CLK_TCK)
completed=$(grep -o '"completed":[0-9]*' "$WORK/load.json" | cut -d: -f2)
awk -v t="$TARGET" -v n="$STREAMS" -v c="$completed" -v hz="$hz" -v du=$((u1 - u0)) -v ds=$((s1 - s0)) \
  'BEGIN { printf "%s: %d/%d streams complete; CPU s per 1,000 streams: user %.3f, system %.3f\n",
           t, c, n, du / hz * 1000 / n, ds / hz * 1000 / n }'
awk -F, -v n="$STREAMS" '$3 ~ /^syscalls:/ && $1 > 0 {
  sub("syscalls:sys_enter_", "", $3); printf "  %-12s %6.2f per stream\n", $3, $1 / n }' "$WORK/perf.txt"
