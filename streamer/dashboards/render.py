"""PNG previews of dashboards: every panel drawn with matplotlib from the rows its own SQL
returns, laid out on the dashboard's 24-column grid. One PNG per dashboard."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from streamer.dashboards.run import PanelResult  # noqa: E402

ROW_INCHES = 0.42
COL_INCHES = 0.78
PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0",
           "#508642", "#CCA300"]
NAMED = {"blue": "#3274D9", "yellow": "#F2CC0C", "orange": "#FF780A", "red": "#E02F44", "green": "#56A64B"}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _columns(rows: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """(time columns, label columns, numeric columns) judged on the first row."""
    first = rows[0]
    times = [k for k, v in first.items() if isinstance(v, (datetime, date))]
    numbers = [k for k, v in first.items() if _is_number(v)]
    labels = [k for k in first if k not in times and k not in numbers]
    return times, labels, numbers


def _colors(panel: dict) -> dict[str, str]:
    out = {}
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        for prop in o.get("properties", []):
            if prop.get("id") == "color" and prop["value"].get("fixedColor"):
                out[o["matcher"]["options"]] = NAMED.get(prop["value"]["fixedColor"], prop["value"]["fixedColor"])
    return out


def _color(name: str, i: int, colors: dict[str, str]) -> str:
    return colors.get(name, PALETTE[i % len(PALETTE)])


def _text(v) -> str:
    if isinstance(v, datetime):
        return v.strftime("%m-%d %H:%M")
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, list):
        v = ", ".join(map(str, v))
    s = "" if v is None else str(v)
    if not s.strip():
        return "-"  # an empty line would shift the rows below it in a multi-line column
    return s if len(s) <= 28 else s[:25] + "..."


def draw_timeseries(ax, panel, rows, result=None):
    times, labels, numbers = _columns(rows)
    colors = _colors(panel)
    t = times[0]
    series: dict[str, dict] = {}
    for r in rows:
        for n in numbers:
            key = " ".join(str(r[c]) for c in labels) if labels else n
            if labels and len(numbers) > 1:
                key = f"{key} {n}"
            series.setdefault(key, {})[r[t]] = float(r[n] or 0)
    custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
    shown = sorted(series.items())[:12]
    if custom.get("drawStyle") == "bars":
        xs = sorted({x for _, points in shown for x in points})
        nums = matplotlib.dates.date2num(xs)
        gap = result.interval_ms / 86_400_000 if result and result.interval_ms else \
            min((b - a for a, b in zip(nums, nums[1:])), default=1 / 24)
        stacked = custom.get("stacking", {}).get("mode") == "normal"
        base = [0.0] * len(xs)
        for i, (key, points) in enumerate(shown):
            ys = [points.get(x, 0.0) for x in xs]
            ax.bar(xs, ys, width=gap * 0.9, bottom=base if stacked else None, label=key,
                   color=_color(key, i, colors))
            if stacked:
                base = [b + y for b, y in zip(base, ys)]
    else:
        for i, (key, points) in enumerate(shown):
            xs = sorted(points)
            ax.plot(xs, [points[x] for x in xs], lw=1.2, label=key, color=_color(key, i, colors),
                    marker="o" if len(xs) < 60 else None, ms=2.5)
    if result and result.end_ms > result.start_ms:
        ax.set_xlim(datetime.fromtimestamp(result.start_ms / 1000, timezone.utc),
                    datetime.fromtimestamp(result.end_ms / 1000, timezone.utc))
    ax.legend(fontsize=6, loc="upper left", ncol=4, frameon=False)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.2)
    ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%m-%d\n%H:%M"))


def draw_bars(ax, panel, rows, horizontal=False):
    _, labels, numbers = _columns(rows)
    colors = _colors(panel)
    x_field = panel.get("options", {}).get("xField") or (labels[0] if labels else None)
    names = [_text(r.get(x_field, i)) for i, r in enumerate(rows)][:30]
    rows = rows[:30]
    stacked = panel.get("options", {}).get("stacking") == "normal"
    width = 0.8 / (1 if stacked else max(len(numbers), 1))
    base = [0.0] * len(rows)
    for i, n in enumerate(numbers):
        values = [float(r[n] or 0) for r in rows]
        pos = [k + (0 if stacked else (i - (len(numbers) - 1) / 2) * width) for k in range(len(rows))]
        bar = ax.barh if horizontal else ax.bar
        kwargs = {"left" if horizontal else "bottom": base} if stacked else {}
        bar(pos, values, width, label=n, color=_color(n, i, colors), **kwargs)
        if stacked:
            base = [b + v for b, v in zip(base, values)]
    ticks = ax.set_yticks if horizontal else ax.set_xticks
    ticks(range(len(rows)), names, fontsize=6, rotation=0 if horizontal else 30,
          **({} if horizontal else {"ha": "right"}))
    if horizontal:
        ax.invert_yaxis()
    if len(numbers) > 1:
        ax.legend(fontsize=6, frameon=False)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.2, axis="x" if horizontal else "y")


def draw_pie(ax, panel, rows):
    _, labels, numbers = _columns(rows)
    colors = _colors(panel)
    names = [str(r[labels[0]]) for r in rows]
    ax.pie([float(r[numbers[0]]) for r in rows], labels=names, textprops={"fontsize": 7},
           colors=[_color(n, i, colors) for i, n in enumerate(names)], wedgeprops={"width": 0.45})


def draw_stat(ax, panel, rows):
    first = rows[0]
    keys = [k for k, v in first.items() if _is_number(v)] or list(first)
    for i, k in enumerate(keys):
        x = (i + 0.5) / len(keys)
        ax.text(x, 0.5, _text(first[k]), ha="center", va="center", fontsize=20, weight="bold", color="#56A64B")
        ax.text(x, 0.12, k.replace("_", " "), ha="center", va="center", fontsize=7, color="#555")
    ax.axis("off")


def draw_table(ax, panel, rows):
    _, labels, numbers = _columns(rows)
    ax.axis("off")
    if labels and len(numbers) >= 12:  # a numeric matrix, e.g. weekday x hour: draw it as a heatmap
        matrix = [[float(r[n] or 0) for n in numbers] for r in rows]
        ax.axis("on")
        ax.imshow(matrix, aspect="auto", cmap="YlOrRd")
        ax.set_yticks(range(len(rows)), [str(r[labels[0]]) for r in rows], fontsize=7)
        ax.set_xticks(range(len(numbers)), numbers, fontsize=6)
        return
    columns = list(rows[0])[:9]
    cells = [[_text(r[c]) for c in columns] for r in rows[:60]]
    widths = [max(len(c), *(len(row[i]) for row in cells)) + 2 for i, c in enumerate(columns)]
    box = ax.get_position()
    size = max(4.0, min(7.0, box.width * ax.figure.get_figwidth() * 72 / (0.6 * sum(widths))))
    step = size * 1.45 / 72 / (box.height * ax.figure.get_figheight())  # one line, in axes units
    cells = cells[:max(1, int((1 - 2.3 * step) / step))]

    def line(values):
        return "".join(v.ljust(w) for v, w in zip(values, widths))

    ax.text(0, 1, line(columns), fontsize=size, weight="bold", va="top", family="monospace",
            transform=ax.transAxes)
    ax.axhline(1 - 1.15 * step, color="#ccc", lw=0.6)
    for k, row in enumerate(cells):  # one text per row keeps the columns aligned
        ax.text(0, 1 - (k + 1.3) * step, line(row), fontsize=size, va="top", family="monospace",
                transform=ax.transAxes)
    if len(rows) > len(cells):
        ax.text(1, 0, f"{len(cells)} of {len(rows)} rows", ha="right", va="bottom", fontsize=6,
                color="#777", transform=ax.transAxes)


DRAW = {
    "timeseries": draw_timeseries,
    "barchart": draw_bars,
    "bargauge": lambda ax, p, r: draw_bars(ax, p, r, horizontal=True),
    "piechart": draw_pie,
    "stat": draw_stat,
    "table": draw_table,
}


def render_dashboard(dashboard: dict, results: list[PanelResult], out: Path, subtitle: str = "",
                     dpi: int = 90) -> Path:
    """Draw every panel where its gridPos puts it; returns the PNG path."""
    rows_total = max(p.panel["gridPos"]["y"] + p.panel["gridPos"]["h"] for p in results)
    header, footer = 1.5, 0.8
    height = rows_total + header + footer
    fig = plt.figure(figsize=(24 * COL_INCHES, height * ROW_INCHES), dpi=dpi)
    fig.text(0.01, 1 - 0.6 / height, dashboard["title"], fontsize=16, weight="bold", va="center")
    if subtitle:
        fig.text(0.99, 1 - 0.6 / height, subtitle, fontsize=9, ha="right", va="center", color="#555")
    for r in results:
        g = r.panel["gridPos"]
        left, width = (g["x"] + 0.35) / 24, (g["w"] - 0.6) / 24
        top = (header + g["y"] + 0.9) / height
        bottom = (header + g["y"] + g["h"] - (0.9 if r.panel["type"] in ("timeseries", "barchart") else 0.35)) / height
        ax = fig.add_axes([left, 1 - bottom, width, bottom - top])
        fig.text(left, 1 - (header + g["y"] + 0.45) / height, r.panel["title"], fontsize=9, va="center")
        if r.error or not r.rows:
            ax.axis("off")
            ax.text(0.5, 0.5, r.error[:120] or "No data", ha="center", va="center", fontsize=8, color="#c33",
                    wrap=True)
            continue
        if r.panel["type"] == "timeseries":
            draw_timeseries(ax, r.panel, r.rows, r)
        else:
            DRAW.get(r.panel["type"], draw_table)(ax, r.panel, r.rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, facecolor="white")
    plt.close(fig)
    return out
