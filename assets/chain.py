"""raw files -> cleaned articles -> deduplicated set -> entities -> actor mentions -> daily counts."""

import dataclasses
import time
import warnings

import dagster as dg

from assets.metadata import table_metadata
from assets.partitions import publication_day, register_days
from assets.pools import POOL
from checks import evaluate, names
from checks.suites import CHECKS_BY_NAME
from newsdag import charts, ner, pipeline, quality, warehouse
from assets.resources import NewsdagResource

GROUP = "news"


@dg.multi_asset(
    name="ingest",
    pool=POOL,
    specs=[
        dg.AssetSpec("raw_files", group_name=GROUP, kinds={"duckdb", "python"},
                     description="Every file under the raw directory (and every record of its web archives), hashed and decoded."),
        dg.AssetSpec("articles", deps=["raw_files"], group_name=GROUP, kinds={"duckdb", "pandas"},
                     description="One row per accepted raw file or WARC record: date, title, body without the page around it, URL, site, language."),
        dg.AssetSpec("rejected_files", deps=["raw_files"], group_name=GROUP, kinds={"duckdb", "pandas"},
                     description="Quarantine: every raw file that did not become an article, with a reason."),
        dg.AssetSpec("article_duplicates", deps=["articles"], group_name=GROUP, kinds={"duckdb", "pandas"},
                     description="Exact and near duplicates (MinHash LSH, verified), each pointing at its canonical article."),
    ],
)
def ingest(context: dg.AssetExecutionContext, newsdag: NewsdagResource):
    """Inventory the raw files, clean them into articles or quarantine, find duplicates, register the days.

    One step, as the three always run together (each is incremental): a step costs orchestration time,
    and the checks of these tables run after it while GX finishes importing."""
    s = newsdag.settings
    _prewarm_checks(context)
    with newsdag.work_db() as con:
        files, files_seconds = _timed(pipeline.build_raw_files, s, con)
        cleaned, cleaned_seconds = _timed(pipeline.build_cleaned, s, con)
        dups, dups_seconds = _timed(pipeline.build_duplicates, s, con)
        days, stale = pipeline.known_days(con), pipeline.stale_days(con)
    if cleaned.parsed and _steps_run_here(context):
        ner.preload(s.spacy_model)  # new text will need NER: load spaCy while the checks run
    added = register_days(context.instance, days)
    context.log.info(f"raw files: {files}")
    if stale:
        context.log.info(f"{len(stale)} days to (re)build: {', '.join(map(str, stale[:20]))}"
                         + (" ..." if len(stale) > 20 else ""))
    yield dg.MaterializeResult(asset_key="raw_files", metadata={
        **table_metadata("raw_files", files.files), **dataclasses.asdict(files), "build_seconds": files_seconds})
    yield dg.MaterializeResult(asset_key="articles", metadata={
        **table_metadata("articles", cleaned.articles), "build_seconds": cleaned_seconds,
        **{f"language_{k}": int(v) for k, v in cleaned.articles_by_language.items()}})
    yield dg.MaterializeResult(asset_key="rejected_files", metadata={
        **table_metadata("rejected_files", cleaned.rejected),
        **{f"rejected_{k}": int(v) for k, v in cleaned.rejected_by_reason.items()}})
    yield dg.MaterializeResult(asset_key="article_duplicates", metadata={
        **table_metadata("article_duplicates", dups.duplicates), "build_seconds": dups_seconds,
        "groups": dups.groups, "canonical_articles": dups.canonical, "days": len(days), "new_days": len(added),
        "stale_days": dg.MetadataValue.json([d.isoformat() for d in stale])})


# executors that run every step of a run in the run's own process (execute_in_process swaps in its own)
IN_PROCESS_EXECUTORS = frozenset({dg.in_process_executor.name, "execute_in_process_executor"})


def _steps_run_here(context: dg.AssetExecutionContext) -> bool:
    """Whether the run's next steps run in this process (the in-process executor; not Celery workers)."""
    return context.job_def.executor_def.name in IN_PROCESS_EXECUTORS


def _prewarm_checks(context: dg.AssetExecutionContext) -> None:
    """The checks after this step need GX, which takes seconds to import: start importing it in a side
    process while this step works, where the checks run in this process. A no-op when it is already
    imported or importing (`newsdag materialize` starts it before Dagster)."""
    checks = context.run.asset_check_selection  # None: the checks of the selected assets
    if _steps_run_here(context) and (checks is None or checks):
        from checks import gx

        gx.prewarm()


def _timed(build, *args):
    """`build(*args)`'s result and how long it took in seconds (the ingest step builds several tables)."""
    started = time.perf_counter()
    result = build(*args)
    return result, round(time.perf_counter() - started, 3)


# The per-day steps: a backfill of any range of days is one run that replaces exactly those days.
# (BackfillPolicy is marked beta in Dagster 1.13; single-run backfills are what we rely on.)
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
PER_DAY = dict(partitions_def=publication_day, backfill_policy=dg.BackfillPolicy.single_run())


