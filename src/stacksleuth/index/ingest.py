"""Parse every log file into Parquet parts, in parallel across cores, with bounded memory.

Each worker parses whole files and writes row groups of `BATCH` events, so memory depends on the batch,
not on the input size.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from stacksleuth.events import COLUMNS, Row
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.registry import PARSERS
from stacksleuth.sources.interface import LogFile
from stacksleuth.sources.openers import open_text

BATCH = 65536
#: Below this many bytes in all, parsing in this process beats starting workers.
PARALLEL_THRESHOLD = 16 * 1024 * 1024

SCHEMA = pa.schema(
    [
        ("host", pa.string()), ("file", pa.string()), ("line", pa.int64()), ("ts", pa.string()),
        ("service", pa.string()), ("level", pa.string()), ("logger", pa.string()), ("pid", pa.string()),
        ("global_request_id", pa.string()), ("request_id", pa.string()), ("instance", pa.string()),
        ("message", pa.string()), ("detail", pa.string()), ("exception", pa.string()), ("status", pa.int32()),
    ]
)
assert tuple(SCHEMA.names) == COLUMNS


@dataclass(frozen=True, slots=True)
class FileReport:
    """What parsing one file produced: counts for `parse`, and an error line if it could not be read."""

    host: str
    file: str
    service: str
    fmt: str
    stats: ParseStats
    error: str | None = None


def ingest(files: list[LogFile], parts_dir: Path, workers: int | None = None) -> list[FileReport]:
    """Parse `files` into `parts_dir/*.parquet`; returns one report per file, in input order."""
    parts_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(f, parts_dir / f"part-{i:06d}.parquet") for i, f in enumerate(files)]
    total = sum(_size(f.path) for f in files)
    if total < PARALLEL_THRESHOLD or len(files) == 1:
        return [parse_file(f, out) for f, out in jobs]
    count = workers or os.cpu_count() or 1
    # biggest files first, so one large file does not start last and leave a core idle
    order = sorted(range(len(jobs)), key=lambda i: -_size(jobs[i][0].path))
    with ProcessPoolExecutor(max_workers=count, mp_context=get_context("fork")) as pool:
        futures = {i: pool.submit(parse_file, *jobs[i]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]


def parse_file(log: LogFile, out: Path) -> FileReport:
    """Parse one file into one Parquet file; a read error is reported, never raised."""
    stats = ParseStats()
    parser = PARSERS[log.fmt]
    meta = FileMeta(log.host, log.display, log.service)
    try:
        with open_text(log.path) as fh:
            lines = _counting(fh, stats)
            _write(parser.parse(lines, meta, stats), out)
    except (OSError, EOFError, ValueError) as exc:
        return FileReport(log.host, log.display, log.service, log.fmt, stats,
                          f"{log.display}:{stats.lines}: cannot read further ({exc.__class__.__name__}: {exc})")
    return FileReport(log.host, log.display, log.service, log.fmt, stats)


def _counting(lines: Iterable[str], stats: ParseStats) -> Iterator[str]:
    for line in lines:
        stats.lines += 1
        yield line


def _write(rows: Iterable[Row], out: Path) -> None:
    writer = pq.ParquetWriter(out, SCHEMA, compression="zstd")
    try:
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                writer.write_table(_table(batch))
                batch = []
        writer.write_table(_table(batch))
    finally:
        writer.close()


def _table(rows: list[Row]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [[] for _ in COLUMNS]
    return pa.Table.from_arrays([pa.array(col, type=t) for col, t in zip(columns, SCHEMA.types)], schema=SCHEMA)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
