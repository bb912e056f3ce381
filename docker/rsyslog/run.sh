#!/usr/bin/env bash
# Start rsyslogd in the foreground (own pidfile, generated config) receiving ATNA syslog on
# loopback TCP (and TLS) and forwarding it to the raw Kafka topic. Not the system service.
#
# Environment (defaults in brackets):
#   RSYSLOG_STATE      state folder: config, pidfile, queues, test CA      [<repo>/var/rsyslog]
#   RSYSLOG_ADDRESS    listen address                                      [127.0.0.1]
#   RSYSLOG_PORT       plain TCP port                                      [10514]
#   RSYSLOG_TLS_PORT   TLS port (RFC 5425); 0 disables TLS                 [0]
#   RSYSLOG_TLS_AUTHMODE  anon | x509/certvalid | x509/name                [anon]
#   RSYSLOG_TLS_CA / _CERT / _KEY  PEM files; a test CA is generated under
#                      $RSYSLOG_STATE/tls when they are not given
#   KAFKA_BOOTSTRAP    brokers, comma separated     [$STREAMER_KAFKA_BOOTSTRAP or 127.0.0.1:19092]
#   RAW_TOPIC          topic                        [${STREAMER_TOPIC_PREFIX:-pacs.audit.}raw]
#   RSYSLOG_KAFKA_CONF extra librdkafka settings, comma separated name=value (e.g. security.protocol=ssl)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${RSYSLOG_STATE:-$root/var/rsyslog}
address=${RSYSLOG_ADDRESS:-127.0.0.1}
port=${RSYSLOG_PORT:-10514}
tls_port=${RSYSLOG_TLS_PORT:-0}
bootstrap=${KAFKA_BOOTSTRAP:-${STREAMER_KAFKA_BOOTSTRAP:-127.0.0.1:19092}}
topic=${RAW_TOPIC:-${STREAMER_TOPIC_PREFIX:-pacs.audit.}raw}
mkdir -p "$state/work"

tls_ca=${RSYSLOG_TLS_CA:-$state/tls/ca.pem}
tls_cert=${RSYSLOG_TLS_CERT:-$state/tls/server.pem}
tls_key=${RSYSLOG_TLS_KEY:-$state/tls/server.key}
if [[ "$tls_port" != 0 && ! -f "$tls_cert" ]]; then
  # test CA and a server certificate for 127.0.0.1 / localhost (tests and local use only)
  mkdir -p "$state/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=pacs-streamer test CA" \
    -keyout "$state/tls/ca.key" -out "$tls_ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls_key" -out "$state/tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$state/tls/ext.cnf"
  openssl x509 -req -in "$state/tls/server.csr" -CA "$tls_ca" -CAkey "$state/tls/ca.key" -CAcreateserial \
    -days 30 -extfile "$state/tls/ext.cnf" -out "$tls_cert" 2>/dev/null
  chmod 600 "$tls_key" "$state/tls/ca.key"
fi

brokers=$(printf '"%s",' ${bootstrap//,/ }); brokers=${brokers%,}
kafka_conf=""
if [[ -n "${RSYSLOG_KAFKA_CONF:-}" ]]; then
  kafka_conf=$(printf ', "%s"' ${RSYSLOG_KAFKA_CONF//,/ })
fi
sed_tls='/^#TLS /d'
[[ "$tls_port" != 0 ]] && sed_tls='s/^#TLS //'

conf="$state/rsyslog.conf"
sed -e "$sed_tls" \
    -e "s|@STATE@|$state|g" -e "s|@ADDRESS@|$address|g" -e "s|@PORT@|$port|g" \
    -e "s|@TLS_PORT@|$tls_port|g" -e "s|@TLS_AUTHMODE@|${RSYSLOG_TLS_AUTHMODE:-anon}|g" \
    -e "s|@TLS_CA@|$tls_ca|g" -e "s|@TLS_CERT@|$tls_cert|g" -e "s|@TLS_KEY@|$tls_key|g" \
    -e "s|@BROKERS@|$brokers|g" -e "s|@TOPIC@|$topic|g" -e "s|@KAFKA_CONF@|$kafka_conf|g" \
    "$here/rsyslog.conf" > "$conf"

rsyslogd -N1 -f "$conf" >&2
exec rsyslogd -n -f "$conf" -i "$state/rsyslogd.pid"
