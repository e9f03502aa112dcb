#!/usr/bin/env bash
# Cluster topology fault test (issue 7): two relay nodes in two "regions", PostgreSQL, Redis, the
# mock provider over TLS and four egress proxies, each in network namespaces of its own, joined
# by a bridge; then node crash, Redis cut-off and PostgreSQL outage under load, and a count of
# the metadata records in PostgreSQL. See docs/testing-cluster.md.
#
#   tests/cluster/run.sh path/to/codex-relay
#
# Needs root (ip netns), node v20+ with tests/e2e/node_modules (npm ci), openssl, curl,
# redis-server, PostgreSQL 15, tinyproxy, dante-server (scripts/setup.sh --test installs them).
# Exits non-zero when a check fails. Work files (configs, every log) go to tests/cluster/.work
# (CLUSTER_WORK_DIR overrides); they are kept for reading after the run.
#
# Topology (all names get a per-run suffix; nothing outside these namespaces is touched, except
# that the namespaces themselves are created and deleted; the veths are created inside them):
#
#   ns hub:      bridge br0, one veth per namespace below (v-pg, v-redis, …)
#   ns pg:       10.77.0.2   PostgreSQL 15 (scripts/test-postgres.sh), port 5432
#   ns redis:    10.77.0.3   redis-server (scripts/test-redis.sh), port 6379
#   ns provider: 10.77.0.4   tests/mock-provider (https 8443, http 8080 for its /__mock API)
#   ns region-a: 10.77.0.10  relay a1 (8080, metrics 9464)
#                10.77.0.11  tinyproxy, egress of acct-1 in region a
#                10.77.0.12  tinyproxy, egress of acct-2 in region a
#   ns region-b: 10.77.0.20  relay b1
#                10.77.0.21  dante, egress of acct-1 in region b
#                10.77.0.22  dante, egress of acct-2 in region b
#   ns client:   10.77.0.30  the test itself (tests/cluster/cluster.mjs) and the admin CLI
#
# CLUSTER_STORE=sqlite (a debugging aid only, not a cluster test): the nodes share one SQLite
# data directory instead of PostgreSQL; the PostgreSQL outage phase is skipped.
set -euo pipefail

cluster_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$cluster_dir/../.." && pwd)

die() {
  echo "cluster: $*" >&2
  exit 2
}

bin=${1:?usage: tests/cluster/run.sh path/to/codex-relay}
[[ -x "$bin" ]] || die "relay binary $bin not found or not executable"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
(($(id -u) == 0)) || die "needs root (network namespaces)"
command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
command -v node >/dev/null || die "node not found"
[[ -d "$repo_root/tests/e2e/node_modules/openai" ]] || die "openai SDK missing; run: (cd tests/e2e && npm ci)"
for t in openssl curl redis-server redis-cli tinyproxy; do
  command -v "$t" >/dev/null || die "$t not found (scripts/setup.sh --test installs it)"
done
command -v danted >/dev/null || [[ -x /usr/sbin/danted ]] || die "danted not found (apt-get install dante-server)"
pg_bin=${CODEX_RELAY_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x "$pg_bin/psql" ]] || die "PostgreSQL 15 not found in $pg_bin (apt-get install postgresql-15)"
store=${CLUSTER_STORE:-postgres}
[[ "$store" == postgres || "$store" == sqlite ]] || die "CLUSTER_STORE must be postgres or sqlite"

# ---------------------------------------------------------------- names and addresses
run_id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
prefix=crc-$run_id
declare -A ns=(
  [hub]=$prefix-hub [pg]=$prefix-pg [redis]=$prefix-redis [provider]=$prefix-provider
  [region-a]=$prefix-region-a [region-b]=$prefix-region-b [client]=$prefix-client
)
# Each namespace's addresses on its eth0 (the first one is its main address).
declare -A addrs=(
  [pg]="10.77.0.2" [redis]="10.77.0.3" [provider]="10.77.0.4"
  [region-a]="10.77.0.10 10.77.0.11 10.77.0.12"
  [region-b]="10.77.0.20 10.77.0.21 10.77.0.22"
  [client]="10.77.0.30"
)
subnet=10.77.0.0/24
members=(pg redis provider region-a region-b client)

work=${CLUSTER_WORK_DIR:-$cluster_dir/.work}
rm -rf -- "$work"
mkdir -p -- "$work"
work=$(cd "$work" && pwd)

