"""Log records carry no secrets and no raw patient identifiers once streamer.logsafe is installed."""

from __future__ import annotations

import doctest
import io
import logging

import orjson
import pytest
from pydantic import SecretStr

import streamer.logsafe as logsafe
from streamer.logsafe import PATIENT, SECRET, Redactor, RedactingFilter, install, settings_secrets
from streamer.settings import Settings

EVENT = {"event_id": "e1", "user": {"id": "jdoe"}, "patient": {"id": "MRN4471", "name": "DOE^JOHN"},
         "study": {"uid": "1.2.3"}}
ATNA = (b'<AuditMessage><ParticipantObjectIdentification ParticipantObjectID="MRN4471" '
        b'ParticipantObjectTypeCode="1"><ParticipantObjectName>DOE^JOHN</ParticipantObjectName>'
        b'</ParticipantObjectIdentification></AuditMessage>')
RAW = ("MRN4471", "DOE^JOHN")


def test_doctests():
    assert doctest.testmod(logsafe).failed == 0


@pytest.mark.parametrize("text", [
    repr(EVENT), orjson.dumps(EVENT).decode(), ATNA.decode(), str(ATNA),
    "could not score patient=MRN4471 for jdoe", "FHIR reference Patient/MRN4471 rejected",
    '{"patient_id": "MRN4471", "patient_name": "DOE^JOHN", "user_id": "jdoe"}',
    "name DOE^JOHN viewed study",
])
def test_patient_data_is_redacted_and_the_rest_kept(text):
    out = Redactor().redact(text)
    assert not any(v in out for v in RAW), out
    assert PATIENT in out
    if "jdoe" in text:
        assert "jdoe" in out          # user ids stay: they are what an operator needs


@pytest.mark.parametrize("text", [
    "connecting with password hunter2-long", "{'sasl_plain_password': 'x9x9x9', 'username': 'svc'}",
    "STREAMER_CLICKHOUSE_PASSWORD=abc-123-def", "Authorization: Bearer eyJhbGci.x.y",
])
def test_secrets_are_redacted(text):
    out = Redactor(["hunter2-long"]).redact(text)
    for leaked in ("hunter2-long", "x9x9x9", "abc-123-def", "eyJhbGci"):
        assert leaked not in out
    assert SECRET in out


def test_plain_operational_messages_are_untouched():
    for text in ("ClickHouse insert of 5000 events failed for 20 s (timeout): parking on sink-retry",
                 "normalize failed at t.raw/3/1200", "created topics: pacs.audit.raw, pacs.audit.events"):
        assert Redactor(["s3cret-value"]).redact(text) == text


def test_settings_secrets_come_from_every_secret_field():
    s = Settings(kafka_sasl_password=SecretStr("kafka-pw-1"), clickhouse_password=SecretStr("ch-pw-2"),
                 webhook_secret=SecretStr("hook-3333"))
    assert set(settings_secrets(s)) == {"kafka-pw-1", "ch-pw-2", "hook-3333"}


def _capture(logger_name: str, emit) -> str:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return buf.getvalue()


def test_filter_redacts_message_args_and_traceback():
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactingFilter(Redactor(["pw-777777"])))
    logger = logging.getLogger("tests.security.filter")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"bad event {EVENT!r} with pw-777777")
        except ValueError:
            logger.exception("scoring failed for %r (%s)", "jdoe", EVENT)
    finally:
        logger.removeHandler(handler)
    out = buf.getvalue()
    assert "scoring failed for 'jdoe'" in out and "ValueError" in out and "Traceback" in out
    assert not any(v in out for v in RAW + ("pw-777777",)), out


def test_install_covers_every_logger_and_handler(monkeypatch):
    monkeypatch.setattr(logsafe, "_installed", None)
    previous = logging.getLogRecordFactory()
    try:
        install(Settings(clickhouse_password=SecretStr("ch-secret-99")), secrets=["extra-secret-1"])
        assert install(secrets=["later-secret-2"]) is logsafe._installed   # idempotent, adds secrets

        def emit(logger):
            logger.warning("insert to %s failed, password=%s", "ch", "ch-secret-99")
            logger.info("event %s", orjson.dumps(EVENT).decode())
            logger.debug("token later-secret-2 and extra-secret-1")
            try:
                {}["DOE^JOHN"]
            except KeyError:
                logger.exception("lookup failed")
        out = _capture("aiokafka.conn", emit) + _capture("faust.agents", emit)
    finally:
        logging.setLogRecordFactory(previous)
    assert out.count("WARNING") == 2 and out.count("lookup failed") == 2 and "KeyError" in out
    for leaked in RAW + ("ch-secret-99", "extra-secret-1", "later-secret-2"):
        assert leaked not in out, (leaked, out)
