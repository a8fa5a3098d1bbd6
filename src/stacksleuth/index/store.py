"""The event store: DuckDB over the Parquet parts, queried by the correlation and diagnosis layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from stacksleuth.events import COLUMNS, Event

_SELECT = ", ".join(COLUMNS)


class EventStore:
    """Read access to one bundle's events; every query returns `Event`s or plain values."""

    def __init__(self, parts_dir: Path, database: Path | None = None) -> None:
        self.db = duckdb.connect(str(database) if database else ":memory:")
        self.db.execute("SET memory_limit='512MB'")
        self.db.execute("SET preserve_insertion_order=false")
        pattern = str(parts_dir / "*.parquet")
        self.db.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{pattern}')")

    def keep_between(self, since: str | None, until: str | None) -> int:
        """Forget timestamped events outside [since, until] (undated ones stay); how many were dropped."""
        where = " OR ".join(c for c, v in (("ts < ?", since), ("ts > ?", until)) if v is not None)
        if not where:
            return 0
        params = [v for v in (since, until) if v is not None]
        outside = int(self.scalar(f"SELECT count(*) FROM events WHERE ts IS NOT NULL AND ({where})", params))
        self.db.execute(f"DELETE FROM events WHERE ts IS NOT NULL AND ({where})", params)
        return outside

    def events(self, where: str = "TRUE", params: list[Any] | None = None, limit: int | None = None) -> list[Event]:
        """Events matching a SQL condition, in time order (host, file, line break ties)."""
        sql = f"SELECT {_SELECT} FROM events WHERE {where} ORDER BY ts NULLS FIRST, host, file, line"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [Event.from_row(r) for r in self.db.execute(sql, params or []).fetchall()]

    def events_by_key(self, keys: list[tuple[int, str | None, str | None]], limit: int) -> dict[int, list[Event]]:
        """Events of many groups at once; a group is (id, request id, instance uuid).

        An event joins a group when its request id or global request id is the group's request id, or its
        instance is the group's instance. Three hash joins, one pass each, instead of a scan per group.
        At most `limit` events per group, the earliest.
        """
        if not keys:
            return {}
        table = pa.table({"k": [k[0] for k in keys], "req": [k[1] for k in keys], "inst": [k[2] for k in keys]})
        self.db.register("group_keys", table)
        try:
            rows = self.db.execute(
                f"""
                WITH hits AS (
                    SELECT g.k, e.* FROM events e JOIN group_keys g ON e.request_id = g.req
                    UNION SELECT g.k, e.* FROM events e JOIN group_keys g ON e.global_request_id = g.req
                    UNION SELECT g.k, e.* FROM events e JOIN group_keys g ON e.instance = g.inst
                ), ranked AS (
                    SELECT *, row_number() OVER (PARTITION BY k ORDER BY ts NULLS FIRST, host, file, line) AS n
                    FROM hits
                )
                SELECT k, {_SELECT} FROM ranked WHERE n <= {int(limit)} ORDER BY k, n
                """
            ).fetchall()
        finally:
            self.db.unregister("group_keys")
        grouped: dict[int, list[Event]] = {k[0]: [] for k in keys}
        for row in rows:
            grouped[row[0]].append(Event.from_row(row[1:]))
        return grouped

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """The first value of a query's first row."""
        row = self.db.execute(sql, params or []).fetchone()
        return row[0] if row else None

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """All rows of a query."""
        return self.db.execute(sql, params or []).fetchall()

    def close(self) -> None:
        """Release DuckDB's resources."""
        self.db.close()
