"""Small builders for Grafana dashboard JSON (Grafana >= 10, schemaVersion 39) on the ClickHouse
plugin. `streamer dashboards build` writes dashboards/*.json from streamer.dashboards.catalog."""

from __future__ import annotations

import json
from pathlib import Path

from streamer.dashboards.checks import DATASOURCE_REF, MODERN_TAG, PLUGIN_TYPE

SCHEMA_VERSION = 39
PLUGIN_VERSION = "4.14.1"  # last plugin release for Grafana 10.0-11.5; 4.15+ reads these unchanged
FORMAT = {"timeseries": 0, "table": 1, "logs": 2}

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_COLORS = {"low": "blue", "medium": "yellow", "high": "orange", "critical": "red", "none": "green"}


def bucket(column: str, alias: str = "time") -> str:
    """Time bucket of `$__interval_s` seconds that ClickHouse 18.16 also runs
    (`$__timeInterval` expands to toStartOfInterval, which 18.16 lacks)."""
    return f"toDateTime(intDiv(toUInt32(toDateTime({column})), $__interval_s) * $__interval_s) AS {alias}"


def filters(**columns: str) -> str:
    """`AND $__conditionalAll(col IN (${var:sqlstring}), $var)` for each variable=column."""
    return "".join(
        f"\n  AND $__conditionalAll({col} IN (${{{var}:sqlstring}}), ${var})" for var, col in columns.items())


def target(sql: str, fmt: str = "table", ref: str = "A") -> dict:
    return {
        "refId": ref,
        "datasource": dict(DATASOURCE_REF),
        "editorType": "sql",
        "format": FORMAT[fmt],
        "queryType": "timeseries" if fmt == "timeseries" else fmt,
        "rawSql": sql.strip(),
        "pluginVersion": PLUGIN_VERSION,
    }


def panel(kind: str, title: str, sql: str, w: int = 12, h: int = 8, description: str = "",
          modern: str = "", unit: str = "", links: dict[str, str] | None = None,
          stacked: bool = False, bars: bool = False, options: dict | None = None,
          overrides: list | None = None, fmt: str | None = None) -> dict:
    """One panel with one query. `modern` names what needs ClickHouse newer than 18.16;
    `links` maps a column to a data-link URL (e.g. the user investigation)."""
    fmt = fmt or ("timeseries" if kind == "timeseries" else "table")
    text = description
    if modern:
        text = f"{text} {MODERN_TAG} ({modern})".strip()
    defaults: dict = {"unit": unit} if unit else {}
    custom: dict = {}
    if kind == "timeseries":
        custom = {"drawStyle": "bars" if bars else "line", "lineWidth": 1,
                  "fillOpacity": 80 if bars else 20 if stacked else 0,
                  "stacking": {"mode": "normal" if stacked else "none", "group": "A"}}
    if kind == "barchart" and stacked:
        options = {**(options or {}), "stacking": "normal"}
    if kind in ("piechart", "bargauge"):  # one slice / bar per row, not one per column
        options = {"reduceOptions": {"values": True, "calcs": [], "fields": ""}, **(options or {})}
    overrides = list(overrides or [])
    for column, url in (links or {}).items():
        overrides.append({"matcher": {"id": "byName", "options": column},
                          "properties": [{"id": "links", "value": [{"title": "Investigate", "url": url}]}]})
    return {
        "type": kind,
        "title": title,
        "description": text,
        "datasource": dict(DATASOURCE_REF),
        "gridPos": {"x": 0, "y": 0, "w": w, "h": h},
        "fieldConfig": {"defaults": {**defaults, **({"custom": custom} if custom else {})},
                        "overrides": overrides},
        "options": options or {},
        "targets": [target(sql, fmt)],
    }


def severity_overrides() -> list[dict]:
    return [{"matcher": {"id": "byName", "options": s},
             "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": c}}]}
            for s, c in SEVERITY_COLORS.items()]


def layout(panels: list[dict]) -> list[dict]:
    """Place panels left to right, wrapping at 24 columns; assign ids 1..n."""
    x = y = row_h = 0
    for i, p in enumerate(panels, start=1):
        g = p["gridPos"]
        if x + g["w"] > 24:
            x, y, row_h = 0, y + row_h, 0
        g["x"], g["y"] = x, y
        x += g["w"]
        row_h = max(row_h, g["h"])
        p["id"] = i
    return panels


def datasource_variable() -> dict:
    return {"type": "datasource", "name": "datasource", "label": "ClickHouse", "query": PLUGIN_TYPE,
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": [], "includeAll": False,
            "multi": False}


def query_variable(name: str, label: str, sql: str, include_all: bool = True, multi: bool = True) -> dict:
    current = ({"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {})
    return {"type": "query", "name": name, "label": label, "datasource": dict(DATASOURCE_REF),
            "query": sql, "definition": sql, "refresh": 2, "sort": 1, "regex": "", "hide": 0,
            "includeAll": include_all, "multi": multi, "allValue": None, "current": current,
            "options": []}


def custom_variable(name: str, label: str, values: tuple[str, ...]) -> dict:
    return {"type": "custom", "name": name, "label": label, "query": ",".join(values),
            "includeAll": True, "multi": True, "allValue": None, "hide": 0,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [{"selected": False, "text": v, "value": v} for v in values]}


USER = query_variable("user", "User", (
    "SELECT DISTINCT user_id FROM user_hourly WHERE $__timeFilter(hour) ORDER BY user_id LIMIT 5000"))
DEPARTMENT = query_variable("department", "Department", (
    "SELECT DISTINCT department FROM department_hourly WHERE $__timeFilter(hour) AND department != '' "
    "ORDER BY department"))
DETECTOR = query_variable("detector", "Detector", (
    "SELECT DISTINCT detector FROM alerts WHERE $__timeFilter(first_event_time) AND detector != '' "
    "ORDER BY detector"))
SEVERITY = custom_variable("severity", "Severity", SEVERITIES)


def dashboard(uid: str, title: str, description: str, panels: list[dict], variables: list[dict],
              time_from: str = "now-24h", tags: tuple[str, ...] = ()) -> dict:
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["pacs-audit", *tags],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard"}]},
        "links": [{"type": "dashboards", "tags": ["pacs-audit"], "asDropdown": True,
                   "title": "PACS audit", "includeVars": False, "keepTime": True}],
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": layout(panels),
    }


def write(dashboards: list[dict], folder: Path) -> list[Path]:
    """Write each dashboard as <folder>/<uid without 'pacs-'>.json; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in dashboards:
        path = folder / f"{d['uid'].removeprefix('pacs-')}.json"
        path.write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
