"""FHIR AuditEvent (R4 and R5), single or in a Bundle -> canonical events.

R4 and R5 differ in names (type/subtype vs category/code, outcome code vs Coding, recorded vs
occurred[x], network.address vs networkString, role as CodeableConcept list); both are read.

Decisions:
- Action: a DICOM EventTypeCode in subtype/code decides (login, logout, security alerts); then
  a DICOM EventID (110100-110114) with the action code C/R/U/D/E, as for ATNA; then a FHIR
  restful-interaction (read/vread -> view, search/history -> query, create/update/patch ->
  edit, delete -> delete); then the action code alone.
- The user is the requestor agent (the human one when several are); without a requestor, the
  human-user agent. `user.id` is who.identifier.value, else the id of who.reference, else altId,
  else who.display; altId goes to `detail.user_alt_id`.
- The patient is AuditEvent.patient (R5), else an entity with role 1 (Patient) or type Person,
  else an entity whose reference is `Patient/<id>` (a read of a Patient resource).
- A study is an entity referencing ImagingStudy or identified by a DICOM UID (`urn:dicom:uid`,
  `urn:oid:`); several studies give one event per study (`#n` suffix, as for ATNA).
- `event_id` is the resource id; without one, a digest of the resource.
"""

from __future__ import annotations

from typing import Any

import orjson

from streamer.normalize import codes
from streamer.normalize.common import ParseError, client_of, digest_id, event_time, finish, prune, text

DCM = "http://dicom.nema.org/resources/ontology/DCM"
_HUMAN = {"humanuser"}