@dg.asset(pool=POOL, deps=["articles", "article_duplicates"], group_name=GROUP, kinds={"duckdb", "spacy"}, **PER_DAY)
def entities(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Named entities that spaCy's NER finds in each day's canonical articles (cached by text, model and labels)."""
    _prewarm_checks(context)
    with newsdag.work_db(context.partition_keys) as con:
        stats = pipeline.build_entities(newsdag.settings, con, context.partition_keys)
    return dg.MaterializeResult(metadata=entities_metadata(stats))


def entities_metadata(stats: pipeline.EntitiesResult) -> dict:
    return {**table_metadata("entities", stats.entities), "articles": stats.articles,
            "articles_read": stats.articles_read, "articles_from_cache": stats.articles_cached, "model": stats.model}


@dg.asset(pool=POOL, deps=[entities], group_name=GROUP, kinds={"duckdb", "pandas"}, **PER_DAY)
def entity_mentions(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Each entity mention mapped to its canonical actor (aliases, demonyms, short names), day by day."""
    with newsdag.work_db(context.partition_keys) as con:
        stats = pipeline.build_mentions(newsdag.settings, con, context.partition_keys)
    return dg.MaterializeResult(metadata={**table_metadata("entity_mentions", stats.mentions),
                                          "actors": stats.actors, "dropped_blank": stats.dropped,
                                          "dropped_in_dateline": stats.dateline})


@dg.asset(pool=POOL, deps=[entity_mentions], group_name=GROUP, kinds={"duckdb"}, **PER_DAY)
def actor_mentions_daily(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Per day and actor: mentions and distinct articles."""
    with newsdag.work_db(context.partition_keys) as con:
        stats = pipeline.build_daily(newsdag.settings, con, context.partition_keys)
        top = pipeline.top_actors(con, per_day=5)
        daily = pipeline.daily_mentions(con)
    metadata = {**table_metadata("actor_mentions_daily", stats.rows), "days": stats.days,
                "top_actors_per_day": dg.MetadataValue.md(top_actors_markdown(top))}
    if len(daily):
        metadata["top_actors_chart"] = dg.MetadataValue.md(
            charts.markdown_image(charts.top_actors_chart(daily), "daily mentions of the top actors"))
    return dg.MaterializeResult(metadata=metadata)


def top_actors_markdown(top, days: int = 14) -> str:
    """The top actors of the latest `days` days as a markdown table."""
    if not len(top):
        return "(no mentions)"
    recent = sorted(top["day"].unique())[-days:]
    shown = top[top["day"].isin(recent)].assign(day=lambda f: f["day"].astype(str))
    return shown.to_markdown(index=False)


@dg.asset(pool=POOL, deps=["articles", "rejected_files", "article_duplicates", entity_mentions, actor_mentions_daily],
          group_name=GROUP, kinds={"duckdb"},
          check_specs=[evaluate.spec(CHECKS_BY_NAME[names.TABLES_CONSISTENT])])
def warehouse_file(context: dg.AssetExecutionContext, newsdag: NewsdagResource):
    """The analysts' DuckDB file, published atomically once the tables agree and every ERROR check has passed."""
    s = newsdag.settings
    with newsdag.work_db() as con:
        consistent = evaluate.evaluate_checks([CHECKS_BY_NAME[names.TABLES_CONSISTENT]], con, s, context.run.run_id)
        failing = quality.failing_error_checks(con, [d.isoformat() for d in pipeline.known_days(con)])
    yield from consistent.results()
    if failing:
        names_ = ", ".join(f"{name}{f' on {where}' if where else ''} ({rows} failing)" for name, rows, where in failing)
        days = consistent.days_to_rebuild() or sorted({where for *_, where in failing if where})
        hint = (f"; rebuild {', '.join(days[:10])}{' ...' if len(days) > 10 else ''} (a backfill of those days, or "
                "newsdag materialize, which rebuilds every stale day)" if days else "")
        # the sensor follows up on these days (see assets/automation.py)
        context.log_event(dg.AssetObservation(asset_key="warehouse_file", metadata={
            "stale_days": dg.MetadataValue.json(days), "published": False}))
        raise dg.Failure(description=f"blocking data-quality check failed: {names_}; the warehouse was not published"
                                     + hint, allow_retries=False)
    path, stale = pipeline.publish(s)
    tables = warehouse.published_tables(path)
    yield dg.MaterializeResult(metadata={
        # days whose counts were not rebuilt from their current articles (the sensor requests them)
        "stale_days": dg.MetadataValue.json([d.isoformat() for d in stale]),
        "path": dg.MetadataValue.path(str(path.resolve())),
        "storage_version": s.storage_version,
        "dagster/row_count": sum(rows for _, rows, _ in tables),
        # the file's "columns" are its tables: name, rows and meaning
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(name, "table", description=f"{rows} rows. {comment}") for name, rows, comment in tables]),
    })


CHAIN = [ingest, entities, entity_mentions, actor_mentions_daily, warehouse_file]
# The asset keys of the two kinds of run (the CLI, the sensor and the jobs select them by these).
INGEST_KEYS = [spec.key.to_user_string() for spec in ingest.specs]
PER_DAY_KEYS = [a.key.to_user_string() for a in (entities, entity_mentions, actor_mentions_daily)]
PUBLISH_KEY = warehouse_file.key.to_user_string()
