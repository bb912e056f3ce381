#!/usr/bin/env python3
"""Check a scenario written by generate.py against docs/contracts.md.

python models/heldout/network/validate.py DIR    -> exit 0 when valid, 1 on any violation
Checks every event (required fields, enums, RFC 3339 time, types, sort order, unique ids),
roster.csv and watchlist.csv columns and values, and that labels name existing events.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import re
import sys

import orjson

ACTIONS = {"view", "annotate", "edit", "delete", "archive", "export", "share", "print", "query", "import", "login",
           "logout", "login_failed", "permission_change", "config_change", "emergency_access", "other"}
OUTCOMES = {"success", "minor_failure", "serious_failure", "major_failure"}
SENS = {"normal", "restricted", "vip"}
DEST = {"dicom_node", "media", "email", "web", "printer", "cloud", "other"}
ROLES = {"radiologist", "technologist", "referring_physician", "system_administrator", "compliance_officer",
         "teleradiologist", "student", "scheduler"}
STATUS = {"active", "terminated", "suspended"}
CATS = {"vip", "employee", "restricted"}
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
LABEL_TYPES = {"bulk_export", "odd_hours", "patient_sweep", "export_destination", "role_permission", "missing_mfa",
               "inactive_user", "dormant_account", "failed_login_burst", "password_spray", "grant_then_export",
               "config_change", "watchlist_patient", "self_access", "same_surname", "break_glass", "expired_role"}


def parse_time(s):
    if not isinstance(s, str) or not TIME_RE.match(s):
        raise ValueError("bad time %r" % (s,))
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def check_event(e, errs, where):
    def bad(msg):
        errs.append("%s: %s" % (where, msg))

    if not isinstance(e, dict):
        return bad("not an object")
    for k in ("event_id", "event_time", "action"):
        if not isinstance(e.get(k), str) or not e.get(k):
            bad("missing/invalid %s" % k)
    u = e.get("user")
    if not isinstance(u, dict) or not isinstance(u.get("id"), str) or not u.get("id"):
        bad("missing user.id")
    else:
        if "roles" in u and (not isinstance(u["roles"], list) or not all(isinstance(x, str) for x in u["roles"])):
            bad("user.roles not a list of strings")
        if "mfa" in u and not isinstance(u["mfa"], bool):
            bad("user.mfa not bool")
    try:
        parse_time(e.get("event_time"))
    except Exception as x:  # noqa: BLE001
        bad(str(x))
    if e.get("action") not in ACTIONS:
        bad("action %r" % e.get("action"))
    if "outcome" in e and e["outcome"] not in OUTCOMES:
        bad("outcome %r" % e["outcome"])
    c = e.get("client")
    if c is not None:
        if not isinstance(c, dict):
            bad("client not object")
        elif "remote" in c and not isinstance(c["remote"], bool):
            bad("client.remote not bool")
    p = e.get("patient")
    if p is not None and (not isinstance(p, dict) or not isinstance(p.get("id"), str)):
        bad("patient without id")
    s = e.get("study")
    if s is not None:
        if not isinstance(s, dict):
            bad("study not object")
        else:
            if "sensitivity" in s and s["sensitivity"] not in SENS:
                bad("sensitivity %r" % s["sensitivity"])
            for k in ("instances", "bytes"):
                if k in s and (not isinstance(s[k], int) or s[k] < 0):
                    bad("study.%s not a non-negative int" % k)
    d = e.get("destination")
    if d is not None:
        if not isinstance(d, dict) or d.get("type") not in DEST:
            bad("destination.type %r" % (d.get("type") if isinstance(d, dict) else d))
        elif "external" in d and not isinstance(d["external"], bool):
            bad("destination.external not bool")
    tu = e.get("target_user")
    if tu is not None and (not isinstance(tu, dict) or not isinstance(tu.get("id"), str)):
        bad("target_user without id")
    if "detail" in e and not isinstance(e["detail"], dict):
        bad("detail not object")


def validate(D):
    errs = []
    ids = set()
    last = None
    n = 0
    with open(os.path.join(D, "events.jsonl"), "rb") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            where = "events.jsonl:%d" % i
            try:
                e = orjson.loads(line)
            except Exception as x:  # noqa: BLE001
                errs.append("%s: bad json %s" % (where, x))
                continue
            check_event(e, errs, where)
            eid = e.get("event_id")
            if eid in ids:
                errs.append("%s: duplicate event_id %s" % (where, eid))
            ids.add(eid)
            try:
                t = parse_time(e.get("event_time"))
                if last is not None and t < last:
                    errs.append("%s: events not sorted by event_time" % where)
                last = t
            except Exception:  # noqa: BLE001
                pass
            if len(errs) > 50:
                break
    if n == 0:
        errs.append("events.jsonl is empty")
    with open(os.path.join(D, "roster.csv"), newline="") as f:
        rd = csv.reader(f)
        hdr = next(rd, None)
        if hdr != ["user_id", "name", "roles", "department", "status", "end_date"]:
            errs.append("roster.csv header %r" % (hdr,))
        seen = set()
        for i, row in enumerate(rd, 2):
            if len(row) != 6:
                errs.append("roster.csv:%d: %d columns" % (i, len(row)))
                continue
            uid, _, roles, _, status, end = row
            if not uid or uid in seen:
                errs.append("roster.csv:%d: empty or duplicate user_id" % i)
            seen.add(uid)
            if not roles or any(r not in ROLES for r in roles.split(";")):
                errs.append("roster.csv:%d: roles %r" % (i, roles))
            if status not in STATUS:
                errs.append("roster.csv:%d: status %r" % (i, status))
            if end:
                try:
                    dt.date.fromisoformat(end)
                except ValueError:
                    errs.append("roster.csv:%d: end_date %r" % (i, end))
            elif status != "active":
                errs.append("roster.csv:%d: %s without end_date" % (i, status))
    with open(os.path.join(D, "watchlist.csv"), newline="") as f:
        rd = csv.reader(f)
        hdr = next(rd, None)
        if hdr != ["patient_id", "category", "employee_user_id"]:
            errs.append("watchlist.csv header %r" % (hdr,))
        for i, row in enumerate(rd, 2):
            if len(row) != 3 or not row[0] or row[1] not in CATS:
                errs.append("watchlist.csv:%d: %r" % (i, row))
            elif row[1] == "employee" and row[2] not in seen:
                errs.append("watchlist.csv:%d: employee_user_id %r not in roster" % (i, row[2]))
    with open(os.path.join(D, "labels.jsonl"), "rb") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            lab = orjson.loads(line)
            for k in ("incident_id", "type", "user_id", "event_ids", "start", "end", "variant"):
                if k not in lab:
                    errs.append("labels.jsonl:%d: missing %s" % (i, k))
            if lab.get("type") not in LABEL_TYPES:
                errs.append("labels.jsonl:%d: unknown type %r" % (i, lab.get("type")))
            evs = lab.get("event_ids") or []
            if not evs:
                errs.append("labels.jsonl:%d: no event ids" % i)
            missing = [x for x in evs if x not in ids]
            if missing:
                errs.append("labels.jsonl:%d: %d event ids not in events.jsonl (e.g. %s)" % (i, len(missing), missing[0]))
            try:
                if parse_time(lab["start"]) > parse_time(lab["end"]):
                    errs.append("labels.jsonl:%d: start after end" % i)
            except Exception as x:  # noqa: BLE001
                errs.append("labels.jsonl:%d: %s" % (i, x))
    return n, errs


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: validate.py DIR", file=sys.stderr)
        return 2
    n, errs = validate(argv[0])
    for e in errs[:50]:
        print(e)
    if errs:
        print("INVALID: %d problem(s) in %s" % (len(errs), argv[0]))
        return 1
    print("OK: %d events in %s conform to the contract" % (n, argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
