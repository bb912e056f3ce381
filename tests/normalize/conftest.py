"""Fixtures of the normalize tests: fixture files, an ATNA message builder, the JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from streamer.paths import schemas_dir

FIXTURES = Path(__file__).parent / "fixtures"
FHIR_SAMPLES = Path("/work/shared/samples/fhir-r4-auditevent")


def schema_registry() -> Registry:
    """Every JSON Schema under schemas/ by its $id, so topic schemas can $ref the event schema."""
    resources = []
    for path in sorted(schemas_dir().rglob("*.json")):
        if "examples" in path.parts:
            continue
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and "$id" in doc:
            resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


def validator(path: Path) -> Draft202012Validator:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=schema_registry())


@pytest.fixture(scope="session")
def event_validator() -> Draft202012Validator:
    return validator(schemas_dir() / "event.schema.json")


def atna(event_id: str, action_code: str = "R", *, type_code: str | None = None, outcome: str = "0",
         legacy: bool = False, user: str = "jdoe", studies: tuple[str, ...] = ("1.2.3.4",),
         patient: str | None = "MRN1", time: str = "2026-11-30T03:00:00Z", extra: str = "") -> bytes:
    """A DICOM PS3.15 A.5 audit message (or its RFC 3881 form) with a human requestor."""
    code = (lambda c, t: f'code="{c}" codeSystemName="DCM" displayName="{t}"') if legacy else \
        (lambda c, t: f'csd-code="{c}" codeSystemName="DCM" originalText="{t}"')
    etype = f"<EventTypeCode {code(type_code, 'type')}/>" if type_code else ""
    objs = ""
    if patient:
        objs += (f'<ParticipantObjectIdentification ParticipantObjectID="{patient}" ParticipantObjectTypeCode="1" '
                 f'ParticipantObjectTypeCodeRole="1"><ParticipantObjectIDTypeCode {code("2", "Patient Number")}/>'
                 f'<ParticipantObjectName>DOE^JANE</ParticipantObjectName></ParticipantObjectIdentification>')
    for uid in studies:
        objs += (f'<ParticipantObjectIdentification ParticipantObjectID="{uid}" ParticipantObjectTypeCode="2" '
                 f'ParticipantObjectTypeCodeRole="3"><ParticipantObjectIDTypeCode {code("110180", "Study Instance UID")}/>'
                 f'<SOPClass UID="1.2.840.10008.5.1.4.1.1.2" NumberOfInstances="5"/></ParticipantObjectIdentification>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><AuditMessage>'
            f'<EventIdentification EventActionCode="{action_code}" EventDateTime="{time}" EventOutcomeIndicator="{outcome}">'
            f'<EventID {code(event_id, "event")}/>{etype}</EventIdentification>'
            f'<ActiveParticipant UserID="{user}" UserName="Jane Doe" UserIsRequestor="true" '
            f'NetworkAccessPointID="10.0.0.5" NetworkAccessPointTypeCode="2"/>'
            f'<ActiveParticipant UserID="PACS_AE" UserIsRequestor="false"><RoleIDCode {code("110153", "Source")}/>'
            f'</ActiveParticipant><AuditSourceIdentification AuditSourceID="pacs-main"/>{objs}{extra}</AuditMessage>'
            ).encode()


def octet(*messages: bytes) -> bytes:
    """RFC 6587 octet-counted frames."""
    return b"".join(str(len(m)).encode() + b" " + m for m in messages)


def rfc5424(payload: bytes, msgid: str = "IHE+RFC-3881", sd: str = "-", bom: bool = False) -> bytes:
    return (f"<85>1 2026-11-30T03:00:00.001Z pacs01 PACS 42 {msgid} {sd} ".encode()
            + (b"\xef\xbb\xbf" if bom else b"") + payload)
