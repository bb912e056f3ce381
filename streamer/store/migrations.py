"""Numbered ClickHouse migrations (schemas/clickhouse/NNNN_name.sql), resolved for the server version.

A migration file is a list of `;`-terminated statements with two kinds of markers:

- macros `{{...}}`: `{{db}}`, `{{LowCardinality(String)}}`, `{{DateTime64(3)}}` and
  `{{TTL <expr>}}` (see MACROS below), replaced by what the server supports;
- line blocks `-- @if version >= 19.6` ... `-- @else` ... `-- @endif`, kept or dropped.

>>> resolve("x {{LowCardinality(String)}} -- @x", (18, 16), "db", 7)
'x String -- @x'
>>> resolve("t {{DateTime64(3)}} {{TTL toDateTime(t)}}", (26, 9), "db", 5)
"t DateTime64(3, 'UTC') TTL toDateTime(t) + INTERVAL 5 YEAR"
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from streamer.paths import schemas_dir

# Versions (major, minor) from which a feature is used; below them the fallback applies.
LOW_CARDINALITY = (19, 0)   # experimental before 19.0
DATETIME64 = (20, 1)        # DateTime64 arrived in 20.1
TTL = (19, 6)               # table TTL arrived in 19.6

MIGRATIONS_TABLE = "schema_migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_MACRO = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_IF = re.compile(r"^\s*--\s*@if\s+version\s*(>=|<)\s*(\d+)\.(\d+)\s*$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]


def parse_version(text: str) -> tuple[int, int]:
    """'18.16.1' or '26.9.2.1' -> (major, minor)."""
    parts = [int(p) for p in re.findall(r"\d+", text)[:2]]
    if len(parts) < 2:
        raise ValueError(f"not a ClickHouse version: {text!r}")
    return parts[0], parts[1]


def discover(folder: Path | None = None) -> list[Migration]:
    """Migrations in version order; duplicate numbers are an error."""
    folder = folder or schemas_dir() / "clickhouse"
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        m = _FILE.match(path.name)
        if not m:
            raise ValueError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise ValueError(f"two migrations numbered {version:04d}: {found[version].path.name}, {path.name}")
        found[version] = Migration(version, m.group(2), path)
    return [found[v] for v in sorted(found)]


def _macro(body: str, version: tuple[int, int], db: str, retention_years: int) -> str:
    if body == "db":
        return db
    if body == "LowCardinality(String)":
        return body if version >= LOW_CARDINALITY else "String"
    if body == "DateTime64(3)":
        return "DateTime64(3, 'UTC')" if version >= DATETIME64 else "DateTime('UTC')"
    if body.startswith("TTL "):
        return f"{body} + INTERVAL {retention_years} YEAR" if version >= TTL else ""
    raise ValueError(f"unknown migration macro {{{{{body}}}}}")


def resolve(text: str, version: tuple[int, int], db: str, retention_years: int) -> str:
    """Apply `-- @if` blocks and macros for a server of `version`."""
    out, stack = [], []  # stack of (condition, in_else)
    for line in text.splitlines():
        m = _IF.match(line)
        if m:
            want = (int(m.group(2)), int(m.group(3)))
            stack.append([version >= want if m.group(1) == ">=" else version < want, False])
            continue
        if re.match(r"^\s*--\s*@else\s*$", line):
            if not stack:
                raise ValueError("-- @else without -- @if")
            stack[-1][1] = True
            continue
        if re.match(r"^\s*--\s*@endif\s*$", line):
            if not stack:
                raise ValueError("-- @endif without -- @if")
            stack.pop()
            continue
        if all(cond != in_else for cond, in_else in stack):
            out.append(line)
    if stack:
        raise ValueError("-- @if without -- @endif")
    text = "\n".join(out)
    return _MACRO.sub(lambda m: _macro(m.group(1), version, db, retention_years), text)


def statements(sql: str) -> list[str]:
    """Split resolved SQL into statements: comment lines dropped, `;` at a line end ends one."""
    result, current = [], []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        current.append(line)
        if stripped.endswith(";"):
            stmt = "\n".join(current).strip().rstrip(";").strip()
            if stmt:
                result.append(stmt)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        result.append(tail)
    return result


def migrations_table_sql(db: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {db}.{MIGRATIONS_TABLE} (version UInt32, name String, "
            "checksum String, server_version String, applied_at DateTime('UTC')) "
            "ENGINE = MergeTree() ORDER BY version")
