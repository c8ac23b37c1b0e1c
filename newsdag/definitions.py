"""The one Definitions object that the UI, the dagster CLI and `newsdag materialize` load."""

from __future__ import annotations

import dagster as dg

from assets.automation import daily_schedule, ingest_job, news_job, raw_dir_sensor
from assets.chain import CHAIN
from checks.quality_checks import CHECKS
from newsdag.resources import NewsdagResource
from newsdag.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    """The chain's assets and checks bound to `settings`."""
    return dg.Definitions(
        assets=CHAIN,
        asset_checks=CHECKS,
        jobs=[news_job, ingest_job],
        schedules=[daily_schedule],
        sensors=[raw_dir_sensor],
        resources={"newsdag": NewsdagResource.from_settings(settings)},
        # Steps share one DuckDB working file, which allows one writer: run them in one process.
        executor=dg.in_process_executor,
    )


defs = build_defs(Settings.from_env())
