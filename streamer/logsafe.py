"""Log hygiene: log records never carry secrets or raw patient identifiers.

`install(settings)` wraps the log record factory, so every record from every logger (Faust,
aiokafka, clickhouse-driver, ours) is redacted once, when it is created, before any handler sees it:
the message is formatted, secrets (every SecretStr setting, plus extra values) and patient data
are replaced, and the traceback text is redacted the same way. `RedactingFilter` does the same as
a handler filter where a record factory cannot be used.

Patient data is recognised by its context: the canonical event's `patient` object, `patient_id` /
`patient_name` / `mrn` keys, ATNA ParticipantObjectID/Name, FHIR `Patient/...` references, DICOM
person names (`DOE^JOHN`) and raw bytes in `*_b64` fields. A bare identifier logged without any of
these is not recognisable: log events by event_id and user, never by patient.

>>> r = Redactor(secrets=["s3cr3t-pw"])
>>> r.redact("login with s3cr3t-pw failed for {'patient': {'id': 'MRN123', 'name': 'DOE^JOHN'}}")
"login with [secret] failed for {'patient': [patient]}"
>>> r.redact('<ParticipantObjectIdentification ParticipantObjectID="MRN9" ParticipantObjectName="ROE^ANN"/>')
'<ParticipantObjectIdentification ParticipantObjectID="[patient]" ParticipantObjectName="[patient]"/>'
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from pydantic import SecretStr

SECRET, PATIENT = "[secret]", "[patient]"
_Q = r"""["']"""

# (pattern, replacement); applied in order to the formatted message and the traceback text.
_PATIENT_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    # "patient": {...} in JSON or a dict repr (the canonical event's patient object)
    (re.compile(rf"({_Q}patient{_Q}\s*:\s*)\{{[^{{}}]*\}}"), rf"\1{PATIENT}"),
    # "patient_id": "x", 'patient_name': 'x', "mrn": "x" (JSON, dict reprs, flattened rows)
    (re.compile(rf"""({_Q}(?:patient_id|patient_name|patient_ref|mrn|employee_patient_id){_Q}\s*:\s*)"""
                rf"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""), rf'\1"{PATIENT}"'),
    # key=value in text: patient=MRN1, patient_id=MRN1, mrn: MRN1
    (re.compile(r"\b(patient(?:_id|_name)?|mrn)(\s*[=:]\s*)(?![\[{\"'])([^\s,;)}\]]+)", re.I), rf"\1\2{PATIENT}"),
    # DICOM audit XML: ParticipantObjectID / ParticipantObjectName attributes and elements
    (re.compile(r"""(ParticipantObject(?:ID|Name)\s*=\s*)(["'])[^"']*\2"""), rf"\1\2{PATIENT}\2"),
    (re.compile(r"(<ParticipantObjectName>)[^<]*(</ParticipantObjectName>)"), rf"\1{PATIENT}\2"),
    # FHIR references and identifiers of a patient
    (re.compile(r"\bPatient/[A-Za-z0-9\-.]{1,64}"), f"Patient/{PATIENT}"),
    # DICOM person names (family^given^middle^prefix^suffix), e.g. DOE^JOHN
    (re.compile(r"[A-Za-z][A-Za-z'\-.]{0,63}\^[A-Za-z\-.^]{0,127}"), PATIENT),
    # raw message bytes carried in dead-letter records
    (re.compile(rf"""({_Q}\w*_b64{_Q}\s*:\s*)(["'])[A-Za-z0-9+/=]*\2"""), rf"\1\2[bytes]\2"),
)
# password=..., 'sasl_plain_password': '...', Authorization: Bearer ... whatever the value is
_SECRET_KEYS = re.compile(
    r"""((?:password|passwd|secret|token|routing_key|api_key|pseudonym_key|authorization)\w*{q}?\s*[:=]\s*)"""
    r"""({q}?)(?!\[secret\])(?:Bearer\s+|Basic\s+)?[^\s"',;}}]+\2""".format(q=_Q), re.I)


class Redactor:
    """Replaces secrets and patient identifiers in text. Thread-safe; secrets can be added later."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: list[str] = []
        for s in secrets:
            self.add_secret(s)

    def add_secret(self, value: str | SecretStr | None) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value or len(value) < 4:   # too short to redact without mangling every message
            return
        with self._lock:
            parts = [value] + [p for p in value.split(",") if len(p) >= 4 and p != value]
            self._secrets = sorted(set(self._secrets) | set(parts), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, SECRET)
        text = _SECRET_KEYS.sub(lambda m: f"{m.group(1)}{m.group(2)}{SECRET}{m.group(2)}", text)
        for pattern, repl in _PATIENT_PATTERNS:
            text = pattern.sub(repl, text)
        return text


def redact_record(record: logging.LogRecord, redactor: Redactor) -> logging.LogRecord:
    """Format the record's message and traceback once, redacted; later formatting reuses them."""
    if getattr(record, "_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # bad %-args: keep what can be shown
        message = f"{record.msg!s} {record.args!r}"
    record.msg, record.args = redactor.redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redactor.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.redact(record.stack_info)
    record._redacted = True
    return record


class RedactingFilter(logging.Filter):
    """Handler filter that redacts every record passing through the handler."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record, self.redactor)
        return True


_installed: Redactor | None = None


def settings_secrets(settings) -> list[str]:
    """Values of every SecretStr field of the settings (empty ones skipped)."""
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr) and value.get_secret_value():
            values.append(value.get_secret_value())
    return values


def install(settings=None, secrets: Iterable[str] = ()) -> Redactor:
    """Redact every log record of this process from now on. Idempotent: a second call adds the
    new secrets to the installed redactor."""
    global _installed
    new = list(secrets) + (settings_secrets(settings) if settings is not None else [])
    if _installed is not None:
        for s in new:
            _installed.add_secret(s)
        return _installed
    redactor = Redactor(new)
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs), redactor)

    logging.setLogRecordFactory(factory)
    _installed = redactor
    return redactor
