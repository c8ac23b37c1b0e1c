"""Find the raw files under a directory and decode their bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


class Undecodable(ValueError):
    """The bytes are not text we can read; the message says why."""


@dataclass(frozen=True)
class RawFile:
    source_path: str        # relative to the raw dir, '/' separators
    content_hash: str       # sha256 of the bytes
    size_bytes: int
    text: str | None        # decoded text, None when undecodable
    error: str | None       # why it could not be read or decoded
    reason: str | None = None        # the quarantine reason code when text is None ('undecodable', 'unreadable', ...)
    source_format: str = "text"      # 'text', 'html' or 'warc' (a record of a web archive)
    url: str | None = None           # where the page was fetched from (WARC-Target-URI), when known
    fetched_date: dt.date | None = None  # when it was fetched (WARC-Date): an upper bound for its publication date


def scan_raw_files(raw_dir: Path) -> list[tuple[str, str]]:
    """(path relative to raw_dir with / separators, path) of every regular file under raw_dir, recursively,
    sorted by the relative path; symlinks that lead out of raw_dir, or to directories, are skipped.
    (os.scandir and plain strings: on 20k files, pathlib objects cost more than the listing itself.)"""
    root = Path(raw_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"raw directory not found: {root}")
    real_root = root.resolve()
    found: list[tuple[str, str]] = []

    def scan(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    scan(entry.path, rel + "/")
                elif entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if target.is_relative_to(real_root) and target.is_file():
                        found.append((rel, entry.path))
                elif entry.is_file(follow_symlinks=False):
                    found.append((rel, entry.path))

    scan(str(root), "")
    found.sort()
    return found


def decode(data: bytes) -> str:
    """UTF-8 (BOM stripped, CRLF accepted), falling back to cp1252; NUL bytes or bytes neither can read are Undecodable."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise Undecodable(f"file contains NUL bytes (first at offset {nul}): binary, or UTF-16")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as cp_error:
            raise Undecodable(
                f"not UTF-8 (byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start}) "
                f"nor cp1252 (byte 0x{data[cp_error.start]:02x} at offset {cp_error.start})"
            ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_raw_file(path: Path | str, raw_dir: Path, rel: str | None = None) -> RawFile:
    """Read and decode one file (`rel`: its path relative to raw_dir, when the caller has it);
    problems are recorded on the RawFile, never raised."""
    if rel is None:
        rel = Path(path).relative_to(raw_dir).as_posix()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return RawFile(rel, "", 0, None, f"cannot read file: {exc.strerror or exc}", "unreadable")
    digest = hashlib.sha256(data).hexdigest()
    try:
        return RawFile(rel, digest, len(data), decode(data), None)
    except Undecodable as exc:
        return RawFile(rel, digest, len(data), None, str(exc), "undecodable")


def iter_raw_files(raw_dir: Path) -> Iterator[RawFile]:
    """Read every raw file under raw_dir."""
    for rel, path in scan_raw_files(raw_dir):
        yield read_raw_file(path, Path(raw_dir), rel)


def fingerprint(raw_dir: Path) -> str:
    """A digest of every raw file's path, size and modification time: it changes when a file is
    added, removed, replaced or edited (cheap: no file is read)."""
    root = Path(raw_dir)
    digest = hashlib.sha256()
    for rel, path in scan_raw_files(root):
        st = os.stat(path)
        digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()