# ---------------------------------------------------------------- cleanup
created=()  # namespaces created so far, in order
cleanup() {
  local rc=$?
  trap '' INT TERM
  set +e
  # PostgreSQL first, cleanly (it would survive as an orphan otherwise until killed below).
  if [[ " ${created[*]} " == *" ${ns[pg]} "* && -d "$work/pg/data" ]]; then
    timeout 30 ip netns exec "${ns[pg]}" "$repo_root/scripts/test-postgres.sh" stop "$work/pg" >/dev/null 2>&1
  fi
  # Everything still running in our namespaces was started by this run: end it, by pid.
  local n pids i
  for ((i = 0; i < 50; i++)); do
    pids=()
    for n in "${created[@]}"; do
      mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$n" 2>/dev/null)
    done
    ((${#pids[@]})) || break
    kill -KILL "${pids[@]}" 2>/dev/null
    sleep 0.1
  done
  ((${#pids[@]})) && echo "cluster: processes still alive in the test namespaces: ${pids[*]}" >&2
  # Deleting the namespaces deletes the veths and the bridge with them.
  for n in "${created[@]}"; do
    ip netns del "$n" 2>/dev/null || echo "cluster: could not delete namespace $n" >&2
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- topology
echo "cluster: run $prefix, relay $bin, store $store, work $work"
ip netns add "${ns[hub]}"
created+=("${ns[hub]}")
ip -n "${ns[hub]}" link set lo up
ip -n "${ns[hub]}" link add br0 type bridge
ip -n "${ns[hub]}" link set br0 up
for m in "${members[@]}"; do
  n=${ns[$m]}
  ip netns add "$n"
  created+=("$n")
  ip -n "$n" link set lo up
  # Made in the hub namespace with its peer put straight into the member's: never on the host.
  ip -n "${ns[hub]}" link add "v-$m" type veth peer name eth0 netns "$n"
  ip -n "${ns[hub]}" link set "v-$m" master br0 up
  for a in ${addrs[$m]}; do
    ip -n "$n" addr add "$a/24" dev eth0
  done
  ip -n "$n" link set eth0 up
done

# ---------------------------------------------------------------- TLS, PostgreSQL, Redis
"$repo_root/tests/e2e/lib/make-certs.sh" "$work/tls" 10.77.0.4

pg_url=""
if [[ "$store" == postgres ]]; then
  ip netns exec "${ns[pg]}" env TEST_FIXTURE_ADDR=10.77.0.2 TEST_FIXTURE_PORT=5432 \
    TEST_PG_ALLOW_CIDR=$subnet "$repo_root/scripts/test-postgres.sh" start "$work/pg"
  pg_url=$(cat "$work/pg/url")
fi
ip netns exec "${ns[redis]}" env TEST_FIXTURE_ADDR=10.77.0.3 TEST_FIXTURE_PORT=6379 \
  "$repo_root/scripts/test-redis.sh" start "$work/redis"
redis_url=$(cat "$work/redis/url")

# The client reaches them over the bridge (TCP connect from its namespace, retried briefly).
reach() {
  local i
  for ((i = 0; i < 50; i++)); do
    ip netns exec "${ns[client]}" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  die "the client namespace cannot reach $1:$2 over the bridge"
}
[[ "$store" == postgres ]] && reach 10.77.0.2 5432
reach 10.77.0.3 6379

# ---------------------------------------------------------------- the scenario
rc=0
ip netns exec "${ns[client]}" env \
  RELAY_BIN="$bin" CLUSTER_WORK="$work" CLUSTER_PREFIX="$prefix" CLUSTER_STORE="$store" \
  CLUSTER_NS_PG="${ns[pg]}" CLUSTER_NS_REDIS="${ns[redis]}" CLUSTER_NS_PROVIDER="${ns[provider]}" \
  CLUSTER_NS_REGION_A="${ns[region-a]}" CLUSTER_NS_REGION_B="${ns[region-b]}" \
  CLUSTER_PG_URL="$pg_url" CLUSTER_PG_DIR="$work/pg" CLUSTER_PG_BIN="$pg_bin" \
  CLUSTER_REDIS_URL="$redis_url" CLUSTER_REDIS_DIR="$work/redis" \
  NO_PROXY= no_proxy= HTTP_PROXY= HTTPS_PROXY= ALL_PROXY= http_proxy= https_proxy= all_proxy= \
  node "$cluster_dir/cluster.mjs" &
# In the background and waited for, so that a SIGTERM/SIGINT to this script runs the cleanup at
# once (bash runs traps only between foreground commands).
wait $! || rc=$?

if ((rc != 0)); then
  for f in "$work"/node-*/serve.log; do
    [[ -s "$f" ]] || continue
    echo "----- $f, its last 30 lines other than access log lines"
    grep -v '"event":"request"' "$f" | tail -n 30
  done
fi
echo "cluster: logs in $work"
exit "$rc"
