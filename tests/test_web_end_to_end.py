"""Real web pages end to end: HTML files, the same pages as scraped text, and a web archive (WARC) of
them, read from ../shared/corpus/web (never committed), materialised into a temporary warehouse."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tarfile
from pathlib import Path

import duckdb
import pytest

from newsdag.cli import materialize
from tests.conftest import settings_for

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

WEB_DIR = Path(os.environ.get("NEWSDAG_WEB_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus" / "web"))
PAGES_PER_SET = 24


def _read_set(archive: str, index_name: str, keep) -> tuple[dict, dict[str, bytes]]:
    """The set's index and the bytes of the pages `keep(name, entry)` selects (the first PAGES_PER_SET)."""
    path = WEB_DIR / archive
    if not path.is_file():
        pytest.fail(f"web corpus not found at {path}: put ../shared beside the checkout or set NEWSDAG_WEB_CORPUS")
    prefix = archive.split(".")[0]
    with tarfile.open(path) as tar:
        index = json.load(tar.extractfile(f"{prefix}/{index_name}"))
    chosen = [name for name in sorted(index) if keep(name, index[name])][:PAGES_PER_SET]
    wanted = {f"{prefix}/pages/{name}" for name in chosen}
    with tarfile.open(path, mode="r|*") as tar:  # in archive order: an xz archive cannot seek back
        pages = {Path(m.name).name: tar.extractfile(m).read() for m in tar if m.name in wanted}
    return index, dict(sorted(pages.items()))


