"""Materialise the real Definitions into a temporary DuckDB file and check the tables analysts see."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import duckdb
import pytest

from newsdag.cli import main, materialize
from bench.reuters import read_manifest
from tests.conftest import settings_for


def q(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def sample_db(sample_build) -> Path:
    """The published file of the sample built once per session (conftest's sample_build)."""
    return sample_build.db_path


@pytest.mark.slow
def test_sample_every_file_is_an_article(sample_db):
    rows = q(sample_db, "SELECT source_path, published_date::VARCHAR, date_source FROM articles ORDER BY 1")
    assert [(p[:3], d, src) for p, d, src in rows] == [
        ("000", "2021-07-28", "header"),
        ("001", "2021-07-28", "page_text"),
        ("002", "2021-07-28", "header"),
        ("003", "2021-07-07", "header"),
        ("004", "2021-08-10", "page_text"),
    ]
    assert q(sample_db, "SELECT count(*) FROM rejected_files") == [(0,)]


@pytest.mark.slow
def test_sample_000_and_001_collapse(sample_db):
    rows = q(sample_db, """
        SELECT d.source_path, c.source_path FROM article_duplicates x
        JOIN articles d ON d.article_id = x.article_id JOIN articles c ON c.article_id = x.duplicate_of""")
    assert [(a[:3], b[:3]) for a, b in rows] == [("001", "000")]


@pytest.mark.slow
def test_sample_actors(sample_db):
    actors = {a for (a,) in q(sample_db, "SELECT DISTINCT actor FROM entity_mentions")}
    assert "United States" in actors
    assert not actors & {"US", "U.S.", "USA", "America", "the United States"}
    assert "China" in actors and "Chinese" not in actors
    assert "Antony Blinken" in actors and "Blinken" not in actors
    assert "Mullah Abdul Ghani Baradar" in actors and "Baradar" not in actors
    us_types = q(sample_db, "SELECT DISTINCT actor_type FROM entity_mentions WHERE actor = 'United States'")
    assert len(us_types) == 1
    top = [a for (a,) in q(sample_db, """
        SELECT actor FROM actor_mentions_daily WHERE day = DATE '2021-07-28' ORDER BY mentions DESC, actor LIMIT 3""")]
    assert "Taliban" in top


@pytest.mark.slow
def test_sample_counts_add_up_and_skip_duplicates(sample_db):
    assert q(sample_db, "SELECT sum(mentions) FROM actor_mentions_daily") == \
        q(sample_db, "SELECT count(*)::HUGEINT FROM entity_mentions")
    assert q(sample_db, """SELECT count(*) FROM entity_mentions
                              WHERE article_id IN (SELECT article_id FROM article_duplicates)""") == [(0,)]
    assert q(sample_db, "SELECT count(*) FROM entity_mentions WHERE actor IS NULL OR trim(actor) = ''") == [(0,)]
    # offsets point into the published body
    bad = q(sample_db, """SELECT count(*) FROM entity_mentions m JOIN articles a USING (article_id)
                             WHERE substr(a.body, m.start_char + 1, m.end_char - m.start_char) <> m.entity_text""")
    assert bad == [(0,)]


FAULTS = {
    # name -> (bytes, expected reason or None for accepted)
    "bad/month_13.txt": (b" date 2021-13-45 Kabul fell.", "malformed_date_header"),
    "bad/dmy.txt": (b" date 28/07/2021 Kabul fell.", "malformed_date_header"),
    "bad/feb30.txt": (b"date 2021-02-30 Kabul fell.", "malformed_date_header"),
    "bad/partial.txt": (b" date 2021-07 Kabul fell.", "malformed_date_header"),
    "bad/word.txt": (b" date yesterday Kabul fell.", "malformed_date_header"),
    "bad/nothing.txt": (b" date ", "malformed_date_header"),
    "bad/no_date.txt": (b"Some page\n\nThe Taliban entered Kabul on a sunny day.\n", "missing_date"),
    "bad/empty_body.txt": (b" date 2021-07-28 ", "empty_body"),
    "bad/only_chrome.txt": (b" date 2021-07-28 \n\nALSO READ: Something else\nPrevious Story\n", "empty_body"),
    "bad/binary.bin": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "undecodable"),
    "bad/utf16.txt": (" date 2021-07-28 Kabul".encode("utf-16"), "undecodable"),
    "bad/invalid_bytes.txt": (b" date 2021-07-28 \x81\x8d\x8f\x90", "undecodable"),
    "ok/cp1252.txt": (b" date 2021-07-29 Ashraf Ghani\x92s government met in Kabul \x93today\x94.", None),
    "ok/bom_crlf.txt": (b"\xef\xbb\xbf date 2021-07-30 Joe Biden spoke.\r\n\r\nNATO agreed.\r\n", None),
    "ok/it's \"quoted\" name.txt": (b" date 2021-07-30 Imran Khan visited Beijing.", None),
    "ok/'; DROP TABLE articles; --.txt": (b" date 2021-07-31 Narendra Modi visited Moscow.", None),
    "ok/naïve 日本 file.txt":
        (b" date 2021-08-01 Vladimir Putin met Emomali Rahmon in Dushanbe.", None),
}


