"""Run a dashboard's queries against a Store exactly as Grafana would send them: variables
resolved (query variables by running their query), macros expanded for a time range."""

from __future__ import annotations

from dataclasses import dataclass

from streamer.dashboards.checks import panels
from streamer.dashboards.macros import ALL, QueryContext, Variable, expand


@dataclass
class PanelResult:
    panel: dict
    sql: str
    rows: list[dict]
    error: str = ""
    start_ms: int = 0
    end_ms: int = 0
    interval_ms: int = 0


def use_database(store) -> None:
    """Panels name tables without a database, as the datasource's defaultDatabase supplies it."""
    store.execute(f"USE {store.database}")


def _sql_of(var: dict) -> str:
    query = var.get("query")
    return query.get("rawSql", "") if isinstance(query, dict) else str(query or "")


def resolve_variables(dashboard: dict, store, start_ms: int, end_ms: int,
                      chosen: dict[str, str | list[str]] | None = None) -> dict[str, Variable]:
    """Current value of every variable: `chosen`, else All, else the first option."""
    chosen = chosen or {}
    variables: dict[str, Variable] = {}
    for v in dashboard.get("templating", {}).get("list", []):
        name, kind = v["name"], v.get("type")
        if kind == "datasource":
            continue
        if kind == "query":
            ctx = QueryContext(start_ms, end_ms, variables=variables)
            use_database(store)
            rows = store.query(expand(_sql_of(v), ctx))
            options = tuple(str(next(iter(r.values()))) for r in rows)
        elif kind == "custom":
            options = tuple(o.strip() for o in str(v.get("query", "")).split(",") if o.strip())
        else:
            options = ()
        if name in chosen:
            value = chosen[name]
        elif v.get("includeAll"):
            value = [ALL] if v.get("multi") else ALL
        else:
            value = options[0] if options else ""
        variables[name] = Variable(name, value, options, v.get("allValue") or None)
    return variables


def run_dashboard(dashboard: dict, store, start_ms: int, end_ms: int,
                  chosen: dict[str, str | list[str]] | None = None,
                  max_data_points: int = 300) -> list[PanelResult]:
    """Every panel's first query, expanded and run; errors are kept, not raised."""
    variables = resolve_variables(dashboard, store, start_ms, end_ms, chosen)
    ctx = QueryContext(start_ms, end_ms, max_data_points=max_data_points, variables=variables)
    results = []
    for p in panels(dashboard):
        if not p.get("targets"):
            continue
        sql = expand(p["targets"][0]["rawSql"], ctx)
        try:
            use_database(store)
            results.append(PanelResult(p, sql, store.query(sql), "", start_ms, end_ms, ctx.interval))
        except Exception as exc:  # noqa: BLE001 - reported per panel
            results.append(PanelResult(p, sql, [], str(exc).splitlines()[0][:300], start_ms, end_ms,
                                       ctx.interval))
    return results
