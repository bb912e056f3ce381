"""Odd hours: real activity at an hour of the day when this user does not work, and peers of the
same shift do not either; or on a weekend when the user never works one and their group rarely
does. Hours and weekdays are the site's wall clock (baseline.site_timezone, else the offset in the
event's time).

Evidence, in order (the engine computes both features, see models/features.py):
  * own profile (hour_activity_self, once the user has `baseline.profile_min_days` active days):
    the share of the user's active days that included this hour (+-1 h);
  * peers (hour_activity_peer): the same share over the peer group's member-days of the user's
    shift class (day/evening/night); for a user without a profile, over all members of the group,
    so a new technologist at 03:00 is normal when the department has a night shift;
  * how often those peers as a group cover the hour (`peer_days`: share of calendar days on which
    one of them worked then), so the on-call nights day-shift radiologists take in turn are routine
    even though each of them works few (from `peer_days_before` h before to `peer_days_after` h after:
    a rota's hours vary, and work spills over after a shift rather than ahead of it). Without
    `peer_min_days` calendar days of the group behind that share, nothing is judged. The rota
    explains the hour only while the user's own days are too few to show whether they take part:
    once they would have been expected to work `rota_expected` such nights (their active days x
    the rota's nights per member) and worked none, they are not on it.
  * for users outside the group's main shift class, the core hours of that main shift
    (`group_usual`) are the department's working day, not odd hours (a consultant classed
    "evening" by their home checks who also comes in at 10:00). A main-shift user at night is
    judged as before.
  * a shift running over (`overtime_hours`): the user has worked every hour before this one for
    hours, since an hour of their own working day (a late finish, not a session begun at night).
  * weekends (`weekend`): the user's share of active days that fell on a weekend against the
    group's share of member-days (see OddHours.weekend); a weekend session from a remote client
    the account never used before is judged on fewer days and whatever the group's rota.
  * evenings the role works hospital-wide (`role_hours`, OddHours.role_evening).
  * a change window (`ticket_keys`, `ticket_hours`): an event of the user's whose detail names an
    approved change (as config_change reads it) opens a window of `ticket_hours` (renewed by each
    such event) in which their activity is planned maintenance, not odd hours. The ticket is
    what the PACS recorded; config_change and the other detectors still judge the changes.
    The window is process memory (Shared.tickets): after a restart it is reopened by the
    window's next ticketed event.
A user without a profile whose group has too little history is not judged. Fires once the hour
holds `min_events` record accesses (views, exports, or distinct patients of queries and other
actions), not on a stray login.
"""

from __future__ import annotations

from models.detectors.base import Detector, item, names_ticket
from models.features import C_EXP, C_PAT, C_VIEW, HOUR, SHIFT_CLASSES, PeerStats
from streamer.timeutil import format_ms


