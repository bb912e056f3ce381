#!/usr/bin/env bash
# One command, fresh machine: set up the venv, then run the whole pipeline on the embedded default
# (embedded Kafka-compatible broker + embedded ClickHouse), synthetic traffic with incidents.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/docker/setup.sh"
exec "$ROOT/.venv/bin/streamer" demo "$@"
