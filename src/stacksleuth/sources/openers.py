"""Open a log file as text whatever its compression: rotated `.gz`, `.bz2`, `.xz` read transparently."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path
from typing import IO, cast

_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\x1f\x8b", "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))


def compression(path: Path) -> str | None:
    """Name the compression of `path` from its first bytes (file names lie: `.bzip2.out` is plain)."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_binary(path: Path) -> IO[bytes]:
    """Open `path` for reading bytes, decompressing when needed."""
    kind = compression(path)
    if kind == "gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if kind == "bz2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


def open_text(path: Path) -> IO[str]:
    """Open `path` as UTF-8 text; undecodable bytes become U+FFFD rather than failing the file.

    Lines end at `\n` only (`newline="\n"`), so line numbers match `grep -n` even when a line holds a lone
    `\r`; the parsers strip the `\r` of CRLF files (Loghub's).
    """
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline="\n")
