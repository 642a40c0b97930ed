#!/usr/bin/env bash
# RabbitMQ 3.10 with its MQTT plugin, as a plain process bound to loopback.
# usage: rabbitmq.sh start DIR MQTT_PORT | stop DIR | kill DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)
rabbit_env() {
  export HOME="$D" RABBITMQ_NODENAME="meridian@localhost" RABBITMQ_CONFIG_FILE="$D/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$D/enabled_plugins" RABBITMQ_MNESIA_BASE="$D/mnesia" \
    RABBITMQ_LOG_BASE="$D/log" RABBITMQ_PID_FILE="$D/rabbit.pid" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_DIST_PORT="$(cat "$D/dist_port" 2>/dev/null || echo 25672)" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
case "$cmd" in
start)
  PORT=$3
  need_packages rabbitmq-server
  AMQP=$((PORT + 1)); echo $((PORT + 2)) > "$D/dist_port"
  cat > "$D/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$AMQP
mqtt.listeners.tcp.default = 127.0.0.1:$PORT
loopback_users = none
log.console = true
log.file = false
CONF
  echo '[rabbitmq_mqtt].' > "$D/enabled_plugins"
  rabbit_env
  /usr/lib/rabbitmq/bin/rabbitmq-server >"$D/stdout.log" 2>&1 &
  echo $! > "$D/pid"
  wait_port 127.0.0.1 "$PORT" "$(cat "$D/pid")" 90 || { echo "rabbitmq did not start"; tail -40 "$D/stdout.log"; exit 1; }
  echo "rabbitmq pid $(cat "$D/pid"), MQTT on 127.0.0.1:$PORT" ;;
stop)
  rabbit_env
  /usr/lib/rabbitmq/bin/rabbitmqctl stop >/dev/null 2>&1 || true
  stop_pid_file "$D/pid"
  pkill -f "erts.*epmd -daemon" 2>/dev/null || true ;;
kill)
  # The Erlang VM is a child of the start script's shell; kill the whole group.
  P=$(cat "$D/pid" 2>/dev/null || echo)
  [ -n "$P" ] && pkill -9 -P "$P" 2>/dev/null; kill9_pid_file "$D/pid"
  pkill -9 -f "beam.*$D" 2>/dev/null || true ;;
*) echo "usage: $0 start DIR MQTT_PORT | stop DIR | kill DIR" >&2; exit 2 ;;
esac
