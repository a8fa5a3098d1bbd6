"""Parse every log file into Parquet parts, in parallel across cores, with bounded memory.

Each worker parses a file, or a byte range of a big plain oslo file (ranges start at a line that always opens
a new record, so tracebacks never straddle two ranges), and writes row groups of `BATCH` events: memory
depends on the batch, not on the input size, and one huge file keeps every core busy.
"""

from __future__ import annotations

import gc
import io
import lzma
import os
import re
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stacksleuth.events import COLUMNS, Row
from stacksleuth.parsers.interface import SAMPLE_LIMIT, FileMeta, ParseStats
from stacksleuth.parsers.registry import PARSERS
from stacksleuth.sources.interface import LogFile
from stacksleuth.sources.openers import compression, open_text

BATCH = 65536
#: Below this many bytes in all, parsing in this process beats starting workers.
PARALLEL_THRESHOLD = 16 * 1024 * 1024
#: Plain oslo files bigger than this are parsed as several byte ranges of about this size.
RANGE_BYTES = 16 * 1024 * 1024
#: Files smaller than this are parsed together, up to this many bytes per Parquet part.
GROUP_BYTES = 8 * 1024 * 1024
#: Formats that may be split, and the line that may open a range: an oslo header whose level is never a
#: traceback continuation (the parser folds only ERROR/TRACE lines into the record before them).
_SPLITTABLE = {"oslo"}
_RANGE_START = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? +\d+ (?:DEBUG|INFO|WARNING|AUDIT|WARN) \S")
_SCAN = 1024 * 1024

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


#: Told (total bytes, bytes parsed so far) as files finish, e.g. to drive a progress bar.
Progress = Callable[[int, int], None]


def ingest(files: list[LogFile], parts_dir: Path, workers: int | None = None,
           progress: Progress | None = None) -> list[FileReport]:
    """Parse `files` into `parts_dir/*.parquet`; returns one report per file, in input order.

    Small files are parsed in groups into one Parquet part each (a Parquet writer costs about a millisecond
    to set up, and bundles have hundreds of small logs); a big plain file is split into byte ranges.
    """
    parts_dir.mkdir(parents=True, exist_ok=True)
    if not files:  # captured state only (server show, saved cloud answers): an empty index, not a missing one
        parse_files([], parts_dir / "empty.parquet")
        return []
    total = sum(_size(f.path) for f in files)
    serial = total < PARALLEL_THRESHOLD or len(files) == 1 and _size(files[0].path) < 2 * RANGE_BYTES
    count = 1 if serial else workers or os.cpu_count() or 1
    jobs = _jobs(files, parts_dir, count)
    reports: dict[int, list[FileReport]] = {}
    done = 0

    def finished(job: _Job, results: list[FileReport]) -> None:
        nonlocal done
        for index, report in zip(job.indices, results, strict=True):
            reports.setdefault(index, []).append(report)
        done += job.size
        if progress is not None:
            progress(total, done)

    if serial:
        for job in jobs:
            finished(job, parse_files(job.logs, job.out, job.byte_range))
    else:
        with ProcessPoolExecutor(max_workers=count, mp_context=get_context("fork"), initializer=_worker_init) as pool:
            futures = {pool.submit(parse_files, job.logs, job.out, job.byte_range): job for job in jobs}
            for future in as_completed(futures):
                finished(futures[future], future.result())
    return [_merge(reports[i]) for i in range(len(files))]


@dataclass(frozen=True, slots=True)
class _Job:
    """Work for one worker call: several whole small files, or one byte range of a big file."""

    indices: list[int]  # positions of the files in the caller's list
    logs: list[LogFile]
    out: Path
    byte_range: tuple[int, int, int] | None
    size: int  # bytes, to schedule the biggest first and to report progress


