#!/usr/bin/env bash
# MapCache (Debian mapcache-cgi) in front of MapServer 8 (cgi-mapserver), both under
# lighttpd's FastCGI, as plain processes on loopback: the peer of Meridian's uncached tiles.
# usage: mapcache.sh start DIR PORT MAPFILE LAYER   (tiles of LAYER at /mapcache/tms/1.0.0/…,
#                                                    the GoogleMapsCompatible grid, metatiles 4×4)
#        mapcache.sh stop DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/brokers/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)
case "$cmd" in
start)
  port=$3; map=$(cd "$(dirname "$4")" && pwd)/$(basename "$4"); layer=$5
  need_packages cgi-mapserver mapserver-bin lighttpd mapcache-cgi
  fcgi=$(dpkg -L mapcache-cgi | grep -E '/mapcache(\.fcgi)?$' | head -1)
  [ -x "$fcgi" ] || { echo "mapcache-cgi's binary not found"; exit 1; }
  mkdir -p "$D/www" "$D/cache" "$D/locks"
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
  cat > "$D/mapcache.xml" <<CONF
<?xml version="1.0" encoding="UTF-8"?>
<mapcache>
  <source name="$layer" type="wms">
    <getmap><params><FORMAT>image/png</FORMAT><LAYERS>$layer</LAYERS><MAP>bench</MAP><TRANSPARENT>true</TRANSPARENT></params></getmap>
    <http><url>http://127.0.0.1:$port/mapserv</url></http>
  </source>
  <cache name="disk" type="disk"><base>$D/cache</base></cache>
  <format name="PNGFAST" type="PNG"><compression>fast</compression></format>
  <tileset name="$layer">
    <source>$layer</source><cache>disk</cache><grid>GoogleMapsCompatible</grid><format>PNGFAST</format>
    <metatile>4 4</metatile><metabuffer>0</metabuffer>
  </tileset>
  <service type="tms" enabled="true"/>
  <locker type="disk"><directory>$D/locks</directory></locker>
  <log_level>warn</log_level>
</mapcache>
CONF
  cat > "$D/lighttpd.conf" <<CONF
server.modules = ("mod_fastcgi")
server.document-root = "$D/www"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$D/lighttpd.pid"
server.errorlog = "$D/lighttpd.log"
server.max-connections = 1024
fastcgi.server = (
  "/mapserv" => ((
    "socket" => "$D/mapserv.sock",
    "bin-path" => "/usr/lib/cgi-bin/mapserv",
    "bin-environment" => ( "MAPSERVER_CONFIG_FILE" => "$D/mapserver.conf" ),
    "max-procs" => 2,
    "check-local" => "disable"
  )),
  "/mapcache" => ((
    "socket" => "$D/mapcache.sock",
    "bin-path" => "$fcgi",
    "bin-environment" => ( "MAPCACHE_CONFIG_FILE" => "$D/mapcache.xml" ),
    "max-procs" => 2,
    "check-local" => "disable"
  ))
)
CONF
  start_lighttpd "$D" "$port" || exit 1
  echo "mapcache and mapserver (lighttpd pid $(cat "$D/pid")) on 127.0.0.1:$port" ;;
stop)
  stop_pid_file "$D/pid"
  stop_fastcgi "/usr/lib/cgi-bin/mapserv|mapcache" "^(MAPSERVER_CONFIG_FILE=$D/mapserver.conf|MAPCACHE_CONFIG_FILE=$D/mapcache.xml)$" ;;
*) echo "usage: $0 start DIR PORT MAPFILE LAYER | stop DIR" >&2; exit 2 ;;
esac
