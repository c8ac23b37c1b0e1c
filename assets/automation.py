"""When the chain runs by itself: a sensor on the raw directory and a daily schedule, both requesting
only the publication days that changed."""

from __future__ import annotations

import dagster as dg

from assets.chain import INGEST_KEYS, PUBLISH_KEY
from assets.partitions import PUBLICATION_DAY, contiguous_ranges, range_tags, register_days
from newsdag import inventory, pipeline, reading
from assets.resources import NewsdagResource

ALL_JOB, INGEST_JOB, PUBLISH_JOB = "newsdag_all", "newsdag_ingest", "newsdag_publish"


def build_jobs(distributed: bool) -> list:
    """The jobs. Distributed (Celery): the chain's jobs stop short of `warehouse_file`, the one step
    that writes DuckDB, which runs as its own job in the run's process (never on a Celery worker),
    launched after each successful chain run by `publish_after_distributed_run`."""
    chain = dg.AssetSelection.groups("news")
    publish = dg.AssetSelection.assets(PUBLISH_KEY)
    ingest = dg.AssetSelection.assets(*INGEST_KEYS)
    if not distributed:
        return [
            dg.define_asset_job(ALL_JOB, selection=chain,
                                description="The whole chain for a range of days: raw files to the published warehouse."),
            # files that touch no day (a new file that is quarantined, say) still change the analysts' file
            dg.define_asset_job(INGEST_JOB, selection=ingest | publish,
                                description="Inventory, clean and deduplicate the raw files, register their days, publish."),
        ]
    return [
        dg.define_asset_job(ALL_JOB, selection=chain - publish,
                            description="The chain for a range of days, on Celery workers (state as Parquet)."),
        dg.define_asset_job(INGEST_JOB, selection=ingest,
                            description="Inventory, clean and deduplicate the raw files, register their days."),
        dg.define_asset_job(PUBLISH_JOB, selection=publish, executor_def=dg.in_process_executor,
                            description="The one DuckDB writer: load the Parquet state and publish the analysts' file."),
    ]


def publish_after_distributed_run(publish_job) -> dg.SensorDefinition:
    """Distributed mode: publish after every successful chain run."""

    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, request_job=publish_job,
                          name="publish_after_distributed_run", default_status=dg.DefaultSensorStatus.STOPPED)
    def _sensor(context: dg.RunStatusSensorContext):
        """Launches newsdag_publish (the one DuckDB writer) after each successful chain run on Celery."""
        if context.dagster_run.job_name in (ALL_JOB, INGEST_JOB):
            return dg.RunRequest(run_key=f"publish:{context.dagster_run.run_id}")
        return dg.SkipReason(f"{context.dagster_run.job_name} does not change the chain's tables")

    return _sensor


def _stale_after_last_publish(instance: dg.DagsterInstance) -> tuple[str | None, list[str]]:
    """(run id, days) that the last publish reported as not rebuilt from their current articles: in its
    materialization (days it published without mentions yet), or in the observation it logs when it
    refuses to publish inconsistent tables (e.g. a day whose canonical article became a duplicate of a
    late arrival on another day)."""
    key = dg.AssetKey(PUBLISH_KEY)
    events = [r.event_log_entry for r in instance.fetch_observations(key, limit=1).records]
    latest = instance.get_latest_materialization_event(key)
    events += [latest] if latest is not None else []
    if not events:
        return None, []
    event = max(events, key=lambda e: e.timestamp)
    metadata = (event.asset_materialization or event.asset_observation).metadata
    stale = metadata.get("stale_days")
    return event.run_id, list(getattr(stale, "value", None) or [])


def plan_runs(instance: dg.DagsterInstance, newsdag: NewsdagResource, key_prefix: str,
              look_at_files: bool = True) -> list[dg.RunRequest]:
    """Run requests for the days touched by file changes since the last publish, plus days the last
    publish reported stale: one run per range of consecutive days, or one ingest run if no day is touched."""
    changes = inventory.changes_since_publish(newsdag.settings) if look_at_files else inventory.Changes()
    run_id, stale = _stale_after_last_publish(instance)
    days = sorted({d.isoformat() for d in changes.days} | set(stale))
    if days:
        register_days(instance, days)
        keys = list(instance.get_dynamic_partitions(PUBLICATION_DAY))
        # the days around a changed day resolve their actors with its names: rebuilt in the same run
        days = sorted({d.isoformat() for d in pipeline.with_neighbours(changes.days, keys)} | set(days))
        tags = {"newsdag/files_new": str(len(changes.new)), "newsdag/files_changed": str(len(changes.changed)),
                "newsdag/files_vanished": str(len(changes.vanished)), "newsdag/stale_days": str(len(stale))}
        return [dg.RunRequest(job_name=ALL_JOB, run_key=f"{key_prefix}:{run_id}:{first}:{last}",
                              tags={**tags, **range_tags(first, last)})
                for first, last in contiguous_ranges(keys, days)]
    if changes.any:
        publish = [] if newsdag.settings.executor == "celery" else [PUBLISH_KEY]
        return [dg.RunRequest(job_name=ALL_JOB, run_key=f"{key_prefix}:ingest",
                              asset_selection=[dg.AssetKey(k) for k in [*INGEST_KEYS, *publish]])]
    return []


@dg.sensor(job_name=ALL_JOB, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def raw_dir_sensor(context: dg.SensorEvaluationContext, newsdag: NewsdagResource):
    """Requests a run for the days that new, changed or removed raw files touch (a late article for
    an old day rebuilds that day and the days within 30 days of it, whose actors resolve with its names),
    and for days the last publish reported stale (a day whose article turned out to duplicate a late
    arrival on another day)."""
    raw_dir = newsdag.settings.raw_dir
    try:
        current = reading.fingerprint(raw_dir)
    except FileNotFoundError as exc:
        return dg.SkipReason(str(exc))
    if current == context.cursor:
        requests = plan_runs(context.instance, newsdag, key_prefix="stale", look_at_files=False)
        return requests or dg.SkipReason(f"no new, changed or removed files under {raw_dir}, no stale day")
    requests = plan_runs(context.instance, newsdag, key_prefix=current)
    context.update_cursor(current)
    return requests or dg.SkipReason(f"files under {raw_dir} changed but the published warehouse already has them")


@dg.schedule(cron_schedule="0 6 * * *", execution_timezone="UTC", job_name=ALL_JOB,
             default_status=dg.DefaultScheduleStatus.STOPPED)
def newsdag_daily(context: dg.ScheduleEvaluationContext, newsdag: NewsdagResource):
    """Every morning at 06:00 UTC: rebuild whatever days changed (a catch-up when the sensor is off)."""
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "now"
    return plan_runs(context.instance, newsdag, key_prefix=f"daily:{stamp}") or dg.SkipReason("nothing changed")


daily_schedule = newsdag_daily