def _jobs(files: list[LogFile], parts_dir: Path, workers: int) -> list[_Job]:
    jobs: list[_Job] = []
    group: list[int] = []
    group_bytes = 0
    for i, f in enumerate(files):
        size = _size(f.path)
        ranges = _ranges(f) if (workers > 1 or size > 4 * RANGE_BYTES) and size >= GROUP_BYTES else None
        if ranges is not None:
            jobs += [_Job([i], [f], parts_dir / f"part-{i:06d}-{j:04d}.parquet", r, r[1] - r[0])
                     for j, r in enumerate(ranges)]
        elif size >= GROUP_BYTES:
            jobs.append(_Job([i], [f], parts_dir / f"part-{i:06d}.parquet", None, size))
        else:
            group.append(i)
            group_bytes += size
            if group_bytes >= GROUP_BYTES:
                jobs.append(_group(group, files, parts_dir, group_bytes))
                group, group_bytes = [], 0
    if group:
        jobs.append(_group(group, files, parts_dir, group_bytes))
    # biggest jobs first, so a large one does not start last and leave a core idle
    return sorted(jobs, key=lambda job: -job.size)


def _group(indices: list[int], files: list[LogFile], parts_dir: Path, size: int) -> _Job:
    return _Job(list(indices), [files[i] for i in indices], parts_dir / f"part-{indices[0]:06d}-g.parquet", None, size)


def _worker_init() -> None:
    # the parent's objects are never garbage: keep the collector from scanning them in every worker
    gc.freeze()


