"""Fault injection on the real Apache Kafka and ClickHouse server: worker kill -9 and restart, broker
restart, ClickHouse outage, rebalance after a worker dies, alert storm with a receiver outage.
Every test counts events in against rows out (uniqExact(event_id), count() FINAL) and notifications
accepted by a loopback receiver. Run: .venv/bin/python -m pytest tests/faults -s (-s prints timings)."""
