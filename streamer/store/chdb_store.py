"""ChdbStore: the embedded ClickHouse engine (chdb) on a local folder.

Limit: ClickHouse locks the folder (`status` file), so only ONE process can open it at a time; a
second process gets "Another server instance in same directory is already running". Readers in
another process (dashboards, reports) must go through the process that owns the store, or use
the server transport. One process may reopen the folder after `close()`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import orjson
from chdb import session

from streamer.store.base import Store, StoreError

_FORMAT = "JSONCompactEachRowWithNamesAndTypes"


def _encode(value):
    if isinstance(value, datetime):
        v = value.astimezone(timezone.utc) if value.tzinfo else value
        return v.strftime("%Y-%m-%d %H:%M:%S.") + f"{v.microsecond // 1000:03d}"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


def _converter(type_name: str):
    base = type_name.removeprefix("Nullable(").removeprefix("LowCardinality(")
    if base.startswith("DateTime"):
        return _parse_datetime
    if base.startswith("Date"):
        return lambda v: v if v is None else date.fromisoformat(v)
    if base.startswith(("UInt64", "Int64", "UInt128", "Int128")):
        return lambda v: v if v is None else int(v)
    return None


def _parse_datetime(value):
    if value is None:
        return None
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


class ChdbStore(Store):
    transport = "chdb"

    def __init__(self, path: str, database: str, **kwargs):
        super().__init__(database, **kwargs)
        self.path = path
        try:
            self._session = session.Session(path)
        except Exception as exc:  # noqa: BLE001 - chdb raises plain RuntimeError
            raise StoreError(f"chdb {path}: {exc} (is another process using this folder?)") from exc
        self._run("SET output_format_json_quote_64bit_integers = 0")

    def _call(self, sql: str, fmt: str = "CSV"):
        try:
            return self._session.query(sql, fmt)
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"chdb {self.path}: {exc}") from exc

    def _run(self, sql: str) -> None:
        self._call(sql)

    def _select(self, sql: str) -> list[dict]:
        text = self._call(sql, _FORMAT).bytes()
        lines = text.splitlines()
        if len(lines) < 2:
            return []
        names, types = orjson.loads(lines[0]), orjson.loads(lines[1])
        convert = [(i, f) for i, f in enumerate(map(_converter, types)) if f]
        result = []
        for line in lines[2:]:
            values = orjson.loads(line)
            for i, f in convert:
                values[i] = f(values[i])
            result.append(dict(zip(names, values)))
        return result

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
        body = b"\n".join(orjson.dumps([r.get(c) for c in columns], default=_encode,
                                       option=orjson.OPT_PASSTHROUGH_DATETIME) for r in rows)
        self._call(f"INSERT INTO {table} ({', '.join(columns)}) FORMAT JSONCompactEachRow\n" + body.decode())

    def close(self) -> None:
        try:
            self._session.close()
        except Exception:  # noqa: BLE001
            pass
