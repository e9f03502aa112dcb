# Shared by the throwaway test servers (scripts/test-redis.sh, scripts/test-postgres.sh): the
# `start|stop DIR` command line, errors, and process and port checks. Sourced, not run.
# Sets: prog, cmd (start|stop), dir (DIR made absolute, created if missing), addr (the address
# to listen on) and fixed_port.
#
# Optional environment (the defaults are what ctest uses):
#   TEST_FIXTURE_ADDR   IPv4 address to listen on and to reach the server at (default 127.0.0.1),
#                       e.g. a network namespace's own address (tests/cluster/run.sh)
#   TEST_FIXTURE_PORT   a fixed port instead of a random free one (a `start` after `stop` then
#                       comes back on the same address, as a restarted server would)

prog=$(basename "$0")
die() {
  echo "$prog: $*" >&2
  exit 1
}
usage() {
  echo "usage: $prog start|stop DIR" >&2
  exit 2
}

(($# == 2)) || usage
cmd=$1
[[ -n "$2" ]] || usage
mkdir -p -- "$2"
dir=$(cd -- "$2" && pwd)
addr=${TEST_FIXTURE_ADDR:-127.0.0.1}
fixed_port=${TEST_FIXTURE_PORT:-}
[[ "$addr" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "TEST_FIXTURE_ADDR must be an IPv4 address"
[[ -z "$fixed_port" || "$fixed_port" =~ ^[0-9]+$ ]] || die "TEST_FIXTURE_PORT must be a port number"

# True while PID runs (a zombie, exited but not yet reaped by its parent, does not count).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [[ "$state" != Z ]]
}

# True when something accepts connections on ADDR:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/$addr/$1") 2>/dev/null
}

# A port to try: TEST_FIXTURE_PORT when set, else a random one in 20000-60000. With a fixed
# port, a taken one is an error (there is no other to try).
pick_port() {
  if [[ -n "$fixed_port" ]]; then
    port_in_use "$fixed_port" && die "port $fixed_port on $addr is taken (TEST_FIXTURE_PORT)"
    echo "$fixed_port"
    return 0
  fi
  shuf -i 20000-60000 -n 1
}

# Runs start or stop, the functions the sourcing script defines.
run_fixture_command() {
  case $cmd in
    start) start ;;
    stop) stop ;;
    *) usage ;;
  esac
}
