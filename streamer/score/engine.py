"""The detection engine: one call per canonical event, the same code in the Faust agent and in
`streamer replay`.

    >>> engine = Engine()
    >>> enriched, alerts = engine.process({"event_id": "e1", "event_time": "2026-11-30T03:00:00.000Z",
    ...     "action": "config_change", "outcome": "success", "user": {"id": "ops1",
    ...     "roles": ["system_administrator"], "department": "it", "mfa": True}})
    >>> [a["detector"] for a in alerts], enriched["enrichment"]["severity"]
    (['config_change'], 'low')

State. Everything about a user (windows, baselines, working-hours profile, risk, open incidents)
is in a `UserState` that round-trips through `export_user` / `import_user` bytes: the agent keeps
those bytes in a Faust table. `import_user` of the bytes this engine exported last (and has not
processed since) costs nothing, so the agent may import before every event. Cross-user memory is
in memory per process and not in the table: peer-group aggregates ("role|department", and
"role|*" used until the department group has `baseline.peer_min_hours` of history; their
working-hours profiles per shift class) and forests (re-learned after a restart, or carried with
`export_peers` / `import_peers`; workers may merge theirs with `merge_peers`), the password-spray
map, recent permission grants, who sends to which export destination, the recent users of each
patient (care episodes), the first user of each study per role and each study's arrival
(`Shared`). With several
workers each sees the users of its partitions.

Clock. Event time drives windows, decay and incidents; `clock` (ms) only stamps `updated_time` and
an alert's `detected_at` (when it was first raised; event time without a clock).
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections import deque
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from collections.abc import Callable, Iterable
from itertools import islice

import orjson

from models.detectors import build
from models.detectors.base import names_ticket
from models.detectors.self_access import patient_surname
from models.features import (C_DEL, C_EXP, C_FAIL, C_INST, C_KIB, C_PAT, C_STUDY, C_VIEW, DAY,
                             EXPORT_ACTIONS, FEATURE_NAMES, HOUR, PeerStats, UserState, h32, is_weekend)
from models.online import OnlineModel, signature
from models.rules import SEVERITIES, SEVERITY_RANK, load_rules
from streamer.normalize.common import is_public
from streamer.score.context import read_csv, role_key, roster_row, watchlist_row
from streamer.timeutil import format_ms, parse_time

ENGINE_VERSION = "online-2"
log = logging.getLogger(__name__)
_F32 = struct.Struct("<f")
_NO_HITS: list = []


class Shared:
    """Cross-user memory of one process: failed logins per client, recent grants, who sends to
    which export destination (per department and hospital-wide). Bounded (LIMIT keys each)."""

    __slots__ = ("failed", "grants", "dest_users", "dept_exports", "dept_kinds", "dept_first_ms", "sprays",
                 "care", "start_ms", "surnames", "named", "practice", "watch_pairs", "studies",
                 "tickets", "teams")
    LIMIT = 50_000
    USERS_KEPT = 8  # distinct users remembered per destination and scope
    PATIENTS = 200_000  # patients remembered for care episodes (a few days of a large hospital)
    STUDIES = 300_000  # (study, role) and study arrivals remembered (days of a large hospital)

    def __init__(self) -> None:
        # patient (hash) -> (ms, user hash) of the last user who worked on them, of the last other
        # user before, and the time of the last import of a study of theirs; least recently
        # touched first (pruned first)
        self.care: dict[int, tuple] = {}
        self.start_ms = 0  # earliest event time this process has seen: its observation start
        self.failed: dict[str, dict[str, int]] = {}
        self.grants: dict[str, tuple[int, str, str]] = {}
        self.dest_users: dict[tuple[str, str], list[str]] = {}
        self.dept_exports: dict[str, int] = {}
        self.dept_kinds: dict[tuple[str, str], int] = {}  # (department, destination type) -> exports
        self.dept_first_ms: dict[str, int] = {}
        self.sprays: dict[str, list] = {}  # client -> [start ms, last ms, event ids] of its spray
        # patients per surname (hash), counted when a patient is first remembered in `care`, and
        # how many were counted: how common a surname is among this hospital's patients
        self.surnames: dict[int, int] = {}
        self.named = 0
        # (role|department, permission) -> users of that group who used a permission their role
        # lacks (role_permission): a practice of the group rather than one user's excursion
        self.practice: dict[tuple[str, str], list[str]] = {}
        # (watchlist patient, user) -> [time of the user's first access to that patient, verdict
        # of the first judged access] (note_watch)
        self.watch_pairs: dict[tuple[str, str], list] = {}
        # (study hash, role) -> the user (hash) of that role who touched it first in this
        # process, and (study hash, "*") -> (ms, user hash) of its first touch by anyone (its
        # arrival), then the department it belongs to, the rank of the touch that said so and
        # that touch's user (note_study); oldest first
        self.studies: dict[tuple[int, str], int | tuple] = {}
        # user -> end (ms) of the change window their last event with an approved change ticket
        # opened (odd_hours: planned maintenance at night); oldest first
        self.tickets: dict[str, int] = {}
        # watchlist patient -> {(role, department): [(ms, user), up to TEAM_KEPT of its latest
        # distinct users]}: who of which team looked at the patient lately (note_team)
        self.teams: dict[str, dict] = {}

    def note_study(self, study: int, role: str, user: int, ms: int = 0, dept: str | None = None,
                   rank: int = 2) -> tuple[bool, int, str | None]:
        """Record that `user` (role `role`, department `dept`) touched `study` at `ms`. Returns
        (first, age, home): first is True when they are the first user of that role this process
        saw touch it (the technologist who acquires a newly arrived study, the radiologist who
        first reads it); age the milliseconds since another user first touched the study (its
        arrival: acquisition or import), -1 when nobody else did before (a study this process
        never saw arrive); home the department the study belongs to as far as the touches seen
        tell, when another user set it: the study's department for sources whose events do not
        name one. `rank` says how much this touch tells: 0 an import, 1 a user of a role that
        acquires studies, 2 anyone else; the lowest rank seen first sets the home (a prior read
        for comparison by another section before its import does not)."""
        studies = self.studies
        key = (study, role)
        first = studies.get(key)
        arrival = studies.get((study, "*"))
        if first is None:
            self._remember_study(key, user)
        if arrival is None:
            self._remember_study((study, "*"), (ms, user, dept, rank, user))
            return first is None or first == user, -1, None
        if rank < arrival[3] and dept:
            arrival = (arrival[0], arrival[1], dept, rank, user)
            studies[(study, "*")] = arrival
        age = ms - arrival[0] if arrival[1] != user and ms >= arrival[0] else -1
        # the user's own first touch of a study that arrived unseen says nothing of its home
        home = arrival[2] if arrival[4] != user or arrival[3] < 2 else None
        return first is None or first == user, age, home

    def own_import_ms(self, study: int, user: int) -> int:
        """When `user` imported `study` as its first touch this process saw (its arrival), the
        time of that import; -1 otherwise (role_permission: a rejection of one's own acquisition)."""
        arrival = self.studies.get((study, "*"))
        if arrival and arrival[1] == user == arrival[4] and arrival[3] == 0:
            return arrival[0]
        return -1

    def _remember_study(self, key: tuple[int, str], value) -> None:
        """Store `value` under `key` in `studies`, dropping the oldest key at the bound."""
        if len(self.studies) >= self.STUDIES:
            del self.studies[next(iter(self.studies))]
        self.studies[key] = value

    def kind_exports(self, dept: str, kind: str) -> int:
        """Exports of the department to destinations of type `kind` so far (note_destination)."""
        return self.dept_kinds.get((dept, kind), 0)

    def note_destination(self, dept: str, dest: str, user_id: str, ms: int = 0,
                         kind: str = "") -> tuple[int, int, int]:
        """Record an export of `user_id` (department `dept`) to `dest` (of type `kind`). Returns,
        as before this export: other users of the department and of the hospital who sent there,
        and the number of exports of the department."""
        if kind:
            key = (dept, kind)
            if key in self.dept_kinds or len(self.dept_kinds) < self.LIMIT:
                self.dept_kinds[key] = self.dept_kinds.get(key, 0) + 1
        out = []
        for scope in (dept, "*"):
            key = (scope, dest)
            users = self.dest_users.get(key)
            if users is None:
                if len(self.dest_users) >= self.LIMIT:
                    del self.dest_users[next(iter(self.dest_users))]
                users = self.dest_users[key] = []
            out.append(sum(1 for u in users if u != user_id))
            if user_id not in users and len(users) < self.USERS_KEPT:
                users.append(user_id)
        n = self.dept_exports.get(dept, 0)
        self.dept_exports[dept] = n + 1
        if ms and (dept not in self.dept_first_ms or ms < self.dept_first_ms[dept]):
            self.dept_first_ms[dept] = ms
        return out[0], out[1], n

    def note_patient(self, patient: int, user: int, ms: int, window_ms: int,
                     acquired: bool = False) -> bool:
        """Record that `user` worked on `patient` at `ms` (`acquired`: imported a study of theirs);
        True when the patient is in a care episode: another user worked on them, or a study of
        theirs was imported (by anyone, this user included), within `window_ms` before, or this
        is an import (acquisition opens the episode)."""
        rec = self.care.pop(patient, None)
        in_care = acquired
        if rec is not None:
            t1, u1, t2, u2, imp = rec
            if (u1 != user and 0 <= ms - t1 <= window_ms) or (u2 != user and 0 <= ms - t2 <= window_ms) \
                    or (imp and 0 <= ms - imp <= window_ms):
                in_care = True
            if u1 != user:
                t2, u2 = t1, u1
            rec = (ms, user, t2, u2, ms if acquired else imp)
        else:
            rec = (ms, user, 0, user, ms if acquired else 0)
        self.care[patient] = rec
        if len(self.care) > self.PATIENTS:
            del self.care[next(iter(self.care))]
        return in_care

    def note_surname(self, surname: str) -> None:
        if len(surname) < 2:
            return
        key = h32(surname)
        n = self.surnames.get(key)
        if n is None and len(self.surnames) >= 10 * self.LIMIT:
            return  # bounded: a surname first seen beyond the bound stays rare (reported)
        self.surnames[key] = (n or 0) + 1
        self.named += 1

    def surname_patients(self, surname: str) -> int:
        """Distinct patients seen with this surname (an estimate: patients pruned from `care` and
        seen again count twice)."""
        return self.surnames.get(h32(surname), 0)

    def note_watch(self, patient_id: str, user_id: str, ms: int) -> list:
        """`user_id`'s relation with watchlist patient `patient_id`: [time of the first access
        (this one if first), verdict of its first judged access: 0 none yet, 1 the study's work,
        2 reported]. The list is the stored record: the caller sets the verdict in it."""
        key = (patient_id, user_id)
        rel = self.watch_pairs.get(key)
        if rel is None:
            if len(self.watch_pairs) >= self.LIMIT:
                del self.watch_pairs[next(iter(self.watch_pairs))]
            rel = self.watch_pairs[key] = [ms, 0]
        elif ms < rel[0]:
            rel[0] = ms
        return rel

    TEAM_KEPT = 2

    def note_team(self, patient_id: str, groups, user_id: str, ms: int, window_ms: int) -> bool:
        """Record that `user_id`, a member of each (role, department) of `groups`, opened watchlist
        patient `patient_id` at `ms`; True when another member of one of those groups opened the
        patient within `window_ms` before: the patient is in that team's care."""
        teams = self.teams.get(patient_id)
        if teams is None:
            if len(self.teams) >= self.LIMIT:
                del self.teams[next(iter(self.teams))]
            teams = self.teams[patient_id] = {}
        cared = False
        for g in groups:
            seen = teams.get(g)
            if seen is None:
                teams[g] = [(ms, user_id)]
                continue
            for t, u in seen:
                if u != user_id and 0 <= ms - t <= window_ms:
                    cared = True
            kept = [(ms, user_id)] + [x for x in seen if x[1] != user_id]
            teams[g] = kept[:self.TEAM_KEPT]
        return cared

    def note_practice(self, group: str, permission: str, user_id: str) -> int:
        """Record that `user_id` of `group` used `permission`; how many other users of the group
        did before (up to USERS_KEPT)."""
        key = (group, permission)
        users = self.practice.get(key)
        if users is None:
            if len(self.practice) >= self.LIMIT:
                return 0
            users = self.practice[key] = []
        others = sum(1 for u in users if u != user_id)
        if user_id not in users and len(users) < self.USERS_KEPT:
            users.append(user_id)
        return others

    def observe(self, ms: int) -> int:
        """Note an event time; the observation start of this process (earliest time seen)."""
        if not self.start_ms or ms < self.start_ms:
            self.start_ms = ms
        return self.start_ms

    def dept_first(self, dept: str, ms: int) -> int:
        """Event time of the department's first export seen (`ms` when none was)."""
        return self.dept_first_ms.get(dept, ms)

    def note_failed(self, client: str, user_id: str, ms: int, window_ms: int, keep_ms: int = 0) -> int:
        """Record a failed login; number of distinct users failing from `client` in the window.
        Users are remembered for `keep_ms` when it is longer (failed_between)."""
        users = self.failed.pop(client, None) or {}
        self.failed[client] = users  # most recent client last: the oldest are pruned first
        if ms > users.get(user_id, -1):
            users[user_id] = ms
        cutoff = ms - max(window_ms, keep_ms)
        if len(users) > 64:
            for uid in [u for u, t in users.items() if t < cutoff]:
                del users[uid]
        if len(self.failed) > self.LIMIT:
            del self.failed[next(iter(self.failed))]
        return self.failed_between(client, ms - window_ms, ms + window_ms)

    def failed_between(self, client: str, lo_ms: int, hi_ms: int) -> int:
        """Distinct users whose latest failed login from `client` lies in [lo_ms, hi_ms]."""
        return sum(1 for t in (self.failed.get(client) or {}).values() if lo_ms <= t <= hi_ms)

    def note_spray(self, client: str, ms: int, event_id: str, gap_ms: int, max_ids: int = 500) -> tuple[int, list]:
        """A failed login that is part of a spray from `client`: (start of this spray, event ids of
        its failed logins so far). A spray idle for `gap_ms` ends; the next one starts anew."""
        rec = self.sprays.pop(client, None)
        if rec is None or ms - rec[1] > gap_ms:
            rec = [ms, ms, []]
        self.sprays[client] = rec
        rec[1] = max(rec[1], ms)
        if event_id and event_id not in rec[2] and len(rec[2]) < max_ids:
            rec[2].append(event_id)
        if len(self.sprays) > self.LIMIT:
            del self.sprays[next(iter(self.sprays))]
        return rec[0], rec[2]

    def note_grant(self, target: str, ms: int, by: str, event_id: str) -> None:
        self.grants.pop(target, None)
        self.grants[target] = (ms, by, event_id)
        if len(self.grants) > self.LIMIT:
            del self.grants[next(iter(self.grants))]

    def grant_for(self, user_id: str) -> tuple[int, str, str] | None:
        return self.grants.get(user_id)

    def note_ticket(self, user_id: str, until_ms: int) -> None:
        self.tickets.pop(user_id, None)
        self.tickets[user_id] = until_ms
        if len(self.tickets) > self.LIMIT:
            del self.tickets[next(iter(self.tickets))]

    def ticket_until(self, user_id: str) -> int:
        """End (ms) of the user's change window, 0 without one."""
        return self.tickets.get(user_id, 0)


class Engine:
    def __init__(self, rules: dict | None = None, *, roster: str | None = None,
                 watchlist: str | None = None, model=None,
                 clock: Callable[[], int] | None = None, shadow=None, watcher=None,
                 max_live_users: int = 20_000, site_timezone: str | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.detectors = build(self.rules)
        self.perms = self.rules["permissions"]
        self.clock = clock
        self.model = model
        self.shadow = shadow  # candidate model: scored and recorded, never alerts
        self.watcher = watcher  # models.registry.ModelWatcher: hot reload of promoted models
        for m in (model, shadow):
            if m is not None:
                missing = [f for f in m.feature_names if f not in FEATURE_NAMES]
                if missing:
                    raise ValueError(f"model {m.version} needs unknown features {missing}")
        if watcher is not None:
            self.maybe_reload(force=True)
        self.online = OnlineModel(self.rules["online_model"])
        # live state of the most recently active users (least recent first: dicts keep insertion
        # order and a processed user is re-inserted); beyond `max_live_users` the least recent are
        # kept only as their serialised bytes in `_cold` (~200 B instead of ~6 KB of objects) and
        # loaded again on their next event, so memory per user stays bounded at millions of users
        self.users: dict[str, UserState] = {}
        self._cold: dict[str, bytes] = {}
        self.max_live_users = max(1, int(max_live_users))
        self.peers: dict[str, PeerStats] = {}
        self.shared = Shared()
        self.roster: dict[str, dict] = {}
        self.roster_loaded = False
        # "role|department" -> roster rows of that group (role_permission: the size of a practice)
        self.group_sizes: dict[str, int] = {}
        self.watchlist: dict[str, dict] = {}
        self.employee_records: set[str] = set()  # watchlist patients mapped to an employee
        self.open_users: set[str] = set()
        self._blobs: dict[str, bytes] = {}  # last exported state per user, unchanged since
        r, inc, base = self.rules["risk"], self.rules["incidents"], self.rules["baseline"]
        self.half_ms = float(r["half_life_hours"]) * HOUR
        self.repeat = float(r["repeat_factor"])
        self.bands = [(float(v), k) for k, v in reversed(list(r["bands"].items()))]
        self.gap_ms = int(float(inc["gap_minutes"]) * 60_000)
        self.max_ids = int(inc["max_event_ids"])
        self.hour_alpha, self.day_alpha = float(base["hour_alpha"]), float(base["day_alpha"])
        self.learn_below = float(base["learn_below"])
        self.peer_min_hours = int(base.get("peer_min_hours", 200))
        self.profile_min_days = int(base.get("profile_min_days", 5))
        self.peer_min_days = int(base.get("peer_min_days", 20))
        self.gaps = {n: int(float(d["incident_gap_minutes"]) * 60_000)  # per-detector override
                     for n, d in self.rules["detectors"].items() if "incident_gap_minutes" in d}
        self.weights = {n: float(d["risk"]) for n, d in self.rules["detectors"].items()}
        self.weights.update(batch_model=float(self.rules.get("batch_model", {}).get("risk", 20)))
        self.ml_threshold = float(self.rules["detectors"]["online_model"]["params"]["threshold"])
        sweep = self.rules["detectors"].get("patient_sweep", {}).get("params") or {}
        self.care_window_ms = float(sweep.get("care_hours", 72)) * HOUR
        self.care_half_ms = float(sweep.get("care_half_life_minutes", 360)) * 60_000
        self.care_any_dept = frozenset(sweep.get("care_any_department_roles", ()))
        # the latest record openings (ms, event id) of users who opened `trail_from` distinct
        # patients today, live users only: the events a patient_sweep alert is about
        self.trails: dict[str, deque] = {}
        self.trail_from = int(sweep.get("trail_from", 30))
        self.trail_len = int(sweep.get("trail_len", 100))
        # records moved under an approved change (an archive run in a maintenance window) are
        # the change's, not records the user opened: not counted as distinct patients
        self.ticket_uncounted = frozenset(sweep.get("ticket_actions", ()))
        self.ticket_keys = tuple(sweep.get("ticket_keys", ()))
        watch = self.rules["detectors"].get("watchlist_patient", {}).get("params") or {}
        # a study opened by the first user of its role at most this long after its arrival: the
        # opening habit of each user (UserState.note_open; watchlist_patient)
        self.habit_ms = float(watch.get("habit_hours", 2)) * HOUR
        self.habit_min_opens = float(watch.get("habit_min_opens", 20))
        # whose department a study belongs to when its events do not name one (note_study): its
        # importer's, else the first of these roles to touch it (who acquire studies), else the
        # first user's
        self.study_work_roles = frozenset(watch.get("first_opener_roles", ()))
        self.by_action: dict[str, list] = {}
        self.any_action = [d for d in self.detectors if d.actions is None]
        self._hours: dict[str, int] = {}  # "YYYY-MM-DDTHH" + zone -> epoch ms of the hour (_ms)
        self._public: dict[str, bool] = {}  # client IP -> public (normalize.common.is_public)
        self._roles: dict[tuple, tuple] = {}  # an event's roles -> as the rules spell them
        # hours of day (working-hours profiles, shift classes, odd hours) are the site's local
        # wall clock: its IANA zone when configured (daylight saving included), else the offset
        # the source wrote in each event's time, else UTC
        tz = str(site_timezone or base.get("site_timezone") or "")  # the setting wins over the rules
        try:
            self.site_tz = ZoneInfo(tz) if tz else None
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"baseline.site_timezone: unknown time zone {tz!r}") from exc
        self._offsets: dict[int, int] = {}
        if roster:
            self.load_roster_csv(roster)
        if watchlist:
            self.load_watchlist_csv(watchlist)

    # --- context feeds ----------------------------------------------------------------------
    def update_roster(self, row: dict) -> None:
        """Apply one roster row (CSV or topic JSON); status empty/None removes the user."""
        r = roster_row(row)
        self.roster_loaded = True
        self._put_roster(str(row["user_id"]).strip() if r is None else r["user_id"], r)

    def _put_roster(self, uid: str, r: dict | None) -> None:
        """Store (None: remove) the user's normalised roster row, keeping group_sizes in step."""
        self._count_group(self.roster.pop(uid, None), -1)
        if r is not None:
            self.roster[uid] = r
            self._count_group(r, 1)

    def _count_group(self, r: dict | None, delta: int) -> None:
        if r is None:
            return
        roles = r["roles"]
        key = f"{roles[0] if roles else 'unknown'}|{r['department'] or 'unknown'}"
        n = self.group_sizes.get(key, 0) + delta
        if n > 0:
            self.group_sizes[key] = n
        else:
            self.group_sizes.pop(key, None)

    def update_watchlist(self, row: dict) -> None:
        r = watchlist_row(row)
        if r is None:
            pid = str(row["patient_id"]).strip()
            self.watchlist.pop(pid, None)
            self.employee_records.discard(pid)
        else:
            self._watch(r)

    def _watch(self, r: dict) -> None:
        self.watchlist[r["patient_id"]] = r
        if r.get("employee_user_id"):
            self.employee_records.add(r["patient_id"])
        else:
            self.employee_records.discard(r["patient_id"])

    def load_roster_csv(self, path: str) -> int:
        rows = read_csv(path, roster_row)
        self.roster_loaded = True
        for r in rows:
            self._put_roster(r["user_id"], r)
        return len(rows)

    def load_watchlist_csv(self, path: str) -> int:
        rows = read_csv(path, watchlist_row)
        for r in rows:
            self._watch(r)
        return len(rows)

    # --- per-user state ---------------------------------------------------------------------
    def has_user(self, user_id: str) -> bool:
        return user_id in self.users or user_id in self._cold

    def user_count(self) -> int:
        return len(self.users) + len(self._cold)

    def user_state(self, user_id: str) -> UserState | None:
        """The user's live state, loaded from its bytes if it was evicted; None if unknown."""
        st = self.users.get(user_id)
        if st is None:
            data = self._cold.pop(user_id, None)
            if data is None:
                return None
            st = self.users[user_id] = UserState.from_bytes(data)
            self._blobs[user_id] = data
            self._evict(user_id)
        return st

    def _evict(self, keep: str) -> None:
        """Serialise the least recently active users beyond the live limit, a few more at once
        so this runs rarely (never `keep`, the user being worked on; users with open incidents
        stay live: the idle-resolution sweep walks them)."""
        excess = len(self.users) - self.max_live_users
        if excess <= 0:
            return
        n = min(excess + self.max_live_users // 64, len(self.users) - 1)
        for uid in list(islice(self.users, n)):  # the least recent, without copying every key
            if uid in self.open_users or uid == keep:
                continue
            st = self.users.pop(uid)
            self.trails.pop(uid, None)
            data = self._blobs.pop(uid, None)
            self._cold[uid] = data if data is not None else st.to_bytes()

    def export_user(self, user_id: str) -> bytes:
        """The user's state as bytes (what the agent keeps in its table)."""
        st = self.users.get(user_id)
        if st is None:
            return self._cold[user_id]
        data = self._blobs[user_id] = st.to_bytes()
        return data

    def import_user(self, user_id: str, data: bytes) -> None:
        """Load a user's state from `export_user` bytes. Free when `data` is what this engine
        exported last and the user has not been processed since (the agent's usual case).
        Unreadable or older-format bytes start the user afresh (peer baseline), logged."""
        known = self._blobs.get(user_id)
        if known is not None and (known is data or known == data) and user_id in self.users:
            return
        try:
            st = UserState.from_bytes(data)
        except ValueError as exc:
            log.warning("state of %r not loaded (%s): starting it afresh", user_id, exc)
            st = UserState()
        self._cold.pop(user_id, None)
        self.users.pop(user_id, None)
        self.users[user_id] = st
        self._blobs[user_id] = data
        self._evict(user_id)
        if st.incidents:
            self.open_users.add(user_id)

    def export_peers(self) -> bytes:
        return orjson.dumps({k: p.to_dict() for k, p in self.peers.items()})

    def import_peers(self, data: bytes) -> None:
        self.peers = {k: PeerStats.from_dict(d) for k, d in orjson.loads(data).items()}

    def merge_peers(self, data: bytes) -> None:
        for k, d in orjson.loads(data).items():
            self.peers.setdefault(k, PeerStats()).merge(PeerStats.from_dict(d))

    # --- processing -------------------------------------------------------------------------
    def process(self, event: dict) -> tuple[dict, list[dict]]:
        """Score one canonical event: (enriched event, new or updated alerts).
        Raises ValueError when the event lacks event_time or user.id."""
        if self.watcher is not None:
            self.maybe_reload()
        enriched, alerts, _ = self._process(event)
        return enriched, alerts

    def maybe_reload(self, now: float | None = None, force: bool = False) -> bool:
        """Swap in the model (and shadow) the watcher reports as newly promoted; True if swapped.
        Cheap between the watcher's checks, so it runs on every call of the processing path."""
        if self.watcher is None:
            return False
        change = self.watcher.poll(now, force)
        if change is None:
            return False
        self.model, self.shadow = change
        return True

    def process_many(self, events: Iterable[dict]) -> list[tuple[dict, list[dict]]]:
        """Process events in order; a registry model (if any) scores the batch in one call, and a
        shadow model too (its score is recorded in the enrichment, it never alerts)."""
        if self.watcher is not None:
            self.maybe_reload()
        done = [self._process(e) for e in events]
        if self.shadow is not None and done:
            scores = _score_batch(self.shadow, done)
            threshold = self.shadow.threshold
            for (enriched, _, _), score in zip(done, scores):
                enr = enriched["enrichment"]
                enr["shadow_score"] = float(score)
                enr["shadow_model_version"] = f"{ENGINE_VERSION}+{self.shadow.version}"
                enr["shadow_alert"] = score >= threshold
        if self.model is not None and done:
            scores = _score_batch(self.model, done)
            threshold = self.model.threshold
            for (enriched, alerts, _), score in zip(done, scores):
                enr = enriched["enrichment"]
                enr["model_score"] = float(score)
                enr["model_version"] = f"{ENGINE_VERSION}+{self.model.version}"
                if score >= threshold:
                    alerts.extend(self._batch_hit(enriched, float(score)))
        return [(e, a) for e, a, _ in done]

    def _batch_hit(self, enriched: dict, score: float) -> list[dict]:
        uid = enriched["user"]["id"]
        enr = enriched["enrichment"]
        st = self.user_state(uid)
        ms = self._ms(enriched["event_time"])
        cfg = self.rules.get("batch_model", {})
        hit = {"detector": "batch_model", "score": round(score, 4),
               "severity": cfg.get("severity", "medium"),
               "summary": f"{uid}'s activity is unusual for model {self.model.version}",
               "explanation": [{"feature": n, "value": enr["features"][n], "expected": 0.0,
                                "baseline": "peer"} for n in self.model.feature_names[:3]]}
        enr["detectors"].append("batch_model")
        return self._apply_hits(st, uid, ms, enriched["event_id"], [hit], enr["peer_group"],
                                enriched.get("user", {}).get("roles") or (), enriched)

    def _ms(self, text) -> int:
        """Epoch ms of an event time. Fast path for the canonical `...SS.mmmZ` and for the same
        with a numeric offset `...SS.mmm+HH:MM` (what PACS bridges write): the date, hour and
        zone are parsed once per hour (parse_time, which checks them) and cached; anything else
        goes to parse_time."""
        if type(text) is str and text[19:20] == "." and text[13:14] == ":" and text[16:17] == ":" \
                and ((len(text) == 24 and text[23] == "Z")
                     or (len(text) == 29 and text[23] in "+-" and text[26] == ":")):
            key = text[:13] + text[23:]
            base = self._hours.get(key)
            if base is None:
                try:
                    base = parse_time(text[:13] + ":00:00.000" + text[23:])
                except ValueError:
                    return parse_time(text)  # raises, naming the whole time
                if len(self._hours) > 8192:
                    self._hours.clear()
                self._hours[key] = base
            m, s, f = text[14:16], text[17:19], text[20:23]
            if m.isdigit() and s.isdigit() and f.isdigit() and m < "60" and s < "60":
                return base + int(m) * 60_000 + int(s) * 1000 + int(f)
        return parse_time(text)

    def _offset(self, text, ms: int) -> int:
        """Milliseconds to add to UTC `ms` for the site's local wall clock (see __init__)."""
        if self.site_tz is not None:
            h = ms // HOUR
            off = self._offsets.get(h)
            if off is None:
                if len(self._offsets) > 4096:
                    self._offsets.clear()
                delta = datetime.fromtimestamp(h * 3600, self.site_tz).utcoffset()
                off = self._offsets[h] = int(delta.total_seconds() * 1000) if delta else 0
            return off
        if type(text) is str and len(text) > 19 and text[-3] == ":" and text[-6] in "+-":
            hh, mm = text[-5:-3], text[-2:]
            if hh.isdigit() and mm.isdigit() and hh < "24" and mm < "60":
                off = (int(hh) * 60 + int(mm)) * 60_000
                return -off if text[-6] == "-" else off
        return 0

    def _process(self, event: dict) -> tuple[dict, list, dict]:
        user = event.get("user")
        uid = user.get("id") if isinstance(user, dict) else None
        if not uid or not isinstance(uid, str):
            raise ValueError("event has no user.id")
        if "event_time" not in event:
            raise ValueError("event has no event_time")
        ms = self._ms(event["event_time"])
        off = self._offset(event["event_time"], ms)
        action = event.get("action") or "other"
        outcome = event.get("outcome") or "success"
        obs_start = self.shared.observe(ms)
        users = self.users
        st = users.pop(uid, None)
        if st is None:
            data = self._cold.pop(uid, None)
            st = UserState.from_bytes(data) if data is not None else UserState()
            users[uid] = st
            if len(users) > self.max_live_users:
                self._evict(uid)
        else:
            users[uid] = st  # most recently active last
        self._blobs.pop(uid, None)
        row = self.roster.get(uid)
        if row is not None:
            roles, dept = row["roles"], row["department"] or user.get("department") or "unknown"
        else:
            raw = user.get("roles")
            roles = self._roles.get(tuple(raw)) if raw else ()
            if roles is None:
                if len(self._roles) > 4096:
                    self._roles.clear()
                roles = self._roles[tuple(raw)] = tuple(k for k in map(role_key, raw) if k)
            dept = user.get("department") or "unknown"
        role = roles[0] if roles else "unknown"
        group = f"{role}|{dept}"
        uh = h32(uid)  # the user in cross-user memory (peers, care episodes, studies)
        gpeer = self.peers.get(group)
        if gpeer is None:
            gpeer = self.peers[group] = PeerStats()
        rpeer = self.peers.get(role + "|*")
        if rpeer is None:
            rpeer = self.peers[role + "|*"] = PeerStats()
        # the department group once it has history, the whole role until then
        peer = gpeer if gpeer.n_hours >= self.peer_min_hours else rpeer

        late = bool(st.first_ms) and ms < st.last_ms
        ok_event = outcome == "success" and action != "login_failed"
        # dormancy: silence since the user's own last successful activity (never process start)
        gap = ms - st.ok_ms if ok_event and st.ok_ms and ms > st.ok_ms else 0
        if ok_event and ms > st.ok_ms:
            st.ok_ms = ms
        old_hour, old_day, mask = st.hour_id, st.day_id, st.hmask
        closed_h, closed_d, flags = st.advance(ms)
        if closed_d is not None and mask:  # peers learn every day: one member cannot make a habit
            cls = st.shift_class(self.profile_min_days)
            gpeer.add_day_hours(old_day, cls, mask, uh)
            rpeer.add_day_hours(old_day, cls, mask, uh)
        if ok_event:
            st.note_active(ms, ms + off)
        if closed_h is not None:
            st.note_peaks(False, closed_h)
        if closed_d is not None:
            st.note_peaks(True, closed_d)
        if closed_h is not None and not flags & 1:
            st.fold(False, closed_h, self.hour_alpha)
            how = (old_hour + off // HOUR + 72) % 168  # local hour of week
            gpeer.add_hour(closed_h, how)
            rpeer.add_hour(closed_h, how)
            self.online.learn(group, closed_h)
        if closed_d is not None and not flags & 2:
            st.fold(True, closed_d, self.day_alpha)
            gpeer.add_day(closed_d)
            rpeer.add_day(closed_d)
        if st.hour_id != old_hour:
            st.sig = 0
            st.score = 0.0

        # counters
        ok = outcome == "success"
        if action == "view":
            st.add(ms, C_VIEW, 1)
        elif action in EXPORT_ACTIONS and ok:
            study = event.get("study") or {}
            st.add(ms, C_EXP, 1)
            if action != "print":  # paper: counted, but its size says nothing of what left
                n = study.get("instances")
                if type(n) is int and n > 0:
                    st.add(ms, C_INST, n)
                b = study.get("bytes")
                if type(b) is int and b > 0:
                    st.add(ms, C_KIB, b >> 10)
            if not late:  # the department's (not the role's) volumes per member: over_baseline
                gpeer.note_member(uh, False, st.hour_acc)
                gpeer.note_member(uh, True, st.day_acc)
        elif action == "delete" and ok:
            st.add(ms, C_DEL, 1)
        elif action == "login_failed" or (action == "login" and not ok):
            st.add(ms, C_FAIL, 1)
        patient = event.get("patient")
        pid = patient.get("id") if patient else None
        new_patient = episode = False
        trail = None
        if pid:
            key = h32(pid)
            if action not in self.ticket_uncounted or not names_ticket(event, self.ticket_keys):
                st.touch_item(ms, st.psk, key, C_PAT)
            trail = self.trails.get(uid)
            if trail is None and st.day_acc[C_PAT] >= self.trail_from:
                trail = self.trails[uid] = deque(maxlen=self.trail_len)
            if trail is not None and ok:
                trail.append((ms, event.get("event_id", "")))
            new_patient = not st.seen_patient(key)
            if ok:
                if key not in self.shared.care:
                    pname = patient.get("name")
                    if pname and type(pname) is str:
                        self.shared.note_surname(patient_surname(pname))
                # a care episode: a colleague worked on this patient shortly before (patient_sweep)
                episode = in_care = self.shared.note_patient(key, uh, ms, self.care_window_ms,
                                                   action == "import")
                sd = (event.get("study") or {}).get("department")
                if sd and sd != dept and not self.care_any_dept.intersection(roles):
                    in_care = False  # another department's episode: not the user's care team
                st.note_care(ms, in_care, self.care_half_ms)
        study = event.get("study") or {}
        suid = study.get("uid")
        study_first, study_age, fresh_first, habit, home = False, -1, False, -1.0, None
        own_import = -1
        if suid:
            skey = h32(suid)
            st.touch_item(ms, st.ssk, skey, C_STUDY)
            study_first, study_age, home = self.shared.note_study(
                skey, role, uh, ms, dept if dept != "unknown" else None,
                0 if action == "import" else 1 if role in self.study_work_roles else 2)
            if action == "delete":  # role_permission: a rejection of the user's own acquisition
                t = self.shared.own_import_ms(skey, uh)
                own_import = ms - t if t >= 0 else -1
            if action == "view" and ok:
                fresh_first = study_first and 0 <= study_age <= self.habit_ms
                habit = st.fresh_share(self.habit_min_opens)  # as before this opening
                st.note_open(fresh_first)
        dest = event.get("destination")
        new_dest = bool(dest and dest.get("id")) and not st.seen_in(st.dests, h32(dest["id"]))
        client = event.get("client") or {}
        ip = client.get("ip")
        if type(ip) is str and "remote" not in client:
            public = self._public.get(ip)
            if public is None:
                if len(self._public) > 65_536:
                    self._public.clear()
                public = self._public[ip] = is_public(ip)
            if public:  # a public address is outside the hospital network (as the parsers say)
                client["remote"] = True
        host = client.get("host") or client.get("ip")
        new_host = bool(host) and not st.seen_in(st.hosts, h32(host))
        sdept = study.get("department") or home  # where the study arrived, if its events do not say
        new_dept = bool(sdept) and not st.seen_in(st.depts, h32(sdept))
        if action == "emergency_access" and ms > st.break_glass_ms:
            st.break_glass_ms = ms

        features = st.window_features({})
        hour = (ms + off) // HOUR % 24  # local hour of day
        weekend = is_weekend(ms + off)  # on the site's clock
        shift = st.shift_class(self.profile_min_days)
        # the department's members of the same shift class, else all its members, then the same
        # for the role hospital-wide
        hpeer, k, need = rpeer, 3, self.peer_min_days
        for hpeer, k in ((gpeer, shift), (gpeer, 3), (rpeer, shift), (rpeer, 3)):
            if k >= 0 and hpeer.ddays[k] >= need:
                break
        peer_share = hpeer.share(k, hour, need)
        features["hour_activity_self"] = st.own_share(hour, self.profile_min_days)
        features["hour_activity_peer"] = peer_share
        features["days_since_last_seen"] = round(gap / DAY, 3)
        features["new_patient"] = float(new_patient)
        features["new_destination"] = float(new_dest)
        features["new_client_host"] = float(new_host)
        features["new_department"] = float(new_dept)

        # online model: rescored when the hour's counts change order of magnitude
        expl = None
        if not late:
            sig = signature(st.hour_acc)
            if sig != st.sig:
                st.sig = sig
                score, expl = self.online.score(group, st, peer, st.hour_acc)
                st.score = _F32.unpack(_F32.pack(score))[0]
        score = st.score if not late else 0.0
        if score >= self.ml_threshold and expl is None:
            _, expl = self.online.gauss(st, peer, st.hour_acc)

        ctx = {"event": event, "ms": ms, "action": action, "outcome": outcome, "user_id": uid,
               "user": user, "roles": roles, "department": dept, "peer_group": group,
               "state": st, "peer": peer, "features": features, "roster": row,
               "group_size": self.group_sizes.get(group, 0),
               "roster_loaded": self.roster_loaded, "patient_id": pid,
               "watch": self.watchlist.get(pid) if pid else None, "study": study,
               "client": client, "destination": dest, "late": late, "gap_ms": gap,
               "new_destination": new_dest, "shared": self.shared, "perms": self.perms,
               "shift": shift, "hour_peer": hpeer, "hour_class": k, "hour": hour, "weekend": weekend,
               "peer_min_days": need,
               "score": score, "score_explanation": expl or [], "new_host": new_host,
               "seen_remote": bool(st.flags & 8), "seen_no_mfa": bool(st.flags & 16),
               "remote_new_today": bool(st.flags & 64),
               "obs_start": obs_start, "group_peer": gpeer if gpeer.ddays[3] >= need else rpeer,
               "dept_peer": gpeer, "role_peer": rpeer,
               "employees_listed": bool(self.employee_records), "episode": episode,
               "study_first": study_first, "study_age_ms": study_age, "fresh_first": fresh_first,
               "fresh_habit": habit, "trail": trail, "study_home": home, "own_import_ms": own_import,
               "roster_of": self.roster}
        hits = []
        dets = self.by_action.get(action)
        if dets is None:
            dets = self.by_action[action] = [
                d for d in self.detectors if d.actions is None or action in d.actions]
        for det in dets:
            found = det.evaluate(ctx)
            if found:
                hits.extend(found)
        if ok_event:  # session history for dormant_account: remote access, sessions without MFA
            if client.get("remote") is True:
                if not st.flags & 8:
                    st.flags |= 64  # today's remote access is the account's first (odd_hours)
                st.flags |= 8
            if user.get("mfa") is False:
                st.flags |= 16
        if hits or score >= self.learn_below:
            st.flags |= 3
            if any(h["detector"] == "odd_hours" for h in hits):
                st.flags |= 4  # the day's hours do not train the working-hours profile

        enrichment = {"peer_group": group, "features": features, "anomaly_score": round(score, 4),
                      "model_version": ENGINE_VERSION, "detectors": [h["detector"] for h in hits],
                      "risk": 0.0, "severity": "none", "expected": {}}
        enriched = dict(event)
        enriched["enrichment"] = enrichment
        own = [h for h in hits if "actor" not in h]
        alerts = self._apply_hits(st, uid, ms, event.get("event_id", ""), own, group, roles,
                                  enriched) if own else []
        for h in hits:
            if "actor" in h:
                # the hit is about someone else than the event's user (a password spray: the client
                # failing as many users): its incident, alert id and risk are the actor's
                actor = h["actor"]
                ast = self.user_state(actor)
                if ast is None:
                    ast = self.users[actor] = UserState()
                alerts += self._apply_hits(ast, actor, ms, event.get("event_id", ""), [h], group, roles,
                                           enriched)
        if not own:
            self._decay(st, ms)
        enrichment["risk"] = round(st.risk, 2)
        enrichment["severity"] = self._band(st.risk)
        if hits:
            enrichment["expected"] = {e["feature"]: e["expected"] for h in hits
                                      for e in h["explanation"]}
        return enriched, alerts, features

    # --- risk and incidents -----------------------------------------------------------------
    def _decay(self, st: UserState, ms: int) -> None:
        if ms > st.risk_ms:
            if st.risk:
                st.risk = _F32.unpack(_F32.pack(st.risk * 0.5 ** ((ms - st.risk_ms) / self.half_ms)))[0]
                if st.risk < 0.01:
                    st.risk = 0.0
            st.risk_ms = ms

    def _band(self, risk: float) -> str:
        for limit, name in self.bands:
            if risk >= limit:
                return name
        return "none"

    def _apply_hits(self, st: UserState, uid: str, ms: int, event_id: str, hits: list[dict],
                    group: str, roles, enriched: dict) -> list[dict]:
        self._decay(st, ms)
        names = sorted({h["detector"] for h in hits})
        risk = st.risk
        for h in hits:
            inc = st.incidents.get(h["detector"])
            open_ = inc is not None and ms - inc["last"] <= self.gaps.get(h["detector"], self.gap_ms)
            risk += self.weights.get(h["detector"], 20.0) * h["score"] * (self.repeat if open_ else 1.0)
        st.risk = _F32.unpack(_F32.pack(min(risk, 100.0)))[0]
        band = self._band(st.risk)
        alerts = []
        dept = group.split("|", 1)[1]
        counted: set[str] = set()  # incidents that counted this event past their full id list
        for h in hits:
            det = h["detector"]
            inc = st.incidents.get(det)
            if inc is not None and ms - inc["last"] > self.gaps.get(det, self.gap_ms):
                alerts.append(self._alert(uid, det, inc, "resolved", inc["last"]))
                inc = None
            if inc is None:
                inc = st.incidents[det] = {
                    "id": alert_id(uid, det, ms), "first": ms, "last": ms, "ids": [], "count": 0,
                    "score": 0.0, "severity": "low", "detectors": [], "group": group,
                    "role": roles[0] if roles else "unknown", "dept": dept,
                    "raised": self.clock() if self.clock else ms}
            inc["first"] = min(inc["first"], ms)
            inc["last"] = max(inc["last"], ms)
            ids = inc["ids"]
            listed = set(ids)  # a sweep's hit names its whole trail again: no list scan per id
            for eid in [event_id] + h.get("related_event_ids", []):
                if eid in listed:
                    continue
                if len(ids) < self.max_ids:
                    ids.append(eid)
                    listed.add(eid)
                    inc["count"] += 1
                elif eid == event_id and det not in counted:
                    # the list is full: only the hit's own event is surely new (the related ones
                    # came before and were counted then, or a sweep's trail would count its
                    # hundred openings again on every hit), once however many hits it made
                    counted.add(det)
                    inc["count"] += 1
            inc["score"] = max(inc["score"], h["score"])
            sev = max(h["severity"], band, inc["severity"], key=SEVERITY_RANK.__getitem__)
            inc["severity"] = sev if sev != "none" else "low"
            inc["risk"] = round(st.risk, 2)
            inc["summary"] = h["summary"]
            inc["explanation"] = h["explanation"]
            inc["detectors"] = sorted(set(inc["detectors"]).union(names))
            alerts.append(self._alert(uid, det, inc, "firing", ms))
        self.open_users.add(uid)
        return alerts

    def _alert(self, uid: str, det: str, inc: dict, status: str, ms: int) -> dict:
        now = self.clock() if self.clock else ms
        return {
            "alert_id": inc["id"], "user_id": uid, "detector": det, "severity": inc["severity"],
            "score": inc["score"], "risk": inc["risk"], "event_ids": list(inc["ids"]),
            "event_count": inc["count"], "first_event_time": format_ms(inc["first"]),
            "last_event_time": format_ms(inc["last"]), "summary": inc["summary"],
            "explanation": inc["explanation"],
            "labels": {"user_id": uid, "detector": det, "severity": inc["severity"],
                       "department": inc["dept"], "role": inc["role"], "peer_group": inc["group"]},
            "status": status, "updated_time": format_ms(now),
            # first raised (an incident kept from an older state: its first event)
            "detected_at": format_ms(inc.get("raised", inc["first"])), "peer_group": inc["group"],
            "detectors": inc["detectors"], "incident": inc["id"][:12],
        }

    def forget_users(self) -> None:
        """Drop every user's in-memory state (the worker's partitions were revoked: the table is
        the truth and users are imported again on their next event). Peer aggregates stay."""
        self.users.clear()
        self._cold.clear()
        self._blobs.clear()
        self.open_users.clear()
        self.trails.clear()

    def flush(self, now_ms: int) -> list[dict]:
        """Resolve incidents idle for longer than the gap at event time `now_ms`."""
        out = []
        for uid in list(self.open_users):
            st = self.user_state(uid)
            if st is None:
                self.open_users.discard(uid)
                continue
            gaps, gap = self.gaps, self.gap_ms
            for det in [d for d, inc in st.incidents.items() if now_ms - inc["last"] > gaps.get(d, gap)]:
                out.append(self._alert(uid, det, st.incidents.pop(det), "resolved", now_ms))
                self._blobs.pop(uid, None)  # changed since its last export
            if not st.incidents:
                self.open_users.discard(uid)
        return out


def _score_batch(model, done: list) -> list[float]:
    names = model.feature_names
    rows = [[row[2][n] for n in names] for row in done]
    if getattr(model, "uses_groups", False):
        return model.score_batch(rows, [row[0]["enrichment"]["peer_group"] for row in done])
    return model.score_batch(rows)


def alert_id(user_id: str, detector: str, start_ms: int) -> str:
    """Stable id of an incident: same user, detector and start -> same id."""
    return hashlib.blake2b(f"{user_id}\x1f{detector}\x1f{start_ms}".encode(), digest_size=10).hexdigest()


__all__ = ["Engine", "Shared", "alert_id", "FEATURE_NAMES", "SEVERITIES"]
