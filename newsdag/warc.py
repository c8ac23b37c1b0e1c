"""Web archives (WARC, optionally gzipped per record or whole) read with warcio, streaming.

:func:`iter_records` yields one :class:`WarcRecord` per archive record, in file order, with its
byte offset, type, target URI, capture date and -- for ``response`` records -- the HTTP status,
media type, charset and (decoded: de-chunked, Content-Encoding removed) payload.  It never raises
on a bad archive: a truncated or corrupt file yields the records read so far and then one record of
type ``'unreadable'`` saying what went wrong.  Only ``response`` (and ``resource``) payloads are
read; a payload over ``max_payload_bytes`` is not read whole (``error='too_large: ...'``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["WarcRecord", "iter_records", "is_warc_path", "looks_like_warc", "parse_content_type"]

logging.getLogger("warcio").setLevel(logging.ERROR)

WARC_SUFFIXES = (".warc", ".warc.gz")
_PAYLOAD_TYPES = ("response", "resource")
_READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class WarcRecord:
    offset: int                     # byte offset of the record in the (compressed) file
    record_type: str                # WARC-Type: 'response', 'request', 'warcinfo', ...; 'unreadable'
    target_uri: str | None          # WARC-Target-URI
    warc_date: dt.date | None       # WARC-Date (UTC day of capture)
    content_type: str | None        # media type, lowercase, no parameters ('text/html'); for a
                                    # response from its HTTP headers, for a resource from the WARC header
    charset: str | None             # charset parameter of that Content-Type, lowercase
    payload: bytes | None           # response/resource payload (HTTP body); None for other types or on error
    error: str | None               # why the payload (or the archive) could not be read
    http_status: int | None = None  # HTTP status code of a response record


def is_warc_path(name: str | Path) -> bool:
    """True when the file name ends in ``.warc`` or ``.warc.gz`` (case-insensitive)."""
    return str(name).lower().endswith(WARC_SUFFIXES)


def looks_like_warc(first_bytes: bytes) -> bool:
    """True when the bytes start a WARC file: ``WARC/1.`` or a gzip member whose content does."""
    if first_bytes.startswith(b"WARC/1."):
        return True
    if first_bytes.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(wbits=31).decompress(first_bytes, 16)
        except zlib.error:
            return False
        return head.startswith(b"WARC/1.")
    return False


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """('text/html', 'utf-8') from 'text/html; charset="UTF-8"'; (None, None) when absent."""
    if not value:
        return None, None
    parts = value.split(";")
    media = parts[0].strip().lower() or None
    charset = None
    for param in parts[1:]:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").strip().lower() or None
    return media, charset


def _warc_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    value = value.strip()
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """One printable line (warcio quotes the bad bytes it met in its messages)."""
    text = " ".join("".join(c if c.isprintable() and ord(c) < 0x250 else " " for c in str(exc)).split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_payload(record, max_payload_bytes: int) -> tuple[bytes | None, str | None]:
    stream = record.content_stream()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, max_payload_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_payload_bytes:
            declared = record.length
            return None, (f"too_large: payload over the {max_payload_bytes:,}-byte limit "
                          f"(record block of {declared:,} bytes)" if declared is not None
                          else f"too_large: payload over the {max_payload_bytes:,}-byte limit")
    return b"".join(chunks), None


def _record(record, offset: int, max_payload_bytes: int) -> WarcRecord:
    rec_type = (record.rec_type or "").lower() or "unknown"
    headers = record.rec_headers
    uri = headers.get_header("WARC-Target-URI")
    date = _warc_date(headers.get_header("WARC-Date"))
    status = None
    content_type = charset = None
    payload = error = None
    http = record.http_headers if rec_type in ("response", "revisit") else None
    if http is not None:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
        content_type, charset = parse_content_type(http.get_header("Content-Type"))
    elif rec_type == "resource":
        content_type, charset = parse_content_type(headers.get_header("Content-Type"))
    if rec_type in _PAYLOAD_TYPES:
        try:
            payload, error = _read_payload(record, max_payload_bytes)
        except Exception as exc:  # noqa: BLE001 - a bad chunked/gzip body: keep the record, say why
            payload, error = None, f"payload unreadable: {_one_line(exc)}"
    return WarcRecord(offset, rec_type, uri, date, content_type, charset, payload, error, status)


def iter_records(path: str | Path, max_payload_bytes: int) -> Iterator[WarcRecord]:
    """The records of a ``.warc`` / ``.warc.gz`` file, in order, streaming (the file is never read
    whole; a payload is read up to ``max_payload_bytes``).  A truncated or corrupt archive ends
    with one ``record_type='unreadable'`` record (offset: the start of the record where reading
    failed) instead of an exception."""
    from warcio.archiveiterator import ArchiveIterator

    try:
        f = open(path, "rb")
        size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        yield WarcRecord(0, "unreadable", None, None, None, None, None,
                         f"cannot open archive: {exc.strerror or exc}")
        return
    with f:
        it = None
        try:
            it = ArchiveIterator(f)
            for record in it:
                start = it.offset  # the record's start, until warcio moves on to the next one
                rec = _record(record, start, max_payload_bytes)
                it.get_record_offset()  # makes warcio read the rest of the record
                missing = getattr(record.raw_stream, "limit", 0) or 0
                if missing > 0:  # the file ended inside this record: warcio does not say so itself
                    yield WarcRecord(start, "unreadable", rec.target_uri, rec.warc_date, None, None, None,
                                     f"archive truncated: the {rec.record_type} record at byte {start:,} "
                                     f"lacks {missing:,} of its {record.length:,} bytes")
                    return
                yield rec
        except Exception as exc:  # noqa: BLE001 - warcio/zlib/EOF errors on a damaged archive
            where = it.offset if it is not None else 0
            yield WarcRecord(where, "unreadable", None, None, None, None, None,
                             f"archive unreadable at byte {where:,} of {size:,}: {_one_line(exc)}")
