"""Expand a panel's SQL the way Grafana and the ClickHouse plugin do before ClickHouse sees it.

Target: grafana-clickhouse-datasource v4.x on Grafana >= 10 (the engine of v4.0-v4.18, the plugin
SDK's `sqlutil.Interpolate`, in its bracket-balancing form). Older SDKs split arguments on every
comma and v4.19+ (macropro) parses them itself; panels keep macro arguments to plain column names
so every engine expands them identically. Order, as in the browser and the plugin backend:

1. `$__conditionalAll(cond, $var)` -> `cond`, or `1=1` when the variable is empty or All
   (plugin frontend, `CHDatasource.applyConditionalAll`, innermost-last).
2. Grafana's template interpolation: `$var`, `${var}`, `${var:format}`, `[[var]]`, and the
   built-ins `$__from`, `$__to`, `$__interval`, `$__interval_ms`, `$__range_s`.
3. The plugin's backend macros (`pkg/macros/macros.go`), longest name first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

ALL = "$__all"


class MacroError(ValueError):
    """A macro with the wrong arguments, or a variable format Grafana does not know."""


@dataclass(frozen=True)
class Variable:
    """A template variable's current state: selected `value` (str, list, or ALL) and options."""

    name: str
    value: str | list[str]
    options: tuple[str, ...] = ()
    all_value: str | None = None

    @property
    def is_all(self) -> bool:
        v = self.value
        return v == ALL or (isinstance(v, list) and ALL in v)


@dataclass(frozen=True)
class QueryContext:
    """Time range (epoch ms, UTC), the panel interval and the dashboard's variables."""

    start_ms: int
    end_ms: int
    interval_ms: int | None = None
    max_data_points: int = 1000
    variables: dict[str, Variable] = field(default_factory=dict)

    @property
    def interval(self) -> int:
        """The panel interval in ms: given, or Grafana's rounded range / max data points."""
        if self.interval_ms is not None:
            return self.interval_ms
        return round_interval((self.end_ms - self.start_ms) / max(self.max_data_points, 1))


# --- Grafana's interval rounding (rangeutil.roundInterval) and formatting (secondsToHms) ---------

