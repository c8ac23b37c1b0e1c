"""Web archives: records, offsets and failures (archives written in the test with warcio)."""

from __future__ import annotations

import datetime as dt
import gzip
import io

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsdag.warc import WarcRecord, is_warc_path, iter_records, looks_like_warc, parse_content_type

HTML = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Story</title></head>"
        "<body><p>Grüße aus Köln: the council met on Tuesday.</p></body></html>").encode()


def _write(path, gz: bool, big_payload: bytes = b""):
    """A small archive: warcinfo, request, 200 HTML response, 200 image response, 404 response,
    and (optionally) a large HTML response.  Returns the (type, uri) of each record written."""
    written = []
    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=gz)
        w.write_record(w.create_warcinfo_record("test.warc", {"software": "newsdag-tests"}))
        written.append(("warcinfo", None))

        def response(uri, status, ctype, body, date):
            headers = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                                       protocol="HTTP/1.1")
            rec = w.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers,
                                       warc_headers_dict={"WARC-Date": date})
            w.write_record(rec)
            written.append(("response", uri))

        req_headers = StatusAndHeaders("GET /news/story HTTP/1.1", [("Host", "news.example.com")],
                                       is_http_request=True)
        w.write_record(w.create_warc_record("https://news.example.com/news/story", "request",
                                            http_headers=req_headers,
                                            warc_headers_dict={"WARC-Date": "2021-07-28T10:00:00Z"}))
        written.append(("request", "https://news.example.com/news/story"))
        response("https://news.example.com/news/story", "200 OK", 'text/html; charset="ISO-8859-1"', HTML,
                 "2021-07-28T10:00:01Z")
        response("https://news.example.com/logo.png", "200 OK", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                 "2021-07-28T10:00:02.123456Z")
        response("https://news.example.com/gone", "404 Not Found", "text/html", b"<html><body>Not found</body></html>",
                 "2021-07-29T23:59:59Z")
        if big_payload:
            response("https://news.example.com/big", "200 OK", "text/html", big_payload, "2021-07-30T00:00:00Z")
    return written


def _offsets_by_rescanning(path):
    """Offsets as warcio reports them when read independently (the reference)."""
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        return [it.get_record_offset() for _ in it]


@pytest.mark.parametrize("gz", [False, True])
def test_records_offsets_types_uris_dates(tmp_path, gz):
    path = tmp_path / ("a.warc.gz" if gz else "a.warc")
    written = _write(path, gz)
    records = list(iter_records(path, max_payload_bytes=1_000_000))
    assert [(r.record_type, r.target_uri) for r in records] == written
    offsets = [r.offset for r in records]
    assert offsets == _offsets_by_rescanning(path)
    assert offsets[0] == 0 and offsets == sorted(set(offsets))
    # each offset really is the start of its record
    data = path.read_bytes()
    for off in offsets:
        chunk = gzip.decompress(data[off:])[:8] if gz else data[off:off + 8]
        assert chunk.startswith(b"WARC/1.")

    info, request, page, image, missing = records
    assert info.payload is None and info.error is None
    assert request.warc_date == dt.date(2021, 7, 28)
    assert request.payload is None and request.http_status is None and request.content_type is None
    assert page == WarcRecord(page.offset, "response", "https://news.example.com/news/story", dt.date(2021, 7, 28),
                              "text/html", "iso-8859-1", HTML, None, 200)
    assert image.content_type == "image/png" and image.http_status == 200 and image.payload.startswith(b"\x89PNG")
    assert image.warc_date == dt.date(2021, 7, 28)
    assert missing.http_status == 404 and missing.content_type == "text/html" and missing.charset is None
    assert missing.warc_date == dt.date(2021, 7, 29)


def test_too_large_payload_is_not_read(tmp_path):
    path = tmp_path / "big.warc.gz"
    _write(path, True, big_payload=b"<html><body>" + b"<p>news</p>" * 50_000 + b"</body></html>")
    records = list(iter_records(path, max_payload_bytes=100_000))
    big = records[-1]
    assert big.target_uri == "https://news.example.com/big"
    assert big.payload is None
    assert big.error.startswith("too_large") and "100,000" in big.error and "\n" not in big.error
    assert records[2].payload == HTML  # the small page before it is read whole
    assert big.http_status == 200 and big.content_type == "text/html"


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_archive_ends_with_unreadable_record(tmp_path, gz):
    body = ("<html><body>" + "".join(f"<p>paragraph {i} of a long page</p>" for i in range(2000))
            + "</body></html>").encode()
    full = tmp_path / ("full.warc.gz" if gz else "full.warc")
    _write(full, gz, big_payload=body)
    n_records = len(list(iter_records(full, 10_000_000)))
    data = full.read_bytes()
    cut = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    cut.write_bytes(data[: len(data) - 2000])
    records = list(iter_records(cut, 10_000_000))
    assert len(records) == n_records
    assert all(r.record_type != "unreadable" for r in records[:-1])
    last = records[-1]
    assert last.record_type == "unreadable"
    assert last.payload is None
    assert "truncated" in last.error and "\n" not in last.error
    assert last.offset == _offsets_by_rescanning(full)[-1]


def test_corrupt_and_missing_archives(tmp_path):
    full = tmp_path / "full.warc.gz"
    _write(full, True)
    data = full.read_bytes()
    second = _offsets_by_rescanning(full)[1]
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(data[:second] + b"this is not a warc record\r\n" * 20)
    records = list(iter_records(bad, 1_000_000))
    assert [r.record_type for r in records] == ["warcinfo", "unreadable"]
    assert records[-1].offset == second and records[-1].error and "\n" not in records[-1].error

    text = tmp_path / "notes.warc"
    text.write_text("just some notes\n")
    assert [r.record_type for r in iter_records(text, 1000)] == ["unreadable"]

    gone = list(iter_records(tmp_path / "missing.warc", 1000))
    assert gone[0].record_type == "unreadable" and "cannot open" in gone[0].error

    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    assert list(iter_records(empty, 1000)) == []


def test_names_and_sniffing(tmp_path):
    assert is_warc_path("crawl/2021-07-28.warc.gz") and is_warc_path("A.WARC")
    assert not is_warc_path("story.html") and not is_warc_path("x.warc.gz.txt") and not is_warc_path("x.arc.gz")
    for gz in (False, True):
        path = tmp_path / f"s{gz}.warc"
        _write(path, gz)
        assert looks_like_warc(path.read_bytes()[:512])
    assert not looks_like_warc(b"<html>")
    assert not looks_like_warc(gzip.compress(b"<html>WARC/1.0"))
    assert not looks_like_warc(b"\x1f\x8bgarbage")


def test_parse_content_type():
    assert parse_content_type('Text/HTML; Charset="UTF-8"') == ("text/html", "utf-8")
    assert parse_content_type("text/html;charset=windows-1251; q=1") == ("text/html", "windows-1251")
    assert parse_content_type("") == (None, None)
    assert parse_content_type(None) == (None, None)
