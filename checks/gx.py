"""Run an expectation suite over a DataFrame with Great Expectations 1.x (ephemeral context, pandas source)."""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import itertools
import logging
import os
import sys
import threading
from dataclasses import dataclass, field

import pandas as pd

from newsdag import parallel

SAMPLE_SIZE = 10
log = logging.getLogger("newsdag")


@dataclass
class SuiteOutcome:
    passed: bool
    failing_rows: int
    rows: int
    sample: list = field(default_factory=list)
    expectations: list = field(default_factory=list)   # one dict per expectation


_lock = threading.Lock()
_state: dict = {}


def _context():
    """(gx module, ephemeral context), created once per process; safe to call from several threads."""
    with _lock:
        if not _state:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            with _lazy(LAZY_MODULES):
                import great_expectations as gx
                from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            # one pandas source for every frame: a batch takes its DataFrame as a parameter (creating a
            # source, asset and batch definition per validation cost ~15 ms of each ~40 ms validation)
            batches = context.data_sources.add_pandas("newsdag").add_dataframe_asset(name="frame") \
                .add_batch_definition_whole_dataframe("all")
            _state.update(gx=gx, context=context, batches=batches)
        return _state["gx"], _state["context"]


# GX imports these at import time for expectations and renderers these checks never use (statistical tests,
# charts): about 1 s of the 3-5 s import. Imported lazily, each runs its module code on first attribute use.
LAZY_MODULES = frozenset({"scipy.stats", "altair"})


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds `names` as usual but loads them with importlib.util.LazyLoader."""

    def __init__(self, names):
        self.names = names

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        sys.meta_path.remove(self)  # find the real spec without finding ourselves again
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def _lazy(names):
    """While in this block, modules `names` not yet imported are imported lazily."""
    finder = _LazyFinder(frozenset(names))
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def gx_module():
    """The great_expectations module, imported on first use."""
    return _context()[0]


_counter = itertools.count()
_validate_lock = threading.Lock()  # frames share one batch definition


def validate(frame: pd.DataFrame, suite_name: str, expectations: list, id_column: str) -> SuiteOutcome:
    """Validate `frame` against the expectations; failing rows are identified by `id_column`."""
    gx, _ = _context()
    suite = gx.ExpectationSuite(name=f"{suite_name}_{next(_counter)}")
    for expectation in expectations:
        suite.add_expectation(expectation)
    with _validate_lock:
        batch = _state["batches"].get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [id_column]}
        )
    failing, sample, details = 0, [], []
    for r in result.results:
        info = r.result or {}
        count = int(info.get("unexpected_count") or 0)
        if not r.success and count == 0 and r.exception_info and r.exception_info.get("raised_exception"):
            count = len(frame)  # the expectation could not run at all: count every row as failing
        failing += count
        ids = [row.get(id_column) if isinstance(row, dict) else row for row in (info.get("unexpected_index_list") or [])]
        for value in ids:
            if len(sample) < SAMPLE_SIZE and value not in sample:
                sample.append(value)
        details.append({"expectation": r.expectation_config.type, "success": bool(r.success), "unexpected_count": count,
                        "unexpected_values": [str(v) for v in (info.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]})
    return SuiteOutcome(bool(result.success), failing, len(frame), sample, details)


def run_suite(check_name: str, settings, frame: pd.DataFrame) -> SuiteOutcome:
    """Validate `frame` with the suite of check `check_name` (in the prewarmed validator when there is one)."""
    validator = _validator
    if validator is not None:
        try:
            return validator.run(check_name, settings, frame)
        except (EOFError, OSError) as exc:  # the validator died: validate here instead
            log.warning("data-quality validator process gone (%s); validating in-process", exc)
            shutdown()
    return _run_local(check_name, settings, frame)


def _run_local(check_name: str, settings, frame: pd.DataFrame) -> SuiteOutcome:
    from checks.suites import CHECKS_BY_NAME

    defn = CHECKS_BY_NAME[check_name]
    return validate(frame, defn.name, defn.expectations(gx_module(), settings), defn.id_column)


# --- the prewarmed validator ------------------------------------------------------------------------------
# Importing GX costs 3-5 s of one core, and the first check of a run needs it a second or two after the run
# starts. `prewarm()` forks a process that imports GX while this one goes on (reading, cleaning, deduplicating
# use one core of several), then validates the frames the checks send it. Forked, it inherits pandas and
# this code already imported; it only ever runs GX, and exits when this process closes its end of the pipe.

_validator = None
_validator_lock = threading.Lock()  # not _lock: the child must not inherit that one held


class _Validator:
    def __init__(self):
        ctx = parallel.fork_context()  # never fork while a background thread may hold a lock
        self.conn, child_conn = ctx.Pipe()
        self.lock = threading.Lock()
        self.process = ctx.Process(target=_serve, args=(child_conn, self.conn), name="newsdag-gx", daemon=True)
        self.process.start()
        child_conn.close()

    def run(self, check_name: str, settings, frame: pd.DataFrame) -> SuiteOutcome:
        with self.lock:
            self.conn.send((check_name, settings, frame))
            ok, value = self.conn.recv()
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=5)


def _serve(conn, parent_end) -> None:
    """The validator: import GX, then answer (check, settings, frame) requests until the parent goes away."""
    parent_end.close()  # so that EOF on the pipe (the parent exited or was killed) ends the loop below
    devnull = os.open(os.devnull, os.O_WRONLY)  # never hold the parent's stdout/stderr pipes open
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        _context()
        import checks.suites  # noqa: F401  (the suites, for the first request: ~0.15 s when forked early)
    except Exception:  # reported with the first request (validate would raise it again)
        pass
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = (True, _run_local(*request))
        except Exception as exc:  # sent back and raised in the check, as if it had run in-process
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # the exception did not pickle
            conn.send((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} ({exc})")))


def preload() -> None:
    """Import GX and make its context in a background thread of this process (a Celery worker process,
    whose checks validate in-process); the first check then finds it ready."""
    parallel.in_background(_context, name="newsdag-gx-preload")


def prewarm() -> None:
    """Start importing GX in a forked validator process, unless GX is already here, one is running, or
    this process may not start others (a Celery prefork worker: its checks validate in-process)."""
    global _validator
    with _validator_lock:
        if _validator is None and not _state and "great_expectations" not in sys.modules and parallel.can_fork():
            _validator = _Validator()


def shutdown() -> None:
    """Stop the validator (if any); later checks validate in-process."""
    global _validator
    with _validator_lock:
        validator, _validator = _validator, None
    if validator is not None:
        validator.stop()
