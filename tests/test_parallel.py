"""Parsing and actor resolution in forked workers give exactly the serial result."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from newsdag import dedup, parallel, pipeline
from newsdag.cli import materialize
from tests.conftest import settings_for
from tests.test_incremental import snapshot


def _square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_map_ordered_keeps_order_and_uses_workers_only_from_min_items():
    out = parallel.map_ordered(_square, list(range(50)), n_process=2, min_items=10)
    assert [v for v, _ in out] == [x * x for x in range(50)]
    assert {pid for _, pid in out} != {os.getpid()}  # the work ran in the forked workers
    assert {pid for _, pid in parallel.map_ordered(_square, list(range(5)), n_process=2, min_items=10)} == {os.getpid()}
    assert parallel.map_ordered(functools.partial(divmod, 7), [2, 3], n_process=2, min_items=1) == [(3, 1), (2, 1)]


def test_a_background_thread_is_joined_before_forking():
    import threading
    import time

    done = threading.Event()
    parallel.in_background(lambda: (time.sleep(0.3), done.set()), name="test")
    parallel.map_ordered(_square, [1, 2, 3], n_process=2, min_items=1)
    assert done.is_set()


def test_parallel_parsing_and_actors_equal_a_serial_build(reuters_slice: Path, tmp_path: Path, monkeypatch):
    serial = settings_for(reuters_slice, tmp_path / "serial", n_process=1)
    assert materialize(serial).success
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_FILES", 1)  # 400 files and 5 days: below the real thresholds
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_DAYS", 1)
    monkeypatch.setattr(dedup, "PARALLEL_MIN_BODIES", 1)
    monkeypatch.setattr(dedup, "SIGN_CHUNK", 50)
    calls = []
    real = parallel.map_ordered
    monkeypatch.setattr(parallel, "map_ordered",
                        lambda fn, items, n, m: calls.append((getattr(fn, "func", fn), len(items), n, m)) or real(fn, items, n, m))
    forked = settings_for(reuters_slice, tmp_path / "forked", n_process=2)
    assert materialize(forked).success
    went = {getattr(fn, "__name__", "") for fn, size, n, m in calls if n == 2 and size >= max(m, 2)}
    assert {"parse_input", "_sets_and_signatures"} <= went  # files parsed, bodies shingled in workers
    assert any(n == 2 and size >= m and 1 < size < 100 for _, size, n, m in calls)  # the days went to workers
    a, b = snapshot(serial.db_path), snapshot(forked.db_path)
    assert a["articles"] and a["entity_mentions"]
    assert a == b


def _in_daemonic_process(fn):
    """fn() in a daemonic child process, as a step runs on a Celery prefork worker: ("ok", value) or ("error", ...)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()

    def child():
        try:
            queue.put(("ok", fn()))
        except Exception as exc:  # noqa: BLE001
            queue.put(("error", repr(exc)))

    process = ctx.Process(target=child, daemon=True)
    process.start()
    try:
        return queue.get(timeout=180)
    finally:
        process.join(timeout=10)


def test_a_worker_that_may_not_fork_works_serially():
    """A Celery prefork worker is daemonic, and multiprocessing refuses it children: pools run serially there."""
    from newsdag.ner import extract_entities
    from tests.conftest import MODEL

    status, out = _in_daemonic_process(lambda: [v for v, pid in parallel.map_ordered(
        _square, list(range(50)), n_process=2, min_items=1)])
    assert (status, out) == ("ok", [x * x for x in range(50)])
    texts = [(f"a{i}", f"Ronald Reagan met Margaret Thatcher in London on day {i}.") for i in range(600)]
    status, frame = _in_daemonic_process(lambda: extract_entities(texts, MODEL, ["PERSON", "GPE"], n_process=2,
                                                                  total=len(texts)))
    assert status == "ok", frame
    assert frame.equals(extract_entities(texts, MODEL, ["PERSON", "GPE"], n_process=1, total=len(texts)))
    assert set(frame["entity_text"]) >= {"Ronald Reagan", "Margaret Thatcher", "London"}
