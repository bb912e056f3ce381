# rsyslog with omkafka and gnutls, running docker/rsyslog/run.sh in the foreground.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends rsyslog rsyslog-kafka rsyslog-gnutls openssl \
 && rm -rf /var/lib/apt/lists/*
COPY docker/rsyslog /opt/rsyslog
ENV RSYSLOG_STATE=/var/lib/rsyslog-state
ENTRYPOINT ["bash", "/opt/rsyslog/run.sh"]
