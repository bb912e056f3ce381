#!/usr/bin/env bash
# Apache Kafka, one KRaft node (broker + controller) on loopback, from the jars Maven resolves.
#   docker/kafka/ctl.sh start|stop|status|restart|reset
# Ports: KAFKA_PORT (19092, PLAINTEXT), KAFKA_CONTROLLER_PORT (KAFKA_PORT + 1: a second stack on
# other ports does not collide with the first). Data: var/kafka (git-ignored).
# Exit codes: 0 ready/ok, 1 failed to start, 3 the broker jars could not be resolved (no Maven Central).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VAR="${STREAMER_VAR_DIR:-$ROOT/var}/kafka"
PORT="${KAFKA_PORT:-19092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
LIBS="$VAR/libs"
PIDFILE="$VAR/kafka.pid"
LOG="$VAR/logs/server.log"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
PY="${STREAMER_PYTHON:-$ROOT/.venv/bin/python}"

log() { echo "[kafka] $*" >&2; }

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

resolve_jars() {
  if [[ -f "$LIBS/.complete" ]] && cmp -s "$HERE/pom.xml" "$LIBS/.pom"; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; return 3; }
  log "resolving the broker jars with Maven (org.apache.kafka:kafka_2.13) ..."
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  if ! mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIBS" >"$VAR/mvn.log" 2>&1; then
    log "Maven could not resolve the Kafka broker jars (is Maven Central reachable?). See $VAR/mvn.log:"
    tail -n 5 "$VAR/mvn.log" >&2
    return 3
  fi
  cp "$HERE/pom.xml" "$LIBS/.pom"; touch "$LIBS/.complete"
}

write_config() {
  mkdir -p "$VAR/config" "$VAR/data" "$VAR/logs"
  cat > "$VAR/config/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT
log.dirs=$VAR/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=67108864
${KAFKA_EXTRA_PROPERTIES:-}
PROPS
  cat > "$VAR/config/log4j2.properties" <<PROPS
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOG
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
PROPS
}

ready() {
  "$PY" - "$PORT" <<'PYEOF' 2>/dev/null
import sys
from kafka import KafkaAdminClient
a = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{sys.argv[1]}", request_timeout_ms=3000)
a.list_topics()
# ready means a consumer group can join: the group coordinator (and __consumer_offsets) is up.
# A fresh KRaft node answers metadata seconds before that; workers joining in between sat idle.
a.describe_groups(["stack-readiness"]); a.close()
PYEOF
}

start() {
  mkdir -p "$VAR"
  if running && ready; then log "already running on 127.0.0.1:$PORT"; return 0; fi
  resolve_jars || return $?
  write_config
  if [[ ! -f "$VAR/data/meta.properties" ]]; then
    "$JAVA" -cp "$LIBS/*" -Dlog4j2.configurationFile="$VAR/config/log4j2.properties" kafka.tools.StorageTool \
      format --ignore-formatted --cluster-id "${KAFKA_CLUSTER_ID:-pacsStreamerLocal01}" \
      --config "$VAR/config/server.properties" >"$VAR/logs/format.log" 2>&1 \
      || { log "storage format failed:"; tail -n 20 "$VAR/logs/format.log" >&2; return 1; }
  fi
  log "starting Apache Kafka $(ls "$LIBS" | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p') (KRaft) on 127.0.0.1:$PORT"
  nohup "$JAVA" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$VAR/config/log4j2.properties" ${KAFKA_JVM_OPTS:-} \
    -cp "$LIBS/*" kafka.Kafka "$VAR/config/server.properties" >"$VAR/logs/stdout.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 120); do
    if ready; then log "ready"; return 0; fi
    running || { log "the broker exited:"; tail -n 30 "$VAR/logs/stdout.log" "$LOG" >&2 2>/dev/null; return 1; }
    sleep 0.5
  done
  log "not ready after 60 s; log tail:"; tail -n 30 "$LOG" >&2; return 1
}

stop() {
  if running; then
    local pid; pid="$(cat "$PIDFILE")"; kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped"
  fi
  rm -f "$PIDFILE"
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running && ready; then echo "kafka: ready on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; else echo "kafka: down"; exit 1; fi ;;
  reset) stop; rm -rf "$VAR/data" "$VAR/logs"; log "data wiped" ;;
  *) echo "usage: $0 start|stop|status|restart|reset" >&2; exit 1 ;;
esac
