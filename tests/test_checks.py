"""Each data-quality check fails on crafted bad data and passes on clean data."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from checks import gx, names
from checks.suites import ALL_CHECKS
from newsdag.cli import materialize
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

BY_NAME = {c.name: c for c in ALL_CHECKS}


def run_check(name: str, con, settings):
    defn = BY_NAME[name]
    return gx.validate(defn.frame(con), defn.name, defn.expectations(gx.gx_module(), settings), defn.id_column)


@pytest.fixture
def work(sample_build, tmp_path: Path):
    """A copy of the clean sample build's working database (conftest's sample_build), for tests to break."""
    import shutil

    copy = tmp_path / "work.duckdb"
    shutil.copy(sample_build.work_db_path, copy)
    con = duckdb.connect(str(copy))
    yield con
    con.close()


def test_every_check_passes_on_the_clean_sample(work, sample_build):
    for defn in ALL_CHECKS:
        outcome = run_check(defn.name, work, sample_build)
        assert outcome.passed, (defn.name, outcome)
        assert outcome.failing_rows == 0


BREAKAGES = {
    names.FILES_DECODE: ("UPDATE raw_files SET text = NULL, error = 'NUL bytes', reason = 'undecodable' "
                         "WHERE source_path LIKE '003%'", 1),
    names.DATE_HEADERS_WELL_FORMED: (
        "UPDATE raw_files SET text = replace(text, '2021-07-28', '2021-02-30') WHERE source_path LIKE '00%'", 2),
    names.BODIES_NOT_EMPTY: ("INSERT INTO rejected_files VALUES ('x.txt', 'empty_body', 'empty', 'h')", 1),
    names.RAW_FILES_ACCOUNTED_FOR: ("DELETE FROM articles WHERE source_path LIKE '004%'", 1),
    names.ARTICLES_DATES_VALID: ("UPDATE articles SET published_date = DATE '2999-01-01' WHERE source_path LIKE '003%'", 1),
    names.ARTICLES_BODIES_NOT_EMPTY: ("UPDATE articles SET body = '   ' WHERE source_path LIKE '002%'", 1),
    names.ARTICLE_IDS_UNIQUE: ("UPDATE articles SET article_id = 'same' WHERE source_path LIKE '00%' AND source_path < '002'", 2),
    names.ACTORS_NOT_BLANK: ("UPDATE entity_mentions SET actor = ' ' WHERE rowid IN (SELECT rowid FROM entity_mentions LIMIT 3)", 3),
    names.NO_MENTIONS_FROM_DUPLICATES: (
        "INSERT INTO entity_mentions SELECT d.article_id, DATE '2021-07-28', 'Taliban', 'organization', NULL, 'Taliban', 'ORG', 0, 7 "
        "FROM article_duplicates d", 1),
    names.DAILY_COUNTS_ADD_UP: ("UPDATE actor_mentions_daily SET mentions = mentions + 1 WHERE actor = 'Taliban'", 3),
    names.ARTICLES_IN_MODEL_LANGUAGE: (
        "UPDATE articles SET language = 'de' WHERE source_path LIKE '00%' AND source_path < '002'", 2),
    # a mention whose article is gone; a day built from other articles; a count off its recount
    names.TABLES_CONSISTENT: ("DELETE FROM articles WHERE source_path LIKE '003%'; "
                              "UPDATE day_inputs SET digest = 'changed' WHERE day = DATE '2021-08-10'; "
                              "UPDATE actor_mentions_daily SET articles = articles + 1 WHERE actor = 'Taliban' "
                              "AND day = DATE '2021-07-28'", 3),
}


@pytest.mark.parametrize("check_name", sorted(BREAKAGES))
def test_each_check_fails_on_crafted_bad_data(check_name, work, sample_build):
    sql, expected_failing = BREAKAGES[check_name]
    work.execute(sql)
    outcome = run_check(check_name, work, sample_build)
    assert not outcome.passed
    assert outcome.failing_rows == expected_failing
    assert outcome.sample, "a failing check names what failed"


def test_date_bound_is_configurable(work, sample_build):
    from dataclasses import replace

    assert run_check(names.ARTICLES_DATES_VALID, work, sample_build).passed
    strict = replace(sample_build, min_date=dt.date(2021, 7, 20))
    outcome = run_check(names.ARTICLES_DATES_VALID, work, strict)
    assert not outcome.passed and outcome.failing_rows == 1  # seed 003 is from 2021-07-07


def test_known_faults_are_counted_and_recorded(sample_dir: Path, tmp_path: Path):
    faults = {
        "m1.txt": b" date 2021-13-45 Kabul.", "m2.txt": b" date 28/07/2021 Kabul.", "m3.txt": b"date 2021-02-30 Kabul.",
        "e1.txt": b" date 2021-07-28 ", "e2.txt": b" date 2021-07-28 \nALSO READ: elsewhere\n", "u1.txt": b"\x00\x01",
    }
    for name, data in faults.items():
        (sample_dir / name).write_bytes(data)
    s = settings_for(sample_dir, tmp_path)
    result = materialize(s)
    assert result.success
    with duckdb.connect(str(s.db_path), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT check_name, passed, severity, failing_rows, sample, run_id FROM data_quality_results").fetchall()}
    assert set(rows) == {c.name for c in ALL_CHECKS}
    assert rows[names.DATE_HEADERS_WELL_FORMED][:3] == (False, "WARN", 3)
    assert rows[names.BODIES_NOT_EMPTY][:3] == (False, "WARN", 2)
    assert rows[names.FILES_DECODE][:3] == (False, "WARN", 1)
    assert "m1.txt" in rows[names.DATE_HEADERS_WELL_FORMED][3]
    assert rows[names.RAW_FILES_ACCOUNTED_FOR][:2] == (True, "ERROR")
    assert {r[4] for r in rows.values()} <= set(result.run_ids)  # recorded by this build's runs


def test_an_implausible_date_is_quarantined_and_the_rest_published(sample_dir: Path, tmp_path: Path, capsys):
    from newsdag.cli import main

    (sample_dir / "future.txt").write_bytes(b" date 2999-01-01 Joe Biden spoke in Kabul.")
    (sample_dir / "norman.txt").write_bytes(b" date 1066-10-14 Harold met William near Hastings.")
    db = tmp_path / "pub" / "n.duckdb"
    assert main(["materialize", "--raw-dir", str(sample_dir), "--db", str(db), "--quiet"]) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        rejected = dict(con.execute("SELECT source_path, reason || ': ' || detail FROM rejected_files").fetchall())
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
    assert rejected["future.txt"].startswith("implausible_date: ") and "2999-01-01" in rejected["future.txt"]
    assert rejected["norman.txt"].startswith("implausible_date: ") and "1066-10-14" in rejected["norman.txt"]
    # quarantined dates are looked at again on every run (tomorrow moves), but unchanged files change nothing
    capsys.readouterr()
    assert main(["materialize", "--raw-dir", str(sample_dir), "--db", str(db), "--quiet"]) == 0
    assert "is up to date (nothing changed)" in capsys.readouterr().out


def test_a_failed_blocking_check_stops_publishing(sample_dir: Path, tmp_path: Path, capsys, monkeypatch):
    """The date check is the backstop: were a future date to slip past the parse step, nothing is published."""
    from newsdag import pipeline
    from newsdag.cli import main

    parse_rules = pipeline.parse_rules
    monkeypatch.setattr(pipeline, "parse_rules",
                        lambda s, raw: replace(parse_rules(s, raw), max_date=dt.date(9999, 12, 31)))
    (sample_dir / "future.txt").write_bytes(b" date 2999-01-01 Joe Biden spoke in Kabul.")
    db = tmp_path / "pub" / "n.duckdb"
    assert main(["materialize", "--raw-dir", str(sample_dir), "--db", str(db), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "articles_dates_valid" in err and "not published" in err
    assert not db.exists()


def test_a_partial_build_never_publishes_inconsistent_tables(sample_dir: Path, tmp_path: Path, capsys):
    """Files changed on another day than the one rebuilt: publishing refuses, names the day, and a full
    run (which rebuilds every stale day) publishes consistent tables."""
    from newsdag.cli import main

    db = tmp_path / "pub" / "n.duckdb"
    args = ["materialize", "--raw-dir", str(sample_dir), "--db", str(db), "--quiet"]
    assert main(args) == 0
    before = db.read_bytes()
    (next(sample_dir.glob("003_*.txt"))).unlink()  # the only article of 2021-07-07
    assert main([*args, "--from", "2021-07-28", "--to", "2021-07-28"]) == 1
    err = capsys.readouterr().err
    assert "tables_consistent" in err and "2021-07-07" in err and "not published" in err
    assert db.read_bytes() == before
    assert main(args) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM entity_mentions WHERE article_id NOT IN "
                           "(SELECT article_id FROM articles)").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM actor_mentions_daily WHERE day = DATE '2021-07-07'").fetchone() == (0,)
        latest = con.execute("SELECT passed FROM latest_data_quality WHERE check_name = 'tables_consistent'").fetchall()
    assert latest == [(True,)]


def test_one_check_can_run_alone(sample_build):
    """Checks run as one step per chain step, but each can still be selected alone (as from the UI)."""
    import dagster as dg

    from newsdag.definitions import build_defs

    job = build_defs(sample_build).resolve_implicit_global_asset_job_def()
    key = dg.AssetCheckKey(dg.AssetKey("articles"), names.ARTICLE_IDS_UNIQUE)
    result = job.get_subset(asset_selection=set(), asset_check_selection={key}).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    assert [(e.check_name, e.passed) for e in result.get_asset_check_evaluations()] == [(names.ARTICLE_IDS_UNIQUE, True)]
    assert [e.step_key for e in result.all_events if e.is_step_start] == ["ingest_checks"]


def test_a_check_on_unchanged_rows_reuses_its_result_and_new_rows_are_validated(sample_dir: Path, tmp_path: Path):
    import dagster as dg

    s = settings_for(sample_dir, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    first = materialize(s, instance=instance)
    assert first.success
    first_run = first.run_ids[0]
    again = materialize(s, instance=instance, day_from="2021-07-07")  # the same rows, checked again
    reused = {e.check_name: e.metadata.get("unchanged_since_run") for e in again.get_asset_check_evaluations()}
    assert len(reused) == len(ALL_CHECKS)
    assert {k: v and v.value for k, v in reused.items()} == {c.name: first_run if c.asset in (
        "raw_files", "articles", "rejected_files") else first.run_ids[1] for c in ALL_CHECKS}
    (sample_dir / "late.txt").write_text(" date 2021-07-07 \n\nKabul said on Tuesday that talks would resume.\n")
    third = materialize(s, instance=instance)
    fresh = {e.check_name for e in third.get_asset_check_evaluations() if "unchanged_since_run" not in e.metadata}
    assert {names.ARTICLE_IDS_UNIQUE, names.FILES_DECODE, names.ACTORS_NOT_BLANK} <= fresh


def _record(con, check: str, asset: str, partition: str | None, passed: bool, minute: int | None,
            failing: int = 0) -> None:
    """A row of data_quality_results as a check step records it, `minute` minutes into 2026 (None: now)."""
    from newsdag import quality

    quality.record_results(con, [{
        "checked_at": quality.now() if minute is None else dt.datetime(2026, 1, 1, 0, minute),
        "run_id": f"run{minute}", "check_name": check, "asset": asset, "partition": partition, "severity": "ERROR", "passed": passed,
        "failing_rows": failing, "sample": [], "details": [], "input_digest": f"d{minute}"}])


def test_the_publish_gate_keeps_a_failed_day_until_that_day_passes_again():
    from newsdag import quality

    con = duckdb.connect()
    blank, mentions = names.ACTORS_NOT_BLANK, "entity_mentions"
    days = ["2021-07-07", "2021-07-28", "2021-08-10"]
    _record(con, blank, mentions, "2021-07-07", False, 1, failing=3)
    _record(con, blank, mentions, "2021-07-28..2021-08-10", True, 2)  # other days pass later: still blocked
    assert quality.failing_error_checks(con, days) == [(blank, 3, "2021-07-07")]
    assert quality.failing_error_checks(con, ["2021-07-28"]) == []  # the failed day has no data any more
    _record(con, blank, mentions, "2021-07-07..2021-07-28", True, 3)  # the failed day passes again
    assert quality.failing_error_checks(con, days) == []
    # a failure over a range stays on the days that were not checked since, however they were split
    _record(con, blank, mentions, "2021-07-07..2021-08-10", False, 4, failing=5)
    _record(con, blank, mentions, "2021-07-28", True, 5)
    assert quality.failing_error_checks(con, days) == [(blank, 5, "2021-07-07..2021-08-10")]
    _record(con, blank, mentions, "2021-07-07", True, 6)
    assert quality.failing_error_checks(con, days) == [(blank, 5, "2021-08-10")]
    assert quality.failing_error_checks(con) == [(blank, 5, "2021-07-08..2021-08-10")]  # no days given: the calendar
    _record(con, blank, mentions, "2021-08-10", True, 7)
    assert quality.failing_error_checks(con, days) == []
    # a check on an unpartitioned table: its newest result decides
    _record(con, names.ARTICLE_IDS_UNIQUE, "articles", None, False, 8, failing=2)
    assert quality.failing_error_checks(con, days) == [(names.ARTICLE_IDS_UNIQUE, 2, None)]
    _record(con, names.ARTICLE_IDS_UNIQUE, "articles", None, True, 9)
    assert quality.failing_error_checks(con, days) == []


def test_a_day_that_failed_blocks_publishing_after_other_days_pass(sample_dir: Path, tmp_path: Path, capsys):
    """A failed ERROR check on one day is not cleared by a later run of other days; rebuilding that day is."""
    from newsdag.cli import main
    from newsdag.settings import Settings

    db = tmp_path / "pub" / "n.duckdb"
    args = ["materialize", "--raw-dir", str(sample_dir), "--db", str(db), "--quiet"]
    assert main(args) == 0
    # what a run whose check failed on 2021-07-07 leaves behind
    with duckdb.connect(str(Settings(raw_dir=sample_dir, db_path=db).work_db_path)) as con:
        _record(con, names.ACTORS_NOT_BLANK, "entity_mentions", "2021-07-07", False, None, failing=4)
    published = db.stat().st_mtime_ns
    capsys.readouterr()
    assert main([*args, "--from", "2021-07-28", "--to", "2021-07-28"]) == 1
    err = capsys.readouterr().err
    assert "step 'warehouse_file' failed: blocking data-quality check failed: actors_not_blank on 2021-07-07 " \
           "(4 failing); the warehouse was not published" in err
    assert db.stat().st_mtime_ns == published
    assert main([*args, "--from", "2021-07-07", "--to", "2021-07-07"]) == 0  # the day passes again: published
    assert db.stat().st_mtime_ns != published
