"""The schedule and the raw-directory sensor, evaluated directly."""

from pathlib import Path

import dagster as dg

from assets.automation import daily_schedule, raw_dir_sensor
from newsdag.definitions import build_defs
from newsdag.resources import NewsdagResource
from tests.conftest import settings_for


def evaluate(resource, cursor):
    with dg.build_sensor_context(cursor=cursor, resources={"newsdag": resource}) as context:
        result = raw_dir_sensor(context)
        return result, context.cursor


def test_sensor_requests_a_run_only_when_raw_files_change(sample_dir: Path, tmp_path: Path):
    resource = NewsdagResource.from_settings(settings_for(sample_dir, tmp_path))
    first, cursor = evaluate(resource, None)
    assert isinstance(first, dg.RunRequest)
    again, same = evaluate(resource, cursor)
    assert isinstance(again, dg.SkipReason) and same == cursor

    (sample_dir / "late.txt").write_text(" date 2021-07-29 Ashraf Ghani spoke.")  # a late article
    added, cursor2 = evaluate(resource, cursor)
    assert isinstance(added, dg.RunRequest) and cursor2 != cursor and added.run_key == cursor2

    (sample_dir / "late.txt").unlink()  # a vanished file also needs a run
    removed, cursor3 = evaluate(resource, cursor2)
    assert isinstance(removed, dg.RunRequest) and cursor3 == cursor


def test_sensor_skips_clearly_when_raw_dir_is_missing(tmp_path: Path):
    resource = NewsdagResource.from_settings(settings_for(tmp_path / "missing", tmp_path))
    result, _ = evaluate(resource, None)
    assert isinstance(result, dg.SkipReason) and "raw directory not found" in result.skip_message


def test_definitions_load_with_schedule_sensor_and_job(sample_dir: Path, tmp_path: Path):
    defs = build_defs(settings_for(sample_dir, tmp_path))
    assert defs.resolve_job_def("newsdag_all") is not None
    assert defs.resolve_schedule_def("newsdag_daily").cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("raw_dir_sensor") is not None
    assert daily_schedule.execution_timezone == "UTC"
    defs.validate_loadable(defs)
