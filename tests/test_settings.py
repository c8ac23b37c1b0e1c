"""One declaration of settings: the environment, the run config (the Dagster resource) and back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from assets.resources import NewsdagResource
from newsdag.settings import Settings


def test_settings_travel_through_the_resource_unchanged():
    s = Settings.from_env({"NEWSDAG_RAW_DIR": "/news/raw", "NEWSDAG_DB_PATH": "/out/n.duckdb",
                           "NEWSDAG_LABELS": "person,org", "NEWSDAG_ALIASES": "a.csv", "NEWSDAG_NICKNAMES": "n.csv",
                           "NEWSDAG_MIN_DATE": "1980-01-01", "NEWSDAG_N_PROCESS": "3", "NEWSDAG_MAX_FILE_MB": "2.5"})
    assert (s.raw_dir, s.labels, s.aliases_path, s.nicknames_path) == (
        Path("/news/raw"), ("PERSON", "ORG"), Path("a.csv"), Path("n.csv"))
    resource = NewsdagResource.from_settings(s)
    assert resource.labels == "PERSON,ORG" and resource.min_date == "1980-01-01" and resource.n_process == 3
    assert resource.settings == s
    assert Settings.from_config(s.to_config()) == s


def test_the_resource_has_a_field_for_every_per_run_setting_and_no_process_wide_one():
    fields = set(NewsdagResource.model_fields)
    assert fields == set(Settings().to_config())
    assert {"raw_dir", "db_path", "labels", "aliases_path", "nicknames_path", "min_date", "max_file_mb"} <= fields
    assert not fields & {"executor", "celery_broker", "celery_backend"}
    assert Settings.from_config({"min_date": "2001-02-03"}).min_date == dt.date(2001, 2, 3)
