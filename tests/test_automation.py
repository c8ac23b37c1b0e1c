"""The raw-directory sensor and the daily schedule, evaluated directly against a real instance."""

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.automation import daily_schedule, raw_dir_sensor
from assets.partitions import PUBLICATION_DAY
from newsdag.cli import materialize
from newsdag.definitions import build_defs
from assets.resources import NewsdagResource
from tests.conftest import settings_for

SIX_AM = dt.datetime(2026, 11, 24, 6, tzinfo=dt.timezone.utc)
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def evaluate(resource, instance, cursor):
    with dg.build_sensor_context(cursor=cursor, instance=instance, resources={"newsdag": resource}) as context:
        result = raw_dir_sensor(context)
        return result, context.cursor


def day_ranges(requests) -> list[tuple[str, str]]:
    return [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in requests]


def run_request(defs, instance, request):
    """What the daemon would launch for a request."""
    job = defs.resolve_job_def(request.job_name or "newsdag_all")
    selection = list(request.asset_selection) if request.asset_selection else None
    return job.execute_in_process(instance=instance, tags=dict(request.tags), asset_selection=selection,
                                  raise_on_error=False)


def counts_by_day(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT day::VARCHAR, sum(mentions) FROM actor_mentions_daily GROUP BY 1").fetchall())


@pytest.mark.slow
def test_sensor_requests_only_the_days_that_files_touch(sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path)
    resource, instance, defs = NewsdagResource.from_settings(s), dg.DagsterInstance.ephemeral(), build_defs(s)

    # nothing published yet: every day of the sample, which are consecutive partitions, in one run
    first, cursor = evaluate(resource, instance, None)
    assert day_ranges(first) == [("2021-07-07", "2021-08-10")]
    assert list(instance.get_dynamic_partitions(PUBLICATION_DAY)) == ["2021-07-07", "2021-07-28", "2021-08-10"]
    assert run_request(defs, instance, first[0]).success
    before = counts_by_day(s.db_path)
    assert set(before) == {"2021-07-07", "2021-07-28", "2021-08-10"}

    again, same = evaluate(resource, instance, cursor)
    assert isinstance(again, dg.SkipReason) and same == cursor

    # a late article for an old day rebuilds that day and the days within 30 days of it, whose actors
    # resolve with its names (2021-07-28); 2021-08-10 is 34 days away
    (sample_dir / "late.txt").write_text(" date 2021-07-07 Ashraf Ghani met Joe Biden in Kabul on Wednesday.")
    late, cursor = evaluate(resource, instance, cursor)
    assert day_ranges(late) == [("2021-07-07", "2021-07-28")]
    result = run_request(defs, instance, late[0])
    assert result.success
    built = {e.partition for e in result.get_asset_materialization_events()
             if e.asset_key == dg.AssetKey("actor_mentions_daily")}
    assert built == {"2021-07-07", "2021-07-28"}
    after = counts_by_day(s.db_path)
    assert after["2021-07-07"] > before["2021-07-07"]
    assert {d: after[d] for d in ("2021-07-28", "2021-08-10")} == {d: before[d] for d in ("2021-07-28", "2021-08-10")}

    # a day earlier than every partition: registered in date order
    (sample_dir / "early.txt").write_text(" date 2021-06-30 Joe Biden spoke about NATO in Brussels.")
    early, cursor = evaluate(resource, instance, cursor)
    assert day_ranges(early) == [("2021-06-30", "2021-07-28")]
    assert list(instance.get_dynamic_partitions(PUBLICATION_DAY))[0] == "2021-06-30"
    assert run_request(defs, instance, early[0]).success

    # a vanished file: the day it was on is rebuilt and its mentions disappear
    (sample_dir / "late.txt").unlink()
    removed, cursor = evaluate(resource, instance, cursor)
    assert day_ranges(removed) == [("2021-06-30", "2021-07-28")]
    assert run_request(defs, instance, removed[0]).success
    assert counts_by_day(s.db_path)["2021-07-07"] == before["2021-07-07"]

    # a file that touches no day (quarantined: malformed header) still gets an ingest run that publishes it
    (sample_dir / "bad.txt").write_text(" date 2021-13-45 Nothing to see.")
    bad, cursor = evaluate(resource, instance, cursor)
    assert len(bad) == 1 and RANGE_START not in bad[0].tags
    assert {k.to_user_string() for k in bad[0].asset_selection} >= {"raw_files", "warehouse_file"}
    assert run_request(defs, instance, bad[0]).success
    with duckdb.connect(str(s.db_path), read_only=True) as con:
        assert con.execute("SELECT reason FROM rejected_files WHERE source_path = 'bad.txt'").fetchall() == [
            ("malformed_date_header",)]


@pytest.mark.slow
def test_schedule_catches_up_on_what_changed(sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path)
    resources = {"newsdag": NewsdagResource.from_settings(s)}
    with dg.instance_for_test() as instance:  # schedules need a persistent instance
        assert materialize(s, instance=instance).success
        with dg.build_schedule_context(instance=instance, resources=resources, scheduled_execution_time=SIX_AM) as c:
            assert isinstance(daily_schedule(c), dg.SkipReason)
        (sample_dir / "late.txt").write_text(" date 2021-08-10 The Taliban took Kunduz.")
        with dg.build_schedule_context(instance=instance, resources=resources, scheduled_execution_time=SIX_AM) as c:
            requests = daily_schedule(c)
    # 08-10 and 07-28, within 30 days of it (its actors resolve with 08-10's names); 07-07 is 34 days away
    assert day_ranges(requests) == [("2021-07-28", "2021-08-10")]


def test_sensor_skips_clearly_when_raw_dir_is_missing(tmp_path: Path):
    resource = NewsdagResource.from_settings(settings_for(tmp_path / "missing", tmp_path))
    result, _ = evaluate(resource, dg.DagsterInstance.ephemeral(), None)
    assert isinstance(result, dg.SkipReason) and "raw directory not found" in result.skip_message


INGEST = {"raw_files", "articles", "rejected_files", "article_duplicates"}
PER_DAY = {"entities", "entity_mentions", "actor_mentions_daily"}


def test_definitions_load_with_schedule_sensor_and_jobs(sample_dir: Path, tmp_path: Path):
    defs = build_defs(settings_for(sample_dir, tmp_path))

    def assets(job_name: str) -> set[str]:
        return {k.to_user_string() for k in defs.resolve_job_def(job_name).asset_layer.selected_asset_keys}

    # the whole chain, partitioned by publication day; the ingest job for files that touch no day
    assert assets("newsdag_all") == INGEST | PER_DAY | {"warehouse_file"}
    assert defs.resolve_job_def("newsdag_all").partitions_def.name == PUBLICATION_DAY
    assert assets("newsdag_ingest") == INGEST | {"warehouse_file"}
    assert defs.resolve_job_def("newsdag_ingest").partitions_def is None
    schedule, sensor = defs.resolve_schedule_def("newsdag_daily"), defs.resolve_sensor_def("raw_dir_sensor")
    assert (schedule.job_name, schedule.cron_schedule, schedule.execution_timezone) == ("newsdag_all", "0 6 * * *", "UTC")
    assert schedule is daily_schedule
    assert (sensor.job_name, sensor.minimum_interval_seconds) == ("newsdag_all", 60)
    defs.validate_loadable(defs)
