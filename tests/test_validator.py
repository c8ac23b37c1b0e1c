"""The prewarmed GX validator: a forked process that validates what the checks send it, exactly as the
checks would in-process, and gets out of the way when it fails."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from checks import gx, names
from newsdag.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _articles(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"article_id": ids, "source_path": [f"{i}.txt" for i in range(len(ids))],
                         "published_date": [dt.date(1987, 3, 1)] * len(ids), "body_chars": [10] * len(ids)})


@pytest.fixture
def validator():
    v = gx._Validator()
    yield v
    v.stop()


def test_validator_gives_the_in_process_outcome(validator):
    s = Settings()
    for name, frame in [(names.ARTICLE_IDS_UNIQUE, _articles(["a", "b", "b", "c"])),
                        (names.ARTICLE_IDS_UNIQUE, _articles(["a", "b"])),
                        (names.ARTICLES_DATES_VALID, _articles(["a"]).assign(published_date=[dt.date(2999, 1, 1)]))]:
        remote = validator.run(name, s, frame)
        assert remote == gx._run_local(name, s, frame)
    assert validator.run(names.ARTICLE_IDS_UNIQUE, s, _articles(["a", "b", "b"])).failing_rows == 2


def test_an_error_in_the_validator_is_raised_in_the_check(validator):
    with pytest.raises(KeyError):
        validator.run("no_such_check", Settings(), _articles(["a"]))
    assert validator.run(names.ARTICLE_IDS_UNIQUE, Settings(), _articles(["a"])).passed  # still serving


def test_a_dead_validator_falls_back_to_in_process(monkeypatch, validator):
    validator.process.kill()
    validator.process.join()
    monkeypatch.setattr(gx, "_validator", validator)
    outcome = gx.run_suite(names.ARTICLE_IDS_UNIQUE, Settings(), _articles(["a", "a"]))
    assert not outcome.passed and outcome.failing_rows == 2
    assert gx._validator is None


def test_prewarmed_checks_never_import_gx_in_the_caller_and_the_validator_exits_with_it():
    script = textwrap.dedent("""
        import datetime as dt, os, sys
        import pandas as pd
        from checks import gx
        from newsdag.settings import Settings
        gx.prewarm()
        frame = pd.DataFrame({"article_id": ["a", "a"], "source_path": ["1", "2"],
                              "published_date": [dt.date(1987, 3, 1)] * 2, "body_chars": [5, 5]})
        outcome = gx.run_suite("article_ids_unique", Settings(), frame)
        print(outcome.passed, outcome.failing_rows, "great_expectations" in sys.modules, gx._validator.process.pid)
        sys.stdout.flush()
        os._exit(0)  # as the CLI exits: no clean-up runs
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    passed, failing, imported, pid = out.stdout.split()
    assert (passed, failing, imported) == ("False", "2", "False")
    # the validator exits with its parent (EOF on its pipe)
    import os
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    break  # exited, waiting to be reaped by init
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        os.kill(int(pid), 9)
        pytest.fail("the validator outlived its parent")


def test_a_run_launched_without_the_cli_validates_in_a_prewarmed_validator(tmp_path):
    """As the UI and the daemon run it (the job, not `newsdag materialize`): the ingest step starts the
    validator, so the checks after it never import GX in the run's process, and their results are right."""
    script = textwrap.dedent(f"""
        import shutil, sys
        from pathlib import Path
        import dagster as dg
        from checks import gx
        from newsdag.definitions import build_defs
        from newsdag.settings import SAMPLE_RAW_DIR, Settings
        raw = Path({str(tmp_path)!r}) / "raw"
        shutil.copytree(SAMPLE_RAW_DIR, raw)
        (raw / "bad.txt").write_text(" date 2021-02-30 Kabul.")
        s = Settings(raw_dir=raw, db_path=raw.parent / "n.duckdb", n_process=1)
        job = build_defs(s).resolve_implicit_global_asset_job_def()
        keys = [dg.AssetKey(k) for k in ("raw_files", "articles", "rejected_files", "article_duplicates")]
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), asset_selection=keys)
        failed = sorted(e.check_name for e in result.get_asset_check_evaluations() if not e.passed)
        print(result.success, ",".join(failed), "great_expectations" in sys.modules, gx._validator is not None)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    success, failed, imported, prewarmed = out.stdout.split()
    assert (success, imported, prewarmed) == ("True", "False", "True")
    assert failed == names.DATE_HEADERS_WELL_FORMED  # the bad header, found by the validator (a WARN check)


def test_a_worker_that_may_not_fork_starts_no_validator():
    """On a Celery prefork worker (a daemonic process) prewarming starts no validator (checks validate
    in-process there) instead of failing the step with "daemonic processes are not allowed to have children"."""
    from tests.test_parallel import _in_daemonic_process

    def in_worker():  # runs in a forked child: what it changes dies with it
        gx._state, gx._validator = {}, None  # as in a worker that has not imported GX nor started a validator
        sys.modules.pop("great_expectations", None)
        gx.prewarm()
        return gx._validator is None

    assert _in_daemonic_process(in_worker) == ("ok", True)


def test_gx_import_defers_scipy_stats_and_altair_until_used():
    script = textwrap.dedent("""
        import sys
        from checks import gx
        import pandas as pd
        outcome = gx.validate(pd.DataFrame({"k": ["a", "a", "b"]}), "s",
                              [gx.gx_module().expectations.ExpectColumnValuesToBeUnique(column="k")], "k")
        lazy = [type(sys.modules[m]).__name__ for m in ("scipy.stats", "altair")]
        import scipy.stats, altair
        print(outcome.failing_rows, *lazy, scipy.stats.norm.cdf(0), altair.Chart.__name__)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # lazy (LazyLoader's module type) through validation; loaded in full on first use
    assert out.stdout.split() == ["2", "_LazyModule", "_LazyModule", "0.5", "Chart"]
