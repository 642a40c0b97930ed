#!/usr/bin/env bash
# Mosquitto 2.0 as a plain process.
# usage: mosquitto.sh start DIR PORT [CAFILE CERTFILE KEYFILE]   (TLS listener requiring client certificates)
#        mosquitto.sh stop DIR | kill DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)
case "$cmd" in
start)
  PORT=$3
  need_packages mosquitto
  mkdir -p "$D/data"
  id mosquitto >/dev/null 2>&1 && chown -R mosquitto "$D/data" "$D" || true
  TLS=""
  if [ $# -ge 6 ]; then
    TLS="cafile $4
certfile $5
keyfile $6
require_certificate true"
  fi
  cat > "$D/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
$TLS
allow_anonymous true
persistence true
persistence_location $D/data/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 100
max_packet_size 268435455
set_tcp_nodelay true
persistent_client_expiration 14d
log_dest file $D/mosquitto.log
CONF
  /usr/sbin/mosquitto -c "$D/mosquitto.conf" >"$D/stdout.log" 2>&1 &
  echo $! > "$D/pid"
  wait_port 127.0.0.1 "$PORT" "$(cat "$D/pid")" 30 || { echo "mosquitto did not start"; cat "$D/stdout.log" "$D/mosquitto.log" 2>/dev/null; exit 1; }
  echo "mosquitto pid $(cat "$D/pid") on 127.0.0.1:$PORT" ;;
stop) stop_pid_file "$D/pid" ;;
kill) kill9_pid_file "$D/pid" ;;
*) echo "usage: $0 start DIR PORT | stop DIR | kill DIR" >&2; exit 2 ;;
esac
