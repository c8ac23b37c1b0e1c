"""When the chain runs by itself: a daily schedule, and a sensor on the raw directory."""

import dagster as dg

from newsdag import reading
from newsdag.resources import NewsdagResource

# Every asset and check of the chain, as one job (the NER cache makes re-runs pay only for new text).
news_job = dg.define_asset_job("newsdag_all", selection=dg.AssetSelection.groups("news"),
                               description="The whole chain: raw files to the published warehouse.")

daily_schedule = dg.ScheduleDefinition(
    name="newsdag_daily", job=news_job, cron_schedule="0 6 * * *", execution_timezone="UTC",
    description="Rebuild every morning at 06:00 UTC.",
)


@dg.sensor(job=news_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def raw_dir_sensor(context: dg.SensorEvaluationContext, newsdag: NewsdagResource):
    """Requests a run when a raw file is added, removed or changed (by path, size and mtime)."""
    raw_dir = newsdag.settings.raw_dir
    try:
        current = reading.fingerprint(raw_dir)
    except FileNotFoundError as exc:
        return dg.SkipReason(str(exc))
    if current == context.cursor:
        return dg.SkipReason(f"no new, changed or removed files under {raw_dir}")
    context.update_cursor(current)
    return dg.RunRequest(run_key=current, tags={"newsdag/trigger": "raw_dir_sensor"})