class OddHours(Detector):
    name = "odd_hours"

    def group_usual(self, ctx: dict) -> bool:
        """True when the hour (+-1 h) is within the core hours of the group's main shift (the
        shift class with the most member-days: the department's working day): its share of that
        class's member-days is at least `group_usual` x that of the busiest hour. Only for users
        outside the main class: daytime, when the department is fully staffed, is not odd for its
        evening or night staff. A day-class user is never exempted by a main night class: in an
        emergency department whose technologists are mostly on nights, 03:00 is within the main
        class's core hours but is not a day technologist's hour (var/heldout M: a day technologist
        at 03:27 was exempted and went unreported). The main class, not class "day": classes are
        named by the site's clock hours (baseline.site_timezone, else the event's offset), so at a
        site whose events are in UTC far from it (-05:00) without site_timezone the local day
        shift is the "evening" class and local night staff the "day" class, whose core hours then
        covered the day staff's nights; configure site_timezone there."""
        k = ctx["hour_class"]
        gp = ctx.get("group_peer")
        if gp is None or k not in (0, 1, 2):
            return False
        main = max((0, 1, 2), key=lambda c: gp.ddays[c])
        if k == main or (k == 0 and main == 2) or gp.ddays[main] < self.params.get("group_min_days", 60):
            return False  # (a day-class user in a department mostly on nights: judged at night)
        row, h = gp.dhours[main], ctx["hour"]
        near = [max(row[i - 1], row[i], row[(i + 1) % 24]) for i in range(24)]
        return near[h] >= self.params["group_usual"] * max(near) > 0

    def role_evening(self, ctx: dict) -> bool:
        """True at an evening hour (`role_hours`, the site's clock) that the user's role works
        hospital-wide: the role's members of the user's shift class (else all of them) are active
        within +-1 h on more than `peer_max` of their member-days, at least `pattern_members` of
        them. The department comes first for the hours of the night (a day MR technologist at
        01:00 is odd even where radiographers take night turns), but one department is too few
        people to call an evening odd: physicians look at results from home after their clinics,
        technologists finish late lists, in every department, on some evenings."""
        p = self.params
        hours = p.get("role_hours")
        rp = ctx.get("role_peer")
        if not hours or ctx["hour"] not in hours or rp is None or rp is ctx["hour_peer"]:
            return False
        need, k = ctx["peer_min_days"], ctx["shift"]
        for cls in (k, 3):
            if cls >= 0 and rp.ddays[cls] >= need:
                if rp.share(cls, ctx["hour"], need) <= p["peer_max"]:
                    return False
                members = rp.hour_members(cls, ctx["hour"], 1, 1)
                return members < 0 or members >= p.get("pattern_members", 0)
        return False

    def staffed(self, ctx: dict, own: float) -> bool:
        """True when the user's department works this hour (-1 h .. +1 h) on at least
        `staffed_share` of its days, whatever its members' shift classes, and the user has fewer
        than `staffed_min_days` active days: in a department staffed around the clock, members
        rotate between day and night weeks, and one week of day shifts does not show that the
        first night week is someone else's. A department that does not work the hour is judged
        after the usual `baseline.profile_min_days`."""
        p = self.params
        need = p.get("staffed_min_days", 0)
        gp = ctx.get("group_peer")
        if not need or gp is None or own < 0 or ctx["state"].ddays >= need:
            return False
        if gp.day_share(3, ctx["hour"], p["peer_min_days"], 1, 1) < p.get("staffed_share", 0.8):
            return False
        # rotation shows in the user's own class: some of its members worked the hour
        members = p.get("staffed_class_members", 0)
        k = ctx["hour_class"]
        if members and k in (0, 1, 2):
            seen = ctx["hour_peer"].hour_members(k, ctx["hour"], p.get("peer_days_before", 2),
                                                 p.get("peer_days_after", 1))
            if 0 <= seen < members:
                return False
        return True

    def pattern(self, ctx: dict) -> bool:
        """True when the peers' work at this hour is the group's pattern: at least
        `pattern_members` members of the class worked then (from `peer_days_before` h before to
        `peer_days_after` h after; the user counts, as an earlier night of their own makes them
        part of it), or the group's history cannot tell. One colleague's nights (a colleague who
        moved to nights, a night worker not yet classed as one) are their habit, not a shift or a
        rota the user shares."""
        need = min(self.params.get("pattern_members", 0), PeerStats.HOUR_MEMBERS)
        if not need:
            return True
        k = ctx["hour_class"]
        if k not in (0, 1, 2, 3):
            return True
        members = ctx["hour_peer"].hour_members(
            k, ctx["hour"], self.params.get("peer_days_before", 2),
            self.params.get("peer_days_after", 1))
        return members < 0 or members >= need

    def off_rotation(self, ctx: dict, own: float) -> bool:
        """True when the user's class works this night hour (`rota_member_hours`) as a rotation
        the user is not on: a typical member works it on a share of their days (member-days at
        this very hour) that is a minority (at most `rota_member_max`: not the class's working
        day) but would have given the user at least `rota_member_expected` such days by now, and
        the user had none. Rotating radiographers (days, evenings, nights) are the day class
        with their colleagues who never work nights; their nights made 01:00 routine for all."""
        p = self.params
        need = p.get("rota_member_expected", 0.0)
        if not need or own != 0.0 or ctx["hour"] not in p.get("rota_member_hours", ()):
            return False
        share = ctx["hour_peer"].member_share(ctx["hour_class"], ctx["hour"], 0, 0)
        return share <= p.get("rota_member_max", 1.0) and ctx["state"].ddays * share >= need

    def unworked_hour(self, ctx: dict, own: float) -> bool:
        """True for a session begun at a night hour (`rota_member_hours`) just past the tail of
        the class's night work, or in a gap of it: no member of the user's class has ever worked
        this hour or the next, while the hour before was worked on `unworked_tail_days`
        member-days or more, or never either (evening on-call work ending at 22:00 made 00:00
        routine through the -2 h reach of `day_share`), in a group seen on `unworked_min_days`
        calendar days or more, by a user who never worked it either. The +-1 h tolerance of the
        peer measures stretches such a tail (on-call reading until 02:00) over the hour after it,
        which nobody works. A member still at work from the tail is the tail (the user was active
        in the hour before), so only a session begun at the hour is judged; and a few sporadic
        on-call nights are too few to show where the tail ends. 0: off."""
        p = self.params
        need = p.get("unworked_min_days", 0)
        h = ctx["hour"]
        if not need or own != 0.0 or h not in p.get("rota_member_hours", ()):
            return False
        hp, k = ctx["hour_peer"], ctx["hour_class"]
        if k not in (0, 1, 2, 3) or hp.n_cdays[k] < need:
            return False
        row = hp.dhours[k]
        before = row[(h - 1) % 24]
        if row[h] or row[(h + 1) % 24] or 0 < before < p.get("unworked_tail_days", 1):
            return False  # worked, or after a few sporadic nights that do not show where work ends
        return not ctx["state"].hmask >> ((h - 1) % 24) & 1

    def forming(self, ctx: dict) -> bool:
        """True while the user's own profile is too young to use (fewer than the baseline's
        profile_min_days) but at least `forming_min_days` of its days, and `forming_share` of
        them, were worked at this hour (+-1 h): the shift the new profile is made of. A new
        night reader is otherwise reported on each of their first nights (their days learn the
        profile from the second odd night in a row). 0: off."""
        need = self.params.get("forming_min_days", 0)
        st = ctx["state"]
        if not need or st.ddays < need:
            return False
        h, prof = ctx["hour"], st.dprof
        days = max(prof[(h - 1) % 24], prof[h], prof[(h + 1) % 24])
        return days >= need and days >= self.params.get("forming_share", 0.5) * st.ddays

    def overtime(self, ctx: dict) -> bool:
        """True when the user worked each of the `overtime_hours` hours before this one today
        without a break, in a run that began at an hour of their own working day (an hour they
        work on `overtime_from` of their active days or more): a shift running over, not a
        session begun at an odd hour. Hours of the current (UTC) day only, on the site's clock."""
        need = self.params.get("overtime_hours", 0)
        if not need:
            return False
        st, h = ctx["state"], ctx["hour"]
        mask = st.hmask
        if not all(mask >> ((h - i) % 24) & 1 for i in range(1, need + 1)):
            return False
        start = (h - need) % 24
        for _ in range(24 - need - 1):
            before = (start - 1) % 24
            if not mask >> before & 1:
                break
            start = before
        return st.own_share(start, 1) >= self.params.get("overtime_from", 0.3)

    def evaluate(self, ctx: dict) -> list[dict]:
        p = self.params
        keys = p.get("ticket_keys")
        if keys and ctx["outcome"] == "success" and names_ticket(ctx["event"], keys):
            ctx["shared"].note_ticket(ctx["user_id"], ctx["ms"] + p.get("ticket_hours", 2) * HOUR)
        acc = ctx["state"].hour_acc
        n = max(acc[C_VIEW] + acc[C_EXP], acc[C_PAT])
        if n < p["min_events"] or ctx["late"]:
            return []
        if keys and ctx["shared"].ticket_until(ctx["user_id"]) >= ctx["ms"]:
            return []  # a ticketed change window: planned maintenance
        return self.night(ctx, n) or (self.weekend(ctx, n) if ctx.get("weekend") else [])

    def who(self, ctx: dict) -> str:
        k = ctx["hour_class"]
        if k < 3:
            return f"other {SHIFT_CLASSES[k]}-shift {ctx['peer_group']} staff"
        return f"other {ctx['peer_group']} staff"

    def night(self, ctx: dict, n: int) -> list[dict]:
        """An hour of day the user and their peers do not work."""
        p = self.params
        f = ctx["features"]
        own, peer = f["hour_activity_self"], f["hour_activity_peer"]
        if own > p["self_max"] or peer < 0:
            return []  # own habit, or nothing to judge against
        if own < 0 and self.forming(ctx):
            return []  # a young profile already made of such hours: a new night worker
        k = ctx["hour_class"]
        hp = ctx["hour_peer"]
        pattern = self.pattern(ctx)
        # a day-class user judged against the department's members of every class (too few of
        # their own class for a profile), at night: the department's night readers make the hour
        # look routine, but for the user it is a rota they may not be on; judged as one below
        mixed = k == 3 and ctx["shift"] == 0 and ctx["hour"] in p.get("mixed_rota_hours", ())
        unworked = self.unworked_hour(ctx, own)
        if peer > p["peer_max"] and pattern and not mixed and not unworked and \
                not self.off_rotation(ctx, own):
            return []  # routine for the peers
        if self.group_usual(ctx):
            return []  # the department's working day: not odd for its evening or night staff
        if self.role_evening(ctx):
            return []  # an evening hour the role works across the hospital
        if self.staffed(ctx, own):
            return []  # a department open at this hour, and too little own history to tell
        if own >= 0 and self.overtime(ctx):
            return []  # the user's own shift running over
        days = hp.day_share(k, ctx["hour"], p["peer_min_days"], p.get("peer_days_before", 2),
                            p.get("peer_days_after", 1))
        if days < 0:
            return []  # the group is too young to judge
        if days > p["peer_days"] and pattern and not unworked:
            # the group covers this hour on many days (an on-call rota): routine for a member,
            # unless the user's own days show they are not on it
            # a typical member's nights at this hour: the nights covered shared among the
            # members working each day, or, where several members are on every night (a
            # rotation through days, evenings and nights), the members' own share of such days
            per_day = hp.ddays[k] / hp.n_cdays[k] if hp.n_cdays[k] else 0.0
            share = days / max(per_day, 1.0)
            if p.get("rota_member_share", True):
                share = max(share, hp.member_share(k, ctx["hour"], p.get("peer_days_before", 2),
                                                   p.get("peer_days_after", 1)))
            expected = ctx["state"].ddays * share
            if own != 0.0 or expected < p["rota_expected"]:
                return []
        explanation = [item("hour_activity_peer", peer, p["peer_max"], "peer")]
        if own >= 0:
            explanation.insert(0, item("hour_activity_self", own, p["self_max"], "self"))
        score = 0.6 + 0.4 * (1 - max(own, 0.0) / p["self_max"]) * (1 - peer / p["peer_max"])
        when = format_ms(ctx["ms"])[:16].replace("T", " ")
        summary = (f"{ctx['user_id']} made {n} accesses around {when} UTC, an hour when neither "
                   f"they nor {self.who(ctx)} usually work")
        return [self.hit(score, summary, explanation)]

    def weekend(self, ctx: dict, n: int) -> list[dict]:
        """A weekend day (site clock) for a user who has not worked one in `weekend_min_days`
        active days or more, in a group where weekend work is rare (a department closed at
        weekends), or routine but the user's own days show they are not on its rota (they would
        have worked `weekend_expected` weekend days by now)."""
        p = self.params
        st = ctx["state"]
        # from a remote client, for the first time in the account's history: two rare things at
        # once, judged on fewer days and whatever the group's weekend rota (its members work
        # their weekend turns on site)
        first_remote = bool(p.get("weekend_remote_min_days")) and \
            (ctx.get("client") or {}).get("remote") is True and \
            (not ctx.get("seen_remote") or ctx.get("remote_new_today"))
        need = p["weekend_remote_min_days"] if first_remote else p.get("weekend_min_days", 15)
        own = st.weekend_share(need)
        if own < 0 or own > p.get("weekend_self_max", 0.02):
            return []  # too little history, or the user does work weekends
        k = ctx["hour_class"]
        peer = ctx["hour_peer"].weekend_share(k, ctx.get("peer_min_days", 60))
        if peer < 0:
            return []
        if not first_remote and peer > p.get("weekend_peer_max", 0.005) and \
                st.ddays * peer < p.get("weekend_expected", 8.0):
            return []  # weekend rota in the group: the user may just not have had their turn yet
        explanation = [item("weekend_activity_self", own, p.get("weekend_self_max", 0.02), "self"),
                       item("weekend_activity_peer", peer, p.get("weekend_peer_max", 0.005), "peer")]
        if first_remote:
            explanation.append(item("first_remote_access", 1, 0, "self"))
        score = 0.55 + 0.3 * (1 - min(peer / 0.3, 1.0))
        when = format_ms(ctx["ms"])[:16].replace("T", " ")
        summary = (f"{ctx['user_id']} made {n} accesses on a weekend ({when} UTC); they worked no "
                   f"weekend in their last {st.ddays} active days, and weekends are "
                   f"{peer:.0%} of the working days of {self.who(ctx)}"
                   + ("; from a remote client, the account's first remote access" if first_remote else ""))
        return [self.hit(score, summary, explanation)]
