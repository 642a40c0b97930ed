#!/usr/bin/env bash
# ActiveMQ Classic 5.17 (Debian) as a plain process, with its MQTT connector working.
# usage: activemq.sh start DIR MQTT_PORT [STORE]   (waits until the broker is active)
#        activemq.sh standby DIR MQTT_PORT STORE    (starts; waits only for the process)
#        activemq.sh active DIR | stop DIR | kill DIR
# STORE: a KahaDB directory (a shared-file lock: the pair shares the directory), or a JDBC URL
# jdbc:postgresql://HOST:PORT/DB?user=U (ActiveMQ's JDBC store on PostgreSQL with a lease
# locker: the pair shares the database). Default: KahaDB in DIR/data/kahadb.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); . "$here/common.sh"
cmd=$1; D=$(mkdir -p "$2" && cd "$2" && pwd)

# KahaDB attributes. By default a topic message is dispatched to its subscribers while it is
# stored, not after: Meridian's journals, not the broker, are the copy of record, so waiting
# for KahaDB before delivering only adds latency for persistent (durable=true) sessions.
# ACTIVEMQ_KAHADB_ATTRS= (empty) runs ActiveMQ's stock behaviour.
kahadb_attrs=${ACTIVEMQ_KAHADB_ATTRS-concurrentStoreAndDispatchTopics=\"true\"}

launch() {
  local port=$1 store=$2
  need_packages activemq libmqtt-client-java
  mkdir -p "$D/conf" "$D/data" "$D/tmp" "$D/lib"
  # Debian's MQTT transport needs these jars, which its package does not pull in.
  ln -sf /usr/share/java/mqtt-client.jar /usr/share/java/hawtdispatch.jar "$D/lib/"
  # Debian's ActiveMQ logs through log4j 1.2 and ignores log4j2.properties.
  cat > "$D/conf/log4j.properties" <<'L4J'
log4j.rootLogger=INFO, out
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.out=org.apache.log4j.FileAppender
log4j.appender.out.File=${activemq.data}/activemq.log
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=%d %-5p %m (%c)%n
L4J
  local persistence datasource=""
  case "$store" in
  jdbc:postgresql:*)
    # The JDBC store: messages, durable subscriptions and the lock in one PostgreSQL database.
    # The lease locker: the lease lasts lockAcquireSleepInterval (3 s); the broker holding it
    # renews it every lockKeepAlivePeriod (1 s, shorter, or the lease lapses under it). A
    # standby tries every 3 s and takes the lease once it has expired (its holder was killed
    # or cut off). Each broker holds it under its own id (the brokers share their name).
    need_packages libpostgresql-jdbc-java
    ln -sf /usr/share/java/postgresql.jar "$D/lib/"
    persistence="      <jdbcPersistenceAdapter dataSource=\"#store\" createTablesOnStartup=\"true\" lockKeepAlivePeriod=\"1000\">
        <locker><lease-database-locker lockAcquireSleepInterval=\"3000\" leaseHolderId=\"broker-$port\"/></locker>
      </jdbcPersistenceAdapter>"
    datasource="  <bean id=\"store\" class=\"org.postgresql.ds.PGSimpleDataSource\">
    <property name=\"url\" value=\"${store//&/&amp;}\"/>
  </bean>" ;;
  *)
    persistence="      <kahaDB directory=\"$store\" lockKeepAlivePeriod=\"2000\" $kahadb_attrs>
        <locker><shared-file-locker lockAcquireSleepInterval=\"1000\"/></locker>
      </kahaDB>" ;;
  esac
  cat > "$D/conf/activemq.xml" <<XML
<beans xmlns="http://www.springframework.org/schema/beans" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="meridian-test" useJmx="false" persistent="true"
          dataDirectory="$D/data" offlineDurableSubscriberTimeout="86400000" offlineDurableSubscriberTaskSchedule="3600000">
    <persistenceAdapter>
$persistence
    </persistenceAdapter>
    <transportConnectors>
      <transportConnector name="mqtt" uri="mqtt://127.0.0.1:$port?transport.tcpNoDelay=true"/>
    </transportConnectors>
  </broker>
$datasource
</beans>
XML
  rm -f "$D/data/activemq.log"
  nohup java -Xms64m -Xmx256m -Djava.awt.headless=true -Djava.io.tmpdir="$D/tmp" \
    -Dactivemq.classpath="$D/conf" -Dactivemq.home=/usr/share/activemq -Dactivemq.base="$D" \
    -Dactivemq.conf="$D/conf" -Dactivemq.data="$D/data" \
    -jar /usr/share/activemq/bin/activemq.jar start "xbean:file:$D/conf/activemq.xml" >"$D/stdout.log" 2>&1 &
  echo $! > "$D/pid"
}

case "$cmd" in
start)
  launch "$3" "${4:-$D/data/kahadb}"
  for _ in $(seq 1 480); do
    grep -q "Apache ActiveMQ .* started" "$D/data/activemq.log" 2>/dev/null && { echo "activemq pid $(cat "$D/pid") on 127.0.0.1:$3"; exit 0; }
    kill -0 "$(cat "$D/pid")" 2>/dev/null || { echo "activemq died"; cat "$D/stdout.log" "$D/data/activemq.log" 2>/dev/null | tail -30; exit 1; }
    sleep 0.25
  done
  echo "activemq did not start in time"; tail -30 "$D/data/activemq.log" 2>/dev/null; exit 1 ;;
standby)
  launch "$3" "$4"
  sleep 2
  kill -0 "$(cat "$D/pid")" 2>/dev/null || { echo "activemq standby died"; tail -30 "$D/stdout.log"; exit 1; }
  echo "activemq standby pid $(cat "$D/pid") waiting for the store lock" ;;
active) # exit 0 when this broker holds the lock and listens
  grep -q "Apache ActiveMQ .* started" "$D/data/activemq.log" 2>/dev/null ;;
stop) stop_pid_file "$D/pid" ;;
kill) kill9_pid_file "$D/pid" ;;
*) echo "usage: $0 start DIR PORT [STORE] | standby DIR PORT STORE | active DIR | stop DIR | kill DIR" >&2; exit 2 ;;
esac
