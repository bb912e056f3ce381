"""Dormant account reactivated: the first successful activity after a long silence of the account,
measured from the user's own last successful activity (failed logins do not count). A user this
engine has never seen is not judged: new hires and people back from leave would all look dormant.

A silence is judged in three steps (thresholds and their reasons in detectors.yaml):
  * shorter than `days`: never (a week or two of leave with its weekends);
  * `long_days` or more: always (well beyond any annual leave);
  * in between, only when the silence is improbable for this account's own rhythm: with `n` active
    days out of the `w` days the account could be observed (from its first activity, or from the
    start of this engine's observation if earlier: a user silent since we started watching was
    silent), the chance of `g` more silent days under a flat prior on its daily activity rate
    (Laplace) is prod_{i<g} (w - n + 1 + i) / (w + 2 + i); it must be below `p_max`. Part-time
    consultants, students on rotation and schedulers seen on a day or two come back after weeks;
    an account used daily does not. Then, because a real leave interrupts an established rhythm
    (two or three weeks off happen to every full-time employee every year), the return must
    also show either
      - a short history: the silence is at least `history_ratio` times as long as everything the
        account did before it (an account used for a few days and then left for weeks: the
        orphaned accounts of rotations, locums and tests that attackers reuse), or
      - a sign that whoever returns is not the usual user: a client host or IP the account never
        used, remote access by an account never used remotely, no MFA for an account that always
        had it, or an hour of day the user does not work (own share <= `odd_hour_share`).
    Without either, the return is reported at `quiet_severity` (low) and a lower score if that is
    set (a leave and a reused account of an established user look the same in the audit trail);
    by default it is not: returns from three or four weeks of leave are the commonest silence of
    established staff, and a reused account is reused for something the other detectors see.
Below `long_days` the verdict waits until the returning account has made `return_accesses`
successful record accesses within `return_hours` of its return: a referring physician who follows
a patient for a few days and looks again at one study weeks later, when the next admission comes,
is the commonest silence of all; an account reused by someone else is reused for something. The
return's signs are those of its first event (a new host is new only once).
Optionally (`short_outside_care`, off by default), a short history without a sign, of a
physician (`short_care_roles`), is reported only once the return has opened that many records of
patients outside any care episode (nobody else worked on them, no study of theirs was imported,
within the care window): a locum or rotating physician back on the ward or at the worklist opens
the results of patients the staff are treating now, all of them or all but one, where a reused
account that browses the archive opens records nobody is caring for. The verdict waits for them
within `return_hours`. Off by default because a reused account that opens the department's recent
studies opens patients in care too. Never for technologists: the studies they open are mostly
ones just acquired, in care whoever opens them.
"""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import DAY, HOUR

# record accesses that make a return substantive (besides any event naming a patient)
RECORD_ACTIONS = frozenset(("view", "export", "share", "print", "query", "annotate", "edit", "delete"))
# openings of a record (short_outside_care): not a search, an import or a delete
OPENINGS = frozenset(("view", "export", "share", "print", "annotate", "edit"))


def silence_chance(active: float, observed: float, gap_days: float) -> float:
    """Chance that an account active on `active` of `observed` days stays silent `gap_days` more
    days, with a flat prior on its daily activity rate (rule of succession)."""
    n = min(max(active, 0.0), observed)
    p = 1.0
    for i in range(int(gap_days)):
        p *= (observed - n + 1 + i) / (observed + 2 + i)
        if p < 1e-12:
            break
    return p


SIGN_TEXT = ("a client host or IP never used by the account",
             "remote access, never used by the account before",
             "no MFA, which the account always had",
             "an hour of day the user does not work")
QUIET, SHORT, SIGNS = 1 << 4, 2 << 4, 3 << 4  # the verdict, in bits 4-5 of UserState.ret_code