@pytest.fixture(scope="module")
def web_build(tmp_path_factory):
    from inscriptis import get_text
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    tmp = tmp_path_factory.mktemp("web")
    raw = tmp / "raw"
    (raw / "html").mkdir(parents=True)
    (raw / "text").mkdir()
    dates, news = _read_set("htmldate.tar.xz", "dates.json", lambda n, e: e["set"] == "mediacloud_2020")
    evaldata, other = _read_set("trafilatura.tar.xz", "evaldata.json", lambda n, e: True)
    for name, data in news.items():
        (raw / "html" / name).write_bytes(data)
        (raw / "text" / (name + ".txt")).write_text(get_text(data.decode("utf-8", "replace")), encoding="utf-8")
    for name, data in other.items():
        (raw / "html" / name.removesuffix(".html")).write_bytes(data)  # no extension: the content says HTML
    records = []
    with open(raw / "crawl.warc.gz", "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for name, data in list(news.items())[:8]:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            record = writer.create_warc_record(dates[name]["url"], "response", payload=io.BytesIO(data),
                                               http_headers=headers,
                                               warc_headers_dict={"WARC-Date": "2020-12-31T00:00:00Z"})
            writer.write_record(record)
            records.append(name)
        request = writer.create_warc_record("https://example.org/", "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
        writer.write_record(request)
    s = settings_for(raw, tmp)
    result = materialize(s)
    assert result.success
    return {"db": s.db_path, "dates": dates, "evaldata": evaldata, "news": news, "other": other,
            "records": records, "raw": raw}


def q(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_every_file_and_record_is_accounted_for(web_build):
    db = web_build["db"]
    paths = [p for (p,) in q(db, "SELECT source_path FROM articles UNION ALL SELECT source_path FROM rejected_files")]
    assert len(paths) == len(set(paths))
    files = {p.relative_to(web_build["raw"]).as_posix() for p in web_build["raw"].rglob("*") if p.is_file()}
    plain = {p for p in paths if "#" not in p}
    assert plain == files - {"crawl.warc.gz"}
    in_archive = [p for p in paths if p.startswith("crawl.warc.gz#")]
    assert len(in_archive) == len(web_build["records"]) + 1  # each response record, and the request record
    assert q(db, "SELECT reason FROM rejected_files WHERE source_path IN (SELECT unnest(?::VARCHAR[]))",
             [in_archive]) == [("not_a_response",)]


def test_html_pages_are_dated_from_the_page(web_build):
    db, dates = web_build["db"], web_build["dates"]
    rows = q(db, "SELECT source_path, published_date, date_source, source_format FROM articles "
                 "WHERE source_path LIKE 'html/%.html'")
    assert {(src, fmt) for _, _, src, fmt in rows} == {("html", "html")}
    right = [p for p, d, _, _ in rows
             if abs(d - dt.date.fromisoformat(dates[p.removeprefix("html/")]["date"])) <= dt.timedelta(days=1)]
    assert len(right) >= 0.8 * len(web_build["news"]), (len(right), len(rows))


def test_html_body_has_the_article_without_the_site(web_build):
    db, evaldata = web_build["db"], web_build["evaldata"]
    kept = dropped = n_with = n_without = 0
    for path, title, body in q(db, "SELECT source_path, title, body FROM articles WHERE source_path NOT LIKE '%.%'"):
        text = " ".join(f"{title or ''} {body}".split())
        entry = evaldata[path.removeprefix("html/") + ".html"]
        kept += sum(" ".join(w.split()) in text for w in entry["with"])
        dropped += sum(" ".join(w.split()) not in text for w in entry["without"])
        n_with += len(entry["with"])
        n_without += len(entry["without"])
    assert n_with and kept >= 0.8 * n_with
    assert n_without and dropped >= 0.75 * n_without


def test_warc_records_keep_their_url_and_site(web_build):
    db, dates = web_build["db"], web_build["dates"]
    rows = q(db, "SELECT source_path, url, site, source_format, published_date FROM articles "
                 "WHERE source_path LIKE 'crawl.warc.gz#%'")
    assert rows and {fmt for _, _, _, fmt, _ in rows} == {"warc"}
    # each record keeps the URL it was fetched from (or the canonical URL the page states)
    fetched_from = {dates[name]["url"] for name in web_build["records"]}
    assert sum(url in fetched_from for _, url, *_ in rows) >= len(rows) // 2
    for path, url, site, _, day in rows:
        assert url and site and site in url and not site.startswith("www.")
        assert day <= dt.date(2020, 12, 31)  # the fetch date bounds the publication date
    offsets = [int(p.split("#")[1]) for p, *_ in rows]
    assert len(set(offsets)) == len(offsets)


def test_non_english_articles_get_no_mentions(web_build):
    db = web_build["db"]
    languages = dict(q(db, "SELECT language, count(*) FROM articles GROUP BY 1"))
    assert languages.get("en", 0) > 0 and sum(v for k, v in languages.items() if k not in ("en", "und")) > 0
    assert q(db, "SELECT count(*) FROM entity_mentions m JOIN articles a USING (article_id) "
                 "WHERE a.language NOT IN ('en', 'und')") == [(0,)]
    assert q(db, "SELECT count(*) FROM entity_mentions") != [(0,)]
    check = q(db, "SELECT passed, failing_rows FROM latest_data_quality WHERE check_name = 'articles_in_model_language'")
    assert check and check[0][0] is False and check[0][1] == sum(v for k, v in languages.items() if k not in ("en", "und"))


def test_scraped_text_of_the_same_pages(web_build):
    db, dates = web_build["db"], web_build["dates"]
    rows = q(db, "SELECT source_path, published_date, date_source FROM articles WHERE source_path LIKE 'text/%'")
    assert {src for _, _, src in rows} <= {"page_text"}
    wrong = [p for p, d, _ in rows
             if abs(d - dt.date.fromisoformat(dates[p.removeprefix("text/").removesuffix(".txt")]["date"]))
             > dt.timedelta(days=1)]
    assert len(wrong) <= 1, wrong
    rejected = dict(q(db, "SELECT reason, count(*) FROM rejected_files WHERE source_path LIKE 'text/%' GROUP BY 1"))
    assert set(rejected) <= {"missing_date", "empty_body"}
    assert len(rows) + sum(rejected.values()) == len(web_build["news"])
