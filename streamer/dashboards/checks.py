"""Offline checks of dashboard JSON: what Grafana would reject, and what would render empty.

No official JSON Schema accepts real dashboards, so these are the practical checks: title, uid,
panel ids and grid, datasource references, query format, variables used vs defined, the plugin's
macros (expanded with a dummy range; arguments must be plain column names so both of the plugin's
macro engines agree), and links to other dashboards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from streamer.dashboards.macros import (
    ALL, FORMATS, MacroError, QueryContext, Variable, expand, leftovers, macro_args,
    variable_formats, variable_references,
)

PLUGIN_TYPE = "grafana-clickhouse-datasource"
DATASOURCE_REF = {"type": PLUGIN_TYPE, "uid": "${datasource}"}
UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
PLAIN_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
MACRO_CALL = re.compile(r"\$__(\w+)(?=\()")
LINK_UID = re.compile(r"/d/([a-zA-Z0-9_-]+)")
MODERN_TAG = "[needs modern ClickHouse]"
QUERY_TYPES = ("table", "logs", "timeseries", "traces")


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those nested in collapsed rows."""
    out = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def targets(dashboard: dict) -> list[tuple[dict, dict]]:
    """(panel, target) for every query of the dashboard."""
    return [(p, t) for p in panels(dashboard) for t in p.get("targets", [])]


def needs_modern(panel: dict) -> bool:
    return MODERN_TAG in (panel.get("description") or "")


def dummy_context(dashboard: dict) -> QueryContext:
    """One hour, every variable at a sample value (All when it allows it)."""
    variables = {}
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("includeAll"):
            variables[v["name"]] = Variable(v["name"], ALL, ("x",), v.get("allValue") or None)
        else:
            variables[v["name"]] = Variable(v["name"], "x", ("x",))
    return QueryContext(1_700_000_000_000, 1_700_003_600_000, variables=variables)


def _check_sql(where: str, sql: str, defined: set[str], ctx: QueryContext) -> list[str]:
    problems = []
    for name in sorted(variable_references(sql) - defined):
        problems.append(f"{where}: uses undefined variable ${name}")
    for fmt in sorted(variable_formats(sql) - set(FORMATS)):
        problems.append(f"{where}: unknown variable format {fmt!r}")
    for m in MACRO_CALL.finditer(sql):
        if m.group(1) == "conditionalAll":
            continue
        try:
            args, _ = macro_args(sql[m.end():])
        except MacroError:
            continue  # reported by the expansion below
        for arg in args or []:
            if arg and not PLAIN_ARG.match(arg):
                problems.append(f"{where}: $__{m.group(1)} argument {arg!r} is not a plain column name "
                                "(the plugin's two macro engines split it differently)")
    try:
        rest = leftovers(expand(sql, ctx))
    except MacroError as exc:
        problems.append(f"{where}: {exc}")
    else:
        for token in rest:
            problems.append(f"{where}: {token} is left unexpanded")
    return problems


