"""Alerting configuration as data: routes and receivers, silences, inhibition rules.

Files in `schemas/alerting/` (overridable folder): `routes.yaml`, `silences.yaml`, `inhibit.yaml`,
each checked against its JSON Schema next to it. Durations are `500ms`, `30s`, `5m`, `4h`, `7d`;
times are RFC 3339.

>>> parse_duration("5m"), parse_duration("1h30m"), parse_duration(250)
(300000, 5400000, 250)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

from streamer.alert.matchers import Matcher, matches_all, parse_matchers
from streamer.alert.model import DEFAULT_FINGERPRINT_LABELS, SEVERITY_RANK, severity_rank
from streamer.paths import schemas_dir
from streamer.timeutil import parse_time

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
RECEIVER_TYPES = ("webhook", "pagerduty", "alertmanager", "log")


def parse_duration(value: str | int) -> int:
    """Duration text (`30s`, `1h30m`) or integer milliseconds -> milliseconds."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 5m, 4h, 1d)")
    return sum(int(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class Receiver:
    name: str
    type: str
    send_resolved: bool = True
    url: str = ""  # empty: the URL from settings for this type


@dataclass(frozen=True)
class Route:
    """A node of the routing tree; children inherit unset fields from their parent."""

    id: str
    receiver: str
    matchers: tuple[Matcher, ...] = ()
    min_severity: str = ""
    group_by: tuple[str, ...] = ("user_id",)
    group_wait_ms: int = 30_000
    group_interval_ms: int = 300_000
    repeat_interval_ms: int = 4 * 3_600_000
    continue_: bool = False
    routes: tuple["Route", ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.min_severity and severity_rank(labels.get("severity", "")) < severity_rank(self.min_severity):
            return False
        return matches_all(self.matchers, labels)

    def match(self, labels: Mapping[str, str]) -> list["Route"]:
        """Routes (leaves or this node) an alert with these labels goes to, Alertmanager-style."""
        if not self.matches(labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found += hits
            if hits and not child.continue_:
                break
        return found or [self]

    def walk(self):
        yield self
        for child in self.routes:
            yield from child.walk()


@dataclass(frozen=True)
class Silence:
    """Mutes alerts matching all matchers between starts_ms and ends_ms, for a stated reason."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_ms: int
    ends_ms: int
    reason: str
    created_by: str
    ticket: str = ""

    def active(self, now_ms: int) -> bool:
        return self.starts_ms <= now_ms < self.ends_ms


@dataclass(frozen=True)
class InhibitRule:
    """A firing source alert mutes target alerts that share the `equal` labels."""

    name: str
    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True)
class AlertingConfig:
    route: Route
    receivers: dict[str, Receiver]
    silences: tuple[Silence, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    fingerprint_labels: tuple[str, ...] = DEFAULT_FINGERPRINT_LABELS
    resolve_timeout_ms: int = 24 * 3_600_000
    grafana_url: str = ""

    def routes(self) -> dict[str, Route]:
        return {r.id: r for r in self.route.walk()}


def _schema(name: str, folder: Path) -> dict:
    return json.loads((folder / f"{name}.schema.json").read_text())


def _load_yaml(path: Path, schema: dict) -> Any:
    data = yaml.safe_load(path.read_text()) if path.exists() else None
    if data is None:
        return None
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise ValueError(f"{path}: {where}: {exc.message}") from exc
    return data


def _route(data: Mapping, parent: Route | None, rid: str, page_min_severity: str) -> Route:
    base = parent or Route(id=rid, receiver=data["receiver"])
    min_sev = data.get("min_severity", "")
    if data.get("page") and page_min_severity:
        min_sev = page_min_severity
    node = replace(
        base, id=rid, receiver=data.get("receiver", base.receiver),
        matchers=parse_matchers(data.get("matchers", ())), min_severity=min_sev,
        group_by=tuple(data.get("group_by", base.group_by)),
        group_wait_ms=parse_duration(data.get("group_wait", base.group_wait_ms)),
        group_interval_ms=parse_duration(data.get("group_interval", base.group_interval_ms)),
        repeat_interval_ms=parse_duration(data.get("repeat_interval", base.repeat_interval_ms)),
        continue_=bool(data.get("continue", False)), routes=())
    children = tuple(_route(c, node, f"{rid}.{i}", page_min_severity) for i, c in enumerate(data.get("routes", ())))
    return replace(node, routes=children)


def parse_silences(items: list[Mapping]) -> tuple[Silence, ...]:
    return tuple(Silence(
        id=str(s["id"]), matchers=parse_matchers(s["matchers"]), starts_ms=parse_time(s["starts_at"]),
        ends_ms=parse_time(s["ends_at"]), reason=s["reason"], created_by=s["created_by"],
        ticket=str(s.get("ticket", ""))) for s in items or ())


def load_config(folder: str | Path | None = None, *, page_min_severity: str = "",
                grafana_url: str = "") -> AlertingConfig:
    """Read and check routes.yaml, silences.yaml and inhibit.yaml; raises ValueError on bad data."""
    folder = Path(folder) if folder else schemas_dir() / "alerting"
    schemas = schemas_dir() / "alerting"
    if page_min_severity and page_min_severity not in SEVERITY_RANK:
        raise ValueError(f"page_min_severity {page_min_severity!r} is not a severity")
    routes = _load_yaml(folder / "routes.yaml", _schema("routes", schemas))
    if routes is None:
        raise ValueError(f"{folder / 'routes.yaml'} is missing or empty")
    receivers = {r["name"]: Receiver(r["name"], r["type"], r.get("send_resolved", True), r.get("url", ""))
                 for r in routes["receivers"]}
    root = _route(routes["route"], None, "0", page_min_severity)
    for r in root.walk():
        if r.receiver not in receivers:
            raise ValueError(f"route {r.id} names unknown receiver {r.receiver!r}")
    silences = parse_silences((_load_yaml(folder / "silences.yaml", _schema("silences", schemas)) or {})
                              .get("silences", []))
    inhibit = (_load_yaml(folder / "inhibit.yaml", _schema("inhibit", schemas)) or {}).get("inhibit_rules", [])
    rules = tuple(InhibitRule(r["name"], parse_matchers(r["source_matchers"]), parse_matchers(r["target_matchers"]),
                              tuple(r.get("equal", ()))) for r in inhibit)
    return AlertingConfig(
        route=root, receivers=receivers, silences=silences, inhibit_rules=rules,
        fingerprint_labels=tuple(routes.get("fingerprint_labels", DEFAULT_FINGERPRINT_LABELS)),
        resolve_timeout_ms=parse_duration(routes.get("resolve_timeout", "24h")), grafana_url=grafana_url)
