"""A run killed with SIGKILL leaves the analysts' tables as they were; the next run gives the same
result as an uninterrupted one. Uses real subprocesses of `newsdag materialize`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from bench.reuters import extract_reuters
from newsdag.settings import SAMPLE_RAW_DIR

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

CONTRACT = ["articles", "rejected_files", "article_duplicates", "entity_mentions", "actor_mentions_daily"]
NEWSDAG = [sys.executable, "-m", "newsdag.cli", "materialize"]


def snapshot(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in CONTRACT}


def run(raw: Path, db: Path) -> None:
    out = subprocess.run([*NEWSDAG, "--raw-dir", str(raw), "--db", str(db), "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def run_and_kill(raw: Path, db: Path, after_line: str, delay: float = 0.0) -> None:
    """Start a run, SIGKILL it (and its NER workers) `delay` seconds after it logs a line containing `after_line`."""
    proc = subprocess.Popen([*NEWSDAG, "--raw-dir", str(raw), "--db", str(db)], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if after_line in line:
                time.sleep(delay)
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"run ended before '{after_line}': {''.join(seen)[-2000:]}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    raw = tmp_path_factory.mktemp("crash") / "raw"
    shutil.copytree(SAMPLE_RAW_DIR, raw)
    extract_reuters(raw / "reuters", limit=300)
    return raw


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    """The tables of an uninterrupted build of the whole corpus."""
    db = tmp_path_factory.mktemp("ref") / "n.duckdb"
    run(corpus, db)
    return snapshot(db)


@pytest.mark.parametrize(("kill_after", "delay"),
                         [("ner: ", 0.0), ("actors: ", 0.0), ("publish: ", 0.0), ("publish: ", 0.05), ("publish: ", 0.2)])
def test_killed_run_leaves_tables_and_next_run_matches(corpus, reference, sample_dir, tmp_path, kill_after, delay):
    db = tmp_path / "out" / "n.duckdb"
    # an earlier build of the sample alone is what analysts have
    run(sample_dir, db)
    before = snapshot(db)

    run_and_kill(corpus, db, kill_after, delay)
    if kill_after == "publish: ":  # the rename is atomic: analysts see the old file or the whole new one
        assert snapshot(db) in (before, reference)
    else:
        assert snapshot(db) == before  # the killed run changed nothing analysts can see

    run(corpus, db)
    assert snapshot(db) == reference  # the next run completes and equals an uninterrupted build
    assert not list(db.parent.glob(f".{db.name}.*.tmp*"))  # and cleans up what the killed run left
