#!/usr/bin/env python3
"""profile.py DIR -- volume/behaviour profile of a generated scenario (sanity check, no labels used
except to exclude incident events)."""
import csv, json, sys, collections, statistics as S
from datetime import datetime

d = sys.argv[1]
roster = {r["user_id"]: r for r in csv.DictReader(open(d + "/roster.csv"))}
bad = set()
for l in open(d + "/labels.jsonl"):
    bad.update(json.loads(l)["event_ids"])
views = collections.defaultdict(int)      # (user, local date) -> opens
pats = collections.defaultdict(set)
hours = collections.Counter()
role_of = {}
acts = collections.Counter()
remote = collections.Counter()
for line in open(d + "/events.jsonl"):
    e = json.loads(line)
    if e["event_id"] in bad:
        continue
    u = e["user"]["id"]
    role_of[u] = (e["user"].get("roles") or ["?"])[0]
    day = e["event_time"][:10]
    acts[(role_of[u], e["action"])] += 1
    if e["action"] == "view":
        views[(u, day)] += 1
        pats[(u, day)].add(e["patient"]["id"])
        hours[(role_of[u], int(e["event_time"][11:13]))] += 1
    if e["client"].get("remote"):
        remote[role_of[u]] += 1
by = collections.defaultdict(list)
byp = collections.defaultdict(list)
for (u, day), n in views.items():
    key = role_of[u] + ("/" + roster[u]["department"] if role_of[u] == "referring_physician" and roster.get(u, {}).get("department") == "emergency" else "")
    by[key].append(n)
    byp[key].append(len(pats[(u, day)]))
print("%-32s %6s %6s %6s %6s %6s | distinct patients p50/p90/max" % ("role", "udays", "p10", "p50", "p90", "max"))
for k in sorted(by):
    v = sorted(by[k]); p = sorted(byp[k])
    q = lambda a, x: a[min(len(a) - 1, int(x * len(a)))]
    print("%-32s %6d %6d %6d %6d %6d | %d/%d/%d" % (k, len(v), q(v, .1), q(v, .5), q(v, .9), v[-1], q(p, .5), q(p, .9), p[-1]))
print("\nviews by hour (role: 24 buckets)")
for role in sorted(set(r for r, h in hours)):
    print("%-22s" % role, " ".join("%d" % hours[(role, h)] for h in range(24)))
print("\nremote events by role:", dict(remote))
print("\nactions by role:")
for role in sorted(set(r for r, a in acts)):
    print(" ", role, {a: n for (r, a), n in sorted(acts.items()) if r == role})
