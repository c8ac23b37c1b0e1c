"""When the chain runs by itself: a sensor on the raw directory and a daily schedule, both requesting
only the publication days that changed."""

from __future__ import annotations

import dagster as dg

from assets.partitions import PUBLICATION_DAY, contiguous_ranges, range_tags, register_days
from newsdag import inventory, reading
from newsdag.resources import NewsdagResource

INGEST_KEYS = ["raw_files", "articles", "rejected_files", "article_duplicates"]

# Every asset and check; partitioned by publication day (the unpartitioned steps are incremental).
news_job = dg.define_asset_job("newsdag_all", selection=dg.AssetSelection.groups("news"),
                               description="The whole chain for a range of days: raw files to the published warehouse.")
# Files that touch no day (a new file that is quarantined, say) still change the analysts' file.
ingest_job = dg.define_asset_job(
    "newsdag_ingest", selection=dg.AssetSelection.assets(*INGEST_KEYS, "warehouse_file"),
    description="Inventory, clean and deduplicate the raw files, register their days, publish.")


def _stale_after_last_publish(instance: dg.DagsterInstance) -> tuple[str | None, list[str]]:
    """(run id, days) that the last publish reported as not rebuilt from their current articles
    (e.g. a day whose canonical article became a duplicate of a late arrival)."""
    event = instance.get_latest_materialization_event(dg.AssetKey("warehouse_file"))
    if event is None or event.asset_materialization is None:
        return None, []
    stale = event.asset_materialization.metadata.get("stale_days")
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
        tags = {"newsdag/files_new": str(len(changes.new)), "newsdag/files_changed": str(len(changes.changed)),
                "newsdag/files_vanished": str(len(changes.vanished)), "newsdag/stale_days": str(len(stale))}
        return [dg.RunRequest(job_name=news_job.name, run_key=f"{key_prefix}:{run_id}:{first}:{last}",
                              tags={**tags, **range_tags(first, last)})
                for first, last in contiguous_ranges(keys, days)]
    if changes.any:
        return [dg.RunRequest(job_name=news_job.name, run_key=f"{key_prefix}:ingest",
                              asset_selection=[dg.AssetKey(k) for k in [*INGEST_KEYS, "warehouse_file"]])]
    return []


@dg.sensor(job=news_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def raw_dir_sensor(context: dg.SensorEvaluationContext, newsdag: NewsdagResource):
    """Requests a run for the days that new, changed or removed raw files touch (a late article for
    an old day rebuilds that day only), and for days the last publish reported stale (a day whose
    article turned out to duplicate a late arrival on another day)."""
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


@dg.schedule(cron_schedule="0 6 * * *", execution_timezone="UTC", job=news_job,
             default_status=dg.DefaultScheduleStatus.STOPPED)
def newsdag_daily(context: dg.ScheduleEvaluationContext, newsdag: NewsdagResource):
    """Every morning at 06:00 UTC: rebuild whatever days changed (a catch-up when the sensor is off)."""
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "now"
    return plan_runs(context.instance, newsdag, key_prefix=f"daily:{stamp}") or dg.SkipReason("nothing changed")


daily_schedule = newsdag_daily
