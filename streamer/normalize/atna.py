"""DICOM PS3.15 A.5 audit messages (IHE ATNA) -> canonical events.

Both encodings are read: the current schema (`csd-code`/`originalText`) and the legacy
RFC 3881 one (`code`/`displayName`). Element and attribute names are matched without their
namespace (vendor namespaces are common), and SOPClass/Accession are found at either level
(child of ParticipantObjectIdentification, or inside ParticipantObjectDescription as in RFC 3881).

Decisions:
- The user is the human requestor: the ActiveParticipant with UserIsRequestor="true" that is
  not a node or media (RoleIDCode 110150-110155); failing that, any person-like participant,
  then the requestor node. `user.id` is UserID (AlternativeUserID when UserID is empty);
  AlternativeUserID goes to `detail.user_alt_id`.
- `client` is the user's NetworkAccessPointID, else the Source (110153) participant's.
- `destination` is the Destination (110152, a DICOM node: AE title, `external` when its
  address is a public IP) or Destination Media (110154) participant, whose MediaType gives
  media/email/web/printer; media are `external`.
- One message naming several studies gives one event per study, `event_id` suffixed `#1..#n`
  (n = study count), so per-study counts (export volume, distinct studies) stay exact. With one
  patient it is attached to every event; with several, each event carries the first patient
  and `detail.patient_ids` lists all of them.
- A participant object with role 11 (Security User Entity) or ID type 11 (User Identifier)
  is the user a security alert is about: `target_user`.
- Messages carry no id: `event_id` is a digest of the message bytes, so a redelivered message
  keeps its id and can be deduplicated downstream.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element, ParseError as XMLParseError

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from streamer.normalize import codes
from streamer.normalize.common import ParseError, client_of, digest_id, event_time, finish, prune, text

_DECL = re.compile(rb"<\?xml[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_LEADING = re.compile(r"^(\s|<!--.*?-->)*", re.S)


def decode_xml(data: bytes) -> str:
    """Text of an XML document: BOMs, the declared encoding (e.g. "ASCII"), comments before the
    declaration and the declaration itself handled here, so the parser sees plain text."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            utf8 = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:  # a BOM followed by bytes that are not UTF-16
            raise ParseError(f"UTF-16 byte order mark but invalid UTF-16: {exc}") from None
        return _LEADING.sub("", _DECL.sub(b"", utf8).decode("utf-8"))
    decl = _DECL.search(data[:4096])
    enc = None
    if decl and (m := _ENCODING.search(decl.group(0))):
        enc = m.group(1).decode("ascii").lower()
        if enc.startswith(("utf-16", "utf-32", "ucs")):  # already re-encoded as UTF-8 from its BOM
            enc = None
    body = _DECL.sub(b"", data, count=1) if decl else data
    for codec in (enc, "utf-8"):
        if not codec or codec in ("ascii", "us-ascii"):
            continue
        try:
            return _LEADING.sub("", body.decode(codec))
        except (LookupError, UnicodeDecodeError):
            continue
    # "ASCII"-declared input with 8-bit bytes, or undecodable input: keep what can be read
    return _LEADING.sub("", body.decode("utf-8", errors="replace"))


def looks_like(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"AuditMessage" in data[:65536]


def parse(data: bytes, source: str | None = None) -> list[dict]:
    """Canonical events of one audit message; ParseError with the reason when it is not one."""
    try:
        root = DET.fromstring(decode_xml(data))
    except DefusedXmlException as exc:
        raise ParseError(f"XML refused for safety ({type(exc).__name__}: entities or DTD)") from exc
    except XMLParseError as exc:
        raise ParseError(f"not well-formed XML: {exc}") from exc
    if _local(root.tag) != "AuditMessage":
        found = next((e for e in root.iter() if _local(e.tag) == "AuditMessage"), None)
        if found is None:
            raise ParseError(f"XML root is <{_local(root.tag)}>, not a DICOM/RFC 3881 <AuditMessage>")
        root = found
    return _events(root, data, source)


@lru_cache(maxsize=4096)
def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(tag, str) else ""


def _attr(el: Element | None, *names: str) -> str | None:
    if el is None:
        return None
    attrib = el.attrib
    for name in names:  # fast path: attributes without a namespace
        if (value := attrib.get(name)) is not None and (v := text(value)):
            return v
    for key, value in attrib.items():
        if ("}" in key or ":" in key) and _local(key) in names and (v := text(value)):
            return v
    return None


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: Element, name: str) -> Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _code(el: Element | None) -> tuple[str | None, str | None]:
    """(code, display text) of a coded element in either encoding."""
    if el is None:
        return None, None
    code = _attr(el, "csd-code", "code", "Code")
    label = _attr(el, "originalText", "displayName", "DisplayName") or text(el.text)
    return code, label


