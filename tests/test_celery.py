"""The chain on Celery workers with a real Redis broker: a two-day range of Reuters articles must give the
same tables as an in-process run. Starts redis-server and two `dagster-celery` workers on 127.0.0.1 and
stops everything it started, by process id."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from newsdag.cli import materialize
from bench.reuters import extract_reuters, read_manifest
from tests.conftest import settings_for

pytestmark = [pytest.mark.redis, pytest.mark.corpus, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAYS = ("1987-02-26", "1987-03-01")  # consecutive publication days of the corpus (none on 27-28 Feb)
CONTRACT = ["articles", "rejected_files", "article_duplicates", "entity_mentions", "actor_mentions_daily"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server() -> str:
    """redis-server from Debian's package, installed when missing (CI machines are fresh)."""
    found = shutil.which("redis-server")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run("apt-get update -qq && apt-get install -y -qq redis-server >/dev/null", shell=True, env=env)
        found = shutil.which("redis-server")
    if found is None:
        pytest.fail("redis-server not found and could not be installed: apt-get install redis-server")
    return found


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started and everything it started (its own session), by process id."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait(predicate, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("celery")
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NEWSDAG_")},
           "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NEWSDAG_EXECUTOR": "celery",
           "NEWSDAG_CELERY_BROKER": broker, "NEWSDAG_N_PROCESS": "1"}
    # create the instance's storage once, before several processes would race to create it
    subprocess.run([sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get()"], env=env, check=True)
    config = tmp / "celery.yaml"
    config.write_text(f"execution:\n  config:\n    broker: '{broker}'\n    backend: '{broker}'\n")
    started: list[subprocess.Popen] = []
    logs = []
    try:
        redis_log = open(tmp / "redis.log", "w")
        started.append(subprocess.Popen([_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=redis_log, stderr=subprocess.STDOUT,
                                        start_new_session=True))

        def redis_up() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        _wait(redis_up, "redis-server")
        for i in (1, 2):
            log = tmp / f"worker{i}.log"
            logs.append(log)
            started.append(subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
                 "-n", f"newsdag-w{i}@%h", "-l", "INFO", "--", "--concurrency=1"],
                cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True))
        def workers_ready() -> bool:
            for proc, log in zip(started[1:], logs):
                if proc.poll() is not None:
                    pytest.fail(f"Celery worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            return all("ready" in log.read_text() for log in logs)
        _wait(workers_ready, "two Celery workers", seconds=180)
        yield {"env": env, "home": home, "tmp": tmp, "logs": logs, "pids": [p.pid for p in started]}
    finally:
        for proc in reversed(started):
            _stop(proc)


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
    env = {**cluster["env"], "NEWSDAG_STORAGE_ROOT": str(lake)}
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
    assert "- ingest - raw files:" in worker_logs and "- entities - ner:" in worker_logs
    assert "- entity_mentions - actors:" in worker_logs
    assert "warehouse_file" not in worker_logs  # the one DuckDB writer never runs on a worker
    assert {"entities.parquet", "entity_mentions.parquet", "actor_mentions_daily.parquet"} <= {
        p.name for p in (lake / "tables").iterdir()}


def test_celery_without_a_persistent_instance_is_a_clear_error(tmp_path: Path, sample_dir: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDAG_") and k != "DAGSTER_HOME"}
    out = subprocess.run([str(BIN / "newsdag"), "materialize", "--raw-dir", str(sample_dir), "--db",
                          str(tmp_path / "n.duckdb"), "--quiet"], env={**env, "NEWSDAG_EXECUTOR": "celery"},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "set DAGSTER_HOME" in out.stderr and "Traceback" not in out.stderr
