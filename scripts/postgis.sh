#!/usr/bin/env bash
# PostgreSQL 15 with PostGIS as a plain process, owned by the postgres user, on loopback.
# usage: postgis.sh start DIR PORT   (creates database "gis" with the postgis extension)
#        postgis.sh start-tls DIR PORT (the same, TCP only over TLS: DIR/ca.crt is the CA that
#                                       signed the server's certificate for 127.0.0.1/localhost)
#        postgis.sh load DIR PORT SHP TABLE SRID   (loads a shapefile with shp2pgsql)
#        postgis.sh stop DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/brokers/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)
BIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
case "$cmd" in
start|start-tls)
  PORT=$3
  need_packages postgresql-15 postgresql-15-postgis-3 postgis openssl
  chmod 755 "$D"
  [ "$(id -u)" = 0 ] && chown postgres "$D"
  as_pg "$BIN/initdb -D '$D/data' -A trust -U postgres >'$D/initdb.log' 2>&1"
  OPTS="-p $PORT -k '$D' -c listen_addresses=127.0.0.1 -c fsync=off"
  if [ "$cmd" = start-tls ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Meridian test CA" \
      -keyout "$D/ca.key" -out "$D/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$D/server.key" -out "$D/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$D/san.ext"
    openssl x509 -req -in "$D/server.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial \
      -days 2 -extfile "$D/san.ext" -out "$D/server.crt" 2>/dev/null
    chmod 600 "$D/server.key"
    [ "$(id -u)" = 0 ] && chown postgres "$D/server.key" "$D/server.crt"
    # Over TCP only TLS is let in.
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n' >"$D/data/pg_hba.conf"
    OPTS="$OPTS -c ssl=on -c ssl_cert_file='$D/server.crt' -c ssl_key_file='$D/server.key'"
  fi
  as_pg "$BIN/pg_ctl -D '$D/data' -o \"$OPTS\" -l '$D/postgres.log' -w start >/dev/null"
  psql -h 127.0.0.1 -p "$PORT" -U postgres -q -c "CREATE DATABASE gis" >/dev/null
  psql -h 127.0.0.1 -p "$PORT" -U postgres -d gis -q -c "CREATE EXTENSION postgis" >/dev/null
  echo "postgresql on 127.0.0.1:$PORT, database gis" ;;
load)
  PORT=$3; SHP=$4; TABLE=$5; SRID=$6
  shp2pgsql -k -s "$SRID" -I "$SHP" "public.$TABLE" 2>/dev/null | psql -h 127.0.0.1 -p "$PORT" -U postgres -d gis -q >/dev/null ;;
stop)
  [ -d "$D/data" ] && as_pg "$BIN/pg_ctl -D '$D/data' -m fast -w stop >/dev/null" || true ;;
*) echo "usage: $0 start|start-tls DIR PORT | load DIR PORT SHP TABLE SRID | stop DIR" >&2; exit 2 ;;
esac
