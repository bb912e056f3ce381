"""Access to a VIP, restricted or employee patient (watchlist or study sensitivity) from outside
the study's department. Care relation: the same department (roles in care_roles, "*" = any), or
a role that reads for every department (any_department_roles: teleradiology). The department is
the roster's, or the one the event names for the user at the access (`event_department`: the
section a rotating resident or a float technologist works in that day, as the PACS logs it).
Without a study (worklist queries) there is nothing to judge and no alert. A study whose events
do not name its department (DICOM audit messages seldom do) belongs to the department of the user
who touched it first, as this process saw it (the technologist who acquired it: `study_home`);
one that arrived unseen is judged with no department, so on the study's own work alone.
One alert per user and patient: accesses more than `relation_hours` after the user's first access
to that patient continue a relation that was reported when it began (a VIP's ward physician
looks at their images every day of the stay). A relation that began with the study's own work
(acquiring it, reading it fresh, opening a result as it arrives: below), before any report,
stays work within those hours (`work_carries`): the priors a radiologist compares with the study
they read, the earlier results a physician opens with the new one. The user's own department is
a care relation for its studies only: a colleague who opens an employee-patient's study of their
own section and then the patient's other studies is judged on those.
The patient's care team is a care relation too (`team_roles`): another user of the same role
and department (roster's or the event's) opened the patient within `team_hours` before: the
ward's physicians taking turns with their patient, the section's radiologists and students on a
case, whatever section the study is filed under. Not for an employee-patient of the user's own
department: a co-worker's record is that category's risk. Technologists are not listed by
default: their department scans every patient of its modality, so a colleague's acquisition
says nothing of a relation with the patient.
Also a care relation (`worked_departments`, off by default): a study department the user had
already worked on before this access, where studies are filed under the reading section rather
than the ordering department.
The study's own work (`first_opener_roles`): the first user of their role to touch a newly
arrived study, in a study department they already work on, with a role listed as doing the
study's work (by default technologists: the CT technologist acquiring a VIP's scan for the chest
section). Snooping opens a study another member of the role already opened, or one of a section
the user never works on.
The reading worklist (`fresh_opener_roles`, by default radiologists): the same, but only while the
study is fresh, its arrival (first touch by another user: the acquiring technologist, an import)
at most `fresh_hours` before. The first radiologist to open a chest CT acquired this morning, in a
section they read, is reading it; one who opens a VIP's study that this process never saw arrive,
or one that arrived days ago, is judged like anyone.
The user's own habit (`habit_share`): a user who opens most results first and as they arrive
(at least `habit_share` of their recent openings were the first of their role, at most
`habit_hours` after the study arrived: the emergency physician looking at the CT they ordered an
hour ago) opening a VIP's result that way, in a section they work with, is doing what they always
do. A clinic physician who opens results days later, or a colleague opening a result another
physician already opened, is judged.
"First" and "arrival" are as this process saw them: studies are remembered in memory
(Shared.studies), so after a restart, or with several workers (each sees its own users'
accesses), more openers look first, and studies that arrived before are not fresh.
"""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import HOUR


class WatchlistPatient(Detector):
    name = "watchlist_patient"

    def work(self, ctx: dict, dept: str) -> int:
        """Why this opening of the watchlist patient's study is not reported: 0 it is; 1 a care
        relation (the user's own department, a role that reads for every department); 2 the
        study's own work (acquiring it, reading it fresh, opening a result as it arrives), which
        carries to the relation's next openings (`work_carries`)."""
        care = self.params["care_roles"]
        if dept and (dept == ctx["department"] or self.params.get("event_department", True) and
                     dept == ctx["user"].get("department")) and \
                ("*" in care or any(r in care for r in ctx["roles"])):
            return 1
        if any(r in self.params["any_department_roles"] for r in ctx["roles"]):
            return 1
        if ctx.get("care_team"):
            return 1  # a colleague of the same role and department opened the patient lately
        worked = not ctx["features"].get("new_department", 1.0)
        if worked and ctx.get("study_first") and ctx["roles"]:
            role = ctx["roles"][0]
            if role in self.params.get("first_opener_roles", ()):
                return 2  # acquiring a newly arrived study of a section they work on
            age = ctx.get("study_age_ms", -1)
            if role in self.params.get("fresh_opener_roles", ()) and \
                    0 <= age <= self.params.get("fresh_hours", 24) * HOUR:
                return 2  # first to read a study that arrived hours ago: the reading worklist
        if worked and ctx.get("fresh_first") and \
                ctx.get("fresh_habit", -1.0) >= self.params.get("habit_share", 0.5):
            return 2  # a result opened as it arrived, by a user who opens results that way
        # a department whose studies the user works on (a CT technologist scans for every
        # reading section; an emergency physician orders chest and body studies): off by default
        return 1 if self.params.get("worked_departments", False) and worked else 0

    def evaluate(self, ctx: dict) -> list[dict]:
        if not ctx["patient_id"] or ctx["outcome"] != "success":
            return []
        row = ctx["watch"]
        category = row["category"] if row else None
        if category is None:
            sens = ctx["study"].get("sensitivity")
            if sens in ("vip", "restricted"):
                category = sens
        if category is None:
            return []
        if row and row.get("employee_user_id") == ctx["user_id"]:
            return []  # self access has its own detector
        team = self.params.get("team_roles", ())
        groups = [(r, d) for r in ctx["roles"] if r in team
                  for d in {ctx["department"], ctx["user"].get("department")} if d]
        if groups:
            cared = ctx["shared"].note_team(ctx["patient_id"], groups, ctx["user_id"], ctx["ms"],
                                            self.params.get("team_hours", 72) * HOUR)
            if cared and category == "employee" and row:
                # a colleague's record: the curious co-worker is the risk, so the own
                # department's team does not explain it
                emp = (ctx.get("roster_of") or {}).get(row.get("employee_user_id") or "") or {}
                cared = emp.get("department") not in {d for _, d in groups}
            ctx["care_team"] = cared
        rel = ctx["shared"].note_watch(ctx["patient_id"], ctx["user_id"], ctx["ms"])
        if ctx["ms"] - rel[0] > self.params.get("relation_hours", 12) * HOUR:
            return []  # an established relation: reported when it began, not at every visit
        if rel[1] == 1 and self.params.get("work_carries", True):
            return []  # the relation began with the study's work: the priors a reader compares,
            # the earlier results a physician looks at with the new one
        study = ctx["study"]
        dept = study.get("department") or ctx.get("study_home")
        if not dept and not study.get("uid"):
            return []  # a worklist query: no study to judge
        why = self.work(ctx, dept)
        if why:
            if why == 2 and not rel[1]:
                rel[1] = 1
            return []
        rel[1] = 2
        score = 0.8 if category in ("vip", "employee") else 0.7
        summary = (f"{ctx['user_id']} ({', '.join(ctx['roles']) or 'no role'}, "
                   f"{ctx['department']}) opened the record of {category} patient "
                   f"{ctx['patient_id']} of {dept or 'a department the events do not name'}, "
                   f"outside their department")
        return [self.hit(score, summary, [item(f"watchlist:{category}", 1, 0, "rule")])]