def check_dashboard(dashboard: dict, known_uids: set[str] | None = None) -> list[str]:
    """Problems found in one dashboard (empty when it is fine)."""
    problems = []
    title = dashboard.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("dashboard has no title")
    uid = dashboard.get("uid")
    if not isinstance(uid, str) or not UID_RE.match(uid):
        problems.append(f"uid {uid!r} must be 1-40 characters of [a-zA-Z0-9_-]")
    schema = dashboard.get("schemaVersion")
    if not isinstance(schema, int) or not 36 <= schema <= 42:
        problems.append(f"schemaVersion {schema!r} must be 36-42 (Grafana 10-11)")
    if dashboard.get("id") not in (None,):
        problems.append("id must be null in a dashboard file (Grafana assigns it)")

    variables = dashboard.get("templating", {}).get("list", [])
    names = [v.get("name") for v in variables]
    defined = set(names)
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"variable {name!r} is defined twice")
    if "datasource" not in defined:
        problems.append("no `datasource` variable")
    ctx = dummy_context(dashboard)
    for v in variables:
        where = f"variable {v.get('name')}"
        if v.get("type") == "datasource" and v.get("query") != PLUGIN_TYPE:
            problems.append(f"{where}: must select a {PLUGIN_TYPE} datasource")
        if v.get("type") == "query":
            if v.get("datasource") != DATASOURCE_REF:
                problems.append(f"{where}: datasource must be {DATASOURCE_REF}")
            query = v.get("query")
            sql = query.get("rawSql") if isinstance(query, dict) else query
            if not sql:
                problems.append(f"{where}: empty query")
            else:
                problems += _check_sql(where, sql, defined - {v["name"]}, ctx)

    ids = [p.get("id") for p in panels(dashboard)]
    for pid in {i for i in ids if ids.count(i) > 1}:
        problems.append(f"panel id {pid!r} is used twice")
    titles = [p.get("title") for p in panels(dashboard) if p.get("type") != "row"]
    for title in {t for t in titles if titles.count(t) > 1}:
        problems.append(f"panel title {title!r} is used twice (links and reports address panels by title)")
    for p in panels(dashboard):
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if not isinstance(p.get("id"), int):
            problems.append(f"{where}: id must be an integer")
        if not p.get("title"):
            problems.append(f"{where}: no title")
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")):
            problems.append(f"{where}: gridPos needs integer x, y, w, h")
        elif g["x"] < 0 or g["w"] < 1 or g["h"] < 1 or g["x"] + g["w"] > 24:
            problems.append(f"{where}: gridPos {g} does not fit 24 columns")
        if p.get("type") == "row":
            continue
        if p.get("datasource") != DATASOURCE_REF:
            problems.append(f"{where}: datasource must be {DATASOURCE_REF}")
        if not p.get("targets"):
            problems.append(f"{where}: no query")
        refs = [t.get("refId") for t in p.get("targets", [])]
        if len(set(refs)) != len(refs) or not all(refs):
            problems.append(f"{where}: every target needs a unique refId")
        for t in p.get("targets", []):
            twhere = f"{where} target {t.get('refId')}"
            if t.get("datasource") != DATASOURCE_REF:
                problems.append(f"{twhere}: datasource must be {DATASOURCE_REF}")
            if t.get("format") not in (0, 1, 2, 3, 4):
                problems.append(f"{twhere}: format must be 0-4")
            if t.get("queryType") not in QUERY_TYPES:
                problems.append(f"{twhere}: queryType must be one of {QUERY_TYPES}")
            if t.get("editorType") != "sql":
                problems.append(f"{twhere}: editorType must be sql")
            if not str(t.get("pluginVersion", "")).startswith("4."):
                problems.append(f"{twhere}: pluginVersion must be 4.x (else the frontend migrates it)")
            if not (t.get("rawSql") or "").strip():
                problems.append(f"{twhere}: empty rawSql")
            else:
                problems += _check_sql(twhere, t["rawSql"], defined, ctx)
        if known_uids is not None:
            for link in _links(p):
                for target_uid in LINK_UID.findall(link):
                    if target_uid not in known_uids:
                        problems.append(f"{where}: links to unknown dashboard {target_uid}")
    return problems


def _links(panel: dict) -> list[str]:
    urls = [link.get("url", "") for link in panel.get("links", [])]
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    urls += [link.get("url", "") for link in defaults.get("links", [])]
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        for prop in override.get("properties", []):
            if prop.get("id") == "links":
                urls += [link.get("url", "") for link in prop.get("value", [])]
    return urls


def dashboard_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.json"))


def check_folder(folder: Path) -> dict[str, list[str]]:
    """{file name: problems} for every dashboard file in `folder` (uids unique across files)."""
    results, loaded = {}, {}
    for path in dashboard_files(folder):
        try:
            loaded[path] = load(path)
        except (OSError, ValueError) as exc:
            results[path.name] = [f"not valid JSON: {exc}"]
    uids = [d.get("uid") for d in loaded.values()]
    for path, dashboard in loaded.items():
        problems = check_dashboard(dashboard, known_uids=set(uids))
        if uids.count(dashboard.get("uid")) > 1:
            problems.append(f"uid {dashboard.get('uid')!r} is used by another file")
        results[path.name] = problems
    if not loaded and not results:
        results["(folder)"] = [f"no dashboard files in {folder}"]
    return results
