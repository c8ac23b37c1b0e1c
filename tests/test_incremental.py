"""Partitions by publication day, incremental runs, late arrivals and idempotence, on the tables analysts see."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.automation import raw_dir_sensor
from newsdag import pipeline, warehouse
from newsdag.cli import main, materialize
from newsdag.definitions import build_defs
from assets.resources import NewsdagResource
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

# every table analysts read, except the quality history (it grows with every run by design)
CONTRACT = ["articles", "rejected_files", "article_duplicates", "entity_mentions", "actor_mentions_daily"]


def snapshot(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in CONTRACT}


def partitions_built(result, asset: str) -> set[str]:
    return {m.partition for r in result.runs for m in r.get_asset_materialization_events()
            if m.asset_key == dg.AssetKey(asset)}


def test_materialising_a_day_twice_leaves_identical_tables(sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path)
    assert materialize(s).success
    before = snapshot(s.db_path)
    for _ in range(2):
        again = materialize(s, day_from="2021-07-28", day_to="2021-07-28")
        assert again.success and again.days == ["2021-07-28"]
        assert partitions_built(again, "actor_mentions_daily") == {"2021-07-28"}
        assert snapshot(s.db_path) == before


def test_a_range_is_exactly_those_days_in_one_run(sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path)
    assert materialize(s).success
    result = materialize(s, day_from="2021-07-07", day_to="2021-07-31")
    assert result.days == ["2021-07-07", "2021-07-28"]
    assert len(result.runs) == 2  # ingest, then the range as one run
    for asset in ("entities", "entity_mentions", "actor_mentions_daily"):
        assert partitions_built(result, asset) == {"2021-07-07", "2021-07-28"}


@pytest.mark.parametrize("args, message", [
    (["--from", "2021-02-30"], "--from '2021-02-30' is not a date"),
    (["--from", "2021-08-01", "--to", "2021-07-01"], "--from 2021-08-01 is after --to 2021-07-01"),
    (["--from", "1999-01-01", "--to", "1999-12-31"], "no articles dated between 1999-01-01 and 1999-12-31"),
])
def test_cli_range_errors_are_one_clear_line(sample_dir: Path, tmp_path: Path, capsys, args, message):
    code = main(["materialize", "--raw-dir", str(sample_dir), "--db", str(tmp_path / "n.duckdb"), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err


def test_unchanged_files_are_not_parsed_again(sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path)
    with warehouse.session(s.work_db_path) as con:
        assert pipeline.build_raw_files(s, con).new == 5
        assert pipeline.build_cleaned(s, con).parsed == 5
        again = pipeline.build_raw_files(s, con)
        assert (again.new, again.changed, again.vanished) == (0, 0, 0)
        assert pipeline.build_cleaned(s, con).parsed == 0
        edited = sorted(sample_dir.iterdir())[2]
        edited.write_text(edited.read_text() + "\nThe Taliban said more.")
        (sample_dir / "late.txt").write_text(" date 2021-07-29 Joe Biden spoke.")
        sorted(sample_dir.iterdir())[0].unlink()
        stats = pipeline.build_raw_files(s, con)
        assert (stats.new, stats.changed, stats.vanished) == (1, 1, 1)
        assert pipeline.build_cleaned(s, con).parsed == 2  # the new and the edited file
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5


def test_changes_then_incremental_runs_equal_a_build_from_scratch(sample_dir: Path, tmp_path: Path):
    """Add, edit and delete files between runs; the incrementally maintained tables must equal a fresh build."""
    s = settings_for(sample_dir, tmp_path / "incremental")
    assert materialize(s).success
    seeds = sorted(sample_dir.iterdir())
    # a re-send of seed 000 dated a day earlier: it becomes the canonical copy, so 2021-07-28 changes too
    (sample_dir / "resend.txt").write_text(seeds[0].read_text().replace("2021-07-28", "2021-07-27", 1))
    result = materialize(s)
    # 07-27 and 07-28 changed; the sample's other days are within the 30 days whose names resolve actors,
    # so their mentions are rebuilt in the same run, after the new entities
    assert result.success and result.days == ["2021-07-07", "2021-07-27", "2021-07-28", "2021-08-10"]
    seeds[3].write_text(seeds[3].read_text() + "\n\nJoe Biden and Ashraf Ghani met in Washington.")
    seeds[4].unlink()
    assert materialize(s).success
    with duckdb.connect(str(s.db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM actor_mentions_daily WHERE day = DATE '2021-08-10'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM entity_mentions m JOIN article_duplicates d USING (article_id)"
                           ).fetchone() == (0,)

    fresh_raw = tmp_path / "fresh" / "raw"
    shutil.copytree(sample_dir, fresh_raw)
    fresh = settings_for(fresh_raw, tmp_path / "fresh")
    assert materialize(fresh).success
    assert snapshot(s.db_path) == snapshot(fresh.db_path)


def test_a_late_duplicate_on_another_day_gets_that_day_rebuilt_by_the_sensor(sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path)
    resource, defs = NewsdagResource.from_settings(s), build_defs(s)
    with dg.instance_for_test() as instance:
        assert materialize(s, instance=instance).success
        seed = sorted(sample_dir.iterdir())[0]
        # a re-send of 2021-07-28's story dated eight weeks earlier: more than 30 days from every other day
        (sample_dir / "resend.txt").write_text(seed.read_text().replace("2021-07-28", "2021-06-01", 1))

        def tick(cursor):
            with dg.build_sensor_context(cursor=cursor, instance=instance, resources={"newsdag": resource}) as c:
                return raw_dir_sensor(c), c.cursor

        def ranges(requests):
            return [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
                    for r in requests]

        requests, cursor = tick(None)
        assert ranges(requests) == [("2021-06-01", "2021-06-01")]  # the file says 06-01; dedup reveals 07-28 too
        job = defs.resolve_job_def("newsdag_all")
        before = s.db_path.read_bytes()
        # 2021-07-28's mentions still count the article that is now a duplicate: publishing refuses
        assert not job.execute_in_process(instance=instance, tags=dict(requests[0].tags), raise_on_error=False).success
        assert s.db_path.read_bytes() == before
        follow_up, _ = tick(cursor)  # files unchanged, but the refused publish named 2021-07-28
        assert ranges(follow_up) == [("2021-07-28", "2021-07-28")]
        assert job.execute_in_process(instance=instance, tags=dict(follow_up[0].tags)).success
        # the days around 07-28 resolved their actors with its old entities: the publish names them, rebuilt next
        neighbours, _ = tick(cursor)
        assert ranges(neighbours) == [("2021-07-07", "2021-07-07"), ("2021-08-10", "2021-08-10")]
        for request in neighbours:
            assert job.execute_in_process(instance=instance, tags=dict(request.tags)).success
        done, _ = tick(cursor)
        assert isinstance(done, dg.SkipReason)
    with duckdb.connect(str(s.db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM entity_mentions m JOIN article_duplicates d USING (article_id)"
                           ).fetchone() == (0,)
    fresh_raw = tmp_path / "fresh" / "raw"
    shutil.copytree(sample_dir, fresh_raw)
    fresh = settings_for(fresh_raw, tmp_path / "fresh")
    assert materialize(fresh).success
    assert snapshot(s.db_path) == snapshot(fresh.db_path)  # the sensor's runs end where a fresh build starts


def test_cli_says_what_it_built_and_when_nothing_changed(sample_dir: Path, tmp_path: Path, capsys):
    args = ["materialize", "--raw-dir", str(sample_dir), "--db", str(tmp_path / "n.duckdb"), "--quiet"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "newsdag: published" in first and "days built        3  (2021-07-07 .. 2021-08-10)" in first
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "is up to date (nothing changed)" in second and "days built" not in second
    assert "data-quality checks (8/8 passed)" in second  # the ingest checks, reusing their recorded results


def _reagan_corpus(raw: Path) -> None:
    """The full name on two days, the surname alone on a third (beside a second Reagan, named once), and
    the surname alone again 40 days later."""
    raw.mkdir(parents=True)
    (raw / "a.txt").write_text(" date 1987-03-02 President Ronald Reagan met Treasury Secretary James Baker "
                               "in Washington on Monday.\n\nRonald Reagan said the talks went well.")
    (raw / "b.txt").write_text(" date 1987-03-03 Ronald Reagan spoke to reporters about the budget.")
    (raw / "c.txt").write_text(" date 1987-03-05 Reagan told Congress that the deficit must fall.\n\n"
                               "Reagan repeated the point later.")
    (raw / "e.txt").write_text(" date 1987-03-05 Nancy Reagan visited a school in Ohio on Thursday.")
    (raw / "d.txt").write_text(" date 1987-04-14 Reagan said nothing new in Tokyo about trade with Japan.")


def test_a_day_counts_the_same_whichever_days_a_run_builds(tmp_path: Path):
    """Issue 16: surnames resolve with the names of the days around them, yet a day built alone, first or
    last gives the tables of a build from scratch."""
    raw = tmp_path / "raw"
    _reagan_corpus(raw)
    full = settings_for(raw, tmp_path / "full")
    assert materialize(full).success
    expected = snapshot(full.db_path)
    mentions = dict(((day.isoformat(), text), actor) for day, text, actor in duckdb.connect(
        str(full.db_path), read_only=True).execute(
        "SELECT published_date, entity_text, actor FROM entity_mentions WHERE entity_label = 'PERSON'").fetchall())
    # the surname alone is Ronald Reagan within 30 days of his full name (Nancy is named once), and stays
    # 'Reagan' 40 days later, when the window knows no full name
    assert mentions[("1987-03-05", "Reagan")] == "Ronald Reagan"
    assert mentions[("1987-03-05", "Nancy Reagan")] == "Nancy Reagan"
    assert mentions[("1987-04-14", "Reagan")] == "Reagan"

    # the day rebuilt alone: the same tables
    alone = materialize(full, day_from="1987-03-05", day_to="1987-03-05")
    assert alone.success and alone.days == ["1987-03-05"]
    assert snapshot(full.db_path) == expected

    # another warehouse builds 03-05 first, without the days around it: the only Reagan it knows is Nancy ...
    partial = settings_for(raw, tmp_path / "partial")
    assert materialize(partial, day_from="1987-03-05", day_to="1987-03-05").success
    with duckdb.connect(str(partial.db_path), read_only=True) as con:
        assert con.execute("SELECT DISTINCT actor FROM entity_mentions WHERE entity_text = 'Reagan'").fetchall() \
            == [("Nancy Reagan",)]
    # ... and the next run builds the other days and, after their entities, 03-05 again: as from scratch
    rest = materialize(partial)
    assert rest.success and "1987-03-05" in rest.days
    assert snapshot(partial.db_path) == expected
