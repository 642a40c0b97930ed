#!/usr/bin/env bash
# A primary/standby ActiveMQ pair sharing one store: the broker that holds the store's lock
# serves, the other waits for it. Nodes name both in a failover URL.
# usage: activemq-pair.sh start DIR PORT1 PORT2 jdbc PGPORT  (store: a PostgreSQL it starts in DIR/pg)
#        activemq-pair.sh start DIR PORT1 PORT2 kahadb       (store: a KahaDB directory, DIR/kahadb)
#        activemq-pair.sh active DIR     (prints 1 or 2: the broker that serves; exit 1 if none)
#        activemq-pair.sh kill DIR N     (kill -9 broker N)
#        activemq-pair.sh stop DIR       (both brokers, and the PostgreSQL it started)
# `start` prints the failover URL for the nodes' brokerURL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)
amq() { bash "$here/activemq.sh" "$@"; }
case "$cmd" in
start)
  P1=$3; P2=$4; KIND=${5:-jdbc}
  case "$KIND" in
  jdbc)
    PG=${6:?jdbc needs the PostgreSQL port}
    # PostgreSQL runs as its own user: its directory must be reachable.
    chmod 755 "$D"
    bash "$here/../postgis.sh" start "$D/pg" "$PG" >/dev/null
    psql -h 127.0.0.1 -p "$PG" -U postgres -q -c "CREATE DATABASE activemq" >/dev/null
    echo "$PG" > "$D/pg.port"
    STORE="jdbc:postgresql://127.0.0.1:$PG/activemq?user=postgres" ;;
  kahadb)
    mkdir -p "$D/kahadb"; STORE="$D/kahadb" ;;
  *) echo "store must be jdbc or kahadb, not '$KIND'" >&2; exit 2 ;;
  esac
  amq start "$D/b1" "$P1" "$STORE" >/dev/null
  amq standby "$D/b2" "$P2" "$STORE" >/dev/null
  echo "failover:(tcp://127.0.0.1:$P1,tcp://127.0.0.1:$P2)?randomize=false&initialReconnectDelay=100&maxReconnectDelay=1000" ;;
active)
  for n in 1 2; do
    if [ -f "$D/b$n/pid" ] && kill -0 "$(cat "$D/b$n/pid")" 2>/dev/null && amq active "$D/b$n"; then
      echo "$n"; exit 0
    fi
  done
  exit 1 ;;
kill) amq kill "$D/b${3:?which broker: 1 or 2}" ;;
stop)
  amq stop "$D/b1"; amq stop "$D/b2"
  [ -f "$D/pg.port" ] && bash "$here/../postgis.sh" stop "$D/pg"
  rm -f "$D/pg.port" ;;
*) echo "usage: $0 start DIR PORT1 PORT2 jdbc PGPORT | start DIR PORT1 PORT2 kahadb | active DIR | kill DIR N | stop DIR" >&2; exit 2 ;;
esac
