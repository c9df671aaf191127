# shellcheck shell=bash
# Helpers shared by the scripts in scripts/: logging, waiting and pid files.
# Source it; it defines functions only and changes no shell options.

info() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
warn() { printf '[%s] warning: %s\n' "${0##*/}" "$*" >&2; }
die() {
  printf '[%s] error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...
# Runs COMMAND every 0.1 s until it succeeds; returns 1 after SECONDS.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      warn "timed out after ${seconds}s waiting for ${what}"
      return 1
    fi
    sleep 0.1
  done
}

# pid_alive PIDFILE NAME
# True if PIDFILE names a live process whose command name is NAME, so a pid
# recycled by an unrelated process is not mistaken for ours.
pid_alive() {
  local pidfile=$1 name=$2 pid comm
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]]
}

# stop_pidfile PIDFILE NAME [GRACE_SECONDS]
# Sends SIGTERM to the process in PIDFILE, waits up to GRACE_SECONDS (default
# 15), then SIGKILL. Always removes PIDFILE. Returns 0 if nothing was running.
stop_pidfile() {
  local pidfile=$1 name=$2 grace=${3:-15} pid
  if ! pid_alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(<"$pidfile")
  info "stopping ${name} (pid ${pid})"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for "$grace" "${name} to exit" not_running "$pid"; then
    warn "${name} (pid ${pid}) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 5 "${name} to die" not_running "$pid" || true
  fi
  rm -f "$pidfile"
}

# proc_running PID: true if PID exists and is not a zombie.
proc_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # fields after "(comm) "; the first is the state
  [[ ${stat:0:1} != Z ]]
}

not_running() { ! proc_running "$1"; }

# show_log_tail FILE: prints the end of a daemon's log to stderr.
show_log_tail() {
  [[ -f $1 ]] || return 0
  printf -- '--- last lines of %s ---\n' "$1" >&2
  tail -n 25 "$1" >&2
  printf -- '---\n' >&2
}
