"""Distributed mode: a run's NER spread over every Celery worker.

`entities` becomes a graph of three kinds of step: one plans the chunks (up to ner_chunk_articles texts
of one day each, written as Parquet under the storage root), one step per chunk reads it on whichever
worker is free, and one loads what they found and builds the table. A graph-backed asset with dynamic
outputs keeps it one asset (same key, partitions, checks and lineage as in-process) and one run per
range of days, so the planner, the sensor and the UI are unchanged; per-day runs would spread only as
far as there are days, and a GDELT-scale day is one day.
"""

import dagster as dg

from assets.chain import GROUP, PER_DAY, entities_metadata
from assets.pools import POOL
from assets.resources import NewsdagResource
from newsdag import pipeline


@dg.op(pool=POOL, ins={"after": dg.In(dg.Nothing)}, out=dg.DynamicOut(pipeline.NerChunk))
def plan_ner(context: dg.OpExecutionContext, newsdag: NewsdagResource):
    """Split the texts of the run's days that NER has not read into chunks, one step each."""
    with newsdag.work_db(context.partition_keys) as con:
        chunks = pipeline.plan_ner_chunks(newsdag.settings, con, context.partition_keys, context.run_id)
    for chunk in chunks:
        yield dg.DynamicOutput(chunk, mapping_key=chunk.key)


@dg.op
def read_ner_chunk(newsdag: NewsdagResource, chunk: pipeline.NerChunk) -> pipeline.NerChunk:
    """spaCy NER over one chunk of texts, on any worker, in parallel with the other chunks."""
    pipeline.read_ner_chunk(newsdag.settings, chunk)
    return chunk


@dg.op(pool=POOL)
def load_entities(context: dg.OpExecutionContext, newsdag: NewsdagResource, chunks: list) -> None:
    """Add every chunk's entities to the NER cache and build the days' entities from it."""
    with newsdag.work_db(context.partition_keys) as con:
        stats = pipeline.load_ner_chunks(newsdag.settings, con, chunks, context.partition_keys, context.run_id)
    context.log.info(f"ner: {stats.entities} entities in {stats.articles} articles, {stats.articles_read} texts "
                     f"read by {len([c for c in chunks if c.texts])} chunk steps")
    context.add_output_metadata(entities_metadata(stats))


@dg.graph_asset(name="entities", group_name=GROUP, kinds={"duckdb", "spacy"},
                ins={"articles": dg.AssetIn(dagster_type=dg.Nothing),
                     "article_duplicates": dg.AssetIn(dagster_type=dg.Nothing)},
                **PER_DAY)
def entities_fanned_out(articles, article_duplicates):
    """Named entities that spaCy's NER finds in each day's canonical articles, read in chunks by every worker."""
    return load_entities(plan_ner(after=[articles, article_duplicates]).map(read_ner_chunk).collect())
