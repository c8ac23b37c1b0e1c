"""The one Definitions object that the UI, the dagster CLI and `newsdag materialize` load."""

from __future__ import annotations

import dagster as dg

from assets.automation import build_jobs, daily_schedule, publish_after_distributed_run, raw_dir_sensor
from assets.chain import CHAIN
from checks.quality_checks import CHECKS
from assets.resources import NewsdagResource
from newsdag.settings import Settings


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    """In-process by default: steps share the working DuckDB file, which allows one writer. With
    NEWSDAG_EXECUTOR=celery, steps run on Celery workers (Redis broker) and keep their state as
    Parquet under the storage root; only the publish job writes DuckDB."""
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured({"broker": settings.celery_broker, "backend": settings.celery_backend})
    return dg.in_process_executor


def build_defs(settings: Settings) -> dg.Definitions:
    """The chain's assets and checks bound to `settings`."""
    distributed = settings.executor == "celery"
    jobs = build_jobs(distributed)
    return dg.Definitions(
        assets=CHAIN,
        asset_checks=CHECKS,
        jobs=jobs,
        schedules=[daily_schedule],
        sensors=[raw_dir_sensor, *([publish_after_distributed_run(jobs[-1])] if distributed else [])],
        resources={"newsdag": NewsdagResource.from_settings(settings)},
        executor=executor_for(settings),
    )


defs = build_defs(Settings.from_env())
