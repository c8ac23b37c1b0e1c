"""Find the raw files under a directory and decode their bytes.

Every entry under the raw directory is accounted for: the scan lists every non-directory entry (and
every directory it cannot list), and `read_raw_file` turns each into a RawFile that is either decoded
text or a quarantine reason with a one-line detail:

    symlink_loop          a symbolic link that resolves to itself or to a cycle of links
    outside_raw_dir       a symbolic link whose target is outside the raw directory
    dangling_link         a symbolic link whose target does not exist
    not_a_regular_file    a FIFO, socket or device (never opened: a FIFO would block), or a link to a directory
    unreadable_directory  a directory that cannot be listed (its files are unknown)
    too_large             a file over the size limit (NEWSDAG_MAX_FILE_MB); never read into memory
    unreadable            a file that cannot be opened or read
    undecodable           bytes that are not text (NUL bytes, neither UTF-8 nor cp1252; for HTML, not in its
                          declared charset either)
    empty_archive         a web archive (.warc / .warc.gz) without a single record

Formats: a file whose bytes are an HTML document (sniffed from the content, whatever its name) is
decoded in its declared charset (`webpage.decode_html`) and marked `source_format='html'`. A file named
`.warc` / `.warc.gz` is a web archive: it is streamed record by record (warcio), never read whole, and
each record becomes its own RawFile with source_path `<file>#<byte offset of the record>`, the record's
`WARC-Target-URI` as url and its `WARC-Date` as fetched_date (`source_format='warc'`). Only `response`
records with an HTML payload and HTTP status 200 hold pages; every other record is accounted for too:

    not_a_response        a warcinfo, request, metadata, revisit ... record (it holds no page)
    http_status           a response whose HTTP status is not 200 (a redirect, an error page)
    not_html              a response whose payload is not HTML (an image, a PDF, JSON ...)
    too_large             a payload over the size limit (not read whole)
    unreadable            the rest of a truncated or corrupt archive, from the record where reading failed

The walk is iterative (any depth) and never follows links to directories. Paths are made printable
and lossless (see `printable_name`). The warehouse's own files, when the published file lives inside
the raw directory, are not raw input and are skipped (see `_own_files`).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

log = logging.getLogger("newsdag")

DEFAULT_MAX_FILE_MB = 20.0
MAX_FILE_MB_ENV = "NEWSDAG_MAX_FILE_MB"
_READ_CHUNK = 1 << 20


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


def parse_max_file_mb(value: str | float | None) -> float:
    """NEWSDAG_MAX_FILE_MB as a positive number of megabytes (MB = 2**20 bytes); a one-line error otherwise."""
    if value is None or value == "":
        return DEFAULT_MAX_FILE_MB
    try:
        mb = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{MAX_FILE_MB_ENV}={value!r}: expected a number of megabytes, e.g. 20") from None
    if not mb > 0 or mb == float("inf"):
        raise ValueError(f"{MAX_FILE_MB_ENV}={value!r}: expected a positive number of megabytes")
    return mb


def max_file_bytes(max_file_mb: float | None = None) -> int:
    """The size limit in bytes: `max_file_mb`, else $NEWSDAG_MAX_FILE_MB, else 20 MB."""
    mb = parse_max_file_mb(os.environ.get(MAX_FILE_MB_ENV)) if max_file_mb is None else parse_max_file_mb(max_file_mb)
    return max(1, int(mb * (1 << 20)))


# ------------------------------------------------------------------------------------------------
# Names

def printable_name(name: str) -> str:
    """A file name as a printable, lossless string: a backslash is written `\\\\`, and every byte that is
    not part of a printable UTF-8 character (bytes that are not UTF-8 at all, which Python carries as
    surrogate escapes, and control characters) is written `\\xNN`. Names without either are unchanged;
    the mapping is one-to-one, so two different names never share a source_path."""
    if name.isprintable() and "\\" not in name:
        return name
    out = []
    for ch in name:
        if ch == "\\":
            out.append("\\\\")
        elif "\udc80" <= ch <= "\udcff":  # a byte that is not UTF-8 (os.fsdecode's surrogate escape)
            out.append(f"\\x{ord(ch) - 0xdc00:02x}")
        elif not ch.isprintable():
            out.append("".join(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    return "".join(out)


class _Unlisted(str):
    """The path of a directory the scan could not list, carrying the error."""

    listing_error: str = ""


def _one_line(text: object) -> str:
    return printable_name(" ".join(str(text).split()))


def _os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


# ------------------------------------------------------------------------------------------------
# The walk

OWN_DIR = ".newsdag"            # the pipeline's working databases and lake, beside the published file
WORK_SUFFIX = ".work.duckdb"


def _own_files(directory: str, names: set[str]) -> set[str]:
    """Names in `directory` that belong to a warehouse published there (when --db is inside the raw
    directory): `.newsdag/`, and for each working database `.newsdag/<name>.work.duckdb`, the published
    file `<name>`, its WAL (and WALs moved aside), and its temporary copies `.<name>.*.tmp*`."""
    if OWN_DIR not in names or not os.path.isdir(os.path.join(directory, OWN_DIR)):
        return set()
    try:
        inside = os.listdir(os.path.join(directory, OWN_DIR))
    except OSError:
        inside = []
    published = {n[: -len(WORK_SUFFIX)] for n in inside if n.endswith(WORK_SUFFIX)}
    if not published and "lake" not in inside:
        return set()  # someone else's .newsdag directory: raw input like any other
    own = {OWN_DIR}
    for name in names:
        for db in published:
            if name in (db, f"{db}.wal") or name.startswith(f"{db}.wal.stale") or (
                    name.startswith(f".{db}.") and ".tmp" in name[len(db) + 2:]):
                own.add(name)
    return own


def _walk(root: str, skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(printable relative path, path) of every non-directory entry under root and of every directory
    that cannot be listed (its path an _Unlisted carrying the error); iterative, links never followed."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            if not prefix:
                raise
            path = _Unlisted(directory)
            path.listing_error = _os_error(exc)
            found.append((prefix[:-1], path))
            continue
        own = _own_files(directory, {e.name for e in entries})
        for entry in entries:
            if entry.name in own or entry.path in skip:
                continue
            rel = prefix + printable_name(entry.name)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False  # read_raw_file says what it is
            if is_dir:
                stack.append((entry.path, rel + "/"))
            else:
                found.append((rel, entry.path))
    found.sort()
    return found


def scan_raw_files(raw_dir: Path, skip: Iterable[Path | str] = ()) -> list[tuple[str, str]]:
    """(printable path relative to raw_dir with / separators, path) of every entry under raw_dir that is
    not a directory, and of every directory that cannot be listed, sorted by the relative path.
    Links are listed, not followed: `read_raw_file` reads a link to a file inside raw_dir and
    quarantines the others. The warehouse's own files are skipped (and any path in `skip`).
    (os.scandir and plain strings: on 20k files, pathlib objects cost more than the listing itself.)"""
    root = Path(raw_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"raw directory not found: {root}")
    found = _walk(str(root), frozenset(str(p) for p in skip))
    if not found:
        log.warning("raw files: the raw directory %s holds no files: the build will be empty", root)
    return found


# ------------------------------------------------------------------------------------------------
# Reading

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


_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory"}


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), f"not a regular file (mode {stat.filemode(mode)})")


def _too_large(size: int, limit: int, grew: bool = False) -> str:
    how = "grew past" if grew else "is over"
    return (f"{size} bytes ({size / (1 << 20):.1f} MB) {how} the size limit of {limit} bytes "
            f"({limit / (1 << 20):g} MB, {MAX_FILE_MB_ENV}); not read")


def _inside(path: str, real_root: str) -> bool:
    return path == real_root or path.startswith(real_root.rstrip(os.sep) + os.sep)


def read_raw_file(path: Path | str, raw_dir: Path, rel: str | None = None, *,
                  max_bytes: int | None = None) -> RawFile:
    """Read and decode one entry (`rel`: its path relative to raw_dir, when the caller has it); problems
    are recorded on the RawFile (text None, a reason code and a one-line detail), never raised.
    `max_bytes`: the size limit (default: $NEWSDAG_MAX_FILE_MB, else 20 MB); a larger file is not read."""
    if rel is None:
        rel = "/".join(printable_name(part) for part in Path(path).relative_to(raw_dir).parts)
    limit = max_file_bytes() if max_bytes is None else max_bytes

    def rejected(reason: str, detail: str, size: int = 0) -> RawFile:
        return RawFile(rel, "", size, None, _one_line(detail), reason)

    if isinstance(path, _Unlisted):
        return rejected("unreadable_directory", f"cannot list directory: {path.listing_error}")
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except OSError as exc:
        return rejected("unreadable", f"cannot stat file: {_os_error(exc)}")
    link = stat.S_ISLNK(st.st_mode)
    if link:
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        try:
            st = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return rejected("symlink_loop", f"symbolic link loop: {target} leads back to a link already followed")
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return rejected("dangling_link", f"symbolic link to {target}, which does not exist")
            return rejected("unreadable", f"cannot follow symbolic link to {target}: {_os_error(exc)}")
        if not _inside(os.path.realpath(path), os.path.realpath(raw_dir)):
            return rejected("outside_raw_dir", f"symbolic link to {target}, outside the raw directory: not read")
        if stat.S_ISDIR(st.st_mode):
            return rejected("not_a_regular_file", f"symbolic link to the directory {target} inside the raw "
                                                  "directory: its files are read under their own paths")
    if stat.S_ISDIR(st.st_mode):  # listed by the scan only when it could not be read
        try:
            with os.scandir(path):
                pass
            return rejected("unreadable_directory", "directory could not be listed during the scan")
        except OSError as exc:
            return rejected("unreadable_directory", f"cannot list directory: {_os_error(exc)}")
    if not stat.S_ISREG(st.st_mode):
        return rejected("not_a_regular_file", f"{'symbolic link to ' if link else ''}{_kind(st.st_mode)}: not read")
    if st.st_size > limit:
        return rejected("too_large", _too_large(st.st_size, limit), st.st_size)
    try:
        # O_NONBLOCK: were it swapped for a FIFO since the stat, opening it must not block
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return rejected("unreadable", f"cannot read file: {_os_error(exc)}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return rejected("not_a_regular_file", f"{_kind(st.st_mode)}: not read")
        if st.st_size > limit:
            return rejected("too_large", _too_large(st.st_size, limit), st.st_size)
        parts, size = [], 0
        while size <= limit:  # bounded: a file that grows while being read stops at limit + 1 bytes
            part = os.read(fd, min(_READ_CHUNK, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except OSError as exc:
        return rejected("unreadable", f"cannot read file: {_os_error(exc)}")
    finally:
        os.close(fd)
    if size > limit:
        return rejected("too_large", _too_large(size, limit, grew=True), size)
    data = b"".join(parts)
    del parts
    digest = hashlib.sha256(data).hexdigest()
    from newsdag import webpage  # (webpage imports this module)

    html = webpage.looks_like_html(data)
    try:
        if html:
            return RawFile(rel, digest, len(data), webpage.decode_html(data), None, source_format="html")
        return RawFile(rel, digest, len(data), decode(data), None)
    except Undecodable as exc:
        return RawFile(rel, digest, len(data), None, _one_line(exc), "undecodable",
                       source_format="html" if html else "text")


HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")


def _is_archive(path: str, rel: str, raw_dir: Path) -> bool:
    """A web archive to stream record by record: named .warc / .warc.gz, and a regular file (or a link
    to one inside the raw dir; any other entry is left to read_raw_file, which says what it is)."""
    from newsdag import warc

    if isinstance(path, _Unlisted) or not warc.is_warc_path(rel):
        return False
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
    except OSError:
        return False
    return not os.path.islink(path) or _inside(os.path.realpath(path), os.path.realpath(raw_dir))


def _archive_record(rel: str, rec) -> RawFile:
    """One record of a web archive as a RawFile: a page to parse, or the reason it holds none."""
    from newsdag import webpage

    path = f"{rel}#{rec.offset}"
    where = {"source_format": "warc", "url": rec.target_uri, "fetched_date": rec.warc_date}
    payload = rec.payload
    digest = hashlib.sha256(payload).hexdigest() if payload is not None else ""
    size = len(payload) if payload is not None else 0

    def rejected(reason: str, detail: str) -> RawFile:
        return RawFile(path, digest, size, None, _one_line(detail), reason, **where)

    if rec.record_type == "unreadable":
        return rejected("unreadable", rec.error or "archive unreadable from here on")
    if rec.record_type != "response":
        return rejected("not_a_response", f"WARC {rec.record_type} record: only response records hold pages")
    if rec.error:
        return rejected("too_large" if rec.error.startswith("too_large") else "unreadable", rec.error)
    if rec.http_status != 200:
        return rejected("http_status", f"HTTP status {rec.http_status}: not a page" if rec.http_status
                        else "response without an HTTP status line")
    if payload is None or not (rec.content_type in HTML_MEDIA_TYPES or webpage.looks_like_html(payload)):
        return rejected("not_html", f"payload is {rec.content_type or 'of no declared type'}, not HTML")
    try:
        text = webpage.decode_html(payload, rec.charset)
    except Undecodable as exc:
        return rejected("undecodable", str(exc))
    return RawFile(path, digest, size, text, None, **where)


def read_entries(path: Path | str, raw_dir: Path, rel: str, *, max_bytes: int | None = None) -> Iterator[RawFile]:
    """The raw inputs of one scanned entry: one RawFile, or one per record of a web archive (streamed: the
    archive is never read whole, each payload at most `max_bytes`)."""
    from newsdag import warc

    limit = max_file_bytes() if max_bytes is None else max_bytes
    if not _is_archive(path, rel, raw_dir):
        yield read_raw_file(path, raw_dir, rel, max_bytes=limit)
        return
    any_record = False
    for rec in warc.iter_records(path, limit):
        any_record = True
        yield _archive_record(rel, rec)
    if not any_record:
        yield RawFile(rel, "", 0, None, "web archive holds no records", "empty_archive", source_format="warc")


def iter_raw_files(raw_dir: Path, *, max_bytes: int | None = None) -> Iterator[RawFile]:
    """Read every raw input under raw_dir: its files, and the records of its web archives."""
    limit = max_file_bytes() if max_bytes is None else max_bytes
    for rel, path in scan_raw_files(raw_dir):
        yield from read_entries(path, Path(raw_dir), rel, max_bytes=limit)


def fingerprint(raw_dir: Path) -> str:
    """A digest of every raw entry's path, type, size and modification time: it changes when a file is
    added, removed, replaced or edited (cheap: no file is read; never raises for an odd entry)."""
    root = Path(raw_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"raw directory not found: {root}")
    digest = hashlib.sha256()
    for rel, path in _walk(str(root)):
        try:
            st = os.stat(path) if not isinstance(path, _Unlisted) else os.lstat(path)
            state = f"{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}"
        except OSError as exc:
            try:
                st = os.lstat(path)
                state = f"{st.st_mode}\0{st.st_mtime_ns}\0{exc.errno}"
            except OSError as exc2:
                state = f"error {exc2.errno}"
        digest.update(f"{rel}\0{state}\n".encode("utf-8", "backslashreplace"))
    return digest.hexdigest()
