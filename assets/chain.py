"""raw files -> cleaned articles -> deduplicated set -> entities -> actor mentions -> daily counts."""

import warnings

import dagster as dg

from assets.metadata import table_metadata
from assets.partitions import publication_day, register_days
from newsdag import charts, ner, pipeline, quality, warehouse
from newsdag.resources import NewsdagResource

GROUP = "news"
POOL = "duckdb_writer"  # one slot (dagster.yaml): DuckDB allows one writer at a time
ENTITIES_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("article_id", "string"), dg.TableColumn("published_date", "date"),
    dg.TableColumn("entity_text", "string"),
    dg.TableColumn("entity_label", "string", description="spaCy NER label."),
    dg.TableColumn("start_char", "int"), dg.TableColumn("end_char", "int"),
])
RAW_FILES_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("source_path", "string", description="Path relative to the raw directory, / separators."),
    dg.TableColumn("content_hash", "string", description="sha256 of the file's bytes."),
    dg.TableColumn("size_bytes", "int", description="File size in bytes."),
    dg.TableColumn("text", "string", description="Decoded text (UTF-8, else cp1252); NULL when undecodable."),
    dg.TableColumn("error", "string", description="Why the file could not be read or decoded, else NULL."),
])


@dg.asset(pool=POOL, group_name=GROUP, kinds={"duckdb", "python"})
def raw_files(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Every file under the raw directory, hashed and decoded (UTF-8, then cp1252)."""
    with newsdag.work_db() as con:
        stats = pipeline.build_raw_files(newsdag.settings, con)
    context.log.info(f"raw files: {stats}")
    return dg.MaterializeResult(metadata={"dagster/row_count": stats["files"], "dagster/column_schema": RAW_FILES_SCHEMA,
                                          **stats})


@dg.multi_asset(
    pool=POOL,
    specs=[
        dg.AssetSpec("articles", deps=[raw_files], group_name=GROUP, kinds={"duckdb", "pandas"},
                     description="One row per accepted raw file: date, title and body with page chrome removed."),
        dg.AssetSpec("rejected_files", deps=[raw_files], group_name=GROUP, kinds={"duckdb", "pandas"},
                     description="Quarantine: every raw file that did not become an article, with a reason."),
    ]
)
def cleaned_articles(context: dg.AssetExecutionContext, newsdag: NewsdagResource):
    """Parse date headers or page-text dates, strip page chrome, quarantine what cannot be used."""
    s = newsdag.settings
    with newsdag.work_db() as con:
        stats = pipeline.build_cleaned(s, con)
    if stats["parsed"] and s.executor == "in_process":
        ner.preload(s.spacy_model)  # new text will need NER: load spaCy while the checks wait for GX
    yield dg.MaterializeResult(asset_key="articles", metadata=table_metadata("articles", stats["articles"]))
    yield dg.MaterializeResult(
        asset_key="rejected_files",
        metadata={**table_metadata("rejected_files", stats["rejected"]),
                  **{f"rejected_{k}": int(v) for k, v in stats["rejected_by_reason"].items()}},
    )


@dg.asset(pool=POOL, deps=["articles"], group_name=GROUP, kinds={"duckdb", "pandas"})
def article_duplicates(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Exact and near duplicates (MinHash LSH, verified), each pointing at its canonical article."""
    with newsdag.work_db() as con:
        stats = pipeline.build_duplicates(newsdag.settings, con)
        days, stale = pipeline.known_days(con), pipeline.stale_days(con)
    added = register_days(context.instance, days)
    if stale:
        context.log.info(f"{len(stale)} days to (re)build: {', '.join(map(str, stale[:20]))}"
                         + (" ..." if len(stale) > 20 else ""))
    return dg.MaterializeResult(metadata={**table_metadata("article_duplicates", stats["duplicates"]),
                                          "groups": stats["groups"], "canonical_articles": stats["canonical"],
                                          "days": len(days), "new_days": len(added),
                                          "stale_days": dg.MetadataValue.json([d.isoformat() for d in stale])})


# The per-day steps: a backfill of any range of days is one run that replaces exactly those days.
# (BackfillPolicy is marked beta in Dagster 1.13; single-run backfills are what we rely on.)
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
PER_DAY = dict(partitions_def=publication_day, backfill_policy=dg.BackfillPolicy.single_run())


@dg.asset(pool=POOL, deps=["articles", article_duplicates], group_name=GROUP, kinds={"duckdb", "spacy"}, **PER_DAY)
def entities(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Named entities that spaCy's NER finds in each day's canonical articles (cached by text, model and labels)."""
    with newsdag.work_db() as con:
        stats = pipeline.build_entities(newsdag.settings, con, context.partition_keys)
    return dg.MaterializeResult(metadata={"dagster/row_count": stats["entities"], "articles": stats["articles"],
                                          "articles_read": stats["articles_read"],
                                          "articles_from_cache": stats["articles_cached"],
                                          "model": stats["model"], "dagster/column_schema": ENTITIES_SCHEMA})


@dg.asset(pool=POOL, deps=[entities], group_name=GROUP, kinds={"duckdb", "pandas"}, **PER_DAY)
def entity_mentions(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Each entity mention mapped to its canonical actor (aliases, demonyms, short names), day by day."""
    with newsdag.work_db() as con:
        stats = pipeline.build_mentions(newsdag.settings, con, context.partition_keys)
    return dg.MaterializeResult(metadata={**table_metadata("entity_mentions", stats["mentions"]),
                                          "actors": stats["actors"], "dropped_blank": stats["dropped"],
                                          "dropped_in_dateline": stats["dateline"]})


@dg.asset(pool=POOL, deps=[entity_mentions], group_name=GROUP, kinds={"duckdb"}, **PER_DAY)
def actor_mentions_daily(context: dg.AssetExecutionContext, newsdag: NewsdagResource) -> dg.MaterializeResult:
    """Per day and actor: mentions and distinct articles."""
    with newsdag.work_db() as con:
        stats = pipeline.build_daily(newsdag.settings, con, context.partition_keys)
        top = pipeline.top_actors(con, per_day=5)
        daily = con.execute("SELECT day, actor, mentions FROM actor_mentions_daily").df()
    metadata = {**table_metadata("actor_mentions_daily", stats["rows"]), "days": stats["days"],
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


@dg.asset(pool=POOL, deps=["articles", "rejected_files", article_duplicates, entity_mentions, actor_mentions_daily],
          group_name=GROUP, kinds={"duckdb"})
def warehouse_file(newsdag: NewsdagResource) -> dg.MaterializeResult:
    """The analysts' DuckDB file, published atomically once every ERROR data-quality check has passed."""
    s = newsdag.settings
    with newsdag.work_db() as con:
        failing = quality.failing_error_checks(con)
    if failing:
        names = ", ".join(f"{name} ({rows} failing)" for name, rows in failing)
        raise dg.Failure(description=f"blocking data-quality check failed: {names}; the warehouse was not published",
                         allow_retries=False)
    path, stale = pipeline.publish(s)
    tables = warehouse.published_tables(path)
    return dg.MaterializeResult(metadata={
        # days whose counts were not rebuilt from their current articles (the sensor requests them)
        "stale_days": dg.MetadataValue.json([d.isoformat() for d in stale]),
        "path": dg.MetadataValue.path(str(path.resolve())),
        "storage_version": s.storage_version,
        "dagster/row_count": sum(rows for _, rows, _ in tables),
        # the file's "columns" are its tables: name, rows and meaning
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(name, "table", description=f"{rows} rows. {comment}") for name, rows, comment in tables]),
    })


CHAIN = [raw_files, cleaned_articles, article_duplicates, entities, entity_mentions, actor_mentions_daily, warehouse_file]
