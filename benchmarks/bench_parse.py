"""Parse throughput per input format, single core, with a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_parse.py [--events 5000]

Prints events/s for: canonical JSON lines, FHIR AuditEvent JSON lines, DICOM audit XML,
octet-counted RFC 5424 syslog carrying that XML, and normalize_record per Kafka message (the
normalize agent's path). Baseline: orjson.loads of the same canonical events, line by line.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import orjson

from streamer.normalize import normalize_bytes, normalize_record

SAMPLE = Path(__file__).resolve().parent.parent / "schemas/topics/raw/examples"


def atna(i: int) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><AuditMessage><EventIdentification EventActionCode="R" '
            f'EventDateTime="2026-11-30T03:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z" EventOutcomeIndicator="0">'
            f'<EventID csd-code="110103" codeSystemName="DCM" originalText="DICOM Instances Accessed"/>'
            f'</EventIdentification><ActiveParticipant UserID="user{i % 97}" UserName="User {i % 97}" '
            f'UserIsRequestor="true" NetworkAccessPointID="10.0.{i % 250}.5" NetworkAccessPointTypeCode="2">'
            f'<RoleIDCode csd-code="66862007" codeSystemName="SCT" originalText="Radiologist"/></ActiveParticipant>'
            f'<ActiveParticipant UserID="PACS_AE" UserIsRequestor="false"><RoleIDCode csd-code="110153" '
            f'codeSystemName="DCM" originalText="Source Role ID"/></ActiveParticipant>'
            f'<AuditSourceIdentification AuditSourceID="pacs-main"/>'
            f'<ParticipantObjectIdentification ParticipantObjectID="MRN{i}" ParticipantObjectTypeCode="1" '
            f'ParticipantObjectTypeCodeRole="1"><ParticipantObjectIDTypeCode csd-code="2" originalText="Patient Number"/>'
            f'<ParticipantObjectName>DOE^JOHN</ParticipantObjectName></ParticipantObjectIdentification>'
            f'<ParticipantObjectIdentification ParticipantObjectID="1.2.840.{i}" ParticipantObjectTypeCode="2" '
            f'ParticipantObjectTypeCodeRole="3"><ParticipantObjectIDTypeCode csd-code="110180" '
            f'originalText="Study Instance UID"/><SOPClass UID="1.2.840.10008.5.1.4.1.1.4" NumberOfInstances="180"/>'
            f'<Accession Number="A{i}"/></ParticipantObjectIdentification></AuditMessage>').encode()


def syslog_frame(i: int) -> bytes:
    msg = b"<85>1 2026-11-30T03:00:00.001Z pacs01 PACS 42 IHE+RFC-3881 - \xef\xbb\xbf" + atna(i)
    return str(len(msg)).encode() + b" " + msg


def fhir(i: int) -> bytes:
    doc = orjson.loads((SAMPLE / "fhir_r4_login.json").read_bytes())
    doc["id"] = f"login-{i}"
    return orjson.dumps(doc)


def measure(label: str, fn, n_events: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        produced = fn()
        best = min(best, time.perf_counter() - start)
    assert produced == n_events, f"{label}: {produced} events, expected {n_events}"
    rate = n_events / best
    print(f"{label:<44} {rate:>12,.0f} events/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    n = parser.parse_args().events

    xml_docs = [atna(i) for i in range(n)]
    canonical = [orjson.dumps(normalize_bytes(d).events[0]) for d in xml_docs]
    canonical_lines = b"\n".join(canonical)
    fhir_lines = b"\n".join(fhir(i) for i in range(n))
    xml_file = b"\n".join(xml_docs)
    syslog_stream = b"".join(syslog_frame(i) for i in range(n))
    frames = [syslog_frame(i).split(b" ", 1)[1] for i in range(n)]

    print(f"{n} events per run, best of 3, one core")
    base = measure("baseline: orjson.loads per canonical line", lambda: len([orjson.loads(x) for x in canonical]), n)
    rates = {
        "canonical JSON lines (validated)": measure("json: canonical JSON lines (validated)",
                                                    lambda: len(normalize_bytes(canonical_lines).events), n),
        "fhir": measure("fhir: R4 AuditEvent JSON lines", lambda: len(normalize_bytes(fhir_lines).events), n),
        "atna-xml": measure("atna-xml: DICOM audit XML documents", lambda: len(normalize_bytes(xml_file).events), n),
        "syslog": measure("syslog: RFC 5424 octet-counted + XML", lambda: len(normalize_bytes(syslog_stream).events), n),
        "record": measure("normalize_record per Kafka message (syslog)", lambda: sum(
            len(normalize_record(f, topic="raw", partition=0, offset=i, key=None)[0])
            for i, f in enumerate(frames)), n),
    }
    print("relative to the orjson baseline: " + ", ".join(f"{k} {base / v:.1f}x slower" for k, v in rates.items()))


if __name__ == "__main__":
    main()