@pytest.mark.slow
def test_faulty_corpus_is_fully_accounted_for(sample_dir: Path, tmp_path: Path):
    for name, (data, _) in FAULTS.items():
        path = sample_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    s = settings_for(sample_dir, tmp_path)
    assert materialize(s).success
    db = s.db_path
    articles = {p for (p,) in q(db, "SELECT source_path FROM articles")}
    rejected = {p: (r, d) for p, r, d in q(db, "SELECT source_path, reason, detail FROM rejected_files")}
    all_files = {p.relative_to(sample_dir).as_posix() for p in sample_dir.rglob("*") if p.is_file()}
    assert articles | set(rejected) == all_files
    assert not articles & set(rejected)
    for name, (_, reason) in FAULTS.items():
        if reason is None:
            assert name in articles, name
        else:
            assert rejected[name][0] == reason, (name, rejected[name])
            assert rejected[name][1], name  # every rejection explains itself
    assert "'2021-13-45'" in rejected["bad/month_13.txt"][1]
    body = q(db, "SELECT body FROM articles WHERE source_path = ?", ["ok/cp1252.txt"])[0][0]
    assert "Ghani’s government" in body and "“today”" in body
    assert q(db, "SELECT count(*) FROM articles WHERE source_path = ?", ["ok/'; DROP TABLE articles; --.txt"]) == [(1,)]
    actors = {a for (a,) in q(db, "SELECT DISTINCT actor FROM entity_mentions")}
    assert "Vladimir Putin" in actors


