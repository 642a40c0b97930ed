#!/usr/bin/env bash
# NATS 2.9 with JetStream and its MQTT listener, as a plain process.
# usage: nats.sh start DIR MQTT_PORT | stop DIR | kill DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)
case "$cmd" in
start)
  PORT=$3
  need_packages nats-server
  cat > "$D/nats.conf" <<CONF
server_name: meridian_test
listen: 127.0.0.1:-1
max_payload: 8MB
jetstream { store_dir: "$D/js", max_memory_store: 64MB, max_file_store: 1GB }
mqtt { listen: 127.0.0.1:$PORT }
CONF
  /usr/sbin/nats-server -c "$D/nats.conf" >"$D/nats.log" 2>&1 &
  echo $! > "$D/pid"
  wait_port 127.0.0.1 "$PORT" "$(cat "$D/pid")" 30 || { echo "nats-server did not start"; cat "$D/nats.log"; exit 1; }
  echo "nats-server pid $(cat "$D/pid"), MQTT on 127.0.0.1:$PORT" ;;
stop) stop_pid_file "$D/pid" ;;
kill) kill9_pid_file "$D/pid" ;;
*) echo "usage: $0 start DIR MQTT_PORT | stop DIR | kill DIR" >&2; exit 2 ;;
esac
