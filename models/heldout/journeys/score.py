#!/usr/bin/env python3
"""score.py -- score detector alerts against a generate.py scenario.

    score.py --dir G --alerts alerts.jsonl [--json-out score.json]

An alert matches an incident when their event-id sets intersect (alert field `event_ids` per
contracts.md section 3; `events`/`evidence_event_ids` are accepted as fall-backs).  Alert lines with
the same `alert_id` are merged (the contract promises a stable id per incident, so updates may be
re-emitted).  Time to detect = alert time - first malicious event of the incident, where the alert
time is the first of `detected_at`, `emitted_at`, `created_at`, `alert_time`, `raised_at`, `time`
present on the alert line, else its `last_event_time` (replay uses event time as the clock).  The
earliest matching alert line counts.

False alerts = distinct alert_ids that match no incident, reported per 1,000 active user-days
(distinct (user.id, UTC date) pairs with at least one event), in total and per detector.
"""
import argparse
import csv
import json
import statistics
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone

TIME_FIELDS = ("detected_at", "emitted_at", "created_at", "alert_time", "raised_at", "time")
ID_FIELDS = ("event_ids", "events", "evidence_event_ids", "evidence")


def parse_t(s):
    if s is None:
        return None
    if isinstance(s, (int, float)):
        return float(s) / (1000.0 if s > 1e11 else 1.0)
    try:
        return datetime.fromisoformat(str(s).replace("Z", "+00:00")).astimezone(
            timezone.utc).timestamp()
    except ValueError:
        return None


