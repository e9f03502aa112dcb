#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests: loopback only (unless TEST_FIXTURE_ADDR, below), fsync
# off, all its files in DIR.
#
#   scripts/test-postgres.sh start DIR  # initdb (once), starts it, creates codex_relay_test,
#                                       # writes postgresql://USER@127.0.0.1:PORT/codex_relay_test
#                                       # to DIR/url
#   scripts/test-postgres.sh stop DIR   # stops it (pg_ctl stop -m fast) and waits for it to exit
#
# Both are idempotent: `start` with a live server in DIR only prints its url again; `stop` with
# none running does nothing. The port is a random free one in 20000-60000 (a few are tried); the
# unix socket lives in DIR, so no other PostgreSQL on the machine is ever touched. initdb refuses
# to run as root: as root the server runs as the `postgres` user (runuser), which then owns
# DIR/data. Used by ctest as the `postgres` fixture (CMakeLists.txt); needs the Debian package
# postgresql (server 15).
#
# Optional environment: TEST_FIXTURE_ADDR / TEST_FIXTURE_PORT (scripts/lib/test-fixture.sh)
# choose another listen address (e.g. a network namespace's own) and a fixed port;
# TEST_PG_ALLOW_CIDR (e.g. 10.77.0.0/24) lets clients from that network in (trust, as for
# loopback), for servers reached from other namespaces.
set -euo pipefail

# shellcheck source=lib/test-fixture.sh
source "$(dirname "$0")/lib/test-fixture.sh"
data=$dir/data
urlfile=$dir/url
logfile=$dir/postgres.log
bin=${CODEX_RELAY_PG_BIN:-/usr/lib/postgresql/15/bin}
db=codex_relay_test

# As root, the server's own commands run as postgres; otherwise as the caller.
as_owner=()
owner=$(id -un)
if (($(id -u) == 0)); then
  as_owner=(runuser -u postgres --)
  owner=postgres
fi
# From / so that a cwd the postgres user cannot enter draws no warnings.
run() { (cd / && "${as_owner[@]}" "$@"); }

# The postmaster's pid from DIR/data/postmaster.pid when it is alive and is a postgres, else
# nothing. (A stale pidfile may name a pid the system has since given to another process.)
live_pid() {
  [[ -s "$data/postmaster.pid" ]] || return 1
  local pid
  pid=$(head -n 1 "$data/postmaster.pid" | tr -dc '0-9')
  [[ -n "$pid" ]] && alive "$pid" || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres* ]] || return 1
  echo "$pid"
}

# The port the running server was started with (line 4 of postmaster.pid).
live_port() { sed -n 4p "$data/postmaster.pid" 2>/dev/null | tr -dc '0-9'; }

ready() { "$bin/pg_isready" -q -h "$addr" -p "$1" -d postgres -U "$owner" -t 1 2>/dev/null; }

# As root the postgres user must reach DIR through every parent (a build dir under /root is
# 0700 by default): give the ancestors o+x (traverse only, no listing), and DIR to postgres.
grant_access() {
  ((${#as_owner[@]})) || return 0
  local ancestors=() p=$dir
  while [[ "$p" != / && -n "$p" ]]; do
    p=$(dirname -- "$p")
    ancestors=("$p" "${ancestors[@]}")
  done
  # From / down, and only where postgres cannot pass yet, so that no other mode changes.
  for p in "${ancestors[@]}"; do
    runuser -u postgres -- test -x "$p" || chmod o+x -- "$p"
  done
  chown postgres: -- "$dir"
  chmod 0700 -- "$dir"
}

# TEST_PG_ALLOW_CIDR: one `host all all CIDR trust` line in pg_hba.conf (added once).
allow_network() {
  local cidr=${TEST_PG_ALLOW_CIDR:-}
  [[ -n "$cidr" ]] || return 0
  [[ "$cidr" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] || die "TEST_PG_ALLOW_CIDR must be an IPv4 CIDR"
  local line="host all all $cidr trust"
  grep -qxF -- "$line" "$data/pg_hba.conf" || echo "$line" >>"$data/pg_hba.conf"
}

write_url() {
  echo "postgresql://$owner@$addr:$1/$db" >"$urlfile.tmp"
  mv -f -- "$urlfile.tmp" "$urlfile"
}

start() {
  [[ -x "$bin/initdb" && -x "$bin/pg_ctl" ]] ||
    die "PostgreSQL 15 server binaries not found in $bin (apt-get install postgresql)"
  local pid port
  if pid=$(live_pid); then
    port=$(live_port)
    if [[ -n "$port" ]] && ready "$port"; then
      write_url "$port"
      echo "$prog: already running (pid $pid): $(cat "$urlfile")"
      return 0
    fi
    die "postgres pid $pid (from $data/postmaster.pid) is running but not ready; stop it first: $prog stop $dir"
  fi
  rm -f -- "$urlfile"
  grant_access
  if [[ ! -s "$data/PG_VERSION" ]]; then
    rm -rf -- "$data"
    run "$bin/initdb" -D "$data" -U "$owner" -A trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 ||
      die "initdb failed; its log ($dir/initdb.log):
$(tail -n 20 "$dir/initdb.log")"
  fi
  allow_network

  # A unix socket path is limited to 107 bytes: with a deeper DIR, TCP alone (the url uses it).
  local sockets="-k '$dir'"
  ((${#dir} > 80)) && sockets="-c unix_socket_directories=''"
  local attempt
  for attempt in 1 2 3 4 5 6; do
    port=$(pick_port)
    port_in_use "$port" && continue
    # The log is written by the server, so it must belong to it.
    : >"$logfile"
    ((${#as_owner[@]})) && chown postgres: -- "$logfile"
    # -w waits until the server accepts connections (or has failed).
    if run "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 30 -s \
      -o "-p $port -c listen_addresses=$addr $sockets -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 2>&1 && ready "$port"; then
      if [[ -z "$(run "$bin/psql" -X -h "$addr" -p "$port" -U "$owner" -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
        run "$bin/createdb" -h "$addr" -p "$port" -U "$owner" "$db" ||
          die "createdb $db failed (server log: $logfile)"
      fi
      write_url "$port"
      echo "$prog: postgres pid $(live_pid) on $(cat "$urlfile") (dir $dir)"
      return 0
    fi
    if pid=$(live_pid); then
      run "$bin/pg_ctl" -D "$data" -m immediate -w -s stop >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
    fi
    if ! grep -q -i -E 'address already in use|could not bind' "$logfile"; then
      die "postgres on port $port did not start; its log ($logfile):
$(tail -n 20 "$logfile")"
    fi
    [[ -n "$fixed_port" ]] && die "port $port on $addr is taken (TEST_FIXTURE_PORT)"
    echo "$prog: port $port taken (attempt $attempt), trying another" >&2
  done
  die "no free port found for postgres after 6 attempts in 20000-60000"
}

stop() {
  local pid
  if ! pid=$(live_pid); then
    rm -f -- "$urlfile"
    echo "$prog: not running (dir $dir)"
    return 0
  fi
  # fast: disconnect clients and shut down cleanly; -w waits for the postmaster to exit.
  run "$bin/pg_ctl" -D "$data" -m fast -w -t 20 -s stop >/dev/null 2>&1 || true
  local i
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    echo "$prog: postgres pid $pid still alive; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    alive "$pid" && die "postgres pid $pid did not exit"
  fi
  rm -f -- "$urlfile"
  echo "$prog: stopped postgres pid $pid"
}

run_fixture_command
