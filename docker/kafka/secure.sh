#!/usr/bin/env bash
# A second Apache Kafka broker (same jars as docker/kafka/ctl.sh) with TLS and SASL/SCRAM listeners,
# for the security tests and for trying a secured setup locally:
#   docker/kafka/secure.sh start|stop|status|reset|certs|env
# Listeners, all on 127.0.0.1:
#   SECURE_KAFKA_SSL_PORT      19194  SSL, mutual TLS (client certificate signed by the test CA required)
#   SECURE_KAFKA_SASL_PORT     19195  SASL_SSL, SCRAM-SHA-512 over TLS
#   SECURE_KAFKA_PORT          19192  PLAINTEXT, loopback only: readiness check and SCRAM user admin
#   SECURE_KAFKA_CONTROLLER    19193  KRaft controller
# `certs` makes (once) a test CA and the server, client and ClickHouse certificates with openssl in
# var/secure/certs (CA valid 30 days; remade when expired). `start` creates the SCRAM user `streamer`
# with a random password kept in var/secure/secrets/streamer_kafka_sasl_password (a pydantic-settings secrets
# dir: point STREAMER_SECRETS_DIR at it). `env` prints the STREAMER_* variables of a worker on SASL_SSL.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BASE="${STREAMER_VAR_DIR:-$ROOT/var}"
SEC="$BASE/secure"
CERTS="$SEC/certs"
SECRETS="$SEC/secrets"
PORT="${SECURE_KAFKA_PORT:-19192}"
CPORT="${SECURE_KAFKA_CONTROLLER:-19193}"
SSL_PORT="${SECURE_KAFKA_SSL_PORT:-19194}"
SASL_PORT="${SECURE_KAFKA_SASL_PORT:-19195}"
SCRAM_USER="${SECURE_KAFKA_USER:-streamer}"
PY="${STREAMER_PYTHON:-$ROOT/.venv/bin/python}"

log() { echo "[secure-kafka] $*" >&2; }

# ctl.sh with its state under var/secure/kafka and the listeners/TLS/SASL settings appended
# (later keys override the PLAINTEXT-only defaults of ctl.sh's server.properties).
ctl() {
  STREAMER_VAR_DIR="$SEC" KAFKA_PORT="$PORT" KAFKA_CONTROLLER_PORT="$CPORT" \
  KAFKA_CLUSTER_ID="pacsStreamerSecure01" KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}" \
  KAFKA_EXTRA_PROPERTIES="$(properties)" bash "$HERE/ctl.sh" "$@"
}

properties() {
  cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT,SSL://127.0.0.1:$SSL_PORT,SASL_SSL://127.0.0.1:$SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SSL://127.0.0.1:$SSL_PORT,SASL_SSL://127.0.0.1:$SASL_PORT
ssl.keystore.type=PEM
ssl.keystore.location=$CERTS/kafka-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.pem
ssl.enabled.protocols=TLSv1.3,TLSv1.2
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
}

# sign NAME CN SAN EKU: key + certificate signed by the test CA
sign() {
  local name="$1" cn="$2" san="$3" eku="$4"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$CERTS/$name.key" -subj "/CN=$cn" \
    -out "$CERTS/$name.csr" 2>/dev/null
  openssl x509 -req -in "$CERTS/$name.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -CAcreateserial \
    -days 30 -sha256 -out "$CERTS/$name.pem" \
    -extfile <(printf "subjectAltName=%s\nextendedKeyUsage=%s\nkeyUsage=critical,digitalSignature,keyEncipherment\n" "$san" "$eku") \
    2>/dev/null
  rm -f "$CERTS/$name.csr"
  chmod 600 "$CERTS/$name.key"
}

certs() {
  if [[ -f "$CERTS/.complete" ]] && openssl x509 -checkend 86400 -noout -in "$CERTS/ca.pem" >/dev/null 2>&1; then
    return 0
  fi
  command -v openssl >/dev/null || { log "openssl not found"; return 1; }
  rm -rf "$CERTS"; mkdir -p "$CERTS"; chmod 700 "$CERTS"
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" -days 30 \
    -sha256 -subj "/CN=pacs-streamer test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$CERTS/ca.key"
  sign kafka localhost "IP:127.0.0.1,DNS:localhost" serverAuth,clientAuth
  sign clickhouse localhost "IP:127.0.0.1,DNS:localhost" serverAuth
  sign client streamer-worker "DNS:streamer-worker" clientAuth
  cat "$CERTS/kafka.key" "$CERTS/kafka.pem" > "$CERTS/kafka-keystore.pem"   # Kafka PEM keystore
  chmod 600 "$CERTS/kafka-keystore.pem"
  touch "$CERTS/.complete"
  log "test CA and certificates in $CERTS"
}

password() {
  mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
  [[ -s "$SECRETS/streamer_kafka_sasl_password" ]] || { openssl rand -hex 24 | tr -d '\n' > "$SECRETS/streamer_kafka_sasl_password"; }
  chmod 600 "$SECRETS/streamer_kafka_sasl_password"
}

# Upsert the SCRAM-SHA-512 credential of the service user over the loopback PLAINTEXT listener.
scram_user() {
  "$PY" - "127.0.0.1:$PORT" "$SCRAM_USER" "$SECRETS/streamer_kafka_sasl_password" <<'PYEOF'
import sys, time
from kafka.admin import KafkaAdminClient, ScramMechanism, UserScramCredentialUpsertion
bootstrap, user, pw_file = sys.argv[1:]
password = open(pw_file).read().strip()
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
try:
    admin.alter_user_scram_credentials([UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, password)])
    for _ in range(40):   # the credential reaches the SASL listener through the metadata log
        if admin.describe_user_scram_credentials([user]):
            break
        time.sleep(0.25)
finally:
    admin.close()
PYEOF
}

# Link the main broker's resolved jars so the second broker does not resolve them again.
share_jars() {
  local main_libs="$BASE/kafka/libs"
  mkdir -p "$SEC/kafka"
  if [[ -f "$main_libs/.complete" && ! -e "$SEC/kafka/libs" ]]; then ln -s "$main_libs" "$SEC/kafka/libs"; fi
}

start() {
  certs
  password
  share_jars
  ctl start
  scram_user && log "SCRAM-SHA-512 user '$SCRAM_USER' ready; SSL 127.0.0.1:$SSL_PORT, SASL_SSL 127.0.0.1:$SASL_PORT"
}

env_vars() {
  cat <<ENV
STREAMER_KAFKA_BOOTSTRAP=127.0.0.1:$SASL_PORT
STREAMER_KAFKA_SECURITY_PROTOCOL=SASL_SSL
STREAMER_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
STREAMER_KAFKA_SASL_USERNAME=$SCRAM_USER
STREAMER_KAFKA_SSL_CAFILE=$CERTS/ca.pem
STREAMER_SECRETS_DIR=$SECRETS
ENV
}

case "${1:-status}" in
  start) start ;;
  stop) ctl stop ;;
  status) ctl status ;;
  reset) ctl reset ;;
  certs) certs ;;
  env) env_vars ;;
  *) echo "usage: $0 start|stop|status|reset|certs|env" >&2; exit 1 ;;
esac
