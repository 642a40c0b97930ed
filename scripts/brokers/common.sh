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

start_lighttpd() { # dir port: run DIR/lighttpd.conf, its PID in DIR/pid, until the port answers
  rm -f "$1/lighttpd.pid"
  nohup /usr/sbin/lighttpd -D -f "$1/lighttpd.conf" >"$1/stdout.log" 2>&1 &
  echo $! > "$1/pid"
  wait_port 127.0.0.1 "$2" "$(cat "$1/pid")" 30 && return 0
  echo "lighttpd did not start"; cat "$1/stdout.log" "$1/lighttpd.log" 2>/dev/null | tail -20
  return 1
}

stop_fastcgi() { # pattern regex: kill the FastCGI processes (they outlive lighttpd) matching
  # PATTERN whose environment has a line matching REGEX, the configuration of this instance
  for p in $(pgrep -f "$1" || true); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qE "$2"; then
      kill "$p" 2>/dev/null || true
    fi
  done
}
