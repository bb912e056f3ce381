#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: the Python venv (.venv) with the package and its pinned
# dependencies; with --services also the Debian packages the local stack and its tests use
# (Java 17 and Maven for Apache Kafka, clickhouse-server, rsyslog with omkafka and gnutls, kcat).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "[setup] $*" >&2; }

if [[ "${1:-}" == "--services" ]]; then
  need=()
  command -v java >/dev/null || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || need+=(maven)
  command -v clickhouse-server >/dev/null || command -v clickhouse >/dev/null || need+=(clickhouse-server clickhouse-client)
  command -v rsyslogd >/dev/null || need+=(rsyslog)
  [[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so || -e /usr/lib/rsyslog/omkafka.so ]] || need+=(rsyslog-kafka)
  [[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so || -e /usr/lib/rsyslog/lmnsd_gtls.so ]] || need+=(rsyslog-gnutls)
  command -v kcat >/dev/null || need+=(kcat)
  if (( ${#need[@]} )); then
    log "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

PY="$(command -v python3.11 || command -v python3)"
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp || docker/constraints.txt -nt $stamp ]]; then
  log "installing the package and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c docker/constraints.txt -e ".[test]"
  touch $stamp
fi
log "ready: $(.venv/bin/python --version), streamer $(.venv/bin/python -c 'import streamer; print(streamer.__version__)')"
