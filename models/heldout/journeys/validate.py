#!/usr/bin/env python3
"""validate.py DIR -- check a generated scenario against the event contract (docs: contracts.md).

Checks every event (required fields, enums, types, RFC 3339 time with the scenario offset and
millisecond precision, unique event_id), roster.csv / watchlist.csv headers and values, and that
labels.jsonl refers to existing events.  Exit status 1 if any error was found.
"""
import csv
import json
import re
import sys
from collections import Counter
from datetime import datetime, timezone

ACTIONS = {"view", "annotate", "edit", "delete", "archive", "export", "share", "print", "query",
           "import", "login", "logout", "login_failed", "permission_change", "config_change",
           "emergency_access", "other"}
OUTCOMES = {"success", "minor_failure", "serious_failure", "major_failure"}
SENS = {"normal", "restricted", "vip"}
DEST_TYPES = {"dicom_node", "media", "email", "web", "printer", "cloud", "other"}
ROLES = {"radiologist", "technologist", "referring_physician", "system_administrator",
         "compliance_officer", "teleradiologist", "student", "scheduler"}
STATUS = {"active", "terminated", "suspended"}
CATS = {"vip", "employee", "restricted"}
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$")
TYPES = {"bulk_export", "odd_hours", "patient_sweep", "export_destination", "role_permission",
         "missing_mfa", "inactive_user", "dormant_account", "failed_login_burst", "password_spray",
         "grant_then_export", "config_change", "watchlist_patient", "self_access", "same_surname",
         "break_glass", "expired_role"}