def _events(root: Element, raw: bytes, source: str | None) -> list[dict]:
    ident = _child(root, "EventIdentification")
    if ident is None:
        raise ParseError("AuditMessage has no EventIdentification")
    event_code, event_name = _code(_child(ident, "EventID"))
    type_codes = [_code(t) for t in _children(ident, "EventTypeCode")]
    action_code = (_attr(ident, "EventActionCode") or "").upper()
    when = event_time(_attr(ident, "EventDateTime"))
    outcome_code = _attr(ident, "EventOutcomeIndicator")
    action = _action(event_code, event_name, [c for c, _ in type_codes], [t for _, t in type_codes],
                     action_code)
    outcome = codes.OUTCOMES.get(outcome_code or "0")
    if action == "login" and outcome not in (None, "success"):
        action = "login_failed"

    participants = [_participant(p) for p in _children(root, "ActiveParticipant")]
    user = _pick_user(participants)
    if user is None:
        raise ParseError("no ActiveParticipant with a UserID or AlternativeUserID (nobody to attribute the access to)")
    source_node = next((p for p in participants if codes.ROLE_SOURCE in p["role_codes"]), None)
    client, junk = client_of(user["nap"], user["nap_type"])
    if not client and source_node is not None and source_node is not user:
        client, junk2 = client_of(source_node["nap"], source_node["nap_type"])
        junk = junk or junk2

    audit_source = _child(root, "AuditSourceIdentification")
    audit_source_id = _attr(audit_source, "AuditSourceID") or text(audit_source.text if audit_source is not None else None)
    detail = {
        "format": "atna-xml",
        "event_type": event_name or event_code,
        "event_id_code": event_code,
        "event_type_codes": [c or t for c, t in type_codes] or None,
        "event_action_code": action_code or None,
        "outcome_description": text(_child_text(ident, "EventOutcomeDescription")),
        "user_alt_id": user["alt_id"] if user["alt_id"] != user["id"] else None,
        "user_roles": user["role_texts"] or None,
        "audit_source_id": audit_source_id,
        "audit_enterprise_site_id": _attr(audit_source, "AuditEnterpriseSiteID"),
        "client_address_raw": junk,
        "source_node": source_node["id"] if source_node is not None and source_node is not user else None,
    }
    base = {
        "schema_version": 1,
        "event_time": when,
        "source": text(source) or audit_source_id,
        "action": action,
        "outcome": outcome,
        "user": {"id": user["id"], "name": user["name"], "roles": user["roles"]},
        "client": client,
        "destination": _destination(participants),
    }
    if outcome_code is not None and outcome is None:
        detail["outcome_indicator"] = outcome_code

    objects = [_object(o) for o in _children(root, "ParticipantObjectIdentification")]
    patients = [o for o in objects if o["kind"] == "patient"]
    studies = [o for o in objects if o["kind"] == "study"]
    others = [o["summary"] for o in objects if o["kind"] == "other"]
    target = next((o for o in objects if o["kind"] == "user"), None)
    if target is not None:
        base["target_user"] = {"id": target["id"], "name": target["name"]}
    if patients:
        base["patient"] = {"id": patients[0]["id"], "name": patients[0]["name"]}
        if patients[0]["authority"]:
            detail["patient_id_authority"] = patients[0]["authority"]
        if len(patients) > 1:
            detail["patient_ids"] = [p["id"] for p in patients]
    if others:
        detail["objects"] = others
    eid = digest_id("atna", raw)
    if len(studies) <= 1:
        event = dict(base, event_id=eid, detail=detail)
        if studies:
            event["study"] = studies[0]["study"]
        return [finish(event)]
    detail["study_count"] = len(studies)
    return [finish(dict(base, event_id=f"{eid}#{n}", study=s["study"], detail=dict(detail)))
            for n, s in enumerate(studies, 1)]


def _child_text(el: Element, name: str) -> str | None:
    c = _child(el, name)
    return c.text if c is not None else None


def _action(event_code: str | None, event_name: str | None, type_codes: list[str | None],
            type_texts: list[str | None], action_code: str) -> str:
    for code in type_codes:
        if code in codes.EVENT_TYPES:
            return codes.EVENT_TYPES[code]
    for label in type_texts:
        if label and (hit := codes.TEXT_ACTIONS.get(label.strip().lower())):
            return hit
    if event_code in codes.EVENT_IDS:
        table = codes.EVENT_IDS[event_code]
        return table.get(action_code, table["*"])
    for label in (event_name, *type_texts):  # uncoded messages: match the display names
        for code, name in codes.EVENT_ID_NAMES.items():
            if label and label.strip().lower() == name.lower():
                table = codes.EVENT_IDS[code]
                return table.get(action_code, table["*"])
    return codes.ACTION_CODES.get(action_code, "other")