class DormantAccount(Detector):
    name = "dormant_account"

    def signs(self, ctx: dict) -> int:
        """What in the returning event says it may not be the usual user (bits of SIGN_TEXT)."""
        out = 0
        if ctx.get("new_host"):
            out |= 1
        client, user = ctx.get("client") or {}, ctx.get("user") or {}
        if client.get("remote") is True and not ctx.get("seen_remote"):
            out |= 2
        if user.get("mfa") is False and not ctx.get("seen_no_mfa"):
            out |= 4
        own = ctx["features"].get("hour_activity_self", -1.0)
        if 0 <= own <= self.params["odd_hour_share"]:
            out |= 8
        return out

    def evaluate(self, ctx: dict) -> list[dict]:
        gap = ctx["gap_ms"] / DAY
        p = self.params
        st = ctx["state"]
        if gap >= p["days"] and ctx["action"] != "login_failed":
            st.ret_ms = 0
            if gap >= p["long_days"]:  # well beyond any leave: at once, whatever follows
                return [self.verdict(ctx, gap, 0.0, 0)]
            code, span = self.judge(ctx, gap)
            if not code:
                return []
            st.ret_ms, st.ret_gap, st.ret_span, st.ret_n, st.ret_code = ctx["ms"], gap, span, 0, code
        elif not st.ret_ms:
            return []
        elif ctx["ms"] - st.ret_ms > p.get("return_hours", 24) * HOUR:
            st.ret_ms = 0  # the return came to nothing: a login, a look at a record or two
            return []
        if ctx["outcome"] == "success" and (ctx["patient_id"] or ctx["action"] in RECORD_ACTIONS):
            st.ret_n += 1
            if ctx["patient_id"] and ctx["action"] in OPENINGS and not ctx.get("episode") \
                    and st.ret_code >> 6 < 3:
                st.ret_code += 1 << 6  # a record nobody is caring for (bits 6-7, up to 3)
        if st.ret_n < p.get("return_accesses", 3):
            return []
        need = p.get("short_outside_care", 0)
        if need and st.ret_code & 0x3F == SHORT and st.ret_code >> 6 < need and \
                set(ctx["roles"]) & set(p.get("short_care_roles", ())):
            return []  # so far the returning physician does their care work: wait
        st.ret_ms = 0
        return [self.verdict(ctx, st.ret_gap, st.ret_span, st.ret_code & 0x3F)]

    def judge(self, ctx: dict, gap: float) -> tuple[int, float]:
        """(ret_code, days of history before the silence) of a return after `gap` days, shorter
        than `long_days`; code 0: the account's own rhythm explains the silence."""
        p = self.params
        st = ctx["state"]
        last = st.ok_ms - ctx["gap_ms"]  # last activity before the silence
        start = min(st.first_ms or last, ctx.get("obs_start") or last)
        observed = (last - start) / DAY + 1.0
        active = max(st.n_days, st.ddays)  # closed active days (those without alerts)
        if silence_chance(active, observed, gap) > p["p_max"]:
            return 0, 0.0
        span = (last - (st.first_ms or last)) / DAY + 1.0
        if gap >= p["history_ratio"] * span:
            return SHORT | self.signs(ctx), span
        signs = self.signs(ctx)
        if signs:
            return SIGNS | signs, span
        return (QUIET if p.get("quiet_severity") else 0), span

    def verdict(self, ctx: dict, gap: float, span: float, code: int) -> dict:
        p = self.params
        days = p["days"]
        head = f"{ctx['user_id']} is active again after {gap:.0f} days without any activity"
        explanation = [item("days_since_last_seen", gap, days, "rule")]
        kind = code & 0x30
        if kind == QUIET:
            # an established user back, as they always work: most often a leave, but a reused
            # account looks the same from the logs, so it is reported at the `quiet_severity`
            # (triage queue, no page) rather than dropped
            score = min(0.4 + 0.2 * (gap - days) / (3 * days), 0.6)
            summary = (head + ", from a known client at their usual hours (a return from leave looks "
                       "like this; check with the roster or HR)")
            return self.hit(score, summary, explanation, severity=p.get("quiet_severity", "low"))
        if kind == SHORT:
            days_text = f"{span:.0f} day" + ("" if round(span) == 1 else "s")
            head += f"; before it the account was active for only {days_text}"
            if code & 0x0F:
                head += "; it comes back with " + ", ".join(t for i, t in enumerate(SIGN_TEXT) if code >> i & 1)
        elif kind == SIGNS:
            head += "; it comes back with " + ", ".join(t for i, t in enumerate(SIGN_TEXT) if code >> i & 1)
        score = min(0.6 + 0.4 * (gap - days) / (3 * days), 1.0)
        return self.hit(score, head, explanation)
