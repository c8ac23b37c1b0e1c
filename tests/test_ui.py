"""The Dagster UI: start `dagster dev`, see every asset of the chain in headless Chromium, run the ingest
job and a backfill of the publication days through the GraphQL API (as the UI does), and keep
screenshots (test-artifacts/)."""

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

from newsdag.settings import SAMPLE_RAW_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("NEWSDAG_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
CHAIN = ["raw_files", "articles", "rejected_files", "article_duplicates", "entities", "entity_mentions",
         "actor_mentions_daily", "warehouse_file"]
# Chromium on this kind of machine: no sandbox as root, and no background calls to hosts we cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"dagster dev did not answer at {url} within {seconds}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
                    "(apt-get install -y chromium; `make test` and .ci/run do this) or set NEWSDAG_CHROMIUM")
    tmp = tmp_path_factory.mktemp("ui")
    raw = tmp / "raw"
    shutil.copytree(SAMPLE_RAW_DIR, raw)
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDAG_")}  # hermetic settings
    env = {**inherited, "DAGSTER_HOME": str(home), "NEWSDAG_RAW_DIR": str(raw),
           "NEWSDAG_DB_PATH": str(tmp / "out" / "newsdag.duckdb"), "NEWSDAG_N_PROCESS": "1"}
    log = tmp / "dagster-dev.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/server_info", proc, log)
        yield {"port": port, "db": tmp / "out" / "newsdag.duckdb", "log": log}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # dagster dev and the processes it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def dismiss_welcome(page) -> None:
    """Close Dagster's first-visit 'Join the community' dialog if it shows."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # noqa: BLE001 - no dialog this time
        pass


def wait_for_run(client, run_id: str, log: Path, seconds: float = 600) -> None:
    from dagster import DagsterRunStatus

    deadline = time.monotonic() + seconds
    status = client.get_run_status(run_id)
    while status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(2)
        status = client.get_run_status(run_id)
    assert status == DagsterRunStatus.SUCCESS, log.read_text()[-4000:]


def partition_keys(client) -> list[str]:
    data = client._execute("""{ assetNodes(assetKeys: [{path: ["actor_mentions_daily"]}]) { partitionKeys } }""")
    return data["assetNodes"][0]["partitionKeys"]


def launch_backfill(client, days: list[str], assets: list[str]) -> str:
    data = client._execute(
        """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
             __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
             ... on InvalidSubsetError { message } ... on PartitionSetNotFoundError { message } } }""",
        {"params": {"partitionNames": days, "assetSelection": [{"path": [a]} for a in assets], "fromFailure": False}})
    result = data["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


def wait_for_backfill(client, backfill_id: str, log: Path, seconds: float = 600) -> dict[str, str]:
    """Wait for the backfill's runs to finish; run id -> status."""
    deadline = time.monotonic() + seconds
    while True:
        data = client._execute(
            """query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
                 ... on PartitionBackfill { status } ... on PythonError { message } }
               runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
                 ... on Runs { results { runId status } } } }""", {"id": backfill_id})
        status = data["partitionBackfillOrError"].get("status")
        runs = {r["runId"]: r["status"] for r in data["runsOrError"]["results"]}
        if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED") and runs \
                and all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in runs.values()):
            assert status in ("COMPLETED", "COMPLETED_SUCCESS"), (status, runs, log.read_text()[-4000:])
            return runs
        assert time.monotonic() < deadline, f"backfill {backfill_id} still {status}: {runs}"
        time.sleep(2)


def test_asset_graph_shows_the_chain_and_materialises(dagster_dev):
    from dagster_graphql import DagsterGraphQLClient
    from playwright.sync_api import sync_playwright

    port = dagster_dev["port"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/asset-groups", wait_until="networkidle", timeout=120_000)
            dismiss_welcome(page)
            for name in CHAIN:
                page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "asset-graph.png"), full_page=True)

            client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=60)
            # 1. ingest: inventory, clean, dedup; registers the publication days as partitions
            wait_for_run(client, client.submit_job_execution("newsdag_ingest"), dagster_dev["log"])
            days = partition_keys(client)
            assert days == ["2021-07-07", "2021-07-28", "2021-08-10"]
            # 2. a backfill of a range of days, as the UI's "Materialize" dialog launches it
            backfill = launch_backfill(client, days, ["entities", "entity_mentions", "actor_mentions_daily",
                                                      "warehouse_file"])
            runs = wait_for_backfill(client, backfill, dagster_dev["log"])
            assert all(status == "SUCCESS" for status in runs.values()), runs
            # single-run backfill policy: the three days of the per-day assets are one run
            assert len(runs) <= 2, runs

            page.goto(f"http://127.0.0.1:{port}/assets/actor_mentions_daily", wait_until="networkidle", timeout=120_000)
            dismiss_welcome(page)
            page.get_by_text("top_actors_per_day").first.wait_for(timeout=60_000)
            chart_row = page.get_by_text("top_actors_chart").first
            chart_row.wait_for(timeout=60_000)
            chart_row.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "actor-mentions-daily.png"), full_page=True)
            page.get_by_text("[Show Markdown]").last.click()  # the chart is the last markdown entry
            chart = page.locator("img[src^='data:image/svg+xml']")
            chart.first.wait_for(timeout=30_000)
            assert chart.first.bounding_box()["width"] > 300  # the chart is drawn, not a broken image
            page.wait_for_timeout(1_000)  # let the dialog finish fading in
            page.screenshot(path=str(ARTIFACTS / "top-actors-chart.png"))
        finally:
            browser.close()
    with duckdb.connect(str(dagster_dev["db"]), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
        top = con.execute("SELECT actor FROM top_actors_daily WHERE day = DATE '2021-07-28' AND rank <= 3").fetchall()
    assert ("Taliban",) in top