def is_fhir(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("resourceType") in ("AuditEvent", "Bundle")


def parse(obj: dict, source: str | None = None) -> tuple[list[dict], list[tuple[str, str]]]:
    """(events, [(position, reason)]) of an AuditEvent or a Bundle of them."""
    if obj.get("resourceType") == "AuditEvent":
        return parse_audit_event(obj, source), []
    if obj.get("resourceType") != "Bundle":
        raise ParseError(f"FHIR resourceType {obj.get('resourceType')!r} is not AuditEvent or Bundle")
    entries = obj.get("entry")
    if not isinstance(entries, list) or not entries:
        raise ParseError("FHIR Bundle has no entries")
    events, rejects = [], []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        where = f"entry {i}"
        if not isinstance(resource, dict) or resource.get("resourceType") != "AuditEvent":
            kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
            rejects.append((where, f"Bundle entry is not an AuditEvent (found {kind!r})"))
            continue
        try:
            events.extend(parse_audit_event(resource, source))
        except ParseError as exc:
            rejects.append((where, str(exc)))
    return events, rejects


def _codings(value: Any) -> list[dict]:
    """Every Coding inside a Coding, a CodeableConcept or a list of them."""
    if isinstance(value, list):
        return [c for v in value for c in _codings(v)]
    if not isinstance(value, dict):
        return []
    if "coding" in value:
        return _codings(value["coding"])
    return [value] if "code" in value or "display" in value else []


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _code(c: dict) -> str:
    return str(c.get("code") or "").strip()


def parse_audit_event(res: dict, source: str | None = None) -> list[dict]:
    period = res.get("occurredPeriod")
    when = res.get("occurredDateTime") or (period.get("start") if isinstance(period, dict) else None) \
        or res.get("recorded")
    if not isinstance(when, str):
        raise ParseError("AuditEvent has no time (recorded / occurredDateTime)")
    time = event_time(when)
    type_codes = _codings(res.get("type")) + _codings(res.get("category"))
    sub_codes = _codings(res.get("subtype")) + _codings(res.get("code"))
    action_code = str(res.get("action") or "").strip().upper()
    action = _action(type_codes, sub_codes, action_code)
    outcome_raw = res.get("outcome")
    if isinstance(outcome_raw, dict):  # R5: {"code": Coding, "detail": [...]}
        oc = _codings(outcome_raw.get("code"))
        outcome_raw = _code(oc[0]) if oc else None
    outcome = codes.OUTCOMES.get(str(outcome_raw).strip()) if outcome_raw is not None else None
    if action == "login" and outcome not in (None, "success"):
        action = "login_failed"

    agents = [_agent(a) for a in _list(res.get("agent")) if isinstance(a, dict)]
    user = _pick_user(agents)
    if user is None:
        raise ParseError("AuditEvent has no agent with an identity (who / altId / name)")
    src_agent = next((a for a in agents if codes.ROLE_SOURCE in a["codes"] and a is not user), None)
    client, junk = client_of(user["address"], user["address_type"])
    if not client and src_agent is not None:
        client, junk = client_of(src_agent["address"], src_agent["address_type"])

    src = res.get("source") if isinstance(res.get("source"), dict) else {}
    observer = _ref_id(src.get("observer"))
    entities = [e for e in _list(res.get("entity")) if isinstance(e, dict)]
    patients = _patients(res, entities)
    studies = _studies(entities)
    sensitivity = next((s for e in entities for c in _codings(e.get("securityLabel"))
                        if (s := codes.sensitivity_of(_code(c)))), None)
    detail = {
        "format": "fhir",
        "fhir_version": "R5" if ("category" in res or "code" in res or "occurredDateTime" in res
                                 or isinstance(res.get("outcome"), dict)) else "R4",
        "event_type": next((c.get("display") or _code(c) for c in type_codes), None),
        "event_subtypes": [c.get("display") or _code(c) for c in sub_codes] or None,
        "event_action_code": action_code or None,
        "outcome_description": text(res.get("outcomeDesc")) or _outcome_detail(res.get("outcome")),
        "user_alt_id": user["alt_id"] if user["alt_id"] != user["id"] else None,
        "user_roles": user["role_texts"] or None,
        "observer": observer,
        "site": text(src.get("site")),
        "client_address_raw": junk,
        "purpose_of_use": [c.get("display") or _code(c) for c in _codings(res.get("purposeOfEvent"))] or None,
    }
    target = next((_ref_id(e.get("what")) for e in entities
                   if "11" in {_code(c) for c in _codings(e.get("role"))}), None)
    if len(patients) > 1:
        detail["patient_ids"] = [p["id"] for p in patients]
    base = {
        "schema_version": 1,
        "event_time": time,
        "source": text(source) or observer,
        "action": action,
        "outcome": outcome,
        "user": {"id": user["id"], "name": user["name"], "roles": user["roles"]},
        "client": client,
        "patient": patients[0] if patients else None,
        "destination": _destination(agents),
        "target_user": {"id": target} if target else None,
    }
    rid = text(res.get("id")) or digest_id("fhir", orjson.dumps(res, option=orjson.OPT_SORT_KEYS))
    if sensitivity:
        studies = [dict(s, sensitivity=s.get("sensitivity") or sensitivity) for s in studies]
    if len(studies) <= 1:
        return [finish(dict(base, event_id=rid, study=studies[0] if studies else None, detail=detail))]
    detail["study_count"] = len(studies)
    return [finish(dict(base, event_id=f"{rid}#{n}", study=s, detail=dict(detail)))
            for n, s in enumerate(studies, 1)]


def _outcome_detail(outcome: Any) -> str | None:
    if not isinstance(outcome, dict) or not isinstance(outcome.get("detail"), list):
        return None
    for concept in outcome["detail"]:
        if isinstance(concept, dict) and (label := text(concept.get("text"))):
            return label
    return next((text(c.get("display")) or _code(c) for c in _codings(outcome["detail"])), None)


def _action(type_codes: list[dict], sub_codes: list[dict], action_code: str) -> str:
    for c in sub_codes + type_codes:
        if _code(c) in codes.EVENT_TYPES:
            return codes.EVENT_TYPES[_code(c)]
    for c in type_codes + sub_codes:
        if _code(c) in codes.EVENT_IDS:
            table = codes.EVENT_IDS[_code(c)]
            return table.get(action_code, table["*"])
    for c in sub_codes + type_codes:
        if _code(c) in codes.FHIR_REST:
            return codes.FHIR_REST[_code(c)]
    for c in sub_codes:
        for label in (_code(c), c.get("display")):
            if isinstance(label, str) and (hit := codes.TEXT_ACTIONS.get(label.strip().lower())):
                return hit
    return codes.ACTION_CODES.get(action_code, "other")


def _ref_id(ref: Any) -> str | None:
    """An identity out of a Reference: identifier value, else reference id, else display."""
    if not isinstance(ref, dict):
        return text(ref) if isinstance(ref, str) else None
    ident = ref.get("identifier")
    if isinstance(ident, dict) and (v := text(ident.get("value"))):
        return v
    if isinstance(ref.get("reference"), str) and (r := text(ref["reference"])):
        parts = r.split("/_history/")[0].rstrip("/").split("/")
        return parts[-1] if len(parts) > 1 and parts[-1] else r
    return text(ref.get("display"))


def _agent(a: dict) -> dict:
    type_codes = _codings(a.get("type"))
    role_codes = _codings(a.get("role"))
    all_codes = [_code(c) for c in type_codes + role_codes]
    roles, role_texts = [], []
    for c in role_codes + type_codes:
        code = _code(c)
        if code in codes.MACHINE_ROLES or code in _HUMAN:
            continue
        label = c.get("display") if isinstance(c.get("display"), str) else None
        if label or code:
            role_texts.append(label or code)
        if (role := codes.role_of(code, label)) and role not in roles:
            roles.append(role)
    network = a.get("network") if isinstance(a.get("network"), dict) else {}
    address = network.get("address") or a.get("networkString") or a.get("networkUri")
    who_id = _ref_id(a.get("who"))
    alt = text(a.get("altId"))
    media = _codings(a.get("media"))
    return {
        "id": who_id or alt or text(a.get("name")), "alt_id": alt,
        "name": text(a.get("name")) or (text(a["who"].get("display")) if isinstance(a.get("who"), dict)
                                         and who_id != text(a["who"].get("display")) else None),
        "requestor": a.get("requestor") is True, "codes": all_codes,
        "human": "humanuser" in all_codes or bool(roles),
        "machine": any(c in codes.MACHINE_ROLES for c in all_codes),
        "address": address, "address_type": network.get("type"),
        "roles": roles, "role_texts": role_texts,
        "media_code": _code(media[0]) if media else None,
        "media_text": media[0].get("display") if media else None,
    }


def _pick_user(agents: list[dict]) -> dict | None:
    with_id = [a for a in agents if a["id"]]
    for test in (lambda a: a["requestor"] and a["human"],
                 lambda a: a["requestor"] and not a["machine"],
                 lambda a: a["requestor"],
                 lambda a: a["human"],
                 lambda a: not a["machine"]):
        hit = next((a for a in with_id if test(a)), None)
        if hit is not None:
            return hit
    return with_id[0] if with_id else None


def _destination(agents: list[dict]) -> dict | None:
    for a in agents:
        if codes.ROLE_DEST_MEDIA in a["codes"]:
            return {"type": codes.MEDIA_TYPES.get(a["media_code"] or "", "media"),
                    "id": a["id"] or a["media_text"] or a["media_code"], "external": True}
    for a in agents:
        if codes.ROLE_DESTINATION in a["codes"]:
            client, _ = client_of(a["address"], a["address_type"])
            return {"type": "other", "id": a["id"] or client.get("host") or client.get("ip"),
                    "external": client.get("remote")}
    return None


def _patients(res: dict, entities: list[dict]) -> list[dict]:
    out: list[dict] = []
    if (pid := _ref_id(res.get("patient"))):
        out.append({"id": pid})
    for e in entities:
        what = e.get("what")
        ref = what.get("reference") if isinstance(what, dict) else None
        roles = {_code(c) for c in _codings(e.get("role"))}
        types = {_code(c) for c in _codings(e.get("type"))}
        is_patient = "1" in roles or ("1" in types and not roles) or \
            (isinstance(ref, str) and ref.startswith("Patient/"))
        if is_patient and (pid := _ref_id(what)):
            pid = pid.split("^")[0].strip() or pid
            if pid not in (p["id"] for p in out):
                out.append(prune({"id": pid, "name": text(e.get("name")) if "1" in roles else None}))
    return out


def _studies(entities: list[dict]) -> list[dict]:
    out = []
    for e in entities:
        what = e.get("what") if isinstance(e.get("what"), dict) else {}
        ref = what.get("reference") if isinstance(what.get("reference"), str) else ""
        ident = what.get("identifier") if isinstance(what.get("identifier"), dict) else {}
        system = str(ident.get("system") or "")
        value = text(ident.get("value"))
        types = {_code(c) for c in _codings(e.get("type"))}
        if ref.startswith("ImagingStudy/") or "ImagingStudy" in types or system == "urn:dicom:uid" \
                or "110180" in types:
            uid = value or (ref.split("/")[1] if ref.startswith("ImagingStudy/") else None)
            if uid:
                out.append({"uid": uid.removeprefix("urn:oid:")})
    return out
