"""The event store: DuckDB over the Parquet parts, queried by the correlation and diagnosis layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from stacksleuth.events import COLUMNS, Event

_SELECT = ", ".join(COLUMNS)


class EventStore:
    """Read access to one bundle's events; every query returns `Event`s or plain values."""

    def __init__(self, parts_dir: Path, database: Path | None = None) -> None:
        self.db = duckdb.connect(str(database) if database else ":memory:")
        self.db.execute("SET memory_limit='2GB'")
        self.db.execute("SET preserve_insertion_order=false")
        pattern = str(parts_dir / "*.parquet")
        self.db.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{pattern}')")

    def events(self, where: str = "TRUE", params: list[Any] | None = None, limit: int | None = None) -> list[Event]:
        """Events matching a SQL condition, in time order (host, file, line break ties)."""
        sql = f"SELECT {_SELECT} FROM events WHERE {where} ORDER BY ts NULLS FIRST, host, file, line"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [Event.from_row(r) for r in self.db.execute(sql, params or []).fetchall()]

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
