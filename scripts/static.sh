#!/usr/bin/env bash
# lighttpd serving a folder's files as they are (the limit a tile cache is measured against),
# as a plain process on loopback.
# usage: static.sh start DIR PORT ROOT    (DIR receives the configuration, logs, PID file)
#        static.sh stop DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/brokers/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)
case "$cmd" in
start)
  port=$3; root=$(cd "$4" && pwd)
  need_packages lighttpd
  cat > "$D/lighttpd.conf" <<CONF
server.document-root = "$root"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$D/lighttpd.pid"
server.errorlog = "$D/lighttpd.log"
server.max-connections = 1024
mimetype.assign = ( ".png" => "image/png", ".jpeg" => "image/jpeg", ".pbf" => "application/vnd.mapbox-vector-tile" )
CONF
  start_lighttpd "$D" "$port" || exit 1
  echo "lighttpd (pid $(cat "$D/pid")) serving $root on 127.0.0.1:$port" ;;
stop)
  stop_pid_file "$D/pid" ;;
*) echo "usage: $0 start DIR PORT ROOT | stop DIR" >&2; exit 2 ;;
esac
