"""The one Definitions object that the UI, the dagster CLI and `newsdag materialize` load."""

from __future__ import annotations

import dagster as dg

from assets.automation import build_jobs, daily_schedule, publish_after_distributed_run, raw_dir_sensor
from assets.chain import CHAIN, entities
from checks.quality_checks import CHECKS
from assets.resources import NewsdagResource
from newsdag.settings import Settings, io_dir


CELERY_TICK_SECONDS = 0.2


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    """In-process by default: steps share the working DuckDB file, which allows one writer. With
    NEWSDAG_EXECUTOR=celery, steps run on Celery workers (Redis broker) and keep their state as
    Parquet under the storage root; only the publish job writes DuckDB."""
    if settings.executor == "celery":
        from dagster_celery import celery_executor, core_execution_loop

        # The launcher looks for finished steps and submits the next ones once a tick; dagster-celery's
        # tick is 1 s, paid by each of a run's ~10 sequential steps (bench/distributed.py measures it).
        core_execution_loop.TICK_SECONDS = CELERY_TICK_SECONDS
        return celery_executor.configured({"broker": settings.celery_broker, "backend": settings.celery_backend})
    return dg.in_process_executor


def chain_for(settings: Settings) -> list:
    """The chain's assets: with Celery, `entities` is the fanned-out graph (NER in chunks on every worker)."""
    if settings.executor != "celery":
        return CHAIN
    from assets.fanout import entities_fanned_out

    return [entities_fanned_out if a is entities else a for a in CHAIN]


def io_manager_for(settings: Settings) -> dict:
    """With Celery, the values steps hand each other (the NER chunks' descriptions) are pickled under the
    storage root, which every worker shares, rather than under each host's DAGSTER_HOME (a run's config
    sets the folder from its own settings: newsdag.cli)."""
    if settings.executor != "celery":
        return {}
    return {"io_manager": dg.FilesystemIOManager(base_dir=io_dir(settings))}


def build_defs(settings: Settings) -> dg.Definitions:
    """The chain's assets and checks bound to `settings`."""
    distributed = settings.executor == "celery"
    jobs = build_jobs(distributed)
    return dg.Definitions(
        assets=chain_for(settings),
        asset_checks=CHECKS,
        jobs=jobs,
        schedules=[daily_schedule],
        sensors=[raw_dir_sensor, *([publish_after_distributed_run(jobs[-1])] if distributed else [])],
        resources={"newsdag": NewsdagResource.from_settings(settings), **io_manager_for(settings)},
        executor=executor_for(settings),
    )


defs = build_defs(Settings.from_env())
