"""The stock Dagster CLI builds everything the way the README says (three commands against a persistent
instance), and a partial materialisation from it publishes only consistent tables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")


def dagster(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DAGSTER, "asset", "materialize", "-m", "newsdag.definitions", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_three_stock_commands_build_and_publish(sample_dir: Path, tmp_path: Path):
    raw = sample_dir
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    db = tmp_path / "out" / "n.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "NEWSDAG_RAW_DIR": str(raw), "NEWSDAG_DB_PATH": str(db),
           "NEWSDAG_N_PROCESS": "1"}
    ingest = dagster(env, "--select", "raw_files,articles,rejected_files,article_duplicates")
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    days = dagster(env, "--select", "entities,entity_mentions,actor_mentions_daily",
                   "--partition-range", "2021-07-07...2021-08-10")
    assert days.returncode == 0, days.stderr[-2000:]
    publish = dagster(env, "--select", "warehouse_file")
    assert publish.returncode == 0, publish.stderr[-2000:]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT day) FROM actor_mentions_daily").fetchone() == (3,)
    before = db.read_bytes()

    # a file of another day goes; one day is rebuilt from the stock CLI: publishing must refuse
    next(raw.glob("003_*.txt")).unlink()
    assert dagster(env, "--select", "raw_files,articles,rejected_files,article_duplicates").returncode == 0
    one_day = dagster(env, "--select", "entities,entity_mentions,actor_mentions_daily", "--partition", "2021-07-28")
    assert one_day.returncode == 0, one_day.stderr[-2000:]
    refused = dagster(env, "--select", "warehouse_file")
    assert refused.returncode != 0
    said = refused.stderr + refused.stdout
    assert "tables_consistent" in said and "2021-07-07" in said and "not published" in said
    assert db.read_bytes() == before
