#!/usr/bin/env python3
"""Score the alerts of `streamer replay` against the labels of models/heldout/generate.py.

python models/heldout/score.py --dir scenA   (reads events.jsonl, labels.jsonl, alerts.jsonl, roster.csv)
An alert matches an incident when its event_ids intersect the incident's event_ids.
"""
import argparse, json, statistics, datetime as dt, os
from collections import defaultdict, Counter


def ts(s):
    s = s.replace("Z", "+00:00")
    return dt.datetime.fromisoformat(s).astimezone(dt.timezone.utc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--alerts", default=None)
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()
    D = a.dir
    alerts_path = a.alerts or os.path.join(D, "alerts.jsonl")
    labels = [json.loads(l) for l in open(os.path.join(D, "labels.jsonl"))]
    alerts = {}
    for l in open(alerts_path):
        if l.strip():
            x = json.loads(l)
            alerts[x["alert_id"]] = x          # last version of an alert id wins
    alerts = list(alerts.values())
    ev2inc = defaultdict(set)
    for inc in labels:
        for e in inc["event_ids"]:
            ev2inc[e].add(inc["incident_id"])
    # user-days from the event file (UTC dates)
    ud, users, days = set(), set(), set()
    for l in open(os.path.join(D, "events.jsonl")):
        i = l.find('"event_time":"')
        t = l[i + 14:i + 14 + 30].split('"')[0]
        j = l.find('"user":{"id":"')
        u = l[j + 14:].split('"', 1)[0]
        d = ts(t).date()
        ud.add((u, d)); users.add(u); days.add(d)
    roster_users = sum(1 for _ in open(os.path.join(D, "roster.csv"))) - 1
    n_ud = len(ud)
    n_ud_roster = roster_users * len(days)

    inc_by_id = {i["incident_id"]: i for i in labels}
    inc_alerts = defaultdict(list)
    det_tot, det_fa, det_tp = Counter(), Counter(), Counter()
    fa_examples = defaultdict(list)
    det_x_type = defaultdict(Counter)
    for al in alerts:
        m = set()
        for e in al.get("event_ids", []):
            m |= ev2inc.get(e, set())
        det = al.get("detector", "?")
        det_tot[det] += 1
        if m:
            det_tp[det] += 1
            for iid in m:
                inc_alerts[iid].append(al)
                det_x_type[inc_by_id[iid]["type"]][det] += 1
        else:
            det_fa[det] += 1
            if len(fa_examples[det]) < 5:
                fa_examples[det].append({k: al.get(k) for k in ("alert_id", "user_id", "summary", "first_event_time", "last_event_time")})

    types = sorted({i["type"] for i in labels}, key=lambda t: [i["type"] for i in labels].index(t))
    rows = []
    # per-type precision: alerts that match >=1 incident of this type / alerts that match any incident OR none, restricted
    # to detectors that ever fired on this type ("type-precision"); we also report per-detector precision below.
    print("scenario %s: %d events-user-days(active)=%d  roster users x days=%d  alerts=%d" % (D, 0, n_ud, n_ud_roster, len(alerts)))
    print("%-20s %4s %5s %7s %10s  %s" % ("type", "n", "hit", "recall", "medTTD_min", "detectors that matched (alert count)"))
    missed = []
    for t in types:
        incs = [i for i in labels if i["type"] == t]
        hit, ttds = 0, []
        for i in incs:
            al = inc_alerts.get(i["incident_id"], [])
            if al:
                hit += 1
                first = min(ts(x["last_event_time"]) for x in al)
                ttds.append((first - ts(i["start"])).total_seconds() / 60)
            else:
                missed.append(i)
        rec = hit / len(incs)
        med = statistics.median(ttds) if ttds else None
        rows.append({"type": t, "n": len(incs), "hit": hit, "recall": rec, "median_ttd_min": med, "detectors": dict(det_x_type[t])})
        print("%-20s %4d %5d %7.2f %10s  %s" % (t, len(incs), hit, rec, "-" if med is None else "%.1f" % med,
                                                 ", ".join("%s:%d" % kv for kv in det_x_type[t].most_common())))
    print("\nper detector: alerts, matched, false, precision, FA/1k active user-days, FA/1k roster user-days")
    for d in sorted(det_tot, key=lambda d: -det_fa[d]):
        print("  %-28s %6d %6d %6d  %5.2f  %8.2f  %8.2f" % (d, det_tot[d], det_tp[d], det_fa[d], det_tp[d] / det_tot[d],
                                                           1000 * det_fa[d] / n_ud, 1000 * det_fa[d] / n_ud_roster))
    tot_fa = sum(det_fa.values())
    print("TOTAL alerts=%d matched=%d false=%d precision=%.3f  FA/1k active user-days=%.2f  FA/1k roster user-days=%.2f" % (
        len(alerts), len(alerts) - tot_fa, tot_fa, (len(alerts) - tot_fa) / max(1, len(alerts)), 1000 * tot_fa / n_ud, 1000 * tot_fa / n_ud_roster))
    print("\nmissed incidents:")
    for i in missed:
        print("  %s %-18s user=%s n_ev=%d start=%s %s" % (i["incident_id"], i["type"], i["user_id"], len(i["event_ids"]), i["start"],
                                                         {k: v for k, v in i.items() if k not in ("incident_id", "type", "user_id", "event_ids", "start", "end")}))
    print("\nfalse-alert examples:")
    for d, xs in fa_examples.items():
        for x in xs[:3]:
            print("  ", d, json.dumps(x)[:300])
    if a.json_out:
        json.dump({"types": rows, "detectors": {d: {"alerts": det_tot[d], "matched": det_tp[d], "false": det_fa[d]} for d in det_tot},
                   "active_user_days": n_ud, "roster_user_days": n_ud_roster, "false_total": tot_fa,
                   "missed": [i["incident_id"] for i in missed]}, open(a.json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
