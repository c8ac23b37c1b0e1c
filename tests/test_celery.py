"""The chain on Celery workers with a real Redis broker: a two-day range of Reuters articles must give the
same tables as an in-process run. Starts redis-server, PostgreSQL behind PgBouncer (the Dagster instance's storage) and two
`dagster-celery` workers on 127.0.0.1 (bench/cluster.py) and stops everything it started, by process id."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import duckdb
import psycopg2
import pytest

from newsdag.cli import materialize
from bench.cluster import cluster as start_cluster
from bench.reuters import extract_reuters, read_manifest
from tests.conftest import settings_for

pytestmark = [pytest.mark.redis, pytest.mark.corpus, pytest.mark.slow]

BIN = Path(sys.executable).parent
DAYS = ("1987-02-26", "1987-03-01")  # consecutive publication days of the corpus (none on 27-28 Feb)
CONTRACT = ["articles", "rejected_files", "article_duplicates", "entity_mentions", "actor_mentions_daily"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Redis, PostgreSQL behind PgBouncer (the Dagster instance's storage) and two one-process Celery workers
    (bench/cluster.py)."""
    with contextlib.ExitStack() as stack:
        try:
            c = stack.enter_context(start_cluster(tmp_path_factory.mktemp("celery"), workers=2, concurrency=1,
                                                  extra_env={"NEWSDAG_N_PROCESS": "1"}))
        except RuntimeError as e:
            pytest.fail(f"could not start the Celery cluster: {e}")
        yield {"env": c.env, "home": c.home, "tmp": c.home.parent, "logs": c.logs, "pids": c.pids,
               "postgres_url": c.postgres_url, "pgbouncer_url": c.pgbouncer_url}


def _snapshot(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in CONTRACT}


def test_two_days_on_celery_workers_equal_an_in_process_run(cluster, tmp_path: Path):
    rows = [r for r in read_manifest() if r["date"] in DAYS]
    files = [r["file"] for r in rows if r["date"] == DAYS[0]][:60] + [r["file"] for r in rows if r["date"] == DAYS[1]]
    raw = tmp_path / "raw"
    extract_reuters(raw, files=files)

    local = settings_for(raw, tmp_path / "local")
    assert materialize(local, day_from=DAYS[0], day_to=DAYS[1]).success

    db, lake = tmp_path / "celery" / "newsdag.duckdb", tmp_path / "lake"
    # chunks of at most 20 texts: several NER steps per day, for both workers to take
    env = {**cluster["env"], "NEWSDAG_STORAGE_ROOT": str(lake), "NEWSDAG_NER_CHUNK_ARTICLES": "20"}
    cli = subprocess.run([str(BIN / "newsdag"), "materialize", "--raw-dir", str(raw), "--db", str(db),
                          "--from", DAYS[0], "--to", DAYS[1], "--quiet"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert cli.returncode == 0, cli.stdout + cli.stderr + "".join(p.read_text()[-3000:] for p in cluster["logs"])

    assert _snapshot(db) == _snapshot(local.db_path)
    with duckdb.connect(str(db), read_only=True) as con:
        assert [d for (d,) in con.execute("SELECT DISTINCT day::VARCHAR FROM actor_mentions_daily ORDER BY 1")
                .fetchall()] == list(DAYS)
    # the heavy steps ran on the workers and left their output as Parquet under the storage root
    per_worker = [p.read_text() for p in cluster["logs"]]
    worker_logs = "".join(per_worker)
    assert "succeeded" in worker_logs
    assert "- ingest - raw files:" in worker_logs and "entities.plan_ner - ner:" in worker_logs
    assert "- entity_mentions - actors:" in worker_logs
    assert "warehouse_file" not in worker_logs  # the one DuckDB writer never runs on a worker
    # NER was spread over both workers: each read some of the chunks, and together they read every text once
    chunks = [re.findall(r"ner chunk (\d{8}_\d+): (\d+) texts,", log) for log in per_worker]
    assert all(chunks), "a worker ran no NER chunk step"
    read = [key for found in chunks for key, _ in found]
    assert len(read) == len(set(read)) >= 4
    with duckdb.connect(str(db), read_only=True) as con:
        canonical = con.execute("SELECT count(*) FROM articles WHERE article_id NOT IN "
                                "(SELECT article_id FROM article_duplicates)").fetchone()[0]
    assert sum(int(n) for found in chunks for _, n in found) == canonical
    assert all(int(n) <= 20 for found in chunks for _, n in found)
    # per-day tables: one Parquet file per day under tables/<table>/day=.../
    for table in ("entities", "entity_mentions", "actor_mentions_daily"):
        assert sorted(p.name for p in (lake / "tables" / table).iterdir()) == [f"day={d}" for d in DAYS]
    # the runs were stored in the cluster's PostgreSQL, the instance the CLI and the workers shared
    instance = dg.DagsterInstance.from_config(str(cluster["home"]))
    try:
        assert instance.run_storage.__class__.__name__ == "PostgresRunStorage"
        assert instance.event_log_storage.__class__.__name__ == "PostgresEventLogStorage"
        runs = instance.get_runs_count()
        assert runs > 0
        assert {r.status for r in instance.get_runs()} == {dg.DagsterRunStatus.SUCCESS}
        assert f":{urlparse(cluster['pgbouncer_url']).port}/" in instance.run_storage.postgres_url
    finally:
        instance.dispose()
    # the instance reached the server through PgBouncer: the runs are in the PostgreSQL server itself
    with contextlib.closing(psycopg2.connect(cluster["postgres_url"])) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] == runs


def test_celery_without_a_persistent_instance_is_a_clear_error(tmp_path: Path, sample_dir: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDAG_") and k != "DAGSTER_HOME"}
    out = subprocess.run([str(BIN / "newsdag"), "materialize", "--raw-dir", str(sample_dir), "--db",
                          str(tmp_path / "n.duckdb"), "--quiet"], env={**env, "NEWSDAG_EXECUTOR": "celery"},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "set DAGSTER_HOME" in out.stderr and "Traceback" not in out.stderr