def alert_ids_of(a):
    for k in ID_FIELDS:
        v = a.get(k)
        if isinstance(v, list):
            out = []
            for x in v:
                if isinstance(x, dict):
                    x = x.get("event_id") or x.get("id")
                if x is not None:
                    out.append(str(x))
            return out
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--alerts", required=True)
    ap.add_argument("--json-out")
    ap.add_argument("--show-false", type=int, default=40)
    a = ap.parse_args()

    roster = {r["user_id"]: r for r in csv.DictReader(open(a.dir + "/roster.csv"))}
    labels = [json.loads(l) for l in open(a.dir + "/labels.jsonl") if l.strip()]
    ev2inc = defaultdict(list)
    for L in labels:
        L["_start"] = parse_t(L["start"])
        for e in L["event_ids"]:
            ev2inc[e].append(L["incident_id"])
    inc_by_id = {L["incident_id"]: L for L in labels}

    # active user-days (UTC)
    udays = set()
    with open(a.dir + "/events.jsonl", "rb") as f:
        for line in f:
            e = json.loads(line)
            t = datetime.fromisoformat(e["event_time"].replace("Z", "+00:00")).astimezone(
                timezone.utc)
            udays.add((e["user"]["id"], t.date()))
    n_udays = len(udays)

    # alerts, merged by alert_id
    alerts = {}
    n_lines = 0
    with open(a.alerts) as f:
        for ln, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            x = json.loads(line)
            n_lines += 1
            aid = str(x.get("alert_id") or "line-%d" % ln)
            ids = alert_ids_of(x)
            t_alert = None
            for k in TIME_FIELDS:
                if x.get(k) is not None:
                    t_alert = parse_t(x.get(k))
                    break
            if t_alert is None:
                t_alert = parse_t(x.get("last_event_time"))
            A = alerts.get(aid)
            if A is None:
                A = alerts[aid] = {"alert_id": aid, "detector": x.get("detector", "?"),
                                   "user_id": x.get("user_id"), "ids": set(), "lines": [],
                                   "summary": x.get("summary"),
                                   "explanation": x.get("explanation"),
                                   "severity": x.get("severity"),
                                   "first_event_time": x.get("first_event_time")}
            A["ids"].update(ids)
            A["lines"].append((t_alert, set(ids)))

    # matching
    det_time = {}
    det_by = defaultdict(set)
    false_alerts = []
    for aid, A in alerts.items():
        hit = set()
        for e in A["ids"]:
            hit.update(ev2inc.get(e, ()))
        if not hit:
            false_alerts.append(A)
            continue
        for t_alert, ids in A["lines"]:
            for e in ids:
                for inc in ev2inc.get(e, ()):
                    det_by[inc].add(A["detector"])
                    if t_alert is not None:
                        if inc not in det_time or t_alert < det_time[inc]:
                            det_time[inc] = t_alert
                    elif inc not in det_time:
                        det_time[inc] = None
        for inc in hit:
            det_by[inc].add(A["detector"])
            det_time.setdefault(inc, None)

    types = sorted(set(L["type"] for L in labels))
    per_type = {}
    print("%-20s %5s %8s %7s %12s  detectors that matched" % ("type", "count", "detected",
                                                              "recall", "median_TTD"))
    tot_n = tot_d = 0
    for ty in types:
        Ls = [L for L in labels if L["type"] == ty]
        det = [L for L in Ls if L["incident_id"] in det_time]
        ttd = [(det_time[L["incident_id"]] - L["_start"]) / 60.0 for L in det
               if det_time[L["incident_id"]] is not None]
        med = statistics.median(ttd) if ttd else None
        dets = Counter(d for L in det for d in det_by[L["incident_id"]])
        per_type[ty] = {"count": len(Ls), "detected": len(det),
                        "recall": round(len(det) / float(len(Ls)), 3),
                        "median_ttd_minutes": None if med is None else round(med, 1),
                        "detectors": dict(dets)}
        tot_n += len(Ls)
        tot_d += len(det)
        print("%-20s %5d %8d %7.2f %12s  %s" % (
            ty, len(Ls), len(det), len(det) / float(len(Ls)),
            "-" if med is None else "%.1f min" % med,
            ", ".join("%s:%d" % kv for kv in dets.most_common(4))))
    print("%-20s %5d %8d %7.2f" % ("TOTAL", tot_n, tot_d, tot_d / float(max(1, tot_n))))

    fa_by_det = Counter(A["detector"] for A in false_alerts)
    rate = 1000.0 * len(false_alerts) / max(1, n_udays)
    print("\nalert lines: %d, distinct alert_ids: %d, matching an incident: %d, false: %d"
          % (n_lines, len(alerts), len(alerts) - len(false_alerts), len(false_alerts)))
    print("active user-days (UTC): %d -> false alerts per 1,000 user-days: %.2f" % (n_udays, rate))
    per_det = {}
    all_dets = sorted(set(A["detector"] for A in alerts.values()))
    for dname in all_dets:
        nf = fa_by_det.get(dname, 0)
        ntot = sum(1 for A in alerts.values() if A["detector"] == dname)
        per_det[dname] = {"alerts": ntot, "false": nf,
                          "false_per_1000_user_days": round(1000.0 * nf / max(1, n_udays), 3)}
        print("  %-28s alerts %6d  false %6d  (%.2f / 1k user-days)" % (
            dname, ntot, nf, 1000.0 * nf / max(1, n_udays)))

    missed = [L for L in labels if L["incident_id"] not in det_time]
    print("\nmissed incidents (%d):" % len(missed))
    for L in missed:
        print("  %-28s %-20s %-16s %s" % (L["incident_id"], L["type"], L.get("user_id") or "-",
                                         L["variant"]))

    def expl(A):
        s = A.get("summary")
        if not s and A.get("explanation"):
            s = json.dumps(A["explanation"])[:200]
        return (s or "")[:200]

    print("\nfalse alerts (first %d of %d):" % (min(a.show_false, len(false_alerts)),
                                               len(false_alerts)))
    fa_out = []
    for A in sorted(false_alerts, key=lambda A: (A["detector"], str(A["user_id"])))[:a.show_false]:
        r = roster.get(A["user_id"] or "", {})
        row = {"alert_id": A["alert_id"], "detector": A["detector"], "user_id": A["user_id"],
               "role": r.get("roles", "not-in-roster"), "department": r.get("department", ""),
               "status": r.get("status", ""), "first_event_time": A["first_event_time"],
               "n_events": len(A["ids"]), "summary": expl(A)}
        fa_out.append(row)
        print("  %-22s %-14s %-20s %-22s %s" % (row["detector"], row["user_id"], row["role"],
                                               row["department"], row["summary"]))
    if a.json_out:
        out = {"per_type": per_type, "total": {"count": tot_n, "detected": tot_d,
                                               "recall": round(tot_d / float(max(1, tot_n)), 3)},
               "alerts": {"lines": n_lines, "distinct": len(alerts),
                          "false": len(false_alerts)},
               "active_user_days": n_udays,
               "false_per_1000_user_days": round(rate, 3), "per_detector": per_det,
               "missed": [{"incident_id": L["incident_id"], "type": L["type"],
                           "user_id": L.get("user_id"), "variant": L["variant"]} for L in missed],
               "detected": {inc: sorted(v) for inc, v in det_by.items()},
               "false_alerts_sample": fa_out}
        with open(a.json_out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