def _participant(el: Element) -> dict:
    role_codes, role_texts, roles = [], [], []
    for r in _children(el, "RoleIDCode"):
        code, label = _code(r)
        if code:
            role_codes.append(code)
        if code not in codes.MACHINE_ROLES:
            if label or code:
                role_texts.append(label or code)
            if (role := codes.role_of(code, label)) and role not in roles:
                roles.append(role)
    media_code, media_text = None, None
    if (media := _child(el, "MediaIdentifier")) is not None:
        media_code, media_text = _code(_child(media, "MediaType"))
    uid, alt = _attr(el, "UserID"), _attr(el, "AlternativeUserID")
    requestor = (_attr(el, "UserIsRequestor") or "true").strip().lower() in ("true", "1", "yes")
    return {
        "id": uid or alt, "alt_id": alt, "name": _attr(el, "UserName"), "requestor": requestor,
        "nap": _attr(el, "NetworkAccessPointID"), "nap_type": _attr(el, "NetworkAccessPointTypeCode"),
        "role_codes": role_codes, "role_texts": role_texts, "roles": roles,
        "machine": any(c in codes.MACHINE_ROLES for c in role_codes) or (alt or "").upper().startswith("AETITLES="),
        "media_code": media_code, "media_text": media_text,
    }


def _pick_user(participants: list[dict]) -> dict | None:
    with_id = [p for p in participants if p["id"]]
    for test in (lambda p: p["requestor"] and not p["machine"],
                 lambda p: not p["machine"] and (p["name"] or p["roles"]),
                 lambda p: p["requestor"],
                 lambda p: not p["machine"]):
        hit = next((p for p in with_id if test(p)), None)
        if hit is not None:
            return hit
    return with_id[0] if with_id else None


def _destination(participants: list[dict]) -> dict | None:
    for p in participants:
        if codes.ROLE_DEST_MEDIA in p["role_codes"]:
            kind = codes.MEDIA_TYPES.get(p["media_code"] or "", "media")
            return {"type": kind, "id": p["id"] or p["media_text"] or p["media_code"], "external": True}
    for p in participants:
        if codes.ROLE_DESTINATION in p["role_codes"]:
            node, _ = client_of(p["nap"], p["nap_type"])
            return {"type": "dicom_node", "id": _ae_title(p) or p["nap"], "external": node.get("remote")}
    return None


def _ae_title(p: dict) -> str | None:
    alt = p["alt_id"] or ""
    if alt.upper().startswith("AETITLES="):
        return alt.split("=", 1)[1].split(";")[0].strip() or p["id"]
    return p["id"]


def _object(el: Element) -> dict:
    obj_id = _attr(el, "ParticipantObjectID")
    type_code = _attr(el, "ParticipantObjectTypeCode")
    role = _attr(el, "ParticipantObjectTypeCodeRole")
    id_code, id_text = _code(_child(el, "ParticipantObjectIDTypeCode"))
    name = text(_child_text(el, "ParticipantObjectName"))
    is_patient = id_code == "2" or (type_code == "1" and role == "1") or (id_text or "").lower() == "patient number"
    is_study = id_code == "110180" or (id_text or "").lower() == "study instance uid"
    if is_patient and obj_id:
        pid, _, authority = obj_id.partition("^")
        return {"kind": "patient", "id": pid.strip() or obj_id, "name": name,
                "authority": text(authority.replace("^", " ").replace("&", " ")) if authority else None}
    if obj_id and (role == "11" or id_code == "11"):  # Security User Entity / User Identifier
        return {"kind": "user", "id": obj_id, "name": name}
    if is_study and obj_id:
        instances, accession = 0, None
        for d in el.iter():
            tag = _local(d.tag)
            if tag == "SOPClass":
                n = (_attr(d, "NumberOfInstances") or "").strip()
                instances += int(n) if n.isdigit() and len(n) < 10 else len(_children(d, "Instance"))
            elif tag == "Accession" and accession is None:
                accession = _attr(d, "Number")
        study = {"uid": obj_id, "accession": accession,
                 "sensitivity": codes.sensitivity_of(_attr(el, "ParticipantObjectSensitivity"))}
        if instances:
            study["instances"] = instances
        return {"kind": "study", "study": study}
    return {"kind": "other", "summary": prune({"id": obj_id, "type": id_text or id_code, "name": name})}
