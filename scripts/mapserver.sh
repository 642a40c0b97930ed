#!/usr/bin/env bash
# MapServer 8 (Debian cgi-mapserver) under lighttpd's FastCGI, as plain processes on loopback.
# usage: mapserver.sh start DIR PORT MAPFILE [PROCS]   (serves /mapserv; the map is aliased "bench")
#        mapserver.sh stop DIR
# DIR receives the lighttpd and MapServer configuration files, logs and the PID file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/brokers/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)

case "$cmd" in
start)
  port=$3; map=$(cd "$(dirname "$4")" && pwd)/$(basename "$4"); procs=${5:-2}
  need_packages cgi-mapserver mapserver-bin lighttpd
  mkdir -p "$D/www"
  # MapServer 8 reads its configuration file first; the map is reached through an alias.
  cat > "$D/mapserver.conf" <<CONF
CONFIG
  ENV
    MS_ERRORFILE "$D/mapserver.log"
  END
  MAPS
    "bench" "$map"
  END
END
CONF
  cat > "$D/lighttpd.conf" <<CONF
server.modules = ("mod_fastcgi")
server.document-root = "$D/www"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$D/lighttpd.pid"
server.errorlog = "$D/lighttpd.log"
server.max-connections = 1024
# WMS requests carry whole SLD documents (SLD_BODY) in their URL.
server.max-request-field-size = 262144
fastcgi.server = ( "/mapserv" => ((
  "socket" => "$D/mapserv.sock",
  "bin-path" => "/usr/lib/cgi-bin/mapserv",
  "bin-environment" => ( "MAPSERVER_CONFIG_FILE" => "$D/mapserver.conf" ),
  "max-procs" => $procs,
  "check-local" => "disable"
)))
CONF
  start_lighttpd "$D" "$port" || exit 1
  echo "mapserver (lighttpd pid $(cat "$D/pid")) on 127.0.0.1:$port" ;;
stop)
  stop_pid_file "$D/pid"
  stop_fastcgi /usr/lib/cgi-bin/mapserv "^MAPSERVER_CONFIG_FILE=$D/mapserver.conf$" ;;
*) echo "usage: $0 start DIR PORT MAPFILE [PROCS] | stop DIR" >&2; exit 2 ;;
esac