def main():
    d = sys.argv[1]
    meta = json.load(open(d + "/meta.json"))
    off = meta["utc_offset"]
    errors = Counter()
    examples = {}

    def err(kind, msg):
        errors[kind] += 1
        examples.setdefault(kind, msg)

    roster = {}
    with open(d + "/roster.csv", newline="") as f:
        rd = csv.reader(f)
        hdr = next(rd)
        if hdr != ["user_id", "name", "roles", "department", "status", "end_date"]:
            err("roster_header", hdr)
        for row in rd:
            if len(row) != 6:
                err("roster_cols", row)
                continue
            uid, name, roles, dept, status, end = row
            if uid in roster:
                err("roster_dup", uid)
            roster[uid] = row
            if not uid:
                err("roster_uid", row)
            for x in roles.split(";"):
                if x not in ROLES:
                    err("roster_role", row)
            if status not in STATUS:
                err("roster_status", row)
            if end:
                try:
                    datetime.strptime(end, "%Y-%m-%d")
                except ValueError:
                    err("roster_end_date", row)
            elif status != "active":
                err("roster_inactive_without_end_date", row)
    watch = {}
    with open(d + "/watchlist.csv", newline="") as f:
        rd = csv.reader(f)
        hdr = next(rd)
        if hdr != ["patient_id", "category", "employee_user_id"]:
            err("watch_header", hdr)
        for row in rd:
            pid, cat, emp = row
            if pid in watch:
                err("watch_dup", pid)
            watch[pid] = row
            if cat not in CATS:
                err("watch_category", row)
            if emp and emp not in roster:
                err("watch_employee_unknown", row)
            if cat == "employee" and not emp:
                err("watch_employee_missing", row)

    ids = {}
    n = 0
    last = None
    ooo = 0
    max_lag = 0.0
    users_not_in_roster = Counter()
    acts = Counter()
    with open(d + "/events.jsonl", "rb") as f:
        for ln, line in enumerate(f, 1):
            try:
                e = json.loads(line)
            except Exception as ex:
                err("json", "line %d: %s" % (ln, ex))
                continue
            n += 1
            for k in ("event_id", "event_time", "action", "user"):
                if k not in e:
                    err("missing_" + k, ln)
            eid = e.get("event_id")
            if not isinstance(eid, str) or not eid:
                err("event_id_type", ln)
            elif eid in ids:
                err("event_id_dup", eid)
            ids[eid] = ln
            if e.get("schema_version", 1) != 1:
                err("schema_version", ln)
            ts = e.get("event_time", "")
            if not isinstance(ts, str) or not TIME_RE.match(ts):
                err("event_time_format", ts)
                continue
            if not ts.endswith(off):
                err("event_time_offset", ts)
            t = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone.utc)
            tt = t.timestamp()
            if last is not None and tt < last:
                ooo += 1
                max_lag = max(max_lag, last - tt)
            last = tt if last is None else max(last, tt)
            a = e.get("action")
            acts[a] += 1
            if a not in ACTIONS:
                err("action_enum", a)
            if "outcome" in e and e["outcome"] not in OUTCOMES:
                err("outcome_enum", e["outcome"])
            u = e.get("user") or {}
            if not isinstance(u.get("id"), str) or not u.get("id"):
                err("user_id", ln)
            if "roles" in u:
                if not isinstance(u["roles"], list) or any(x not in ROLES for x in u["roles"]):
                    err("user_roles", u.get("roles"))
            if "mfa" in u and not isinstance(u["mfa"], bool):
                err("user_mfa_type", ln)
            if u.get("id") not in roster:
                users_not_in_roster[u.get("id")] += 1
            c = e.get("client")
            if c is not None:
                if not isinstance(c.get("remote", False), bool):
                    err("client_remote_type", ln)
                for k in ("ip", "host"):
                    if k in c and not isinstance(c[k], str):
                        err("client_" + k, ln)
            st = e.get("study")
            if st is not None:
                if st.get("sensitivity", "normal") not in SENS:
                    err("sensitivity_enum", st.get("sensitivity"))
                for k in ("instances", "bytes"):
                    if k in st and (not isinstance(st[k], int) or st[k] < 0):
                        err("study_" + k, ln)
                if not st.get("uid"):
                    err("study_uid", ln)
            p = e.get("patient")
            if p is not None and not isinstance(p.get("id"), str):
                err("patient_id", ln)
            ds = e.get("destination")
            if ds is not None:
                if ds.get("type") not in DEST_TYPES:
                    err("destination_type", ds)
                if "external" in ds and not isinstance(ds["external"], bool):
                    err("destination_external", ds)
            tu = e.get("target_user")
            if tu is not None:
                if not tu.get("id"):
                    err("target_user_id", ln)
                if any(x not in ROLES for x in tu.get("roles", [])):
                    err("target_user_roles", tu)
            if "detail" in e and not isinstance(e["detail"], dict):
                err("detail_type", ln)
            if a in ("export",) and ds is None:
                err("export_without_destination", ln)
            if a == "permission_change" and tu is None:
                err("permission_change_without_target", ln)
    nlab = 0
    by_type = Counter()
    with open(d + "/labels.jsonl") as f:
        for line in f:
            L = json.loads(line)
            nlab += 1
            for k in ("incident_id", "type", "user_id", "event_ids", "start", "end", "variant"):
                if k not in L:
                    err("label_missing_" + k, L.get("incident_id"))
            if L["type"] not in TYPES:
                err("label_type", L["type"])
            by_type[L["type"]] += 1
            for x in L["event_ids"]:
                if x not in ids:
                    err("label_event_unknown", x)
            if not L["event_ids"]:
                err("label_no_events", L["incident_id"])
    print("events: %d  unique ids: %d  out-of-order: %d (%.3f%%), max lag %.1fs"
          % (n, len(ids), ooo, 100.0 * ooo / max(1, n), max_lag))
    print("roster rows: %d  watchlist rows: %d  labels: %d" % (len(roster), len(watch), nlab))
    print("labels by type:", dict(sorted(by_type.items())))
    print("actions:", dict(sorted(acts.items())))
    print("user ids not in roster (%d distinct, %d events): %s" % (
        len(users_not_in_roster), sum(users_not_in_roster.values()),
        ", ".join("%s=%d" % kv for kv in users_not_in_roster.most_common(15))))
    if errors:
        print("ERRORS:")
        for k, v in errors.most_common():
            print("  %-40s %7d   e.g. %s" % (k, v, str(examples[k])[:150]))
        sys.exit(1)
    print("OK: no contract violations")


if __name__ == "__main__":
    main()
