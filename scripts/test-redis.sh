#!/usr/bin/env bash
# A throwaway Redis for the tests: loopback only (unless TEST_FIXTURE_ADDR, below), no
# persistence, its files in DIR.
#
#   scripts/test-redis.sh start DIR   # starts redis-server, writes redis://127.0.0.1:PORT to DIR/url
#   scripts/test-redis.sh stop DIR    # stops it (by DIR/redis.pid) and waits for it to exit
#
# Both are idempotent: `start` with a live server in DIR only prints its url again; `stop` with
# none running does nothing. The port is a random free one in 20000-60000 (a few are tried).
# TEST_FIXTURE_ADDR / TEST_FIXTURE_PORT (scripts/lib/test-fixture.sh) choose another address
# (e.g. a private network namespace's own; protected mode is then off, so that other namespaces
# get in) and a fixed port.
# Used by ctest as the `redis` fixture (CMakeLists.txt); needs the Debian package redis-server.
set -euo pipefail

# shellcheck source=lib/test-fixture.sh
source "$(dirname "$0")/lib/test-fixture.sh"
pidfile=$dir/redis.pid
urlfile=$dir/url
logfile=$dir/redis.log

# The pid in the pidfile when that process is alive and is a redis-server, else nothing.
live_pid() {
  [[ -s "$pidfile" ]] || return 1
  local pid
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n "$pid" ]] && alive "$pid" || return 1
  # A stale pidfile may name a pid the system has since given to another process.
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] || return 1
  echo "$pid"
}

# True when ADDR:PORT answers a redis PING with PONG and its process id is PID.
is_ours() {
  local port=$1 pid=$2
  [[ "$(redis-cli -h "$addr" -p "$port" ping 2>/dev/null)" == PONG ]] || return 1
  redis-cli -h "$addr" -p "$port" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$pid"
}

start() {
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install redis-server)"
  local pid port
  if pid=$(live_pid); then
    port=$(sed -n 's#^redis://[0-9.]*:\([0-9]*\).*#\1#p' "$urlfile" 2>/dev/null || true)
    if [[ -n "$port" ]] && is_ours "$port" "$pid"; then
      echo "$prog: already running (pid $pid): $(cat "$urlfile")"
      return 0
    fi
    die "redis-server pid $pid (from $pidfile) is running but does not answer on ${port:-?}; stop it first: $prog stop $dir"
  fi
  rm -f -- "$pidfile" "$urlfile"

  # Protected mode lets only loopback clients in (no password is set): off for another address,
  # which TEST_FIXTURE_ADDR makes a private namespace's own.
  local protected=yes
  [[ "$addr" == 127.* ]] || protected=no
  local attempt
  for attempt in 1 2 3 4 5 6; do
    port=$(pick_port)
    port_in_use "$port" && continue
    : >"$logfile"
    # --daemonize: the parent returns at once; the child binds, writes the pidfile, serves.
    redis-server --port "$port" --bind "$addr" --protected-mode "$protected" --save '' --appendonly no \
      --dir "$dir" --daemonize yes --pidfile "$pidfile" --logfile "$logfile" --loglevel notice ||
      die "redis-server did not start (see $logfile)"
    local i
    for ((i = 0; i < 100; i++)); do  # up to 5 s
      if pid=$(live_pid) && is_ours "$port" "$pid"; then
        echo "redis://$addr:$port" >"$urlfile.tmp"
        mv -f -- "$urlfile.tmp" "$urlfile"
        echo "$prog: redis-server pid $pid on redis://$addr:$port (dir $dir)"
        return 0
      fi
      # It exits when the port was taken in the meantime: try another one.
      if grep -q -i -E 'address already in use|could not create server tcp listening socket' "$logfile"; then
        break
      fi
      sleep 0.05
    done
    if pid=$(live_pid); then
      kill "$pid" 2>/dev/null || true
    fi
    rm -f -- "$pidfile"
    if ! grep -q -i -E 'address already in use|could not create server tcp listening socket' "$logfile"; then
      die "redis-server on port $port did not answer PING within 5 s; its log ($logfile):
$(tail -n 20 "$logfile")"
    fi
    [[ -n "$fixed_port" ]] && die "port $port on $addr is taken (TEST_FIXTURE_PORT)"
    echo "$prog: port $port taken (attempt $attempt), trying another" >&2
  done
  die "no free port found for redis-server after 6 attempts in 20000-60000"
}

stop() {
  local pid
  if ! pid=$(live_pid); then
    rm -f -- "$pidfile" "$urlfile"
    echo "$prog: not running (dir $dir)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do  # up to 5 s, then SIGKILL
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    echo "$prog: redis-server pid $pid still alive after 5 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    alive "$pid" && die "redis-server pid $pid did not exit"
  fi
  rm -f -- "$pidfile" "$urlfile"
  echo "$prog: stopped redis-server pid $pid"
}

run_fixture_command