@pytest.mark.slow
def test_cli_prints_summary_and_fails_cleanly(sample_dir: Path, tmp_path: Path, capsys):
    db = tmp_path / "cli" / "n.duckdb"
    assert main(["materialize", "--raw-dir", str(sample_dir), "--db", str(db), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "accepted" in out and "duplicates" in out and "2021-07-28" in out and "Taliban" in out
    assert main(["materialize", "--raw-dir", str(tmp_path / "missing"), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsdag: error: raw directory not found") and "Traceback" not in err
    assert main(["materialize", "--raw-dir", str(sample_dir), "--db", str(db), "--model", "no_such_model"]) == 1
    assert "no_such_model" in capsys.readouterr().err


def test_reuters_slice_end_to_end(reuters_slice: Path, tmp_path: Path):
    s = settings_for(reuters_slice, tmp_path, n_process=2)
    assert materialize(s).success
    db = s.db_path
    manifest = {r["file"]: r for r in read_manifest()}
    n_files = len(list(reuters_slice.iterdir()))
    assert q(db, "SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_files)") == [(n_files,)]
    for path, day in q(db, "SELECT source_path, published_date::VARCHAR FROM articles"):
        assert manifest[path]["date"] == day
    # identical bodies collapse: every member of a group ends at the same canonical article
    canonical_of = dict(q(db, """SELECT a.source_path, coalesce(c.source_path, a.source_path) FROM articles a
                                 LEFT JOIN article_duplicates d USING (article_id)
                                 LEFT JOIN articles c ON c.article_id = d.duplicate_of"""))
    groups: dict[str, set[str]] = {}
    for path, target in canonical_of.items():
        groups.setdefault(manifest[path]["sha1_body"], set()).add(target)
    assert all(len(targets) == 1 for targets in groups.values())
    assert sum(1 for p in canonical_of if sum(manifest[x]["sha1_body"] == manifest[p]["sha1_body"] for x in canonical_of) > 1) > 0
    # the wire sign-off is boilerplate, not an actor
    assert q(db, """SELECT count(*) FROM entity_mentions m JOIN articles a USING (article_id)
                    WHERE lower(m.entity_text) = 'reuter' AND m.end_char >= length(rtrim(a.body)) - 1""") == [(0,)]
    assert q(db, "SELECT count(*) FROM articles WHERE body LIKE '%' || chr(10) || 'Reuter' OR body LIKE '%Reuter'") == [(0,)]
    assert q(db, "SELECT sum(mentions) FROM actor_mentions_daily") == q(db, "SELECT count(*)::HUGEINT FROM entity_mentions")
    assert q(db, "SELECT count(DISTINCT day) FROM actor_mentions_daily")[0][0] >= 1
    # filing places in wire datelines ('NEW YORK, March 2 - ') are not counted as mentions
    from newsdag.text import WIRE_DATELINE

    assert q(db, "SELECT count(*) FROM articles WHERE length(regexp_extract(body, ?)) > 0", [WIRE_DATELINE])[0][0] > 300
    assert q(db, """SELECT count(*) FROM entity_mentions m JOIN articles a USING (article_id)
                    WHERE m.start_char < length(regexp_extract(a.body, ?))""", [WIRE_DATELINE]) == [(0,)]


def _entities_metadata(result) -> dict:
    """The entities step's figures, added up over the build's runs (one materialisation per day, the
    same figures for every day of a run)."""
    total: dict = {}
    for run in result.runs:
        mats = run.asset_materializations_for_node("entities")
        for k, v in (mats[0].metadata.items() if mats else ()):
            total[k] = total.get(k, 0) + v.value if isinstance(v.value, int) else v.value
    return total


@pytest.mark.slow
def test_ner_is_cached_by_text_model_and_labels(sample_dir: Path, tmp_path: Path):
    from dataclasses import replace

    s = settings_for(sample_dir, tmp_path)
    first = materialize(s)
    meta = _entities_metadata(first)
    assert (meta["articles_read"], meta["articles_from_cache"]) == (4, 0)
    tables = q(s.db_path, "SELECT * FROM entity_mentions ORDER BY article_id, start_char")

    (sample_dir / "late.txt").write_text(" date 2021-07-29 Ashraf Ghani met Zalmay Khalilzad in Kabul.")
    second = materialize(s)
    meta = _entities_metadata(second)
    # the new article's day, and the days within the 30 days whose names resolve its actors (their mentions
    # are resolved again with the new names; their entities come from the cache)
    assert second.days == ["2021-07-07", "2021-07-28", "2021-07-29", "2021-08-10"]
    assert (meta["articles_read"], meta["articles_from_cache"]) == (1, 4)
    rebuilt = materialize(s, day_from="2021-07-01", day_to="2021-08-31")  # every day again: all from the cache
    assert (_entities_metadata(rebuilt)["articles_read"], _entities_metadata(rebuilt)["articles_from_cache"]) == (0, 5)
    late = q(s.db_path, "SELECT count(*) FROM entity_mentions m JOIN articles a USING (article_id) "
                        "WHERE a.source_path = 'late.txt'")
    assert late[0][0] >= 2
    (sample_dir / "late.txt").unlink()
    third = materialize(s)
    assert _entities_metadata(third)["articles_read"] == 0
    assert q(s.db_path, "SELECT * FROM entity_mentions ORDER BY article_id, start_char") == tables  # same result

    env_before = dict(os.environ)
    other_labels = materialize(replace(s, labels=("PERSON",)))
    assert dict(os.environ) == env_before  # settings of one run never leak into later runs or subprocesses
    assert _entities_metadata(other_labels)["articles_read"] == 4  # a different label set is a different key
    assert {l for (l,) in q(s.db_path, "SELECT DISTINCT entity_label FROM entity_mentions")} == {"PERSON"}


@pytest.mark.parametrize("text, dateline", [
    ("NEW YORK, Feb 26 - Shares rose.", "NEW YORK, Feb 26 - "),
    ("PALO ALTO, Calif., March 4 - Hewlett said", "PALO ALTO, Calif., March 4 - "),
    ("RICHMOND, Va. Feb 26 - Qtly div", "RICHMOND, Va. Feb 26 - "),
    ("Afghanistan's delegation, March 2 - said", None),
    ("U.S. officials said on March 2 - in Kabul", None),
    ("Toronto, FEb 26 - Standard Trustco said", "Toronto, FEb 26 - "),
    ("ATLANTA, Apri 1 - Digital said", "ATLANTA, Apri 1 - "),
    ("RENO, Nev., Mach 4 - Porsche Cars", "RENO, Nev., Mach 4 - "),
    ("COEUR D'ALENE, Idaho, March 2 - Shr loss", "COEUR D'ALENE, Idaho, March 2 - "),
    ("GRONINGEN, the Netherlands, March 31 - European", "GRONINGEN, the Netherlands, March 31 - "),
    ("FEDERAL RESERVE WEEKLY REPORT 1 - FEB 26  Two weeks", None),
    ("As of April 7 - in bushels", None),
])
def test_wire_dateline_pattern(text, dateline):
    import re

    from newsdag.text import WIRE_DATELINE

    m = re.match(WIRE_DATELINE, text)
    assert (m.group(0) if m else None) == dateline
    # DuckDB's RE2 reads the same rule alike (build_mentions applies it in SQL)
    assert duckdb.execute("SELECT regexp_extract(?, ?)", [text, WIRE_DATELINE]).fetchone()[0] == (dateline or "")


def test_wire_dateline_gives_the_day_dedup_compares():
    from newsdag.text import wire_dateline

    short, long = wire_dateline("NEW YORK, Sept 3 - x"), wire_dateline("NEW YORK, September 3 - x")
    assert (short.month, short.day, short.end, long.end) == (9, 3, 19, 24)
    found = wire_dateline("ATLANTA, Apri 1 - Digital said")
    assert (found.end, found.month, found.day) == (18, 4, 1)
    assert wire_dateline("Shares rose on March 2 - said") is None


def test_ingest_step_reports_each_table_as_its_own_asset(sample_dir, tmp_path):
    """One step builds the four ingest tables; the UI still shows each with its own rows and build time."""
    import dagster as dg

    from newsdag.definitions import build_defs

    (sample_dir / "empty.txt").write_text(" date 2021-07-29 \n\n")
    defs = build_defs(settings_for(sample_dir, tmp_path))
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in ["raw_files", "articles", "rejected_files", "article_duplicates"]},
        asset_check_selection=set())
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(instance=instance)
    assert [e.step_key for e in result.all_events if e.is_step_start] == ["ingest"]
    meta = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("ingest")}
    rows = {key: m["dagster/row_count"].value for key, m in meta.items()}
    assert rows == {"raw_files": 6, "articles": 5, "rejected_files": 1, "article_duplicates": 1}
    assert meta["rejected_files"]["rejected_empty_body"].value == 1
    # each table built in the step has its own build time: seconds, and together within the step's time
    seconds = {k: meta[k]["build_seconds"].value for k in meta if "build_seconds" in meta[k]}
    assert sorted(seconds) == ["article_duplicates", "articles", "raw_files"]
    assert all(isinstance(v, float) and v > 0 for v in seconds.values()), seconds
    step = {e.dagster_event.event_type: e.timestamp for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.step_key == "ingest"}
    assert sum(seconds.values()) <= step[dg.DagsterEventType.STEP_SUCCESS] - step[dg.DagsterEventType.STEP_START]
    assert meta["article_duplicates"]["days"].value == 3  # the empty file's day has no article
