"""NativeStore: clickhouse-driver over the native protocol (lz4 compression, optional TLS)."""

from __future__ import annotations

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from streamer.store.base import Store, StoreError


def _short(exc: BaseException) -> str:
    """The server's message without its stack trace."""
    return str(exc).split("Stack trace:")[0].strip().replace("\n", " ")


class NativeStore(Store):
    transport = "native"

    def __init__(self, host: str, port: int, database: str, user: str = "default", password: str = "",
                 secure: bool = False, ca_certs: str = "", compression: bool = True, **kwargs):
        super().__init__(database, **kwargs)
        self.address = f"{host}:{port}"
        options = {"secure": secure, "verify": secure, "connect_timeout": 5, "send_receive_timeout": 60,
                   "settings": {"insert_block_size": 1_048_576}}
        if secure and ca_certs:
            options["ca_certs"] = ca_certs
        if compression:
            options["compression"] = "lz4"
        self._client = Client(host=host, port=port, user=user, password=password, **options)

    def _call(self, sql: str, data=None, **kwargs):
        try:
            return self._client.execute(sql, data, **kwargs) if data is not None else \
                self._client.execute(sql, **kwargs)
        except (ch_errors.Error, OSError, EOFError) as exc:
            self._client.disconnect()  # reconnect on the next call
            raise StoreError(f"ClickHouse {self.address}: {_short(exc)}") from exc

    def _run(self, sql: str) -> None:
        self._call(sql)

    def _select(self, sql: str) -> list[dict]:
        rows, types = self._call(sql, with_column_types=True)
        names = [name for name, _ in types]
        return [dict(zip(names, row)) for row in rows]

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
        data = [[r.get(c) for r in rows] for c in columns]
        self._call(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", data, columnar=True)

    def close(self) -> None:
        self._client.disconnect()