def _ranges(log: LogFile) -> list[tuple[int, int, int]] | None:
    """(start, end, lines before start) byte ranges of a big plain file, or None to parse it whole."""
    size = _size(log.path)
    if log.fmt not in _SPLITTABLE or size < 2 * RANGE_BYTES:
        return None
    try:
        if compression(log.path) is not None:
            return None
        with open(log.path, "rb") as fh:
            head = fh.read(_SCAN)
            if head.count(b"\r") != head.count(b"\r\n"):
                return None  # lone CR line ends: text mode splits lines where a byte count would not
            starts = [0]
            for nominal in range(RANGE_BYTES, size - RANGE_BYTES // 2, RANGE_BYTES):
                if nominal <= starts[-1]:
                    continue
                start = _record_start(fh, nominal)
                if start is not None and start < size:
                    starts.append(start)
            if len(starts) == 1:
                return None
            # lines before each start, counted as the parser will number them
            fh.seek(0)
            ranges, lines, pos = [], 0, 0
            bounds = starts[1:] + [size]
            for start, end in zip(starts, bounds, strict=True):
                ranges.append((start, end, lines))
                while pos < end:
                    block = fh.read(min(_SCAN, end - pos))
                    if not block:
                        break
                    lines += block.count(b"\n")
                    pos += len(block)
            return ranges
    except OSError:
        return None


def _record_start(fh: io.BufferedReader, offset: int) -> int | None:
    """Offset of the first line at or after `offset` (at a line start) that always opens a new record."""
    fh.seek(offset - 1)
    block = fh.read(_SCAN)
    pos = block.find(b"\n")  # `offset - 1` read too: a line starting exactly at `offset` is found
    while 0 <= pos < len(block) - 1:
        if _RANGE_START.match(block, pos + 1):
            return offset + pos
        pos = block.find(b"\n", pos + 1)
    return None


def _merge(parts: list[FileReport]) -> FileReport:
    """One file's report from the reports of its ranges (already numbered from the file's start)."""
    if len(parts) == 1:
        return parts[0]
    stats = ParseStats()
    for r in parts:
        stats.lines += r.stats.lines
        stats.events += r.stats.events
        stats.continuation += r.stats.continuation
        stats.blank += r.stats.blank
        stats.unparsed += r.stats.unparsed
        stats.samples.extend(r.stats.samples)
    stats.samples = sorted(stats.samples)[:SAMPLE_LIMIT]
    first = parts[0]
    error = next((r.error for r in parts if r.error), None)
    return FileReport(first.host, first.file, first.service, first.fmt, stats, error)


def parse_files(logs: list[LogFile], out: Path, byte_range: tuple[int, int, int] | None = None) -> list[FileReport]:
    """Parse files (or one file's `(start, end, lines before start)` byte range) into one Parquet file."""
    writer = pq.ParquetWriter(out, SCHEMA, compression="zstd")
    batch: list[Row] = []
    skip = byte_range[2] if byte_range else 0
    try:
        return [_parse_into(log, byte_range, writer, batch) for log in logs]
    finally:
        writer.write_table(_table(batch, skip))
        writer.close()


def _parse_into(log: LogFile, byte_range: tuple[int, int, int] | None, writer: pq.ParquetWriter,
                batch: list[Row]) -> FileReport:
    """Parse one file into `writer`, in batches; a read error is reported, never raised.

    Line numbers always count from the start of the file. The parser counts the lines it reads
    (`stats.lines`); on a read error (a truncated .gz, say) the events read before it are kept: `list.extend`
    over `islice` pulls a batch in C, and rows it took before an exception stay in the list. The cyclic GC is
    paused while parsing: the rows are tuples of str, which it would otherwise re-scan on every collection
    (it halves throughput, see ../shared analysis).
    """
    stats = ParseStats()
    parser = PARSERS[log.fmt]
    meta = FileMeta(log.host, log.display, log.service, _year(log.path))
    was_enabled = gc.isenabled()
    gc.disable()
    skip = byte_range[2] if byte_range else 0
    try:
        with open_text(log.path) if byte_range is None else _open_range(log.path, byte_range) as fh:
            rows = iter(parser.parse(fh, meta, stats))
            while True:
                batch.extend(islice(rows, BATCH - len(batch)))
                if len(batch) < BATCH:
                    break
                writer.write_table(_table(batch, skip))
                batch.clear()
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
        return FileReport(log.host, log.display, log.service, log.fmt, stats,
                          f"{log.display}:{stats.lines + 1}: cannot read further, kept the {stats.lines} lines before it "
                          f"({exc.__class__.__name__}: {exc})")
    finally:
        if was_enabled:
            gc.enable()
        if skip:
            stats.samples = [(n + skip, text) for n, text in stats.samples]
    return FileReport(log.host, log.display, log.service, log.fmt, stats)


class _RangeReader(io.RawIOBase):
    """The bytes [start, end) of a file."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        self._fh = open(path, "rb", buffering=0)
        self._fh.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self._left)]
        n = self._fh.readinto(view) or 0
        self._left -= n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _open_range(path: Path, byte_range: tuple[int, int, int]) -> io.TextIOWrapper:
    """A byte range as text, decoded exactly as `open_text` decodes the whole file."""
    raw = io.BufferedReader(_RangeReader(path, byte_range[0], byte_range[1]), 1024 * 1024)  # type: ignore[type-var]
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n")


def _year(path: Path) -> int | None:
    """The file's modification year: the year of syslog-style lines, which do not carry one."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).year
    except (OSError, ValueError, OverflowError):
        return None


#: Columns that usually hold one value for a whole file: built from that value, not from every row's copy.
_CONSTANT = frozenset(COLUMNS.index(c) for c in ("host", "file", "service"))
_LINE = COLUMNS.index("line")


def _table(rows: list[Row], line_offset: int = 0) -> pa.Table:
    if not rows:
        return SCHEMA.empty_table()
    arrays = []
    for i, (col, t) in enumerate(zip(zip(*rows, strict=True), SCHEMA.types, strict=True)):
        if i in _CONSTANT and col.count(col[0]) == len(col):
            arrays.append(pa.repeat(pa.scalar(col[0], type=t), len(col)))
        elif i == _LINE and line_offset:
            arrays.append(pa.array([n + line_offset for n in col], type=t))
        else:
            arrays.append(pa.array(col, type=t))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
