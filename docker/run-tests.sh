#!/usr/bin/env bash
# One command, fresh machine: install everything, start the real Apache Kafka and ClickHouse server
# on loopback, run the unit and integration tests. A skipped integration test fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash docker/setup.sh --services
bash docker/stack.sh start
set -a; . var/stack.env; set +a
echo "[tests] broker: $STACK_BROKER at $STACK_KAFKA_BOOTSTRAP; ClickHouse server at $STACK_CLICKHOUSE_HOST:$STACK_CLICKHOUSE_PORT; embedded: chdb $(.venv/bin/python -c 'import chdb; print(chdb.__version__)')"
export STREAMER_REQUIRE_SERVICES=1
rc=0
.venv/bin/python -m pytest -p no:cacheprovider "$@" || rc=$?
if [[ "${KEEP_STACK:-0}" != "1" ]]; then bash docker/stack.sh stop >/dev/null 2>&1 || true; fi
exit $rc
