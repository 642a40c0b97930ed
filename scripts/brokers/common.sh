# Shared helpers of the broker scripts: install Debian packages when missing, wait for
# readiness, stop by PID. Sourced, not run.

need_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Never start services from maintainer scripts (there is no systemd here anyway).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  # One installer at a time (tests may start several brokers at once).
  flock /tmp/meridian-apt.lock sh -c "apt-get update -qq >/dev/null && apt-get install -y -qq ${missing[*]} >/dev/null"
}

wait_port() { # host port pid timeout_s
  local i
  for i in $(seq 1 $(( $4 * 4 ))); do
    kill -0 "$3" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.25
  done
  return 1
}

stop_pid_file() { # file
  [ -f "$1" ] || return 0
  local p
  p=$(cat "$1")
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 80); do kill -0 "$p" 2>/dev/null || { rm -f "$1"; return 0; }; sleep 0.25; done
  kill -9 "$p" 2>/dev/null || true
  rm -f "$1"
}

kill9_pid_file() { # file
  [ -f "$1" ] || return 0
  kill -9 "$(cat "$1")" 2>/dev/null || true
  sleep 0.2
  rm -f "$1"
}
