# Shared by the throwaway test servers (scripts/test-redis.sh, scripts/test-postgres.sh): the
# `start|stop DIR` command line, errors, and process and port checks. Sourced, not run.
# Sets: prog, cmd (start|stop), dir (DIR made absolute, created if missing).

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

# True while PID runs (a zombie, exited but not yet reaped by its parent, does not count).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [[ "$state" != Z ]]
}

# True when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Runs start or stop, the functions the sourcing script defines.
run_fixture_command() {
  case $cmd in
    start) start ;;
    stop) stop ;;
    *) usage ;;
  esac
}