_ROUNDING = (
    (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
    (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000),
    (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000), (1050000, 900000),
    (1500000, 1200000), (2700000, 1800000), (5400000, 3600000), (9000000, 7200000),
    (16200000, 10800000), (32400000, 21600000), (86400000, 43200000), (604800000, 86400000),
    (1814400000, 604800000), (3628800000, 2592000000),
)


def round_interval(ms: float) -> int:
    for limit, value in _ROUNDING:
        if ms < limit:
            return value
    return 31536000000


def format_interval(ms: int) -> str:
    """`$__interval` text: 500ms, 30s, 5m, 1h, 1d, 1w, 1y."""
    for unit, size in (("y", 31536000000), ("w", 604800000), ("d", 86400000), ("h", 3600000),
                       ("m", 60000), ("s", 1000)):
        if ms >= size:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


# --- step 1: $__conditionalAll ------------------------------------------------------------------

_CONDITIONAL = "$__conditionalAll("
_VAR_IN_ARG = re.compile(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+")


def _frontend_args(sql: str, open_paren: int) -> list[str]:
    """Arguments of the call whose '(' is at `open_paren`, split on top-level commas."""
    args, depth, start = [], 0, open_paren + 1
    for m in re.finditer(r"[(),]", sql[open_paren:]):
        i = open_paren + m.start()
        if m.group() == "(":
            depth += 1
        elif m.group() == ")":
            depth -= 1
        if m.group() == "," and depth == 1:
            args.append(sql[start:i])
            start = i + 1
        if depth == 0:
            args.append(sql[start:i])
            return args
    return []


def apply_conditional_all(sql: str, variables: dict[str, Variable]) -> str:
    index = sql.rfind(_CONDITIONAL)
    while index != -1:
        args = _frontend_args(sql, index + len(_CONDITIONAL) - 1)
        if len(args) != 2:
            return sql  # the plugin leaves a malformed call alone
        phrase = args[0]
        found = _VAR_IN_ARG.search(args[1].strip())
        if found and found.group() in variables:
            var = variables[found.group()]
            value = ",".join(var.value) if isinstance(var.value, list) else var.value
            if value in ("", ALL):
                phrase = "1=1"
        sql = sql.replace(f"{_CONDITIONAL}{args[0]},{args[1]})", phrase, 1)
        index = sql.rfind(_CONDITIONAL)
    return sql


# --- step 2: template variables -----------------------------------------------------------------

_TEMPLATE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")


def _plugin_default(value: str | list[str]) -> str:
    return "'" + "','".join(value) + "'" if isinstance(value, list) else value


def format_value(value: str | list[str], fmt: str | None) -> str:
    """Grafana's formatRegistry; `None` is the ClickHouse plugin's own default."""
    values = value if isinstance(value, list) else [value]
    if fmt is None:
        return _plugin_default(value)
    if fmt == "raw":
        return ",".join(values) if isinstance(value, list) else value
    if fmt == "csv":
        return ",".join(values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt == "json":
        return json.dumps(value, separators=(",", ":"))
    if fmt == "text":
        return " + ".join(values)
    raise MacroError(f"unknown variable format {fmt!r}")


FORMATS = ("raw", "csv", "singlequote", "doublequote", "sqlstring", "pipe", "json", "text")


def _builtin(name: str, ctx: QueryContext) -> str | None:
    return {
        "__from": str(ctx.start_ms),
        "__to": str(ctx.end_ms),
        "__interval": format_interval(ctx.interval),
        "__interval_ms": str(ctx.interval),
        "__range_s": str((ctx.end_ms - ctx.start_ms) // 1000),
        "__range_ms": str(ctx.end_ms - ctx.start_ms),
    }.get(name)


def interpolate_variables(sql: str, ctx: QueryContext) -> str:
    """Grafana's templateSrv.replace with the plugin's default format; unknown names stay."""

    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        var = ctx.variables.get(name)
        if var is None:
            builtin = _builtin(name, ctx)
            return m.group(0) if builtin is None else builtin
        if var.is_all:
            if var.all_value is not None and fmt not in ("text", "queryparam"):
                return interpolate_variables(var.all_value, ctx)
            return format_value(list(var.options), fmt)
        return format_value(var.value, fmt)

    return _TEMPLATE.sub(sub, sql)


def variable_references(sql: str) -> set[str]:
    """Names of the variables a query refers to (built-ins and macros excluded)."""
    names = set()
    for m in _TEMPLATE.finditer(sql):
        name = m.group(1) or m.group(2) or m.group(4)
        if not name.startswith("__"):
            names.add(name)
    return names


def variable_formats(sql: str) -> set[str]:
    return {m.group(3) or m.group(6) for m in _TEMPLATE.finditer(sql) if m.group(3) or m.group(6)}


# --- step 3: the plugin's backend macros --------------------------------------------------------

def _to_date(ms: int) -> str:
    return "toDate('" + datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d") + "')"


def _to_datetime(ms: int) -> str:
    return f"toDateTime({ms // 1000})"


def _to_datetime64(ms: int) -> str:
    return f"fromUnixTimestamp64Milli({ms})"


def _one(name: str, args: list[str] | None) -> str:
    if args is None or len(args) != 1:
        raise MacroError(f"$__{name}: unexpected number of arguments: expected 1 argument, "
                         f"received {0 if args is None else len(args)}")
    return args[0]


def _range(name, args, ctx, conv):
    c = _one(name, args)
    return f"{c} >= {conv(ctx.start_ms)} AND {c} <= {conv(ctx.end_ms)}"


def _date_time_filter(name, args, ctx):
    if args is None or len(args) != 2:
        raise MacroError(f"$__{name}: unexpected number of arguments: expected 2 arguments, "
                         f"received {0 if args is None else len(args)}")
    d, t = args
    return (f"({d} >= {_to_date(ctx.start_ms)} AND {d} <= {_to_date(ctx.end_ms)}) AND "
            f"({t} >= {_to_datetime(ctx.start_ms)} AND {t} <= {_to_datetime(ctx.end_ms)})")


MACROS = {
    "fromTime": lambda n, a, c: _to_datetime(c.start_ms),
    "toTime": lambda n, a, c: _to_datetime(c.end_ms),
    "fromTime_ms": lambda n, a, c: _to_datetime64(c.start_ms),
    "toTime_ms": lambda n, a, c: _to_datetime64(c.end_ms),
    "timeFilter": lambda n, a, c: _range(n, a, c, _to_datetime),
    "timeFilter_ms": lambda n, a, c: _range(n, a, c, _to_datetime64),
    "dateFilter": lambda n, a, c: _range(n, a, c, _to_date),
    "dateTimeFilter": _date_time_filter,
    "dt": _date_time_filter,
    "timeInterval": lambda n, a, c: (
        f"toStartOfInterval(toDateTime({_one(n, a)}), INTERVAL {max(c.interval // 1000, 1)} second)"),
    "timeInterval_ms": lambda n, a, c: (
        f"toStartOfInterval(toDateTime64({_one(n, a)}, 3), INTERVAL {max(c.interval, 1)} millisecond)"),
    "interval_s": lambda n, a, c: str(max(c.interval // 1000, 1)),
}


def macro_args(text: str) -> tuple[list[str] | None, int]:
    """(arguments, length of '(...)') at the start of `text`; (None, 0) without brackets."""
    if not text.startswith("("):
        return None, 0
    args, depth, arg = [], 0, []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(arg).strip())
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append("".join(arg).strip())
            arg = []
            continue
        arg.append(ch)
    raise MacroError("failed to parse macro arguments (missing close bracket?)")


def expand_macros(sql: str, ctx: QueryContext) -> str:
    """The plugin backend: each macro name (longest first), each occurrence replaced everywhere."""
    for name in sorted(MACROS, key=len, reverse=True):
        pattern = re.compile(r"\$__" + re.escape(name) + r"\b")
        matches = []
        for m in pattern.finditer(sql):
            args, length = macro_args(sql[m.end():])
            matches.append((sql[m.start():m.end() + length], args))
        for full, args in matches:
            sql = sql.replace(full, MACROS[name](name, args, ctx))
    return sql


_LEFTOVER = re.compile(r"\$__\w+|\$\{?\w+")


def expand(sql: str, ctx: QueryContext) -> str:
    """Panel SQL as ClickHouse receives it."""
    sql = apply_conditional_all(sql, ctx.variables)
    sql = interpolate_variables(sql, ctx)
    return expand_macros(sql, ctx)


def leftovers(sql: str) -> list[str]:
    """Macro or variable references still present in expanded SQL (outside string literals)."""
    unquoted = re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", sql)
    return _LEFTOVER.findall(unquoted)
